//! Storage behind a trait, so the SQLite implementation used today and a PostgreSQL one later
//! share the handlers and the test suite. Implementations store and load; they make no
//! business decisions beyond optimistic concurrency (the version check) and referential
//! integrity (a workflow in use cannot be deleted).

mod deliverables;
mod orders;
mod products;
mod rollout;
mod runs;
mod sql;
mod tokens;

pub use deliverables::{
    DeliverableRecord, DeliverableStore, NewDeliverable, NewPublication, NotificationFilter,
    NotificationRecord, PublishOutcome,
};
pub use orders::{MaterialStore, NewOrderLine, OrderLine, OrderLineFilter, OrderStore};
pub use products::{ProductPublication, ProductRecord, ProductStore, SourceFile};
pub use rollout::{
    NewRolloutChange, NewShadowComparison, RolloutChange, RolloutStore, ShadowComparison,
};
pub use runs::{
    ArtifactMeta, Job, LeaseState, NewRun, RunFilter, RunRecord, RunStore, StoredEvent,
};
pub use sql::{Backend, SqlStore};
pub use tokens::{token_id, TokenGrant, TokenInfo, TokenStore, TOKEN_ID_LEN};

use crate::auth::Role;
use async_trait::async_trait;
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

/// A stored output type; serialises flat (`id`, `version`, the spec's fields, timestamps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputTypeRecord {
    pub id: String,
    pub version: i64,
    #[serde(flatten)]
    pub spec: OutputTypeSpec,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A record that blocks a deletion, named so the user can find it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct UsedBy {
    pub id: String,
    pub name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{what} is at version {current_version}")]
    Conflict {
        what: String,
        current_version: i64,
        /// The current record as the API shows it, so the client can merge.
        current: serde_json::Value,
    },
    /// A record with that key (e.g. a material name) is already stored.
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("{what} is in use")]
    InUse { what: String, users: Vec<UsedBy> },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// A stored value no longer parses (hand-edited database, newer writer).
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Why a revision was written, recorded beside it.
pub mod note {
    pub const CREATE: &str = "create";
    pub const UPDATE: &str = "update";
    pub const NORMALIZE: &str = "normalize";
    pub const SEED: &str = "seed";
}

#[async_trait]
pub trait Store:
    RunStore
    + OrderStore
    + MaterialStore
    + DeliverableStore
    + ProductStore
    + RolloutStore
    + TokenStore
    + Send
    + Sync
    + 'static
{
    /// Applies pending migrations.
    async fn migrate(&self) -> StoreResult<()>;
    /// Versions of this binary's migrations the database has not applied (workers never
    /// migrate: they refuse to start on an older schema).
    async fn pending_migrations(&self) -> StoreResult<Vec<i64>>;

    async fn list_workflows(&self, family: Option<Family>) -> StoreResult<Vec<Workflow>>;
    async fn get_workflow(&self, id: &str) -> StoreResult<Workflow>;
    /// Stores a new workflow at version 1 (no validation: callers decide what may be saved).
    async fn create_workflow(&self, name: &str, graph: &Graph, note: &str)
        -> StoreResult<Workflow>;
    /// Saves a new version when the stored version equals `expected`, else `Conflict`.
    async fn update_workflow(
        &self,
        id: &str,
        expected: i64,
        name: &str,
        graph: &Graph,
        note: &str,
    ) -> StoreResult<Workflow>;
    /// Deletes when at version `expected` and no output type uses it.
    async fn delete_workflow(&self, id: &str, expected: i64) -> StoreResult<()>;
    async fn list_revisions(&self, id: &str) -> StoreResult<Vec<Revision>>;
    async fn get_revision(&self, id: &str, revision: i64) -> StoreResult<Revision>;

    async fn list_output_types(&self, family: Option<Family>)
        -> StoreResult<Vec<OutputTypeRecord>>;
    async fn get_output_type(&self, id: &str) -> StoreResult<OutputTypeRecord>;
    async fn create_output_type(&self, spec: &OutputTypeSpec) -> StoreResult<OutputTypeRecord>;
    async fn update_output_type(
        &self,
        id: &str,
        expected: i64,
        spec: &OutputTypeSpec,
    ) -> StoreResult<OutputTypeRecord>;
    async fn delete_output_type(&self, id: &str, expected: i64) -> StoreResult<()>;

    /// Stores a token by its hash; the token itself is never stored.
    async fn create_token(&self, token_hash: &str, role: Role, label: &str) -> StoreResult<()>;
    async fn token_role(&self, token_hash: &str) -> StoreResult<Option<Role>>;
    /// The label a token was created with (None for unknown or in-memory tokens).
    async fn token_label(&self, token_hash: &str) -> StoreResult<Option<String>>;

    /// Small key/value facts about the database (e.g. which seed ran).
    async fn get_meta(&self, key: &str) -> StoreResult<Option<String>>;
    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()>;
}

/// Unix milliseconds now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A new random id (UUID v4 text: portable across SQLite and PostgreSQL).
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
