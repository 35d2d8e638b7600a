//! Preflight and dispatch of workflows and output types. The checks are the engine's and the
//! contracts'; the run records and their linking are the runs service's.

use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ErrorBody};
use crate::json::{parse_json, ApiPath};
use crate::runs::dispatch::{DispatchError, DispatchInput};
use crate::runs::preflight::{PreflightProblem, PreflightReport};
use crate::state::AppState;
use crate::store::RunRecord;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(preflight_workflow))
        .routes(routes!(dispatch_workflow))
        .routes(routes!(preview_workflow))
        .routes(routes!(preflight_output_type))
        .routes(routes!(dispatch_output_type))
}

// The bodies are the wire's; kept at this path for the server's callers.
pub use workflow_wire::{DispatchBody, Dispatched, DispatchedRun};

/// A JSON body that may be empty (then `T::default()`), with our error mapping.
pub struct OptionalJson<T>(pub T);

impl<T: serde::de::DeserializeOwned + Default> FromRequest<AppState> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge {
                    limit: state.body_limit,
                }
            } else {
                ApiError::BadRequest(format!("cannot read request body: {rejection}"))
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        parse_json(&bytes).map(OptionalJson)
    }
}

pub fn dispatched(runs: &[RunRecord]) -> Response {
    let body = Dispatched {
        run_id: runs.first().map(|r| r.id.clone()).unwrap_or_default(),
        runs: runs
            .iter()
            .map(|r| DispatchedRun {
                id: r.id.clone(),
                mode: r.mode.as_str().into(),
                authoritative: r.authoritative,
            })
            .collect(),
    };
    let location = format!("/api/runs/{}", body.run_id);
    (
        StatusCode::ACCEPTED,
        [(axum::http::header::LOCATION, location)],
        Json(body),
    )
        .into_response()
}

impl From<DispatchError> for ApiError {
    fn from(err: DispatchError) -> Self {
        match err {
            DispatchError::Preflight(report) => {
                let errors: Vec<&PreflightProblem> = report
                    .problems
                    .iter()
                    .filter(|p| p.severity == "error")
                    .collect();
                ApiError::Unprocessable {
                    code: "preflight_failed",
                    message: format!(
                        "dispatch refused: preflight found {} problem(s); first: {}",
                        errors.len(),
                        errors.first().map_or("", |p| p.message.as_str())
                    ),
                    details: json!(report),
                }
            }
            DispatchError::Finished(id, status) => ApiError::Conflict {
                code: "run_finished",
                message: format!("run {id} already finished ({status}); nothing to cancel"),
                details: json!({"status": status}),
            },
            DispatchError::PreviewUnsupported(message) => ApiError::Unprocessable {
                code: "preview_unsupported",
                message,
                details: json!({}),
            },
            DispatchError::Store(e) => e.into(),
        }
    }
}

/// Checks a workflow for dispatch: graph validity, overrides, inputs, modules. Every problem
/// at once; nothing runs.
#[utoipa::path(post, path = "/api/workflows/{id}/preflight", tag = "runs",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = DispatchBody,
    responses((status = 200, body = PreflightReport), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn preflight_workflow(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<DispatchBody>,
) -> Result<Json<PreflightReport>, ApiError> {
    caller.require(Permission::Preflight, "preflight workflows")?;
    let wf = state.store.get_workflow(&id).await?;
    let input = DispatchInput {
        inputs: body.inputs,
        overrides: body.overrides,
    };
    Ok(Json(state.runs.preflight_workflow(&wf, &input).await))
}

/// Runs a workflow's graph (mode `graph`). 202 with the run id; 422 `preflight_failed` with
/// the preflight report when anything blocks it.
#[utoipa::path(post, path = "/api/workflows/{id}/dispatch", tag = "runs",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = DispatchBody,
    responses((status = 202, body = Dispatched), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn dispatch_workflow(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<DispatchBody>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Dispatch, "dispatch runs")?;
    let wf = state.store.get_workflow(&id).await?;
    let input = DispatchInput {
        inputs: body.inputs,
        overrides: body.overrides,
    };
    let runs = state.runs.dispatch_workflow(&wf, input).await?;
    Ok(dispatched(&runs))
}

/// Renders a preview of an order_line workflow (the viewer's "Render preview still"): a graph
/// run like dispatch, recorded with trigger `preview` and not authoritative, so its
/// `output.publish` records no deliverable and queues no notification. 202 with the run id;
/// 422 `preflight_failed`, or `preview_unsupported` for a workflow of another family.
#[utoipa::path(post, path = "/api/workflows/{id}/preview", tag = "runs",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = DispatchBody,
    responses((status = 202, body = Dispatched), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn preview_workflow(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<DispatchBody>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Dispatch, "render previews")?;
    let wf = state.store.get_workflow(&id).await?;
    let input = DispatchInput {
        inputs: body.inputs,
        overrides: body.overrides,
    };
    let run = state.runs.preview_workflow(&wf, input).await?;
    Ok(dispatched(&[run]))
}

/// Checks an output type for dispatch: its own rules, then every path its rollout runs
/// (legacy pipeline, workflow graph) with the given inputs and overrides.
#[utoipa::path(post, path = "/api/output-types/{id}/preflight", tag = "runs",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = DispatchBody,
    responses((status = 200, body = PreflightReport), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn preflight_output_type(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<DispatchBody>,
) -> Result<Json<PreflightReport>, ApiError> {
    caller.require(Permission::Preflight, "preflight output types")?;
    let ot = state.store.get_output_type(&id).await?;
    let input = DispatchInput {
        inputs: body.inputs,
        overrides: body.overrides,
    };
    Ok(Json(state.runs.preflight_output_type(&ot, &input).await?.0))
}

/// Dispatches an output type as its rollout says: `legacy` → a legacy run; `shadow` → a
/// legacy run (authoritative, `run_id`) and a linked shadow graph run; `graph` → a graph run,
/// with a linked legacy fallback run started if it fails and `fallback_to_legacy` is set.
#[utoipa::path(post, path = "/api/output-types/{id}/dispatch", tag = "runs",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = DispatchBody,
    responses((status = 202, body = Dispatched), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn dispatch_output_type(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<DispatchBody>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Dispatch, "dispatch runs")?;
    let ot = state.store.get_output_type(&id).await?;
    let input = DispatchInput {
        inputs: body.inputs,
        overrides: body.overrides,
    };
    let runs = state.runs.dispatch_output_type(&ot, input).await?;
    Ok(dispatched(&runs))
}
