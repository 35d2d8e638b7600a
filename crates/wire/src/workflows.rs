//! Workflows, their revisions, and output types as the API shows them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use workflow_contracts::output_type::OutputTypeSpec;
use workflow_contracts::{Family, Graph};

/// A stored workflow: the latest revision of a graph plus its concurrency version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Workflow {
    pub id: String,
    pub name: String,
    /// The family the graph declares (`cad_file` or `order_line`); null for old graphs.
    #[schema(value_type = Option<String>, example = "order_line")]
    pub family: Option<Family>,
    /// Bumped on every save; send it back in `If-Match`.
    pub version: i64,
    /// The graph in its wire format (see `GET /api/contracts/nodes`).
    #[schema(value_type = Object)]
    pub graph: Graph,
    /// Unix milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

/// One saved state of a workflow. `revision` equals the workflow version it was saved as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Revision {
    pub workflow_id: String,
    pub revision: i64,
    pub name: String,
    #[schema(value_type = Object)]
    pub graph: Graph,
    /// Why it was saved: `create`, `update`, `restore 3`, `normalize`.
    pub note: String,
    pub created_at: i64,
}

/// A workflow as clients send it on create and update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WorkflowInput {
    pub name: String,
    /// The graph; its `family` becomes the workflow's family.
    #[schema(value_type = Object)]
    pub graph: Graph,
}

/// A stored output type; serialises flat (`id`, `version`, the spec's fields, timestamps).
/// Its OpenAPI description is the server's `OutputType` schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputTypeRecord {
    pub id: String,
    pub version: i64,
    #[serde(flatten)]
    pub spec: OutputTypeSpec,
    pub created_at: i64,
    pub updated_at: i64,
}
