//! Repairing the material map: assign the chosen library material to the selection or to
//! every instance of its meshes, add name rules with a live preview of the parts they would
//! catch, reorder and delete rules, undo/redo, save with `If-Match` (a 409 keeps the local
//! edits and offers reload or overwrite).

use super::model::{RulePreview, ViewerDoc};
use super::tree_panel::MISSING_COLOR;
use super::{cmd, RulePlace, ViewerCommand, ViewerState};
use crate::command::Command;

/// What a cached preview was computed for: model, resolution, pattern, material, placement.
type PreviewKey = (u64, u64, String, String, bool);

/// The rule being typed and its preview.
#[derive(Debug, Default)]
pub struct RuleDraft {
    pub pattern: String,
    pub before_others: bool,
    preview: Option<(PreviewKey, RulePreview)>,
}

impl RuleDraft {
    /// The preview of the draft with `material`, recomputed only when something changed.
    pub fn preview(&mut self, doc: &ViewerDoc, doc_id: u64, material: &str) -> RulePreview {
        let key = (
            doc_id,
            doc.generation,
            self.pattern.trim().to_owned(),
            material.to_owned(),
            self.before_others,
        );
        let stale = self.preview.as_ref().is_none_or(|(k, _)| *k != key);
        if stale {
            let p = doc.rule_preview(&self.pattern, material, self.before_others);
            self.preview = Some((key, p));
        }
        self.preview
            .as_ref()
            .map(|(_, p)| p.clone())
            .unwrap_or_default()
    }

    /// The cached preview, if the draft has a pattern.
    pub fn current(&self) -> Option<&RulePreview> {
        if self.pattern.trim().is_empty() {
            return None;
        }
        self.preview.as_ref().map(|(_, p)| p)
    }
}

/// Sets the accessibility label of an icon button.
fn labelled(response: egui::Response, label: String) -> egui::Response {
    let text = label.clone();
    response.widget_info(move || {
        egui::WidgetInfo::labeled(egui::WidgetType::Button, true, text.clone())
    });
    response.on_hover_text(label)
}

/// `map_refused`: why the token may not save material maps, when it may not.
pub fn repair_panel_ui(
    ui: &mut egui::Ui,
    v: &mut ViewerState,
    connected: bool,
    map_refused: Option<String>,
    out: &mut Vec<Command>,
) {
    let Some(doc) = v.doc.as_ref() else {
        return;
    };
    let doc_id = v.doc_id;
    ui.horizontal(|ui| {
        ui.heading("Material map");
        if doc.is_dirty() {
            ui.colored_label(ui.visuals().warn_fg_color, "● unsaved");
        }
    });
    ui.horizontal(|ui| {
        if ui
            .add_enabled(doc.can_undo(), egui::Button::new("Undo"))
            .clicked()
        {
            out.push(cmd(ViewerCommand::Undo));
        }
        if ui
            .add_enabled(doc.can_redo(), egui::Button::new("Redo"))
            .clicked()
        {
            out.push(cmd(ViewerCommand::Redo));
        }
        let can_save = connected
            && map_refused.is_none()
            && doc.source.product_id().is_some()
            && doc.is_dirty()
            && !v.saving;
        let save = ui
            .add_enabled(can_save, egui::Button::new("Save map"))
            .on_disabled_hover_text(if doc.source.product_id().is_none() {
                "Only a product's map can be saved (this model is not a product)".to_owned()
            } else if !connected {
                "Not connected to a server".to_owned()
            } else if let Some(reason) = &map_refused {
                format!("{reason}: edits stay here until someone who may saves them")
            } else {
                "Nothing to save".to_owned()
            });
        if save.clicked() {
            out.push(cmd(ViewerCommand::SaveMap));
        }
        if v.saving {
            ui.spinner();
        }
    });
    if let Some(version) = doc.version {
        ui.weak(format!("Server version {version}"));
    }
    if let Some(conflict) = &v.conflict {
        egui::Frame::group(ui.style())
            .fill(ui.visuals().extreme_bg_color)
            .show(ui, |ui| {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    format!(
                        "Someone saved this map in between (server version {}). Your edits are kept here.",
                        conflict.version
                    ),
                );
                ui.horizontal_wrapped(|ui| {
                    for c in [
                        ViewerCommand::ReloadMap,
                        ViewerCommand::OverwriteMap,
                        ViewerCommand::DismissConflict,
                    ] {
                        if ui.button(c.label()).clicked() {
                            out.push(cmd(c));
                        }
                    }
                });
                ui.weak("Reload keeps your version in Undo.");
            });
    }
    for warning in &doc.warnings {
        ui.colored_label(ui.visuals().warn_fg_color, warning);
    }
    for problem in &doc.resolved.unknown {
        ui.colored_label(
            ui.visuals().error_fg_color,
            format!("Not in the library (ignored): {problem}"),
        );
    }
    if !doc.resolved.resolution.stale_assignments.is_empty() {
        ui.weak(format!(
            "{} assignment(s) name parts that are not in this model",
            doc.resolved.resolution.stale_assignments.len()
        ));
    }
    ui.separator();

    // Missing parts.
    let missing = doc.missing_count();
    ui.horizontal(|ui| {
        if missing == 0 {
            // "Has a material" may mean "from the file": say how many the map leaves out.
            match doc.unmapped_count() {
                0 => ui.label("Every part is assigned in the map"),
                n => ui.label(format!(
                    "No part without a material; {n} only from the file"
                )),
            };
        } else {
            ui.colored_label(MISSING_COLOR, format!("⚠ {missing} without a material"));
            if ui.button("◀").on_hover_text("Previous missing").clicked() {
                out.push(cmd(ViewerCommand::StepMissing { forward: false }));
            }
            if ui.button("Next missing").clicked() {
                out.push(cmd(ViewerCommand::StepMissing { forward: true }));
            }
        }
    });
    let mut use_file = doc.use_file_materials;
    if ui
        .checkbox(&mut use_file, "Use file materials")
        .on_hover_text(
            "As material.resolve's use_file_materials: parts fall back to the CAD file's own \
             materials before they count as missing",
        )
        .changed()
    {
        out.push(cmd(ViewerCommand::SetUseFileMaterials(use_file)));
    }
    ui.separator();

    // What is selected.
    match doc.selection.len() {
        0 => {
            ui.weak("Nothing selected: click a part in the tree or the viewport.");
        }
        1 => {
            if let Some(&p) = doc.selection.iter().next() {
                if let (Some(entry), Some(view)) = (doc.manifest.parts.get(p), doc.views.get(p)) {
                    ui.label(egui::RichText::new(&entry.part_key).monospace());
                    let text = format!("{} ({})", view.material, view.source.label());
                    if view.source == super::model::SourceKind::Missing {
                        ui.colored_label(MISSING_COLOR, "⚠ no material");
                    } else {
                        ui.label(text);
                    }
                }
            }
        }
        n => {
            ui.label(format!("{n} parts selected"));
        }
    }

    // Assign the chosen material.
    let Some(material) = v.library.chosen.clone() else {
        ui.weak("Choose a material in the library below to assign it.");
        return;
    };
    ui.horizontal(|ui| {
        ui.label("Material:");
        ui.strong(&material);
    });
    let selected = doc.selection.len();
    let siblings = doc.mesh_siblings_of_selection().len();
    ui.horizontal_wrapped(|ui| {
        if ui
            .add_enabled(selected > 0, egui::Button::new("Assign to selection"))
            .on_hover_text(format!("{selected} part(s)"))
            .clicked()
        {
            out.push(cmd(ViewerCommand::AssignToSelection(material.clone())));
        }
        if ui
            .add_enabled(selected > 0, egui::Button::new("Assign to all instances"))
            .on_hover_text(format!(
                "Every instance of the selected parts' meshes: {siblings} part(s)"
            ))
            .clicked()
        {
            out.push(cmd(ViewerCommand::AssignToMeshInstances(material.clone())));
        }
        if ui
            .add_enabled(selected > 0, egui::Button::new("Clear assignment"))
            .clicked()
        {
            out.push(cmd(ViewerCommand::ClearAssignments));
        }
    });
    ui.separator();

    // New rule with preview.
    ui.strong("Name rules");
    ui.horizontal(|ui| {
        let label = ui.label("Rule pattern");
        ui.add(
            egui::TextEdit::singleline(&mut v.rule.pattern)
                .hint_text("*bolt*")
                .desired_width(140.0),
        )
        .labelled_by(label.id)
        .on_hover_text("* matches any run of characters, ? one; matched against the part key and node path, case-insensitive");
        ui.label(format!("-> {material}"));
    });
    ui.checkbox(&mut v.rule.before_others, "Before other rules");
    let preview = v.rule.preview(doc, doc_id, &material);
    if !v.rule.pattern.trim().is_empty() {
        ui.label(format!("Rule would catch {} part(s)", preview.caught.len()));
        ui.weak(format!(
            "{} match the pattern; {} decided by an assignment or an earlier rule; fixes {} missing",
            preview.matching, preview.decided_elsewhere, preview.fixes_missing
        ));
        let names: Vec<&str> = preview
            .caught
            .iter()
            .take(6)
            .filter_map(|&p| doc.part_key(p))
            .collect();
        if !names.is_empty() {
            let more = preview.caught.len().saturating_sub(names.len());
            ui.weak(if more > 0 {
                format!("{} … and {more} more", names.join(", "))
            } else {
                names.join(", ")
            });
        }
    }
    if ui
        .add_enabled(
            !v.rule.pattern.trim().is_empty(),
            egui::Button::new("Add rule"),
        )
        .clicked()
    {
        out.push(cmd(ViewerCommand::AddRule {
            pattern: v.rule.pattern.trim().to_owned(),
            material: material.clone(),
            place: if v.rule.before_others {
                RulePlace::First
            } else {
                RulePlace::Last
            },
        }));
    }
    rules_list_ui(ui, doc, out);
}

fn rules_list_ui(ui: &mut egui::Ui, doc: &ViewerDoc, out: &mut Vec<Command>) {
    let rules = &doc.map.rules;
    if rules.is_empty() {
        ui.weak("No rules yet. The first matching rule wins; explicit assignments win over rules.");
        return;
    }
    // How many parts each rule decides now.
    let mut decided = vec![0usize; rules.len()];
    for v in &doc.views {
        if let super::model::SourceKind::Rule { index, .. } = v.source {
            if let Some(d) = decided.get_mut(index) {
                *d += 1;
            }
        }
    }
    let n = rules.len();
    for (i, rule) in rules.iter().enumerate() {
        ui.horizontal_wrapped(|ui| {
            let up = ui.add_enabled(i > 0, egui::Button::new("⏶").small());
            if labelled(up, format!("Move rule {} up", i + 1)).clicked() {
                out.push(cmd(ViewerCommand::MoveRule {
                    from: i,
                    to: i.saturating_sub(1),
                }));
            }
            let down = ui.add_enabled(i + 1 < n, egui::Button::new("⏷").small());
            if labelled(down, format!("Move rule {} down", i + 1)).clicked() {
                out.push(cmd(ViewerCommand::MoveRule { from: i, to: i + 1 }));
            }
            let del = ui.small_button("🗑");
            if labelled(del, format!("Delete rule {}", i + 1)).clicked() {
                out.push(cmd(ViewerCommand::DeleteRule(i)));
            }
            ui.label(format!("{}.", i + 1));
            ui.monospace(&rule.pattern);
            ui.label(format!("-> {}", rule.material));
            ui.weak(format!("({} parts)", decided[i]));
        });
    }
}
