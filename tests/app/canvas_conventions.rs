//! The canvas behaves like the node editors authors know (ComfyUI, Blender, Houdini): the
//! wheel zooms about 10 % a notch around the pointer, middle-drag and space-drag pan, a new
//! workflow opens at 100 % framed on its start, port labels are whole and apart, and Tab or
//! Shift+A opens the add-node search at the pointer.

use egui::accesskit::Role;
use egui::{Event, Key, Modifiers, PointerButton, Pos2, Rect, TouchPhase};
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use egui_kittest::Harness;
use std::sync::Arc;
use workflow_contracts::Registry;
use workflow_studio::app::StudioApp;
use workflow_studio::command::Command;
use workflow_studio::editor::canvas::{NODE_MARGIN, PIN_SIZE, WHEEL_STEP};
use workflow_studio::editor::document::Edit;

const SIZE: egui::Vec2 = egui::vec2(1400.0, 900.0);

fn with_order_line() -> Harness<'static, StudioApp> {
    let mut h = Harness::builder()
        .with_size(SIZE)
        .with_max_steps(64)
        .build_eframe(|_cc| StudioApp::new(Arc::new(Registry::builtin())));
    h.run();
    h.get_by_label("New order_line workflow").click();
    h.run();
    h
}

fn transform(h: &Harness<'_, StudioApp>) -> egui::emath::TSTransform {
    h.state().editor.as_ref().expect("open").canvas.transform()
}

/// A node's rectangle on screen.
fn node_on_screen(h: &Harness<'_, StudioApp>, id: &str) -> Rect {
    let canvas = &h.state().editor.as_ref().expect("open").canvas;
    canvas.transform() * canvas.node_rect(id).expect("drawn")
}

fn positions(h: &Harness<'_, StudioApp>) -> Vec<Option<[f32; 2]>> {
    let editor = h.state().editor.as_ref().expect("open");
    editor.doc.graph.nodes.iter().map(|n| n.position).collect()
}

/// A point on empty canvas: above the first column of nodes, a little to the right.
fn empty_spot(h: &Harness<'_, StudioApp>) -> Pos2 {
    let order = node_on_screen(h, "order");
    Pos2::new(order.right() + 150.0, order.top() - 150.0)
}

fn wheel(h: &mut Harness<'_, StudioApp>, at: Pos2, notches: f32, modifiers: Modifiers) {
    h.hover_at(at);
    h.run();
    h.event(Event::MouseWheel {
        unit: egui::MouseWheelUnit::Line,
        delta: egui::vec2(0.0, notches),
        phase: TouchPhase::Move,
        modifiers,
    });
    h.run();
}

#[test]
fn a_new_workflow_opens_at_full_scale_framed_on_its_start() {
    let h = with_order_line();
    assert_eq!(transform(&h).scaling, 1.0);
    let body = h.ctx.global_style().text_styles[&egui::TextStyle::Body].size;
    assert!(body >= 12.0, "node text is {body} px");
    // The source node is on screen near the canvas's left edge, not somewhere mid-graph.
    let order = node_on_screen(&h, "order");
    let window = Rect::from_min_size(Pos2::ZERO, SIZE);
    assert!(window.contains_rect(order), "{order:?}");
    assert!(order.left() < SIZE.x / 2.0, "{order:?}");
    let next = node_on_screen(&h, "load_scene");
    assert!(window.contains_rect(next), "{next:?}");
}

#[test]
fn the_wheel_zooms_ten_percent_around_the_pointer_with_or_without_ctrl() {
    let mut h = with_order_line();
    let at = empty_spot(&h);
    for modifiers in [Modifiers::NONE, Modifiers::CTRL] {
        let before = transform(&h);
        wheel(&mut h, at, -1.0, modifiers);
        let after = transform(&h);
        let step = before.scaling / after.scaling;
        assert!((step - WHEEL_STEP).abs() < 0.01, "one notch out: ×{step}");
        let (a, b) = (before.inverse() * at, after.inverse() * at);
        assert!(
            a.distance(b) < 0.5,
            "the point under the pointer moved: {a:?} → {b:?}"
        );
    }
    let before = transform(&h);
    wheel(&mut h, at, 2.0, Modifiers::NONE);
    let step = transform(&h).scaling / before.scaling;
    assert!(
        (step - WHEEL_STEP * WHEEL_STEP).abs() < 0.02,
        "two notches in: ×{step}"
    );
}

#[test]
fn middle_drag_and_space_drag_pan_even_over_a_node() {
    let mut h = with_order_line();
    let nodes_before = positions(&h);
    let over_node = node_on_screen(&h, "load_scene").center();
    let drag = egui::vec2(-120.0, 40.0);

    // Middle-drag.
    let before = transform(&h);
    h.hover_at(over_node);
    h.run();
    for (pos, pressed) in [(over_node, true), (over_node + drag, false)] {
        if !pressed {
            h.hover_at(pos);
            h.step();
        }
        h.event(Event::PointerButton {
            pos,
            button: PointerButton::Middle,
            pressed,
            modifiers: Modifiers::NONE,
        });
        h.step();
    }
    h.run();
    let moved = transform(&h).translation - before.translation;
    assert!((moved - drag).length() < 1.0, "panned by {moved:?}");
    assert_eq!(transform(&h).scaling, before.scaling);

    // Space held, primary drag starting on a node: the view pans, the node stays.
    let before = transform(&h);
    let over_node = node_on_screen(&h, "load_scene").center();
    h.hover_at(over_node);
    h.key_down(Key::Space);
    h.run();
    h.drag_at(over_node);
    h.step();
    h.hover_at(over_node + drag * 0.5);
    h.step();
    h.hover_at(over_node + drag);
    h.step();
    h.drop_at(over_node + drag);
    h.step();
    h.key_up(Key::Space);
    h.run();
    let moved = transform(&h).translation - before.translation;
    assert!((moved - drag).length() < 1.0, "panned by {moved:?}");
    assert_eq!(positions(&h), nodes_before, "no node moved");
}

#[test]
fn tab_and_shift_a_open_the_add_node_search_at_the_pointer() {
    let mut h = with_order_line();
    let at = empty_spot(&h);
    h.hover_at(at);
    h.run();
    h.key_press(Key::Tab);
    h.run();
    h.get_by_label("Add node");
    let target = transform(&h).inverse() * at;
    h.event(Event::Text("turntable".into()));
    h.run();
    h.key_press(Key::Enter);
    h.run();
    let editor = h.state().editor.as_ref().expect("open");
    let added = editor
        .doc
        .graph
        .nodes
        .iter()
        .find(|n| n.node_type == "render.turntable")
        .expect("inserted from the search");
    let [x, y] = added.position.expect("placed");
    assert!((x - target.x).abs() < 1.0 && (y - target.y).abs() < 1.0);
    assert!(
        h.query_by_label("Add node").is_none(),
        "closed after inserting"
    );

    // Shift+A opens the same search; Escape closes it without inserting.
    let count = h
        .state()
        .editor
        .as_ref()
        .expect("open")
        .doc
        .graph
        .nodes
        .len();
    h.hover_at(at);
    h.run();
    h.key_press_modifiers(Modifiers::SHIFT, Key::A);
    h.run();
    h.get_by_label("Add node");
    h.key_press(Key::Escape);
    h.run();
    assert!(h.query_by_label("Add node").is_none());
    let editor = h.state().editor.as_ref().expect("open");
    assert_eq!(editor.doc.graph.nodes.len(), count);
}

#[test]
fn port_labels_are_whole_inside_their_node_and_never_overlap() {
    let mut h = with_order_line();
    // Widget rectangles inside the canvas are reported in graph space (the canvas layer's
    // transform is not applied): move the graph far from the screen's panels so no panel
    // label can fall inside a node's graph-space frame, then frame it again.
    let moves = graph_positions(&h)
        .into_iter()
        .map(|(id, [x, y])| (id, [x + 4000.0, y + 4000.0]))
        .collect();
    h.state_mut().send(Command::edit(Edit::MoveNodes(moves)));
    h.run();
    h.state_mut()
        .editor
        .as_mut()
        .expect("open")
        .canvas
        .frame_start = true;
    h.run();
    let registry = Registry::builtin();
    let editor = h.state().editor.as_ref().expect("open");
    let labels: Vec<(String, Rect)> = h
        .query_all_by(|n| n.role() == Role::Label)
        .filter_map(|n| {
            // A Role::Label node keeps its text as its value.
            let node = n.accesskit_node();
            Some((node.label().or_else(|| node.value())?, n.rect()))
        })
        .collect();
    for node in &editor.doc.graph.nodes {
        let def = registry.get(&node.node_type).expect("known type");
        let ports: Vec<&str> = def
            .input_contract
            .iter()
            .chain(&def.output_contract)
            .map(|p| p.label.as_str())
            .collect();
        let graph_frame = editor.canvas.node_rect(&node.id).expect("drawn");
        let screen_frame = editor.canvas.transform() * graph_frame;
        let (frame, inside) = [graph_frame, screen_frame]
            .into_iter()
            .map(|frame| {
                let inside: Vec<&(String, Rect)> = labels
                    .iter()
                    .filter(|(_, r)| frame.contains(r.center()))
                    .collect();
                (frame, inside)
            })
            .find(|(_, inside)| ports.iter().all(|p| inside.iter().any(|(l, _)| l == p)))
            .unwrap_or_else(|| panic!("{}: port labels {ports:?} not all drawn", node.id));
        let outputs: Vec<&str> = def
            .output_contract
            .iter()
            .map(|p| p.label.as_str())
            .collect();
        let inputs: Vec<&str> = def
            .input_contract
            .iter()
            .map(|p| p.label.as_str())
            .collect();
        for (i, (a, ra)) in inside.iter().enumerate() {
            assert!(
                frame.expand(1.0).contains_rect(*ra),
                "{}: {a:?} {ra:?} is cut by the node's edge {frame:?}",
                node.id
            );
            // Pins sit inside the frame at its edges: a label must stay clear of them.
            let right_half = ra.center().x > frame.center().x;
            if right_half && outputs.contains(&a.as_str()) {
                assert!(
                    ra.right() < frame.right() - NODE_MARGIN - PIN_SIZE,
                    "{}: output label {a:?} {ra:?} runs under its pin (frame {frame:?})",
                    node.id
                );
            }
            if !right_half && inputs.contains(&a.as_str()) {
                assert!(
                    ra.left() > frame.left() + NODE_MARGIN + PIN_SIZE,
                    "{}: input label {a:?} {ra:?} runs under its pin (frame {frame:?})",
                    node.id
                );
            }
            for (b, rb) in &inside[i + 1..] {
                let overlap = ra.intersect(*rb);
                assert!(
                    !overlap.is_positive() || overlap.area() < 1.0,
                    "{}: {a:?} {ra:?} overlaps {b:?} {rb:?}",
                    node.id
                );
            }
        }
    }
}

fn graph_positions(h: &Harness<'_, StudioApp>) -> Vec<(String, [f32; 2])> {
    let editor = h.state().editor.as_ref().expect("open");
    editor
        .doc
        .graph
        .nodes
        .iter()
        .map(|n| (n.id.clone(), n.position.unwrap_or([0.0, 0.0])))
        .collect()
}
