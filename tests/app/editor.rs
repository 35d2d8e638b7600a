//! The graph editor driven like an author would: menus, search, keyboard, inspector.

use egui_kittest::kittest::Queryable as _;
use egui_kittest::Harness;
use serde_json::json;
use std::sync::Arc;
use workflow_contracts::layout::crossings;
use workflow_contracts::{Edge, Registry};
use workflow_studio::app::StudioApp;
use workflow_studio::command::Command;
use workflow_studio::editor::document::Edit;

fn harness() -> Harness<'static, StudioApp> {
    Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .with_max_steps(64)
        .build_eframe(|_cc| StudioApp::new(Arc::new(Registry::builtin())))
}

/// A harness with a new order_line workflow opened from the welcome screen.
fn with_order_line() -> Harness<'static, StudioApp> {
    let mut h = harness();
    h.run();
    h.get_by_label("New order_line workflow").click();
    h.run();
    h
}

fn graph_of(h: &Harness<'_, StudioApp>) -> workflow_contracts::Graph {
    h.state()
        .editor
        .as_ref()
        .expect("a workflow is open")
        .doc
        .graph
        .clone()
}

#[test]
fn new_workflow_shows_the_starter_graph_valid() {
    let h = with_order_line();
    for label in [
        "Order line",
        "Load product scene",
        "Resolve materials",
        "Camera",
        "Lighting",
        "Render still",
        "Publish deliverables",
    ] {
        assert!(
            h.query_all_by_label(label).next().is_some(),
            "{label} not on screen"
        );
    }
    h.get_by_label("valid");
    assert_eq!(graph_of(&h).nodes.len(), 7);
}

#[test]
fn search_and_enter_inserts_the_top_hit_wired_to_the_selected_node() {
    let mut h = with_order_line();
    h.state_mut().send(Command::Select(vec!["lighting".into()]));
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    h.run();
    h.get_by_label("Search nodes").type_text("turntable");
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
    let graph = graph_of(&h);
    let added = graph
        .nodes
        .iter()
        .find(|n| n.node_type == "render.turntable")
        .expect("turntable inserted");
    assert!(graph
        .edges
        .contains(&Edge::new("lighting", "scene", &added.id, "scene")));
    // The new node is selected and its parameters are in the inspector.
    h.get_by_label("Rotation");
}

#[test]
fn out_of_range_param_shows_its_error_in_the_inspector_and_undo_redo_restores() {
    let mut h = with_order_line();
    h.state_mut().send(Command::Select(vec!["render".into()]));
    h.state_mut().send(Command::edit(Edit::SetParam {
        node: "render".into(),
        param: "width".into(),
        value: json!(0),
    }));
    h.run();
    assert!(h
        .query_all_by_label_contains("width 0 px is below minimum 16 px")
        .next()
        .is_some());
    h.get_by_label("1 errors");

    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run();
    assert_eq!(
        graph_of(&h)
            .node("render")
            .map(|n| n.params["width"].clone()),
        Some(json!(2048))
    );
    h.get_by_label("valid");

    h.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::Z,
    );
    h.run();
    assert_eq!(
        graph_of(&h)
            .node("render")
            .map(|n| n.params["width"].clone()),
        Some(json!(0))
    );
}

#[test]
fn incompatible_connection_is_refused_with_the_reason() {
    let mut h = with_order_line();
    let before = graph_of(&h);
    h.state_mut().send(Command::edit(Edit::Connect(Edge::new(
        "order",
        "order_line",
        "render",
        "scene",
    ))));
    h.run();
    assert_eq!(graph_of(&h), before);
    assert!(h
        .query_all_by_label_contains("cannot connect order_line to scene")
        .next()
        .is_some());
}

#[test]
fn delete_key_removes_the_selection_and_problems_list_names_the_gap() {
    let mut h = with_order_line();
    h.state_mut().send(Command::Select(vec!["camera".into()]));
    h.run();
    h.key_press(egui::Key::Delete);
    h.run();
    let graph = graph_of(&h);
    assert!(graph.node("camera").is_none());
    // With nothing selected the inspector lists the problems: lighting lost its input.
    assert!(h
        .query_all_by_label_contains("needs an input on port 'scene'")
        .next()
        .is_some());
}

#[test]
fn auto_layout_removes_crossings_and_copy_paste_duplicates() {
    let mut h = with_order_line();
    // Scramble two nodes so wires cross.
    h.state_mut().send(Command::edit(Edit::MoveNodes(vec![
        ("camera".into(), [2000.0, 900.0]),
        ("lighting".into(), [100.0, -700.0]),
    ])));
    h.run();
    h.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::L,
    );
    h.run();
    let graph = graph_of(&h);
    assert_eq!(crossings(&graph), 0);
    let x = |id: &str| {
        graph
            .node(id)
            .and_then(|n| n.position)
            .map(|p| p[0])
            .unwrap_or(f32::NAN)
    };
    assert!(x("camera") < x("lighting") && x("lighting") < x("render"));

    h.state_mut()
        .send(Command::Select(vec!["camera".into(), "lighting".into()]));
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::C);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::V);
    h.run();
    let graph = graph_of(&h);
    assert_eq!(graph.nodes.len(), 9);
    assert!(graph.edges.contains(&Edge::new(
        "scene_camera_1",
        "scene",
        "scene_lighting_1",
        "scene"
    )));
}

#[test]
fn ctrl_g_frames_the_selection_in_a_comment_and_align_top_lines_nodes_up() {
    let mut h = with_order_line();
    h.state_mut()
        .send(Command::Select(vec!["camera".into(), "lighting".into()]));
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::G);
    h.run();
    let graph = graph_of(&h);
    assert_eq!(graph.comments.len(), 1);
    assert_eq!(graph.comments[0].nodes, ["camera", "lighting"]);
    h.state_mut().send(Command::edit(Edit::MoveNodes(vec![(
        "lighting".into(),
        [1120.0, 300.0],
    )])));
    h.state_mut().send(Command::AlignTop);
    h.run();
    let graph = graph_of(&h);
    let y = |id: &str| graph.node(id).and_then(|n| n.position).map(|p| p[1]);
    assert_eq!(y("camera"), y("lighting"));
    // With nothing selected, the inspector lists the frame under its title.
    h.state_mut().send(Command::Select(vec![]));
    h.run();
    h.get_by_label("Comment frames");
}

#[test]
fn typing_over_the_canvas_searches_the_palette() {
    let mut h = with_order_line();
    h.hover_at(egui::pos2(700.0, 600.0));
    h.run();
    h.event(egui::Event::Text("turntable".into()));
    h.run();
    let editor = h.state().editor.as_ref().expect("open");
    assert_eq!(editor.palette.query, "turntable");
    assert!(h.query_all_by_label("Render turntable").next().is_some());
}

#[test]
fn a_thousand_node_graph_opens_in_the_overview_and_zooming_in_returns_to_the_editor() {
    let mut h = with_units(100);
    assert!(in_overview(&h));
    let at = egui::pos2(700.0, 450.0);
    h.hover_at(at);
    h.step();
    // Scrolling up over the overview zooms in around the pointer until the editor takes over.
    for _ in 0..30 {
        h.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, 200.0),
            modifiers: egui::Modifiers::NONE,
            phase: egui::TouchPhase::Move,
        });
        h.step();
    }
    h.run();
    let editor = h.state().editor.as_ref().expect("open");
    assert!(
        !editor.canvas.in_overview(),
        "zooming in returns to the editor"
    );
    // Editing still acts on the whole document, not only on the nodes around the view.
    assert_eq!(editor.doc.graph.nodes.len(), 1000);
}

/// The app with a laid-out `publishing_units(units)` graph open.
fn with_units(units: usize) -> Harness<'static, StudioApp> {
    let registry = Arc::new(Registry::builtin());
    let mut graph = workflow_contracts::generate::publishing_units(units, &registry);
    workflow_contracts::layout::auto_layout(&mut graph, None);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .with_max_steps(64)
        .build_eframe(move |_cc| {
            let mut app = StudioApp::new(Arc::clone(&registry));
            app.open(workflow_studio::editor::document::WorkflowDocument::new(
                "big",
                graph.clone(),
            ));
            app
        });
    h.run();
    h
}

/// Shows graph point `at` in the middle of the canvas at 1:1.
fn look_at(h: &mut Harness<'static, StudioApp>, at: [f32; 2]) {
    let editor = h.state_mut().editor.as_mut().expect("open");
    editor.canvas.set_view(egui::emath::TSTransform::new(
        egui::vec2(700.0 - at[0], 450.0 - at[1]),
        1.0,
    ));
    h.run();
}

fn position(h: &Harness<'_, StudioApp>, id: &str) -> [f32; 2] {
    let editor = h.state().editor.as_ref().expect("open");
    editor
        .doc
        .node(id)
        .and_then(|n| n.position)
        .expect("placed")
}

#[test]
fn a_large_graph_at_one_to_one_holds_the_nodes_around_the_view_and_follows_a_pan() {
    let mut h = with_units(300);
    let first = position(&h, "lighting_10");
    look_at(&mut h, first);
    let editor = h.state().editor.as_ref().expect("open");
    assert!(!editor.canvas.in_overview());
    assert!(
        editor.canvas.node_rect("lighting_10").is_some(),
        "the node in view is drawn"
    );
    let held = editor.canvas.held_nodes();
    assert!(
        held > 0 && held < 3_000 / 4,
        "{held} of 3000 nodes held: only those around the view"
    );
    // Wires that leave the held region are still drawn, as plain lines.
    assert!(editor.canvas.culled_wires() > 0);
    let far = position(&h, "lighting_250");
    assert!(editor.canvas.node_rect("lighting_250").is_none());

    // Panning far away re-culls: the nodes there are drawn, those left behind are not.
    look_at(&mut h, far);
    let editor = h.state().editor.as_ref().expect("open");
    assert!(editor.canvas.node_rect("lighting_250").is_some());
    assert!(editor.canvas.node_rect("lighting_10").is_none());
    assert!(editor.canvas.culled_wires() > 0);

    // An edit made while culled acts on the document and shows at once.
    h.state_mut().send(Command::edit(Edit::MoveNodes(vec![(
        "lighting_251".into(),
        [far[0] + 40.0, far[1] + 20.0],
    )])));
    h.run();
    assert_eq!(position(&h, "lighting_251"), [far[0] + 40.0, far[1] + 20.0]);
    let editor = h.state().editor.as_ref().expect("open");
    let rect = editor.canvas.node_rect("lighting_251").expect("drawn");
    // The frame's rectangle starts a margin above and left of the node's position.
    let moved = egui::pos2(far[0] + 40.0, far[1] + 20.0);
    assert!((rect.min - moved).length() < 10.0, "{rect:?} for {moved:?}");
}

#[test]
fn the_overview_follows_edits_a_click_selects_a_node_where_it_now_is() {
    let mut h = with_units(100);
    assert!(in_overview(&h));
    // Move a node into empty space in view, then click where it now shows.
    let t = h.state().editor.as_ref().expect("open").canvas.transform();
    let screen = egui::pos2(1000.0, 120.0);
    let at = t.inverse() * screen;
    h.state_mut().send(Command::edit(Edit::MoveNodes(vec![(
        "publish_42".into(),
        [at.x - 2.0, at.y - 1.0],
    )])));
    h.run();
    h.hover_at(screen);
    h.step();
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos: screen,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
        h.step();
    }
    h.run();
    let editor = h.state().editor.as_ref().expect("open");
    assert!(editor.canvas.in_overview());
    assert_eq!(editor.selection, ["publish_42"]);
}

/// Whether the open document's canvas shows the overview.
fn in_overview(h: &Harness<'static, StudioApp>) -> bool {
    h.state()
        .editor
        .as_ref()
        .is_some_and(|e| e.canvas.in_overview())
}
