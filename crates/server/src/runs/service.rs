//! The run service: owns the runtime, the worker pool, the live-event hub and the
//! cancellation tokens of running runs.

use super::artifacts::RunArtifacts;
use crate::artifacts::Blobs;
use crate::deliverables::StoreDeliverables;
use crate::products::Products;
use crate::store::{Store, StoreResult};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;
use workflow_contracts::Registry;
use workflow_engine::compare::ThresholdConfig;
use workflow_engine::modules::{production_modules, ProductionContext};
use workflow_engine::rollout::RolloutPolicy;
use workflow_engine::runtime::{ModuleRegistry, RunOptions, Runtime};

/// How runs execute in this process. The caller provides the modules: production wiring
/// registers the engine's real modules, tests register their own.
#[derive(Clone)]
pub struct RunsConfig {
    pub modules: ModuleRegistry,
    /// Where uploads, product files and run artifacts are kept (`--artifacts`; by default the
    /// data directory). Change it with [`RunsConfig::set_artifacts`].
    pub artifacts: Blobs,
    /// In-process workers (runs executing at once).
    pub workers: usize,
    pub options: RunOptions,
    /// Products (records in the store, files in `artifacts`).
    pub products: Arc<Products>,
    /// Whether preflight checks that `inputs.product_id` names a stored product (processed,
    /// for order-line runs). On in the production wiring; off for scripted test modules.
    pub resolve_products: bool,
    /// Where `output.publish` records deliverables and notifications (the production wiring
    /// hands it to the modules; the run service binds it to the store at start).
    pub deliverables: Arc<StoreDeliverables>,
    /// Readiness and automatic-rollback rules (output types may override fields).
    pub rollout: RolloutPolicy,
    /// Thresholds shadow comparisons are judged by (per artifact kind and output type id).
    pub parity_thresholds: ThresholdConfig,
    /// Job leases: how long, how often renewed, how many attempts, how often idle workers look.
    pub queue: QueueConfig,
}

/// How this process's workers hold jobs. A worker renews its lease every `heartbeat`; a job
/// whose lease ran out (its worker died or lost the database for longer) is taken by the next
/// claim, until `max_attempts` claims have been made: the next fails the run `worker_lost`.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    pub lease: Duration,
    /// Also how often a running job looks for a cancel asked through another process.
    pub heartbeat: Duration,
    pub max_attempts: i64,
    /// How often an idle worker looks for jobs queued by other processes (a dispatch in this
    /// process wakes it at once).
    pub poll: Duration,
    /// Names this process's leases (`host:pid:random` by default).
    pub owner: String,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            lease: Duration::from_secs(15),
            heartbeat: Duration::from_secs(1),
            max_attempts: 3,
            poll: Duration::from_secs(1),
            owner: default_owner(),
        }
    }
}

/// `host:pid:random`: unique per process, readable in the jobs table.
pub fn default_owner() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}:{}:{}", std::process::id(), &random[..8])
}

impl RunsConfig {
    /// Artifacts in `<data_dir>/artifacts`, two workers, default scheduling.
    pub fn new(modules: ModuleRegistry, data_dir: &Path) -> Self {
        let artifacts: Blobs = Arc::new(crate::artifacts::DirBlobs::new(data_dir.to_path_buf()));
        RunsConfig {
            modules,
            products: Arc::new(Products::new(data_dir.to_path_buf(), artifacts.clone())),
            artifacts,
            workers: 2,
            options: RunOptions::default(),
            resolve_products: false,
            deliverables: Arc::default(),
            rollout: RolloutPolicy::default(),
            parity_thresholds: ThresholdConfig::default(),
            queue: QueueConfig::default(),
        }
    }

    /// The production wiring: the engine's modules for every catalog `module_key`, reading
    /// products from this data directory (the renderer starts on the first render).
    pub fn production(data_dir: &Path) -> Self {
        let mut config = RunsConfig::new(ModuleRegistry::new(), data_dir);
        config.modules = production_modules(
            ProductionContext::new(config.products.clone())
                .with_deliverables(config.deliverables.clone()),
        );
        config.resolve_products = true;
        config
    }

    /// Keeps uploads, product files and run artifacts in `artifacts` (see
    /// [`crate::artifacts::open`]).
    pub fn set_artifacts(&mut self, artifacts: Blobs) {
        self.products.set_blobs(artifacts.clone());
        self.artifacts = artifacts;
    }
}

/// A persisted run event, as broadcast to live listeners.
#[derive(Debug, Clone)]
pub struct HubEvent {
    pub run_id: String,
    pub seq: i64,
    pub kind: String,
    pub payload: Value,
}

pub struct RunService {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) registry: Arc<Registry>,
    pub(crate) runtime: Runtime,
    pub(crate) artifacts: Arc<RunArtifacts>,
    /// Set when preflight resolves `inputs.product_id` against the product store.
    pub(crate) products: Option<Arc<Products>>,
    /// The products the modules read (always set): its material-library mirror is reloaded
    /// from the store before each run, so materials written by another process are seen.
    pub(crate) library: Arc<Products>,
    /// Server-wide rollout policy (readiness, automatic rollback).
    pub rollout_policy: RolloutPolicy,
    pub(crate) parity_thresholds: ThresholdConfig,
    pub(crate) queue: QueueConfig,
    hub: broadcast::Sender<Arc<HubEvent>>,
    wake: Notify,
    cancels: Mutex<HashMap<String, CancellationToken>>,
    shutdown: CancellationToken,
    /// Set by [`RunService::drain`]: workers take no new job.
    no_claims: CancellationToken,
    /// Set when a drain's grace ran out: runs cancelled now are handed back, not recorded.
    pub(crate) handing_back: AtomicBool,
    loops: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Whether this process runs jobs itself: only then does preflight ask for the external
    /// tools (Blender, OpenUSD) here. An API server with `--workers 0` leaves that to the
    /// workers, which report a missing tool on the node that needs it.
    renders_here: AtomicBool,
}

impl RunService {
    /// Whether this process's workers run jobs (see `renders_here`).
    pub(crate) fn renders_here(&self) -> bool {
        self.renders_here.load(Ordering::Relaxed)
    }

    pub fn new(
        store: Arc<dyn Store>,
        registry: Arc<Registry>,
        config: &RunsConfig,
    ) -> std::io::Result<Arc<Self>> {
        let artifacts = Arc::new(RunArtifacts::new(config.artifacts.clone()));
        let runtime = Runtime::new(
            registry.clone(),
            Arc::new(config.modules.clone()),
            artifacts.clone(),
        )
        .with_options(config.options.clone());
        let (hub, _) = broadcast::channel(1024);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            config.deliverables.bind(store.clone(), handle.clone());
            config.products.bind(store.clone(), handle);
        }
        Ok(Arc::new(RunService {
            store,
            registry,
            runtime,
            artifacts,
            products: config.resolve_products.then(|| config.products.clone()),
            library: config.products.clone(),
            rollout_policy: config.rollout.clone(),
            parity_thresholds: config.parity_thresholds.clone(),
            queue: config.queue.clone(),
            hub,
            wake: Notify::new(),
            cancels: Mutex::default(),
            shutdown: CancellationToken::new(),
            no_claims: CancellationToken::new(),
            handing_back: AtomicBool::new(false),
            renders_here: AtomicBool::new(false),
            loops: Mutex::default(),
        }))
    }

    /// Requeues jobs whose worker died (lease expired), compares shadow pairs a stop left,
    /// then starts `workers` workers (0: an API server that renders nothing itself).
    pub async fn start(self: &Arc<Self>, workers: usize) -> StoreResult<()> {
        super::worker::recover_interrupted(self).await?;
        super::parity::recover(self).await?;
        self.start_workers(workers);
        Ok(())
    }

    /// Starts `workers` workers claiming jobs (a worker process: no recovery of its own, the
    /// claim itself takes jobs whose lease expired).
    pub fn start_workers(self: &Arc<Self>, workers: usize) {
        if workers > 0 {
            self.renders_here.store(true, Ordering::Relaxed);
        }
        let mut loops = self.loops.lock().unwrap_or_else(|p| p.into_inner());
        for n in 0..workers {
            let service = self.clone();
            loops.push(tokio::spawn(async move { service.worker_loop(n).await }));
        }
    }

    /// A graceful stop (SIGTERM on a worker): no new claims; running jobs get `grace` to
    /// finish, then are cancelled and handed back to the queue for another worker. Returns
    /// once every worker has stopped.
    pub async fn drain(&self, grace: Duration) {
        self.no_claims.cancel();
        self.wake.notify_waiters();
        let loops: Vec<_> =
            std::mem::take(&mut *self.loops.lock().unwrap_or_else(|p| p.into_inner()));
        let deadline = tokio::time::Instant::now() + grace;
        let mut running = Vec::new();
        for mut handle in loops {
            if tokio::time::timeout_at(deadline, &mut handle)
                .await
                .is_err()
            {
                running.push(handle);
            }
        }
        if !running.is_empty() {
            self.handing_back.store(true, Ordering::SeqCst);
            for token in self.lock_cancels().values() {
                token.cancel();
            }
            for handle in running {
                let _ = handle.await;
            }
        }
    }

    /// Stops the workers after their current job (running runs are cancelled).
    pub fn stop(&self) {
        self.shutdown.cancel();
        for token in self.lock_cancels().values() {
            token.cancel();
        }
    }

    /// An artifact's bytes (None for an id the store could not have made, or bytes it no
    /// longer has).
    pub async fn artifact_bytes(
        &self,
        id: &str,
    ) -> Result<Option<Vec<u8>>, crate::artifacts::BlobError> {
        let artifacts = self.artifacts.clone();
        let id = id.to_owned();
        tokio::task::spawn_blocking(move || artifacts.bytes(&id))
            .await
            .unwrap_or_else(|e| {
                Err(crate::artifacts::BlobError::Io {
                    store: artifacts_name(),
                    key: String::new(),
                    message: e.to_string(),
                })
            })
    }

    pub fn modules(&self) -> &ModuleRegistry {
        self.runtime.modules()
    }

    /// Tells a worker a job was queued.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<HubEvent>> {
        self.hub.subscribe()
    }

    pub(crate) fn publish(&self, event: HubEvent) {
        // No listener is fine: everything is persisted before it is published.
        let _ = self.hub.send(Arc::new(event));
    }

    fn lock_cancels(&self) -> std::sync::MutexGuard<'_, HashMap<String, CancellationToken>> {
        self.cancels.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn register_cancel(&self, run_id: &str) -> CancellationToken {
        let token = self.shutdown.child_token();
        self.lock_cancels().insert(run_id.to_owned(), token.clone());
        token
    }

    pub(crate) fn unregister_cancel(&self, run_id: &str) {
        self.lock_cancels().remove(run_id);
    }

    /// Cancels a running run in this process; false when it is not running here.
    pub fn cancel_running(&self, run_id: &str) -> bool {
        match self.lock_cancels().get(run_id) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    async fn worker_loop(self: Arc<Self>, n: usize) {
        let owner = format!("{}/{n}", self.queue.owner);
        let lease_ms = i64::try_from(self.queue.lease.as_millis()).unwrap_or(i64::MAX);
        loop {
            if self.shutdown.is_cancelled() || self.no_claims.is_cancelled() {
                return;
            }
            match self.store.claim_job(&owner, lease_ms).await {
                Ok(Some(job)) => {
                    if let Err(err) = super::worker::execute(&self, &job, &owner).await {
                        tracing::error!(worker = n, run = %job.run_id, %err, "run could not be recorded");
                        super::worker::abandon(&self, &job, &err).await;
                    }
                    // More may be queued: look again before sleeping.
                    continue;
                }
                Ok(None) => {}
                Err(err) => tracing::error!(worker = n, %err, "cannot claim a job"),
            }
            // Woken on dispatch; the timeout also picks up jobs queued by other processes.
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.queue.poll) => {}
                _ = self.shutdown.cancelled() => return,
                _ = self.no_claims.cancelled() => return,
            }
        }
    }
}

fn artifacts_name() -> String {
    "artifact store".into()
}
