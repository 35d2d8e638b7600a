//! The server inside the desktop app: loopback only, a random admin token that lives in memory
//! and is handed to the app directly, data in the app's data directory.
//!
//! ```no_run
//! # async fn demo() -> Result<(), workflow_server::app::StartError> {
//! let server = workflow_server::embedded::start(std::path::Path::new("/tmp/ws")).await?;
//! println!("{} {}", server.url, server.admin_token);
//! server.shutdown().await;
//! # Ok(()) }
//! ```

use crate::api::ApiConfig;
use crate::app::{build, open_store, serve_with, sqlite_url_in, StartError};
use crate::auth::{generate_token, hash_token, Role};
use crate::net::{ServeOptions, Timeouts};
use crate::runs::{RunService, RunsConfig};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use workflow_engine::runtime::ModuleRegistry;

/// A running embedded server. Dropping it without [`EmbeddedServer::shutdown`] stops it too
/// (the shutdown channel closes), but does not wait for in-flight requests.
pub struct EmbeddedServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    pub addr: SocketAddr,
    /// An admin token valid for this process only (never written to the database).
    pub admin_token: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    runs: Arc<RunService>,
}

impl EmbeddedServer {
    /// Stops accepting connections, lets in-flight requests finish, and waits for the end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Err(err) = (&mut self.task).await {
            tracing::warn!(%err, "embedded server task ended abnormally");
        }
        // Running runs are cancelled; on the next start they are found finished or, if the
        // process died first, marked interrupted.
        self.runs.stop();
    }
}

/// Starts the server on `127.0.0.1:0` with its SQLite database in `data_dir`. Must be called
/// inside a Tokio runtime; the server runs on that runtime.
pub async fn start(data_dir: &Path) -> Result<EmbeddedServer, StartError> {
    // The engine's production modules; the renderer starts on the first render.
    start_with(data_dir, RunsConfig::production(data_dir)).await
}

/// Like [`start`], with the given run configuration (modules, artifact dir, workers).
pub async fn start_with(data_dir: &Path, runs: RunsConfig) -> Result<EmbeddedServer, StartError> {
    start_configured(data_dir, runs, Timeouts::default()).await
}

/// Like [`start_with`], with the given connection time limits (header read, body idle,
/// keep-alive idle).
pub async fn start_configured(
    data_dir: &Path,
    runs: RunsConfig,
    timeouts: Timeouts,
) -> Result<EmbeddedServer, StartError> {
    start_inner(data_dir, runs, timeouts, false).await
}

/// Like [`start`], and on the first start of a data directory that never had a product or a
/// run, seeds the sample product (see [`crate::sample`]): what the desktop app starts. A
/// sample that cannot be seeded is logged and the server starts anyway.
pub async fn start_with_sample(data_dir: &Path) -> Result<EmbeddedServer, StartError> {
    start_inner(
        data_dir,
        RunsConfig::production(data_dir),
        Timeouts::default(),
        true,
    )
    .await
}

async fn start_inner(
    data_dir: &Path,
    runs: RunsConfig,
    timeouts: Timeouts,
    sample: bool,
) -> Result<EmbeddedServer, StartError> {
    let store = open_store(&sqlite_url_in(data_dir)?).await?;
    let (router, state) = build(store, &ApiConfig::default(), runs).await?;
    if sample {
        match crate::sample::seed_sample_product(state.store.as_ref(), &state.products, &state.runs)
            .await
        {
            Ok(outcome) => tracing::info!(?outcome, "sample product"),
            Err(err) => tracing::warn!(%err, "the sample product was not seeded"),
        }
    }
    let admin_token = generate_token();
    state.add_ephemeral_token(&hash_token(&admin_token), Role::Admin);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|source| StartError::Bind {
            addr: "127.0.0.1:0".into(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: "127.0.0.1:0".into(),
        source,
    })?;
    let (tx, rx) = oneshot::channel::<()>();
    let options = ServeOptions {
        timeouts,
        tls: None,
    };
    let task = tokio::spawn(serve_with(listener, router, options, async move {
        let _ = rx.await;
    }));
    Ok(EmbeddedServer {
        url: format!("http://{addr}"),
        addr,
        admin_token,
        shutdown: Some(tx),
        task,
        runs: state.runs.clone(),
    })
}

/// An embedded server with its own Tokio runtime, for callers that have none (the egui app).
pub struct BackgroundServer {
    pub url: String,
    pub admin_token: String,
    server: Option<EmbeddedServer>,
    runtime: tokio::runtime::Runtime,
}

impl BackgroundServer {
    /// Stops the server (letting in-flight requests finish) and its runtime.
    pub fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.shutdown());
        }
    }
}

/// Like [`start`], on a runtime of its own (two worker threads). Blocks while the database
/// is opened and migrated (milliseconds on an existing database); call it off the UI thread
/// if that matters.
pub fn start_in_background(data_dir: &Path) -> Result<BackgroundServer, StartError> {
    start_in_background_with(data_dir, None)
}

/// [`start_with_sample`] on a runtime of its own: the desktop app's embedded server.
pub fn start_in_background_with_sample(data_dir: &Path) -> Result<BackgroundServer, StartError> {
    let runtime = background_runtime()?;
    let server = runtime.block_on(start_with_sample(data_dir))?;
    Ok(BackgroundServer {
        url: server.url.clone(),
        admin_token: server.admin_token.clone(),
        server: Some(server),
        runtime,
    })
}

/// The two-thread runtime a background server runs on.
fn background_runtime() -> Result<tokio::runtime::Runtime, StartError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("workflow-server")
        .enable_all()
        .build()
        .map_err(|source| StartError::Bind {
            addr: "runtime".into(),
            source,
        })
}

/// Like [`start_in_background`]; `modules` replaces the production modules (tests, tools).
pub fn start_in_background_with(
    data_dir: &Path,
    modules: Option<ModuleRegistry>,
) -> Result<BackgroundServer, StartError> {
    let runtime = background_runtime()?;
    let runs = match modules {
        Some(modules) => RunsConfig::new(modules, data_dir),
        None => RunsConfig::production(data_dir),
    };
    let server = runtime.block_on(start_with(data_dir, runs))?;
    Ok(BackgroundServer {
        url: server.url.clone(),
        admin_token: server.admin_token.clone(),
        server: Some(server),
        runtime,
    })
}
