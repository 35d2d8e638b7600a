//! The part tree panel: every part instance under its node path, with its resolved material
//! and where that comes from; filter by name, key, material or `missing`; click to select.
//! Only the rows in view are laid out.

use std::collections::BTreeSet;

use super::model::{SourceKind, ViewerDoc};
use super::part_tree::{query_words, TreeRow};
use super::{cmd, SelectMode, ViewerCommand, ViewerState};
use crate::command::Command;

/// Colour of parts a rule being typed would catch (as the viewport's tint).
pub const PREVIEW_COLOR: egui::Color32 = egui::Color32::from_rgb(0, 200, 255);

/// Loud colour of missing materials in the UI.
pub const MISSING_COLOR: egui::Color32 = egui::Color32::from_rgb(255, 0, 200);

#[derive(Debug, Default)]
pub struct TreeView {
    pub filter: String,
    pub missing_only: bool,
    pub expanded: BTreeSet<usize>,
    rows: Vec<TreeRow>,
    cache_key: Option<(u64, u64, String, bool, u64)>,
    expand_version: u64,
    /// Bring this part's row into view (after a pick in the viewport).
    pub scroll_to_part: Option<usize>,
}

impl TreeView {
    pub fn reset(&mut self, doc: &ViewerDoc) {
        self.expanded = doc.tree.default_expanded(2);
        self.expand_version += 1;
        self.cache_key = None;
        self.scroll_to_part = None;
    }

    fn toggle(&mut self, node: usize) {
        if !self.expanded.remove(&node) {
            self.expanded.insert(node);
        }
        self.expand_version += 1;
    }

    /// Expands the groups above `part`.
    pub fn reveal(&mut self, doc: &ViewerDoc, part: usize) {
        for n in doc.tree.ancestors_of_part(part) {
            if self.expanded.insert(n) {
                self.expand_version += 1;
            }
        }
    }

    /// The rows to draw now (recomputed when the model, its resolution, the filter or the
    /// expansion changed).
    pub fn rows(&mut self, doc: &ViewerDoc, doc_id: u64) -> &[TreeRow] {
        let key = (
            doc_id,
            doc.generation,
            self.filter.clone(),
            self.missing_only,
            self.expand_version,
        );
        if self.cache_key.as_ref() != Some(&key) {
            let words = query_words(&self.filter);
            let missing_only = self.missing_only;
            let filtering = missing_only || !words.is_empty();
            let shown = |p: usize| {
                (!missing_only
                    || doc
                        .views
                        .get(p)
                        .is_some_and(|v| v.source == SourceKind::Missing))
                    && doc.tree.matches(p, &words)
            };
            self.rows = doc.tree.rows(&self.expanded, filtering, &shown);
            self.cache_key = Some(key);
        }
        &self.rows
    }

    /// Parts among the visible rows.
    pub fn visible_parts(&mut self, doc: &ViewerDoc, doc_id: u64) -> Vec<usize> {
        self.rows(doc, doc_id)
            .iter()
            .filter_map(|r| match r {
                TreeRow::Part { part, .. } => Some(*part),
                TreeRow::Group { .. } => None,
            })
            .collect()
    }
}

fn select_mode(ui: &egui::Ui) -> SelectMode {
    if ui.input(|i| i.modifiers.command || i.modifiers.shift) {
        SelectMode::Toggle
    } else {
        SelectMode::Replace
    }
}

/// A small colour swatch (striped for missing materials).
pub fn swatch_ui(ui: &mut egui::Ui, rgba: [u8; 4], missing: bool) -> egui::Response {
    let size = egui::vec2(12.0, 12.0);
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::hover());
    let painter = ui.painter();
    if missing {
        painter.rect_filled(rect, 2.0, egui::Color32::from_rgb(40, 0, 35));
        for k in 0..3 {
            let x = rect.left() + k as f32 * 5.0;
            painter.line_segment(
                [
                    egui::pos2(x, rect.bottom()),
                    egui::pos2(x + 6.0, rect.top()),
                ],
                egui::Stroke::new(2.0, MISSING_COLOR),
            );
        }
    } else {
        painter.rect_filled(
            rect,
            2.0,
            egui::Color32::from_rgba_unmultiplied(rgba[0], rgba[1], rgba[2], 255),
        );
    }
    painter.rect_stroke(
        rect,
        2.0,
        egui::Stroke::new(1.0, ui.visuals().weak_text_color()),
        egui::StrokeKind::Inside,
    );
    response
}

pub fn tree_panel_ui(ui: &mut egui::Ui, v: &mut ViewerState, out: &mut Vec<Command>) {
    let Some(doc) = v.doc.as_ref() else {
        return;
    };
    let missing = doc.missing_count();
    ui.horizontal(|ui| {
        ui.heading("Parts");
        ui.label(format!("{} instances", doc.manifest.parts.len()));
        if missing > 0 {
            ui.colored_label(MISSING_COLOR, format!("{missing} missing"));
        }
    });
    ui.horizontal(|ui| {
        let label = ui.label("Filter");
        let edit = egui::TextEdit::singleline(&mut v.tree.filter)
            .hint_text("name, key, material, missing…")
            .desired_width(f32::INFINITY);
        ui.add(edit)
            .labelled_by(label.id)
            .on_hover_text("Words must all match a part's name, key, mesh, material or source");
    });
    ui.horizontal(|ui| {
        ui.checkbox(&mut v.tree.missing_only, "Missing only");
        if !doc.selection.is_empty() {
            ui.label(format!("{} selected", doc.selection.len()));
            if ui.small_button("Clear").clicked() {
                out.push(cmd(ViewerCommand::ClearSelection));
            }
        }
    });
    ui.separator();
    let doc_id = v.doc_id;
    // Bring a picked part into view.
    if let Some(part) = v.tree.scroll_to_part {
        v.tree.reveal(doc, part);
    }
    let rows: Vec<TreeRow> = v.tree.rows(doc, doc_id).to_vec();
    if rows.is_empty() {
        ui.weak("No part matches the filter.");
        return;
    }
    let row_h = ui.spacing().interact_size.y.max(18.0);
    let mut area = egui::ScrollArea::vertical()
        .id_salt("viewer_part_tree")
        .auto_shrink([false, false]);
    if let Some(part) = v.tree.scroll_to_part.take() {
        if let Some(i) = rows
            .iter()
            .position(|r| matches!(r, TreeRow::Part { part: p, .. } if *p == part))
        {
            let spacing = ui.spacing().item_spacing.y;
            let offset = (i as f32 * (row_h + spacing) - ui.available_height() * 0.4).max(0.0);
            area = area.vertical_scroll_offset(offset);
        }
    }
    let filtering = v.tree.missing_only || !v.tree.filter.trim().is_empty();
    let previewed: BTreeSet<usize> = v
        .rule
        .current()
        .map(|p| p.caught.iter().copied().collect())
        .unwrap_or_default();
    let mut toggles = Vec::new();
    area.show_rows(ui, row_h, rows.len(), |ui, range| {
        for row in &rows[range] {
            match *row {
                TreeRow::Group { node, depth } => {
                    let open = filtering || v.tree.expanded.contains(&node);
                    if group_row_ui(ui, doc, node, depth, open, out) {
                        toggles.push(node);
                    }
                }
                TreeRow::Part { part, depth } => {
                    let caught = previewed.contains(&part);
                    part_row_ui(ui, doc, part, depth, row_h, caught, out)
                }
            }
        }
    });
    for node in toggles {
        v.tree.toggle(node);
    }
}

/// Returns whether the expander was clicked.
fn group_row_ui(
    ui: &mut egui::Ui,
    doc: &ViewerDoc,
    node: usize,
    depth: usize,
    expanded: bool,
    out: &mut Vec<Command>,
) -> bool {
    let Some(n) = doc.tree.nodes.get(node) else {
        return false;
    };
    let mut toggled = false;
    ui.horizontal(|ui| {
        ui.add_space(depth as f32 * 14.0);
        let arrow = if expanded { "⏷" } else { "⏵" };
        if ui
            .add(egui::Button::new(arrow).frame(false).small())
            .on_hover_text(if expanded { "Collapse" } else { "Expand" })
            .clicked()
        {
            toggled = true;
        }
        let text = egui::RichText::new(&n.label).strong();
        if ui
            .add(egui::Button::new(text).frame(false))
            .on_hover_text("Select every part in this group")
            .clicked()
        {
            out.push(cmd(ViewerCommand::Select {
                parts: doc.tree.parts_under(node),
                mode: select_mode(ui),
            }));
        }
        ui.weak(format!("{}", n.total));
        if n.missing > 0 {
            ui.colored_label(MISSING_COLOR, format!("⚠ {}", n.missing));
        }
    });
    toggled
}

fn part_row_ui(
    ui: &mut egui::Ui,
    doc: &ViewerDoc,
    part: usize,
    depth: usize,
    row_h: f32,
    caught_by_draft_rule: bool,
    out: &mut Vec<Command>,
) {
    let (Some(entry), Some(view)) = (doc.manifest.parts.get(part), doc.views.get(part)) else {
        return;
    };
    let missing = view.source == SourceKind::Missing;
    let label = doc.tree.part_labels.get(part).unwrap_or(&entry.part_key);
    let name = match entry.instance_index {
        Some(i) => format!("{label}@{i}"),
        None => label.clone(),
    };
    ui.horizontal(|ui| {
        ui.set_min_height(row_h);
        ui.add_space(depth as f32 * 14.0 + 4.0);
        swatch_ui(ui, view.swatch, missing);
        let selected = doc.selection.contains(&part);
        let response = ui.selectable_label(selected, &name).on_hover_ui(|ui| {
            ui.label(format!("Part key: {}", entry.part_key));
            ui.label(format!(
                "Mesh {}{} · {} triangles",
                entry.mesh,
                entry
                    .mesh_name
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default(),
                entry.triangle_count
            ));
            ui.label(format!(
                "Material: {} ({})",
                view.material,
                view.source.label()
            ));
        });
        if response.clicked() {
            out.push(cmd(ViewerCommand::Select {
                parts: vec![part],
                mode: select_mode(ui),
            }));
        }
        let uses = doc.mesh_instances.get(&entry.mesh).copied().unwrap_or(1);
        if uses > 1 {
            ui.weak(format!("×{uses}"))
                .on_hover_text(format!("Its mesh is used by {uses} part instances"));
        }
        if caught_by_draft_rule {
            ui.colored_label(PREVIEW_COLOR, "◀ new rule")
                .on_hover_text("The rule being typed would decide this part");
        }
        if missing {
            ui.colored_label(MISSING_COLOR, "⚠ missing");
        } else {
            ui.label(egui::RichText::new(&view.material).small());
            ui.weak(egui::RichText::new(view.source.label()).small());
        }
    });
}
