//! Storage of rollout history, shadow comparisons and per-output-type rollout policies. Like
//! the rest of the store it records; `crate::rollout` decides.

use super::{OutputTypeRecord, StoreResult};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use workflow_contracts::output_type::{OutputTypeSpec, Rollout};

/// One recorded rollout change of an output type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutChange {
    pub id: String,
    pub output_type_id: String,
    /// `None` for the state the output type was created in.
    pub from: Option<Rollout>,
    pub to: Rollout,
    /// Who: `{"role", "token", "label"}` for a person, `{"system": "…"}` for the server.
    pub actor: Value,
    pub reason: Option<String>,
    /// A promotion an admin forced past failing readiness checks.
    pub forced: bool,
    /// Made by the server itself (automatic rollback after repeated fallbacks).
    pub automatic: bool,
    /// The readiness evaluation when the change was made.
    pub readiness: Option<Value>,
    /// The output type's version after the change.
    pub output_type_version: i64,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// The fields of a change to record.
#[derive(Debug, Clone)]
pub struct NewRolloutChange {
    pub from: Option<Rollout>,
    pub to: Rollout,
    pub actor: Value,
    pub reason: Option<String>,
    pub forced: bool,
    pub automatic: bool,
    pub readiness: Option<Value>,
}

/// A shadow comparison: one legacy run and its shadow graph run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShadowComparison {
    pub shadow_run_id: String,
    pub legacy_run_id: String,
    pub output_type_id: Option<String>,
    pub workflow_id: Option<String>,
    pub workflow_version: Option<i64>,
    /// `pending` (being compared), `done` or `error` (could not compare: `error` says why).
    pub status: String,
    /// `pass`, `warn` or `fail` once done.
    pub verdict: Option<String>,
    pub attributed_node: Option<String>,
    /// The `parity_report` artifact (JSON) on the shadow run.
    pub report_artifact_id: Option<String>,
    pub error: Option<Value>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// The claim of a comparison about to start.
#[derive(Debug, Clone)]
pub struct NewShadowComparison {
    pub shadow_run_id: String,
    pub legacy_run_id: String,
    pub output_type_id: Option<String>,
    pub workflow_id: Option<String>,
    pub workflow_version: Option<i64>,
}

#[async_trait]
pub trait RolloutStore: Send + Sync {
    /// Saves `spec` (when the output type is at version `expected`, else `Conflict`) and
    /// records `change` with the new version, in one transaction.
    async fn save_output_type_change(
        &self,
        id: &str,
        expected: i64,
        spec: &OutputTypeSpec,
        change: &NewRolloutChange,
    ) -> StoreResult<(OutputTypeRecord, RolloutChange)>;
    /// Records a change without touching the output type (its creation).
    async fn record_rollout_change(
        &self,
        output_type_id: &str,
        output_type_version: i64,
        change: &NewRolloutChange,
    ) -> StoreResult<RolloutChange>;
    /// Newest first.
    async fn list_rollout_changes(
        &self,
        output_type_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<RolloutChange>>;
    /// Claims the comparison of a shadow run: false when it was already claimed.
    async fn claim_shadow_comparison(&self, claim: &NewShadowComparison) -> StoreResult<bool>;
    /// Drops the claims still `pending` that were made before `created_before` (ms): their
    /// process stopped before it recorded an outcome. Returns how many; those shadow runs
    /// are then uncompared again, for [`Self::shadow_runs_without_comparison`].
    async fn release_pending_comparisons(&self, created_before: i64) -> StoreResult<u64>;
    /// Records the outcome of a claimed comparison.
    async fn finish_shadow_comparison(
        &self,
        shadow_run_id: &str,
        verdict: Option<&str>,
        attributed_node: Option<&str>,
        report_artifact_id: Option<&str>,
        error: Option<&Value>,
    ) -> StoreResult<()>;
    async fn get_shadow_comparison(
        &self,
        shadow_run_id: &str,
    ) -> StoreResult<Option<ShadowComparison>>;
    /// Finished (`done`) comparisons of an output type created at or after `since`, newest
    /// first, at most `limit`.
    async fn list_shadow_comparisons(
        &self,
        output_type_id: &str,
        since: i64,
        limit: i64,
    ) -> StoreResult<Vec<ShadowComparison>>;
    /// Finished shadow runs without a comparison (newest first, at most `limit`): pairs
    /// whose comparison a stop interrupted before it was claimed.
    async fn shadow_runs_without_comparison(&self, limit: i64) -> StoreResult<Vec<String>>;
    /// Runs of an output type with `trigger` created at or after `since`.
    async fn count_runs_by_trigger(
        &self,
        output_type_id: &str,
        trigger: &str,
        since: i64,
    ) -> StoreResult<i64>;
    /// The output type's policy overrides (a JSON object), if any.
    async fn get_rollout_policy(&self, output_type_id: &str) -> StoreResult<Option<Value>>;
    async fn set_rollout_policy(&self, output_type_id: &str, policy: &Value) -> StoreResult<()>;
}
