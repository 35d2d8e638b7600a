//! `export.scene` `format = usd`: OpenUSD (usd-core's `pxr`) out of process. Owned by the usd
//! branch; until it lands the format answers `format_not_available`.

use crate::export_glb::ExportedFile;
use crate::params::SceneExportParams;
use crate::pipeline::{ExportPipelineError, SceneValue};

/// Writes the scene as USD; `log` gets the tool's stderr lines.
pub fn export_usd_scene(
    _value: &SceneValue,
    _params: &SceneExportParams,
    _stem: &str,
    _log: &mut Vec<String>,
) -> Result<Vec<ExportedFile>, ExportPipelineError> {
    Err(ExportPipelineError::FormatNotAvailable("usd".into()))
}
