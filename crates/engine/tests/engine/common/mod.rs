#![allow(dead_code)]
use std::path::PathBuf;
use std::sync::Mutex;

use workflow_engine::materials::{default_library, MaterialLibrary, MaterialMap};
use workflow_engine::modules::{CadPublication, ProductScene, ProductSource, PublishError};
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

/// A STEP fixture, imported (through the converter `cargo test --workspace` builds).
pub fn load_step(name: &str) -> Scene {
    import_file(&step(name), &ImportParams::default()).expect("STEP fixture imports")
}

pub fn step(name: &str) -> PathBuf {
    fixtures().join("step").join(name)
}

/// One product, `p1`, in a temporary directory: its CAD file, the preview GLB it publishes and
/// its material map (the server's `FsProducts`, reduced).
pub struct DirProducts {
    pub dir: PathBuf,
    pub source: PathBuf,
    pub map: Mutex<MaterialMap>,
}

impl ProductSource for DirProducts {
    fn cad_file(&self, product_id: &str) -> Result<PathBuf, String> {
        (product_id == "p1")
            .then(|| self.source.clone())
            .ok_or_else(|| format!("unknown product {product_id}"))
    }
    fn product_scene(&self, _: &str) -> Result<ProductScene, String> {
        let glb_path = self.dir.join("preview.glb");
        Ok(ProductScene {
            processed: glb_path.exists(),
            glb_path,
        })
    }
    fn materials(&self, _: &str) -> Result<(MaterialLibrary, MaterialMap), String> {
        let map = self.map.lock().map_err(|e| e.to_string())?.clone();
        Ok((default_library(), map))
    }
    fn publish_cad(&self, p: CadPublication<'_>) -> Result<(), PublishError> {
        let path = self.dir.join("preview.glb");
        if !p.replace_existing && path.exists() {
            return Err(PublishError::AlreadyPublished {
                product_id: p.product_id.to_owned(),
            });
        }
        std::fs::write(path, p.glb).map_err(|e| PublishError::Store(e.to_string()))
    }
}
