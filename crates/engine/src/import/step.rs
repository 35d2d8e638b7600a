//! STEP import placeholder (filled below).
use std::path::Path;
use super::{ImportError, ImportParams};
use crate::scene::Scene;
pub fn import_step(path: &Path, _params: &ImportParams) -> Result<Scene, ImportError> {
    Err(ImportError::ConverterMissing(path.display().to_string()))
}
