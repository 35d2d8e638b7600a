//! Products: an uploaded CAD file, its processing results (preview GLB, part manifest,
//! thumbnail) and its material map. Kept as files under `<data dir>/products/<id>/`
//! (`product.json` + the files), which is also what the engine's modules read through
//! [`ProductSource`], synchronously, from their blocking threads.

pub mod upload;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use utoipa::ToSchema;
use workflow_engine::materials::{default_library, MaterialLibrary, MaterialMap, PbrMaterial};
use workflow_engine::modules::{CadPublication, ProductScene, ProductSource, PublishError};

/// CAD file extensions an upload may have: the ones the engine imports.
pub use workflow_engine::import::CAD_EXTENSIONS;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Product {
    pub id: String,
    pub name: String,
    /// The uploaded file's name.
    pub file_name: String,
    /// `uploaded` → `processing` → `processed` (`failed` is reported from the processing run).
    pub status: String,
    pub processing_run_id: Option<String>,
    pub material_map_version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum ProductError {
    #[error("product {0}")]
    NotFound(String),
    #[error("unsupported CAD file `{0}`: expected .glb, .gltf, .step or .stp")]
    UnsupportedFile(String),
    #[error("material map of product {id} is at version {current}, not {expected}")]
    VersionMismatch {
        id: String,
        current: i64,
        expected: i64,
    },
    #[error("product storage: {0}")]
    Io(String),
}

fn io(e: impl std::fmt::Display) -> ProductError {
    ProductError::Io(e.to_string())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Writes `bytes` to a temporary name beside `path`, then renames it.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ProductError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// The products of one data directory.
#[derive(Debug)]
pub struct FsProducts {
    root: PathBuf,
    /// Serialises read-modify-write of `product.json` within this process.
    lock: Mutex<()>,
    /// The user materials (stored in the database; see `crate::materials`), merged over the
    /// default library by [`FsProducts::library`]. Modules read materials synchronously from
    /// their blocking threads, so the store's copy is mirrored here.
    user_materials: RwLock<Vec<PbrMaterial>>,
}

impl FsProducts {
    pub fn new(root: PathBuf) -> Self {
        FsProducts {
            root,
            lock: Mutex::new(()),
            user_materials: RwLock::default(),
        }
    }

    /// Removes staging folders of uploads a process stopped receiving (killed mid-upload)
    /// that are older than `age`: a live upload in another process sharing the folder is
    /// younger than that.
    pub fn remove_abandoned_uploads(&self, age: std::time::Duration) -> usize {
        let Ok(entries) = std::fs::read_dir(self.staging_dir()) else {
            return 0;
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|elapsed| elapsed >= age);
            let ours = entry.file_name().to_string_lossy().starts_with("upload-");
            if old && ours && std::fs::remove_dir_all(entry.path()).is_ok() {
                removed += 1;
            }
        }
        removed
    }

    /// `<root>/<id>`, for well-formed ids only (no path tricks).
    fn dir(&self, id: &str) -> Result<PathBuf, ProductError> {
        let ok = !id.is_empty()
            && id.len() <= 64
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        let dir = self.root.join(id);
        if ok && dir.join("product.json").exists() {
            Ok(dir)
        } else {
            Err(ProductError::NotFound(id.to_owned()))
        }
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Where uploads are received before they become products (on the products' own
    /// filesystem, so a finished upload is moved in with one rename).
    pub fn staging_dir(&self) -> PathBuf {
        self.root.join(STAGING_DIR)
    }

    /// Stores a single-file upload as a new product (tests, seeding).
    pub fn create(&self, file_name: &str, bytes: &[u8]) -> Result<Product, ProductError> {
        let refused = |_| ProductError::UnsupportedFile(file_name.to_owned());
        let mut staged = upload::StagedUpload::new(&self.staging_dir(), u64::MAX).map_err(io)?;
        let mut file = staged.open_file(file_name).map_err(refused)?;
        std::io::Write::write_all(&mut file, bytes).map_err(io)?;
        drop(file);
        let received = staged.finish(None).map_err(refused)?;
        self.create_from_upload(received)
    }

    /// Makes a received upload a new product: its files become the product's `source/`
    /// folder, the only files the import can see beside the main one.
    pub fn create_from_upload(
        &self,
        received: upload::ReceivedUpload,
    ) -> Result<Product, ProductError> {
        let file_name = received.main.clone();
        extension(&file_name)
            .filter(|e| CAD_EXTENSIONS.contains(&e.as_str()))
            .ok_or_else(|| ProductError::UnsupportedFile(file_name.clone()))?;
        let id = uuid::Uuid::new_v4().to_string();
        let dir = self.root.join(&id);
        std::fs::create_dir_all(&dir).map_err(io)?;
        std::fs::rename(received.dir.keep(), dir.join(SOURCE_DIR)).map_err(io)?;
        let now = now_ms();
        let name = Path::new(&file_name)
            .file_stem()
            .map_or_else(|| id.clone(), |s| s.to_string_lossy().into_owned());
        let product = Product {
            id,
            name,
            file_name,
            status: "uploaded".into(),
            processing_run_id: None,
            material_map_version: 0,
            created_at: now,
            updated_at: now,
        };
        self.save(&dir, &product)?;
        Ok(product)
    }

    fn save(&self, dir: &Path, product: &Product) -> Result<(), ProductError> {
        let json = serde_json::to_vec_pretty(product).map_err(io)?;
        write_atomic(&dir.join("product.json"), &json)
    }

    pub fn get(&self, id: &str) -> Result<Product, ProductError> {
        let dir = self.dir(id)?;
        let bytes = std::fs::read(dir.join("product.json")).map_err(io)?;
        serde_json::from_slice(&bytes).map_err(io)
    }

    /// Every product, newest first.
    pub fn list(&self) -> Result<Vec<Product>, ProductError> {
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io(e)),
        };
        for entry in entries.flatten() {
            if let Some(id) = entry.file_name().to_str() {
                if let Ok(p) = self.get(id) {
                    out.push(p);
                }
            }
        }
        out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut Product)) -> Result<Product, ProductError> {
        let _g = self.guard();
        let mut product = self.get(id)?;
        f(&mut product);
        product.updated_at = now_ms();
        self.save(&self.dir(id)?, &product)?;
        Ok(product)
    }

    /// Records the run that processes the product.
    pub fn set_processing(&self, id: &str, run_id: &str) -> Result<Product, ProductError> {
        self.update(id, |p| {
            p.status = "processing".into();
            p.processing_run_id = Some(run_id.to_owned());
        })
    }

    /// The stored part manifest, once processed.
    pub fn manifest(&self, id: &str) -> Result<Option<Value>, ProductError> {
        match std::fs::read(self.dir(id)?.join("manifest.json")) {
            Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).map_err(io)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    /// Whether the product has the processing result `name` (without reading it).
    pub fn has_file(&self, id: &str, name: &str) -> Result<bool, ProductError> {
        Ok(self.dir(id)?.join(name).is_file())
    }

    /// A processing result (`preview.glb`, `thumbnail.png`), if there is one.
    pub fn file(&self, id: &str, name: &str) -> Result<Option<Vec<u8>>, ProductError> {
        match std::fs::read(self.dir(id)?.join(name)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    pub fn material_map(&self, id: &str) -> Result<(MaterialMap, i64), ProductError> {
        let product = self.get(id)?;
        let map = match std::fs::read(self.dir(id)?.join("material_map.json")) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(io)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => MaterialMap::default(),
            Err(e) => return Err(io(e)),
        };
        Ok((map, product.material_map_version))
    }

    /// Replaces the material map if it is still at `expected`; returns the new version.
    pub fn put_material_map(
        &self,
        id: &str,
        expected: i64,
        map: &MaterialMap,
    ) -> Result<i64, ProductError> {
        let _g = self.guard();
        let mut product = self.get(id)?;
        if product.material_map_version != expected {
            return Err(ProductError::VersionMismatch {
                id: id.to_owned(),
                current: product.material_map_version,
                expected,
            });
        }
        let dir = self.dir(id)?;
        write_atomic(
            &dir.join("material_map.json"),
            &serde_json::to_vec_pretty(map).map_err(io)?,
        )?;
        product.material_map_version += 1;
        product.updated_at = now_ms();
        self.save(&dir, &product)?;
        Ok(product.material_map_version)
    }

    /// The material library products are resolved against: the engine's default library with
    /// the user materials merged over it (a user material replaces a default of the same name;
    /// new names follow the defaults, by name).
    pub fn library(&self) -> MaterialLibrary {
        let mut library = default_library();
        for m in self.user_materials() {
            match library.materials.iter_mut().find(|d| d.name == m.name) {
                Some(slot) => *slot = m,
                None => library.materials.push(m),
            }
        }
        library
    }

    /// The user materials as last loaded from the store.
    pub fn user_materials(&self) -> Vec<PbrMaterial> {
        self.user_materials
            .read()
            .map(|m| m.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Replaces the mirrored user materials (after a write, or a reload from the store).
    pub fn set_user_materials(&self, materials: Vec<PbrMaterial>) {
        match self.user_materials.write() {
            Ok(mut m) => *m = materials,
            Err(p) => *p.into_inner() = materials,
        }
    }
}

/// The folder under the products root where uploads are received.
const STAGING_DIR: &str = ".incoming";
/// A staging folder this old belongs to an upload nobody is receiving any more (removed when
/// a server starts).
pub const STALE_UPLOAD: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
/// A product's folder of uploaded files (the main CAD file and its side files).
const SOURCE_DIR: &str = "source";

/// What a processing publishes on a product (`cad.publish`).
const PUBLISHED_FILES: [&str; 3] = ["preview.glb", "manifest.json", "thumbnail.png"];

fn extension(file_name: &str) -> Option<String> {
    Path::new(file_name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

impl ProductSource for FsProducts {
    fn cad_file(&self, product_id: &str) -> Result<PathBuf, String> {
        let product = self.get(product_id).map_err(|e| e.to_string())?;
        let dir = self.dir(product_id).map_err(|e| e.to_string())?;
        if let Ok(relative) = upload::relative_name(&product.file_name) {
            let in_source = dir.join(SOURCE_DIR).join(relative);
            if in_source.is_file() {
                return Ok(in_source);
            }
        }
        // Products stored before uploads kept their side files: `source.<ext>` alone.
        let ext = extension(&product.file_name).unwrap_or_default();
        Ok(dir.join(format!("source.{ext}")))
    }

    fn product_scene(&self, product_id: &str) -> Result<ProductScene, String> {
        let product = self.get(product_id).map_err(|e| e.to_string())?;
        let glb_path = self
            .dir(product_id)
            .map_err(|e| e.to_string())?
            .join("preview.glb");
        if !glb_path.exists() {
            return Err(format!(
                "product {product_id} has no preview GLB yet (status {})",
                product.status
            ));
        }
        Ok(ProductScene {
            glb_path,
            processed: product.status == "processed",
        })
    }

    fn materials(&self, product_id: &str) -> Result<(MaterialLibrary, MaterialMap), String> {
        let (map, _) = self.material_map(product_id).map_err(|e| e.to_string())?;
        Ok((self.library(), map))
    }

    fn publish_cad(&self, p: CadPublication<'_>) -> Result<(), PublishError> {
        let dir = self.dir(p.product_id).map_err(|e| e.to_string())?;
        let s = |e: ProductError| PublishError::Store(e.to_string());
        // Held while checking and writing, so two processings of one product cannot both
        // find it unpublished.
        let guard = self.guard();
        if !p.replace_existing && PUBLISHED_FILES.iter().any(|name| dir.join(name).exists()) {
            return Err(PublishError::AlreadyPublished {
                product_id: p.product_id.to_owned(),
            });
        }
        write_atomic(&dir.join("preview.glb"), p.glb).map_err(s)?;
        if let Some(manifest) = p.manifest {
            let json = serde_json::to_vec_pretty(manifest).map_err(|e| e.to_string())?;
            write_atomic(&dir.join("manifest.json"), &json).map_err(s)?;
        }
        if let Some(png) = p.thumbnail_png {
            write_atomic(&dir.join("thumbnail.png"), png).map_err(s)?;
        }
        drop(guard);
        if p.mark_processed {
            self.update(p.product_id, |prod| prod.status = "processed".into())
                .map_err(s)?;
        }
        Ok(())
    }
}
