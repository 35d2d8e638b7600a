//! The HTTP API: routing, the OpenAPI document, and the layers every request passes through.
//! Handlers translate HTTP to calls into contracts and the store, and nothing more.

pub mod admin;
pub mod contracts;
pub mod deliverables;
pub mod dispatch;
pub mod materials;
pub mod order_lines;
pub mod output_types;
pub mod products;
pub mod rollout;
pub mod runs;
pub mod wire;
pub mod workflows;

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use serde::Serialize;
use std::any::Any;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Options of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Request bodies above this many bytes are refused with 413.
    pub body_limit: usize,
    /// Adds `GET /api/_debug/panic`, which panics: lets tests prove a panic is contained.
    /// Never enabled by the command line.
    pub debug_panic_route: bool,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            body_limit: 2 * 1024 * 1024,
            debug_panic_route: false,
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Workflow Studio API",
        description = "Node contracts, workflows with optimistic concurrency, output types, \
            runs, products, materials, order lines. \
            Errors are always `{\"error\": {\"code\", \"message\", \"details\"}}`."
    ),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody)),
    tags(
        (name = "meta", description = "Health and this document"),
        (name = "contracts", description = "Node registry and starter graphs"),
        (name = "workflows", description = "Workflow graphs, revisions and validation"),
        (name = "output-types", description = "Invocation profiles"),
        (name = "admin", description = "Tokens and maintenance"),
        (name = "runs", description = "Preflight, dispatch, runs, live events, artifacts"),
        (name = "products", description = "CAD uploads, products, material maps"),
        (name = "materials", description = "The material library: defaults and user materials"),
        (name = "order-lines", description = "Order lines: a product + an output type to render"),
        (name = "rollout", description = "Rollout of output types: legacy → shadow → graph, readiness, history, rollback")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Lists the error answers that every operation of a kind can give, so the document has them
/// wherever they happen: 400 (a path, query or `If-Match` value or a body that does not
/// parse), 401 (any operation that needs a token), 404 (a path that names a record), 413 (a
/// body over the limit). Answers particular to a handler (403, 409, 422, 428) stay in its
/// own annotation. Applied to the merged document: a `Modify` on `ApiDoc` would run before
/// the routes' operations are in it.
struct StandardErrors;

impl Modify for StandardErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                let params = op.parameters.as_deref().unwrap_or_default();
                let in_path = params
                    .iter()
                    .any(|p| matches!(p.parameter_in, ParameterIn::Path));
                let parsed = params.iter().any(|p| match p.parameter_in {
                    ParameterIn::Path | ParameterIn::Query => true,
                    ParameterIn::Header => p.name.eq_ignore_ascii_case("if-match"),
                    ParameterIn::Cookie => false,
                });
                let body = op.request_body.is_some();
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                for (status, applies, description) in [
                    ("400", parsed || body, "bad_request, malformed_json or invalid_body: a parameter or the body does not parse"),
                    ("401", secured, "unauthorized: missing or unknown bearer token"),
                    ("404", in_path, "not_found: no record with that id"),
                    ("413", body, "payload_too_large: the body is over the server's limit"),
                ] {
                    if applies {
                        op.responses
                            .responses
                            .entry(status.to_owned())
                            .or_insert_with(|| error_response(description));
                    }
                }
            }
        }
    }
}

fn error_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
        .into()
}

/// Builds the router with all routes and layers, and the OpenAPI document describing it.
pub fn router(state: AppState, config: &ApiConfig) -> (Router, utoipa::openapi::OpenApi) {
    let (mut router, mut openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health))
        .routes(routes!(openapi_json))
        .routes(routes!(me))
        .merge(contracts::routes())
        .merge(workflows::routes())
        .merge(output_types::routes())
        .merge(admin::routes())
        .merge(dispatch::routes())
        .merge(runs::routes())
        .merge(products::routes())
        .merge(materials::routes())
        .merge(order_lines::routes())
        .merge(deliverables::routes())
        .merge(rollout::routes())
        .split_for_parts();
    StandardErrors.modify(&mut openapi);
    if config.debug_panic_route {
        router = router.route("/api/_debug/panic", axum::routing::get(debug_panic));
    }
    let doc = Arc::new(openapi.to_json().unwrap_or_else(|_| "{}".to_owned()));
    let router = router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(Extension(OpenApiJson(doc)))
        .layer(axum::middleware::map_response(json_errors))
        .layer(DefaultBodyLimit::max(config.body_limit))
        // A declared Content-Length over the limit is refused before the body is read.
        .layer(axum::middleware::from_fn_with_state(
            config.body_limit,
            crate::net::refuse_declared_oversize,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(panic_response));
    (router, openapi)
}

#[derive(Clone)]
struct OpenApiJson(Arc<String>);

/// Health of the server and its version.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` when the server and its database answer.
    pub status: String,
    pub version: String,
    /// The registry version the server serves.
    pub contracts_version: String,
}

#[utoipa::path(get, path = "/api/health", tag = "meta",
    responses((status = 200, body = Health), (status = 500, body = ErrorBody)))]
async fn health(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<Json<Health>, ApiError> {
    // Touch the database so a broken store shows up here, not on the first real request.
    state.store.get_meta("seed").await?;
    Ok(Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        contracts_version: state.registry.version.clone(),
    }))
}

// The answer's type is the wire's; kept at this path for the server's callers.
pub use workflow_wire::Me;

/// The caller's role and permissions, so a client can grey out what it would be refused.
#[utoipa::path(get, path = "/api/me", tag = "meta", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
async fn me(caller: crate::auth::Caller) -> Json<Me> {
    Json(Me {
        role: caller.role,
        permissions: <crate::auth::Permission as crate::auth::PermissionMatrix>::of(caller.role),
    })
}

#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "This OpenAPI 3 document", content_type = "application/json")))]
async fn openapi_json(Extension(doc): Extension<OpenApiJson>) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        doc.0.as_str().to_owned(),
    )
        .into_response()
}

/// Gives every error our body: axum's own extractors (multipart, a body over the limit read
/// by one of them) answer in plain text, which neither clients nor the OpenAPI document
/// expect. Their text names what was wrong and never a server path, so it becomes the
/// message.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Rejection texts are one line; a longer body is cut, not buffered whole.
    let text = match axum::body::to_bytes(body, 4096).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_body",
        _ if status.is_server_error() => "internal",
        _ => "http_error",
    };
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        text
    };
    let body = ErrorBody {
        error: crate::error::ErrorInfo {
            code: code.to_owned(),
            message,
            details: serde_json::json!({}),
        },
    };
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    parts.headers.remove(axum::http::header::CONTENT_TYPE);
    (parts, Json(body)).into_response()
}

async fn not_found() -> ApiError {
    ApiError::NotFound("route".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

async fn debug_panic() -> &'static str {
    panic!("deliberate panic from the debug route");
}

fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response {
    let detail = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(
        panic = detail,
        "handler panicked; request answered with 500"
    );
    ApiError::Internal(format!("panic: {detail}")).into_response()
}

/// The version a client says it edited, from `If-Match` (`3`, `"3"` or `W/"3"`).
pub fn if_match(headers: &HeaderMap) -> Result<i64, ApiError> {
    let value = headers
        .get(axum::http::header::IF_MATCH)
        .ok_or(ApiError::PreconditionRequired)?;
    let text = value.to_str().unwrap_or_default().trim();
    let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    text.parse::<i64>().map_err(|_| {
        ApiError::BadRequest(format!(
            "If-Match must be the version number you edited, e.g. If-Match: 3 (got '{text}')"
        ))
    })
}

/// `ETag: "<version>"` for a versioned record.
pub fn version_etag(version: i64) -> [(axum::http::HeaderName, String); 1] {
    [(axum::http::header::ETAG, format!("\"{version}\""))]
}

/// 201 Created with an ETag and a Location.
pub fn created<T: Serialize>(location: String, version: i64, body: T) -> Response {
    (
        StatusCode::CREATED,
        [
            (axum::http::header::LOCATION, location),
            (axum::http::header::ETAG, format!("\"{version}\"")),
        ],
        Json(body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn if_match_accepts_plain_quoted_and_weak() {
        let mut h = HeaderMap::new();
        assert!(matches!(if_match(&h), Err(ApiError::PreconditionRequired)));
        for v in ["3", "\"3\"", "W/\"3\""] {
            h.insert("if-match", HeaderValue::from_static(v));
            assert_eq!(if_match(&h).ok(), Some(3));
        }
        h.insert("if-match", HeaderValue::from_static("*"));
        assert!(matches!(if_match(&h), Err(ApiError::BadRequest(_))));
    }
}
