//! The run timeline: one row per node, a thin bar for the time it waited and a thick bar for
//! the time it ran, coloured by status, the critical path outlined. The axis fits the whole
//! run as it grows; Ctrl+scroll zooms it around the pointer and dragging pans (double-click
//! fits again); hover shows exact times.

use egui::{pos2, vec2, Color32, Rect, Sense, Stroke, Ui};
use std::collections::{HashMap, HashSet};
use workflow_contracts::Graph;
use workflow_engine::runtime::NodeRun;

pub use crate::editor::style::run_status_color as status_color;

/// View state of the time axis: visible span start (ms from the run's start) and ms per pixel.
/// Until the user zooms or pans (`pinned`), the axis fits the whole run every frame, so a live
/// run's later nodes never run off the right edge.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeAxis {
    pub start_ms: f64,
    pub ms_per_px: f64,
    pub pinned: bool,
}

/// The chain of nodes that decided when the run finished: from the node that finished last,
/// back through whichever input finished last.
pub fn critical_path(nodes: &[NodeRun], graph: Option<&Graph>) -> HashSet<String> {
    let finished: HashMap<&str, i64> = nodes
        .iter()
        .filter_map(|n| Some((n.node_id.as_str(), n.finished_at?)))
        .collect();
    let mut path = HashSet::new();
    let Some(mut current) = finished.iter().max_by_key(|(_, t)| **t).map(|(id, _)| *id) else {
        return path;
    };
    path.insert(current.to_owned());
    let Some(graph) = graph else { return path };
    while let Some(prev) = graph
        .edges
        .iter()
        .filter(|e| e.to.node == current)
        .filter_map(|e| Some((e.from.node.as_str(), *finished.get(e.from.node.as_str())?)))
        .max_by_key(|(_, t)| *t)
        .map(|(id, _)| id)
    {
        if !path.insert(prev.to_owned()) {
            break;
        }
        current = prev;
    }
    path
}

/// Draws the timeline; returns the node whose row was clicked.
pub fn timeline_ui(
    ui: &mut Ui,
    nodes: &[NodeRun],
    graph: Option<&Graph>,
    now_ms: i64,
    axis: &mut TimeAxis,
) -> Option<String> {
    let Some(t0) = nodes.iter().map(|n| n.queued_at).min() else {
        ui.weak("No nodes yet.");
        return None;
    };
    let end = nodes
        .iter()
        .map(|n| {
            n.finished_at.unwrap_or(if n.status.is_final() {
                n.queued_at
            } else {
                now_ms
            })
        })
        .max()
        .unwrap_or(t0);
    let total_ms = ((end - t0) as f64).max(1.0);
    let label_w = 170.0;
    let row_h = 20.0;
    let width = ui.available_width().max(label_w + 100.0);
    let bars_w = width - label_w - 8.0;
    if !axis.pinned || axis.ms_per_px <= 0.0 {
        axis.start_ms = 0.0;
        axis.ms_per_px = total_ms / bars_w as f64;
    }
    let critical = critical_path(nodes, graph);
    let height = row_h * (nodes.len() as f32 + 1.0);
    let (rect, response) = ui.allocate_exact_size(vec2(width, height), Sense::click_and_drag());
    let bars = Rect::from_min_max(pos2(rect.left() + label_w, rect.top()), rect.max);
    if response.dragged() {
        axis.start_ms -= response.drag_delta().x as f64 * axis.ms_per_px;
        axis.pinned = true;
    }
    // Double-click: back to following the whole run.
    if response.double_clicked() {
        axis.pinned = false;
    }
    if let Some(p) = response.hover_pos() {
        let (scroll, zoom) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
        let factor = if ui.input(|i| i.modifiers.command) {
            (-scroll as f64 * 0.003).exp()
        } else {
            1.0
        } / zoom as f64;
        if factor != 1.0 && bars.contains(p) {
            let at_ms = axis.start_ms + (p.x - bars.left()) as f64 * axis.ms_per_px;
            axis.ms_per_px = (axis.ms_per_px * factor).clamp(0.01, total_ms);
            axis.start_ms = at_ms - (p.x - bars.left()) as f64 * axis.ms_per_px;
            axis.pinned = true;
        }
    }
    let x_of = |t: i64| bars.left() + (((t - t0) as f64 - axis.start_ms) / axis.ms_per_px) as f32;
    let painter = ui.painter_at(rect);
    let text = ui.visuals().text_color();
    // Time ticks.
    let tick_ms = nice_step(axis.ms_per_px * 120.0);
    let mut tick = (axis.start_ms / tick_ms).floor() * tick_ms;
    while tick < axis.start_ms + bars_w as f64 * axis.ms_per_px {
        let x = bars.left() + ((tick - axis.start_ms) / axis.ms_per_px) as f32;
        painter.line_segment(
            [pos2(x, rect.top()), pos2(x, rect.bottom())],
            Stroke::new(1.0, ui.visuals().faint_bg_color),
        );
        painter.text(
            pos2(x + 2.0, rect.top()),
            egui::Align2::LEFT_TOP,
            fmt_ms(tick),
            egui::FontId::monospace(10.0),
            ui.visuals().weak_text_color(),
        );
        tick += tick_ms;
    }
    let mut hovered: Option<&NodeRun> = None;
    // Only the rows inside the visible part of the scroll area are drawn.
    let visible = ui.clip_rect();
    for (i, n) in nodes.iter().enumerate() {
        let y = rect.top() + row_h * (i as f32 + 1.0);
        let row = Rect::from_min_size(pos2(rect.left(), y), vec2(width, row_h));
        if !row.intersects(visible) {
            continue;
        }
        painter.text(
            pos2(rect.left() + 4.0, y + row_h / 2.0),
            egui::Align2::LEFT_CENTER,
            &n.node_id,
            egui::FontId::proportional(13.0),
            text,
        );
        let color = status_color(n.status);
        if let Some(started) = n.started_at {
            let queued = Rect::from_min_max(
                pos2(x_of(n.queued_at), y + 8.0),
                pos2(x_of(started), y + 12.0),
            );
            painter.rect_filled(queued, 1.0, Color32::from_gray(90));
            let stop = n.finished_at.unwrap_or(now_ms);
            let run = Rect::from_min_max(
                pos2(x_of(started), y + 3.0),
                pos2(x_of(stop).max(x_of(started) + 2.0), y + row_h - 3.0),
            );
            painter.rect_filled(run, 2.0, color);
            if critical.contains(&n.node_id) {
                painter.rect_stroke(
                    run.expand(1.5),
                    2.0,
                    Stroke::new(1.5, Color32::WHITE),
                    egui::StrokeKind::Outside,
                );
            }
        } else {
            painter.circle_filled(
                pos2(x_of(n.finished_at.unwrap_or(n.queued_at)), y + row_h / 2.0),
                4.0,
                color,
            );
        }
        if response.hover_pos().is_some_and(|p| row.contains(p)) {
            hovered = Some(n);
        }
    }
    let clicked = hovered
        .filter(|_| response.clicked())
        .map(|n| n.node_id.clone());
    if let Some(n) = hovered {
        response.on_hover_ui_at_pointer(|ui| {
            ui.label(format!("{} · {:?}", n.node_id, n.status));
            ui.label(format!("queued +{}", fmt_ms((n.queued_at - t0) as f64)));
            if let Some(s) = n.started_at {
                ui.label(format!(
                    "started +{} (waited {})",
                    fmt_ms((s - t0) as f64),
                    fmt_ms((s - n.queued_at) as f64)
                ));
                if let Some(f) = n.finished_at {
                    ui.label(format!(
                        "finished +{} (ran {})",
                        fmt_ms((f - t0) as f64),
                        fmt_ms((f - s) as f64)
                    ));
                }
            }
            if critical.contains(&n.node_id) {
                ui.label("on the critical path");
            }
            ui.weak("click for the node's record");
        });
    }
    clicked
}

fn nice_step(ms: f64) -> f64 {
    let mut step = 1.0;
    for candidate in [
        1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10_000.0,
        30_000.0, 60_000.0,
    ] {
        step = candidate;
        if candidate >= ms {
            break;
        }
    }
    step
}

pub fn fmt_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;
    use std::collections::BTreeMap;
    use workflow_contracts::{Edge, Family, GraphNode};
    use workflow_engine::runtime::NodeStatus;

    fn node(id: &str, finished: i64) -> NodeRun {
        NodeRun {
            node_id: id.into(),
            node_type: "x".into(),
            module_key: "x".into(),
            status: NodeStatus::Succeeded,
            queued_at: 0,
            started_at: Some(0),
            finished_at: Some(finished),
            params: Map::new(),
            outputs: BTreeMap::new(),
            output_digests: BTreeMap::new(),
            artifacts: Vec::new(),
            logs: Vec::new(),
            error: None,
        }
    }

    /// One frame of the timeline at `now_ms` in an 800-point-wide window.
    fn frame(nodes: &[NodeRun], now_ms: i64, axis: &mut TimeAxis) {
        let ctx = egui::Context::default();
        let input = egui::RawInput {
            screen_rect: Some(Rect::from_min_size(pos2(0.0, 0.0), vec2(800.0, 400.0))),
            ..Default::default()
        };
        let mut output = ctx.run_ui(input, |ui| {
            timeline_ui(ui, nodes, None, now_ms, axis);
        });
        // Nothing paints here: the font atlas upload is dropped on purpose.
        output.textures_delta.clear();
    }

    #[test]
    fn a_live_run_rescales_as_it_runs_until_the_user_zooms() {
        let mut running = node("render", 0);
        running.status = NodeStatus::Running;
        running.finished_at = None;
        let nodes = [node("load", 200), running];
        let mut axis = TimeAxis::default();
        frame(&nodes, 250, &mut axis);
        let early = axis.ms_per_px;
        // Four seconds later the running node's bar must still end inside the view.
        frame(&nodes, 4_250, &mut axis);
        assert!(
            axis.ms_per_px > early * 10.0,
            "{early} → {}",
            axis.ms_per_px
        );
        // The whole run, from its start, within the bars' width (the window less the labels).
        assert_eq!(axis.start_ms, 0.0);
        let run_px = 4_250.0 / axis.ms_per_px;
        assert!(run_px <= 800.0 - 170.0, "the run spans {run_px} px");
        // A view the user chose stays put.
        axis.pinned = true;
        let chosen = axis;
        frame(&nodes, 9_000, &mut axis);
        assert_eq!(axis.ms_per_px, chosen.ms_per_px);
        assert_eq!(axis.start_ms, chosen.start_ms);
    }

    #[test]
    fn critical_path_follows_the_latest_inputs() {
        // a → c, b → c, c → d; b finishes after a, so the path is b, c, d.
        let mut g = Graph::new(Family::OrderLine);
        for id in ["a", "b", "c", "d"] {
            g.nodes.push(GraphNode::new(id, "x"));
        }
        g.edges.push(Edge::new("a", "o", "c", "i"));
        g.edges.push(Edge::new("b", "o", "c", "i2"));
        g.edges.push(Edge::new("c", "o", "d", "i"));
        let runs = [node("a", 10), node("b", 30), node("c", 40), node("d", 50)];
        let path = critical_path(&runs, Some(&g));
        assert_eq!(
            path,
            ["b", "c", "d"].iter().map(|s| (*s).to_owned()).collect()
        );
    }
}
