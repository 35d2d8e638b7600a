//! `cad.import`: glTF/GLB directly, STEP through OpenCASCADE out of process.

pub mod gltf;
pub mod step;

use std::path::Path;

use crate::scene::Scene;

/// Parameters of `cad.import` (see the node catalog for ranges and defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportParams {
    /// STEP chord tolerance (model units, usually mm).
    pub linear_tolerance: f64,
    /// STEP angular tolerance in radians.
    pub angular_tolerance: f64,
    /// `"y"` or `"z"`: axis that points up in the source; the scene comes out with it as +Y.
    pub up_axis: String,
    /// Weld vertices that are identical in position, normal and UV (lossless; shrinks
    /// per-face STEP tessellations).
    pub merge_vertices: bool,
    /// STEP converter time limit in seconds.
    pub timeout_s: u64,
    /// STEP converter address-space limit in MB.
    pub memory_limit_mb: u64,
}

impl Default for ImportParams {
    fn default() -> Self {
        ImportParams {
            linear_tolerance: 0.1,
            angular_tolerance: 0.5,
            up_axis: "y".to_owned(),
            merge_vertices: true,
            timeout_s: 120,
            memory_limit_mb: 4096,
        }
    }
}

/// Import errors. `code()` is stable; the message names the file and the defect.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "unsupported CAD file type `{extension}` ({path}): expected .gltf, .glb, .step or .stp"
    )]
    UnsupportedFormat { path: String, extension: String },
    #[error("malformed glTF: {0}")]
    MalformedGltf(String),
    #[error("glTF too large: {0}")]
    TooLarge(String),
    #[error("invalid import parameter: {0}")]
    InvalidParam(String),
    #[error("STEP converter `occt-draw` not available: {0} (install Debian package occt-draw)")]
    ConverterMissing(String),
    #[error("STEP conversion of {path} exceeded the {timeout_s} s time limit and was stopped")]
    ConverterTimeout { path: String, timeout_s: u64 },
    #[error("STEP conversion of {path} failed: {reason}; converter output: {stderr_tail}")]
    ConverterFailed {
        path: String,
        reason: String,
        stderr_tail: String,
    },
}

impl ImportError {
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::Io { .. } => "import_io",
            ImportError::UnsupportedFormat { .. } => "unsupported_format",
            ImportError::MalformedGltf(_) => "malformed_gltf",
            ImportError::TooLarge(_) => "file_too_large",
            ImportError::InvalidParam(_) => "invalid_param",
            ImportError::ConverterMissing(_) => "step_converter_missing",
            ImportError::ConverterTimeout { .. } => "step_timeout",
            ImportError::ConverterFailed { .. } => "step_conversion_failed",
        }
    }
}

/// The CAD file extensions [`import_file`] reads (lower case; matched case-insensitively).
pub const CAD_EXTENSIONS: &[&str] = &["glb", "gltf", "step", "stp"];

/// `cad.import`: reads a glTF/GLB/STEP file into a [`Scene`].
pub fn import_file(path: &Path, params: &ImportParams) -> Result<Scene, ImportError> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut scene = match extension.as_str() {
        "gltf" | "glb" => gltf::import_gltf_file(path)?,
        "step" | "stp" => step::import_step(path, params)?,
        _ => {
            return Err(ImportError::UnsupportedFormat {
                path: path.display().to_string(),
                extension,
            })
        }
    };
    let is_step = matches!(extension.as_str(), "step" | "stp");
    finish_import(&mut scene, is_step, params)?;
    Ok(scene)
}

/// `cad.import` of glTF/GLB bytes already in memory (a product's preview GLB fetched over
/// HTTP, a run artifact): the same post-processing as [`import_file`].
pub fn import_gltf_bytes(bytes: &[u8], params: &ImportParams) -> Result<Scene, ImportError> {
    let mut scene = gltf::import_gltf_slice(bytes, None)?;
    finish_import(&mut scene, false, params)?;
    Ok(scene)
}

/// Welding and up-axis handling shared by every import path.
fn finish_import(
    scene: &mut Scene,
    is_step: bool,
    params: &ImportParams,
) -> Result<(), ImportError> {
    if params.merge_vertices {
        for mesh in &mut scene.meshes {
            for prim in &mut mesh.primitives {
                prim.weld();
            }
        }
    }
    // The engine's scenes are Y-up. glTF sources are Y-up by definition of the format's
    // coordinates; OpenCASCADE's glTF writer already turns STEP's +Z into +Y (and mm into m).
    match (params.up_axis.as_str(), is_step) {
        ("y", false) | ("z", true) => {}
        ("z", false) => scene.rotate_about_x(-90.0),
        // A Y-up STEP source: undo the converter's Z→Y turn.
        ("y", true) => scene.rotate_about_x(90.0),
        (other, _) => {
            return Err(ImportError::InvalidParam(format!(
                "up_axis `{other}` is not one of y, z"
            )))
        }
    }
    Ok(())
}
