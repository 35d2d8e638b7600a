//! Run inspection: the runs list (filters, paging, live refresh), a run's timeline, node
//! table and failure view, and the editor's Run panel (preflight, dispatch).

use super::artifacts::ArtifactView;
use super::run_detail::run_detail_ui;
use super::timeline::{fmt_ms, status_color, TimeAxis};
use super::StudioApp;
use crate::backend::{reported, BackendEvent};
use crate::command::Command;
use crate::editor::style::{ERROR, WARNING};
use egui::{RichText, Ui};
use serde_json::{Map, Value};
use std::collections::HashSet;
use workflow_contracts::output_type::Rollout;
use workflow_contracts::Family;
use workflow_engine::runtime::{NodeRun, NodeStatus, RunMode, RunStatus};
use workflow_wire::{OutputTypeRecord, RunRecord, Workflow};

/// Seconds between refreshes of a live run when its event stream is not followed (fallback).
const LIVE_REFRESH: f64 = 2.0;
const PAGE: i64 = 50;

#[derive(Default)]
pub struct RunsView {
    pub runs: Vec<RunRecord>,
    pub total: i64,
    pub offset: i64,
    pub filter: RunListFilter,
    pub selected: Option<RunRecord>,
    /// The node whose record shows below the node table.
    pub selected_node: Option<String>,
    /// The node record was just asked for: the detail scrolls to it once it is drawn.
    pub scroll_to_record: bool,
    pub node_log_search: String,
    /// Log lines matching the searches, kept between frames.
    pub log_matches: super::run_detail::LogMatches,
    /// Two runs side by side (replaces the detail while open).
    pub compare: Option<super::compare::Comparison>,
    pub axis: TimeAxis,
    pub log_search: String,
    pub sort: NodeSort,
    /// The editor's Run panel: the product to run on, an order line, extra inputs as JSON,
    /// parameter overrides, and the last preflight answer.
    pub run_product: Option<String>,
    pub run_order_line: String,
    pub inputs_text: String,
    pub run_overrides: String,
    /// What a dispatch goes through: the open workflow, an output type, or a stored order line.
    pub run_via: RunVia,
    /// Products the server knows (`GET /api/products`), for the Run panel's picker.
    pub products: Vec<Value>,
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
    /// Runs dispatched from this app that have not ended yet: each gets a notice when it ends.
    watched: HashSet<String>,
    /// Runs that ended since they were dispatched here, newest last, until dismissed or opened.
    pub notices: Vec<RunNotice>,
}

/// "Run … finished / failed", with a link to it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunNotice {
    pub run_id: String,
    pub status: RunStatus,
    /// What the notice and the status bar say.
    pub text: String,
}

/// Notices shown at once; older ones give way.
const MAX_NOTICES: usize = 3;

impl RunsView {
    /// Whether a run is being watched live (the selected one, or one dispatched from here).
    pub fn is_live(&self) -> bool {
        !self.watched.is_empty() || self.selected.as_ref().is_some_and(|r| !r.status.is_final())
    }

    /// Notes a run's latest state; when a watched run has ended, adds its notice and returns
    /// the line for the status bar.
    fn observe(&mut self, run: &RunRecord) -> Option<String> {
        if !run.status.is_final() || !self.watched.remove(&run.id) {
            return None;
        }
        let text = notice_text(run);
        self.notices.retain(|n| n.run_id != run.id);
        self.notices.push(RunNotice {
            run_id: run.id.clone(),
            status: run.status,
            text: text.clone(),
        });
        if self.notices.len() > MAX_NOTICES {
            self.notices.remove(0);
        }
        Some(text)
    }
}

/// "Run 1a2b3c4d finished in 2.3 s", "… failed in 18 ms: missing_materials", "… was cancelled".
pub fn notice_text(run: &RunRecord) -> String {
    let took = match (run.started_at, run.finished_at) {
        (Some(s), Some(f)) => format!(" in {}", fmt_ms((f - s) as f64)),
        _ => String::new(),
    };
    let id = short(&run.id);
    match run.status {
        RunStatus::Succeeded => format!("Run {id} finished{took}"),
        RunStatus::Failed => {
            // The run's own error, else its first failing node's.
            let error = run.error.clone().or_else(|| {
                root_causes(&run.nodes)
                    .next()
                    .and_then(|n| n.error.as_ref())
                    .and_then(|e| serde_json::to_value(e).ok())
            });
            let why = error
                .as_ref()
                // The code only: the message is in the run's failure view, one click away.
                .map(|e| match (e["code"].as_str(), e["message"].as_str()) {
                    (Some(c), _) => format!(": {c}"),
                    (None, Some(m)) => format!(": {m}"),
                    (None, None) => String::new(),
                })
                .unwrap_or_default();
            format!("Run {id} failed{took}{why}")
        }
        RunStatus::Cancelled => format!("Run {id} was cancelled"),
        RunStatus::Queued | RunStatus::Running => format!("Run {id} is {}", enum_str(&run.status)),
    }
}

/// What the Run panel dispatches.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RunVia {
    /// The open workflow's saved graph, directly.
    #[default]
    Workflow,
    /// An output type (its rollout decides legacy, graph or shadow).
    OutputType(String),
    /// A stored order line (its product, output type and overrides).
    OrderLine,
}

/// The runs list's filters; a change refreshes from the first page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunListFilter {
    pub status: Option<RunStatus>,
    pub mode: Option<RunMode>,
    pub workflow_id: Option<String>,
    pub output_type_id: Option<String>,
    pub product_id: String,
    pub time: TimeRange,
}

/// How far back the runs list looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeRange {
    #[default]
    Any,
    LastHour,
    LastDay,
    LastWeek,
}

impl TimeRange {
    pub const ALL: [TimeRange; 4] = [
        TimeRange::Any,
        TimeRange::LastHour,
        TimeRange::LastDay,
        TimeRange::LastWeek,
    ];

    pub fn label(self) -> &'static str {
        match self {
            TimeRange::Any => "any time",
            TimeRange::LastHour => "last hour",
            TimeRange::LastDay => "last 24 hours",
            TimeRange::LastWeek => "last 7 days",
        }
    }

    fn span_ms(self) -> Option<i64> {
        match self {
            TimeRange::Any => None,
            TimeRange::LastHour => Some(3_600_000),
            TimeRange::LastDay => Some(86_400_000),
            TimeRange::LastWeek => Some(7 * 86_400_000),
        }
    }
}

impl RunListFilter {
    /// Query parameters of `GET /api/runs`.
    pub fn query(&self, now_ms: i64) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(s) = self.status {
            q.push(("status", enum_str(&s)));
        }
        if let Some(m) = self.mode {
            q.push(("mode", enum_str(&m)));
        }
        if let Some(w) = &self.workflow_id {
            q.push(("workflow_id", w.clone()));
        }
        if let Some(o) = &self.output_type_id {
            q.push(("output_type_id", o.clone()));
        }
        let product = self.product_id.trim();
        if !product.is_empty() {
            q.push(("product_id", product.to_owned()));
        }
        if let Some(span) = self.time.span_ms() {
            q.push(("created_from", (now_ms - span).to_string()));
        }
        q
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NodeSort {
    #[default]
    Order,
    Status,
    Duration,
}

impl StudioApp {
    pub(super) fn refresh_runs(&self) {
        let Some(c) = self.server.client.clone() else {
            return;
        };
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let filter = self.runs.filter.query(now_ms);
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

    /// The Run panel's inputs: the JSON typed under "More inputs", then the picked product
    /// and order line over it.
    fn run_inputs(&self) -> Result<Map<String, Value>, String> {
        let mut inputs = json_object(&self.runs.inputs_text, "Run inputs")?;
        if let Some(p) = &self.runs.run_product {
            inputs.insert("product_id".into(), Value::String(p.clone()));
        }
        let line = self.runs.run_order_line.trim();
        if !line.is_empty() {
            inputs.insert("order_line_id".into(), Value::String(line.to_owned()));
        } else if self.runs_order_lines() && !inputs.contains_key("order_line_id") {
            // An order_line graph needs an order line id; a trial run from the editor has none
            // stored, so it gets an ad-hoc one (UTC, as in deliverable names).
            inputs.insert("order_line_id".into(), Value::String(adhoc_order_line()));
        }
        Ok(inputs)
    }

    /// Whether what the Run panel dispatches is an order_line graph (the open workflow, or
    /// the output type picked).
    fn runs_order_lines(&self) -> bool {
        let family = match &self.runs.run_via {
            RunVia::Workflow => self.editor.as_ref().and_then(|e| e.doc.graph.family),
            RunVia::OutputType(id) => self
                .output_types
                .records
                .iter()
                .find(|o| &o.id == id)
                .map(|o| o.spec.workflow_family),
            RunVia::OrderLine => None,
        };
        family == Some(Family::OrderLine)
    }

    fn run_overrides(&self) -> Result<Map<String, Value>, String> {
        json_object(&self.runs.run_overrides, "Overrides")
    }

    pub(super) fn refresh_products(&self) {
        if let Some(c) = self.server.client.clone() {
            self.spawn(async move {
                reported("list products", c.products(), BackendEvent::Products).await
            });
        }
    }

    pub(super) fn preflight_open_workflow(&self) -> Result<(), String> {
        let c = self.server.client.clone().ok_or("Not connected")?;
        let inputs = self.run_inputs()?;
        let overrides = self.run_overrides()?;
        match self.runs.run_via.clone() {
            RunVia::Workflow => {
                let id = self.saved_workflow_id()?;
                self.spawn(async move {
                    reported(
                        "preflight",
                        c.preflight_workflow(&id, &inputs, &overrides),
                        BackendEvent::Preflight,
                    )
                    .await
                });
            }
            RunVia::OutputType(id) => self.spawn(async move {
                reported(
                    "preflight",
                    c.preflight_output_type(&id, &inputs, &overrides),
                    BackendEvent::Preflight,
                )
                .await
            }),
            RunVia::OrderLine => {
                return Err("An order line is checked when it is dispatched".into());
            }
        }
        Ok(())
    }

    fn saved_workflow_id(&self) -> Result<String, String> {
        let editor = self.editor.as_ref().ok_or("No workflow is open")?;
        if editor.doc.is_dirty() {
            return Err("Save the workflow first: runs execute the saved version".into());
        }
        editor
            .doc
            .id
            .clone()
            .ok_or_else(|| "Save the workflow before running it".into())
    }

    pub(super) fn dispatch_open_workflow(&self) -> Result<(), String> {
        let c = self.server.client.clone().ok_or("Not connected")?;
        let inputs = self.run_inputs()?;
        let overrides = self.run_overrides()?;
        match self.runs.run_via.clone() {
            RunVia::Workflow => {
                let id = self.saved_workflow_id()?;
                self.spawn(async move {
                    reported(
                        "dispatch",
                        c.dispatch_workflow(&id, &inputs, &overrides),
                        BackendEvent::Dispatched,
                    )
                    .await
                });
            }
            RunVia::OutputType(id) => self.spawn(async move {
                reported(
                    "dispatch",
                    c.dispatch_output_type(&id, &inputs, &overrides),
                    BackendEvent::Dispatched,
                )
                .await
            }),
            RunVia::OrderLine => {
                let line = self.runs.run_order_line.trim().to_owned();
                if line.is_empty() {
                    return Err("Type the order line's id to dispatch it".into());
                }
                self.spawn(async move {
                    reported(
                        "dispatch",
                        c.dispatch_order_line(&line),
                        BackendEvent::Dispatched,
                    )
                    .await
                });
            }
        }
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
        let overrides = super::compare::run_overrides(&run, &self.registry);
        if let Some(editor) = self.editor.as_mut() {
            // Show the values the run used: its overrides as undoable edits over the saved graph.
            for (node, param, saved, value) in overrides {
                let edit = crate::editor::document::Edit::SetParam {
                    node: node.clone(),
                    param: param.clone(),
                    value,
                };
                if editor.apply_edit(&edit, None, &self.registry).is_ok() {
                    editor.run_overrides.insert((node, param), saved);
                }
            }
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
                // List rows carry no nodes: the run on screen is noted from its full record
                // (RunLoaded), so a failure's notice can name the error.
                let shown = self.runs.wanted.clone();
                for run in page.runs.iter().filter(|r| Some(&r.id) != shown.as_ref()) {
                    if let Some(line) = self.runs.observe(run) {
                        self.status = line;
                    }
                }
                self.runs.runs = page.runs;
                self.runs.total = page.total;
            }
            BackendEvent::RunLoaded(run) => {
                self.runs.refreshing = false;
                if let Some(line) = self.runs.observe(&run) {
                    self.status = line;
                }
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
            BackendEvent::Products(products) => {
                if let Some(p) = &self.runs.run_product {
                    if !products.iter().any(|x| x["id"].as_str() == Some(p)) {
                        self.runs.run_product = None;
                    }
                }
                // One list serves the Run panel and the viewer's Open product menu.
                self.viewer.products = products
                    .iter()
                    .filter_map(crate::viewer::ProductSummary::from_json)
                    .collect();
                self.runs.products = products;
            }
            BackendEvent::Dispatched(run_id) => {
                self.status = format!("Run {} started", short(&run_id));
                self.runs.watched.insert(run_id.clone());
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
        if now - self.runs.last_refresh < LIVE_REFRESH {
            return;
        }
        match live {
            Some(id) if !self.runs.refreshing => {
                self.runs.last_refresh = now;
                self.load_run(id);
                self.refresh_runs();
            }
            // A run dispatched here but not on screen: the list says when it ends.
            None if !self.runs.watched.is_empty() => {
                self.runs.last_refresh = now;
                self.refresh_runs();
            }
            _ => {}
        }
    }
}

/// Notices of runs that ended, at the window's bottom right: the outcome, "Open run" and a
/// close button.
pub(super) fn run_notices_ui(ctx: &egui::Context, view: &mut RunsView, out: &mut Vec<Command>) {
    if view.notices.is_empty() {
        return;
    }
    let mut close = None;
    egui::Area::new(egui::Id::new("run_notices"))
        .anchor(egui::Align2::RIGHT_BOTTOM, egui::vec2(-12.0, -36.0))
        .order(egui::Order::Foreground)
        .show(ctx, |ui| {
            for (i, notice) in view.notices.iter().enumerate() {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    ui.set_max_width(420.0);
                    let color = match notice.status {
                        RunStatus::Failed => ERROR,
                        RunStatus::Cancelled => WARNING,
                        _ => crate::editor::style::ONLINE,
                    };
                    ui.add(egui::Label::new(RichText::new(&notice.text).color(color)).wrap());
                    ui.horizontal(|ui| {
                        if ui.link("Open run").clicked() {
                            out.push(Command::ShowView(super::MainView::Runs));
                            out.push(Command::SelectRun(notice.run_id.clone()));
                            close = Some(i);
                        }
                        if ui.small_button("Dismiss").clicked() {
                            close = Some(i);
                        }
                    });
                });
            }
        });
    if let Some(i) = close {
        view.notices.remove(i);
    }
}

/// An order line id for a trial run: `adhoc-YYYYMMDD-HHMMSS` (UTC).
pub fn adhoc_order_line() -> String {
    jiff::Timestamp::now()
        .strftime("adhoc-%Y%m%d-%H%M%S")
        .to_string()
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

pub(super) fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

pub(super) fn enum_str<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Nodes that failed on their own (not skipped because of another).
pub fn root_causes(nodes: &[NodeRun]) -> impl Iterator<Item = &NodeRun> {
    nodes.iter().filter(|n| n.status == NodeStatus::Failed)
}

/// What the runs list offers to filter by (from the server's lists).
pub struct FilterChoices<'a> {
    pub workflows: &'a [Workflow],
    pub output_types: &'a [OutputTypeRecord],
}

pub(super) fn runs_ui(
    ui: &mut Ui,
    view: &mut RunsView,
    artifacts: &mut ArtifactView,
    choices: &FilterChoices<'_>,
    now_ms: i64,
    out: &mut Vec<Command>,
) {
    egui::Panel::left("runs_list")
        .default_size(400.0)
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading("Runs");
                if ui.small_button("⟳").on_hover_text("Refresh").clicked() {
                    out.push(Command::RefreshRuns);
                }
            });
            filters_ui(ui, view, choices, out);
            ui.separator();
            run_list_ui(ui, view, choices, now_ms, out);
        });
    egui::CentralPanel::default().show(ui, |ui| {
        if let Some(mut compare) = view.compare.take() {
            super::compare::compare_ui(ui, &mut compare, artifacts, out);
            view.compare = Some(compare);
            return;
        }
        // Taken out and put back: a run with thousands of log lines is not cloned per frame.
        match view.selected.take() {
            Some(run) => {
                egui::ScrollArea::vertical()
                    .id_salt("run_detail")
                    .show(ui, |ui| {
                        run_detail_ui(ui, view, artifacts, &run, now_ms, out)
                    });
                if view.selected.is_none() {
                    view.selected = Some(run);
                }
            }
            None => {
                ui.weak("Select a run.");
            }
        }
    });
}

fn filters_ui(
    ui: &mut Ui,
    view: &mut RunsView,
    choices: &FilterChoices<'_>,
    out: &mut Vec<Command>,
) {
    let before = view.filter.clone();
    let f = &mut view.filter;
    ui.horizontal(|ui| {
        egui::ComboBox::from_id_salt("run_status_filter")
            .selected_text(f.status.map_or("any status".into(), |s| enum_str(&s)))
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut f.status, None, "any status");
                for s in [
                    RunStatus::Queued,
                    RunStatus::Running,
                    RunStatus::Succeeded,
                    RunStatus::Failed,
                    RunStatus::Cancelled,
                ] {
                    ui.selectable_value(&mut f.status, Some(s), enum_str(&s));
                }
            });
        egui::ComboBox::from_id_salt("run_mode_filter")
            .selected_text(f.mode.map_or("any mode".into(), |m| enum_str(&m)))
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut f.mode, None, "any mode");
                for m in [RunMode::Graph, RunMode::Legacy, RunMode::Shadow] {
                    ui.selectable_value(&mut f.mode, Some(m), enum_str(&m));
                }
            });
        egui::ComboBox::from_id_salt("run_time_filter")
            .selected_text(f.time.label())
            .show_ui(ui, |ui| {
                for t in TimeRange::ALL {
                    ui.selectable_value(&mut f.time, t, t.label());
                }
            });
    });
    ui.horizontal(|ui| {
        let workflow_name = |id: &str| {
            choices
                .workflows
                .iter()
                .find(|w| w.id == id)
                .map_or(short(id).to_owned(), |w| w.name.clone())
        };
        egui::ComboBox::from_id_salt("run_workflow_filter")
            .width(150.0)
            .selected_text(
                f.workflow_id
                    .as_deref()
                    .map_or("any workflow".into(), workflow_name),
            )
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut f.workflow_id, None, "any workflow");
                for w in choices.workflows {
                    ui.selectable_value(&mut f.workflow_id, Some(w.id.clone()), &w.name);
                }
            });
        let output_type_name = |id: &str| {
            choices
                .output_types
                .iter()
                .find(|o| o.id == id)
                .map_or(short(id).to_owned(), |o| o.spec.name.clone())
        };
        egui::ComboBox::from_id_salt("run_output_type_filter")
            .width(150.0)
            .selected_text(
                f.output_type_id
                    .as_deref()
                    .map_or("any output type".into(), output_type_name),
            )
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut f.output_type_id, None, "any output type");
                for o in choices.output_types {
                    ui.selectable_value(&mut f.output_type_id, Some(o.id.clone()), &o.spec.name);
                }
            });
    });
    ui.horizontal(|ui| {
        // By name, from the products the server lists; an id typed elsewhere (or a product
        // since deleted) still shows, shortened.
        let selected = if f.product_id.trim().is_empty() {
            "any product".to_owned()
        } else {
            product_name(&view.products, f.product_id.trim())
        };
        egui::ComboBox::from_id_salt("run_product_filter")
            .width(306.0)
            .selected_text(selected)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut f.product_id, String::new(), "any product");
                for p in &view.products {
                    let Some(id) = p["id"].as_str() else { continue };
                    let name = p["name"].as_str().unwrap_or(id);
                    ui.selectable_value(&mut f.product_id, id.to_owned(), name);
                }
            });
    });
    if before != view.filter {
        view.offset = 0;
        out.push(Command::RefreshRuns);
    }
}

fn run_list_ui(
    ui: &mut Ui,
    view: &mut RunsView,
    choices: &FilterChoices<'_>,
    now_ms: i64,
    out: &mut Vec<Command>,
) {
    let selected_id = view.selected.as_ref().map(|s| s.id.clone());
    egui::ScrollArea::vertical()
        .id_salt("run_list")
        .show(ui, |ui| {
            for r in &view.runs {
                let selected = selected_id.as_deref() == Some(r.id.as_str());
                let row = run_row(r, &view.products, choices, now_ms);
                ui.horizontal(|ui| {
                    crate::editor::style::dot_ui(ui, run_color(r.status));
                    let title = ui
                        .selectable_label(
                            selected,
                            RichText::new(format!("{} · {}", row.product, row.what)).strong(),
                        )
                        .on_hover_text(format!("run {}", r.id));
                    if title.clicked() {
                        out.push(Command::SelectRun(r.id.clone()));
                    }
                });
                ui.horizontal(|ui| {
                    ui.add_space(14.0);
                    ui.colored_label(run_color(r.status), enum_str(&r.status));
                    crate::local_time::time_label(ui, row.started);
                    ui.weak(&row.duration);
                    ui.weak(format!("{} · {}", enum_str(&r.mode), short(&r.id)));
                    if let Some(current) = selected_id.as_deref().filter(|c| *c != r.id) {
                        if ui
                            .small_button("compare")
                            .on_hover_text("Side by side with the selected run")
                            .clicked()
                        {
                            out.push(Command::CompareRuns {
                                left: current.to_owned(),
                                right: r.id.clone(),
                            });
                        }
                    }
                });
                ui.add_space(4.0);
            }
            ui.horizontal(|ui| {
                ui.weak(format!(
                    "{}–{} of {}",
                    (view.offset + 1).min(view.total),
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
}

/// What a runs-list row says about a run, by name rather than id.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    /// The product's name ("no product" for runs without one).
    pub product: String,
    /// The output type's name and the workflow's name (with its version), whichever it has.
    pub what: String,
    /// When it started (when it was queued, if it has not started): unix milliseconds.
    pub started: i64,
    /// How long it ran, "running 3.1 s" while it runs, "queued" before.
    pub duration: String,
}

/// A row's text: names from the server's lists, falling back to the run's own snapshot of
/// its output type, then to short ids.
pub fn run_row(
    run: &RunRecord,
    products: &[Value],
    choices: &FilterChoices<'_>,
    now_ms: i64,
) -> RunRow {
    let product = run
        .product_id
        .as_deref()
        .map_or_else(|| "no product".to_owned(), |id| product_name(products, id));
    let output_type = run.output_type_id.as_deref().map(|id| {
        choices
            .output_types
            .iter()
            .find(|o| o.id == id)
            .map(|o| o.spec.name.clone())
            .or_else(|| run.output_type.as_ref().map(|s| s.name.clone()))
            .unwrap_or_else(|| short(id).to_owned())
    });
    let workflow = run.workflow_id.as_deref().map(|id| {
        let name = choices
            .workflows
            .iter()
            .find(|w| w.id == id)
            .map_or_else(|| short(id).to_owned(), |w| w.name.clone());
        match run.workflow_version {
            Some(v) => format!("{name} v{v}"),
            None => name,
        }
    });
    let what = match (output_type, workflow) {
        (Some(o), Some(w)) => format!("{o} / {w}"),
        (Some(o), None) => format!("{o} (legacy)"),
        (None, Some(w)) => w,
        (None, None) => "no workflow".to_owned(),
    };
    let duration = match (run.started_at, run.finished_at) {
        (Some(s), Some(f)) => fmt_ms((f - s) as f64),
        (Some(s), None) if !run.status.is_final() => {
            format!("running {}", fmt_ms((now_ms - s).max(0) as f64))
        }
        (None, _) if !run.status.is_final() => "queued".to_owned(),
        _ => "—".to_owned(),
    };
    RunRow {
        product,
        what,
        started: run.started_at.unwrap_or(run.created_at),
        duration,
    }
}

/// A product's name from the server's list, else its shortened id.
fn product_name(products: &[Value], id: &str) -> String {
    products
        .iter()
        .find(|p| p["id"].as_str() == Some(id))
        .and_then(|p| p["name"].as_str())
        .map_or_else(|| short(id).to_owned(), str::to_owned)
}

pub(super) fn run_color(status: RunStatus) -> egui::Color32 {
    status_color(match status {
        RunStatus::Queued => NodeStatus::Pending,
        RunStatus::Running => NodeStatus::Running,
        RunStatus::Succeeded => NodeStatus::Succeeded,
        RunStatus::Failed => NodeStatus::Failed,
        RunStatus::Cancelled => NodeStatus::Cancelled,
    })
}

/// The editor's Run panel: dispatch inputs, preflight (every problem at once), dispatch.
/// What the run panel shows besides its own state.
pub(super) struct RunPanelContext<'a> {
    /// The open workflow is saved and unchanged (runs execute the saved version).
    pub saved: bool,
    pub workflow: Option<(&'a str, Family)>,
    pub output_types: &'a [OutputTypeRecord],
    /// Why the token may not preflight / dispatch, when it may not.
    pub preflight_refused: Option<String>,
    pub dispatch_refused: Option<String>,
}

pub(super) fn run_panel_ui(
    ui: &mut Ui,
    view: &mut RunsView,
    cx: RunPanelContext<'_>,
    out: &mut Vec<Command>,
) {
    let RunPanelContext {
        saved,
        workflow,
        output_types,
        preflight_refused,
        dispatch_refused,
    } = cx;
    ui.separator();
    ui.horizontal(|ui| {
        ui.label(RichText::new("Run").strong());
        if ui
            .small_button("⟳")
            .on_hover_text("Reload the product list")
            .clicked()
        {
            out.push(Command::RefreshProducts);
        }
    });
    via_ui(ui, view, workflow, output_types);
    product_picker_ui(ui, view, out);
    // A stored order line must be named; for a graph run a blank field means an ad-hoc id.
    let (hint, tip) = if view.run_via == RunVia::OrderLine {
        (
            "id (required)",
            "The id of a stored order line: its product, output type and overrides are used.",
        )
    } else {
        (
            "blank: adhoc-<UTC time>",
            "order_line graphs need an order line id; left blank, the run gets \
             adhoc-YYYYMMDD-HHMMSS (UTC), which also names its deliverables.",
        )
    };
    ui.horizontal(|ui| {
        ui.label("Order line").on_hover_text(tip);
        ui.add(
            egui::TextEdit::singleline(&mut view.run_order_line)
                .hint_text(hint)
                .desired_width(160.0),
        )
        .on_hover_text(tip);
    });
    ui.horizontal(|ui| {
        ui.label("Overrides");
        ui.add(
            egui::TextEdit::singleline(&mut view.run_overrides)
                .hint_text("{\"render.width\": 512}")
                .desired_width(200.0),
        );
    });
    egui::CollapsingHeader::new("More inputs (JSON)")
        .id_salt("run_more_inputs")
        .show(ui, |ui| {
            ui.add(
                egui::TextEdit::multiline(&mut view.inputs_text)
                    .hint_text("{\"product_id\": \"…\"}")
                    .desired_rows(2),
            );
        });
    let ready = saved || !matches!(view.run_via, RunVia::Workflow);
    ui.horizontal(|ui| {
        for (label, command, refused) in [
            ("Preflight", Command::Preflight, preflight_refused),
            ("Dispatch", Command::Dispatch, dispatch_refused),
        ] {
            // One reason per button: the role's refusal first (saving would not help).
            let blocked = refused.or_else(|| {
                (!ready).then(|| "Save the workflow first: runs execute the saved version".into())
            });
            if super::panels::button_unless_ui(ui, label, blocked.as_deref()) {
                out.push(command);
            }
        }
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

/// Picks the product a run works on, by name, with its processing status.
fn product_picker_ui(ui: &mut Ui, view: &mut RunsView, out: &mut Vec<Command>) {
    let label = |p: &Value| {
        format!(
            "{} · {}",
            p["name"].as_str().unwrap_or("?"),
            p["status"].as_str().unwrap_or("?")
        )
    };
    let selected = view
        .run_product
        .as_deref()
        .and_then(|id| view.products.iter().find(|p| p["id"].as_str() == Some(id)))
        .map_or_else(
            || {
                if view.products.is_empty() {
                    "no products yet".to_owned()
                } else {
                    "choose a product".to_owned()
                }
            },
            label,
        );
    ui.horizontal(|ui| {
        ui.label("Product");
        // Room for the Add product… button beside it at the panel's width.
        let add_width = 100.0;
        egui::ComboBox::from_id_salt("run_product")
            .width(
                (ui.available_width() - add_width - 2.0 * ui.spacing().item_spacing.x)
                    .clamp(80.0, 200.0),
            )
            .selected_text(selected)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut view.run_product, None, "none");
                for p in &view.products {
                    let Some(id) = p["id"].as_str() else { continue };
                    ui.selectable_value(&mut view.run_product, Some(id.to_owned()), label(p));
                }
            });
        if ui
            .small_button(Command::AddProduct.label())
            .on_hover_text("Upload a CAD file (or drop one on the window)")
            .clicked()
        {
            out.push(Command::AddProduct);
        }
    });
}

/// Chooses what a dispatch goes through; for an output type, says which path its rollout takes.
fn via_ui(
    ui: &mut Ui,
    view: &mut RunsView,
    workflow: Option<(&str, Family)>,
    output_types: &[OutputTypeRecord],
) {
    let family = workflow.map(|(_, f)| f);
    let candidates: Vec<&OutputTypeRecord> = output_types
        .iter()
        .filter(|o| family.is_none_or(|f| o.spec.workflow_family == f))
        .collect();
    let name_of = |id: &str| {
        output_types
            .iter()
            .find(|o| o.id == id)
            .map_or_else(|| short(id).to_owned(), |o| o.spec.name.clone())
    };
    let selected = match &view.run_via {
        RunVia::Workflow => "this workflow".to_owned(),
        RunVia::OutputType(id) => format!("output type {}", name_of(id)),
        RunVia::OrderLine => "an order line".to_owned(),
    };
    ui.horizontal(|ui| {
        ui.label("Through");
        egui::ComboBox::from_id_salt("run_via")
            .width(200.0)
            .selected_text(selected)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut view.run_via, RunVia::Workflow, "this workflow");
                for o in &candidates {
                    let uses_this =
                        workflow.is_some_and(|(id, _)| o.spec.workflow_id.as_deref() == Some(id));
                    let label = format!(
                        "output type {} · {}{}",
                        o.spec.name,
                        o.spec.rollout.as_str(),
                        if uses_this {
                            " · uses this workflow"
                        } else {
                            ""
                        }
                    );
                    ui.selectable_value(&mut view.run_via, RunVia::OutputType(o.id.clone()), label);
                }
                ui.selectable_value(&mut view.run_via, RunVia::OrderLine, "an order line");
            });
    });
    if let RunVia::OutputType(id) = &view.run_via {
        if let Some(o) = output_types.iter().find(|o| &o.id == id) {
            let path = match o.spec.rollout {
                Rollout::Legacy => "the legacy pipeline runs; no graph runs".to_owned(),
                Rollout::Shadow => {
                    "legacy is authoritative; the graph runs beside it and is compared".to_owned()
                }
                Rollout::Graph if o.spec.fallback_to_legacy => {
                    "the graph is authoritative; legacy runs if it fails".to_owned()
                }
                Rollout::Graph => "the graph is authoritative".to_owned(),
            };
            ui.colored_label(
                WARNING,
                format!("Rollout {}: {path}", o.spec.rollout.as_str()),
            );
        }
    }
    if view.run_via == RunVia::OrderLine {
        ui.weak(
            "Dispatches the stored order line with its own product, output type and overrides.",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::{run_row, FilterChoices};
    use serde_json::{json, Value};
    use workflow_wire::RunRecord;

    fn run(extra: Value) -> RunRecord {
        let mut v = json!({
            "id": "0123456789abcdef", "mode": "graph", "trigger": "api", "status": "succeeded",
            "inputs": {}, "overrides": {}, "authoritative": true, "created_at": 1_000,
        });
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        serde_json::from_value(v).expect("a run record")
    }

    #[test]
    fn rows_name_the_product_and_fall_back_to_short_ids() {
        let products = [json!({"id": "prod-1", "name": "Flange DN50"})];
        let none = FilterChoices {
            workflows: &[],
            output_types: &[],
        };
        let done = run(json!({
            "product_id": "prod-1", "workflow_id": "wf0123456789", "workflow_version": 3,
            "started_at": 2_000, "finished_at": 3_500,
        }));
        let row = run_row(&done, &products, &none, 10_000);
        assert_eq!(row.product, "Flange DN50");
        assert_eq!(row.what, "wf012345 v3");
        assert_eq!(row.started, 2_000);
        assert_eq!(row.duration, "1.50 s");

        let legacy = run(json!({
            "status": "running", "product_id": "unknown-product", "output_type_id": "ot0123456789",
            "started_at": 2_000,
        }));
        let row = run_row(&legacy, &products, &none, 2_250);
        assert_eq!(row.product, "unknown-");
        assert_eq!(row.what, "ot012345 (legacy)");
        assert_eq!(row.duration, "running 250 ms");

        let queued = run(json!({"status": "queued"}));
        let row = run_row(&queued, &products, &none, 2_000);
        assert_eq!(
            (row.product.as_str(), row.what.as_str(), row.started),
            ("no product", "no workflow", 1_000)
        );
        assert_eq!(row.duration, "queued");
    }
}
