//! The SQL implementation of [`ProductStore`]: one row per product, JSON as text.

use super::rows::{from_json_text, to_json_text};
use super::SqlStore;
use crate::store::products::{ProductPublication, ProductRecord, ProductStore};
use crate::store::{now_ms, StoreError, StoreResult};
use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::Row;

const COLUMNS: &str = "id, name, file_name, status, processing_run_id, source_files, manifest, \
     material_map, material_map_version, glb_key, thumbnail_key, published, created_at, updated_at";

fn product_from_row(row: &AnyRow) -> StoreResult<ProductRecord> {
    let source_files: String = row.try_get("source_files")?;
    let manifest: Option<String> = row.try_get("manifest")?;
    let material_map: Option<String> = row.try_get("material_map")?;
    Ok(ProductRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        file_name: row.try_get("file_name")?,
        status: row.try_get("status")?,
        processing_run_id: row.try_get("processing_run_id")?,
        source_files: from_json_text(&source_files)?,
        manifest: manifest.as_deref().map(from_json_text).transpose()?,
        material_map: material_map.as_deref().map(from_json_text).transpose()?,
        material_map_version: row.try_get("material_map_version")?,
        glb_key: row.try_get("glb_key")?,
        thumbnail_key: row.try_get("thumbnail_key")?,
        published: row.try_get("published")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn not_found(id: &str) -> StoreError {
    StoreError::NotFound(format!("product '{id}'"))
}

impl SqlStore {
    async fn fetch_product(&self, id: &str) -> StoreResult<Option<ProductRecord>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM products WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(product_from_row).transpose()
    }
}

#[async_trait]
impl ProductStore for SqlStore {
    async fn create_product(&self, p: &ProductRecord) -> StoreResult<()> {
        let _write = self.write_gate().await;
        let done = sqlx::query(
            "INSERT INTO products (id, name, file_name, status, processing_run_id, source_files, \
             manifest, material_map, material_map_version, glb_key, thumbnail_key, \
             publish_claimed, published, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&p.id)
        .bind(&p.name)
        .bind(&p.file_name)
        .bind(&p.status)
        .bind(&p.processing_run_id)
        .bind(to_json_text(&p.source_files)?)
        .bind(p.manifest.as_ref().map(to_json_text).transpose()?)
        .bind(p.material_map.as_ref().map(to_json_text).transpose()?)
        .bind(p.material_map_version)
        .bind(&p.glb_key)
        .bind(&p.thumbnail_key)
        .bind(i64::from(p.published > 0))
        .bind(p.published)
        .bind(p.created_at)
        .bind(p.updated_at)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::AlreadyExists(format!("product '{}'", p.id)));
        }
        Ok(())
    }

    async fn get_product(&self, id: &str) -> StoreResult<ProductRecord> {
        self.fetch_product(id).await?.ok_or_else(|| not_found(id))
    }

    async fn list_products(&self) -> StoreResult<Vec<ProductRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM products ORDER BY created_at DESC, id"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(product_from_row).collect()
    }

    async fn set_product_processing(&self, id: &str, run_id: &str) -> StoreResult<ProductRecord> {
        {
            let _write = self.write_gate().await;
            let done = sqlx::query(
                "UPDATE products SET status = 'processing', processing_run_id = $2, \
                 updated_at = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(run_id)
            .bind(now_ms())
            .execute(self.pool())
            .await?;
            if done.rows_affected() == 0 {
                return Err(not_found(id));
            }
        }
        self.get_product(id).await
    }

    async fn put_product_material_map(
        &self,
        id: &str,
        expected: i64,
        map: &serde_json::Value,
    ) -> StoreResult<i64> {
        let done = {
            let _write = self.write_gate().await;
            // The version check is in the statement: two servers saving at once cannot both win.
            sqlx::query(
                "UPDATE products SET material_map = $3, \
                 material_map_version = material_map_version + 1, updated_at = $4 \
                 WHERE id = $1 AND material_map_version = $2",
            )
            .bind(id)
            .bind(expected)
            .bind(to_json_text(map)?)
            .bind(now_ms())
            .execute(self.pool())
            .await?
        };
        if done.rows_affected() == 1 {
            return Ok(expected + 1);
        }
        let current = self.get_product(id).await?;
        Err(StoreError::Conflict {
            what: format!("material map of product '{id}'"),
            current_version: current.material_map_version,
            current: current.material_map.unwrap_or(serde_json::Value::Null),
        })
    }

    async fn claim_product_publication(&self, id: &str, replace: bool) -> StoreResult<bool> {
        let done = {
            let _write = self.write_gate().await;
            let condition = if replace {
                ""
            } else {
                " AND publish_claimed = 0"
            };
            sqlx::query(&format!(
                "UPDATE products SET publish_claimed = 1, updated_at = $2 WHERE id = $1{condition}"
            ))
            .bind(id)
            .bind(now_ms())
            .execute(self.pool())
            .await?
        };
        if done.rows_affected() == 1 {
            return Ok(true);
        }
        // Nothing changed: either no such product, or it was claimed before.
        self.get_product(id).await.map(|_| false)
    }

    async fn release_product_publication(&self, id: &str) -> StoreResult<()> {
        let _write = self.write_gate().await;
        sqlx::query("UPDATE products SET publish_claimed = 0 WHERE id = $1 AND published = 0")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn finish_product_publication(
        &self,
        id: &str,
        p: &ProductPublication,
    ) -> StoreResult<()> {
        let _write = self.write_gate().await;
        // A publication without a manifest or thumbnail keeps the ones stored before.
        let done = sqlx::query(
            "UPDATE products SET glb_key = $2, \
             thumbnail_key = COALESCE($3, thumbnail_key), manifest = COALESCE($4, manifest), \
             status = CASE WHEN $5 = 1 THEN 'processed' ELSE status END, \
             published = published + 1, publish_claimed = 1, updated_at = $6 WHERE id = $1",
        )
        .bind(id)
        .bind(&p.glb_key)
        .bind(&p.thumbnail_key)
        .bind(p.manifest.as_ref().map(to_json_text).transpose()?)
        .bind(i64::from(p.mark_processed))
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(not_found(id));
        }
        Ok(())
    }
}
