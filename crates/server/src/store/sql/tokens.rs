//! SQLite implementation of [`TokenStore`].

use super::rows::parse_enum;
use super::SqlStore;
use crate::auth::Role;
use crate::store::tokens::{TokenGrant, TokenInfo, TokenStore, TOKEN_ID_LEN};
use crate::store::{now_ms, StoreError, StoreResult};
use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::Row;

fn info_from_row(row: &AnyRow) -> StoreResult<TokenInfo> {
    let hash: String = row.try_get("token_hash")?;
    let role: String = row.try_get("role")?;
    Ok(TokenInfo {
        id: crate::store::token_id(&hash),
        role: parse_enum::<Role>(&role)?,
        label: row.try_get("label")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

const COLUMNS: &str = "token_hash, role, label, created_at, expires_at, revoked_at";

#[async_trait]
impl TokenStore for SqlStore {
    async fn create_token_expiring(
        &self,
        token_hash: &str,
        role: Role,
        label: &str,
        expires_at: Option<i64>,
    ) -> StoreResult<()> {
        let _write = self.write_gate().await;
        sqlx::query(
            "INSERT INTO api_tokens (token_hash, role, label, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(role.as_str())
        .bind(label)
        .bind(now_ms())
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn token_grant(&self, token_hash: &str) -> StoreResult<Option<TokenGrant>> {
        let row = sqlx::query(
            "SELECT role, expires_at FROM api_tokens WHERE token_hash = $1 \
             AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let role: String = row.try_get("role")?;
            Ok(TokenGrant {
                role: parse_enum(&role)?,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    async fn list_tokens(&self) -> StoreResult<Vec<TokenInfo>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM api_tokens ORDER BY created_at DESC, token_hash"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(info_from_row).collect()
    }

    async fn revoke_token(&self, id: &str) -> StoreResult<TokenInfo> {
        // Only a full-length hex id: a shorter prefix could name several tokens.
        if id.len() != TOKEN_ID_LEN || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::NotFound(format!("token '{id}'")));
        }
        let pattern = format!("{}%", id.to_ascii_lowercase());
        let _write = self.write_gate().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE token_hash LIKE $2 AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(&pattern)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE token_hash LIKE $1"
        ))
        .bind(&pattern)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("token '{id}'")))?;
        tx.commit().await?;
        info_from_row(&row)
    }
}
