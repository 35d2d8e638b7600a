//! Storage of API tokens beyond create and look-up: expiry, listing, revocation. A token is
//! named by its id, the first [`TOKEN_ID_LEN`] hex digits of its hash (what the rollout history
//! shows), never by the token itself.

use super::StoreResult;
use crate::auth::Role;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Hex digits of the token hash that name a token in lists, audits and `token revoke`.
pub const TOKEN_ID_LEN: usize = 12;

/// A token's id: the first [`TOKEN_ID_LEN`] hex digits of its hash.
pub fn token_id(hash: &str) -> String {
    hash.chars().take(TOKEN_ID_LEN).collect()
}

/// What a live token grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenGrant {
    pub role: Role,
    /// Unix milliseconds after which the token is refused; None = never.
    pub expires_at: Option<i64>,
}

/// A stored token as lists show it (never the token or its full hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TokenInfo {
    /// The first 12 hex digits of the token's SHA-256.
    pub id: String,
    pub role: Role,
    pub label: String,
    /// Unix milliseconds.
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Stores a token by its hash with an optional expiry (unix milliseconds).
    async fn create_token_expiring(
        &self,
        token_hash: &str,
        role: Role,
        label: &str,
        expires_at: Option<i64>,
    ) -> StoreResult<()>;
    /// The grant of a token that is neither revoked nor expired.
    async fn token_grant(&self, token_hash: &str) -> StoreResult<Option<TokenGrant>>;
    /// Every token, newest first, revoked and expired ones included.
    async fn list_tokens(&self) -> StoreResult<Vec<TokenInfo>>;
    /// Revokes the token with this id (see [`TOKEN_ID_LEN`]); revoking twice keeps the first
    /// time. `NotFound` when no token has the id.
    async fn revoke_token(&self, id: &str) -> StoreResult<TokenInfo>;
}
