//! What a module sees of the run ([`NodeContext`]) and the recorder behind it, which keeps
//! every [`NodeRun`] and emits a numbered [`RunEvent`] for every change.

use super::module::ModuleError;
use super::record::{
    now_ms, ArtifactRef, LogLevel, LogLine, NodeError, NodeRun, NodeStatus, RunEvent, RunEventKind,
    RunStatus,
};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;
use workflow_contracts::ArtifactRole;

/// Where artifact bytes go. The server stores them on disk; [`MemoryArtifacts`] keeps them in
/// memory. Called from module threads, so it is synchronous.
pub trait ArtifactSink: Send + Sync + 'static {
    fn store(
        &self,
        run_id: &str,
        node_id: &str,
        role: ArtifactRole,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<ArtifactRef, String>;
}

/// An in-memory artifact store (tests, command-line dry runs).
#[derive(Default)]
pub struct MemoryArtifacts {
    items: Mutex<Vec<(ArtifactRef, Vec<u8>)>>,
}

impl MemoryArtifacts {
    pub fn get(&self, id: &str) -> Option<(ArtifactRef, Vec<u8>)> {
        let items = self.items.lock().ok()?;
        items.iter().find(|(a, _)| a.id == id).cloned()
    }

    pub fn len(&self) -> usize {
        self.items.lock().map_or(0, |i| i.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ArtifactSink for MemoryArtifacts {
    fn store(
        &self,
        run_id: &str,
        node_id: &str,
        role: ArtifactRole,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<ArtifactRef, String> {
        let mut items = self.items.lock().map_err(|_| "artifact store poisoned")?;
        let artifact = ArtifactRef {
            id: format!("{run_id}/{node_id}/{}", items.len()),
            role,
            media_type: media_type.to_owned(),
            size: bytes.len() as u64,
        };
        items.push((artifact.clone(), bytes.to_vec()));
        Ok(artifact)
    }
}

/// The live record of one run. Events are numbered and sent under the same lock that changes
/// the record, so their order is the order of the changes.
pub(crate) struct Recorder {
    run_id: String,
    state: Mutex<RecorderState>,
    events: Option<UnboundedSender<RunEvent>>,
}

struct RecorderState {
    seq: u64,
    nodes: Vec<NodeRun>,
}

impl Recorder {
    pub(crate) fn new(
        run_id: &str,
        nodes: Vec<NodeRun>,
        events: Option<UnboundedSender<RunEvent>>,
    ) -> Self {
        Recorder {
            run_id: run_id.to_owned(),
            state: Mutex::new(RecorderState { seq: 0, nodes }),
            events,
        }
    }

    fn lock(&self) -> MutexGuard<'_, RecorderState> {
        // A module panicking cannot poison this lock (modules never hold it), but recover
        // anyway rather than lose the record.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn emit(&self, state: &mut RecorderState, kind: RunEventKind) {
        state.seq += 1;
        if let Some(tx) = &self.events {
            // A dropped receiver only means nobody listens; the record is still kept.
            let _ = tx.send(RunEvent {
                run_id: self.run_id.clone(),
                seq: state.seq,
                at: now_ms(),
                kind,
            });
        }
    }

    pub(crate) fn run_status(&self, status: RunStatus) {
        let mut state = self.lock();
        self.emit(&mut state, RunEventKind::RunStatus { status });
    }

    pub(crate) fn status(&self, idx: usize) -> NodeStatus {
        self.lock()
            .nodes
            .get(idx)
            .map_or(NodeStatus::Pending, |n| n.status)
    }

    pub(crate) fn set_params(&self, idx: usize, params: Map<String, Value>) {
        if let Some(node) = self.lock().nodes.get_mut(idx) {
            node.params = params;
        }
    }

    /// Records the content digests of node `idx`'s outputs (before its final transition, so
    /// the succeeded event carries them).
    pub(crate) fn set_output_digests(&self, idx: usize, digests: BTreeMap<String, String>) {
        if let Some(node) = self.lock().nodes.get_mut(idx) {
            node.output_digests = digests;
        }
    }

    /// Moves node `idx` to `status` (ignored once the node is final: the first outcome wins).
    pub(crate) fn transition(
        &self,
        idx: usize,
        status: NodeStatus,
        error: Option<NodeError>,
        outputs: Option<BTreeMap<String, Value>>,
    ) {
        let mut state = self.lock();
        let Some(node) = state.nodes.get_mut(idx) else {
            return;
        };
        if node.status.is_final() {
            return;
        }
        let now = now_ms();
        node.status = status;
        match status {
            NodeStatus::Running => node.started_at = Some(now),
            s if s.is_final() => node.finished_at = Some(now),
            _ => {}
        }
        if error.is_some() {
            node.error = error;
        }
        if let Some(outputs) = outputs {
            node.outputs = outputs;
        }
        let snapshot = Box::new(node.clone());
        self.emit(&mut state, RunEventKind::NodeStatus { node: snapshot });
    }

    fn log(&self, idx: usize, level: LogLevel, message: String) {
        let mut state = self.lock();
        let line = LogLine {
            at: now_ms(),
            level,
            message,
        };
        let Some(node) = state.nodes.get_mut(idx) else {
            return;
        };
        node.logs.push(line.clone());
        let node_id = node.node_id.clone();
        self.emit(&mut state, RunEventKind::Log { node_id, line });
    }

    fn artifact(&self, idx: usize, artifact: ArtifactRef) {
        let mut state = self.lock();
        let Some(node) = state.nodes.get_mut(idx) else {
            return;
        };
        node.artifacts.push(artifact.clone());
        let node_id = node.node_id.clone();
        self.emit(&mut state, RunEventKind::Artifact { node_id, artifact });
    }

    pub(crate) fn snapshot(&self) -> Vec<NodeRun> {
        self.lock().nodes.clone()
    }
}

/// What a module may use of the run while it executes one node.
pub struct NodeContext {
    pub(crate) recorder: Arc<Recorder>,
    pub(crate) idx: usize,
    pub(crate) node_id: String,
    pub(crate) node_type: String,
    pub(crate) run_inputs: Arc<Map<String, Value>>,
    pub(crate) cancel: CancellationToken,
    pub(crate) artifacts: Arc<dyn ArtifactSink>,
}

impl NodeContext {
    pub fn run_id(&self) -> &str {
        &self.recorder.run_id
    }

    /// The node id (for the legacy pipeline: the legacy step).
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    pub fn node_type(&self) -> &str {
        &self.node_type
    }

    /// The run's dispatch inputs (`product_id`, `order_line_id`, …); source modules read them.
    pub fn run_input(&self, key: &str) -> Option<&Value> {
        self.run_inputs.get(key)
    }

    pub fn run_inputs(&self) -> &Map<String, Value> {
        &self.run_inputs
    }

    /// Records a log line on this node's run (and emits it as an event).
    pub fn log(&self, message: impl Into<String>) {
        self.recorder.log(self.idx, LogLevel::Info, message.into());
    }

    pub fn warn(&self, message: impl Into<String>) {
        self.recorder.log(self.idx, LogLevel::Warn, message.into());
    }

    /// Stores `bytes` as an artifact of this node.
    pub fn store_artifact(
        &self,
        role: ArtifactRole,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<ArtifactRef, ModuleError> {
        let artifact = self
            .artifacts
            .store(self.run_id(), &self.node_id, role, media_type, bytes)
            .map_err(|e| {
                ModuleError::new(
                    super::codes::ARTIFACT_STORE_FAILED,
                    format!("cannot store the {role} artifact: {e}"),
                )
            })?;
        self.recorder.artifact(self.idx, artifact.clone());
        Ok(artifact)
    }

    /// Whether the run was cancelled or this node timed out.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// The node's cancellation token (cancelled with the run or when the node times out), for
    /// work the module hands to another thread, e.g. the render thread.
    pub fn cancellation(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// `Err(cancelled)` once the run is cancelled: call it between expensive steps with `?`.
    pub fn check_cancelled(&self) -> Result<(), ModuleError> {
        if self.is_cancelled() {
            Err(ModuleError::cancelled())
        } else {
            Ok(())
        }
    }
}
