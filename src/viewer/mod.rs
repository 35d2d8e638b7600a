//! The glTF viewer (issue 7): see which material every part instance gets, find the parts with
//! none, repair the product's material map and save it back; trust that renders match, because
//! the viewport draws with the engine's own scene builder and material resolution.
//!
//! | file | what |
//! |---|---|
//! | [`model`] | the open model, the map under repair (undo/redo), resolution, rule preview |
//! | [`part_tree`] | the manifest as a tree, filtering, visible rows |
//! | [`camera`] | orbit/pan/zoom, fit, `scene.camera` presets |
//! | [`gl`] | three-d inside egui's paint callback: drawing, restyling, id-pass picking |
//! | [`viewport`] | the viewport widget: input, picking, overlays |
//! | [`tree_panel`] | the part tree panel |
//! | [`repair`] | assign, name rules with preview, rule order, save / conflict |
//! | [`library`] | material library browser and editor |
//! | [`preview`] | "Render a preview still" through the server's render modules |
//! | [`toolbar`] | open, camera presets, toggles, missing count |
//! | [`load`] | background tasks (fetch, decode, save) |
//! | [`apply`] | the one place viewer commands and events change state |

pub mod apply;
pub mod camera;
pub mod command;
pub mod gl;
pub mod library;
pub mod load;
pub mod model;
pub mod part_tree;
pub mod preview;
pub mod repair;
pub mod toolbar;
pub mod tree_panel;
pub mod viewport;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

pub use command::{GlbSource, RulePlace, SelectMode, ViewerCommand};
pub use load::{LibraryEntry, ProductSummary, ViewerEvent};
pub use model::{DocSource, LoadedDoc, ViewerDoc};

use crate::command::Command;
use camera::OrbitCamera;
use gl::{GlShared, Upload, ViewToggles};

/// A 409 on save: the server's version, until the user chooses reload or overwrite.
#[derive(Debug, Clone, PartialEq)]
pub struct MapConflict {
    pub version: i64,
    pub message: String,
}

/// Everything the viewer tab keeps.
pub struct ViewerState {
    pub doc: Option<ViewerDoc>,
    /// Bumped per opened model (the GPU side keys uploads and restyles by it).
    pub doc_id: u64,
    /// What is being loaded, while it is.
    pub loading: Option<String>,
    load_seq: u64,
    /// The last problem worth showing (load, save, GL).
    pub error: Option<String>,
    pub notice: Option<String>,
    pub products: Vec<ProductSummary>,
    pub product_choice: Option<String>,
    pub library: library::LibraryView,
    pub tree: tree_panel::TreeView,
    pub rule: repair::RuleDraft,
    pub camera: OrbitCamera,
    pub toggles: ViewToggles,
    pub gl: Arc<Mutex<GlShared>>,
    /// Width / height of the viewport at the last frame.
    pub aspect: f32,
    pub conflict: Option<MapConflict>,
    pub saving: bool,
    pub preview: preview::PreviewState,
    /// Frame the model once the viewport's size is known.
    pub fit_pending: bool,
    /// Re-fit from the current direction once the viewport's new size is known (the preview
    /// panel opened or closed and changed its width).
    pub refit_pending: bool,
    /// Whether the preview panel was open at the last frame.
    preview_was_open: bool,
    /// Index into the missing parts for "next missing".
    pub missing_cursor: usize,
    /// A product or artifact to open once the server is connected (start-up `--view`).
    pub pending_open: Option<GlbSource>,
    viewport_cache: viewport::FrameCache,
    inbox: (mpsc::Sender<ViewerEvent>, mpsc::Receiver<ViewerEvent>),
}

impl Default for ViewerState {
    fn default() -> Self {
        ViewerState {
            doc: None,
            doc_id: 0,
            loading: None,
            load_seq: 0,
            error: None,
            notice: None,
            products: Vec::new(),
            product_choice: None,
            library: library::LibraryView::default(),
            tree: tree_panel::TreeView::default(),
            rule: repair::RuleDraft::default(),
            camera: OrbitCamera::default(),
            toggles: ViewToggles::default(),
            gl: Arc::new(Mutex::new(GlShared::default())),
            aspect: 16.0 / 9.0,
            conflict: None,
            saving: false,
            preview: preview::PreviewState::default(),
            fit_pending: false,
            refit_pending: false,
            preview_was_open: false,
            missing_cursor: 0,
            pending_open: None,
            viewport_cache: viewport::FrameCache::default(),
            inbox: mpsc::channel(),
        }
    }
}

impl std::fmt::Debug for ViewerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewerState")
            .field("doc", &self.doc.as_ref().map(|d| d.source.title()))
            .field("loading", &self.loading)
            .finish_non_exhaustive()
    }
}

impl ViewerState {
    /// Starts a load and returns its sequence number (older loads' results are dropped).
    pub fn begin_load(&mut self, what: String) -> u64 {
        self.load_seq += 1;
        self.loading = Some(what);
        self.error = None;
        self.load_seq
    }

    pub fn is_current_load(&self, seq: u64) -> bool {
        seq == self.load_seq
    }

    /// Makes a decoded model the open one and hands its geometry to the GPU side.
    pub fn install(&mut self, loaded: LoadedDoc, library: Option<Vec<LibraryEntry>>) {
        self.doc_id += 1;
        self.loading = None;
        self.conflict = None;
        self.saving = false;
        self.preview = preview::PreviewState::default();
        self.missing_cursor = 0;
        if let Some(entries) = library {
            self.library.entries = entries;
        } else if self.library.entries.is_empty() {
            self.library.entries = LibraryEntry::defaults();
        }
        let (doc, prepared) = ViewerDoc::from_loaded(loaded);
        if let Ok(mut gl) = self.gl.lock() {
            gl.upload = Some(Upload {
                doc_id: self.doc_id,
                scene: doc.scene.clone(),
                manifest: doc.manifest.clone(),
                prepared,
            });
            gl.restyle = None;
        }
        self.tree.reset(&doc);
        self.camera.preset(
            workflow_engine::camera::CameraPreset::ThreeQuarter,
            &doc.bounds(),
            self.aspect,
        );
        self.fit_pending = true;
        self.notice = Some(format!(
            "{}: {} parts, {} triangles, loaded in {:.0} ms",
            doc.source.title(),
            doc.manifest.parts.len(),
            doc.manifest.total_triangles,
            doc.timings.total_ms()
        ));
        self.doc = Some(doc);
    }

    /// A sender for tasks on plain threads (decoding without a backend runtime).
    pub fn inbox_sender(&self) -> mpsc::Sender<ViewerEvent> {
        self.inbox.0.clone()
    }

    /// Events from plain-thread tasks.
    pub fn poll_inbox(&self) -> Vec<ViewerEvent> {
        self.inbox.1.try_iter().collect()
    }

    /// The library material names in order.
    pub fn material_names(&self) -> Vec<String> {
        self.library
            .entries
            .iter()
            .map(|e| e.material.name.clone())
            .collect()
    }
}

/// The viewer tab: toolbar, part tree, repair and library, the viewport (and the preview).
/// `map_refused`: why the token may not save material maps, when it may not.
pub fn viewer_ui(
    ui: &mut egui::Ui,
    v: &mut ViewerState,
    connected: bool,
    map_refused: Option<String>,
    out: &mut Vec<Command>,
) {
    egui::Panel::top("viewer_toolbar").show(ui, |ui| {
        toolbar::toolbar_ui(ui, v, connected, out);
    });
    if v.doc.is_none() {
        egui::CentralPanel::default().show(ui, |ui| toolbar::empty_state_ui(ui, v, connected, out));
        return;
    }
    egui::Panel::left("viewer_tree")
        .default_size(360.0)
        .show(ui, |ui| {
            crate::layout::stable_width(ui, |ui| tree_panel::tree_panel_ui(ui, v, out))
        });
    egui::Panel::right("viewer_repair")
        .default_size(330.0)
        .show(ui, |ui| {
            // The material panel keeps its width whichever part or rule is selected.
            crate::layout::stable_width(ui, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("viewer_repair_scroll")
                    .show(ui, |ui| {
                        repair::repair_panel_ui(ui, v, connected, map_refused, out);
                        ui.separator();
                        library::library_panel_ui(ui, v, connected, out);
                    });
            })
        });
    let preview_open = v.preview.is_open();
    if preview_open != v.preview_was_open {
        // The panel squeezes (or frees) the viewport: keep the whole model in view.
        v.preview_was_open = preview_open;
        v.refit_pending = true;
    }
    if preview_open {
        egui::Panel::right("viewer_preview")
            .default_size(360.0)
            .show(ui, |ui| preview::preview_panel_ui(ui, v, out));
    }
    egui::CentralPanel::default()
        .frame(egui::Frame::NONE)
        .show(ui, |ui| viewport::viewport_ui(ui, v, out));
}

/// Wraps a viewer command for the app's queue.
pub fn cmd(c: ViewerCommand) -> Command {
    Command::Viewer(c)
}
