//! Storage of products: the record of an uploaded CAD file, its processing results' keys in
//! the artifact store, its part manifest and its material map. Several server processes share
//! these records, so every change is one SQL statement with its condition in it (the
//! material map's version, the publication claim), never a read-modify-write.

use super::StoreResult;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One uploaded file of a product: the name the upload gave it (relative, `/`-separated, as a
/// glTF's URIs name it) and where its bytes are in the artifact store (a key of ours).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    pub name: String,
    pub key: String,
    pub size: u64,
}

/// A stored product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductRecord {
    pub id: String,
    pub name: String,
    /// The main CAD file: one of `source_files` by name.
    pub file_name: String,
    /// `uploaded` → `processing` → `processed`.
    pub status: String,
    pub processing_run_id: Option<String>,
    pub source_files: Vec<SourceFile>,
    /// The part manifest (with the import's warnings), once processed.
    pub manifest: Option<Value>,
    /// The material map JSON; None until first saved (an empty map).
    pub material_map: Option<Value>,
    pub material_map_version: i64,
    /// Artifact-store keys of the preview GLB and the thumbnail, once published.
    pub glb_key: Option<String>,
    pub thumbnail_key: Option<String>,
    /// How many publications completed (0: never processed); names cached copies of the GLB.
    pub published: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[async_trait]
pub trait ProductStore: Send + Sync {
    /// Stores a new product; `AlreadyExists` when its id is taken (an import another process
    /// already did).
    async fn create_product(&self, product: &ProductRecord) -> StoreResult<()>;
    async fn get_product(&self, id: &str) -> StoreResult<ProductRecord>;
    /// Every product, newest first.
    async fn list_products(&self) -> StoreResult<Vec<ProductRecord>>;
    /// Records the run that processes the product (status `processing`).
    async fn set_product_processing(&self, id: &str, run_id: &str) -> StoreResult<ProductRecord>;
    /// Replaces the material map when it is still at `expected`: the new version, or
    /// `Conflict` with the current one.
    async fn put_product_material_map(
        &self,
        id: &str,
        expected: i64,
        map: &Value,
    ) -> StoreResult<i64>;
    /// Claims the right to publish processing results: always with `replace`, otherwise only
    /// for a product never claimed before. False when another processing has it.
    async fn claim_product_publication(&self, id: &str, replace: bool) -> StoreResult<bool>;
    /// Gives a claim back after a publication failed half-way.
    async fn release_product_publication(&self, id: &str) -> StoreResult<()>;
    /// Records published results (after their bytes are in the artifact store).
    async fn finish_product_publication(
        &self,
        id: &str,
        publication: &ProductPublication,
    ) -> StoreResult<()>;
}

/// What a finished publication records on the product.
#[derive(Debug, Clone)]
pub struct ProductPublication {
    pub glb_key: String,
    pub thumbnail_key: Option<String>,
    pub manifest: Option<Value>,
    pub mark_processed: bool,
}
