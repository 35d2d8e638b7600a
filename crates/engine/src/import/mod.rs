//! `cad.import`: glTF/GLB directly, STEP through OpenCASCADE out of process.

mod external;
pub use external::{side_files, SideFile};
pub mod gltf;
mod gltf_doc;
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
    /// `"auto"`, `"y"` or `"z"`: axis that points up in the source; the scene comes out with
    /// it as +Y. `auto` follows the format's convention: glTF is Y-up, STEP Z-up.
    pub up_axis: String,
    /// Weld vertices that are identical in position, normal and UV (lossless; shrinks
    /// per-face STEP tessellations).
    pub merge_vertices: bool,
    /// STEP converter time limit in seconds.
    pub timeout_s: u64,
    /// STEP converter address-space limit in MB.
    pub memory_limit_mb: u64,
    /// The length unit of the source when the file does not state one (`cad.source`
    /// `source_unit`); the scene always comes out in metres.
    pub source_unit: SourceUnit,
}

/// `cad.source` `source_unit`: the length unit of a source file that does not state one.
///
/// glTF is metres by definition of the format, so `Auto` keeps it and an explicit unit
/// rescales it (a glTF exported in millimetres with `Millimetre` comes out 1000× smaller).
/// STEP files state their unit and OpenCASCADE converts to metres: `Auto` keeps that, and an
/// explicit unit applies only to a STEP file that states no length unit (which OpenCASCADE
/// otherwise reads as millimetres).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceUnit {
    #[default]
    Auto,
    Millimetre,
    Centimetre,
    Metre,
    Inch,
}

impl SourceUnit {
    /// The catalog option (`auto`, `mm`, `cm`, `m`, `in`).
    pub fn parse(option: &str) -> Option<Self> {
        Some(match option {
            "auto" => SourceUnit::Auto,
            "mm" => SourceUnit::Millimetre,
            "cm" => SourceUnit::Centimetre,
            "m" => SourceUnit::Metre,
            "in" => SourceUnit::Inch,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SourceUnit::Auto => "auto",
            SourceUnit::Millimetre => "mm",
            SourceUnit::Centimetre => "cm",
            SourceUnit::Metre => "m",
            SourceUnit::Inch => "in",
        }
    }

    /// One unit in metres; `None` for `Auto`.
    pub fn metres(self) -> Option<f64> {
        match self {
            SourceUnit::Auto => None,
            SourceUnit::Millimetre => Some(0.001),
            SourceUnit::Centimetre => Some(0.01),
            SourceUnit::Metre => Some(1.0),
            SourceUnit::Inch => Some(0.0254),
        }
    }
}

impl Default for ImportParams {
    fn default() -> Self {
        ImportParams {
            linear_tolerance: 0.1,
            angular_tolerance: 0.5,
            up_axis: "auto".to_owned(),
            merge_vertices: true,
            timeout_s: 120,
            memory_limit_mb: 4096,
            source_unit: SourceUnit::Auto,
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
    /// A defect in an object the import reads (the validator's errors that change the
    /// result), named by its JSON pointer.
    #[error(
        "malformed glTF: {}{}: {problem}",
        file_prefix(file),
        shown_pointer(pointer)
    )]
    GltfDefect {
        /// The file as shown to the user (empty for bytes without a name).
        file: String,
        /// JSON pointer of the culprit (`/accessors/3/count`).
        pointer: String,
        problem: String,
    },
    #[error(
        "{}the glTF draws no geometry: {holds}; a product needs at least one mesh with triangles",
        file_prefix(file)
    )]
    NoGeometry {
        file: String,
        /// What the file holds instead, as a clause ("the file holds 2 cameras, and …").
        holds: String,
    },
    #[error("glTF too large: {0}")]
    TooLarge(String),
    #[error("the glTF requires {} which this importer cannot decode{hint}", extensions.join(", "))]
    UnsupportedExtension {
        extensions: Vec<String>,
        /// What to do about it, starting with "; " (empty when there is nothing to suggest).
        hint: String,
    },
    #[error("invalid import parameter: {0}")]
    InvalidParam(String),
    #[error("glTF {pointer} `{uri}` refused: {reason}; a glTF may name only data: URIs and files beside it (no absolute paths, no `..`, no other schemes)")]
    ExternalReferenceRefused {
        /// JSON pointer of the reference (`/buffers/0/uri`).
        pointer: String,
        uri: String,
        reason: String,
    },
    #[error("glTF {pointer} names `{uri}`, which is not among the glTF's files: upload it together with the .gltf (several files in one request, or one .zip), or keep it beside the file")]
    MissingSideFile { pointer: String, uri: String },
    #[error("STEP converter `{program}` not available: {detail}")]
    ConverterMissing { program: String, detail: String },
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
            ImportError::MalformedGltf(_) | ImportError::GltfDefect { .. } => "malformed_gltf",
            ImportError::NoGeometry { .. } => "no_geometry",
            ImportError::TooLarge(_) => "file_too_large",
            ImportError::UnsupportedExtension { .. } => "unsupported_gltf_extension",
            ImportError::InvalidParam(_) => "invalid_param",
            ImportError::ExternalReferenceRefused { .. } => "external_reference_refused",
            ImportError::MissingSideFile { .. } => "missing_side_file",
            ImportError::ConverterMissing { .. } => "step_converter_missing",
            ImportError::ConverterTimeout { .. } => "step_timeout",
            ImportError::ConverterFailed { .. } => "step_conversion_failed",
        }
    }
}

impl ImportError {
    /// The JSON pointer of the culprit, for errors that have one.
    pub fn pointer(&self) -> Option<&str> {
        match self {
            ImportError::GltfDefect { pointer, .. }
            | ImportError::ExternalReferenceRefused { pointer, .. }
            | ImportError::MissingSideFile { pointer, .. } => Some(pointer),
            _ => None,
        }
    }
}

/// The empty JSON pointer is the whole document.
fn shown_pointer(pointer: &str) -> &str {
    if pointer.is_empty() {
        "the document"
    } else {
        pointer
    }
}

fn file_prefix(file: &str) -> String {
    if file.is_empty() {
        String::new()
    } else {
        format!("{file}: ")
    }
}

/// The CAD file extensions [`import_file`] reads (lower case; matched case-insensitively).
pub const CAD_EXTENSIONS: &[&str] = &["glb", "gltf", "step", "stp"];

/// `cad.import`: reads a glTF/GLB/STEP file into a [`Scene`]; messages name it by its path
/// (a local file the user chose).
pub fn import_file(path: &Path, params: &ImportParams) -> Result<Scene, ImportError> {
    import_file_as(path, &path.display().to_string(), params)
}

/// [`import_file`], with messages naming the file `shown` (a product's uploaded file by the
/// name it was uploaded under, never where the server keeps it).
pub fn import_file_as(
    path: &Path,
    shown: &str,
    params: &ImportParams,
) -> Result<Scene, ImportError> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut scene = match extension.as_str() {
        "gltf" | "glb" => gltf::import_gltf_file_as(path, shown)?,
        "step" | "stp" => step::import_step_as(path, shown, params)?,
        _ => {
            return Err(ImportError::UnsupportedFormat {
                path: shown.to_owned(),
                extension,
            })
        }
    };
    let is_step = matches!(extension.as_str(), "step" | "stp");
    finish_import(&mut scene, Some((path, shown)), is_step, params)?;
    Ok(scene)
}

/// `cad.import` of glTF/GLB bytes already in memory (a product's preview GLB fetched over
/// HTTP, a run artifact): the same post-processing as [`import_file`].
pub fn import_gltf_bytes(bytes: &[u8], params: &ImportParams) -> Result<Scene, ImportError> {
    let mut scene = gltf::import_gltf_slice(bytes, None)?;
    finish_import(&mut scene, None, false, params)?;
    Ok(scene)
}

/// Welding, units and up-axis handling shared by every import path (`path` is the source
/// file and its shown name, when there is one: a STEP file is asked whether it states its
/// unit).
fn finish_import(
    scene: &mut Scene,
    path: Option<(&Path, &str)>,
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
    let scale = unit_scale(path, is_step, params.source_unit, scene)?;
    scene.scale_uniform(scale as f32);
    // The engine's scenes are Y-up. glTF sources are Y-up by definition of the format's
    // coordinates; STEP is Z-up by convention, and OpenCASCADE's glTF writer already turns
    // STEP's +Z into +Y (and mm into m). Only the root transforms turn: part keys come from
    // node names and paths, so they do not depend on the setting.
    match (params.up_axis.as_str(), is_step) {
        ("auto", _) | ("y", false) | ("z", true) => {}
        ("z", false) => scene.rotate_about_x(-90.0),
        // A Y-up STEP source (some exporters): undo the converter's Z→Y turn.
        ("y", true) => scene.rotate_about_x(90.0),
        (other, _) => {
            return Err(ImportError::InvalidParam(format!(
                "up_axis `{other}` is not one of auto, y, z"
            )))
        }
    }
    Ok(())
}

/// The factor that brings the imported scene to metres under `unit` (see [`SourceUnit`]).
fn unit_scale(
    path: Option<(&Path, &str)>,
    is_step: bool,
    unit: SourceUnit,
    scene: &mut Scene,
) -> Result<f64, ImportError> {
    let Some(metres) = unit.metres() else {
        return Ok(1.0);
    };
    if !is_step {
        return Ok(metres);
    }
    let states_unit = match path {
        Some((path, shown)) => step::states_length_unit(path, shown)?,
        None => false,
    };
    if states_unit {
        scene.warnings.push(format!(
            "source_unit `{}` ignored: the STEP file states its own length unit",
            unit.as_str()
        ));
        return Ok(1.0);
    }
    // Without a stated unit OpenCASCADE reads millimetres (and writes metres).
    Ok(metres / 0.001)
}
