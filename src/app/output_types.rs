//! Output types as invocation profiles, edited workflow-first: family → workflow (only
//! compatible ones) → artifact kind (only kinds the workflow produces) → overrides generated
//! from the target nodes' parameter schemas → rollout. The server's 422 problems show on the
//! fields they name.

use super::StudioApp;
use crate::backend::client::ClientError;
use crate::backend::{reported, BackendEvent};
use crate::command::Command;
use crate::editor::param_widget::param_value_ui;
use crate::editor::style::ERROR;
use egui::{RichText, Ui};
use serde_json::{Map, Value};
use workflow_contracts::output_type::{
    kinds_in_family, kinds_produced_by, ArtifactKind, OutputTypeProblem, OutputTypeSpec, Rollout,
};
use workflow_contracts::{Family, Registry};
use workflow_wire::{OutputTypeRecord, Workflow};

/// The form being edited: a new output type (`id` None) or an existing one.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputTypeForm {
    pub id: Option<String>,
    pub version: Option<i64>,
    pub spec: OutputTypeSpec,
    pub legacy_text: String,
    pub legacy_error: Option<String>,
}

impl OutputTypeForm {
    fn new_for(family: Family) -> Self {
        let spec = OutputTypeSpec {
            name: String::new(),
            workflow_family: family,
            artifact_kind: match family {
                Family::CadFile => ArtifactKind::PreviewGlb,
                Family::OrderLine => ArtifactKind::Still,
            },
            workflow_id: None,
            invocation_overrides: Map::new(),
            legacy_settings: Value::Object(Map::new()),
            rollout: Rollout::Legacy,
            fallback_to_legacy: false,
        };
        OutputTypeForm {
            id: None,
            version: None,
            legacy_text: pretty(&spec.legacy_settings),
            spec,
            legacy_error: None,
        }
    }

    fn of(record: &OutputTypeRecord) -> Self {
        OutputTypeForm {
            id: Some(record.id.clone()),
            version: Some(record.version),
            legacy_text: pretty(&record.spec.legacy_settings),
            spec: record.spec.clone(),
            legacy_error: None,
        }
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

#[derive(Default)]
pub struct OutputTypesView {
    pub records: Vec<OutputTypeRecord>,
    pub form: Option<OutputTypeForm>,
    pub problems: Vec<OutputTypeProblem>,
    pub message: Option<String>,
}

impl StudioApp {
    pub(super) fn refresh_output_types(&self) {
        if let Some(c) = self.server.client.clone() {
            self.spawn(async move {
                reported(
                    "list output types",
                    c.output_types(),
                    BackendEvent::OutputTypes,
                )
                .await
            });
        }
    }

    pub(super) fn new_output_type(&mut self) {
        self.output_types.form = Some(OutputTypeForm::new_for(Family::OrderLine));
        self.output_types.problems.clear();
        self.output_types.message = None;
    }

    pub(super) fn select_output_type(&mut self, id: &str) {
        if let Some(record) = self.output_types.records.iter().find(|r| r.id == id) {
            self.output_types.form = Some(OutputTypeForm::of(record));
            self.output_types.problems.clear();
            self.output_types.message = None;
        }
    }

    pub(super) fn save_output_type(&mut self) -> Result<(), String> {
        let c = self.server.client.clone().ok_or("No server to save to")?;
        let form = self
            .output_types
            .form
            .clone()
            .ok_or("No output type is open")?;
        if let Some(err) = &form.legacy_error {
            return Err(format!("Legacy settings: {err}"));
        }
        self.spawn(async move {
            let result = match (&form.id, form.version) {
                (Some(id), Some(version)) => c.update_output_type(id, version, &form.spec).await,
                _ => c.create_output_type(&form.spec).await,
            };
            match result {
                Ok(record) => BackendEvent::OutputTypeSaved(record),
                Err(ClientError::Rejected { message, details, .. }) => BackendEvent::OutputTypeRejected {
                    message,
                    problems: serde_json::from_value(details["errors"].clone()).unwrap_or_default(),
                },
                Err(ClientError::Conflict { version, .. }) => BackendEvent::OutputTypeRejected {
                    message: format!(
                        "Someone saved this output type meanwhile (now version {version}); reopen it to see their changes"
                    ),
                    problems: Vec::new(),
                },
                Err(err) => BackendEvent::OutputTypeRejected { message: err.to_string(), problems: Vec::new() },
            }
        });
        Ok(())
    }

    pub(super) fn delete_output_type(&mut self) -> Result<(), String> {
        let c = self.server.client.clone().ok_or("No server")?;
        let form = self
            .output_types
            .form
            .as_ref()
            .ok_or("No output type is open")?;
        let (Some(id), Some(version)) = (form.id.clone(), form.version) else {
            self.output_types.form = None;
            return Ok(());
        };
        self.spawn(async move {
            reported(
                "delete output type",
                c.delete_output_type(&id, version),
                |()| BackendEvent::OutputTypeDeleted(id.clone()),
            )
            .await
        });
        Ok(())
    }

    pub(super) fn on_output_type_event(&mut self, event: BackendEvent) {
        let view = &mut self.output_types;
        match event {
            BackendEvent::OutputTypes(records) => view.records = records,
            BackendEvent::OutputTypeSaved(record) => {
                view.message = Some(format!(
                    "Saved \"{}\" as version {}",
                    record.spec.name, record.version
                ));
                view.problems.clear();
                view.form = Some(OutputTypeForm::of(&record));
                self.refresh_output_types();
            }
            BackendEvent::OutputTypeRejected { message, problems } => {
                view.message = Some(format!("Not saved: {message}"));
                view.problems = problems;
            }
            BackendEvent::OutputTypeDeleted(id) => {
                view.records.retain(|r| r.id != id);
                view.form = None;
                view.message = Some("Output type deleted".into());
            }
            _ => {}
        }
    }
}

/// The output-type table and, beside it, the form of the selected one.
/// `edit_refused`: why the token may not edit output types, when it may not.
pub(super) fn output_types_ui(
    ui: &mut Ui,
    view: &mut OutputTypesView,
    workflows: &[Workflow],
    registry: &Registry,
    edit_refused: Option<String>,
    out: &mut Vec<Command>,
) {
    egui::Panel::left("output_type_table")
        .default_size(420.0)
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading("Output types");
                if ui.button("New output type").clicked() {
                    out.push(Command::NewOutputType);
                }
                if ui.small_button("⟳").on_hover_text("Refresh").clicked() {
                    out.push(Command::RefreshOutputTypes);
                }
            });
            egui::Grid::new("output_types")
                .striped(true)
                .num_columns(4)
                .show(ui, |ui| {
                    for h in ["name", "family · kind", "workflow", "rollout"] {
                        ui.label(RichText::new(h).strong());
                    }
                    ui.end_row();
                    for r in &view.records {
                        let selected =
                            view.form.as_ref().and_then(|f| f.id.as_deref()) == Some(r.id.as_str());
                        if ui.selectable_label(selected, &r.spec.name).clicked() {
                            out.push(Command::SelectOutputType(r.id.clone()));
                        }
                        ui.label(format!(
                            "{} · {}",
                            r.spec.workflow_family, r.spec.artifact_kind
                        ));
                        let wf = r
                            .spec
                            .workflow_id
                            .as_ref()
                            .map(|id| {
                                workflows
                                    .iter()
                                    .find(|w| w.id == *id)
                                    .map_or(id.clone(), |w| w.name.clone())
                            })
                            .unwrap_or_else(|| "—".into());
                        ui.label(wf);
                        ui.label(r.spec.rollout.as_str());
                        ui.end_row();
                    }
                });
        });
    egui::CentralPanel::default().show(ui, |ui| {
        if let Some(message) = &view.message {
            ui.label(message);
        }
        let problems = view.problems.clone();
        match view.form.as_mut() {
            Some(form) => {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    form_ui(
                        ui,
                        form,
                        &problems,
                        workflows,
                        registry,
                        edit_refused.as_deref(),
                        out,
                    )
                });
            }
            None => {
                ui.weak("Select an output type, or create one.");
            }
        }
    });
}

fn field_problems_ui(ui: &mut Ui, problems: &[OutputTypeProblem], field: &str) {
    for p in problems.iter().filter(|p| p.field == field) {
        ui.colored_label(ERROR, &p.message);
    }
}

fn form_ui(
    ui: &mut Ui,
    form: &mut OutputTypeForm,
    problems: &[OutputTypeProblem],
    workflows: &[Workflow],
    registry: &Registry,
    edit_refused: Option<&str>,
    out: &mut Vec<Command>,
) {
    let spec = &mut form.spec;
    ui.heading(if form.id.is_some() {
        "Edit output type"
    } else {
        "New output type"
    });
    ui.label(RichText::new("1 · Name").strong());
    ui.text_edit_singleline(&mut spec.name);
    field_problems_ui(ui, problems, "name");

    ui.label(RichText::new("2 · Family").strong());
    let before = spec.workflow_family;
    ui.horizontal(|ui| {
        for f in Family::ALL {
            ui.radio_value(&mut spec.workflow_family, f, f.as_str());
        }
    });
    if spec.workflow_family != before {
        // A workflow of the other family no longer fits; neither do its overrides.
        spec.workflow_id = None;
        spec.invocation_overrides.clear();
    }

    ui.label(RichText::new("3 · Workflow").strong());
    let compatible: Vec<&Workflow> = workflows
        .iter()
        .filter(|w| w.family == Some(spec.workflow_family))
        .collect();
    let current = spec
        .workflow_id
        .as_ref()
        .and_then(|id| workflows.iter().find(|w| w.id == *id))
        .map_or("none — legacy pipeline only".to_owned(), |w| {
            w.name.clone()
        });
    egui::ComboBox::from_id_salt("ot_workflow")
        .selected_text(current)
        .show_ui(ui, |ui| {
            if ui
                .selectable_label(spec.workflow_id.is_none(), "none — legacy pipeline only")
                .clicked()
            {
                spec.workflow_id = None;
                spec.invocation_overrides.clear();
            }
            for w in &compatible {
                if ui
                    .selectable_label(spec.workflow_id.as_deref() == Some(&w.id), &w.name)
                    .clicked()
                {
                    spec.workflow_id = Some(w.id.clone());
                    spec.invocation_overrides.clear();
                }
            }
        });
    field_problems_ui(ui, problems, "workflow_id");
    let workflow = spec
        .workflow_id
        .as_ref()
        .and_then(|id| workflows.iter().find(|w| w.id == *id));
    if let Some(w) = workflow {
        if ui.small_button("Open workflow").clicked() {
            out.push(Command::OpenWorkflow(w.id.clone()));
        }
    }

    ui.label(RichText::new("4 · Artifact kind").strong());
    let kinds = match workflow {
        Some(w) => kinds_produced_by(&w.graph, registry),
        None => kinds_in_family(spec.workflow_family, registry),
    };
    if !kinds.contains(&spec.artifact_kind) {
        if let Some(first) = kinds.first() {
            spec.artifact_kind = *first;
        }
    }
    ui.horizontal(|ui| {
        for k in &kinds {
            ui.radio_value(&mut spec.artifact_kind, *k, k.as_str());
        }
    });
    field_problems_ui(ui, problems, "artifact_kind");
    if spec.artifact_kind == ArtifactKind::SceneExport {
        legacy_scene_format_ui(ui, form, registry);
    }
    let spec = &mut form.spec;

    ui.label(RichText::new("5 · Invocation overrides").strong());
    overrides_ui(ui, spec, workflow, registry, problems);

    ui.label(RichText::new("6 · Rollout").strong());
    ui.horizontal(|ui| {
        for r in [Rollout::Legacy, Rollout::Shadow, Rollout::Graph] {
            let enabled = !r.needs_workflow() || workflow.is_some();
            ui.add_enabled_ui(enabled, |ui| {
                ui.radio_value(&mut spec.rollout, r, r.as_str())
            })
            .response
            .on_disabled_hover_text("needs a workflow");
        }
    });
    ui.add_enabled(
        spec.rollout == Rollout::Graph,
        egui::Checkbox::new(
            &mut spec.fallback_to_legacy,
            "Fall back to legacy when the graph fails",
        ),
    );
    field_problems_ui(ui, problems, "rollout");

    ui.collapsing("Legacy settings (renderer preset)", |ui| {
        if ui.code_editor(&mut form.legacy_text).changed() {
            match serde_json::from_str::<Value>(&form.legacy_text) {
                Ok(v) => {
                    form.spec.legacy_settings = v;
                    form.legacy_error = None;
                }
                Err(e) => {
                    form.legacy_error =
                        Some(format!("line {}, column {}: {e}", e.line(), e.column()))
                }
            }
        }
        if let Some(err) = &form.legacy_error {
            ui.colored_label(ERROR, err);
        }
        field_problems_ui(ui, problems, "legacy_settings");
    });
    ui.separator();
    ui.horizontal(|ui| {
        let save_label = if form.id.is_some() { "Save" } else { "Create" };
        for (label, command) in [
            (save_label, Command::SaveOutputType),
            ("Delete", Command::DeleteOutputType),
        ] {
            if super::panels::button_unless_ui(ui, label, edit_refused) {
                out.push(command);
            }
        }
    });
}

/// The file format the legacy pipeline's scene export writes (`legacy_settings.format`),
/// offered from `export.scene`'s `format` choices in the served catalog (glb, gltf, blend,
/// usd, …), so a format the server adds shows up here without an app change. A graph's
/// format is its node's parameter (or an invocation override above).
fn legacy_scene_format_ui(ui: &mut Ui, form: &mut OutputTypeForm, registry: &Registry) {
    let Some(param) = registry.get("export.scene").and_then(|d| d.param("format")) else {
        return;
    };
    let current = form
        .spec
        .legacy_settings
        .get("format")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let shown = current
        .clone()
        .or_else(|| param.default.as_str().map(|d| format!("{d} (default)")))
        .unwrap_or_default();
    let mut chosen = None;
    egui::ComboBox::from_label("Scene format (legacy pipeline)")
        .selected_text(shown)
        .show_ui(ui, |ui| {
            for option in &param.options {
                if ui
                    .selectable_label(current.as_deref() == Some(option.as_str()), option)
                    .clicked()
                {
                    chosen = Some(option.clone());
                }
            }
        })
        .response
        .on_hover_text(&param.description);
    if let Some(format) = chosen {
        if !form.spec.legacy_settings.is_object() {
            form.spec.legacy_settings = Value::Object(Map::new());
        }
        form.spec.legacy_settings["format"] = Value::String(format);
        form.legacy_text = pretty(&form.spec.legacy_settings);
        form.legacy_error = None;
    }
}

/// One row per parameter of the target nodes: a checkbox turns the override on, the widget
/// comes from the parameter's schema. Keys are `<node id>.<param>` with a workflow and
/// `<node type>.<param>` without one.
fn overrides_ui(
    ui: &mut Ui,
    spec: &mut OutputTypeSpec,
    workflow: Option<&Workflow>,
    registry: &Registry,
    problems: &[OutputTypeProblem],
) {
    let targets: Vec<(String, String, Map<String, Value>)> = match workflow {
        Some(w) => w
            .graph
            .nodes
            .iter()
            .map(|n| (n.id.clone(), n.node_type.clone(), n.params.clone()))
            .collect(),
        None => registry
            .for_family(spec.workflow_family)
            .map(|d| (d.node_type.clone(), d.node_type.clone(), Map::new()))
            .collect(),
    };
    for (target, node_type, current) in targets {
        let Some(def) = registry.get(&node_type) else {
            continue;
        };
        let active = def
            .params
            .iter()
            .filter(|p| {
                spec.invocation_overrides
                    .contains_key(&format!("{target}.{}", p.name))
            })
            .count();
        let title = if active > 0 {
            format!("{target} ({active})")
        } else {
            target.clone()
        };
        egui::CollapsingHeader::new(title)
            .id_salt(("ot_target", &target))
            .show(ui, |ui| {
                for p in &def.params {
                    let key = format!("{target}.{}", p.name);
                    ui.horizontal(|ui| {
                        let mut on = spec.invocation_overrides.contains_key(&key);
                        if ui
                            .checkbox(&mut on, &p.label)
                            .on_hover_text(&p.description)
                            .changed()
                        {
                            if on {
                                let value = current
                                    .get(&p.name)
                                    .cloned()
                                    .unwrap_or_else(|| p.default.clone());
                                spec.invocation_overrides.insert(key.clone(), value);
                            } else {
                                spec.invocation_overrides.remove(&key);
                            }
                        }
                        if let Some(value) = spec.invocation_overrides.get(&key).cloned() {
                            if let Some(v) = param_value_ui(ui, ("ot", &key), p, &value).changed {
                                spec.invocation_overrides.insert(key.clone(), v);
                            }
                        }
                    });
                    field_problems_ui(ui, problems, &format!("invocation_overrides.{key}"));
                }
            });
    }
    // Problems about overrides no longer shown above (e.g. a node removed from the workflow).
    for p in problems
        .iter()
        .filter(|p| p.field.starts_with("invocation_overrides."))
    {
        let key = p.field.trim_start_matches("invocation_overrides.");
        if !spec.invocation_overrides.contains_key(key) {
            continue;
        }
        let target = key.split('.').next().unwrap_or_default();
        let shown = workflow.map_or(registry.get(target).is_some(), |w| {
            w.graph.node(target).is_some()
        });
        if !shown {
            ui.colored_label(ERROR, &p.message);
        }
    }
}
