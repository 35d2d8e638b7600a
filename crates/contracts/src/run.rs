//! Run records as the engine writes them, the server stores and serves, and the app reads:
//! one [`NodeRun`] per node (or legacy step), the statuses, and how a run executes. Pure
//! data here so that the wire types (`workflow-wire`) need not depend on the engine; the
//! engine re-exports them under `workflow_engine::runtime`.

use crate::ArtifactRole;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

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
    /// Output port → content digest of the value (`workflow_engine::digest`): what lets a parity
    /// comparison name the first node whose output differs from its legacy counterpart
    /// (summaries are too coarse: a camera change does not show in a scene's summary).
    /// Empty in records made before digests were recorded.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub output_digests: BTreeMap<String, String>,
    pub artifacts: Vec<ArtifactRef>,
    pub logs: Vec<LogLine>,
    pub error: Option<NodeError>,
}

/// How a run executes, as recorded on the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    /// The workflow graph, authoritative.
    Graph,
    /// The legacy pipeline, authoritative.
    Legacy,
    /// The workflow graph beside an authoritative legacy run: compared, never delivered.
    Shadow,
}

impl RunMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RunMode::Graph => "graph",
            RunMode::Legacy => "legacy",
            RunMode::Shadow => "shadow",
        }
    }

    /// Whether this run's outputs are deliverables.
    pub fn authoritative(self) -> bool {
        !matches!(self, RunMode::Shadow)
    }

    /// Whether this mode runs the workflow graph (rather than the legacy pipeline).
    pub fn runs_graph(self) -> bool {
        !matches!(self, RunMode::Legacy)
    }
}
