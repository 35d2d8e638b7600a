//! The material library: swatches to choose the material to assign, and a PBR editor to
//! create or replace library materials (roles `material_specialist`/`author`; after a 403 the
//! editor explains and stays closed).

use workflow_engine::materials::PbrMaterial;
use workflow_engine::render::scene_builder::linear_to_srgba;

use super::load::LibraryEntry;
use super::{cmd, ViewerCommand, ViewerState};
use crate::command::Command;

/// The material being created or edited.
#[derive(Debug, Clone, PartialEq)]
pub struct MaterialForm {
    pub name: String,
    pub create: bool,
    /// sRGB, as the colour picker shows it.
    pub base_color: egui::Color32,
    pub opacity: f32,
    pub metallic: f32,
    pub roughness: f32,
    pub emissive: egui::Color32,
}

impl MaterialForm {
    pub fn new_material() -> Self {
        MaterialForm {
            name: String::new(),
            create: true,
            base_color: egui::Color32::from_rgb(180, 180, 180),
            opacity: 1.0,
            metallic: 0.0,
            roughness: 0.5,
            emissive: egui::Color32::BLACK,
        }
    }

    pub fn edit(m: &PbrMaterial) -> Self {
        MaterialForm {
            name: m.name.clone(),
            create: false,
            base_color: srgb32(m.base_color),
            opacity: m.opacity,
            metallic: m.metallic,
            roughness: m.roughness,
            emissive: srgb32([m.emissive[0], m.emissive[1], m.emissive[2], 1.0]),
        }
    }

    /// The material the form describes (colours back to linear).
    pub fn material(&self) -> PbrMaterial {
        let b = linear(self.base_color);
        let e = linear(self.emissive);
        PbrMaterial {
            name: self.name.trim().to_owned(),
            base_color: [b[0], b[1], b[2], 1.0],
            metallic: self.metallic.clamp(0.0, 1.0),
            roughness: self.roughness.clamp(0.0, 1.0),
            emissive: [e[0], e[1], e[2]],
            opacity: self.opacity.clamp(0.0, 1.0),
        }
    }
}

/// Linear RGBA → sRGB colour.
pub fn srgb32(c: [f32; 4]) -> egui::Color32 {
    let s = linear_to_srgba([c[0], c[1], c[2], 1.0]);
    egui::Color32::from_rgb(s.r, s.g, s.b)
}

/// sRGB colour → linear RGB.
pub fn linear(c: egui::Color32) -> [f32; 3] {
    let f = |v: u8| {
        let s = v as f32 / 255.0;
        if s <= 0.04045 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    [f(c.r()), f(c.g()), f(c.b())]
}

#[derive(Debug)]
pub struct LibraryView {
    pub entries: Vec<LibraryEntry>,
    pub filter: String,
    /// The material assignments and new rules use.
    pub chosen: Option<String>,
    pub form: Option<MaterialForm>,
    /// False once the server refused a library edit for the token's role.
    pub can_edit: bool,
    pub saving: bool,
    pub message: Option<String>,
}

impl Default for LibraryView {
    fn default() -> Self {
        LibraryView {
            entries: Vec::new(),
            filter: String::new(),
            chosen: None,
            form: None,
            can_edit: true,
            saving: false,
            message: None,
        }
    }
}

impl LibraryView {
    /// Adds or replaces an entry by name.
    pub fn upsert(&mut self, entry: LibraryEntry) {
        match self
            .entries
            .iter_mut()
            .find(|e| e.material.name == entry.material.name)
        {
            Some(e) => *e = entry,
            None => self.entries.push(entry),
        }
    }
}

/// A material swatch: base colour, a sheen for metals, a checker under transparency.
pub fn material_swatch_ui(ui: &mut egui::Ui, m: &PbrMaterial, size: f32) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(egui::vec2(size, size), egui::Sense::click());
    let painter = ui.painter();
    let c = m.effective_color();
    if c[3] < 0.99 {
        let half = size / 2.0;
        for (i, j) in [(0, 0), (1, 1)] {
            let r = egui::Rect::from_min_size(
                rect.min + egui::vec2(i as f32 * half, j as f32 * half),
                egui::vec2(half, half),
            );
            painter.rect_filled(r, 0.0, egui::Color32::from_gray(200));
        }
    }
    let s = linear_to_srgba(c);
    painter.rect_filled(
        rect,
        3.0,
        egui::Color32::from_rgba_unmultiplied(s.r, s.g, s.b, s.a),
    );
    if m.metallic > 0.5 {
        let sheen = egui::Rect::from_min_max(
            rect.min + egui::vec2(size * 0.15, size * 0.15),
            rect.min + egui::vec2(size * 0.45, size * 0.35),
        );
        let a = ((1.0 - m.roughness) * 160.0) as u8;
        painter.rect_filled(sheen, 2.0, egui::Color32::from_white_alpha(a));
    }
    painter.rect_stroke(
        rect,
        3.0,
        egui::Stroke::new(1.0, ui.visuals().weak_text_color()),
        egui::StrokeKind::Inside,
    );
    response
}

pub fn library_panel_ui(
    ui: &mut egui::Ui,
    v: &mut ViewerState,
    connected: bool,
    out: &mut Vec<Command>,
) {
    let lib = &mut v.library;
    ui.horizontal(|ui| {
        ui.heading("Library");
        ui.weak(format!("{} materials", lib.entries.len()));
        if connected
            && ui
                .small_button("⟳")
                .on_hover_text("Refresh library")
                .clicked()
        {
            out.push(cmd(ViewerCommand::RefreshLibrary));
        }
    });
    ui.horizontal(|ui| {
        let label = ui.label("Find");
        ui.add(
            egui::TextEdit::singleline(&mut lib.filter)
                .hint_text("steel, paint…")
                .desired_width(140.0),
        )
        .labelled_by(label.id);
        if connected
            && lib.can_edit
            && ui
                .button("New material")
                .on_hover_text("Create a library material")
                .clicked()
        {
            lib.form = Some(MaterialForm::new_material());
        }
    });
    if let Some(message) = &lib.message {
        ui.colored_label(ui.visuals().warn_fg_color, message);
    }
    if let Some(form) = lib.form.as_mut() {
        material_form_ui(ui, form, lib.saving, out);
        if ui.button("Cancel").clicked() {
            lib.form = None;
        }
        ui.separator();
    }
    let words: Vec<String> = lib
        .filter
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    let mut edit = None;
    for entry in &lib.entries {
        let name = &entry.material.name;
        let lower = name.to_lowercase();
        if !words.iter().all(|w| lower.contains(w)) {
            continue;
        }
        ui.horizontal(|ui| {
            let chosen = lib.chosen.as_deref() == Some(name.as_str());
            if material_swatch_ui(ui, &entry.material, 18.0)
                .on_hover_text(format!(
                    "metallic {:.2}, roughness {:.2}, opacity {:.2}",
                    entry.material.metallic, entry.material.roughness, entry.material.opacity
                ))
                .clicked()
                || ui.selectable_label(chosen, name).clicked()
            {
                lib.chosen = Some(name.clone());
            }
            if entry.source == "user" {
                ui.weak("user");
            }
            if connected
                && lib.can_edit
                && ui
                    .small_button("✏")
                    .on_hover_text(format!("Edit {name}"))
                    .clicked()
            {
                edit = Some(MaterialForm::edit(&entry.material));
            }
        });
    }
    if edit.is_some() {
        lib.form = edit;
    }
}

fn material_form_ui(
    ui: &mut egui::Ui,
    form: &mut MaterialForm,
    saving: bool,
    out: &mut Vec<Command>,
) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.strong(if form.create {
            "New material"
        } else {
            "Edit material"
        });
        egui::Grid::new("material_form")
            .num_columns(2)
            .show(ui, |ui| {
                let label = ui.label("Name");
                ui.add_enabled(
                    form.create,
                    egui::TextEdit::singleline(&mut form.name).desired_width(150.0),
                )
                .labelled_by(label.id);
                ui.end_row();
                ui.label("Base colour");
                ui.color_edit_button_srgba(&mut form.base_color);
                ui.end_row();
                ui.label("Opacity");
                ui.add(egui::Slider::new(&mut form.opacity, 0.0..=1.0));
                ui.end_row();
                ui.label("Metallic");
                ui.add(egui::Slider::new(&mut form.metallic, 0.0..=1.0));
                ui.end_row();
                ui.label("Roughness");
                ui.add(egui::Slider::new(&mut form.roughness, 0.0..=1.0));
                ui.end_row();
                ui.label("Emissive");
                ui.color_edit_button_srgba(&mut form.emissive);
                ui.end_row();
            });
        let preview = form.material();
        ui.horizontal(|ui| {
            material_swatch_ui(ui, &preview, 28.0);
            let label = if form.create {
                "Create material"
            } else {
                "Save material"
            };
            let ok = !preview.name.is_empty() && !saving;
            if ui.add_enabled(ok, egui::Button::new(label)).clicked() {
                out.push(cmd(ViewerCommand::SaveMaterial {
                    material: preview,
                    create: form.create,
                }));
            }
            if saving {
                ui.spinner();
            }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_round_trips_a_material_through_srgb() {
        let m = workflow_engine::materials::default_library()
            .get("paint_red")
            .cloned()
            .expect("default");
        let back = MaterialForm::edit(&m).material();
        for i in 0..3 {
            assert!((back.base_color[i] - m.base_color[i]).abs() < 0.01);
        }
        assert_eq!(back.name, m.name);
        assert_eq!((back.metallic, back.roughness), (m.metallic, m.roughness));
    }
}
