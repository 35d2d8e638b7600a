//! `/api/admin/*`: tokens (issue, list, revoke) and maintenance. Admin role only.

use crate::auth::{generate_token, hash_token, Caller, Permission, Role};
use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiJson, ApiPath, ApiQuery};
use crate::maintenance::{normalize_all, NormalizeSummary};
use crate::state::AppState;
use crate::store::TokenInfo;
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
        .routes(routes!(create_token, list_tokens))
        .routes(routes!(revoke_token))
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
    /// Seconds until the token is refused (1 s to 10 years); absent = never expires.
    #[serde(default)]
    pub expires_in_seconds: Option<u64>,
}

/// The longest expiry accepted: ten years.
pub const MAX_EXPIRY_SECONDS: u64 = 10 * 365 * 24 * 3600;

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCreated {
    /// Shown once; only its hash is stored.
    pub token: String,
    pub role: Role,
    /// What lists and `token revoke` call it: the first 12 hex digits of its hash.
    pub id: String,
    /// Unix milliseconds; null = never.
    pub expires_at: Option<i64>,
}

/// Every token (never the token itself): id, role, label, created, expiry, revocation.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenInfo>,
}

/// When a token created now with `expires_in_seconds` expires (unix milliseconds), checked.
pub fn expiry_from_now(expires_in_seconds: Option<u64>) -> Result<Option<i64>, String> {
    let Some(seconds) = expires_in_seconds else {
        return Ok(None);
    };
    if seconds == 0 || seconds > MAX_EXPIRY_SECONDS {
        return Err(format!(
            "expires_in_seconds must be between 1 and {MAX_EXPIRY_SECONDS} (got {seconds})"
        ));
    }
    let millis = i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
    Ok(Some(crate::store::now_ms().saturating_add(millis)))
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
    let expires_at = expiry_from_now(req.expires_in_seconds).map_err(ApiError::BadRequest)?;
    let token = generate_token();
    let hash = hash_token(&token);
    state
        .store
        .create_token_expiring(&hash, req.role, &req.label, expires_at)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenCreated {
            token,
            role: req.role,
            id: crate::store::token_id(&hash),
            expires_at,
        }),
    ))
}

/// Lists every token: id, role, label, created, expiry and revocation (never the token).
#[utoipa::path(get, path = "/api/admin/tokens", tag = "admin",
    security(("bearer" = [])),
    responses((status = 200, body = TokenList), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn list_tokens(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<TokenList>, ApiError> {
    caller.require(Permission::Administer, "list tokens")?;
    Ok(Json(TokenList {
        tokens: state.store.list_tokens().await?,
    }))
}

/// Revokes a token by its id: every later request with it gets 401 (at once on this server,
/// within a second on another server process sharing the database).
#[utoipa::path(delete, path = "/api/admin/tokens/{id}", tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The token's id: 12 hex digits of its hash")),
    responses((status = 200, body = TokenInfo), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn revoke_token(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TokenInfo>, ApiError> {
    caller.require(Permission::Administer, "revoke tokens")?;
    let info = state.store.revoke_token(&id).await?;
    state.forget_token(&info.id);
    Ok(Json(info))
}
