//! The node catalog cached on disk, so the app opens (read-only) when the server is down.

use super::client::Catalog;
use serde::{Deserialize, Serialize};
use std::path::Path;
use workflow_contracts::Registry;

#[derive(Serialize, Deserialize)]
struct CachedCatalog {
    etag: Option<String>,
    registry: Registry,
}

const FILE: &str = "catalog.json";

pub async fn read(dir: &Path) -> Option<Catalog> {
    let bytes = tokio::fs::read(dir.join(FILE)).await.ok()?;
    let cached: CachedCatalog = serde_json::from_slice(&bytes).ok()?;
    let mut registry = cached.registry;
    registry.reindex();
    Some(Catalog {
        registry,
        etag: cached.etag,
    })
}

/// Best effort: a cache that cannot be written only costs the offline start.
pub async fn write(dir: &Path, catalog: &Catalog) {
    let cached = CachedCatalog {
        etag: catalog.etag.clone(),
        registry: catalog.registry.clone(),
    };
    let Ok(bytes) = serde_json::to_vec(&cached) else {
        return;
    };
    if tokio::fs::create_dir_all(dir).await.is_err() {
        return;
    }
    let tmp = dir.join("catalog.json.tmp");
    if tokio::fs::write(&tmp, bytes).await.is_ok() {
        let _ = tokio::fs::rename(&tmp, dir.join(FILE)).await;
    }
}
