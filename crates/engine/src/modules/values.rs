//! What the production modules put on edges besides [`crate::pipeline::SceneValue`]
//! (`scene`) and `Arc<Manifest>` (`part_manifest`).

use std::path::PathBuf;
use std::sync::Arc;

/// `cad_file`: the uploaded file on disk.
#[derive(Debug, Clone)]
pub struct CadFileValue {
    pub path: PathBuf,
    /// How messages name the file: the uploaded file's name and its product (never where the
    /// server keeps it), or the path a command-line user gave.
    pub shown: String,
    pub product_id: Option<String>,
    /// `cad.source` `source_unit`: the file's length unit when it states none.
    pub source_unit: crate::import::SourceUnit,
}

/// `image`: an encoded still or thumbnail.
#[derive(Debug, Clone)]
pub struct ImageValue {
    pub bytes: Arc<Vec<u8>>,
    pub media_type: &'static str,
    pub ext: &'static str,
    pub width: u32,
    pub height: u32,
    /// The artifact the renderer stored these bytes as.
    pub artifact_id: Option<String>,
}

/// `frames`: a turntable, encoded as an animated GIF (and stored frame by frame as PNGs).
#[derive(Debug, Clone)]
pub struct FramesValue {
    pub gif: Arc<Vec<u8>>,
    pub frame_count: usize,
    pub width: u32,
    pub height: u32,
    /// The `turntable` artifact of these bytes.
    pub artifact_id: Option<String>,
    /// The `turntable_frame` artifacts (one PNG per frame, in order); empty when the node
    /// was asked for the GIF only.
    pub frame_artifact_ids: Vec<String>,
}

/// `scene_file`: an exported GLB (or the main file of a glTF export).
#[derive(Debug, Clone)]
pub struct FileValue {
    pub name: String,
    pub media_type: &'static str,
    pub bytes: Arc<Vec<u8>>,
    /// The artifact the exporting module stored these bytes as.
    pub artifact_id: Option<String>,
}

/// `material_report`: the resolution and the `material_report` artifact its JSON was stored
/// as.
#[derive(Debug, Clone)]
pub struct MaterialReportValue {
    pub resolution: Arc<crate::materials::MaterialResolution>,
    pub artifact_id: Option<String>,
}
