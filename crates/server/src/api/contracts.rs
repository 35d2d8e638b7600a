//! `GET /api/contracts/*`: the node registry (cached by clients through its ETag) and the
//! canonical starter graphs.

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::ApiPath;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use workflow_contracts::{starter_graph, Family};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(nodes))
        .routes(routes!(starter))
}

/// The node registry. Send `If-None-Match` with the last ETag to get 304 when unchanged.
#[utoipa::path(get, path = "/api/contracts/nodes", tag = "contracts",
    security(("bearer" = [])),
    params(("If-None-Match" = Option<String>, Header, description = "ETag of a cached copy")),
    responses(
        (status = 200, description = "The registry (see contracts::Registry)", body = Object,
            headers(("ETag" = String, description = "Registry fingerprint"))),
        (status = 304, description = "Unchanged since the given ETag"),
        (status = 401, body = ErrorBody)))]
async fn nodes(_caller: Caller, State(state): State<AppState>, headers: HeaderMap) -> Response {
    let etag = state.registry_etag.as_str();
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == etag || t == "*")
        });
    if cached {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag.to_owned())]).into_response();
    }
    (
        [
            (header::ETAG, etag.to_owned()),
            (header::CONTENT_TYPE, "application/json".to_owned()),
        ],
        state.registry_json.clone(),
    )
        .into_response()
}

/// The canonical starter graph of a family (`cad_file` or `order_line`).
#[utoipa::path(get, path = "/api/contracts/starters/{family}", tag = "contracts",
    security(("bearer" = [])),
    params(("family" = String, Path, description = "cad_file or order_line")),
    responses(
        (status = 200, description = "A graph", body = Object),
        (status = 401, body = ErrorBody),
        (status = 404, description = "Unknown family", body = ErrorBody)))]
async fn starter(
    _caller: Caller,
    State(state): State<AppState>,
    ApiPath(family): ApiPath<String>,
) -> Result<Json<workflow_contracts::Graph>, ApiError> {
    let family: Family = family.parse().map_err(|_| {
        ApiError::NotFound(format!(
            "family '{family}' (expected cad_file or order_line)"
        ))
    })?;
    Ok(Json(starter_graph(family, &state.registry)))
}
