//! The inspector: parameters of the selected node generated from its schema, its contract,
//! or — with nothing selected — the workflow and its problems.

use super::document::Edit;
use super::param_widget::param_value_ui;
use super::style::{port_dot_ui, ERROR, WARNING};
use super::Editor;
use crate::command::Command;
use egui::{Color32, RichText, Ui};

use workflow_contracts::{NodeDefinition, Registry, Severity};

pub fn inspector_ui(ui: &mut Ui, editor: &Editor, registry: &Registry, out: &mut Vec<Command>) {
    egui::ScrollArea::vertical().show(ui, |ui| match editor.selection.as_slice() {
        [id] => match editor.doc.node(id) {
            Some(node) => match registry.get(&node.node_type) {
                Some(def) => node_ui(ui, editor, id, def, out),
                None => {
                    ui.heading(id);
                    ui.colored_label(ERROR, format!("Unknown node type '{}'", node.node_type));
                }
            },
            None => workflow_ui(ui, editor, out),
        },
        [] => workflow_ui(ui, editor, out),
        many => {
            ui.heading(format!("{} nodes selected", many.len()));
            if ui.button("Auto-layout selection").clicked() {
                out.push(Command::AutoLayout);
            }
        }
    });
}

fn workflow_ui(ui: &mut Ui, editor: &Editor, out: &mut Vec<Command>) {
    ui.heading("Workflow");
    let mut name = editor.doc.name.clone();
    ui.horizontal(|ui| {
        ui.label("Name");
        let response = ui.text_edit_singleline(&mut name);
        if response.changed() {
            out.push(Command::Edit {
                edit: Edit::Rename(name.clone()),
                coalesce: Some("rename".into()),
            });
        }
        if response.lost_focus() {
            out.push(Command::SealHistory);
        }
    });
    let family = editor
        .doc
        .graph
        .family
        .map_or("none".to_owned(), |f| f.to_string());
    ui.label(format!("Family: {family}"));
    let version = editor
        .doc
        .version
        .map_or("not saved".to_owned(), |v| v.to_string());
    ui.label(format!("Version: {version}"));
    ui.label(format!(
        "{} nodes, {} edges",
        editor.doc.graph.nodes.len(),
        editor.doc.graph.edges.len()
    ));
    comments_ui(ui, editor, out);
    ui.separator();
    problems_ui(ui, editor, out);
}

/// Comment frames: editable titles, a click selects the framed nodes.
fn comments_ui(ui: &mut Ui, editor: &Editor, out: &mut Vec<Command>) {
    if editor.doc.graph.comments.is_empty() {
        return;
    }
    ui.separator();
    ui.label(RichText::new("Comment frames").strong());
    for comment in &editor.doc.graph.comments {
        ui.horizontal(|ui| {
            let mut title = comment.title.clone();
            let r = ui.text_edit_singleline(&mut title);
            if r.changed() {
                out.push(Command::Edit {
                    edit: Edit::RenameComment {
                        id: comment.id.clone(),
                        title,
                    },
                    coalesce: Some(format!("comment:{}", comment.id)),
                });
            }
            if r.lost_focus() {
                out.push(Command::SealHistory);
            }
            if ui.small_button("Select").clicked() {
                out.push(Command::Select(comment.nodes.clone()));
            }
            if ui.small_button("Ungroup").clicked() {
                out.push(Command::edit(Edit::Ungroup(comment.id.clone())));
            }
        });
    }
}

/// Every validation problem; clicking one selects its node.
pub fn problems_ui(ui: &mut Ui, editor: &Editor, out: &mut Vec<Command>) {
    let errors = editor
        .report
        .errors
        .iter()
        .filter(|e| e.severity == Severity::Error)
        .count();
    let warnings = editor.report.errors.len() - errors;
    if editor.report.errors.is_empty() {
        ui.label(RichText::new("✔ Valid").color(Color32::from_rgb(0x5c, 0xc0, 0x7a)));
        return;
    }
    ui.label(format!("{errors} errors, {warnings} warnings"));
    for problem in &editor.report.errors {
        let color = if problem.severity == Severity::Error {
            ERROR
        } else {
            WARNING
        };
        let text = RichText::new(&problem.message).color(color);
        let response = ui
            .add(egui::Label::new(text).wrap().sense(egui::Sense::click()))
            .on_hover_text(problem.code.as_str());
        if response.clicked() && !problem.nodes.is_empty() {
            out.push(Command::Select(problem.nodes.clone()));
        }
    }
}

fn node_ui(ui: &mut Ui, editor: &Editor, id: &str, def: &NodeDefinition, out: &mut Vec<Command>) {
    ui.heading(&def.label);
    ui.label(RichText::new(format!("{id} · {}", def.node_type)).weak());
    ui.label(&def.description);
    for problem in editor.problems_for(id).filter(|p| p.param.is_none()) {
        let color = if problem.severity == Severity::Error {
            ERROR
        } else {
            WARNING
        };
        ui.colored_label(color, &problem.message);
    }
    ui.separator();
    let Some(node) = editor.doc.node(id) else {
        return;
    };
    egui::Grid::new(("params", id))
        .num_columns(3)
        .striped(true)
        .show(ui, |ui| {
            for spec in &def.params {
                let value = node.params.get(&spec.name).unwrap_or(&spec.default);
                let overridden = editor
                    .run_overrides
                    .get(&(id.to_owned(), spec.name.clone()));
                let mut label = RichText::new(match overridden {
                    Some(_) => format!("{} (run override)", spec.label),
                    None => spec.label.clone(),
                });
                if spec.required {
                    label = label.strong();
                }
                if overridden.is_some() {
                    label = label.color(WARNING);
                }
                let mut hover = format!("{}\n{}", spec.name, spec.description);
                if let Some(saved) = overridden {
                    let saved = saved.as_ref().unwrap_or(&spec.default);
                    hover.push_str(&format!(
                        "\nThe run overrode this; the graph's own value is {saved}"
                    ));
                }
                ui.label(label).on_hover_text(hover);
                ui.vertical(|ui| {
                    let edit = param_value_ui(ui, id, spec, value);
                    if let Some(value) = edit.changed {
                        out.push(Command::Edit {
                            edit: Edit::SetParam {
                                node: id.to_owned(),
                                param: spec.name.clone(),
                                value,
                            },
                            coalesce: Some(format!("param:{id}:{}", spec.name)),
                        });
                    }
                    if edit.finished {
                        out.push(Command::SealHistory);
                    }
                    let problems = editor
                        .problems_for(id)
                        .filter(|p| p.param.as_deref() == Some(spec.name.as_str()));
                    for problem in problems {
                        ui.colored_label(ERROR, &problem.message);
                    }
                });
                if *value != spec.default {
                    if ui
                        .small_button("↺")
                        .on_hover_text(format!("Reset to {}", spec.default))
                        .clicked()
                    {
                        out.push(Command::edit(Edit::ResetParam {
                            node: id.to_owned(),
                            param: spec.name.clone(),
                        }));
                    }
                } else {
                    ui.label("");
                }
                ui.end_row();
            }
        });
    ui.separator();
    contract_ui(ui, def);
}

fn contract_ui(ui: &mut Ui, def: &NodeDefinition) {
    egui::CollapsingHeader::new("Contract")
        .id_salt(("contract", &def.node_type))
        .show(ui, |ui| {
            ui.label(format!("module: {}", def.module_key));
            ui.label(format!("role: {}", def.execution_role));
            ui.label(format!("families: {}", def.families_text()));
            ui.label(format!(
                "legacy step: {}",
                def.legacy_source.as_deref().unwrap_or("none")
            ));
            let roles = |r: &[workflow_contracts::ArtifactRole]| {
                r.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ")
            };
            ui.label(format!("artifacts in: {}", roles(&def.artifact_roles_in)));
            ui.label(format!("artifacts out: {}", roles(&def.artifact_roles_out)));
            for (title, ports) in [
                ("Inputs", &def.input_contract),
                ("Outputs", &def.output_contract),
            ] {
                ui.label(RichText::new(title).strong());
                for p in ports {
                    ui.horizontal(|ui| {
                        port_dot_ui(ui, p.port_type);
                        let flags = match (p.required, p.multiple) {
                            (_, true) => " (many)",
                            (false, _) if title == "Inputs" => " (optional)",
                            _ => "",
                        };
                        ui.label(format!("{}: {}{flags}", p.name, p.port_type))
                            .on_hover_text(&p.description);
                    });
                }
            }
        });
}
