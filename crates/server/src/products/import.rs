//! The once-only move of file products (a data directory from before products were database
//! records: `products/<id>/product.json`, `manifest.json`, `material_map.json`, `source/`,
//! `preview.glb`, `thumbnail.png`) into the store and the artifact store. Run when a server
//! starts; an imported product's `product.json` is renamed `product.json.imported`, so the
//! next start skips it, and a product another process imported first is left alone.

use super::{extension, io, upload, ProductError, Products, SOURCE_DIR};
use crate::store::{ProductRecord, SourceFile, StoreError};
use std::path::Path;

/// The legacy `product.json` (the fields the API showed).
#[derive(serde::Deserialize)]
struct LegacyProduct {
    id: String,
    name: String,
    file_name: String,
    status: String,
    processing_run_id: Option<String>,
    material_map_version: i64,
    created_at: i64,
    updated_at: i64,
}

const LEGACY_RECORD: &str = "product.json";
const IMPORTED: &str = "product.json.imported";

impl Products {
    /// Imports every file product of this data directory; returns how many were imported.
    /// A product that cannot be read is logged and left as it is (the next start tries again).
    pub async fn import_file_products(&self) -> Result<usize, ProductError> {
        let root = self.products_dir();
        let entries = match std::fs::read_dir(&root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(io(e)),
        };
        let mut imported = 0;
        for entry in entries.flatten() {
            let dir = entry.path();
            let id = entry.file_name().to_string_lossy().into_owned();
            if !super::plausible_id(&id) || !dir.join(LEGACY_RECORD).is_file() {
                continue;
            }
            match self.import_one(&id, &dir).await {
                Ok(true) => imported += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(product = %id, error = %e, "file product not imported"),
            }
        }
        if imported > 0 {
            tracing::info!(imported, "file products imported into the database");
        }
        Ok(imported)
    }

    async fn import_one(&self, id: &str, dir: &Path) -> Result<bool, ProductError> {
        let read_json = |name: &str| -> Result<Option<serde_json::Value>, ProductError> {
            match std::fs::read(dir.join(name)) {
                Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).map_err(io)?)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io(e)),
            }
        };
        let legacy: LegacyProduct = serde_json::from_value(
            read_json(LEGACY_RECORD)?.ok_or_else(|| io("product.json vanished"))?,
        )
        .map_err(io)?;
        if legacy.id != id {
            return Err(io(format!("product.json names id {}", legacy.id)));
        }
        let manifest = read_json("manifest.json")?;
        let material_map = read_json("material_map.json")?;
        let blobs = self.blobs();
        let dir_owned = dir.to_path_buf();
        let prefix = format!("products/{id}");
        let file_name = legacy.file_name.clone();
        let (source_files, glb_key, thumbnail_key) = super::blocking(move || {
            let dir = dir_owned;
            // The upload's files as they were kept: source/ (with side files), or for the
            // oldest products `source.<ext>` alone.
            let mut names = Vec::new();
            collect_files(&dir.join(SOURCE_DIR), "", &mut names).map_err(io)?;
            let mut sources: Vec<(String, std::path::PathBuf)> = names
                .into_iter()
                .map(|name| {
                    let path = dir.join(SOURCE_DIR).join(&name);
                    (name, path)
                })
                .collect();
            if sources.is_empty() {
                let ext = extension(&file_name).unwrap_or_default();
                let single = dir.join(format!("source.{ext}"));
                if single.is_file() {
                    let main = upload::relative_name(&file_name)
                        .map_err(io)?
                        .to_string_lossy()
                        .into_owned();
                    sources.push((main, single));
                }
            }
            let mut source_files = Vec::new();
            for (n, (name, path)) in sources.into_iter().enumerate() {
                let key = format!("{prefix}/files/{n}");
                let size = blobs.put_file(&key, &path)?;
                source_files.push(SourceFile { name, key, size });
            }
            let keep = |file: &str| -> Result<Option<String>, ProductError> {
                let path = dir.join(file);
                if !path.is_file() {
                    return Ok(None);
                }
                let key = format!("{prefix}/{file}");
                blobs.put_file(&key, &path)?;
                Ok(Some(key))
            };
            let glb = keep("preview.glb")?;
            let thumbnail = keep("thumbnail.png")?;
            Ok((source_files, glb, thumbnail))
        })
        .await?;
        let published = i64::from(glb_key.is_some() || manifest.is_some());
        let record = ProductRecord {
            id: legacy.id,
            name: legacy.name,
            file_name: legacy.file_name,
            status: legacy.status,
            processing_run_id: legacy.processing_run_id,
            source_files,
            manifest,
            material_map,
            material_map_version: legacy.material_map_version,
            glb_key,
            thumbnail_key,
            published,
            created_at: legacy.created_at,
            updated_at: legacy.updated_at,
        };
        let created = match self.store()?.create_product(&record).await {
            Ok(()) => true,
            Err(StoreError::AlreadyExists(_)) => false,
            Err(e) => return Err(e.into()),
        };
        std::fs::rename(dir.join(LEGACY_RECORD), dir.join(IMPORTED)).map_err(io)?;
        Ok(created)
    }
}

/// The files under `dir`, as `/`-separated names relative to it, sorted.
fn collect_files(dir: &Path, prefix: &str, out: &mut Vec<String>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let child = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect_files(&entry.path(), &child, out)?;
        } else if kind.is_file() {
            out.push(child);
        }
    }
    Ok(())
}
