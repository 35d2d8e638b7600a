//! One run in detail: header and actions, the timeline, the failure view (root cause apart
//! from what it skipped), artifacts, the node table and the selected node's record. Long
//! lists (node table, log lines) draw only the rows in view, so a run with hundreds of nodes
//! and tens of thousands of log lines stays smooth.

use super::artifacts::{artifacts_ui, run_artifacts, ArtifactView};
use super::runs::{enum_str, root_causes, run_color, short, NodeSort, RunsView};
use super::timeline::{fmt_ms, status_color, timeline_ui};
use crate::command::Command;
use crate::editor::style::{ERROR, WARNING};
use egui::{RichText, Ui};
use workflow_engine::runtime::{NodeRun, NodeStatus};
use workflow_wire::RunRecord;

const ROW: f32 = 20.0;
/// Tallest a scrolling list inside the detail grows before it scrolls on its own.
const LIST_HEIGHT: f32 = 320.0;

pub fn duration_ms(n: &NodeRun) -> Option<i64> {
    Some(n.finished_at? - n.started_at?)
}

pub(super) fn run_detail_ui(
    ui: &mut Ui,
    view: &mut RunsView,
    artifacts: &mut ArtifactView,
    run: &RunRecord,
    now_ms: i64,
    out: &mut Vec<Command>,
) {
    header_ui(ui, view, run, out);
    ui.separator();
    ui.label(RichText::new("Timeline").strong());
    if let Some(node) = timeline_ui(ui, &run.nodes, run.graph.as_ref(), now_ms, &mut view.axis) {
        out.push(Command::SelectRunNode(node));
    }
    ui.separator();
    failure_ui(ui, view, run, out);
    ui.label(RichText::new("Artifacts").strong());
    artifacts_ui(ui, artifacts, &run_artifacts(&run.nodes), out);
    ui.separator();
    ui.label(RichText::new("Nodes").strong());
    node_table_ui(ui, view, &run.nodes, out);
    if let Some(node) = view
        .selected_node
        .as_deref()
        .and_then(|id| run.nodes.iter().find(|n| n.node_id == id))
    {
        ui.separator();
        let root_cause = node.status == NodeStatus::Failed;
        let record = ui
            .scope(|ui| node_record_ui(ui, view, node, root_cause))
            .response;
        // The record sits below the table, often below the fold: bring its top into view
        // once, when a node is picked (later frames leave the user's scrolling alone).
        if std::mem::take(&mut view.scroll_to_record) {
            ui.scroll_to_rect(record.rect, Some(egui::Align::TOP));
        }
    }
}

fn header_ui(ui: &mut Ui, view: &mut RunsView, run: &RunRecord, out: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        ui.heading(format!("Run {}", short(&run.id)));
        ui.colored_label(run_color(run.status), enum_str(&run.status));
    });
    ui.label(format!(
        "mode {} · trigger {}{}",
        enum_str(&run.mode),
        run.trigger,
        if run.authoritative {
            ""
        } else {
            " · not delivered (shadow)"
        }
    ));
    if let (Some(link), Some(other)) = (&run.link, &run.linked_run_id) {
        ui.horizontal(|ui| {
            ui.label(format!("linked: {link}"));
            if ui.link(short(other)).clicked() {
                out.push(Command::SelectRun(other.clone()));
            }
        });
    }
    if let Some(err) = &run.error {
        ui.colored_label(
            ERROR,
            format!(
                "{}: {}",
                err["code"].as_str().unwrap_or("error"),
                err["message"].as_str().unwrap_or("")
            ),
        );
    }
    ui.horizontal(|ui| {
        if ui.button("Open in editor").clicked() {
            out.push(Command::OpenRunInEditor);
        }
        if ui
            .button("Re-run")
            .on_hover_text("With the overrides below, if any")
            .clicked()
        {
            out.push(Command::Rerun);
        }
        if !run.status.is_final() && ui.button("Cancel").clicked() {
            out.push(Command::CancelRun);
        }
        let partner = run.linked_run_id.clone().or_else(|| run.rerun_of.clone());
        let compare = ui
            .add_enabled(partner.is_some(), egui::Button::new("Compare"))
            .on_hover_text("Side by side with the linked run (shadow, fallback or re-run)")
            .on_disabled_hover_text("No linked run: pick one with \"compare\" in the runs list");
        if compare.clicked() {
            if let Some(other) = partner {
                out.push(Command::CompareRuns {
                    left: run.id.clone(),
                    right: other,
                });
            }
        }
    });
    ui.horizontal(|ui| {
        ui.label("Re-run with");
        ui.add(
            egui::TextEdit::singleline(&mut view.rerun_overrides)
                .hint_text("{\"render.width\": 1024}")
                .desired_width(320.0),
        );
    });
}

fn failure_ui(ui: &mut Ui, view: &mut RunsView, run: &RunRecord, out: &mut Vec<Command>) {
    let causes: Vec<&NodeRun> = root_causes(&run.nodes).collect();
    if causes.is_empty() {
        return;
    }
    ui.label(RichText::new("Failure").strong().color(ERROR));
    for n in &causes {
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(
                    RichText::new(format!("Root cause: {} ({})", n.node_id, n.node_type)).strong(),
                );
                if ui.small_button("details").clicked() {
                    out.push(Command::SelectRunNode(n.node_id.clone()));
                }
            });
            error_ui(ui, n);
            let skipped: Vec<&str> = run
                .nodes
                .iter()
                .filter(|s| s.status == NodeStatus::Skipped)
                .filter(|s| {
                    s.error.as_ref().and_then(|e| e.root_cause_node.as_deref())
                        == Some(n.node_id.as_str())
                })
                .map(|s| s.node_id.as_str())
                .collect();
            if !skipped.is_empty() {
                ui.colored_label(
                    WARNING,
                    format!("Skipped because of it: {}", skipped.join(", ")),
                );
            }
            params_ui(ui, n, "failure");
            logs_ui(
                ui,
                &mut view.log_search,
                &mut view.log_matches,
                n,
                "failure",
            );
        });
    }
}

/// A node's error: `code: message` once, its structured details folded away.
fn error_ui(ui: &mut Ui, n: &NodeRun) {
    if let Some(e) = &n.error {
        ui.add(egui::Label::new(
            RichText::new(format!("{}: {}", e.code, e.message)).color(ERROR),
        ));
        if !e.details.is_null() {
            egui::CollapsingHeader::new("Error details")
                .id_salt(("error_details", &n.node_id))
                .show(ui, |ui| {
                    let text = serde_json::to_string_pretty(&e.details)
                        .unwrap_or_else(|_| e.details.to_string());
                    ui.add(egui::Label::new(RichText::new(text).monospace()).wrap());
                });
        }
    }
}

/// `place`: where it is drawn (the failure view, the record), so a root cause shown in both
/// keeps two separate fold states.
fn params_ui(ui: &mut Ui, n: &NodeRun, place: &str) {
    egui::CollapsingHeader::new("Parameters it ran with")
        .id_salt(("params", place, &n.node_id))
        .show(ui, |ui| {
            for (k, v) in &n.params {
                ui.monospace(format!("{k} = {v}"));
            }
        });
}

/// Which of a node's log lines match a search, kept between frames: filtering 10,000 lines
/// on every frame would cost more than drawing them.
#[derive(Default)]
pub struct LogMatches {
    entries: std::collections::HashMap<&'static str, LogMatchEntry>,
}

struct LogMatchEntry {
    node_id: String,
    needle: String,
    lines: usize,
    matches: Vec<usize>,
}

impl LogMatches {
    fn get(&mut self, place: &'static str, node: &NodeRun, needle: &str) -> &[usize] {
        let fresh = self.entries.get(place).is_some_and(|e| {
            e.node_id == node.node_id && e.needle == needle && e.lines == node.logs.len()
        });
        if !fresh {
            let matches = node
                .logs
                .iter()
                .enumerate()
                .filter(|(_, l)| l.message.to_lowercase().contains(needle))
                .map(|(i, _)| i)
                .collect();
            self.entries.insert(
                place,
                LogMatchEntry {
                    node_id: node.node_id.clone(),
                    needle: needle.to_owned(),
                    lines: node.logs.len(),
                    matches,
                },
            );
        }
        self.entries
            .get(place)
            .map_or(&[], |e| e.matches.as_slice())
    }
}

/// A node's log lines, filtered by the search text; only the lines in view are laid out.
fn logs_ui(
    ui: &mut Ui,
    search: &mut String,
    cache: &mut LogMatches,
    node: &NodeRun,
    place: &'static str,
) {
    let logs = &node.logs;
    ui.horizontal(|ui| {
        ui.label(format!("Logs ({})", logs.len()));
        ui.add(egui::TextEdit::singleline(search).hint_text("search logs"));
    });
    let needle = search.to_lowercase();
    let matches: &[usize] = if needle.is_empty() {
        &[]
    } else {
        cache.get(place, node, &needle)
    };
    let count = if needle.is_empty() {
        logs.len()
    } else {
        matches.len()
    };
    if count == 0 {
        ui.weak(if logs.is_empty() {
            "No log lines."
        } else {
            "No line matches."
        });
        return;
    }
    if !needle.is_empty() {
        ui.weak(format!("{count} of {} lines match", logs.len()));
    }
    let row = ui.text_style_height(&egui::TextStyle::Monospace);
    egui::ScrollArea::vertical()
        .id_salt(("logs", place, &node.node_id))
        .max_height(LIST_HEIGHT)
        .auto_shrink([false, true])
        .show_rows(ui, row, count, |ui, range| {
            for i in range {
                let index = if needle.is_empty() { i } else { matches[i] };
                let Some(line) = logs.get(index) else {
                    continue;
                };
                let level = enum_str(&line.level);
                let text = format!("{level:<5} {}", line.message);
                let color = match level.as_str() {
                    "error" => ERROR,
                    "warn" => WARNING,
                    _ => ui.visuals().text_color(),
                };
                ui.label(RichText::new(text).monospace().color(color));
            }
        });
}

fn sorted_rows(nodes: &[NodeRun], sort: NodeSort) -> Vec<&NodeRun> {
    let mut rows: Vec<&NodeRun> = nodes.iter().collect();
    match sort {
        NodeSort::Order => {}
        NodeSort::Status => rows.sort_by_key(|n| enum_str(&n.status)),
        NodeSort::Duration => rows.sort_by_key(|n| std::cmp::Reverse(duration_ms(n).unwrap_or(0))),
    }
    rows
}

fn node_table_ui(ui: &mut Ui, view: &mut RunsView, nodes: &[NodeRun], out: &mut Vec<Command>) {
    use egui_extras::{Column, TableBuilder};
    let rows = sorted_rows(nodes, view.sort);
    let sort = &mut view.sort;
    let selected_node = view.selected_node.as_deref();
    TableBuilder::new(ui)
        .id_salt("node_table")
        .striped(true)
        .resizable(true)
        .max_scroll_height(LIST_HEIGHT)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::initial(170.0).at_least(80.0).clip(true))
        .column(Column::initial(80.0))
        .column(Column::initial(80.0))
        .column(Column::initial(170.0).clip(true))
        .column(Column::initial(170.0).clip(true))
        .column(Column::remainder().clip(true))
        .header(ROW, |mut header| {
            for (label, by) in [
                ("node", NodeSort::Order),
                ("status", NodeSort::Status),
                ("duration", NodeSort::Duration),
            ] {
                header.col(|ui| {
                    let text = if *sort == by {
                        format!("{label} ⏷")
                    } else {
                        label.to_owned()
                    };
                    if ui
                        .add(egui::Button::new(RichText::new(text).strong()).frame(false))
                        .on_hover_text("Sort by this column")
                        .clicked()
                    {
                        *sort = by;
                    }
                });
            }
            for label in ["outputs", "artifacts", "error"] {
                header.col(|ui| {
                    ui.strong(label);
                });
            }
        })
        .body(|body| {
            body.rows(ROW, rows.len(), |mut row| {
                let n = rows[row.index()];
                row.col(|ui| {
                    let selected = selected_node == Some(n.node_id.as_str());
                    if ui
                        .add(egui::Button::selectable(selected, &n.node_id))
                        .on_hover_text(&n.node_type)
                        .clicked()
                    {
                        out.push(Command::SelectRunNode(n.node_id.clone()));
                    }
                });
                row.col(|ui| {
                    ui.colored_label(status_color(n.status), enum_str(&n.status));
                });
                row.col(|ui| {
                    ui.label(duration_ms(n).map_or("—".into(), |d| fmt_ms(d as f64)));
                });
                row.col(|ui| {
                    ui.label(n.outputs.keys().cloned().collect::<Vec<_>>().join(", "));
                });
                row.col(|ui| {
                    ui.label(artifact_summary(&n.artifacts));
                });
                row.col(|ui| {
                    if let Some(e) = &n.error {
                        let color = if n.status == NodeStatus::Skipped {
                            WARNING
                        } else {
                            ERROR
                        };
                        ui.colored_label(color, &e.code).on_hover_text(&e.message);
                    }
                });
            });
        });
}

/// Everything recorded about the selected node: times, error, parameters, outputs, logs.
/// `in_failure_view`: the node's error is already shown in the failure view above, so the
/// record names its code and points there instead of repeating the text.
fn node_record_ui(ui: &mut Ui, view: &mut RunsView, n: &NodeRun, in_failure_view: bool) {
    ui.horizontal(|ui| {
        ui.label(RichText::new(format!("Node {}", n.node_id)).strong());
        ui.weak(format!("{} · module {}", n.node_type, n.module_key));
        ui.colored_label(status_color(n.status), enum_str(&n.status));
    });
    let times = match (n.started_at, n.finished_at) {
        (Some(s), Some(f)) => format!(
            "waited {} · ran {}",
            fmt_ms((s - n.queued_at) as f64),
            fmt_ms((f - s) as f64)
        ),
        (Some(s), None) => format!("waited {} · running", fmt_ms((s - n.queued_at) as f64)),
        _ => "never started".to_owned(),
    };
    ui.label(times);
    match &n.error {
        Some(e) if in_failure_view => {
            ui.colored_label(ERROR, format!("Error {}: see Failure above", e.code));
        }
        _ => error_ui(ui, n),
    }
    params_ui(ui, n, "record");
    egui::CollapsingHeader::new(format!("Outputs ({})", n.outputs.len()))
        .id_salt(("outputs", &n.node_id))
        .default_open(true)
        .show(ui, |ui| {
            for (port, summary) in &n.outputs {
                ui.monospace(format!("{port}: {summary}"));
            }
        });
    logs_ui(
        ui,
        &mut view.node_log_search,
        &mut view.log_matches,
        n,
        "record",
    );
}

/// Bytes as a person reads them (1.2 MB, 88 kB, 494 B).
/// A node's artifacts in one cell: `role (size)` each, a role stored several times (a
/// turntable's frames) once with its count and total size.
fn artifact_summary(artifacts: &[workflow_engine::runtime::ArtifactRef]) -> String {
    let mut groups: Vec<(String, usize, u64)> = Vec::new();
    for a in artifacts {
        let role = a.role.to_string();
        match groups.iter_mut().find(|(r, _, _)| *r == role) {
            Some(g) => {
                g.1 += 1;
                g.2 += a.size;
            }
            None => groups.push((role, 1, a.size)),
        }
    }
    groups
        .iter()
        .map(|(role, count, size)| match count {
            1 => format!("{role} ({})", human_size(*size)),
            n => format!("{n} × {role} ({})", human_size(*size)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 1_000 => format!("{:.0} kB", b as f64 / 1e3),
        b => format!("{b} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::artifact_summary;
    use workflow_contracts::ArtifactRole;
    use workflow_engine::runtime::ArtifactRef;

    fn artifact(role: ArtifactRole, size: u64) -> ArtifactRef {
        ArtifactRef {
            id: format!("{role}-{size}"),
            role,
            media_type: "image/png".into(),
            size,
        }
    }

    #[test]
    fn a_turntables_frames_are_counted_not_listed() {
        let mut list = vec![artifact(ArtifactRole::Turntable, 2048)];
        list.extend((0..12).map(|_| artifact(ArtifactRole::TurntableFrame, 1024)));
        assert_eq!(
            artifact_summary(&list),
            "turntable (2 kB), 12 × turntable_frame (12 kB)"
        );
        assert_eq!(artifact_summary(&[]), "");
    }
}
