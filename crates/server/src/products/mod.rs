//! Products: an uploaded CAD file, its processing results (preview GLB, part manifest,
//! thumbnail) and its material map. The records are in the database ([`ProductStore`]), shared
//! by every server process; the files are in the artifact store ([`crate::artifacts`]) under
//! keys of ours. The engine's modules read products through [`ProductSource`], synchronously
//! from their blocking threads, and get local files: sources and GLBs are fetched into a cache
//! in the data directory once (a hard link when the artifact store is a local directory).

pub mod import;
pub mod upload;

use crate::artifacts::{BlobError, Blobs};
use crate::store::{ProductPublication, ProductRecord, SourceFile, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock};
use utoipa::ToSchema;
use workflow_engine::materials::{default_library, MaterialLibrary, MaterialMap, PbrMaterial};
use workflow_engine::modules::{CadPublication, ProductScene, ProductSource, PublishError};

/// CAD file extensions an upload may have: the ones the engine imports.
pub use workflow_engine::import::CAD_EXTENSIONS;

/// A product as the API shows it.
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

impl From<&ProductRecord> for Product {
    fn from(r: &ProductRecord) -> Self {
        Product {
            id: r.id.clone(),
            name: r.name.clone(),
            file_name: r.file_name.clone(),
            status: r.status.clone(),
            processing_run_id: r.processing_run_id.clone(),
            material_map_version: r.material_map_version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
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
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Blob(#[from] BlobError),
}

impl From<StoreError> for ProductError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ProductError::NotFound(
                what.trim_start_matches("product ")
                    .trim_matches('\'')
                    .to_owned(),
            ),
            other => ProductError::Store(other),
        }
    }
}

fn io(e: impl std::fmt::Display) -> ProductError {
    ProductError::Io(e.to_string())
}

fn now_ms() -> i64 {
    crate::store::now_ms()
}

/// Whether `id` may be a product id (ours are UUIDs): anything else is unknown without asking
/// the database, and never becomes part of a key or a path.
fn plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Runs blocking artifact-store work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ProductError> + Send + 'static,
) -> Result<T, ProductError> {
    tokio::task::spawn_blocking(f).await.map_err(io)?
}

/// The products: records in the store, files in the artifact store, a local cache for the
/// engine, and the user-materials mirror.
pub struct Products {
    data_dir: PathBuf,
    blobs: RwLock<Blobs>,
    /// The store and the runtime its futures run on, bound when the server starts (the
    /// modules call in from blocking threads).
    bound: OnceLock<(Arc<dyn Store>, tokio::runtime::Handle)>,
    /// The user materials (stored in the database; see `crate::materials`), merged over the
    /// default library by [`Products::library`]. Modules read materials synchronously from
    /// their blocking threads, so the store's copy is mirrored here.
    user_materials: RwLock<Vec<PbrMaterial>>,
}

impl std::fmt::Debug for Products {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Products")
            .field("artifacts", &self.blobs().describe())
            .field("bound", &self.bound.get().is_some())
            .finish()
    }
}

impl Products {
    /// Products of the server with this data directory (staging and cache are local to it),
    /// files in `blobs`.
    pub fn new(data_dir: PathBuf, blobs: Blobs) -> Self {
        Products {
            data_dir,
            blobs: RwLock::new(blobs),
            bound: OnceLock::new(),
            user_materials: RwLock::default(),
        }
    }

    /// Binds the store and the runtime (once; later calls are ignored).
    pub fn bind(&self, store: Arc<dyn Store>, handle: tokio::runtime::Handle) {
        let _ = self.bound.set((store, handle));
    }

    /// Replaces the artifact store (before the server starts).
    pub fn set_blobs(&self, blobs: Blobs) {
        match self.blobs.write() {
            Ok(mut b) => *b = blobs,
            Err(p) => *p.into_inner() = blobs,
        }
    }

    pub fn blobs(&self) -> Blobs {
        match self.blobs.read() {
            Ok(b) => b.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn store(&self) -> Result<&Arc<dyn Store>, ProductError> {
        self.bound
            .get()
            .map(|(s, _)| s)
            .ok_or_else(|| io("products are not bound to a store yet"))
    }

    /// The folder of the legacy file products and of uploads being received.
    pub fn products_dir(&self) -> PathBuf {
        self.data_dir.join("products")
    }

    /// Where uploads are received before they become products (local to this host).
    pub fn staging_dir(&self) -> PathBuf {
        self.products_dir().join(STAGING_DIR)
    }

    /// Local copies of sources and GLBs for the engine (re-fetchable, safe to delete while
    /// no run is using them).
    fn cache_dir(&self, id: &str) -> PathBuf {
        self.data_dir.join("cache").join("products").join(id)
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

    pub async fn record(&self, id: &str) -> Result<ProductRecord, ProductError> {
        if !plausible_id(id) {
            return Err(ProductError::NotFound(id.chars().take(64).collect()));
        }
        Ok(self.store()?.get_product(id).await?)
    }

    /// Stores a single-file upload as a new product (tests, seeding).
    pub async fn create(&self, file_name: &str, bytes: &[u8]) -> Result<Product, ProductError> {
        let refused = |_| ProductError::UnsupportedFile(file_name.to_owned());
        let mut staged = upload::StagedUpload::new(&self.staging_dir(), u64::MAX).map_err(io)?;
        let mut file = staged.open_file(file_name).map_err(refused)?;
        std::io::Write::write_all(&mut file, bytes).map_err(io)?;
        drop(file);
        let received = staged.finish(None).map_err(refused)?;
        self.create_from_upload(received).await
    }

    /// Makes a received upload a new product: its files go to the artifact store under keys
    /// of ours (`products/<id>/files/<n>`), their names into the record; they are the only
    /// files the import can see beside the main one.
    pub async fn create_from_upload(
        &self,
        received: upload::ReceivedUpload,
    ) -> Result<Product, ProductError> {
        let file_name = received.main.clone();
        extension(&file_name)
            .filter(|e| CAD_EXTENSIONS.contains(&e.as_str()))
            .ok_or_else(|| ProductError::UnsupportedFile(file_name.clone()))?;
        let id = uuid::Uuid::new_v4().to_string();
        let blobs = self.blobs();
        let prefix = format!("products/{id}/files");
        let source_files = blocking(move || {
            let mut out = Vec::with_capacity(received.names.len());
            for (n, name) in received.names.iter().enumerate() {
                let path = received
                    .dir
                    .path()
                    .join(upload::relative_name(name).map_err(io)?);
                let key = format!("{prefix}/{n}");
                let name = name.clone();
                let size = blobs.put_file(&key, &path)?;
                out.push(SourceFile { name, key, size });
            }
            Ok(out)
        })
        .await?;
        let now = now_ms();
        let name = Path::new(&file_name)
            .file_stem()
            .map_or_else(|| id.clone(), |s| s.to_string_lossy().into_owned());
        let record = ProductRecord {
            id,
            name,
            file_name,
            status: "uploaded".into(),
            processing_run_id: None,
            source_files,
            manifest: None,
            material_map: None,
            material_map_version: 0,
            glb_key: None,
            thumbnail_key: None,
            published: 0,
            created_at: now,
            updated_at: now,
        };
        self.store()?.create_product(&record).await?;
        Ok(Product::from(&record))
    }

    pub async fn get(&self, id: &str) -> Result<Product, ProductError> {
        Ok(Product::from(&self.record(id).await?))
    }

    /// Every product, newest first.
    pub async fn list(&self) -> Result<Vec<Product>, ProductError> {
        let records = self.store()?.list_products().await?;
        Ok(records.iter().map(Product::from).collect())
    }

    /// Records the run that processes the product.
    pub async fn set_processing(&self, id: &str, run_id: &str) -> Result<Product, ProductError> {
        let record = self.store()?.set_product_processing(id, run_id).await?;
        Ok(Product::from(&record))
    }

    /// A processing result (`preview.glb`, `thumbnail.png`), if there is one.
    pub async fn file(&self, id: &str, name: &str) -> Result<Option<Vec<u8>>, ProductError> {
        let record = self.record(id).await?;
        let key = match name {
            "preview.glb" => record.glb_key,
            "thumbnail.png" => record.thumbnail_key,
            _ => None,
        };
        let Some(key) = key else { return Ok(None) };
        let blobs = self.blobs();
        blocking(move || Ok(blobs.get(&key)?)).await
    }

    pub async fn material_map(&self, id: &str) -> Result<(MaterialMap, i64), ProductError> {
        let record = self.record(id).await?;
        Ok((map_of(&record)?, record.material_map_version))
    }

    /// Replaces the material map if it is still at `expected`; returns the new version.
    pub async fn put_material_map(
        &self,
        id: &str,
        expected: i64,
        map: &MaterialMap,
    ) -> Result<i64, ProductError> {
        self.record(id).await?;
        let json = serde_json::to_value(map).map_err(io)?;
        match self
            .store()?
            .put_product_material_map(id, expected, &json)
            .await
        {
            Ok(v) => Ok(v),
            Err(StoreError::Conflict {
                current_version, ..
            }) => Err(ProductError::VersionMismatch {
                id: id.to_owned(),
                current: current_version,
                expected,
            }),
            Err(e) => Err(e.into()),
        }
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

    /// Waits for a store call from a module's blocking thread.
    fn block_on<T>(
        &self,
        f: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, String> {
        let (_, handle) = self
            .bound
            .get()
            .ok_or_else(|| "products are not bound to a store yet".to_owned())?;
        handle.block_on(f).map_err(|e| e.to_string())
    }

    fn record_blocking(&self, id: &str) -> Result<ProductRecord, String> {
        if !plausible_id(id) {
            return Err(ProductError::NotFound(id.chars().take(64).collect()).to_string());
        }
        let store = self.store().map_err(|e| e.to_string())?.clone();
        self.block_on(async move { store.get_product(id).await })
    }

    /// The product's uploaded files in a local folder under their uploaded names (fetched
    /// once: sources never change).
    fn local_sources(&self, record: &ProductRecord) -> Result<PathBuf, ProductError> {
        let dir = self.cache_dir(&record.id);
        let sources = dir.join(SOURCE_DIR);
        if sources.is_dir() {
            return Ok(sources);
        }
        std::fs::create_dir_all(&dir).map_err(io)?;
        let tmp = dir.join(format!(".source-{}", uuid::Uuid::new_v4().simple()));
        let blobs = self.blobs();
        let fetch = || -> Result<(), ProductError> {
            for file in &record.source_files {
                let relative = upload::relative_name(&file.name).map_err(io)?;
                if !blobs.fetch_to(&file.key, &tmp.join(relative))? {
                    return Err(io(format!(
                        "uploaded file `{}` is missing from the artifact store",
                        file.name
                    )));
                }
            }
            Ok(())
        };
        if let Err(e) = fetch() {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        // Another thread or process may have finished first: theirs is as good as ours.
        if std::fs::rename(&tmp, &sources).is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
            if !sources.is_dir() {
                return Err(io("cannot place the fetched sources"));
            }
        }
        Ok(sources)
    }
}

/// The stored material map (empty until first saved).
fn map_of(record: &ProductRecord) -> Result<MaterialMap, ProductError> {
    match &record.material_map {
        Some(v) => serde_json::from_value(v.clone()).map_err(io),
        None => Ok(MaterialMap::default()),
    }
}

/// The folder under the products root where uploads are received.
const STAGING_DIR: &str = ".incoming";
/// A staging folder this old belongs to an upload nobody is receiving any more (removed when
/// a server starts).
pub const STALE_UPLOAD: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
/// A product's folder of uploaded files (the main CAD file and its side files).
const SOURCE_DIR: &str = "source";

fn extension(file_name: &str) -> Option<String> {
    Path::new(file_name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

impl ProductSource for Products {
    fn cad_file(&self, product_id: &str) -> Result<PathBuf, String> {
        let record = self.record_blocking(product_id)?;
        let sources = self.local_sources(&record).map_err(|e| e.to_string())?;
        let relative = upload::relative_name(&record.file_name).map_err(|e| e.to_string())?;
        Ok(sources.join(relative))
    }

    fn product_scene(&self, product_id: &str) -> Result<ProductScene, String> {
        let record = self.record_blocking(product_id)?;
        let Some(key) = &record.glb_key else {
            return Err(format!(
                "product {product_id} has no preview GLB yet (status {})",
                record.status
            ));
        };
        // Named by the publication count: a re-processing publishes a new GLB under the same
        // key, and must not be answered from an old copy.
        let glb_path = self
            .cache_dir(&record.id)
            .join(format!("preview-{}.glb", record.published));
        if !glb_path.is_file()
            && !self
                .blobs()
                .fetch_to(key, &glb_path)
                .map_err(|e| e.to_string())?
        {
            return Err(format!(
                "the preview GLB of product {product_id} is missing from the artifact store"
            ));
        }
        Ok(ProductScene {
            glb_path,
            processed: record.status == "processed",
        })
    }

    fn materials(&self, product_id: &str) -> Result<(MaterialLibrary, MaterialMap), String> {
        let record = self.record_blocking(product_id)?;
        let map = map_of(&record).map_err(|e| e.to_string())?;
        Ok((self.library(), map))
    }

    fn publish_cad(&self, p: CadPublication<'_>) -> Result<(), PublishError> {
        let id = self.record_blocking(p.product_id)?.id;
        let store = self.store().map_err(|e| e.to_string())?.clone();
        let s = |e: String| PublishError::Store(e);
        // Claimed in one conditional UPDATE, so two processings of one product (in any
        // processes) cannot both find it unpublished.
        let claimed = self
            .block_on(store.claim_product_publication(&id, p.replace_existing))
            .map_err(s)?;
        if !claimed {
            return Err(PublishError::AlreadyPublished {
                product_id: p.product_id.to_owned(),
            });
        }
        let blobs = self.blobs();
        let write = || -> Result<ProductPublication, String> {
            let glb_key = format!("products/{id}/preview.glb");
            blobs.put(&glb_key, p.glb).map_err(|e| e.to_string())?;
            let thumbnail_key = match p.thumbnail_png {
                Some(png) => {
                    let key = format!("products/{id}/thumbnail.png");
                    blobs.put(&key, png).map_err(|e| e.to_string())?;
                    Some(key)
                }
                None => None,
            };
            Ok(ProductPublication {
                glb_key,
                thumbnail_key,
                manifest: p
                    .manifest
                    .map(serde_json::to_value)
                    .transpose()
                    .map_err(|e| e.to_string())?,
                mark_processed: p.mark_processed,
            })
        };
        let publication = match write() {
            Ok(publication) => publication,
            Err(e) => {
                let _ = self.block_on(store.release_product_publication(&id));
                return Err(s(e));
            }
        };
        self.block_on(store.finish_product_publication(&id, &publication))
            .map_err(s)
    }
}
