//! Every user action is a [`Command`]: menus, shortcuts, the palette and the canvas send them,
//! and [`crate::app::StudioApp::apply`] is the one place that carries them out.

use crate::app::{ConflictChoice, MainView};
use crate::editor::document::Edit;
use crate::settings::Settings;
use egui::{Key, KeyboardShortcut, Modifiers};
use workflow_contracts::Family;

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    NewWorkflow(Family),
    Save,
    SaveAsCopy,
    OpenWorkflow(String),
    RefreshWorkflows,
    DuplicateWorkflow(String),
    DeleteWorkflow {
        id: String,
        version: i64,
    },
    LoadHistory,
    RestoreRevision(i64),
    ResolveConflict(ConflictChoice),
    ShowView(MainView),
    ToggleSettings,
    ApplySettings(Settings),
    /// Delete after the user confirmed the prompt DeleteWorkflow opened.
    ConfirmDelete,
    CancelDelete,
    /// Text typed while the pointer is on the canvas goes to the palette search.
    TypeToSearch(String),
    /// Ask the server to validate the open graph now.
    ValidateNow,
    RefreshRuns,
    SelectRun(String),
    CancelRun,
    Rerun,
    /// Open the graph a run executed, with run status colours and the failing node selected.
    OpenRunInEditor,
    Preflight,
    Dispatch,
    RefreshProducts,
    /// "Add product…": choose CAD files with the file dialog, then upload them.
    AddProduct,
    /// Upload these files as products (dropped on the window, or chosen).
    UploadFiles(Vec<std::path::PathBuf>),
    /// Take a finished upload off the uploads list.
    DismissUpload(u64),
    /// Show one node's record (times, error, params, outputs, logs) in the run detail.
    SelectRunNode(String),
    /// Two runs side by side.
    CompareRuns {
        left: String,
        right: String,
    },
    CloseCompare,
    /// Fetch and decode an artifact for display (thumbnails ask on first show).
    FetchArtifact(String),
    OpenArtifact {
        id: String,
        title: String,
    },
    CloseArtifact,
    /// Ask where to save an artifact, then write it there.
    SaveArtifact(crate::app::ArtifactItem),
    /// Ask for a folder, then write a set of artifacts (a turntable's PNG frames) into it.
    SaveArtifactSet(Vec<crate::app::ArtifactItem>),
    RefreshOutputTypes,
    NewOutputType,
    SelectOutputType(String),
    SaveOutputType,
    DeleteOutputType,
    /// Reload the rollout dashboard.
    RefreshRollout,
    /// Move an output type's rollout (the reason comes from the dashboard's reason field).
    ChangeRollout {
        output_type: String,
        target: workflow_contracts::output_type::Rollout,
        force: bool,
    },
    LoadRolloutHistory(String),
    /// Reopen unsaved work found in a draft from an earlier session.
    RestoreDraft(String),
    DiscardDraft(String),
    /// Change the document; edits with the same coalesce key merge into one undo step.
    Edit {
        edit: Edit,
        coalesce: Option<String>,
    },
    /// Close an open coalescing run (a drag ended).
    SealHistory,
    Select(Vec<String>),
    SelectAll,
    DeleteSelection,
    DuplicateSelection,
    Copy,
    Paste,
    Undo,
    Redo,
    AutoLayout,
    /// Frame the selected nodes with a titled comment.
    GroupSelection,
    AlignLeft,
    AlignTop,
    DistributeHorizontally,
    DistributeVertically,
    ZoomToFit,
    FocusSearch,
    /// Insert the best palette match for the search text at the cursor, wired to the selection.
    InsertTopHit,
    ToggleHelp,
    ToggleAbout,
    Quit,
    /// Open a model in the viewer tab: a product, a run's GLB artifact, bytes another view
    /// holds, or a local file.
    OpenGlbInViewer(crate::viewer::GlbSource),
    /// The viewer's own actions (selection, repair, save, camera…).
    Viewer(crate::viewer::ViewerCommand),
}

impl Command {
    pub fn edit(edit: Edit) -> Self {
        Command::Edit {
            edit,
            coalesce: None,
        }
    }

    /// Whether the command changes the open document (refused while read-only).
    pub fn changes_document(&self) -> bool {
        matches!(
            self,
            Command::Edit { .. }
                | Command::DeleteSelection
                | Command::DuplicateSelection
                | Command::Paste
                | Command::AutoLayout
                | Command::GroupSelection
                | Command::AlignLeft
                | Command::AlignTop
                | Command::DistributeHorizontally
                | Command::DistributeVertically
                | Command::InsertTopHit
                | Command::Undo
                | Command::Redo
                | Command::Save
                | Command::SaveAsCopy
                | Command::DeleteWorkflow { .. }
                | Command::DuplicateWorkflow(_)
                | Command::RestoreRevision(_)
                | Command::SaveOutputType
                | Command::DeleteOutputType
                | Command::ConfirmDelete
        )
    }

    /// The server permission this command's request needs: the app refuses it up front (and
    /// greys its buttons) when `GET /api/me` says the token's role lacks it.
    pub fn permission(&self) -> Option<workflow_wire::Permission> {
        use crate::viewer::ViewerCommand;
        use workflow_wire::Permission as P;
        match self {
            Command::Save
            | Command::SaveAsCopy
            | Command::DeleteWorkflow { .. }
            | Command::ConfirmDelete
            | Command::RestoreRevision(_) => Some(P::EditWorkflows),
            Command::SaveOutputType | Command::DeleteOutputType => Some(P::EditOutputTypes),
            Command::Preflight => Some(P::Preflight),
            Command::Dispatch => Some(P::Dispatch),
            Command::AddProduct | Command::UploadFiles(_) => Some(P::UploadCad),
            Command::CancelRun | Command::Rerun => Some(P::ControlRuns),
            Command::ChangeRollout { .. } => Some(P::ChangeRollout),
            Command::Viewer(ViewerCommand::SaveMap | ViewerCommand::SaveMaterial { .. }) => {
                Some(P::EditMaterials)
            }
            _ => None,
        }
    }

    /// Commands with a menu entry and a keyboard shortcut, in help-overlay order.
    pub fn with_shortcuts() -> Vec<Command> {
        // Redo before Undo: shortcut matching ignores extra Shift, so Ctrl+Shift+Z must be
        // tried first or it would read as Ctrl+Z. Likewise Save as copy before Save.
        vec![
            Command::SaveAsCopy,
            Command::Save,
            Command::Redo,
            Command::Undo,
            Command::Copy,
            Command::Paste,
            Command::DuplicateSelection,
            Command::DeleteSelection,
            Command::SelectAll,
            Command::AutoLayout,
            Command::GroupSelection,
            Command::ZoomToFit,
            Command::FocusSearch,
            Command::ToggleHelp,
            Command::Quit,
        ]
    }

    pub fn label(&self) -> &'static str {
        match self {
            Command::NewWorkflow(Family::CadFile) => "New cad_file workflow",
            Command::NewWorkflow(Family::OrderLine) => "New order_line workflow",
            Command::Save => "Save",
            Command::SaveAsCopy => "Save as copy",
            Command::OpenWorkflow(_) => "Open",
            Command::RefreshWorkflows => "Refresh",
            Command::DuplicateWorkflow(_) => "Duplicate workflow",
            Command::DeleteWorkflow { .. } => "Delete workflow",
            Command::LoadHistory => "History",
            Command::RestoreRevision(_) => "Restore revision",
            Command::ResolveConflict(_) => "Resolve conflict",
            Command::ToggleSettings => "Settings…",
            Command::ApplySettings(_) => "Apply settings",
            Command::ConfirmDelete => "Delete",
            Command::CancelDelete => "Cancel",
            Command::TypeToSearch(_) => "Search",
            Command::ValidateNow => "Validate on server",
            Command::ShowView(MainView::Editor) => "Editor",
            Command::ShowView(MainView::OutputTypes) => "Output types",
            Command::ShowView(MainView::Runs) => "Runs",
            Command::ShowView(MainView::Rollout) => "Rollout",
            Command::RefreshRollout => "Refresh rollout",
            Command::ChangeRollout { .. } => "Change rollout",
            Command::LoadRolloutHistory(_) => "Rollout history",
            Command::ShowView(MainView::Viewer) => "Viewer",
            Command::OpenGlbInViewer(_) => "Open in viewer",
            Command::Viewer(c) => c.label(),
            Command::RefreshRuns => "Refresh runs",
            Command::SelectRun(_) => "Select run",
            Command::CancelRun => "Cancel run",
            Command::Rerun => "Re-run",
            Command::OpenRunInEditor => "Open in editor",
            Command::Preflight => "Preflight",
            Command::Dispatch => "Dispatch",
            Command::RefreshProducts => "Refresh products",
            Command::AddProduct => "Add product…",
            Command::UploadFiles(_) => "Upload files",
            Command::DismissUpload(_) => "Dismiss",
            Command::SelectRunNode(_) => "Show node record",
            Command::CompareRuns { .. } => "Compare runs",
            Command::CloseCompare => "Close compare",
            Command::FetchArtifact(_) => "Load artifact",
            Command::OpenArtifact { .. } => "Open artifact",
            Command::CloseArtifact => "Close artifact",
            Command::SaveArtifact(_) => "Save artifact…",
            Command::SaveArtifactSet(_) => "Save frames…",
            Command::RefreshOutputTypes => "Refresh output types",
            Command::NewOutputType => "New output type",
            Command::SelectOutputType(_) => "Select output type",
            Command::SaveOutputType => "Save output type",
            Command::DeleteOutputType => "Delete output type",
            Command::RestoreDraft(_) => "Restore",
            Command::DiscardDraft(_) => "Discard",
            Command::Edit { .. } => "Edit",
            Command::SealHistory => "Seal history",
            Command::Select(_) => "Select",
            Command::SelectAll => "Select all",
            Command::DeleteSelection => "Delete",
            Command::DuplicateSelection => "Duplicate",
            Command::Copy => "Copy",
            Command::Paste => "Paste",
            Command::Undo => "Undo",
            Command::Redo => "Redo",
            Command::AutoLayout => "Auto-layout",
            Command::GroupSelection => "Group in comment frame",
            Command::AlignLeft => "Align left edges",
            Command::AlignTop => "Align top edges",
            Command::DistributeHorizontally => "Distribute horizontally",
            Command::DistributeVertically => "Distribute vertically",
            Command::ZoomToFit => "Zoom to fit",
            Command::FocusSearch => "Search nodes",
            Command::InsertTopHit => "Insert top hit",
            Command::ToggleHelp => "Keyboard shortcuts",
            Command::ToggleAbout => "About Workflow Studio",
            Command::Quit => "Quit",
        }
    }

    pub fn shortcut(&self) -> Option<KeyboardShortcut> {
        let cmd = Modifiers::COMMAND;
        let cmd_shift = Modifiers::COMMAND.plus(Modifiers::SHIFT);
        let s = |m, k| Some(KeyboardShortcut::new(m, k));
        match self {
            Command::Redo => s(cmd_shift, Key::Z),
            Command::Undo => s(cmd, Key::Z),
            Command::Save => s(cmd, Key::S),
            Command::SaveAsCopy => s(cmd_shift, Key::S),
            Command::Copy => s(cmd, Key::C),
            Command::Paste => s(cmd, Key::V),
            Command::DuplicateSelection => s(cmd, Key::D),
            Command::DeleteSelection => s(Modifiers::NONE, Key::Delete),
            Command::SelectAll => s(cmd, Key::A),
            Command::AutoLayout => s(cmd_shift, Key::L),
            Command::GroupSelection => s(cmd, Key::G),
            Command::ZoomToFit => s(cmd_shift, Key::F),
            Command::FocusSearch => s(cmd, Key::F),
            Command::ToggleHelp => s(Modifiers::NONE, Key::F1),
            Command::Quit => s(cmd, Key::Q),
            _ => None,
        }
    }
}
