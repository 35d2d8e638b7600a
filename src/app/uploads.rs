//! Adding products from the app: "Add product…" and files dropped on the window become
//! uploads, each shown with a progress bar while it is sent and processed, and refreshed into
//! every product list when it is ready.

use std::path::PathBuf;

use super::file_dialogs::{DialogKind, DialogPurpose, DialogRequest};
use super::StudioApp;
use crate::backend::upload::{upload_sets, UploadEvent, UploadSet};
use crate::backend::BackendEvent;
use crate::command::Command;
use crate::editor::style::{ERROR, ONLINE};
use crate::viewer::GlbSource;

/// Uploads of this session, newest last.
#[derive(Debug, Default)]
pub struct UploadsView {
    pub items: Vec<UploadItem>,
    next_id: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UploadItem {
    pub id: u64,
    /// The main file's name, as the user chose it.
    pub file: String,
    pub total_bytes: u64,
    pub stage: UploadStage,
}

#[derive(Debug, Clone, PartialEq)]
pub enum UploadStage {
    Sending { sent: u64 },
    Processing { done: usize, total: usize },
    Ready { product_id: String },
    Failed { message: String },
}

impl UploadItem {
    /// Sending counts for the first half of the bar, processing for the second.
    pub fn fraction(&self) -> f32 {
        match &self.stage {
            UploadStage::Sending { sent } => {
                0.5 * (*sent as f32 / self.total_bytes.max(1) as f32).min(1.0)
            }
            UploadStage::Processing { done, total, .. } => {
                0.5 + 0.5 * (*done as f32 / (*total).max(1) as f32).min(1.0)
            }
            UploadStage::Ready { .. } | UploadStage::Failed { .. } => 1.0,
        }
    }

    pub fn text(&self) -> String {
        match &self.stage {
            UploadStage::Sending { sent } => format!(
                "{}: uploading {} of {}",
                self.file,
                megabytes(*sent),
                megabytes(self.total_bytes)
            ),
            UploadStage::Processing { done, total, .. } => {
                format!("{}: processing ({done}/{total} steps)", self.file)
            }
            UploadStage::Ready { .. } => format!("{}: ready", self.file),
            UploadStage::Failed { message } => message.clone(),
        }
    }
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

impl StudioApp {
    /// "Add product…": asks for the files (native dialog or the in-app browser), then
    /// uploads them.
    pub(super) fn pick_product_files(&mut self, ctx: &egui::Context) -> Result<(), String> {
        self.server.backend.as_ref().ok_or("Not connected")?;
        self.server.client.as_ref().ok_or("Not connected")?;
        self.ask_for_files(
            ctx,
            DialogRequest {
                title: "Add a product: a CAD file (a .gltf with its side files)",
                filters: vec![
                    ("CAD files", vec!["glb", "gltf", "step", "stp", "zip"]),
                    ("All files", vec!["*"]),
                ],
                kind: DialogKind::OpenFiles,
                purpose: DialogPurpose::AddProduct,
            },
        );
        Ok(())
    }

    /// Uploads the products `paths` make (see [`upload_sets`]): the files are looked at off
    /// the UI thread (a `.gltf` is read for its side files), then
    /// [`StudioApp::on_uploads_prepared`] starts the uploads.
    pub(super) fn upload_files(&mut self, paths: Vec<PathBuf>) -> Result<(), String> {
        let backend = self.server.backend.as_ref().ok_or("Not connected")?;
        backend.spawn(async move {
            let prepared = tokio::task::spawn_blocking(move || upload_sets(&paths)).await;
            match prepared {
                Ok((sets, problems)) => BackendEvent::UploadsPrepared { sets, problems },
                Err(e) => BackendEvent::Failed {
                    task: "prepare the upload",
                    message: e.to_string(),
                },
            }
        });
        Ok(())
    }

    pub(super) fn on_uploads_prepared(&mut self, sets: Vec<UploadSet>, problems: Vec<String>) {
        for set in sets {
            if let Err(message) = self.start_upload(set) {
                self.status = message;
            }
        }
        if !problems.is_empty() {
            self.status = problems.join("; ");
        }
    }

    fn start_upload(&mut self, set: UploadSet) -> Result<(), String> {
        let backend = self.server.backend.as_ref().ok_or("Not connected")?;
        let client = self.server.client.as_ref().ok_or("Not connected")?;
        let view = &mut self.uploads;
        view.next_id += 1;
        let id = view.next_id;
        view.items.push(UploadItem {
            id,
            file: set.main.clone(),
            total_bytes: set.total_bytes,
            stage: UploadStage::Sending { sent: 0 },
        });
        self.status = format!("Uploading {}", set.main);
        backend.upload_product(client, set, id);
        Ok(())
    }

    pub(super) fn on_upload_event(&mut self, event: UploadEvent) {
        let Some(item) = self.uploads.items.iter_mut().find(|i| i.id == event.id()) else {
            return;
        };
        item.stage = match event {
            UploadEvent::Sent { sent, .. } => UploadStage::Sending { sent },
            UploadEvent::Processing { done, total, .. } => UploadStage::Processing { done, total },
            UploadEvent::Finished { product_id, .. } => UploadStage::Ready { product_id },
            UploadEvent::Failed { message, .. } => UploadStage::Failed { message },
        };
        let finished = matches!(
            item.stage,
            UploadStage::Ready { .. } | UploadStage::Failed { .. }
        );
        if finished {
            self.status = item.text();
            // The new product (or its failure) shows in every list without a manual refresh.
            self.refresh_products();
        }
    }

    /// The uploads, bottom left above the status bar (run notices take the right), with a
    /// progress bar each.
    pub(super) fn uploads_ui(&mut self, ctx: &egui::Context, out: &mut Vec<Command>) {
        if self.uploads.items.is_empty() {
            return;
        }
        egui::Area::new(egui::Id::new("uploads"))
            .anchor(egui::Align2::LEFT_BOTTOM, egui::vec2(12.0, -36.0))
            .show(ctx, |ui| {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    ui.set_width(360.0);
                    ui.strong("Uploads");
                    for item in &self.uploads.items {
                        upload_row_ui(ui, item, out);
                    }
                });
            });
    }

    /// While files are dragged over the window: where they go.
    pub(super) fn drop_target_ui(&mut self, ctx: &egui::Context) {
        let hovering = ctx.input(|i| !i.raw.hovered_files.is_empty());
        if hovering {
            let screen = ctx.content_rect();
            let painter = ctx.layer_painter(egui::LayerId::new(
                egui::Order::Foreground,
                egui::Id::new("drop_target"),
            ));
            painter.rect_filled(screen, 0.0, egui::Color32::from_black_alpha(160));
            painter.text(
                screen.center(),
                egui::Align2::CENTER_CENTER,
                "Drop to add as a product (.glb, .gltf with its files, .step, .stp, .zip)",
                egui::FontId::proportional(18.0),
                egui::Color32::WHITE,
            );
        }
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        if !dropped.is_empty() {
            self.send(Command::UploadFiles(dropped));
        }
    }
}

fn upload_row_ui(ui: &mut egui::Ui, item: &UploadItem, out: &mut Vec<Command>) {
    ui.separator();
    match &item.stage {
        UploadStage::Failed { .. } => {
            ui.colored_label(ERROR, item.text());
        }
        UploadStage::Ready { product_id } => {
            ui.horizontal(|ui| {
                ui.colored_label(ONLINE, item.text());
                if ui.button("Open in viewer").clicked() {
                    out.push(Command::OpenGlbInViewer(GlbSource::Product(
                        product_id.clone(),
                    )));
                }
            });
        }
        _ => {
            ui.label(item.text());
            ui.add(egui::ProgressBar::new(item.fraction()).show_percentage());
        }
    }
    if matches!(
        item.stage,
        UploadStage::Ready { .. } | UploadStage::Failed { .. }
    ) && ui.small_button("Dismiss").clicked()
    {
        out.push(Command::DismissUpload(item.id));
    }
}
