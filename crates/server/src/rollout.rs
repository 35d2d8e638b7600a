//! Rollout of output types: `legacy` → `shadow` → `graph`, and rollback. The rules are the
//! engine's (`workflow_engine::rollout`: readiness, automatic rollback); this module applies
//! them to what the store holds (shadow comparisons, fallback runs, history) and records
//! every change with who made it, why, and the readiness at that moment. Handlers only
//! translate HTTP to these calls.

use crate::auth::Role;
use crate::store::{
    NewRolloutChange, OutputTypeRecord, RolloutChange, Store, StoreError, Workflow,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use workflow_contracts::output_type::{
    validate_output_type, OutputTypeProblem, OutputTypeSpec, Rollout, WorkflowRef,
};
use workflow_contracts::Registry;
use workflow_engine::compare::Verdict;
use workflow_engine::rollout::{
    evaluate_readiness, is_promotion, should_auto_rollback, Readiness, ReadinessInput,
    RolloutPolicy, ShadowOutcome,
};
use workflow_engine::runtime::now_ms;

/// Most comparisons one readiness evaluation reads.
const MAX_COMPARISONS: i64 = 1000;

/// Who asks for a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A caller with a token: its role, a short id of the token (the first 12 hex digits of
    /// its hash: enough to tell tokens apart, useless to authenticate) and its label.
    Person {
        role: Role,
        token: String,
        label: Option<String>,
    },
    /// The server itself (automatic rollback).
    System(String),
}

impl Actor {
    pub fn to_json(&self) -> Value {
        match self {
            Actor::Person { role, token, label } => {
                json!({"role": role.as_str(), "token": token, "label": label})
            }
            Actor::System(what) => json!({"system": what}),
        }
    }

    fn role(&self) -> Option<Role> {
        match self {
            Actor::Person { role, .. } => Some(*role),
            Actor::System(_) => None,
        }
    }
}

// The request body is the wire's (`POST /api/output-types/{id}/rollout`).
pub use workflow_wire::RolloutRequest;

#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    #[error("promotion to {target} refused: readiness check(s) {} failed", .readiness.failed_checks.join(", "))]
    NotReady {
        target: Rollout,
        readiness: Box<Readiness>,
    },
    #[error("a forced promotion needs a written reason")]
    ReasonRequired,
    #[error("role '{role}' may not {action}")]
    Forbidden { role: String, action: String },
    #[error("the output type is already in {0}")]
    Unchanged(Rollout),
    #[error("the output type would be invalid in the new state")]
    Invalid(Vec<OutputTypeProblem>),
    #[error("invalid rollout policy: {}", .0.iter().map(|(f, m)| format!("{f}: {m}")).collect::<Vec<_>>().join("; "))]
    InvalidPolicy(Vec<(String, String)>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The policy for one output type: the server's defaults with its overrides on top.
pub async fn policy_for(
    store: &dyn Store,
    defaults: &RolloutPolicy,
    output_type_id: &str,
) -> Result<RolloutPolicy, RolloutError> {
    match store.get_rollout_policy(output_type_id).await? {
        Some(patch) => defaults
            .patched(&patch)
            .map_err(|m| RolloutError::InvalidPolicy(vec![("policy".into(), m)])),
        None => Ok(defaults.clone()),
    }
}

/// Stores an output type's policy overrides (a JSON object of policy fields; `{}` clears
/// them) after checking that the result is a valid policy. Returns the effective policy.
pub async fn set_policy(
    store: &dyn Store,
    defaults: &RolloutPolicy,
    output_type_id: &str,
    overrides: &Value,
) -> Result<RolloutPolicy, RolloutError> {
    store.get_output_type(output_type_id).await?;
    let effective = defaults
        .patched(overrides)
        .map_err(|m| RolloutError::InvalidPolicy(vec![("policy".into(), m)]))?;
    let problems = effective.problems();
    if !problems.is_empty() {
        return Err(RolloutError::InvalidPolicy(problems));
    }
    store.set_rollout_policy(output_type_id, overrides).await?;
    Ok(effective)
}

async fn workflow_of(
    store: &dyn Store,
    spec: &OutputTypeSpec,
) -> Result<Option<Workflow>, StoreError> {
    match &spec.workflow_id {
        Some(id) => match store.get_workflow(id).await {
            Ok(wf) => Ok(Some(wf)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        },
        None => Ok(None),
    }
}

/// Readiness of an output type for promotion to `graph`: the shadow comparisons of its
/// current workflow version in the policy's window, judged by the engine's rules.
pub async fn readiness(
    store: &dyn Store,
    defaults: &RolloutPolicy,
    ot: &OutputTypeRecord,
) -> Result<Readiness, RolloutError> {
    let policy = policy_for(store, defaults, &ot.id).await?;
    let now = now_ms();
    let workflow = workflow_of(store, &ot.spec).await?;
    let since = now.saturating_sub(policy.window_ms());
    let outcomes: Vec<ShadowOutcome> = match &workflow {
        Some(wf) => store
            .list_shadow_comparisons(&ot.id, since, MAX_COMPARISONS)
            .await?
            .into_iter()
            .filter(|c| {
                c.workflow_id.as_deref() == Some(wf.id.as_str())
                    && c.workflow_version == Some(wf.version)
            })
            .filter_map(|c| {
                let verdict: Verdict =
                    serde_json::from_value(Value::String(c.verdict.clone()?)).ok()?;
                Some(ShadowOutcome {
                    shadow_run_id: c.shadow_run_id,
                    legacy_run_id: c.legacy_run_id,
                    verdict,
                    attributed_node: c.attributed_node,
                    report_artifact_id: c.report_artifact_id,
                    at: c.finished_at.unwrap_or(c.created_at),
                })
            })
            .collect(),
        None => Vec::new(),
    };
    Ok(evaluate_readiness(
        ReadinessInput {
            rollout: ot.spec.rollout,
            has_workflow: workflow.is_some(),
            policy: &policy,
            now,
        },
        &outcomes,
    ))
}

/// Problems of `spec` as it would be saved (e.g. `rollout_needs_workflow`).
async fn check_spec(
    store: &dyn Store,
    registry: &Registry,
    spec: &OutputTypeSpec,
) -> Result<(), RolloutError> {
    let workflow = workflow_of(store, spec).await?;
    let wf_ref = workflow.as_ref().map(|wf| WorkflowRef {
        id: &wf.id,
        name: &wf.name,
        family: wf.family,
        graph: &wf.graph,
    });
    let problems = validate_output_type(spec, wf_ref, registry);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(RolloutError::Invalid(problems))
    }
}

/// Who may make a change from `from` to `to`: promotions are authors' (and admins'),
/// rollbacks and demotions also debuggers' (whoever watches runs must be able to stop the
/// graph), forcing is admins' only.
fn authorise(actor: &Actor, from: Rollout, to: Rollout, force: bool) -> Result<(), RolloutError> {
    let Some(role) = actor.role() else {
        return Ok(());
    };
    let forbidden = |action: &str| RolloutError::Forbidden {
        role: role.to_string(),
        action: action.to_owned(),
    };
    if force && role != Role::Admin {
        return Err(forbidden("force a rollout promotion (admin only)"));
    }
    let allowed: &[Role] = if is_promotion(from, to) {
        &[Role::Author, Role::Admin]
    } else {
        &[Role::Author, Role::Debugger, Role::Admin]
    };
    if allowed.contains(&role) {
        Ok(())
    } else {
        Err(forbidden(&format!(
            "change the rollout from {from} to {to}"
        )))
    }
}

/// Decides a change of `current` to `to`: permission, the target's validity and, for a
/// promotion to `graph`, readiness (unless forced with a reason). Returns what to record.
async fn decide(
    store: &dyn Store,
    registry: &Registry,
    defaults: &RolloutPolicy,
    current: &OutputTypeRecord,
    next: &OutputTypeSpec,
    request: &RolloutRequest,
    actor: &Actor,
) -> Result<NewRolloutChange, RolloutError> {
    let from = current.spec.rollout;
    let to = request.target;
    authorise(actor, from, to, request.force)?;
    let reason = request
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    if request.force && reason.is_none() {
        return Err(RolloutError::ReasonRequired);
    }
    if to != Rollout::Legacy {
        // Rollback is never blocked, not even by an output type its workflow broke since.
        check_spec(store, registry, next).await?;
    }
    let readiness = readiness(store, defaults, current).await?;
    if to == Rollout::Graph && from != Rollout::Graph && !readiness.ready && !request.force {
        return Err(RolloutError::NotReady {
            target: to,
            readiness: Box::new(readiness),
        });
    }
    let forced = request.force && to == Rollout::Graph && !readiness.ready;
    Ok(NewRolloutChange {
        from: Some(from),
        to,
        actor: actor.to_json(),
        reason,
        forced,
        automatic: false,
        readiness: serde_json::to_value(&readiness).ok(),
    })
}

/// Moves an output type's rollout (see [`decide`]); rollback to `legacy` is always allowed
/// and takes effect for every dispatch after it. Recorded with the change.
pub async fn change_rollout(
    store: &dyn Store,
    registry: &Registry,
    defaults: &RolloutPolicy,
    output_type_id: &str,
    request: &RolloutRequest,
    actor: &Actor,
) -> Result<(OutputTypeRecord, RolloutChange), RolloutError> {
    let current = store.get_output_type(output_type_id).await?;
    if current.spec.rollout == request.target {
        return Err(RolloutError::Unchanged(request.target));
    }
    let mut next = current.spec.clone();
    next.rollout = request.target;
    let change = decide(store, registry, defaults, &current, &next, request, actor).await?;
    Ok(store
        .save_output_type_change(output_type_id, current.version, &next, &change)
        .await?)
}

/// Saves an edited output type (`PUT`). A changed `rollout` goes through the same rules as
/// [`change_rollout`] (never forced) and is recorded; anything else is a plain update.
pub async fn save_output_type(
    store: &dyn Store,
    registry: &Registry,
    defaults: &RolloutPolicy,
    id: &str,
    expected: i64,
    spec: &OutputTypeSpec,
    actor: &Actor,
) -> Result<OutputTypeRecord, RolloutError> {
    let current = store.get_output_type(id).await?;
    if current.spec.rollout == spec.rollout || current.version != expected {
        // Unchanged rollout, or a stale edit the store answers with 409 and the current one.
        return Ok(store.update_output_type(id, expected, spec).await?);
    }
    let request = RolloutRequest {
        target: spec.rollout,
        reason: Some("changed with an edit of the output type".into()),
        force: false,
    };
    let change = decide(store, registry, defaults, &current, spec, &request, actor).await?;
    Ok(store
        .save_output_type_change(id, expected, spec, &change)
        .await?
        .0)
}

/// Records the state a new output type starts in.
pub async fn record_creation(
    store: &dyn Store,
    record: &OutputTypeRecord,
    actor: &Actor,
) -> Result<RolloutChange, RolloutError> {
    let change = NewRolloutChange {
        from: None,
        to: record.spec.rollout,
        actor: actor.to_json(),
        reason: Some("created".into()),
        forced: false,
        automatic: false,
        readiness: None,
    };
    Ok(store
        .record_rollout_change(&record.id, record.version, &change)
        .await?)
}

/// After a graph run of an output type fell back to legacy: when the fallbacks since the
/// later of the window's start and the promotion reach the policy's count, the output type
/// is rolled back to `legacy` (recorded as automatic, with the reason). Returns the change.
pub async fn note_fallback(
    store: &dyn Store,
    defaults: &RolloutPolicy,
    output_type_id: &str,
) -> Result<Option<RolloutChange>, RolloutError> {
    let ot = store.get_output_type(output_type_id).await?;
    if ot.spec.rollout != Rollout::Graph {
        return Ok(None);
    }
    let policy = policy_for(store, defaults, output_type_id).await?;
    let now = now_ms();
    let mut since = now.saturating_sub(policy.auto_rollback_window_ms());
    if let Some(last) = store.list_rollout_changes(output_type_id, 1).await?.first() {
        since = since.max(last.created_at);
    }
    let fallbacks = store
        .count_runs_by_trigger(output_type_id, "fallback", since)
        .await?;
    let fallbacks = u64::try_from(fallbacks).unwrap_or(0);
    if !should_auto_rollback(&policy, ot.spec.rollout, fallbacks) {
        return Ok(None);
    }
    let readiness = readiness(store, defaults, &ot).await?;
    let mut next = ot.spec.clone();
    next.rollout = Rollout::Legacy;
    let change = NewRolloutChange {
        from: Some(Rollout::Graph),
        to: Rollout::Legacy,
        actor: Actor::System("automatic rollback".into()).to_json(),
        reason: Some(format!(
            "automatic rollback: {fallbacks} graph run(s) fell back to legacy within {} minute(s) (limit {})",
            policy.auto_rollback_window_minutes, policy.auto_rollback_fallbacks
        )),
        forced: false,
        automatic: true,
        readiness: serde_json::to_value(&readiness).ok(),
    };
    match store
        .save_output_type_change(output_type_id, ot.version, &next, &change)
        .await
    {
        Ok((_, change)) => Ok(Some(change)),
        // Someone changed it meanwhile (another rollback, an edit): theirs stands.
        Err(StoreError::Conflict { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// One output type on the rollout dashboard.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RolloutSummary {
    pub output_type: OutputTypeRecord,
    pub readiness: Readiness,
    /// The latest change, if any.
    pub last_change: Option<RolloutChange>,
}

/// Every output type with its readiness and latest change.
pub async fn dashboard(
    store: &dyn Store,
    defaults: &RolloutPolicy,
) -> Result<Vec<RolloutSummary>, RolloutError> {
    let mut out = Vec::new();
    for ot in store.list_output_types(None).await? {
        let readiness = readiness(store, defaults, &ot).await?;
        let last_change = store
            .list_rollout_changes(&ot.id, 1)
            .await?
            .into_iter()
            .next();
        out.push(RolloutSummary {
            output_type: ot,
            readiness,
            last_change,
        });
    }
    Ok(out)
}
