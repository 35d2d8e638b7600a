//! "Render a preview still": the server renders the product with its saved material map
//! through an order_line workflow (the same modules every render uses) and the still is shown
//! beside the viewport, so the two can be compared.

use std::sync::Arc;

use super::{cmd, ViewerCommand, ViewerState};
use crate::command::Command;

#[derive(Default)]
pub enum PreviewStatus {
    #[default]
    Idle,
    /// Saving the map first, then rendering.
    Saving,
    Rendering {
        map_version: Option<i64>,
    },
    Done {
        run_id: String,
        map_version: Option<i64>,
        image: Arc<egui::ColorImage>,
        texture: Option<egui::TextureHandle>,
    },
    Failed(String),
}

#[derive(Default)]
pub struct PreviewState {
    pub status: PreviewStatus,
    /// Render once the pending save finished.
    pub after_save: bool,
}

impl std::fmt::Debug for PreviewState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.status {
            PreviewStatus::Idle => "Idle",
            PreviewStatus::Saving => "Saving",
            PreviewStatus::Rendering { .. } => "Rendering",
            PreviewStatus::Done { .. } => "Done",
            PreviewStatus::Failed(_) => "Failed",
        })
    }
}

impl PreviewState {
    pub fn is_open(&self) -> bool {
        !matches!(self.status, PreviewStatus::Idle)
    }
    pub fn is_busy(&self) -> bool {
        matches!(
            self.status,
            PreviewStatus::Saving | PreviewStatus::Rendering { .. }
        )
    }
}

pub fn preview_panel_ui(ui: &mut egui::Ui, v: &mut ViewerState, out: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        ui.heading("Preview still");
        if ui
            .small_button("Close")
            .on_hover_text("Close preview")
            .clicked()
        {
            out.push(cmd(ViewerCommand::ClosePreview));
        }
    });
    match &mut v.preview.status {
        PreviewStatus::Idle => {}
        PreviewStatus::Saving => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Saving the map first…");
            });
        }
        PreviewStatus::Rendering { map_version } => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(match map_version {
                    Some(v) => format!("Rendering with map version {v}…"),
                    None => "Rendering…".to_owned(),
                });
            });
            ui.weak("The server previews an order_line workflow (load product scene -> material.resolve -> render.still); a preview publishes nothing.");
        }
        PreviewStatus::Failed(message) => {
            ui.colored_label(ui.visuals().error_fg_color, message.as_str());
        }
        PreviewStatus::Done {
            run_id,
            map_version,
            image,
            texture,
        } => {
            let tex = texture.get_or_insert_with(|| {
                ui.ctx().load_texture(
                    "viewer-preview-still",
                    (**image).clone(),
                    egui::TextureOptions::LINEAR,
                )
            });
            let w = ui.available_width();
            let size = tex.size_vec2();
            let scale = (w / size.x.max(1.0)).min(1.0);
            ui.add(egui::Image::new((tex.id(), size * scale)).alt_text("Rendered preview still"));
            ui.weak(format!(
                "run {run_id}{}",
                map_version
                    .map(|v| format!(", map version {v}"))
                    .unwrap_or_default()
            ));
            ui.weak("Parts without a material render with the placeholder stripes here too.");
        }
    }
}
