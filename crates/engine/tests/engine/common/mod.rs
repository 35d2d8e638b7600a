#![allow(dead_code)]
use std::path::PathBuf;

use workflow_engine::{import_file, ImportParams, Scene};

/// The shared fixtures directory (`../shared/fixtures` from the workspace root, or
/// `WORKFLOW_FIXTURES`).
pub fn fixtures() -> PathBuf {
    if let Ok(dir) = std::env::var("WORKFLOW_FIXTURES") {
        return PathBuf::from(dir);
    }
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for candidate in [
        here.join("../../shared/fixtures"),
        here.join("../../../shared/fixtures"),
        PathBuf::from("/work/shared/fixtures"),
    ] {
        if candidate.exists() {
            return candidate;
        }
    }
    here.join("../../../shared/fixtures")
}

pub fn gltf(name: &str) -> PathBuf {
    fixtures().join("gltf").join(name)
}

pub fn load(name: &str) -> Scene {
    import_file(&gltf(name), &ImportParams::default()).expect("fixture imports")
}
