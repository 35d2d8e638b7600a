//! The application: state apart from runtime handles, one `apply` for every command, and the
//! panels that make up the editor window.

pub mod artifacts;
mod autosave;
mod compare;
mod edit_commands;
pub mod file_dialogs;
mod output_types;
mod panels;
mod rollout;
mod run_detail;
mod runs;
mod server_sync;
mod timeline;
mod uploads;

pub use artifacts::{ArtifactItem, ArtifactView, LoadedArtifact};
pub use output_types::{OutputTypeForm, OutputTypesView};
pub use rollout::{
    comparison_label as rollout_comparison_label, RolloutAction, RolloutEvent, RolloutView,
};
pub use runs::{RunNotice, RunsView};
pub use timeline::fmt_ms;
pub use uploads::{UploadItem, UploadStage, UploadsView};

pub use server_sync::{document_of, ConflictChoice, Connection, ServerLink};

use crate::command::Command;
use crate::drafts::Draft;
use crate::editor::document::{Clip, WorkflowDocument};
use crate::editor::{canvas, inspector, palette, Editor};
use crate::settings::{Settings, STORAGE_KEY};
use autosave::Autosave;
use std::sync::Arc;
use workflow_contracts::{starter_graph, Registry};
use workflow_wire::Permission;

/// Seconds a refused gesture's explanation stays next to the pointer.
const REFUSAL_SECONDS: f64 = 3.0;

/// UI state the user would expect back after a restart.
#[derive(Debug, Default)]
pub struct AppState {
    pub show_about: bool,
    pub show_help: bool,
    pub view: MainView,
    pub settings: Settings,
    /// The settings window's working copy (applied with its Apply button).
    pub settings_edit: Option<Settings>,
    /// A workflow delete waiting for confirmation: id, version, name.
    pub pending_delete: Option<(String, i64, String)>,
}

/// The window's main area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MainView {
    #[default]
    Editor,
    OutputTypes,
    Runs,
    /// Every output type's rollout: state, shadow pass rate, readiness, promote/rollback.
    Rollout,
    /// The glTF viewer with material assignments and repair.
    Viewer,
}

pub struct StudioApp {
    pub state: AppState,
    /// The node catalog the app renders from.
    pub registry: Arc<Registry>,
    pub editor: Option<Editor>,
    clipboard: Option<Clip>,
    /// The last thing worth telling the user (refusals, undo with nothing to undo…).
    pub status: String,
    pending: Vec<Command>,
    autosave: Option<Autosave>,
    /// Drafts from an earlier session, offered for restore.
    pub restorable: Vec<Draft>,
    pub server: ServerLink,
    pub left_tab: LeftTab,
    /// Commands that need the node catalog, held until it arrives.
    after_catalog: Vec<Command>,
    pub output_types: OutputTypesView,
    pub runs: RunsView,
    pub rollout: RolloutView,
    pub artifacts: artifacts::ArtifactView,
    pub viewer: crate::viewer::ViewerState,
    /// Product uploads of this session and their progress.
    pub uploads: UploadsView,
    /// Native dialogs or the in-app file browser (see `file_dialogs`).
    pub dialogs: file_dialogs::FileDialogs,
    /// Set by `--measure-startup`: when the process started.
    startup: Option<std::time::Instant>,
}

/// What the left panel shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeftTab {
    #[default]
    Nodes,
    Workflows,
}

impl StudioApp {
    pub fn new(registry: Arc<Registry>) -> Self {
        StudioApp {
            state: AppState::default(),
            registry,
            editor: None,
            clipboard: None,
            status: String::new(),
            pending: Vec::new(),
            autosave: None,
            restorable: Vec::new(),
            server: ServerLink::local(),
            left_tab: LeftTab::default(),
            after_catalog: Vec::new(),
            output_types: OutputTypesView::default(),
            runs: RunsView::default(),
            rollout: RolloutView::default(),
            artifacts: artifacts::ArtifactView::default(),
            viewer: crate::viewer::ViewerState::default(),
            uploads: UploadsView::default(),
            dialogs: file_dialogs::FileDialogs::default(),
            startup: None,
        }
    }

    /// An app whose catalog will come from a server (see [`StudioApp::with_server`]).
    pub fn connecting() -> Self {
        Self::new(server_sync::empty_registry())
    }

    /// Opens `doc` in the editor.
    pub fn open(&mut self, doc: WorkflowDocument) {
        self.keep_draft_of_current();
        let mut editor = Editor::new(doc);
        editor.canvas.frame_start = true;
        self.editor = Some(editor);
    }

    /// Reports time-to-interactive (catalog loaded from the server, a workflow open) on
    /// stderr and quits.
    pub fn measure_startup(&mut self, started: std::time::Instant) {
        self.startup = Some(started);
    }

    fn report_startup(&mut self, ctx: &egui::Context) {
        let Some(started) = self.startup else { return };
        let interactive = self.server.catalog_ready
            && (self.editor.is_some() || self.after_catalog.is_empty() && self.pending.is_empty());
        if interactive && !matches!(self.server.connection, Connection::Connecting) {
            eprintln!(
                "interactive after {:.0} ms",
                started.elapsed().as_secs_f64() * 1e3
            );
            self.startup = None;
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    /// Queues a command that needs the server (a run to open…) until the catalog has arrived
    /// from it.
    pub fn send_when_connected(&mut self, command: Command) {
        if self.server.catalog_ready {
            self.pending.push(command);
        } else {
            self.after_catalog.push(command);
        }
    }

    /// Queues a command as a widget would; it is applied at the end of the frame.
    pub fn send(&mut self, command: Command) {
        self.pending.push(command);
    }

    /// The one place commands change state.
    pub fn apply(&mut self, ctx: &egui::Context, command: Command) {
        let registry = Arc::clone(&self.registry);
        if self.read_only() && command.changes_document() {
            self.status = "Offline: read-only until the server answers again".into();
            return;
        }
        if let Some(reason) = command.permission().and_then(|p| self.refusal(p)) {
            // Refused here rather than by a 403 round trip; edits stay in the editor (and
            // its draft).
            self.status = reason;
            return;
        }
        let result = match command {
            Command::OpenGlbInViewer(source) => self.open_in_viewer(ctx, source),
            Command::Viewer(c) => self.apply_viewer(c),
            Command::Undo if self.state.view == MainView::Viewer => {
                self.apply_viewer(crate::viewer::ViewerCommand::Undo)
            }
            Command::Redo if self.state.view == MainView::Viewer => {
                self.apply_viewer(crate::viewer::ViewerCommand::Redo)
            }
            Command::Save => self.save(false, None),
            Command::SaveAsCopy => self.save(true, None),
            Command::OpenWorkflow(id) => {
                self.open_workflow(id);
                self.state.view = MainView::Editor;
                Ok(())
            }
            Command::RefreshWorkflows => {
                self.refresh_workflows();
                Ok(())
            }
            Command::DuplicateWorkflow(id) => {
                self.duplicate_workflow(id);
                Ok(())
            }
            Command::DeleteWorkflow { id, version } => {
                let name = self
                    .server
                    .workflows
                    .iter()
                    .find(|w| w.id == id)
                    .map_or(id.clone(), |w| w.name.clone());
                self.state.pending_delete = Some((id, version, name));
                Ok(())
            }
            Command::ConfirmDelete => {
                if let Some((id, version, _)) = self.state.pending_delete.take() {
                    self.delete_workflow(id, version);
                }
                Ok(())
            }
            Command::CancelDelete => {
                self.state.pending_delete = None;
                Ok(())
            }
            Command::ToggleSettings => {
                self.state.settings_edit = match self.state.settings_edit {
                    Some(_) => None,
                    None => Some(self.state.settings.clone()),
                };
                Ok(())
            }
            Command::ApplySettings(settings) => {
                ctx.set_theme(settings.theme.preference());
                let reconnect = settings.use_remote != self.state.settings.use_remote
                    || (settings.use_remote
                        && (settings.server_url != self.state.settings.server_url
                            || settings.token != self.state.settings.token
                            || settings.ca_cert != self.state.settings.ca_cert));
                // The token goes to its private file, never into eframe's storage.
                if settings.token != self.state.settings.token {
                    if let Some(file) = &settings.token_file {
                        let file = crate::settings::TokenFile { path: file.clone() };
                        if let Err(err) = file.save(&settings.token) {
                            self.status = format!("the token is not kept: {err}");
                        }
                    }
                }
                self.state.settings = settings;
                self.state.settings_edit = None;
                if reconnect {
                    self.reconnect();
                }
                Ok(())
            }
            Command::TypeToSearch(text) => {
                self.left_tab = LeftTab::Nodes;
                if let Some(editor) = self.editor.as_mut() {
                    editor.palette.query.push_str(&text);
                    editor.palette.focus_search = true;
                }
                Ok(())
            }
            Command::ValidateNow => self.validate_now(ctx.input(|i| i.time)),
            Command::LoadHistory => {
                self.load_revisions();
                Ok(())
            }
            Command::RestoreRevision(rev) => self.restore_revision(rev),
            Command::ShowView(view) => {
                self.state.view = view;
                if view == MainView::OutputTypes {
                    self.refresh_output_types();
                    self.refresh_workflows();
                }
                if view == MainView::Runs {
                    self.refresh_runs();
                }
                if view == MainView::Rollout {
                    self.refresh_rollout();
                }
                if view == MainView::Viewer {
                    self.viewer_shown();
                }
                Ok(())
            }
            Command::RefreshRuns => {
                self.refresh_runs();
                // Rows and the product filter name products: a product added elsewhere shows.
                self.refresh_products();
                Ok(())
            }
            Command::SelectRun(id) => {
                self.runs.compare = None;
                if self.runs.selected.as_ref().is_none_or(|r| r.id != id) {
                    self.runs.selected_node = None;
                }
                self.load_run(id);
                Ok(())
            }
            Command::SelectRunNode(node) => {
                self.runs.selected_node = Some(node);
                self.runs.scroll_to_record = true;
                Ok(())
            }
            Command::CompareRuns { left, right } => {
                self.compare_runs(left, right);
                Ok(())
            }
            Command::CloseCompare => {
                self.runs.compare = None;
                Ok(())
            }
            Command::CancelRun => self.cancel_selected_run(),
            Command::Rerun => self.rerun_selected(),
            Command::OpenRunInEditor => self.open_run_in_editor(),
            Command::Preflight => self.preflight_open_workflow(),
            Command::Dispatch => self.dispatch_open_workflow(),
            Command::RefreshProducts => {
                self.refresh_products();
                Ok(())
            }
            Command::AddProduct => self.pick_product_files(ctx),
            Command::UploadFiles(paths) => self.upload_files(paths),
            Command::DismissUpload(id) => {
                self.uploads.items.retain(|i| i.id != id);
                Ok(())
            }
            Command::FetchArtifact(id) => {
                self.fetch_artifact(id);
                Ok(())
            }
            Command::OpenArtifact { id, title } => {
                self.fetch_artifact(id.clone());
                self.artifacts.open = Some(artifacts::OpenArtifact {
                    id,
                    title,
                    frame: 0,
                    playing: true,
                    frame_started: ctx.input(|i| i.time),
                });
                Ok(())
            }
            Command::CloseArtifact => {
                self.artifacts.open = None;
                Ok(())
            }
            Command::SaveArtifact(item) => self.save_artifact(ctx, item),
            Command::SaveArtifactSet(items) => self.save_artifact_set(ctx, items),
            Command::RefreshOutputTypes => {
                self.refresh_output_types();
                Ok(())
            }
            Command::NewOutputType => {
                self.new_output_type();
                Ok(())
            }
            Command::SelectOutputType(id) => {
                self.select_output_type(&id);
                Ok(())
            }
            Command::SaveOutputType => self.save_output_type(),
            Command::DeleteOutputType => self.delete_output_type(),
            Command::ResolveConflict(choice) => self.resolve_conflict(choice),
            command @ (Command::RefreshRollout
            | Command::ChangeRollout { .. }
            | Command::LoadRolloutHistory(_)) => self.apply_rollout(command),
            other => {
                self.apply_local(ctx, other, &registry);
                Ok(())
            }
        };
        if let Err(message) = result {
            self.status = message;
        }
    }

    fn apply_local(&mut self, ctx: &egui::Context, command: Command, registry: &Arc<Registry>) {
        match command {
            Command::ToggleAbout => self.state.show_about = !self.state.show_about,
            Command::ToggleHelp => self.state.show_help = !self.state.show_help,
            Command::Quit => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
            Command::NewWorkflow(family) if !self.server.catalog_ready => {
                self.after_catalog.push(Command::NewWorkflow(family));
            }
            Command::NewWorkflow(family) => {
                if !self.new_workflow(family) {
                    let graph = starter_graph(family, registry);
                    self.open(WorkflowDocument::new(&format!("Untitled {family}"), graph));
                }
            }
            Command::RestoreDraft(key) => {
                if let Some(i) = self.restorable.iter().position(|d| d.key == key) {
                    let draft = self.restorable.remove(i);
                    self.open(draft.into_document());
                }
            }
            Command::DiscardDraft(key) => {
                self.restorable.retain(|d| d.key != key);
                if let Some(a) = &self.autosave {
                    a.store.discard(&key);
                }
            }
            command => self.apply_to_editor(ctx, command, registry),
        }
    }

    /// Draws one frame and applies what the user did in it.
    pub fn frame_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.poll_backend(&ctx);
        self.shortcuts(&ctx);
        let registry = Arc::clone(&self.registry);
        if let Some(editor) = self.editor.as_mut() {
            editor.revalidate(&registry);
        }
        egui::Panel::top("menu_bar").show(ui, |ui| self.menu_bar_ui(ui));
        egui::Panel::bottom("status_bar").show(ui, |ui| self.status_ui(ui));
        let mut out = Vec::new();
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        match self.editor.as_mut() {
            _ if self.state.view == MainView::Viewer => self.viewer_frame_ui(ui, &mut out),
            _ if self.state.view == MainView::Runs => {
                let choices = runs::FilterChoices {
                    workflows: &self.server.workflows,
                    output_types: &self.output_types.records,
                };
                egui::CentralPanel::default().show(ui, |ui| {
                    runs::runs_ui(
                        ui,
                        &mut self.runs,
                        &mut self.artifacts,
                        &choices,
                        now_ms,
                        &mut out,
                    )
                });
            }
            _ if self.state.view == MainView::Rollout => {
                egui::CentralPanel::default().show(ui, |ui| {
                    rollout::rollout_ui(
                        ui,
                        &mut self.rollout,
                        self.server.refusal(Permission::ChangeRollout),
                        &mut out,
                    )
                });
            }
            _ if self.state.view == MainView::OutputTypes => {
                egui::CentralPanel::default().show(ui, |ui| {
                    output_types::output_types_ui(
                        ui,
                        &mut self.output_types,
                        &self.server.workflows,
                        &registry,
                        self.server.refusal(Permission::EditOutputTypes),
                        &mut out,
                    )
                });
            }
            Some(editor) => {
                let server = &self.server;
                let tab = &mut self.left_tab;
                let runs_view = &mut self.runs;
                let output_type_records = &self.output_types.records;
                egui::Panel::left("palette")
                    .default_size(230.0)
                    .show(ui, |ui| {
                        crate::layout::stable_width(ui, |ui| {
                            panels::left_tabs_ui(ui, tab);
                            match tab {
                                LeftTab::Nodes => {
                                    palette::palette_ui(ui, editor, &registry, &mut out)
                                }
                                LeftTab::Workflows => panels::workflows_ui(ui, server, &mut out),
                            }
                        })
                    });
                egui::Panel::right("inspector")
                    .default_size(320.0)
                    .show(ui, |ui| {
                        crate::layout::stable_width(ui, |ui| {
                            inspector::inspector_ui(ui, editor, &registry, &mut out);
                            if editor.selection.is_empty() {
                                if server.client.is_some() {
                                    let saved = editor.doc.id.is_some() && !editor.doc.is_dirty();
                                    let workflow =
                                        editor.doc.id.as_deref().zip(editor.doc.graph.family);
                                    runs::run_panel_ui(
                                        ui,
                                        runs_view,
                                        runs::RunPanelContext {
                                            saved,
                                            workflow,
                                            output_types: output_type_records,
                                            preflight_refused: server
                                                .refusal(Permission::Preflight),
                                            dispatch_refused: server.refusal(Permission::Dispatch),
                                        },
                                        &mut out,
                                    );
                                }
                                panels::history_ui(ui, editor, server, &mut out);
                            }
                        })
                    });
                egui::CentralPanel::default()
                    .frame(egui::Frame::NONE)
                    .show(ui, |ui| canvas::canvas_ui(ui, editor, &registry, &mut out));
            }
            None => {
                egui::CentralPanel::default().show(ui, |ui| self.welcome_ui(ui));
            }
        }
        artifacts::open_artifact_ui(&ctx, &mut self.artifacts, &mut out);
        self.uploads_ui(&ctx, &mut out);
        self.drop_target_ui(&ctx);
        self.file_dialog_ui(&ctx);
        self.pending.extend(out);
        self.help_ui(&ctx);
        self.about_ui(&ctx);
        self.restore_ui(&ctx);
        runs::run_notices_ui(&ctx, &mut self.runs, &mut self.pending);
        self.conflict_ui(&ctx);
        self.delete_prompt_ui(&ctx);
        self.settings_ui(&ctx);
        let commands = std::mem::take(&mut self.pending);
        if !commands.is_empty() {
            // Commands are applied after drawing: draw again so the frame shows their effect.
            ctx.request_repaint();
        }
        for command in commands {
            self.apply(&ctx, command);
        }
        self.autosave(&ctx);
        self.schedule_validation(ctx.input(|i| i.time));
        self.poll_live_run(ctx.input(|i| i.time));
        if self.runs.is_live() {
            ctx.request_repaint_after(std::time::Duration::from_millis(250));
        }
        self.report_startup(&ctx);
    }
}

impl eframe::App for StudioApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame_ui(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, STORAGE_KEY, &self.state.settings);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        // Queued draft writes reach the disk before the process ends.
        self.flush_drafts();
    }
}
