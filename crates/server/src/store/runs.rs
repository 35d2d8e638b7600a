//! Storage of runs, node runs, run events, artifact metadata and the job queue. Like the rest
//! of the store, it records; the runs service decides.

use super::StoreResult;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use workflow_contracts::output_type::OutputTypeSpec;
use workflow_contracts::{ArtifactRole, Graph};
use workflow_engine::runtime::{NodeRun, RunMode, RunStatus};

/// A run as stored and served. `nodes` is filled by `get_run`, empty in lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    pub mode: RunMode,
    /// `api`, `rerun`, `fallback`, `shadow` or `preview`.
    pub trigger: String,
    pub status: RunStatus,
    pub workflow_id: Option<String>,
    pub workflow_version: Option<i64>,
    pub output_type_id: Option<String>,
    pub product_id: Option<String>,
    pub inputs: Map<String, Value>,
    pub overrides: Map<String, Value>,
    /// The graph this run executes, as it was at dispatch: the workflow's (graph, shadow) or
    /// the legacy pipeline's steps as nodes (legacy; node ids are the legacy steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph: Option<Graph>,
    /// The output type as it was at dispatch (legacy runs read its `legacy_settings`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_type: Option<OutputTypeSpec>,
    /// Whether this run's outputs are deliverables (false for shadow runs and previews).
    pub authoritative: bool,
    pub linked_run_id: Option<String>,
    /// How `linked_run_id` relates: `fallback` (it is this run's fallback), `fallback_of`,
    /// `shadow` (it shadows this run), `shadow_of`.
    pub link: Option<String>,
    pub rerun_of: Option<String>,
    /// Why the run failed before or outside its nodes (`interrupted`, `invalid_graph`, …).
    pub error: Option<Value>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeRun>,
}

impl RunRecord {
    /// A preview run: a mode that delivers, recorded not authoritative (shadow runs are the
    /// other non-authoritative runs, by their mode).
    pub fn is_preview(&self) -> bool {
        self.mode.authoritative() && !self.authoritative
    }
}

/// The fields of a run to create.
#[derive(Debug, Clone, Default)]
pub struct NewRun {
    pub mode: Option<RunMode>,
    pub trigger: String,
    pub workflow_id: Option<String>,
    pub workflow_version: Option<i64>,
    pub output_type_id: Option<String>,
    pub product_id: Option<String>,
    pub inputs: Map<String, Value>,
    pub overrides: Map<String, Value>,
    pub graph: Option<Graph>,
    pub output_type: Option<OutputTypeSpec>,
    pub linked_run_id: Option<String>,
    pub link: Option<String>,
    pub rerun_of: Option<String>,
    /// Queue priority of its job (`order.source` `priority`: -1 low, 0 normal, 1 high).
    pub priority: i64,
    /// A preview (the viewer's "Render preview still"): recorded not authoritative, so its
    /// `output.publish` records no deliverable and no notification.
    pub preview: bool,
}

/// `GET /api/runs` filters; `limit` is clamped by the handler.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub status: Option<RunStatus>,
    pub mode: Option<RunMode>,
    pub workflow_id: Option<String>,
    pub output_type_id: Option<String>,
    pub product_id: Option<String>,
    /// Created at or after this time (ms since the epoch).
    pub created_from: Option<i64>,
    /// Created before this time (ms since the epoch).
    pub created_until: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArtifactMeta {
    pub id: String,
    pub run_id: String,
    pub node_id: String,
    pub role: ArtifactRole,
    pub media_type: String,
    pub size: i64,
    pub created_at: i64,
}

/// One persisted run event (the engine's `RunEvent` as JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub seq: i64,
    pub kind: String,
    pub payload: Value,
}

/// A claimed job: its run and how many times it has been claimed (this claim included).
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub run_id: String,
    pub attempts: i64,
}

/// What a lease renewal found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseState {
    /// The job is still running under this owner's lease (false: it expired and another
    /// worker took it, or it was finished or handed back).
    pub held: bool,
    /// Someone asked, through any API server, to cancel the job's run.
    pub cancel_requested: bool,
}

#[async_trait]
pub trait RunStore: Send + Sync {
    /// Creates a queued run, and its job when `enqueue` (one transaction).
    async fn create_run(&self, run: &NewRun, enqueue: bool) -> StoreResult<RunRecord>;
    async fn get_run(&self, id: &str) -> StoreResult<RunRecord>;
    /// Newest first, with the total matching count.
    async fn list_runs(&self, filter: &RunFilter) -> StoreResult<(Vec<RunRecord>, i64)>;
    async fn mark_run_started(&self, id: &str, at: i64) -> StoreResult<()>;
    /// Final status, run-level error, and every node run (replacing earlier snapshots).
    async fn finish_run(
        &self,
        id: &str,
        status: RunStatus,
        error: Option<&Value>,
        nodes: &[NodeRun],
    ) -> StoreResult<()>;
    async fn link_run(&self, id: &str, linked_run_id: &str, link: &str) -> StoreResult<()>;
    async fn save_node_run(&self, run_id: &str, position: i64, node: &NodeRun) -> StoreResult<()>;
    async fn append_event(
        &self,
        run_id: &str,
        seq: i64,
        at: i64,
        kind: &str,
        payload: &Value,
    ) -> StoreResult<()>;
    /// Events with `seq > after`, in order.
    async fn list_events(&self, run_id: &str, after: i64) -> StoreResult<Vec<StoredEvent>>;
    async fn last_event_seq(&self, run_id: &str) -> StoreResult<i64>;
    async fn insert_artifact(&self, meta: &ArtifactMeta) -> StoreResult<()>;
    async fn get_artifact(&self, id: &str) -> StoreResult<ArtifactMeta>;
    async fn list_artifacts(&self, run_id: &str) -> StoreResult<Vec<ArtifactMeta>>;
    /// Takes the job of the highest priority, the oldest of that priority, that is queued or
    /// running under an expired lease (its worker died): marks it running under `owner`'s
    /// lease until `now + lease_ms`, one more attempt. One statement; on PostgreSQL with
    /// `FOR UPDATE SKIP LOCKED`, so concurrent workers never take the same job or wait on
    /// each other.
    async fn claim_job(&self, owner: &str, lease_ms: i64) -> StoreResult<Option<Job>>;
    /// Extends `owner`'s lease on a running job to `now + lease_ms` and reports whether it is
    /// still held and whether its run's cancel was requested.
    async fn renew_lease(&self, job: &Job, owner: &str, lease_ms: i64) -> StoreResult<LeaseState>;
    /// Hands a running job back to the queue (a stopping worker): queued, lease released,
    /// the attempt not counted. False when `owner` no longer held it.
    async fn release_job(&self, job_id: &str, owner: &str) -> StoreResult<bool>;
    /// Requeues running jobs whose lease expired before `now` (or that have none: written by
    /// an older binary); their next claim counts an attempt. Returns how many.
    async fn requeue_expired_jobs(&self, now: i64) -> StoreResult<u64>;
    /// `done` or `interrupted` (releases the lease).
    async fn set_job_status(&self, job_id: &str, status: &str) -> StoreResult<()>;
    /// Records that a run's cancel was asked (the worker running it polls for it).
    async fn request_cancel(&self, run_id: &str) -> StoreResult<()>;
    /// Cancels a run whose job has not started: true when it was still queued.
    async fn cancel_queued_run(&self, run_id: &str) -> StoreResult<bool>;
}
