//! Shared state handed to every handler.

use crate::auth::Role;
use crate::error::ApiError;
use crate::runs::RunService;
use crate::store::Store;
use axum::body::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use workflow_contracts::Registry;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub registry: Arc<Registry>,
    /// The registry serialised once: it is the hottest read and never changes at run time.
    pub registry_json: Bytes,
    pub registry_etag: String,
    /// Token hash -> grant for tokens already seen. An entry is trusted for
    /// [`TOKEN_RECHECK`] only, so a token revoked by another process (the CLI) is refused
    /// within that; expiry is checked on every request; unknown tokens always go to the store.
    token_cache: Arc<RwLock<HashMap<String, CachedToken>>>,
    pub body_limit: usize,
    /// Dispatch, workers, live run events.
    pub runs: Arc<RunService>,
    /// Uploaded products and their processing results.
    pub products: Arc<crate::products::Products>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        registry: Arc<Registry>,
        body_limit: usize,
        runs: Arc<RunService>,
        products: Arc<crate::products::Products>,
    ) -> Self {
        let registry_json = Bytes::from(serde_json::to_vec(&*registry).unwrap_or_default());
        let registry_etag = format!("\"{}\"", registry.fingerprint());
        AppState {
            store,
            registry,
            registry_json,
            registry_etag,
            token_cache: Arc::default(),
            body_limit,
            runs,
            products,
        }
    }

    /// The role of a live token: known, not revoked, not expired.
    pub async fn token_role(&self, token_hash: &str) -> Result<Option<Role>, ApiError> {
        let cached = self
            .token_cache
            .read()
            .ok()
            .and_then(|c| c.get(token_hash).copied());
        if let Some(entry) = cached {
            if entry
                .expires_at
                .is_some_and(|at| at <= crate::store::now_ms())
            {
                self.forget_token(token_hash);
                return Ok(None);
            }
            if entry.ephemeral || entry.checked.elapsed() < TOKEN_RECHECK {
                return Ok(Some(entry.role));
            }
        }
        let grant = self.store.token_grant(token_hash).await?;
        match (grant, self.token_cache.write()) {
            (Some(grant), Ok(mut cache)) => {
                cache.insert(
                    token_hash.to_owned(),
                    CachedToken {
                        role: grant.role,
                        expires_at: grant.expires_at,
                        checked: Instant::now(),
                        ephemeral: false,
                    },
                );
            }
            (None, Ok(mut cache)) => {
                cache.remove(token_hash);
            }
            _ => {}
        }
        Ok(grant.map(|g| g.role))
    }

    /// Drops cached tokens whose hash starts with `id` (after a revocation here).
    pub fn forget_token(&self, id: &str) {
        if let Ok(mut cache) = self.token_cache.write() {
            cache.retain(|hash, entry| entry.ephemeral || !hash.starts_with(id));
        }
    }
}

/// How long a cached token grant is trusted before the store is asked again.
pub const TOKEN_RECHECK: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Copy)]
struct CachedToken {
    role: Role,
    expires_at: Option<i64>,
    checked: Instant,
    /// In this process only (the embedded admin token): never in the store.
    ephemeral: bool,
}

impl AppState {
    /// Accepts a token that exists only in this process (the embedded admin token).
    pub fn add_ephemeral_token(&self, token_hash: &str, role: Role) {
        if let Ok(mut cache) = self.token_cache.write() {
            cache.insert(
                token_hash.to_owned(),
                CachedToken {
                    role,
                    expires_at: None,
                    checked: Instant::now(),
                    ephemeral: true,
                },
            );
        }
    }
}
