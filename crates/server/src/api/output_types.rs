//! `/api/output-types`: invocation profiles, versioned with `If-Match` like workflows. What
//! may be saved is decided by `contracts::output_type::validate_output_type`.

use super::workflows::FamilyFilter;
use super::{created, if_match, version_etag};
use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiJson, ApiPath, ApiQuery};
use crate::rollout;
use crate::state::AppState;
use crate::store::{OutputTypeRecord, StoreError, Workflow};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use workflow_contracts::output_type::{validate_output_type, OutputTypeSpec, WorkflowRef};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
}

/// The editable fields of an output type (documentation of `contracts::OutputTypeSpec`).
#[derive(ToSchema)]
#[allow(dead_code)] // Schema only: requests deserialise straight into OutputTypeSpec.
pub struct OutputTypeInput {
    name: String,
    /// `cad_file` or `order_line`.
    #[schema(example = "order_line")]
    workflow_family: String,
    /// `still`, `turntable`, `scene_export`, `preview_glb` or `thumbnail`.
    #[schema(example = "still")]
    artifact_kind: String,
    /// The workflow run for this output type; required for rollout `shadow` and `graph`.
    workflow_id: Option<String>,
    /// `<node id or node type>.<param>` → value, e.g. `{"render.still.width": 2048}`. A key's
    /// target is first looked up as a node id of the workflow, then as a node type.
    #[schema(value_type = Object)]
    invocation_overrides: serde_json::Map<String, serde_json::Value>,
    /// The legacy renderer preset, kept verbatim (a JSON object).
    #[schema(value_type = Object)]
    legacy_settings: serde_json::Value,
    /// `legacy` (default), `shadow` or `graph`.
    #[schema(example = "legacy")]
    rollout: Option<String>,
    /// Fall back to the legacy pipeline when the graph fails (rollout `graph`).
    fallback_to_legacy: Option<bool>,
}

/// A stored output type: `id`, `version` (send it in `If-Match`), the input fields, timestamps.
#[derive(ToSchema)]
#[allow(dead_code)] // Schema only: responses serialise OutputTypeRecord.
pub struct OutputType {
    id: String,
    version: i64,
    name: String,
    #[schema(example = "order_line")]
    workflow_family: String,
    #[schema(example = "still")]
    artifact_kind: String,
    workflow_id: Option<String>,
    #[schema(value_type = Object)]
    invocation_overrides: serde_json::Map<String, serde_json::Value>,
    #[schema(value_type = Object)]
    legacy_settings: serde_json::Value,
    #[schema(example = "legacy")]
    rollout: String,
    fallback_to_legacy: bool,
    /// Unix milliseconds.
    created_at: i64,
    updated_at: i64,
}

/// 422 with every problem, or Ok when the spec is acceptable.
async fn ensure_valid(state: &AppState, spec: &OutputTypeSpec) -> Result<(), ApiError> {
    let workflow: Option<Workflow> = match &spec.workflow_id {
        Some(id) => match state.store.get_workflow(id).await {
            Ok(wf) => Some(wf),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let wf_ref = workflow.as_ref().map(|wf| WorkflowRef {
        id: &wf.id,
        name: &wf.name,
        family: wf.family,
        graph: &wf.graph,
    });
    let problems = validate_output_type(spec, wf_ref, &state.registry);
    match problems.first() {
        None => Ok(()),
        Some(first) => Err(ApiError::Unprocessable {
            code: "invalid_output_type",
            message: format!(
                "the output type has {} problem(s); first: {}",
                problems.len(),
                first.message
            ),
            details: json!({"errors": problems}),
        }),
    }
}

/// 422 when saving `workflow` (its new name, family and graph) would break an output type that
/// uses it, e.g. a family change or removing the node that produces the output's artifact.
pub async fn ensure_users_still_valid(
    state: &AppState,
    workflow: &Workflow,
) -> Result<(), ApiError> {
    let wf_ref = WorkflowRef {
        id: &workflow.id,
        name: &workflow.name,
        family: workflow.graph.family,
        graph: &workflow.graph,
    };
    let mut broken = Vec::new();
    for ot in state.store.list_output_types(None).await? {
        if ot.spec.workflow_id.as_deref() != Some(workflow.id.as_str()) {
            continue;
        }
        let problems = validate_output_type(&ot.spec, Some(wf_ref), &state.registry);
        if !problems.is_empty() {
            broken.push(json!({"id": ot.id, "name": ot.spec.name, "errors": problems}));
        }
    }
    if broken.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = broken
        .iter()
        .map(|b| format!("'{}'", b["name"].as_str().unwrap_or_default()))
        .collect();
    Err(ApiError::Unprocessable {
        code: "breaks_output_types",
        message: format!(
            "this change would break output type(s) {} that use the workflow; change or detach them first",
            names.join(", ")
        ),
        details: json!({"output_types": broken}),
    })
}

fn with_etag(record: OutputTypeRecord) -> Response {
    (
        version_etag(record.version),
        Json(workflow_wire::OutputTypeRecord::from(record)),
    )
        .into_response()
}

/// Lists output types, optionally of one workflow family.
#[utoipa::path(get, path = "/api/output-types", tag = "output-types",
    security(("bearer" = [])), params(FamilyFilter),
    responses((status = 200, body = [OutputType]), (status = 401, body = ErrorBody)))]
async fn list(
    _caller: Caller,
    State(state): State<AppState>,
    ApiQuery(filter): ApiQuery<FamilyFilter>,
) -> Result<Json<Vec<workflow_wire::OutputTypeRecord>>, ApiError> {
    Ok(Json(super::wire::list(
        state.store.list_output_types(filter.family).await?,
    )))
}

/// Creates an output type; incompatible family/artifact/workflow/overrides → 422.
#[utoipa::path(post, path = "/api/output-types", tag = "output-types",
    security(("bearer" = [])), request_body = OutputTypeInput,
    responses(
        (status = 201, body = OutputType, headers(("ETag" = String), ("Location" = String))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 422, description = "details.errors: every problem", body = ErrorBody)))]
async fn create(
    caller: Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(spec): ApiJson<OutputTypeSpec>,
) -> Result<Response, ApiError> {
    caller.require(Permission::EditOutputTypes, "create output types")?;
    ensure_valid(&state, &spec).await?;
    let record = state.store.create_output_type(&spec).await?;
    let actor = super::rollout::actor(&state, &caller, &headers).await;
    rollout::record_creation(state.store.as_ref(), &record, &actor).await?;
    Ok(created(
        format!("/api/output-types/{}", record.id),
        record.version,
        workflow_wire::OutputTypeRecord::from(record),
    ))
}

/// One output type; its `ETag` is the version to send back in `If-Match`.
#[utoipa::path(get, path = "/api/output-types/{id}", tag = "output-types",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = OutputType, headers(("ETag" = String))),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_one(
    _caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    Ok(with_etag(state.store.get_output_type(&id).await?))
}

/// Replaces an output type (with `If-Match`); 409 with the current one when stale.
#[utoipa::path(put, path = "/api/output-types/{id}", tag = "output-types",
    security(("bearer" = [])),
    params(("id" = String, Path), ("If-Match" = String, Header, description = "The version you edited")),
    request_body = OutputTypeInput,
    responses(
        (status = 200, body = OutputType, headers(("ETag" = String))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "version_conflict; rollout_not_ready when the edit promotes to graph before readiness holds", body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 428, body = ErrorBody)))]
async fn update(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(spec): ApiJson<OutputTypeSpec>,
) -> Result<Response, ApiError> {
    caller.require(Permission::EditOutputTypes, "edit output types")?;
    let expected = if_match(&headers)?;
    ensure_valid(&state, &spec).await?;
    // A changed rollout goes through the rollout rules (readiness for graph) and is recorded.
    let actor = super::rollout::actor(&state, &caller, &headers).await;
    let record = rollout::save_output_type(
        state.store.as_ref(),
        &state.registry,
        &state.runs.rollout_policy,
        &id,
        expected,
        &spec,
        &actor,
    )
    .await?;
    Ok(with_etag(record))
}

/// Deletes an output type (with `If-Match`).
#[utoipa::path(delete, path = "/api/output-types/{id}", tag = "output-types",
    security(("bearer" = [])),
    params(("id" = String, Path), ("If-Match" = String, Header, description = "The version you saw")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 428, body = ErrorBody)))]
async fn delete(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::EditOutputTypes, "delete output types")?;
    let expected = if_match(&headers)?;
    state.store.delete_output_type(&id, expected).await?;
    Ok(StatusCode::NO_CONTENT)
}
