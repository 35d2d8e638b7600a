//! The rollout dashboard: every output type with its rollout state (`legacy` → `shadow` →
//! `graph`), the shadow pass rate and latest verdicts, the readiness checks the server
//! evaluates, promote / roll back / force buttons, and the change history. Clicking a shadow
//! comparison opens the two runs side by side in the compare view.
//!
//! Buttons stay enabled until the server says otherwise: a 403 disables that kind of action
//! with the server's reason as its explanation (the app does not guess roles).

use super::StudioApp;
use crate::backend::client::ClientError;
use crate::backend::{reported, BackendEvent};
use crate::command::Command;
use crate::local_time;
use egui::{Color32, RichText, Ui};
use std::collections::BTreeMap;
use workflow_contracts::output_type::Rollout;
use workflow_wire::{RolloutChange, RolloutSummary, ShadowOutcome, Verdict};

/// What a rollout request asks for, as far as permissions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RolloutAction {
    /// legacy → shadow.
    Shadow,
    /// → graph, readiness permitting.
    Promote,
    /// → graph past failing checks (admin, with a reason).
    Force,
    /// → legacy (or graph → shadow).
    Rollback,
}

impl RolloutAction {
    fn of(from: Option<Rollout>, target: Rollout, force: bool) -> Self {
        match (target, force) {
            (Rollout::Graph, true) => RolloutAction::Force,
            (Rollout::Graph, false) => RolloutAction::Promote,
            (Rollout::Shadow, _) if from == Some(Rollout::Legacy) => RolloutAction::Shadow,
            _ => RolloutAction::Rollback,
        }
    }
}

/// What the background tasks of the dashboard report.
#[derive(Debug)]
pub enum RolloutEvent {
    Dashboard(Vec<RolloutSummary>),
    History {
        output_type: String,
        history: Vec<RolloutChange>,
    },
    Changed {
        output_type: String,
        change: Box<RolloutChange>,
    },
    Refused {
        output_type: String,
        action: RolloutAction,
        /// 403: the action is disabled from now on with `message` as the reason.
        forbidden: bool,
        message: String,
        failed_checks: Vec<String>,
    },
    Failed(String),
}

#[derive(Default)]
pub struct RolloutView {
    pub rows: Vec<RolloutSummary>,
    pub loaded: bool,
    pub selected: Option<String>,
    /// The reason typed for the next change, per output type.
    pub reason: BTreeMap<String, String>,
    /// Loaded change histories, per output type.
    pub history: BTreeMap<String, Vec<RolloutChange>>,
    /// Actions the server refused with 403, and its reason.
    pub forbidden: BTreeMap<RolloutAction, String>,
    /// The last outcome worth showing (a change made, a refusal).
    pub message: Option<String>,
    /// The output type with a change in flight.
    pub busy: Option<String>,
}

impl RolloutView {
    pub fn row(&self, id: &str) -> Option<&RolloutSummary> {
        self.rows.iter().find(|r| r.output_type.id == id)
    }
}

impl StudioApp {
    pub(super) fn refresh_rollout(&self) {
        if let Some(c) = self.server.client.clone() {
            self.spawn(async move {
                reported(
                    "load the rollout dashboard",
                    c.rollout_dashboard(),
                    |rows| BackendEvent::Rollout(RolloutEvent::Dashboard(rows)),
                )
                .await
            });
        }
    }

    fn load_rollout_history(&self, id: String) {
        if let Some(c) = self.server.client.clone() {
            self.spawn(async move {
                match c.rollout_history(&id).await {
                    Ok(history) => BackendEvent::Rollout(RolloutEvent::History {
                        output_type: id,
                        history,
                    }),
                    Err(e) => BackendEvent::Rollout(RolloutEvent::Failed(e.to_string())),
                }
            });
        }
    }

    pub(super) fn apply_rollout(&mut self, command: Command) -> Result<(), String> {
        match command {
            Command::RefreshRollout => self.refresh_rollout(),
            Command::LoadRolloutHistory(id) => self.load_rollout_history(id),
            Command::ChangeRollout {
                output_type,
                target,
                force,
            } => {
                let c = self.server.client.clone().ok_or("No server")?;
                let from = self
                    .rollout
                    .row(&output_type)
                    .map(|r| r.output_type.spec.rollout);
                let action = RolloutAction::of(from, target, force);
                let reason = self
                    .rollout
                    .reason
                    .get(&output_type)
                    .map(|r| r.trim().to_owned())
                    .filter(|r| !r.is_empty());
                self.rollout.busy = Some(output_type.clone());
                self.rollout.message = None;
                self.spawn(async move {
                    let event = match c
                        .change_rollout(&output_type, target, reason.as_deref(), force)
                        .await
                    {
                        Ok(change) => RolloutEvent::Changed {
                            output_type,
                            change: Box::new(change),
                        },
                        Err(ClientError::Forbidden(message)) => RolloutEvent::Refused {
                            output_type,
                            action,
                            forbidden: true,
                            message,
                            failed_checks: Vec::new(),
                        },
                        Err(ClientError::Rejected {
                            message, details, ..
                        }) => RolloutEvent::Refused {
                            output_type,
                            action,
                            forbidden: false,
                            message,
                            failed_checks: serde_json::from_value(details["failed_checks"].clone())
                                .unwrap_or_default(),
                        },
                        Err(e) => RolloutEvent::Refused {
                            output_type,
                            action,
                            forbidden: false,
                            message: e.to_string(),
                            failed_checks: Vec::new(),
                        },
                    };
                    BackendEvent::Rollout(event)
                });
            }
            _ => {}
        }
        Ok(())
    }

    pub(super) fn on_rollout_event(&mut self, event: RolloutEvent) {
        let view = &mut self.rollout;
        match event {
            RolloutEvent::Dashboard(rows) => {
                view.rows = rows;
                view.loaded = true;
                if view.selected.as_ref().is_none_or(|s| view.row(s).is_none()) {
                    // The first output type the graph runs for (or any), to start with.
                    view.selected = view
                        .rows
                        .iter()
                        .find(|r| r.output_type.spec.rollout != Rollout::Legacy)
                        .or(view.rows.first())
                        .map(|r| r.output_type.id.clone());
                }
            }
            RolloutEvent::History {
                output_type,
                history,
            } => {
                view.history.insert(output_type, history);
            }
            RolloutEvent::Changed {
                output_type,
                change,
            } => {
                view.busy = None;
                view.reason.remove(&output_type);
                let name = view
                    .row(&output_type)
                    .map(|r| r.output_type.spec.name.clone())
                    .unwrap_or_default();
                view.message = Some(format!(
                    "\"{name}\" is now in {}{}",
                    change.to,
                    if change.forced { " (forced)" } else { "" }
                ));
                let reload_history = view.history.contains_key(&output_type);
                self.refresh_rollout();
                if reload_history {
                    self.load_rollout_history(output_type);
                }
            }
            RolloutEvent::Refused {
                output_type: _,
                action,
                forbidden,
                message,
                failed_checks,
            } => {
                view.busy = None;
                if forbidden {
                    view.forbidden.insert(action, message.clone());
                }
                view.message = Some(if failed_checks.is_empty() {
                    format!("Refused: {message}")
                } else {
                    format!(
                        "Refused: {message} (failed checks: {})",
                        failed_checks.join(", ")
                    )
                });
            }
            RolloutEvent::Failed(message) => {
                view.busy = None;
                view.message = Some(message);
            }
        }
    }
}

fn state_color(rollout: Rollout) -> Color32 {
    match rollout {
        Rollout::Legacy => Color32::from_rgb(120, 120, 120),
        Rollout::Shadow => Color32::from_rgb(200, 140, 20),
        Rollout::Graph => Color32::from_rgb(40, 140, 60),
    }
}

fn verdict_color(verdict: Verdict) -> Color32 {
    match verdict {
        Verdict::Pass => Color32::from_rgb(40, 140, 60),
        Verdict::Warn => Color32::from_rgb(220, 120, 20),
        Verdict::Fail => Color32::from_rgb(200, 40, 40),
    }
}

/// The label of a comparison's button (unique per shadow run).
pub fn comparison_label(o: &ShadowOutcome) -> String {
    let short: String = o.shadow_run_id.chars().take(8).collect();
    format!("{} · shadow {short}", o.verdict)
}

fn pass_rate_text(row: &RolloutSummary) -> String {
    let r = &row.readiness;
    match r.pass_rate {
        Some(rate) => format!(
            "{:.0} % of {} ({} pass, {} warn, {} fail)",
            rate * 100.0,
            r.shadow_runs,
            r.passed,
            r.warned,
            r.failed
        ),
        None => "no shadow comparisons yet".into(),
    }
}

fn who(change: &RolloutChange) -> String {
    let a = &change.actor;
    if let Some(system) = a["system"].as_str() {
        return format!("server ({system})");
    }
    let role = a["role"].as_str().unwrap_or("?");
    match a["label"].as_str().filter(|l| !l.is_empty()) {
        Some(label) => format!("{label} ({role})"),
        None => format!("{role} token {}", a["token"].as_str().unwrap_or("")),
    }
}

/// The dashboard: the table of output types on the left, the selected one on the right.
/// `refused`: why the token may not change rollouts at all, when it may not.
pub(super) fn rollout_ui(
    ui: &mut Ui,
    view: &mut RolloutView,
    refused: Option<String>,
    out: &mut Vec<Command>,
) {
    ui.horizontal(|ui| {
        ui.heading("Rollout");
        if ui.button("Refresh rollout").clicked() {
            out.push(Command::RefreshRollout);
        }
        if let Some(message) = &view.message {
            ui.label(message);
        }
    });
    if !view.loaded {
        ui.label("Loading…");
        return;
    }
    egui::Panel::left("rollout_table")
        .default_size(520.0)
        .show(ui, |ui| table_ui(ui, view, out));
    egui::CentralPanel::default().show(ui, |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| detail_ui(ui, view, refused.as_deref(), out));
    });
}

fn table_ui(ui: &mut Ui, view: &mut RolloutView, out: &mut Vec<Command>) {
    egui::ScrollArea::vertical().show(ui, |ui| {
        egui::Grid::new("rollout_grid")
            .striped(true)
            .num_columns(4)
            .show(ui, |ui| {
                for h in [
                    "output type",
                    "state",
                    "shadow pass rate",
                    "latest verdicts",
                ] {
                    ui.strong(h);
                }
                ui.end_row();
                let mut select = None;
                for row in &view.rows {
                    let id = &row.output_type.id;
                    let chosen = view.selected.as_deref() == Some(id.as_str());
                    if ui
                        .selectable_label(chosen, &row.output_type.spec.name)
                        .clicked()
                    {
                        select = Some(id.clone());
                    }
                    let state = row.output_type.spec.rollout;
                    ui.label(
                        RichText::new(state.as_str())
                            .color(state_color(state))
                            .strong(),
                    );
                    ui.label(pass_rate_text(row));
                    ui.horizontal(|ui| {
                        for o in row.readiness.recent.iter().take(5) {
                            let chip = ui
                                .add(
                                    egui::Label::new(
                                        RichText::new("●").color(verdict_color(o.verdict)),
                                    )
                                    .sense(egui::Sense::click()),
                                )
                                .on_hover_text(format!(
                                    "{}: legacy {} vs shadow {}",
                                    o.verdict, o.legacy_run_id, o.shadow_run_id
                                ));
                            if chip.clicked() {
                                compare(o, out);
                            }
                        }
                    });
                    ui.end_row();
                }
                if let Some(id) = select {
                    view.selected = Some(id);
                }
            });
    });
}

/// Opens a comparison's legacy and shadow runs side by side in the runs view.
fn compare(o: &ShadowOutcome, out: &mut Vec<Command>) {
    out.push(Command::ShowView(super::MainView::Runs));
    out.push(Command::CompareRuns {
        left: o.legacy_run_id.clone(),
        right: o.shadow_run_id.clone(),
    });
}

/// A change button: disabled (with the reason on hover and beside it) while `blocked`.
fn action_button(ui: &mut Ui, label: &str, blocked: Option<String>, busy: bool) -> bool {
    if busy && blocked.is_none() {
        ui.add_enabled(false, egui::Button::new(label));
        return false;
    }
    let clicked = super::panels::button_unless_ui(ui, label, blocked.as_deref());
    if let Some(reason) = blocked {
        ui.label(RichText::new(format!("({reason})")).small().weak());
    }
    clicked
}

fn detail_ui(ui: &mut Ui, view: &mut RolloutView, refused: Option<&str>, out: &mut Vec<Command>) {
    let Some(id) = view.selected.clone() else {
        ui.label("No output types.");
        return;
    };
    let Some(row) = view.row(&id).cloned() else {
        return;
    };
    let spec = &row.output_type.spec;
    let r = &row.readiness;
    ui.horizontal(|ui| {
        ui.heading(&spec.name);
        ui.label(
            RichText::new(spec.rollout.as_str())
                .color(state_color(spec.rollout))
                .strong(),
        );
    });
    ui.label(format!(
        "{} · {} · {} · fallback to legacy: {}",
        spec.workflow_family,
        spec.artifact_kind,
        if spec.workflow_id.is_some() {
            "has a workflow"
        } else {
            "no workflow"
        },
        if spec.fallback_to_legacy { "on" } else { "off" }
    ));
    ui.label(format!("Shadow pass rate: {}", pass_rate_text(&row)));
    ui.separator();
    ui.strong(if r.ready {
        "Ready for graph".to_owned()
    } else {
        format!("Not ready for graph: {}", r.failed_checks.join(", "))
    });
    for check in &r.checks {
        let (mark, color) = if check.ok {
            ("✔", Color32::from_rgb(40, 140, 60))
        } else {
            ("✘", Color32::from_rgb(200, 40, 40))
        };
        ui.horizontal(|ui| {
            ui.label(RichText::new(mark).color(color));
            ui.label(format!("{}: {}", check.code, check.message));
        });
    }
    ui.label(
        RichText::new(format!(
            "Policy: ≥ {} comparisons in {} min, pass rate ≥ {:.0} %, no fail in the last {}; automatic rollback after {} fallbacks in {} min",
            r.policy.min_shadow_runs,
            r.policy.window_minutes,
            r.policy.min_pass_rate * 100.0,
            r.policy.no_fail_in_last,
            r.policy.auto_rollback_fallbacks,
            r.policy.auto_rollback_window_minutes
        ))
        .small()
        .weak(),
    );
    ui.separator();
    ui.strong("Shadow comparisons (newest first; click to compare the runs)");
    if r.recent.is_empty() {
        ui.label("none yet");
    }
    for o in r.recent.iter().take(10) {
        ui.horizontal(|ui| {
            let text = RichText::new(comparison_label(o)).color(verdict_color(o.verdict));
            if ui
                .button(text)
                .on_hover_text("Open legacy and shadow side by side")
                .clicked()
            {
                compare(o, out);
            }
            local_time::time_label(ui, o.at);
            if let Some(node) = &o.attributed_node {
                ui.label(format!("first differing node: {node}"));
            }
        });
    }
    ui.separator();
    ui.horizontal(|ui| {
        ui.label("Reason");
        let reason = view.reason.entry(id.clone()).or_default();
        ui.add(egui::TextEdit::singleline(reason).hint_text("why (required to force)"));
    });
    let busy = view.busy.as_deref() == Some(id.as_str());
    // The role's refusal (from GET /api/me) first, then what a 403 taught about one action.
    let forbidden = |a: RolloutAction| {
        refused
            .map(str::to_owned)
            .or_else(|| view.forbidden.get(&a).cloned())
    };
    let change = |target: Rollout, force: bool| Command::ChangeRollout {
        output_type: id.clone(),
        target,
        force,
    };
    ui.horizontal_wrapped(|ui| {
        if spec.rollout == Rollout::Legacy
            && action_button(ui, "Put in shadow", forbidden(RolloutAction::Shadow), busy)
        {
            out.push(change(Rollout::Shadow, false));
        }
        if spec.rollout != Rollout::Graph {
            let blocked = forbidden(RolloutAction::Promote).or_else(|| {
                (!r.ready).then(|| format!("readiness checks fail: {}", r.failed_checks.join(", ")))
            });
            if action_button(ui, "Promote to graph", blocked, busy) {
                out.push(change(Rollout::Graph, false));
            }
            if !r.ready
                && action_button(ui, "Force promotion", forbidden(RolloutAction::Force), busy)
            {
                out.push(change(Rollout::Graph, true));
            }
        }
        if spec.rollout == Rollout::Graph
            && action_button(
                ui,
                "Back to shadow",
                forbidden(RolloutAction::Rollback),
                busy,
            )
        {
            out.push(change(Rollout::Shadow, false));
        }
        if spec.rollout != Rollout::Legacy
            && action_button(
                ui,
                "Roll back to legacy",
                forbidden(RolloutAction::Rollback),
                busy,
            )
        {
            out.push(change(Rollout::Legacy, false));
        }
    });
    ui.separator();
    ui.horizontal(|ui| {
        ui.strong("History");
        if ui.button("Load history").clicked() {
            out.push(Command::LoadRolloutHistory(id.clone()));
        }
    });
    match view.history.get(&id) {
        None => {
            if let Some(last) = &row.last_change {
                ui.label(format!("Latest: {}", history_line(last)))
                    .on_hover_text(local_time::zone_note(last.created_at));
            }
        }
        Some(history) => {
            for change in history {
                ui.label(history_line(change))
                    .on_hover_text(local_time::zone_note(change.created_at));
            }
        }
    }
}

/// One change as a line: when (local time), who, from → to, flags, reason.
pub fn history_line(change: &RolloutChange) -> String {
    let from = change
        .from
        .map(|f| f.as_str().to_owned())
        .unwrap_or_else(|| "created".into());
    let mut line = format!(
        "{} · {} · {from} → {}",
        local_time::minute(change.created_at),
        who(change),
        change.to
    );
    if change.forced {
        line.push_str(" · forced");
    }
    if change.automatic {
        line.push_str(" · automatic");
    }
    if let Some(reason) = &change.reason {
        line.push_str(&format!(" · {reason}"));
    }
    line
}
