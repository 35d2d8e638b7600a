//! The viewer's toolbar (open, camera presets, fit, display toggles, missing count, preview)
//! and the empty state.

use super::camera::PRESETS;
use super::tree_panel::MISSING_COLOR;
use super::{cmd, GlbSource, ViewerCommand, ViewerState};
use crate::command::Command;

fn open_menu_ui(ui: &mut egui::Ui, v: &ViewerState, connected: bool, out: &mut Vec<Command>) {
    ui.menu_button("Open product", |ui| {
        if !connected {
            ui.weak("Not connected to a server");
            return;
        }
        if ui.button("Refresh products").clicked() {
            out.push(cmd(ViewerCommand::RefreshProducts));
        }
        if ui.button(Command::AddProduct.label()).clicked() {
            out.push(Command::AddProduct);
        }
        ui.separator();
        if v.products.is_empty() {
            ui.weak("No products yet: add one (or drop a CAD file on the window)");
        }
        egui::ScrollArea::vertical()
            .max_height(400.0)
            .show(ui, |ui| {
                for p in &v.products {
                    let processed = p.status == "processed";
                    let text = format!("{} ({})", p.name, p.status);
                    if ui
                        .add_enabled(processed, egui::Button::new(text))
                        .on_disabled_hover_text("Not processed yet: it has no preview GLB")
                        .clicked()
                    {
                        out.push(Command::OpenGlbInViewer(GlbSource::Product(p.id.clone())));
                        ui.close();
                    }
                }
            });
    });
    if ui
        .button("Open file…")
        .on_hover_text("A local .glb / .gltf (or STEP) file")
        .clicked()
    {
        out.push(Command::OpenGlbInViewer(GlbSource::PickFile));
    }
}

/// The second count: parts the map assigns nothing to (they may still have a file material).
fn unmapped_label_ui(ui: &mut egui::Ui, doc: &super::ViewerDoc) {
    let (unmapped, total) = (doc.unmapped_count(), doc.manifest.parts.len());
    if unmapped == 0 {
        ui.label(format!("✔ all {total} assigned in the map"));
        return;
    }
    let hover = if doc.use_file_materials {
        "No assignment or rule in the material map: these render with the CAD file's own \
         material where it has one (Use file materials is on)"
    } else {
        "No assignment or rule in the material map"
    };
    ui.label(format!("{unmapped} of {total} without a map assignment"))
        .on_hover_text(hover);
}

pub fn toolbar_ui(ui: &mut egui::Ui, v: &mut ViewerState, connected: bool, out: &mut Vec<Command>) {
    ui.horizontal_wrapped(|ui| {
        open_menu_ui(ui, v, connected, out);
        if let Some(what) = &v.loading {
            ui.spinner();
            ui.label(format!("Loading {what}…"));
        }
        let Some(doc) = v.doc.as_ref() else {
            return;
        };
        ui.separator();
        ui.strong(doc.source.title());
        let missing = doc.missing_count();
        if missing > 0 {
            let badge = egui::RichText::new(format!("⚠ {missing} missing"))
                .color(egui::Color32::WHITE)
                .background_color(MISSING_COLOR)
                .strong();
            if ui
                .add(egui::Button::new(badge))
                .on_hover_text("Parts without a material: click to step through them")
                .clicked()
            {
                out.push(cmd(ViewerCommand::StepMissing { forward: true }));
            }
        } else {
            ui.label("✔ none without any material")
                .on_hover_text("Every part gets a material from the map or from the file");
        }
        unmapped_label_ui(ui, doc);
        ui.separator();
        for (preset, label) in PRESETS {
            if ui
                .small_button(label)
                .on_hover_text(format!(
                    "Camera preset {label}, framed as scene.camera frames it"
                ))
                .clicked()
            {
                out.push(cmd(ViewerCommand::CameraPreset(preset)));
            }
        }
        if ui.small_button("Fit all").clicked() {
            out.push(cmd(ViewerCommand::FitAll));
        }
        if ui
            .add_enabled(
                !doc.selection.is_empty(),
                egui::Button::new("Fit selection").small(),
            )
            .clicked()
        {
            out.push(cmd(ViewerCommand::FitSelection));
        }
        ui.separator();
        ui.toggle_value(&mut v.toggles.wireframe, "Wireframe");
        ui.toggle_value(&mut v.toggles.false_colour, "False colour")
            .on_hover_text("One flat colour per resolved material");
        ui.toggle_value(&mut v.toggles.missing_only, "Show missing only")
            .on_hover_text("Only parts without a material; the rest as a faint ghost");
        if doc.source.product_id().is_some() && connected {
            ui.separator();
            let label = if doc.is_dirty() {
                "Save and render preview"
            } else {
                "Render preview still"
            };
            if ui
                .add_enabled(!v.preview.is_busy(), egui::Button::new(label))
                .on_hover_text("The server renders the product with the saved map (render.still)")
                .clicked()
            {
                out.push(cmd(ViewerCommand::RenderPreview));
            }
        }
    });
    if let Some(error) = &v.error {
        ui.colored_label(ui.visuals().error_fg_color, error);
    } else if let Some(notice) = &v.notice {
        ui.weak(notice);
    }
}

pub fn empty_state_ui(ui: &mut egui::Ui, v: &ViewerState, connected: bool, out: &mut Vec<Command>) {
    ui.vertical_centered(|ui| {
        ui.add_space(ui.available_height() * 0.2);
        ui.heading("glTF viewer");
        ui.label(
            "See which material every part instance gets, find parts with none, repair the map.",
        );
        ui.add_space(12.0);
        if v.loading.is_some() {
            ui.spinner();
            return;
        }
        if connected {
            for p in v
                .products
                .iter()
                .filter(|p| p.status == "processed")
                .take(12)
            {
                if ui.button(format!("Open {}", p.name)).clicked() {
                    out.push(Command::OpenGlbInViewer(GlbSource::Product(p.id.clone())));
                }
            }
        }
        if ui.button("Open file…").clicked() {
            out.push(Command::OpenGlbInViewer(GlbSource::PickFile));
        }
    });
}
