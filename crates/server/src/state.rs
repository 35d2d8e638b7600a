//! Shared state handed to every handler.

use crate::auth::Role;
use crate::error::ApiError;
use crate::runs::RunService;
use crate::store::Store;
use axum::body::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use workflow_contracts::Registry;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub registry: Arc<Registry>,
    /// The registry serialised once: it is the hottest read and never changes at run time.
    pub registry_json: Bytes,
    pub registry_etag: String,
    /// Token hash -> role for tokens already seen. Tokens are never revoked yet, so positive
    /// answers may be cached; unknown tokens always go to the store (a CLI may add one).
    token_cache: Arc<RwLock<HashMap<String, Role>>>,
    pub body_limit: usize,
    /// Dispatch, workers, live run events.
    pub runs: Arc<RunService>,
    /// Uploaded products and their processing results.
    pub products: Arc<crate::products::FsProducts>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        registry: Arc<Registry>,
        body_limit: usize,
        runs: Arc<RunService>,
        products: Arc<crate::products::FsProducts>,
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

    pub async fn token_role(&self, token_hash: &str) -> Result<Option<Role>, ApiError> {
        if let Some(role) = self
            .token_cache
            .read()
            .ok()
            .and_then(|c| c.get(token_hash).copied())
        {
            return Ok(Some(role));
        }
        let role = self.store.token_role(token_hash).await?;
        if let (Some(role), Ok(mut cache)) = (role, self.token_cache.write()) {
            cache.insert(token_hash.to_owned(), role);
        }
        Ok(role)
    }
}

impl AppState {
    /// Accepts a token that exists only in this process (the embedded admin token).
    pub fn add_ephemeral_token(&self, token_hash: &str, role: Role) {
        if let Ok(mut cache) = self.token_cache.write() {
            cache.insert(token_hash.to_owned(), role);
        }
    }
}
