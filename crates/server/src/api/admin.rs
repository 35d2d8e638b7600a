//! `/api/admin/*`: token issue and maintenance. Admin role only.

use crate::auth::{generate_token, hash_token, Caller, Permission, Role};
use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiJson, ApiQuery};
use crate::maintenance::{normalize_all, NormalizeSummary};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(normalize))
        .routes(routes!(create_token))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NormalizeQuery {
    /// `true` (default) only reports; `false` saves the repaired graphs as new revisions.
    pub dry_run: Option<bool>,
}

/// Normalizes every stored workflow and reports per workflow what changed.
#[utoipa::path(post, path = "/api/admin/workflows/normalize", tag = "admin",
    security(("bearer" = [])), params(NormalizeQuery),
    responses((status = 200, body = NormalizeSummary), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn normalize(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<NormalizeQuery>,
) -> Result<Json<NormalizeSummary>, ApiError> {
    caller.require(Permission::Administer, "normalize workflows")?;
    let dry_run = query.dry_run.unwrap_or(true);
    Ok(Json(
        normalize_all(state.store.as_ref(), &state.registry, dry_run).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    pub role: Role,
    /// Who or what the token is for (shown in audits, never secret).
    #[serde(default)]
    pub label: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCreated {
    /// Shown once; only its hash is stored.
    pub token: String,
    pub role: Role,
}

/// Issues a new bearer token for a role.
#[utoipa::path(post, path = "/api/admin/tokens", tag = "admin",
    security(("bearer" = [])), request_body = TokenRequest,
    responses((status = 201, body = TokenCreated), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_token(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<(StatusCode, Json<TokenCreated>), ApiError> {
    caller.require(Permission::Administer, "create tokens")?;
    let token = generate_token();
    state
        .store
        .create_token(&hash_token(&token), req.role, &req.label)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenCreated {
            token,
            role: req.role,
        }),
    ))
}
