//! The one product of a local run: its CAD file where it lies, its processing results in a
//! temporary directory, its material map from `--materials`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::materials::{default_library, MaterialLibrary, MaterialMap};
use crate::modules::{CadPublication, ProductScene, ProductSource, PublishError};

/// A [`ProductSource`] holding a single product.
pub struct LocalProduct {
    id: String,
    cad_file: PathBuf,
    dir: PathBuf,
    library: MaterialLibrary,
    map: MaterialMap,
    processed: AtomicBool,
}

impl LocalProduct {
    /// Product `id` with the CAD file `cad_file`; `cad.publish` writes into `dir`.
    pub fn new(id: &str, cad_file: &Path, dir: &Path, map: MaterialMap) -> Self {
        LocalProduct {
            id: id.to_owned(),
            cad_file: cad_file.to_path_buf(),
            dir: dir.to_path_buf(),
            library: default_library(),
            map,
            processed: AtomicBool::new(false),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The id a local product of `cad_file` gets: the file stem, reduced to letters, digits,
    /// `-` and `_` (it also names the deliverables: `{product}` in `output.publish`).
    pub fn id_for(cad_file: &Path) -> String {
        let stem = cad_file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let id: String = stem
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(64)
            .collect();
        if id.is_empty() {
            "product".to_owned()
        } else {
            id
        }
    }

    fn check(&self, product_id: &str) -> Result<(), String> {
        if product_id == self.id {
            Ok(())
        } else {
            Err(format!(
                "unknown product {product_id} (this run has product {})",
                self.id
            ))
        }
    }

    fn glb_path(&self) -> PathBuf {
        self.dir.join("preview.glb")
    }
}

impl ProductSource for LocalProduct {
    fn cad_file(&self, product_id: &str) -> Result<PathBuf, String> {
        self.check(product_id)?;
        Ok(self.cad_file.clone())
    }

    fn product_scene(&self, product_id: &str) -> Result<ProductScene, String> {
        self.check(product_id)?;
        let glb_path = self.glb_path();
        if !glb_path.exists() {
            return Err(format!("product {product_id} has no preview GLB yet"));
        }
        Ok(ProductScene {
            glb_path,
            processed: self.processed.load(Ordering::SeqCst),
        })
    }

    fn materials(&self, product_id: &str) -> Result<(MaterialLibrary, MaterialMap), String> {
        self.check(product_id)?;
        Ok((self.library.clone(), self.map.clone()))
    }

    fn publish_cad(&self, p: CadPublication<'_>) -> Result<(), PublishError> {
        self.check(p.product_id)?;
        if !p.replace_existing && self.glb_path().exists() {
            return Err(PublishError::AlreadyPublished {
                product_id: p.product_id.to_owned(),
            });
        }
        let write = |name: &str, bytes: &[u8]| {
            std::fs::write(self.dir.join(name), bytes)
                .map_err(|e| format!("cannot write {name} of product {}: {e}", self.id))
        };
        write("preview.glb", p.glb)?;
        if let Some(manifest) = p.manifest {
            let json = serde_json::to_vec_pretty(manifest).map_err(|e| e.to_string())?;
            write("manifest.json", &json)?;
        }
        if let Some(png) = p.thumbnail_png {
            write("thumbnail.png", png)?;
        }
        if p.mark_processed {
            self.processed.store(true, Ordering::SeqCst);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_the_file_stem() {
        assert_eq!(
            LocalProduct::id_for(Path::new("/x/CesiumMilkTruck.glb")),
            "CesiumMilkTruck"
        );
        assert_eq!(LocalProduct::id_for(Path::new("a b/c d.step")), "c_d");
        assert_eq!(LocalProduct::id_for(Path::new(".glb")), "_glb");
        assert_eq!(LocalProduct::id_for(Path::new("")), "product");
    }
}
