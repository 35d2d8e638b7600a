//! Run records: one [`NodeRun`] per node (or legacy step), and the [`RunEvent`]s that tell a
//! client about every change as it happens.

use serde::{Deserialize, Serialize};
// The per-node records are contracts' (`workflow_contracts::run`): the server serves them and
// the app reads them without depending on the engine for their shape.
pub use workflow_contracts::run::{
    ArtifactRef, LogLevel, LogLine, NodeError, NodeRun, NodeStatus, RunStatus,
};

impl From<super::ModuleError> for NodeError {
    fn from(e: super::ModuleError) -> Self {
        NodeError {
            code: e.code,
            message: e.message,
            details: e.details,
            root_cause_node: None,
        }
    }
}

/// One change in a run, numbered per run from 1 so a client can resume after `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEvent {
    pub run_id: String,
    pub seq: u64,
    /// Unix milliseconds.
    pub at: i64,
    #[serde(flatten)]
    pub kind: RunEventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RunEventKind {
    /// The run as a whole changed status.
    RunStatus { status: RunStatus },
    /// A node changed status; `node` is its full record at that moment.
    NodeStatus { node: Box<NodeRun> },
    /// A module logged a line.
    Log { node_id: String, line: LogLine },
    /// A module stored an artifact.
    Artifact {
        node_id: String,
        artifact: ArtifactRef,
    },
}

/// The outcome of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub run_id: String,
    pub status: RunStatus,
    pub started_at: i64,
    pub finished_at: i64,
    /// In graph (or legacy step) order.
    pub nodes: Vec<NodeRun>,
}

impl RunReport {
    pub fn node(&self, id: &str) -> Option<&NodeRun> {
        self.nodes.iter().find(|n| n.node_id == id)
    }

    /// Every artifact of the run, with the node that stored it.
    pub fn artifacts(&self) -> impl Iterator<Item = (&str, &ArtifactRef)> {
        self.nodes
            .iter()
            .flat_map(|n| n.artifacts.iter().map(move |a| (n.node_id.as_str(), a)))
    }
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
