//! Run records: one [`NodeRun`] per node (or legacy step), and the [`RunEvent`]s that tell a
//! client about every change as it happens.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use workflow_contracts::ArtifactRole;

/// Status of one node run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    Pending,
    Running,
    Succeeded,
    Failed,
    /// Not run because a node upstream failed (the error names it).
    Skipped,
    Cancelled,
}

impl NodeStatus {
    pub fn is_final(self) -> bool {
        !matches!(self, NodeStatus::Pending | NodeStatus::Running)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NodeStatus::Pending => "pending",
            NodeStatus::Running => "running",
            NodeStatus::Succeeded => "succeeded",
            NodeStatus::Failed => "failed",
            NodeStatus::Skipped => "skipped",
            NodeStatus::Cancelled => "cancelled",
        }
    }
}

/// Status of a whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl RunStatus {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RunStatus::Succeeded | RunStatus::Failed | RunStatus::Cancelled
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

/// A structured node error: the module's (or runtime's) code and message, and for skipped
/// nodes the node whose failure caused the skip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeError {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub details: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_cause_node: Option<String>,
}

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

/// An artifact a node stored (the bytes live in the artifact store).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactRef {
    pub id: String,
    pub role: ArtifactRole,
    pub media_type: String,
    pub size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// Unix milliseconds.
    pub at: i64,
    pub level: LogLevel,
    pub message: String,
}

/// Everything recorded about one node (or legacy step) in one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeRun {
    /// Node id in the graph; for the legacy pipeline, the legacy step (`order.render_still`).
    pub node_id: String,
    pub node_type: String,
    pub module_key: String,
    pub status: NodeStatus,
    /// Unix milliseconds.
    pub queued_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// The effective parameters the module was called with.
    pub params: Map<String, Value>,
    /// Output port → summary of the value.
    pub outputs: BTreeMap<String, Value>,
    /// Output port → content digest of the value ([`crate::digest`]): what lets a parity
    /// comparison name the first node whose output differs from its legacy counterpart
    /// (summaries are too coarse: a camera change does not show in a scene's summary).
    /// Empty in records made before digests were recorded.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub output_digests: BTreeMap<String, String>,
    pub artifacts: Vec<ArtifactRef>,
    pub logs: Vec<LogLine>,
    pub error: Option<NodeError>,
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
