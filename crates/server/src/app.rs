//! Putting the server together: open the store, migrate, seed, build the router, serve.

use crate::api::{self, ApiConfig};
use crate::net::ServeOptions;
use crate::runs::{RunService, RunsConfig};
use crate::state::AppState;
use crate::store::{Backend, SqlStore, Store, StoreError};
use axum::Router;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use workflow_contracts::Registry;

/// File name of the SQLite database inside a data directory.
pub const DB_FILE: &str = "workflow-studio.db";

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Only the scheme is kept: a URL can carry a password.
    #[error("unsupported database URL scheme '{0}': use sqlite://PATH or postgres://USER@HOST:PORT/DATABASE")]
    UnsupportedDatabase(String),
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no platform data directory could be determined; pass --data-dir or --db")]
    NoDataDir,
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("the database schema is older than this worker (migrations {0:?} not applied); migrations run once, by the server: start or upgrade `workflow-server serve` (or run `workflow-server migrate`) first")]
    SchemaBehind(Vec<i64>),
    /// File products of an older data directory could not be imported.
    #[error("products: {0}")]
    Products(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// The platform data directory (e.g. `~/.local/share/workflow-studio`).
pub fn default_data_dir() -> Result<PathBuf, StartError> {
    directories::ProjectDirs::from("", "", "workflow-studio")
        .map(|d| d.data_dir().to_path_buf())
        .ok_or(StartError::NoDataDir)
}

/// `sqlite://<data_dir>/workflow-studio.db`, creating the directory.
pub fn sqlite_url_in(data_dir: &Path) -> Result<String, StartError> {
    std::fs::create_dir_all(data_dir).map_err(|source| StartError::DataDir {
        path: data_dir.to_path_buf(),
        source,
    })?;
    Ok(format!("sqlite://{}", data_dir.join(DB_FILE).display()))
}

/// Opens the store named by `url` and applies pending migrations.
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>, StartError> {
    let store = connect_store(url).await?;
    store.migrate().await?;
    Ok(store)
}

/// Opens the store named by `url` without migrating (workers: migrations run once, by the
/// server).
pub async fn connect_store(url: &str) -> Result<Arc<dyn Store>, StartError> {
    if Backend::of_url(url).is_none() {
        let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
        return Err(StartError::UnsupportedDatabase(scheme.to_owned()));
    }
    Ok(Arc::new(SqlStore::connect(url).await?))
}

/// Migrates and seeds `store`, recovers interrupted runs and starts the run workers with the
/// caller's modules, then builds the application router around it.
pub async fn build(
    store: Arc<dyn Store>,
    config: &ApiConfig,
    runs: RunsConfig,
) -> Result<(Router, AppState), StartError> {
    let registry = Arc::new(Registry::builtin());
    crate::seed::seed(store.as_ref(), &registry).await?;
    runs.products
        .bind(store.clone(), tokio::runtime::Handle::current());
    // A data directory from before products were records: imported once.
    runs.products
        .import_file_products()
        .await
        .map_err(|e| StartError::Products(e.to_string()))?;
    // Runs, preflight and material-map checks read the library from the products' mirror.
    crate::materials::reload(store.as_ref(), &runs.products).await?;
    // Uploads a killed server was receiving.
    runs.products
        .remove_abandoned_uploads(crate::products::STALE_UPLOAD);
    let service = RunService::new(store.clone(), registry.clone(), &runs).map_err(|source| {
        StartError::DataDir {
            path: PathBuf::from(runs.artifacts.describe()),
            source,
        }
    })?;
    service.start(runs.workers).await?;
    let state = AppState::new(
        store,
        registry,
        config.body_limit,
        service,
        runs.products.clone(),
    );
    let (router, _) = api::router(state.clone(), config);
    Ok((router, state))
}

/// A worker process (no HTTP): refuses a database whose schema is older than this binary
/// (it never migrates), then starts `runs.workers` workers claiming jobs from `store`. Stop it
/// with [`RunService::drain`].
pub async fn start_worker(
    store: Arc<dyn Store>,
    runs: RunsConfig,
) -> Result<Arc<RunService>, StartError> {
    let pending = store.pending_migrations().await?;
    if !pending.is_empty() {
        return Err(StartError::SchemaBehind(pending));
    }
    let registry = Arc::new(Registry::builtin());
    crate::materials::reload(store.as_ref(), &runs.products).await?;
    // Binds the products and deliverables to the store, as for `serve`.
    let service =
        RunService::new(store, registry, &runs).map_err(|source| StartError::DataDir {
            path: PathBuf::from(runs.artifacts.describe()),
            source,
        })?;
    service.start_workers(runs.workers);
    Ok(service)
}

/// Serves `router` on `listener` over plain HTTP with the default time limits until
/// `shutdown` resolves; in-flight requests finish first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::net::serve(listener, router, ServeOptions::default(), shutdown).await
}

/// Like [`serve`], with the given time limits and optional TLS.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::net::serve(listener, router, options, shutdown).await
}
