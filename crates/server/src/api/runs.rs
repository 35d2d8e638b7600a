//! `/api/runs` and `/api/artifacts`: run records, cancel, rerun, live events (SSE) and
//! artifact downloads. Everything here is for debuggers (and admins).

use super::dispatch::{dispatched, OptionalJson};
use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiPath, ApiQuery};
use crate::state::AppState;
use crate::store::{ArtifactMeta, RunFilter, ShadowComparison, StoredEvent};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::convert::Infallible;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use workflow_engine::runtime::{RunMode, RunStatus};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get_one))
        .routes(routes!(cancel))
        .routes(routes!(rerun))
        .routes(routes!(events))
        .routes(routes!(artifact))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    /// `queued`, `running`, `succeeded`, `failed` or `cancelled`.
    #[param(value_type = Option<String>)]
    pub status: Option<RunStatus>,
    /// `graph`, `legacy` or `shadow`.
    #[param(value_type = Option<String>)]
    pub mode: Option<RunMode>,
    pub workflow_id: Option<String>,
    pub output_type_id: Option<String>,
    pub product_id: Option<String>,
    /// Created at or after this time, in milliseconds since the Unix epoch.
    pub created_from: Option<i64>,
    /// Created before this time, in milliseconds since the Unix epoch.
    pub created_until: Option<i64>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

// The page, the `Run` schema and the rerun body are the wire's; kept at this path too.
pub use workflow_wire::{RerunBody, Run, RunPage};

#[derive(Debug, Serialize)]
struct RunView {
    #[serde(flatten)]
    run: workflow_wire::RunRecord,
    artifacts: Vec<ArtifactMeta>,
    deliverables: Vec<ArtifactMeta>,
    /// The shadow comparison of this run's shadow pair (shadow runs and the legacy runs
    /// they shadow): status, verdict, attributed node, report artifact.
    #[serde(skip_serializing_if = "Option::is_none")]
    parity: Option<ShadowComparison>,
}

/// Runs, newest first, filtered and paged.
#[utoipa::path(get, path = "/api/runs", tag = "runs", security(("bearer" = [])),
    params(RunQuery),
    responses((status = 200, body = RunPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<RunQuery>,
) -> Result<Json<RunPage>, ApiError> {
    caller.require(Permission::ReadRuns, "read runs")?;
    let filter = RunFilter {
        status: q.status,
        mode: q.mode,
        workflow_id: q.workflow_id,
        output_type_id: q.output_type_id,
        product_id: q.product_id,
        created_from: q.created_from,
        created_until: q.created_until,
        limit: q.limit.unwrap_or(50).clamp(1, 200),
        offset: q.offset.unwrap_or(0).max(0),
    };
    let (mut runs, total) = state.store.list_runs(&filter).await?;
    // Pages stay small: the graph and output-type snapshots are in the run detail.
    for run in &mut runs {
        run.graph = None;
        run.output_type = None;
    }
    Ok(Json(RunPage {
        runs: super::wire::list(runs),
        total,
        limit: filter.limit,
        offset: filter.offset,
    }))
}

/// One run with its node runs, artifacts and deliverables.
#[utoipa::path(get, path = "/api/runs/{id}", tag = "runs", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Run), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_one(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ReadRuns, "read runs")?;
    let run = state.store.get_run(&id).await?;
    let shadow_id = match (run.mode, run.link.as_deref()) {
        (RunMode::Shadow, _) => Some(run.id.clone()),
        (_, Some("shadow")) => run.linked_run_id.clone(),
        _ => None,
    };
    // The comparison before the artifacts: a finished comparison's report artifact is stored
    // before the comparison is marked done, so it is then in the list.
    let parity = match shadow_id {
        Some(id) => state.store.get_shadow_comparison(&id).await?,
        None => None,
    };
    let artifacts = state.store.list_artifacts(&id).await?;
    let deliverables = if run.authoritative && run.status == RunStatus::Succeeded {
        let role = run.output_type.as_ref().map(|o| o.artifact_kind.role());
        artifacts
            .iter()
            .filter(|a| role.is_none_or(|r| r == a.role))
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    Ok(Json(RunView {
        run: run.into(),
        artifacts,
        deliverables,
        parity,
    })
    .into_response())
}

/// Cancels a queued run at once, or asks a running one to stop (202; its status becomes
/// `cancelled` when its nodes have stopped). 409 `run_finished` when it already finished.
#[utoipa::path(post, path = "/api/runs/{id}/cancel", tag = "runs", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 202, body = Run), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn cancel(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ControlRuns, "cancel runs")?;
    let run = state.runs.cancel(&id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(workflow_wire::RunRecord::from(run)),
    )
        .into_response())
}

/// Runs a run again in the same mode with the current workflow and output type (the
/// original's snapshots when they were deleted); `rerun_of` links it to the original.
#[utoipa::path(post, path = "/api/runs/{id}/rerun", tag = "runs", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = RerunBody,
    responses((status = 202, body = super::dispatch::Dispatched), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn rerun(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<RerunBody>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ControlRuns, "re-run runs")?;
    let run = state.runs.rerun(&id, body.overrides).await?;
    Ok(dispatched(&[run]))
}

/// How often a live event stream reads the store's event log for events written by other
/// processes.
const STORE_TAIL: std::time::Duration = std::time::Duration::from_millis(200);

fn is_final(kind: &str, payload: &Value) -> bool {
    kind == "run_status"
        && serde_json::from_value::<RunStatus>(payload["status"].clone())
            .is_ok_and(RunStatus::is_final)
}

fn sse_event(seq: i64, kind: &str, payload: &Value) -> Event {
    Event::default()
        .id(seq.to_string())
        .event(kind)
        .data(payload.to_string())
}

/// Server-sent events of a run: everything that happened so far (after `Last-Event-ID`),
/// then live, ending after the run's final `run_status`. Event names: `run_status`,
/// `node_status`, `log`, `artifact`; data is the event JSON; id is its sequence number.
#[utoipa::path(get, path = "/api/runs/{id}/events", tag = "runs", security(("bearer" = [])),
    params(("id" = String, Path), ("Last-Event-ID" = Option<String>, Header)),
    responses((status = 200, description = "text/event-stream", content_type = "text/event-stream"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn events(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require(Permission::ReadRuns, "read runs")?;
    state.store.get_run(&id).await?;
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(0);
    // Subscribe before reading the log: anything published from here on is seen live, and
    // anything before is in the log (events are stored before they are published).
    let mut live = state.runs.subscribe();
    let (tx, rx) = mpsc::channel::<Result<Event, Infallible>>(64);
    let store = state.store.clone();
    tokio::spawn(async move {
        let mut last = after;
        let mut replay = true;
        // An interval, not a sleep per wait: other runs' live events must not postpone it.
        let mut tail = tokio::time::interval(STORE_TAIL);
        tail.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if replay {
                replay = false;
                let stored: Vec<StoredEvent> = match store.list_events(&id, last).await {
                    Ok(events) => events,
                    Err(err) => {
                        tracing::error!(run = %id, %err, "cannot replay run events");
                        return;
                    }
                };
                for e in stored {
                    if tx
                        .send(Ok(sse_event(e.seq, &e.kind, &e.payload)))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    last = e.seq;
                    if is_final(&e.kind, &e.payload) {
                        return;
                    }
                }
            }
            let received = tokio::select! {
                // The client went away: stop listening.
                _ = tx.closed() => return,
                received = live.recv() => received,
                // A run executing in another process (a worker) publishes nothing here: its
                // events reach this server through the store's log.
                _ = tail.tick() => {
                    replay = true;
                    continue;
                }
            };
            match received {
                Ok(e) if e.run_id == id && e.seq > last => {
                    if tx
                        .send(Ok(sse_event(e.seq, &e.kind, &e.payload)))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    last = e.seq;
                    if is_final(&e.kind, &e.payload) {
                        return;
                    }
                }
                Ok(_) => {}
                // Fell behind the broadcast: catch up from the log.
                Err(RecvError::Lagged(_)) => replay = true,
                Err(RecvError::Closed) => return,
            }
        }
    });
    Ok(Sse::new(ReceiverStream::new(rx))
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// Downloads an artifact's bytes with its media type.
#[utoipa::path(get, path = "/api/artifacts/{id}", tag = "runs", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "The artifact's bytes, with its media type"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn artifact(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ReadRuns, "download artifacts")?;
    let meta = state.store.get_artifact(&id).await?;
    let bytes = match state.runs.artifact_bytes(&meta.id).await {
        Ok(Some(b)) => b,
        Ok(None) => {
            return Err(ApiError::NotFound(format!(
                "the bytes of artifact '{id}' (the artifact store no longer has them)"
            )))
        }
        Err(e) => return Err(ApiError::Internal(e.to_string())),
    };
    Ok((
        [
            (header::CONTENT_TYPE, meta.media_type.clone()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}-{}\"",
                    meta.role.as_str(),
                    meta.id
                ),
            ),
        ],
        bytes,
    )
        .into_response())
}
