//! Rollout endpoints: state changes (promote, roll back, force), readiness, history, policy,
//! and the dashboard of every output type. The rules are in `crate::rollout`.

use crate::auth::{hash_token, Caller, Permission};
use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiJson, ApiPath, ApiQuery};
use crate::rollout::{self, Actor, RolloutError, RolloutRequest};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header::AUTHORIZATION, HeaderMap};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use workflow_engine::rollout::RolloutPolicy;
use workflow_wire::{ChangeView, OutputTypeRecord, Readiness, RolloutChange, RolloutSummary};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(dashboard))
        .routes(routes!(get_rollout, change))
        .routes(routes!(readiness))
        .routes(routes!(history))
        .routes(routes!(get_policy, put_policy))
}

/// Who the caller is, for the history: role, a short token id, the token's label.
pub async fn actor(state: &AppState, caller: &Caller, headers: &HeaderMap) -> Actor {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .unwrap_or_default();
    let hash = hash_token(token);
    let label = state.store.token_label(&hash).await.ok().flatten();
    Actor::Person {
        role: caller.role,
        token: hash.chars().take(12).collect(),
        label,
    }
}

impl From<RolloutError> for ApiError {
    fn from(err: RolloutError) -> Self {
        match err {
            RolloutError::NotReady { target, readiness } => {
                let failed: Vec<&str> = readiness
                    .checks
                    .iter()
                    .filter(|c| !c.ok)
                    .map(|c| c.message.as_str())
                    .collect();
                ApiError::Conflict {
                    code: "rollout_not_ready",
                    message: format!(
                        "promotion to {target} refused: {}. Keep it in shadow until the checks hold, or have an admin force it with a reason",
                        failed.join("; ")
                    ),
                    details: json!({
                        "target": target,
                        "failed_checks": readiness.failed_checks,
                        "readiness": readiness,
                    }),
                }
            }
            RolloutError::ReasonRequired => ApiError::Unprocessable {
                code: "reason_required",
                message: "a forced promotion needs a written reason (field `reason`)".into(),
                details: json!({"field": "reason"}),
            },
            RolloutError::Forbidden { role, action } => ApiError::Forbidden { role, action },
            RolloutError::Unchanged(state) => ApiError::Conflict {
                code: "rollout_unchanged",
                message: format!("the output type is already in {state}"),
                details: json!({"rollout": state}),
            },
            RolloutError::Invalid(problems) => ApiError::Unprocessable {
                code: "invalid_output_type",
                message: format!(
                    "the output type cannot be in that state: {}",
                    problems
                        .first()
                        .map(|p| p.message.as_str())
                        .unwrap_or_default()
                ),
                details: json!({"errors": problems}),
            },
            RolloutError::InvalidPolicy(problems) => ApiError::Unprocessable {
                code: "invalid_rollout_policy",
                message: format!(
                    "invalid rollout policy: {}",
                    problems
                        .iter()
                        .map(|(f, m)| format!("{f}: {m}"))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                details: json!({"errors": problems.iter().map(|(f, m)| json!({"field": f, "message": m})).collect::<Vec<_>>()}),
            },
            RolloutError::Store(e) => e.into(),
        }
    }
}

/// Body of `POST /api/output-types/{id}/rollout`.
#[derive(ToSchema)]
#[allow(dead_code)] // Schema only: requests deserialise into RolloutRequest.
pub struct RolloutBody {
    /// `legacy`, `shadow` or `graph`.
    #[schema(example = "graph")]
    target: String,
    /// Why (required with `force`).
    reason: Option<String>,
    /// Promote to `graph` although readiness checks fail: admin only, reason required.
    force: Option<bool>,
}

/// An output type's rollout: state, readiness and the latest changes.
#[derive(Debug, Serialize, ToSchema)]
pub struct RolloutView {
    #[schema(value_type = Object)]
    pub output_type: OutputTypeRecord,
    #[schema(value_type = Object)]
    pub readiness: Readiness,
    #[schema(value_type = Vec<Object>)]
    pub history: Vec<RolloutChange>,
}

const HISTORY_DEFAULT: i64 = 50;

/// Every output type with its rollout state, readiness (shadow pass rate, recent verdicts,
/// checks) and latest change: the rollout dashboard.
#[utoipa::path(get, path = "/api/rollout", tag = "rollout", security(("bearer" = [])),
    responses((status = 200, body = [Object]), (status = 401, body = ErrorBody)))]
async fn dashboard(
    _caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Vec<RolloutSummary>>, ApiError> {
    Ok(Json(super::wire::list(
        rollout::dashboard(state.store.as_ref(), &state.runs.rollout_policy).await?,
    )))
}

/// One output type's rollout: state, readiness and the latest changes.
#[utoipa::path(get, path = "/api/output-types/{id}/rollout", tag = "rollout",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = RolloutView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn get_rollout(
    _caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<RolloutView>, ApiError> {
    let ot = state.store.get_output_type(&id).await?;
    let readiness =
        rollout::readiness(state.store.as_ref(), &state.runs.rollout_policy, &ot).await?;
    let history = state.store.list_rollout_changes(&id, 20).await?;
    Ok(Json(RolloutView {
        output_type: ot.into(),
        readiness: super::wire::readiness(readiness),
        history: super::wire::list(history),
    }))
}

/// Moves the rollout: `{target, reason?, force?}`. Promotion to `graph` needs readiness
/// (409 `rollout_not_ready` listing the failed checks) unless an admin forces it with a
/// reason; rollback to `legacy` is always allowed and applies to the next dispatch.
#[utoipa::path(post, path = "/api/output-types/{id}/rollout", tag = "rollout",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = RolloutBody,
    responses((status = 200, body = ChangeView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "rollout_not_ready (details.failed_checks, details.readiness), rollout_unchanged, version_conflict", body = ErrorBody),
        (status = 422, description = "reason_required, invalid_output_type", body = ErrorBody)))]
async fn change(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<RolloutRequest>,
) -> Result<Json<ChangeView>, ApiError> {
    caller.require(Permission::ChangeRollout, "change an output type's rollout")?;
    let actor = actor(&state, &caller, &headers).await;
    let (output_type, change) = rollout::change_rollout(
        state.store.as_ref(),
        &state.registry,
        &state.runs.rollout_policy,
        &id,
        &request,
        &actor,
    )
    .await?;
    Ok(Json(ChangeView {
        output_type: output_type.into(),
        change: change.into(),
    }))
}

/// Whether the output type may be promoted to `graph`: every check with what it requires
/// and what it found, the pass rate, the latest shadow verdicts.
#[utoipa::path(get, path = "/api/output-types/{id}/rollout/readiness", tag = "rollout",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn readiness(
    _caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Readiness>, ApiError> {
    let ot = state.store.get_output_type(&id).await?;
    Ok(Json(super::wire::readiness(
        rollout::readiness(state.store.as_ref(), &state.runs.rollout_policy, &ot).await?,
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// 1–500, default 50.
    pub limit: Option<i64>,
}

/// Every rollout change, newest first: who, when, from, to, reason, forced/automatic, and
/// the readiness at that moment.
#[utoipa::path(get, path = "/api/output-types/{id}/rollout/history", tag = "rollout",
    security(("bearer" = [])), params(("id" = String, Path), HistoryQuery),
    responses((status = 200, body = [Object]), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn history(
    _caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Result<Json<Vec<RolloutChange>>, ApiError> {
    state.store.get_output_type(&id).await?;
    let limit = q.limit.unwrap_or(HISTORY_DEFAULT).clamp(1, 500);
    Ok(Json(super::wire::list(
        state.store.list_rollout_changes(&id, limit).await?,
    )))
}

/// The server's policy, this output type's overrides, and the effective policy.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyView {
    #[schema(value_type = Object)]
    pub defaults: RolloutPolicy,
    #[schema(value_type = Object)]
    pub overrides: Value,
    #[schema(value_type = Object)]
    pub effective: RolloutPolicy,
}

async fn policy_view(state: &AppState, id: &str) -> Result<PolicyView, ApiError> {
    state.store.get_output_type(id).await?;
    let defaults = state.runs.rollout_policy.clone();
    let overrides = state
        .store
        .get_rollout_policy(id)
        .await?
        .unwrap_or_else(|| json!({}));
    let effective = rollout::policy_for(state.store.as_ref(), &defaults, id).await?;
    Ok(PolicyView {
        defaults,
        overrides,
        effective,
    })
}

/// The rollout policy of an output type (readiness thresholds, automatic rollback).
#[utoipa::path(get, path = "/api/output-types/{id}/rollout/policy", tag = "rollout",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = PolicyView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn get_policy(
    _caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PolicyView>, ApiError> {
    Ok(Json(policy_view(&state, &id).await?))
}

/// Replaces the output type's policy overrides (a JSON object of policy fields:
/// `min_shadow_runs`, `window_minutes`, `min_pass_rate`, `no_fail_in_last`,
/// `auto_rollback_fallbacks`, `auto_rollback_window_minutes`; `{}` clears them). Admin only.
#[utoipa::path(put, path = "/api/output-types/{id}/rollout/policy", tag = "rollout",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = Object,
    responses((status = 200, body = PolicyView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn put_policy(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(overrides): ApiJson<Value>,
) -> Result<Json<PolicyView>, ApiError> {
    caller.require(Permission::Administer, "change rollout policies")?;
    rollout::set_policy(
        state.store.as_ref(),
        &state.runs.rollout_policy,
        &id,
        &overrides,
    )
    .await?;
    Ok(Json(policy_view(&state, &id).await?))
}
