//! Rollout as the API shows it: the history of changes, readiness for promotion, and the
//! dashboard rows. The engine judges readiness (`workflow_engine::rollout`); these are the
//! shapes it is served in, so an engine change shows up as a conversion to write in the
//! server, not as a silent API change.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use utoipa::ToSchema;
use workflow_contracts::output_type::Rollout;

use crate::workflows::OutputTypeRecord;

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

/// A request to move an output type's rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutRequest {
    pub target: Rollout,
    #[serde(default)]
    pub reason: Option<String>,
    /// Promote to `graph` although readiness checks fail (admin only, reason required).
    #[serde(default)]
    pub force: bool,
}

/// What a change answers: the output type now, and the recorded change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChangeView {
    #[schema(value_type = Object)]
    pub output_type: OutputTypeRecord,
    #[schema(value_type = Object)]
    pub change: RolloutChange,
}

/// One output type on the rollout dashboard (`GET /api/rollout`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutSummary {
    pub output_type: OutputTypeRecord,
    pub readiness: Readiness,
    /// The latest change, if any.
    pub last_change: Option<RolloutChange>,
}

/// The outcome of a parity comparison. `warn` means a person must review it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What promotion and automatic rollback require (the server's defaults with an output
/// type's overrides on top).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutPolicy {
    /// Shadow comparisons (of the current workflow version) needed in the window.
    pub min_shadow_runs: u32,
    /// How far back shadow comparisons count, in minutes.
    pub window_minutes: u64,
    /// Share of those comparisons that must pass (0..1; `warn` does not pass).
    pub min_pass_rate: f64,
    /// None of the latest this-many comparisons may be `fail` (0 turns the check off).
    pub no_fail_in_last: u32,
    /// Fallbacks to legacy within `auto_rollback_window_minutes` that roll a `graph` output
    /// type back to `legacy` (0 turns automatic rollback off).
    pub auto_rollback_fallbacks: u32,
    pub auto_rollback_window_minutes: u64,
}

/// One finished shadow comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShadowOutcome {
    pub shadow_run_id: String,
    pub legacy_run_id: String,
    pub verdict: Verdict,
    /// The graph node the difference was attributed to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributed_node: Option<String>,
    /// The stored parity report (artifact id), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_artifact_id: Option<String>,
    /// Unix milliseconds of the comparison.
    pub at: i64,
}

/// One readiness condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadinessCheck {
    /// `shadow_state`, `workflow`, `min_shadow_runs`, `pass_rate`, `no_recent_fail`.
    pub code: String,
    pub ok: bool,
    pub required: Value,
    pub actual: Value,
    pub message: String,
}

/// Whether an output type may be promoted to `graph`, and why (or why not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Readiness {
    pub ready: bool,
    pub rollout: Rollout,
    pub policy: RolloutPolicy,
    /// Comparisons count from this time on (unix ms).
    pub window_start: i64,
    pub evaluated_at: i64,
    pub shadow_runs: usize,
    pub passed: usize,
    pub warned: usize,
    pub failed: usize,
    /// `passed / shadow_runs`; `None` without comparisons.
    pub pass_rate: Option<f64>,
    pub checks: Vec<ReadinessCheck>,
    /// The codes of the checks that do not hold.
    pub failed_checks: Vec<String>,
    /// The latest comparisons in the window, newest first (at most 20).
    pub recent: Vec<ShadowOutcome>,
}
