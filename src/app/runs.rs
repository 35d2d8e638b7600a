//! Run inspection: the runs list (filters, paging, live refresh), a run's timeline, node
//! table and failure view, and the editor's Run panel (preflight, dispatch).

use super::timeline::{fmt_ms, status_color, timeline_ui, TimeAxis};
use super::StudioApp;
use crate::backend::{reported, BackendEvent};
use crate::command::Command;
use crate::editor::style::{ERROR, WARNING};
use egui::{RichText, Ui};
use serde_json::{Map, Value};
use workflow_engine::runtime::{NodeRun, NodeStatus, RunMode, RunStatus};
use workflow_server::store::RunRecord;

/// Seconds between refreshes of a live run when its event stream is not followed (fallback).
const LIVE_REFRESH: f64 = 2.0;
const PAGE: i64 = 50;

#[derive(Default)]
pub struct RunsView {
    pub runs: Vec<RunRecord>,
    pub total: i64,
    pub offset: i64,
    pub status_filter: Option<RunStatus>,
    pub mode_filter: Option<RunMode>,
    pub selected: Option<RunRecord>,
    pub axis: TimeAxis,
    pub log_search: String,
    pub sort: NodeSort,
    /// The editor's Run panel: dispatch inputs as JSON, and the last preflight answer.
    pub inputs_text: String,
    pub preflight: Option<Value>,
    /// Parameter overrides for "Re-run with", as JSON (`{"render.width": 1024}`).
    pub rerun_overrides: String,
    refreshing: bool,
    last_refresh: f64,
    /// The run whose event stream is being followed.
    following: Option<String>,
    /// The run the user last asked for (it replaces the detail when it arrives).
    wanted: Option<String>,
    /// An event arrived since the detail was last loaded.
    stale: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NodeSort {
    #[default]
    Order,
    Status,
    Duration,
}

fn duration_ms(n: &NodeRun) -> Option<i64> {
    Some(n.finished_at? - n.started_at?)
}

impl StudioApp {
    pub(super) fn refresh_runs(&self) {
        let Some(c) = self.server.client.clone() else {
            return;
        };
        let mut filter = Vec::new();
        if let Some(s) = self.runs.status_filter {
            filter.push(("status", enum_str(&s)));
        }
        if let Some(m) = self.runs.mode_filter {
            filter.push(("mode", enum_str(&m)));
        }
        let offset = self.runs.offset;
        self.spawn(async move {
            reported(
                "list runs",
                c.runs(&filter, PAGE, offset),
                BackendEvent::Runs,
            )
            .await
        });
    }

    pub(super) fn load_run(&mut self, id: String) {
        let Some(c) = self.server.client.clone() else {
            return;
        };
        self.runs.refreshing = true;
        self.runs.wanted = Some(id.clone());
        self.spawn(async move {
            reported("load run", c.run(&id), |r| {
                BackendEvent::RunLoaded(Box::new(r))
            })
            .await
        });
    }

    pub(super) fn cancel_selected_run(&self) -> Result<(), String> {
        let c = self.server.client.clone().ok_or("Not connected")?;
        let id = self
            .runs
            .selected
            .as_ref()
            .map(|r| r.id.clone())
            .ok_or("No run selected")?;
        self.spawn(async move {
            reported("cancel run", c.cancel_run(&id), |r| {
                BackendEvent::RunLoaded(Box::new(r))
            })
            .await
        });
        Ok(())
    }

    pub(super) fn rerun_selected(&self) -> Result<(), String> {
        let c = self.server.client.clone().ok_or("Not connected")?;
        let id = self
            .runs
            .selected
            .as_ref()
            .map(|r| r.id.clone())
            .ok_or("No run selected")?;
        let overrides = json_object(&self.runs.rerun_overrides, "Re-run overrides")?;
        self.spawn(async move {
            reported("re-run", c.rerun(&id, &overrides), BackendEvent::Dispatched).await
        });
        Ok(())
    }

    fn run_inputs(&self) -> Result<Map<String, Value>, String> {
        json_object(&self.runs.inputs_text, "Run inputs")
    }

    pub(super) fn preflight_open_workflow(&self) -> Result<(), String> {
        let c = self.server.client.clone().ok_or("Not connected")?;
        let editor = self.editor.as_ref().ok_or("No workflow is open")?;
        let id = editor
            .doc
            .id
            .clone()
            .ok_or("Save the workflow before running it")?;
        let inputs = self.run_inputs()?;
        self.spawn(async move {
            reported(
                "preflight",
                c.preflight_workflow(&id, &inputs),
                BackendEvent::Preflight,
            )
            .await
        });
        Ok(())
    }

    pub(super) fn dispatch_open_workflow(&self) -> Result<(), String> {
        let c = self.server.client.clone().ok_or("Not connected")?;
        let editor = self.editor.as_ref().ok_or("No workflow is open")?;
        if editor.doc.is_dirty() {
            return Err("Save the workflow first: runs execute the saved version".into());
        }
        let id = editor
            .doc
            .id
            .clone()
            .ok_or("Save the workflow before running it")?;
        let inputs = self.run_inputs()?;
        self.spawn(async move {
            reported(
                "dispatch",
                c.dispatch_workflow(&id, &inputs),
                BackendEvent::Dispatched,
            )
            .await
        });
        Ok(())
    }

    /// Opens the graph the selected run executed, coloured by node status, the failing node
    /// selected.
    pub(super) fn open_run_in_editor(&mut self) -> Result<(), String> {
        let run = self.runs.selected.clone().ok_or("No run selected")?;
        let graph = run.graph.clone().ok_or("This run has no graph to open")?;
        let name = format!(
            "Run {} (workflow version {})",
            short(&run.id),
            run.workflow_version.unwrap_or(0)
        );
        let mut doc = crate::editor::document::WorkflowDocument::new(&name, graph);
        if let (Some(id), Some(version)) = (run.workflow_id.clone(), run.workflow_version) {
            doc.mark_saved_at(id, version, 0);
        }
        self.open(doc);
        if let Some(editor) = self.editor.as_mut() {
            editor.run_status = run
                .nodes
                .iter()
                .map(|n| (n.node_id.clone(), n.status))
                .collect();
            editor.selection = root_causes(&run.nodes)
                .map(|n| n.node_id.clone())
                .take(1)
                .collect();
        }
        self.state.view = super::MainView::Editor;
        Ok(())
    }

    pub(super) fn on_runs_event(&mut self, event: BackendEvent) {
        match event {
            BackendEvent::Runs(page) => {
                self.runs.runs = page.runs;
                self.runs.total = page.total;
            }
            BackendEvent::RunLoaded(run) => {
                self.runs.refreshing = false;
                let replace = self.runs.wanted.as_deref() == Some(run.id.as_str())
                    || self.runs.selected.as_ref().is_none_or(|s| s.id == run.id);
                if let Some(listed) = self.runs.runs.iter_mut().find(|r| r.id == run.id) {
                    *listed = RunRecord {
                        nodes: Vec::new(),
                        ..(*run).clone()
                    };
                }
                if replace {
                    if self.runs.selected.as_ref().is_none_or(|s| s.id != run.id) {
                        self.runs.axis = TimeAxis::default();
                    }
                    self.runs.selected = Some(*run);
                }
            }
            BackendEvent::RunEvent { run_id, kind: _ }
                if self.runs.selected.as_ref().is_some_and(|r| r.id == run_id) =>
            {
                self.runs.stale = true;
            }
            BackendEvent::RunEventsEnded(run_id)
                if self.runs.following.as_deref() == Some(&run_id) =>
            {
                self.runs.following = None;
                // One last load so the final state shows even if the last event raced.
                self.load_run(run_id);
                self.refresh_runs();
            }
            BackendEvent::Preflight(report) => self.runs.preflight = Some(report),
            BackendEvent::Dispatched(run_id) => {
                self.status = format!("Run {} started", short(&run_id));
                self.runs.preflight = None;
                self.state.view = super::MainView::Runs;
                self.load_run(run_id);
                self.refresh_runs();
            }
            _ => {}
        }
    }

    /// Keeps a live run's detail current.
    pub(super) fn poll_live_run(&mut self, now: f64) {
        let live = self
            .runs
            .selected
            .as_ref()
            .filter(|r| !r.status.is_final())
            .map(|r| r.id.clone());
        let Some(id) = live else { return };
        if !self.runs.refreshing && now - self.runs.last_refresh >= LIVE_REFRESH {
            self.runs.last_refresh = now;
            self.load_run(id);
            self.refresh_runs();
        }
    }
}

/// Parses a JSON object typed by the user; empty text is an empty object.
fn json_object(text: &str, what: &str) -> Result<Map<String, Value>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(format!(
            "{what} must be a JSON object, e.g. {{\"render.width\": 1024}}"
        )),
        Err(e) => Err(format!(
            "{what}: line {}, column {}: {e}",
            e.line(),
            e.column()
        )),
    }
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

fn enum_str<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Nodes that failed on their own (not skipped because of another).
pub fn root_causes(nodes: &[NodeRun]) -> impl Iterator<Item = &NodeRun> {
    nodes.iter().filter(|n| n.status == NodeStatus::Failed)
}

pub(super) fn runs_ui(ui: &mut Ui, view: &mut RunsView, now_ms: i64, out: &mut Vec<Command>) {
    egui::Panel::left("runs_list")
        .default_size(380.0)
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading("Runs");
                if ui.small_button("⟳").on_hover_text("Refresh").clicked() {
                    out.push(Command::RefreshRuns);
                }
            });
            ui.horizontal(|ui| {
                let before = (view.status_filter, view.mode_filter);
                egui::ComboBox::from_id_salt("run_status_filter")
                    .selected_text(
                        view.status_filter
                            .map_or("any status".into(), |s| enum_str(&s)),
                    )
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut view.status_filter, None, "any status");
                        for s in [
                            RunStatus::Queued,
                            RunStatus::Running,
                            RunStatus::Succeeded,
                            RunStatus::Failed,
                            RunStatus::Cancelled,
                        ] {
                            ui.selectable_value(&mut view.status_filter, Some(s), enum_str(&s));
                        }
                    });
                egui::ComboBox::from_id_salt("run_mode_filter")
                    .selected_text(view.mode_filter.map_or("any mode".into(), |m| enum_str(&m)))
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut view.mode_filter, None, "any mode");
                        for m in [RunMode::Graph, RunMode::Legacy, RunMode::Shadow] {
                            ui.selectable_value(&mut view.mode_filter, Some(m), enum_str(&m));
                        }
                    });
                if before != (view.status_filter, view.mode_filter) {
                    view.offset = 0;
                    out.push(Command::RefreshRuns);
                }
            });
            egui::ScrollArea::vertical().show(ui, |ui| {
                for r in &view.runs {
                    let selected = view.selected.as_ref().is_some_and(|s| s.id == r.id);
                    ui.horizontal(|ui| {
                        crate::editor::style::dot_ui(ui, run_color(r.status));
                        let label = format!(
                            "{} · {} · {}",
                            short(&r.id),
                            enum_str(&r.mode),
                            enum_str(&r.status)
                        );
                        if ui.selectable_label(selected, label).clicked() {
                            out.push(Command::SelectRun(r.id.clone()));
                        }
                        if let (Some(s), Some(f)) = (r.started_at, r.finished_at) {
                            ui.weak(fmt_ms((f - s) as f64));
                        }
                    });
                }
                ui.horizontal(|ui| {
                    ui.weak(format!(
                        "{}–{} of {}",
                        view.offset + 1,
                        view.offset + view.runs.len() as i64,
                        view.total
                    ));
                    if view.offset > 0 && ui.small_button("‹ newer").clicked() {
                        view.offset = (view.offset - PAGE).max(0);
                        out.push(Command::RefreshRuns);
                    }
                    if view.offset + PAGE < view.total && ui.small_button("older ›").clicked() {
                        view.offset += PAGE;
                        out.push(Command::RefreshRuns);
                    }
                });
            });
        });
    egui::CentralPanel::default().show(ui, |ui| match view.selected.clone() {
        Some(run) => {
            egui::ScrollArea::vertical().show(ui, |ui| run_detail_ui(ui, view, &run, now_ms, out));
        }
        None => {
            ui.weak("Select a run.");
        }
    });
}

fn run_color(status: RunStatus) -> egui::Color32 {
    status_color(match status {
        RunStatus::Queued => NodeStatus::Pending,
        RunStatus::Running => NodeStatus::Running,
        RunStatus::Succeeded => NodeStatus::Succeeded,
        RunStatus::Failed => NodeStatus::Failed,
        RunStatus::Cancelled => NodeStatus::Cancelled,
    })
}

fn run_detail_ui(
    ui: &mut Ui,
    view: &mut RunsView,
    run: &RunRecord,
    now_ms: i64,
    out: &mut Vec<Command>,
) {
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
    });
    ui.horizontal(|ui| {
        ui.label("Re-run with");
        ui.add(
            egui::TextEdit::singleline(&mut view.rerun_overrides)
                .hint_text("{\"render.width\": 1024}")
                .desired_width(320.0),
        );
    });
    ui.separator();
    ui.label(RichText::new("Timeline").strong());
    timeline_ui(ui, &run.nodes, run.graph.as_ref(), now_ms, &mut view.axis);
    ui.separator();
    failure_ui(ui, view, run);
    ui.label(RichText::new("Nodes").strong());
    node_table_ui(ui, view, &run.nodes);
}

fn failure_ui(ui: &mut Ui, view: &mut RunsView, run: &RunRecord) {
    let causes: Vec<&NodeRun> = root_causes(&run.nodes).collect();
    if causes.is_empty() {
        return;
    }
    ui.label(RichText::new("Failure").strong().color(ERROR));
    for n in &causes {
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.label(
                RichText::new(format!("Root cause: {} ({})", n.node_id, n.node_type)).strong(),
            );
            if let Some(e) = &n.error {
                ui.colored_label(ERROR, format!("{}: {}", e.code, e.message));
                if !e.details.is_null() {
                    ui.monospace(e.details.to_string());
                }
            }
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
            ui.collapsing("Parameters it ran with", |ui| {
                for (k, v) in &n.params {
                    ui.monospace(format!("{k} = {v}"));
                }
            });
            ui.horizontal(|ui| {
                ui.label("Logs");
                ui.add(egui::TextEdit::singleline(&mut view.log_search).hint_text("search logs"));
            });
            let needle = view.log_search.to_lowercase();
            for line in n
                .logs
                .iter()
                .filter(|l| needle.is_empty() || l.message.to_lowercase().contains(&needle))
            {
                ui.monospace(format!("{:?} {}", line.level, line.message));
            }
        });
    }
}

fn node_table_ui(ui: &mut Ui, view: &mut RunsView, nodes: &[NodeRun]) {
    let mut rows: Vec<&NodeRun> = nodes.iter().collect();
    match view.sort {
        NodeSort::Order => {}
        NodeSort::Status => rows.sort_by_key(|n| enum_str(&n.status)),
        NodeSort::Duration => rows.sort_by_key(|n| std::cmp::Reverse(duration_ms(n).unwrap_or(0))),
    }
    egui::Grid::new("node_table")
        .striped(true)
        .num_columns(6)
        .show(ui, |ui| {
            if ui.button("node").clicked() {
                view.sort = NodeSort::Order;
            }
            if ui.button("status").clicked() {
                view.sort = NodeSort::Status;
            }
            if ui.button("duration").clicked() {
                view.sort = NodeSort::Duration;
            }
            ui.strong("outputs");
            ui.strong("artifacts");
            ui.strong("error");
            ui.end_row();
            for n in rows {
                ui.label(&n.node_id).on_hover_text(&n.node_type);
                ui.colored_label(status_color(n.status), enum_str(&n.status));
                ui.label(duration_ms(n).map_or("—".into(), |d| fmt_ms(d as f64)));
                ui.label(n.outputs.keys().cloned().collect::<Vec<_>>().join(", "));
                ui.label(
                    n.artifacts
                        .iter()
                        .map(|a| format!("{} ({} B)", a.role, a.size))
                        .collect::<Vec<_>>()
                        .join(", "),
                );
                ui.label(n.error.as_ref().map_or(String::new(), |e| e.code.clone()));
                ui.end_row();
            }
        });
}

/// The editor's Run panel: dispatch inputs, preflight (every problem at once), dispatch.
pub(super) fn run_panel_ui(ui: &mut Ui, view: &mut RunsView, saved: bool, out: &mut Vec<Command>) {
    ui.separator();
    ui.label(RichText::new("Run").strong());
    ui.label("Inputs (JSON)");
    ui.add(
        egui::TextEdit::multiline(&mut view.inputs_text)
            .hint_text("{\"product_id\": \"…\"}")
            .desired_rows(2),
    );
    ui.horizontal(|ui| {
        ui.add_enabled_ui(saved, |ui| {
            if ui.button("Preflight").clicked() {
                out.push(Command::Preflight);
            }
            if ui.button("Dispatch").clicked() {
                out.push(Command::Dispatch);
            }
        })
        .response
        .on_disabled_hover_text("Save the workflow first: runs execute the saved version");
    });
    if let Some(report) = &view.preflight {
        let ok = report["ok"].as_bool().unwrap_or(false);
        let modes: Vec<String> = report["runs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m.as_str().map(str::to_owned))
            .collect();
        if ok {
            ui.colored_label(
                crate::editor::style::ONLINE,
                format!("Ready: would start {}", modes.join(" + ")),
            );
        }
        for p in report["problems"].as_array().into_iter().flatten() {
            let color = if p["severity"] == "error" {
                ERROR
            } else {
                WARNING
            };
            let nodes: Vec<String> = p["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect();
            let r = ui.add(
                egui::Label::new(RichText::new(p["message"].as_str().unwrap_or("")).color(color))
                    .wrap()
                    .sense(egui::Sense::click()),
            );
            if r.clicked() && !nodes.is_empty() {
                out.push(Command::Select(nodes));
            }
        }
    }
}
