//! The zoomed-out overview: every node as a box and every edge as a line, painted directly
//! (no widgets per node or pin), so even thousand-node graphs pan and zoom smoothly. Scroll
//! or pinch to zoom, drag to pan, click to select; zooming in past the editor's threshold
//! returns to the node editor at the same view.

use super::canvas::OVERVIEW_BELOW;
use super::style::{port_color, ERROR, SELECTED};
use super::Editor;
use crate::command::Command;
use egui::emath::TSTransform;
use egui::{pos2, vec2, Color32, Rect, Sense, Stroke, Ui};
use std::collections::{HashMap, HashSet};
use workflow_contracts::{Registry, Severity};

/// Size assumed for nodes the editor has not drawn yet.
const DEFAULT_NODE: egui::Vec2 = vec2(180.0, 90.0);

pub fn overview_ui(ui: &mut Ui, editor: &mut Editor, registry: &Registry, out: &mut Vec<Command>) {
    let viewport = ui.max_rect();
    let response = ui.allocate_rect(viewport, Sense::click_and_drag());
    let canvas = &mut editor.canvas;
    let mut t = canvas.to_global;

    // Pan by dragging, zoom around the pointer by scrolling or pinching.
    if response.dragged() {
        t.translation += response.drag_delta();
    }
    if let Some(pointer) = response.hover_pos() {
        let (scroll, pinch) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
        let factor = pinch * (scroll * 0.002).exp();
        if factor != 1.0 {
            let scale = (t.scaling * factor).clamp(0.01, 1.0);
            let anchor = t.inverse() * pointer;
            t = TSTransform::new(pointer.to_vec2() - anchor.to_vec2() * scale, scale);
        }
    }
    canvas.to_global = t;
    if t.scaling >= OVERVIEW_BELOW {
        // Back to the editor, at exactly this view.
        canvas.set_transform = Some(t);
        ui.ctx().request_repaint();
    }

    let rects: HashMap<&str, Rect> = editor
        .doc
        .graph
        .nodes
        .iter()
        .map(|n| {
            let rect = canvas.node_rects.get(&n.id).copied().unwrap_or_else(|| {
                let [x, y] = n.position.unwrap_or([0.0, 0.0]);
                Rect::from_min_size(pos2(x, y), DEFAULT_NODE)
            });
            (n.id.as_str(), t.mul_rect(rect))
        })
        .collect();
    let painter = ui.painter_at(viewport);
    painter.rect_filled(viewport, 0.0, ui.visuals().extreme_bg_color);
    let visible = viewport.expand(40.0);

    for edge in &editor.doc.graph.edges {
        let (Some(a), Some(b)) = (
            rects.get(edge.from.node.as_str()),
            rects.get(edge.to.node.as_str()),
        ) else {
            continue;
        };
        let (from, to) = (a.right_center(), b.left_center());
        if !visible.intersects(Rect::from_two_pos(from, to)) {
            continue;
        }
        let color = editor
            .doc
            .node(&edge.from.node)
            .and_then(|n| registry.get(&n.node_type))
            .and_then(|d| d.output(&edge.from.port))
            .map_or(Color32::GRAY, |p| port_color(p.port_type));
        painter.line_segment([from, to], Stroke::new(1.0, color.gamma_multiply(0.8)));
    }

    let selected: HashSet<&str> = editor.selection.iter().map(String::as_str).collect();
    let failing: HashSet<&str> = editor
        .report
        .errors
        .iter()
        .filter(|e| e.severity == Severity::Error)
        .flat_map(|e| e.nodes.iter().map(String::as_str))
        .collect();
    let show_titles = t.scaling * 14.0 >= 7.0;
    let fill = ui.visuals().window_fill;
    let text = ui.visuals().text_color();
    for node in &editor.doc.graph.nodes {
        let Some(rect) = rects.get(node.id.as_str()).copied() else {
            continue;
        };
        if !visible.intersects(rect) {
            continue;
        }
        let stroke = if selected.contains(node.id.as_str()) {
            Stroke::new(2.0, SELECTED)
        } else if failing.contains(node.id.as_str()) {
            Stroke::new(1.5, ERROR)
        } else {
            ui.visuals().window_stroke
        };
        painter.rect(rect, 2.0, fill, stroke, egui::StrokeKind::Inside);
        if show_titles {
            let label = registry
                .get(&node.node_type)
                .map_or(node.node_type.as_str(), |d| d.label.as_str());
            painter.text(
                rect.left_top() + vec2(4.0, 2.0),
                egui::Align2::LEFT_TOP,
                label,
                egui::FontId::proportional(14.0 * t.scaling.max(0.5)),
                text,
            );
        }
    }

    if response.clicked() {
        let hit = response.interact_pointer_pos().and_then(|p| {
            rects
                .iter()
                .find(|(_, r)| r.contains(p))
                .map(|(id, _)| (*id).to_owned())
        });
        let additive = ui.input(|i| i.modifiers.shift || i.modifiers.command);
        match hit {
            Some(id) if additive => {
                let mut selection = editor.selection.clone();
                if let Some(i) = selection.iter().position(|s| *s == id) {
                    selection.remove(i);
                } else {
                    selection.push(id);
                }
                out.push(Command::Select(selection));
            }
            Some(id) => out.push(Command::Select(vec![id])),
            None if !additive => out.push(Command::Select(Vec::new())),
            None => {}
        }
    }
    if response.double_clicked() {
        // Dive in: the editor at 1:1 around the double-clicked point.
        if let Some(p) = response.interact_pointer_pos() {
            let anchor = t.inverse() * p;
            canvas.set_transform = Some(TSTransform::new(p.to_vec2() - anchor.to_vec2(), 1.0));
            canvas.to_global = canvas.set_transform.unwrap_or(t);
        }
    }
    let hint = format!(
        "Overview ({} nodes) — scroll to zoom in and edit, double-click to dive in",
        editor.doc.graph.nodes.len()
    );
    painter.text(
        viewport.left_bottom() + vec2(8.0, -8.0),
        egui::Align2::LEFT_BOTTOM,
        hint,
        egui::FontId::proportional(12.0),
        ui.visuals().weak_text_color(),
    );
}
