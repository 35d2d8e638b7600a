//! `/api/workflows`: graphs with optimistic concurrency (`If-Match: <version>`), revision
//! history, and validation. What may be saved is decided by contracts' `validate`.

use super::output_types::ensure_users_still_valid;
use super::{created, if_match, version_etag};
use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use crate::store::{self, note};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use workflow_contracts::{validate, Family, Graph, Registry, Severity, ValidationReport};
use workflow_wire::{Revision, Workflow};
// The request body is the wire's; kept at this path for the server's callers.
pub use workflow_wire::WorkflowInput;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(validate_graph))
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(revisions))
        .routes(routes!(revision))
        .routes(routes!(restore))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FamilyFilter {
    /// Only workflows (or output types) of this family: `cad_file` or `order_line`.
    #[param(value_type = Option<String>)]
    pub family: Option<Family>,
}

/// 422 with every validation problem when the graph has error-severity problems.
pub fn ensure_valid(name: &str, graph: &Graph, registry: &Registry) -> Result<(), ApiError> {
    if name.trim().is_empty() {
        return Err(ApiError::Unprocessable {
            code: "invalid_workflow",
            message: "workflow name must not be empty".into(),
            details: json!({"errors": [{"field": "name", "message": "name must not be empty"}]}),
        });
    }
    let report = validate(graph, registry);
    if report.valid {
        return Ok(());
    }
    let count = report
        .errors
        .iter()
        .filter(|e| e.severity == Severity::Error)
        .count();
    let first = report
        .errors
        .iter()
        .find(|e| e.severity == Severity::Error)
        .map(|e| e.message.as_str())
        .unwrap_or_default();
    Err(ApiError::Unprocessable {
        code: "invalid_graph",
        message: format!("the graph has {count} error(s) and cannot be saved; first: {first}"),
        details: json!({"errors": report.errors}),
    })
}

/// The workflow as it would be after a save, for the output-type check.
fn proposed(id: &str, name: &str, graph: &Graph) -> store::Workflow {
    store::Workflow {
        id: id.to_owned(),
        name: name.to_owned(),
        family: graph.family,
        version: 0,
        graph: graph.clone(),
        created_at: 0,
        updated_at: 0,
    }
}

fn with_etag(wf: store::Workflow) -> Response {
    (version_etag(wf.version), Json(Workflow::from(wf))).into_response()
}

/// The body of `POST /api/workflows/validate`: the graph itself. A field a graph does not
/// have is refused, because serde would skip it: a `{"graph": …}` wrapper would otherwise
/// validate an empty graph instead of the one sent.
struct GraphBody(Graph);

const GRAPH_FIELDS: [&str; 4] = ["family", "nodes", "edges", "comments"];

impl<'de> Deserialize<'de> for GraphBody {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let fields = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        if let Some(unknown) = fields.keys().find(|k| !GRAPH_FIELDS.contains(&k.as_str())) {
            return Err(D::Error::custom(format!(
                "unknown field `{unknown}`: the body is the graph itself (fields {}), not wrapped in an object",
                GRAPH_FIELDS.join(", ")
            )));
        }
        Graph::deserialize(serde_json::Value::Object(fields))
            .map(GraphBody)
            .map_err(D::Error::custom)
    }
}

/// Validates a graph without saving it. 200 with the report whether or not it is valid; 400
/// when the body is not a graph (a field a graph does not have, e.g. `{"graph": …}`).
#[utoipa::path(post, path = "/api/workflows/validate", tag = "workflows",
    security(("bearer" = [])),
    request_body(content = Object,
        description = "The graph itself: `{\"family\", \"nodes\", \"edges\", \"comments\"}`"),
    responses(
        (status = 200, description = "ValidationReport {valid, errors}", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn validate_graph(
    _caller: Caller,
    State(state): State<AppState>,
    ApiJson(GraphBody(graph)): ApiJson<GraphBody>,
) -> Json<ValidationReport> {
    Json(validate(&graph, &state.registry))
}

/// Lists workflows, optionally of one family.
#[utoipa::path(get, path = "/api/workflows", tag = "workflows",
    security(("bearer" = [])), params(FamilyFilter),
    responses((status = 200, body = [Workflow]), (status = 401, body = ErrorBody)))]
async fn list(
    _caller: Caller,
    State(state): State<AppState>,
    ApiQuery(filter): ApiQuery<FamilyFilter>,
) -> Result<Json<Vec<Workflow>>, ApiError> {
    Ok(Json(super::wire::list(
        state.store.list_workflows(filter.family).await?,
    )))
}

/// Creates a workflow at version 1. Invalid graphs are refused with 422 and every error.
#[utoipa::path(post, path = "/api/workflows", tag = "workflows",
    security(("bearer" = [])), request_body = WorkflowInput,
    responses(
        (status = 201, body = Workflow, headers(("ETag" = String), ("Location" = String))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, description = "details.errors: the validation errors", body = ErrorBody)))]
async fn create(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<WorkflowInput>,
) -> Result<Response, ApiError> {
    caller.require(Permission::EditWorkflows, "create workflows")?;
    ensure_valid(&input.name, &input.graph, &state.registry)?;
    let wf = state
        .store
        .create_workflow(&input.name, &input.graph, note::CREATE)
        .await?;
    Ok(created(
        format!("/api/workflows/{}", wf.id),
        wf.version,
        Workflow::from(wf),
    ))
}

/// One workflow; its `ETag` is the version to send back in `If-Match`.
#[utoipa::path(get, path = "/api/workflows/{id}", tag = "workflows",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses(
        (status = 200, body = Workflow, headers(("ETag" = String))),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_one(
    _caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    Ok(with_etag(state.store.get_workflow(&id).await?))
}

/// Saves a new version. `If-Match` must carry the version you edited: 428 without it, 409
/// with the current version and graph when someone saved in between.
#[utoipa::path(put, path = "/api/workflows/{id}", tag = "workflows",
    security(("bearer" = [])),
    params(("id" = String, Path), ("If-Match" = String, Header, description = "The version you edited")),
    request_body = WorkflowInput,
    responses(
        (status = 200, body = Workflow, headers(("ETag" = String))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "details: current_version, current", body = ErrorBody),
        (status = 422, description = "invalid_graph, or breaks_output_types naming them", body = ErrorBody),
        (status = 428, body = ErrorBody)))]
async fn update(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<WorkflowInput>,
) -> Result<Response, ApiError> {
    caller.require(Permission::EditWorkflows, "edit workflows")?;
    let expected = if_match(&headers)?;
    ensure_valid(&input.name, &input.graph, &state.registry)?;
    ensure_users_still_valid(&state, &proposed(&id, &input.name, &input.graph)).await?;
    let wf = state
        .store
        .update_workflow(&id, expected, &input.name, &input.graph, note::UPDATE)
        .await?;
    Ok(with_etag(wf))
}

/// Deletes a workflow (with `If-Match`). 409 naming the output types that still use it.
#[utoipa::path(delete, path = "/api/workflows/{id}", tag = "workflows",
    security(("bearer" = [])),
    params(("id" = String, Path), ("If-Match" = String, Header, description = "The version you saw")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Stale version, or in use by output types", body = ErrorBody),
        (status = 428, body = ErrorBody)))]
async fn delete(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::EditWorkflows, "delete workflows")?;
    let expected = if_match(&headers)?;
    state.store.delete_workflow(&id, expected).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every saved revision of a workflow, newest first.
#[utoipa::path(get, path = "/api/workflows/{id}/revisions", tag = "workflows",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = [Revision]), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn revisions(
    _caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<Revision>>, ApiError> {
    Ok(Json(super::wire::list(
        state.store.list_revisions(&id).await?,
    )))
}

/// One revision of a workflow.
#[utoipa::path(get, path = "/api/workflows/{id}/revisions/{rev}", tag = "workflows",
    security(("bearer" = [])), params(("id" = String, Path), ("rev" = i64, Path)),
    responses((status = 200, body = Revision), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn revision(
    _caller: Caller,
    State(state): State<AppState>,
    ApiPath((id, rev)): ApiPath<(String, i64)>,
) -> Result<Json<Revision>, ApiError> {
    Ok(Json(state.store.get_revision(&id, rev).await?.into()))
}

/// Saves an earlier revision as a new version (with `If-Match` like `PUT`). The restored
/// graph must still validate against today's registry.
#[utoipa::path(post, path = "/api/workflows/{id}/revisions/{rev}/restore", tag = "workflows",
    security(("bearer" = [])),
    params(("id" = String, Path), ("rev" = i64, Path),
        ("If-Match" = String, Header, description = "The current version you saw")),
    responses(
        (status = 200, body = Workflow, headers(("ETag" = String))),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 428, body = ErrorBody)))]
async fn restore(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath((id, rev)): ApiPath<(String, i64)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require(Permission::EditWorkflows, "restore workflow revisions")?;
    let expected = if_match(&headers)?;
    let old = state.store.get_revision(&id, rev).await?;
    ensure_valid(&old.name, &old.graph, &state.registry)?;
    ensure_users_still_valid(&state, &proposed(&id, &old.name, &old.graph)).await?;
    let wf = state
        .store
        .update_workflow(
            &id,
            expected,
            &old.name,
            &old.graph,
            &format!("restore {rev}"),
        )
        .await?;
    Ok(with_etag(wf))
}
