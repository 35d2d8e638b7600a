//! What the viewer's widgets ask for. Carried by [`crate::command::Command::Viewer`] and
//! applied in one place ([`super::apply`]).

use std::path::PathBuf;
use std::sync::Arc;

use workflow_engine::camera::CameraPreset;
use workflow_engine::materials::PbrMaterial;

/// What to open in the viewer (`Command::OpenGlbInViewer`; other views call it with a run's
/// GLB artifact or bytes they already hold).
#[derive(Debug, Clone, PartialEq)]
pub enum GlbSource {
    /// GLB or glTF (embedded buffers) bytes.
    Bytes { name: String, bytes: Arc<Vec<u8>> },
    /// A run artifact, fetched from the server.
    Artifact { id: String, title: String },
    /// A product: preview GLB, manifest and material map from the server.
    Product(String),
    /// A local .glb/.gltf (or STEP) file.
    Path(PathBuf),
    /// Ask for a local file with the native dialog.
    PickFile,
}

/// How a click changes the selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectMode {
    Replace,
    /// Ctrl/Cmd-click: add or remove.
    Toggle,
}

/// Where a new name rule goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RulePlace {
    /// After the existing rules (catches only what they leave).
    Last,
    /// Before them (wins over them).
    First,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ViewerCommand {
    RefreshProducts,
    /// Select parts (manifest indices).
    Select {
        parts: Vec<usize>,
        mode: SelectMode,
    },
    ClearSelection,
    /// Select the next (or previous) part without a material and frame it.
    StepMissing {
        forward: bool,
    },
    /// Explicitly assign a library material to the selected parts.
    AssignToSelection(String),
    /// Assign to every instance of the selected parts' meshes.
    AssignToMeshInstances(String),
    /// Remove the explicit assignments of the selected parts.
    ClearAssignments,
    AddRule {
        pattern: String,
        material: String,
        place: RulePlace,
    },
    MoveRule {
        from: usize,
        to: usize,
    },
    DeleteRule(usize),
    Undo,
    Redo,
    SetUseFileMaterials(bool),
    /// Save the map to the server (`If-Match` the version it was loaded at).
    SaveMap,
    /// After a 409: take the server's map (the local one stays in undo).
    ReloadMap,
    /// After a 409: save the local map over the server's newer version.
    OverwriteMap,
    DismissConflict,
    /// Render a still of the product with the saved map on the server (saving first).
    RenderPreview,
    ClosePreview,
    /// Create (`create`) or replace a library material.
    SaveMaterial {
        material: PbrMaterial,
        create: bool,
    },
    RefreshLibrary,
    CameraPreset(CameraPreset),
    FitAll,
    FitSelection,
    Close,
}

impl ViewerCommand {
    pub fn label(&self) -> &'static str {
        match self {
            ViewerCommand::RefreshProducts => "Refresh products",
            ViewerCommand::Select { .. } => "Select part",
            ViewerCommand::ClearSelection => "Clear selection",
            ViewerCommand::StepMissing { forward: true } => "Next missing",
            ViewerCommand::StepMissing { forward: false } => "Previous missing",
            ViewerCommand::AssignToSelection(_) => "Assign to selection",
            ViewerCommand::AssignToMeshInstances(_) => "Assign to all instances",
            ViewerCommand::ClearAssignments => "Clear assignment",
            ViewerCommand::AddRule { .. } => "Add rule",
            ViewerCommand::MoveRule { .. } => "Move rule",
            ViewerCommand::DeleteRule(_) => "Delete rule",
            ViewerCommand::Undo => "Undo",
            ViewerCommand::Redo => "Redo",
            ViewerCommand::SetUseFileMaterials(_) => "Use file materials",
            ViewerCommand::SaveMap => "Save map",
            ViewerCommand::ReloadMap => "Reload server map",
            ViewerCommand::OverwriteMap => "Overwrite server map",
            ViewerCommand::DismissConflict => "Keep editing",
            ViewerCommand::RenderPreview => "Render preview still",
            ViewerCommand::ClosePreview => "Close preview",
            ViewerCommand::SaveMaterial { create: true, .. } => "Create material",
            ViewerCommand::SaveMaterial { create: false, .. } => "Save material",
            ViewerCommand::RefreshLibrary => "Refresh library",
            ViewerCommand::CameraPreset(_) => "Camera preset",
            ViewerCommand::FitAll => "Fit all",
            ViewerCommand::FitSelection => "Fit selection",
            ViewerCommand::Close => "Close model",
        }
    }
}
