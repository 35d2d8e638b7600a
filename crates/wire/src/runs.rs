//! Runs as the API shows them, and the bodies that start them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use workflow_contracts::output_type::OutputTypeSpec;
use workflow_contracts::run::{NodeRun, RunMode, RunStatus};
use workflow_contracts::Graph;

/// A run as the API serves it. `nodes` is filled in a run's detail, empty in pages.
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

/// A run record (documentation of the JSON the run endpoints return).
#[derive(ToSchema)]
#[allow(dead_code)] // Schema only: the API serialises RunRecord (and the detail fields).
pub struct Run {
    id: String,
    /// `graph`, `legacy` or `shadow`.
    mode: String,
    /// `api`, `rerun`, `fallback`, `shadow` or `preview`.
    trigger: String,
    /// `queued`, `running`, `succeeded`, `failed` or `cancelled`.
    status: String,
    workflow_id: Option<String>,
    workflow_version: Option<i64>,
    output_type_id: Option<String>,
    product_id: Option<String>,
    #[schema(value_type = Object)]
    inputs: Map<String, Value>,
    #[schema(value_type = Object)]
    overrides: Map<String, Value>,
    /// False for shadow runs and previews: their outputs are never deliverables.
    authoritative: bool,
    linked_run_id: Option<String>,
    /// `fallback`, `fallback_of`, `shadow` or `shadow_of`.
    link: Option<String>,
    rerun_of: Option<String>,
    /// Run-level failure (`interrupted`, `invalid_graph`…): `{code, message, details}`.
    #[schema(value_type = Option<Object>)]
    error: Option<Value>,
    created_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    /// One record per node (or legacy step) that has started: status, times, params,
    /// outputs, artifacts, logs, error (`code`, `message`, `details`, `root_cause_node`).
    /// Absent while the run is queued.
    #[schema(value_type = Vec<Object>, required = false)]
    nodes: Vec<Value>,
    /// Detail only (absent in pages).
    #[schema(value_type = Vec<Object>, required = false)]
    artifacts: Vec<Value>,
    /// Detail only (absent in pages): the artifacts that are deliverables (authoritative, succeeded runs).
    #[schema(value_type = Vec<Object>, required = false)]
    deliverables: Vec<Value>,
    /// Detail only, shadow pairs: the comparison (`status` pending|done|error, `verdict`,
    /// `attributed_node`, `report_artifact_id` of the `parity_report` on the shadow run).
    #[schema(value_type = Option<Object>)]
    parity: Option<Value>,
}

// One page of `GET /api/runs`, newest first (no doc comment: it would become the schema's
// description, and the document stays as it was).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunPage {
    #[schema(value_type = Vec<Run>)]
    pub runs: Vec<RunRecord>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// What a dispatch (or preflight) carries. Both fields are optional; an empty body is `{}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchBody {
    /// Values for the source nodes, e.g. `{"product_id": "…", "order_line_id": "…"}`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub inputs: Map<String, Value>,
    /// Extra `<node id or node type>.<param>` overrides over the output type's.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub overrides: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RerunBody {
    /// Overrides over the original run's (`<node id or node type>.<param>`).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub overrides: Map<String, Value>,
}

/// The runs a dispatch started; `run_id` is the primary (authoritative) one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Dispatched {
    pub run_id: String,
    pub runs: Vec<DispatchedRun>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DispatchedRun {
    pub id: String,
    /// `graph`, `legacy` or `shadow`.
    pub mode: String,
    pub authoritative: bool,
}
