//! The zoomed-out overview: every node as a box and every edge as a line, painted directly
//! (no widgets per node or pin), so even thousand-node graphs pan and zoom smoothly. Scroll
//! or pinch to zoom, drag to pan, click to select; zooming in past the editor's threshold
//! returns to the node editor at the same view.

use super::canvas::OVERVIEW_BELOW;
use super::style::{port_color, ERROR, SELECTED};
use super::Editor;
use crate::command::Command;
use egui::emath::TSTransform;
use egui::{vec2, Color32, Rect, Sense, Stroke, Ui};
use std::collections::{HashMap, HashSet};
use workflow_contracts::{Registry, Severity, ValidationReport};

use super::document::WorkflowDocument;

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

    canvas.reindex(&editor.doc);
    let cache = &mut canvas.overview;
    cache.refresh(
        &editor.doc,
        &editor.report,
        &canvas.node_rects,
        canvas.rects_generation,
        &canvas.edge_ends,
        registry,
    );
    let painter = ui.painter_at(viewport);
    painter.rect_filled(viewport, 0.0, ui.visuals().extreme_bg_color);
    let visible = viewport.expand(40.0);
    // Geometry and colours come from the cache: a frame only transforms rectangles and
    // draws what is on screen.
    let screen: Vec<Rect> = cache.rects.iter().map(|r| t.mul_rect(*r)).collect();
    for &(a, b, color) in &cache.edges {
        let (from, to) = (screen[a].right_center(), screen[b].left_center());
        if !visible.intersects(Rect::from_two_pos(from, to)) {
            continue;
        }
        painter.line_segment([from, to], Stroke::new(1.0, color.gamma_multiply(0.8)));
    }

    let selected: HashSet<&str> = editor.selection.iter().map(String::as_str).collect();
    let show_titles = t.scaling * 14.0 >= 7.0;
    let fill = ui.visuals().window_fill;
    let text = ui.visuals().text_color();
    for (i, node) in editor.doc.graph.nodes.iter().enumerate() {
        let Some(rect) = screen.get(i).copied() else {
            continue;
        };
        if !visible.intersects(rect) {
            continue;
        }
        let stroke = if !selected.is_empty() && selected.contains(node.id.as_str()) {
            Stroke::new(2.0, SELECTED)
        } else if cache.failing.get(i).copied().unwrap_or(false) {
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
            let i = screen.iter().position(|r| r.contains(p))?;
            Some(editor.doc.graph.nodes.get(i)?.id.clone())
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

/// What the overview draws, in graph space, by node index: rebuilt only when the document,
/// its validation or the node sizes the editor measured change, not every frame.
#[derive(Default)]
pub struct OverviewCache {
    /// (document revision, node-rectangles generation) this was built for.
    key: Option<(u64, u64)>,
    rects: Vec<Rect>,
    /// (from, to) node indices and the wire colour of the output port.
    edges: Vec<(usize, usize, Color32)>,
    /// Nodes named by an error-severity problem.
    failing: Vec<bool>,
}

impl OverviewCache {
    fn refresh(
        &mut self,
        doc: &WorkflowDocument,
        report: &ValidationReport,
        node_rects: &HashMap<String, Rect>,
        rects_generation: u64,
        edge_ends: &[Option<(usize, usize)>],
        registry: &Registry,
    ) {
        let key = (doc.revision, rects_generation);
        if self.key == Some(key) {
            return;
        }
        let nodes = &doc.graph.nodes;
        self.rects = nodes
            .iter()
            .map(|n| {
                node_rects
                    .get(&n.id)
                    .copied()
                    .unwrap_or_else(|| super::canvas::placed_rect(n))
            })
            .collect();
        self.edges = doc
            .graph
            .edges
            .iter()
            .zip(edge_ends)
            .filter_map(|(e, ends)| {
                let (a, b) = (*ends)?;
                let color = registry
                    .get(&nodes[a].node_type)
                    .and_then(|d| d.output(&e.from.port))
                    .map_or(Color32::GRAY, |p| port_color(p.port_type));
                Some((a, b, color))
            })
            .collect();
        let failing: HashSet<&str> = report
            .errors
            .iter()
            .filter(|e| e.severity == Severity::Error)
            .flat_map(|e| e.nodes.iter().map(String::as_str))
            .collect();
        self.failing = nodes
            .iter()
            .map(|n| failing.contains(n.id.as_str()))
            .collect();
        self.key = Some(key);
    }
}
