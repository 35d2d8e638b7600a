//! One error type for the whole API, mapped to an HTTP response in exactly one place so every
//! failure has the same body: `{"error": {"code", "message", "details"}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorInfo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorInfo {
    /// Stable machine-readable code, e.g. `version_conflict`.
    pub code: String,
    pub message: String,
    /// Code-specific structured data (validation errors, current version, line/column…);
    /// always an object, `{}` when the code carries none.
    #[schema(value_type = Object)]
    pub details: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    MalformedJson {
        message: String,
        line: usize,
        column: usize,
    },
    /// Well-formed JSON of the wrong shape (missing field, wrong type, unknown enum value).
    #[error("{message}")]
    InvalidBody {
        message: String,
        line: usize,
        column: usize,
    },
    #[error("{0}")]
    BadRequest(String),
    #[error("request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// The client paused its request body longer than the server's body idle timeout.
    #[error("the request body stalled: nothing arrived for {seconds} s")]
    BodyTimeout { seconds: f64 },
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("role '{role}' may not {action}")]
    Forbidden { role: String, action: String },
    #[error("{0} not found")]
    NotFound(String),
    /// A record named by a field of the request body does not exist (`details.field`).
    #[error("{what} not found")]
    FieldNotFound { what: String, field: String },
    #[error("If-Match header with the current version is required for this request")]
    PreconditionRequired,
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        details: Value,
    },
    #[error("{message}")]
    Unprocessable {
        code: &'static str,
        message: String,
        details: Value,
    },
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson { .. }
            | ApiError::InvalidBody { .. }
            | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::FieldNotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &str {
        match self {
            ApiError::MalformedJson { .. } => "malformed_json",
            ApiError::InvalidBody { .. } => "invalid_body",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::BodyTimeout { .. } => "request_timeout",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden { .. } => "forbidden",
            ApiError::NotFound(_) | ApiError::FieldNotFound { .. } => "not_found",
            ApiError::PreconditionRequired => "precondition_required",
            ApiError::Conflict { code, .. } | ApiError::Unprocessable { code, .. } => code,
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Internal(_) => "internal",
        }
    }

    fn details(&self) -> Value {
        match self {
            ApiError::MalformedJson { line, column, .. }
            | ApiError::InvalidBody { line, column, .. } => {
                json!({"line": line, "column": column})
            }
            ApiError::PayloadTooLarge { limit } => json!({"limit_bytes": limit}),
            ApiError::BodyTimeout { seconds } => json!({"body_idle_timeout_seconds": seconds}),
            ApiError::FieldNotFound { field, .. } => json!({"field": field}),
            ApiError::Conflict { details, .. } | ApiError::Unprocessable { details, .. } => {
                details.clone()
            }
            _ => json!({}),
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorInfo {
                code: self.code().to_owned(),
                message: self.to_string(),
                // The schema promises an object: a code without data gets `{}`, not null.
                details: match self.details() {
                    Value::Null => json!({}),
                    details => details,
                },
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            // The cause is logged, never sent: it may name files or SQL.
            tracing::error!(%cause, "internal error");
        }
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        if matches!(self, ApiError::Unauthorized) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(err: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match err {
            StoreError::NotFound(what) => ApiError::NotFound(what),
            StoreError::Conflict {
                what,
                current_version,
                current,
            } => ApiError::Conflict {
                code: "version_conflict",
                message: format!(
                    "{what} was changed by someone else: your version is stale, the current version is {current_version}; reload, merge and retry with If-Match: {current_version}"
                ),
                details: json!({"current_version": current_version, "current": current}),
            },
            StoreError::AlreadyExists(what) => ApiError::Conflict {
                code: "already_exists",
                message: format!("{what} already exists"),
                details: Value::Null,
            },
            StoreError::InUse { what, users } => ApiError::Conflict {
                code: "in_use",
                message: format!(
                    "{what} is used by output type(s) {}; point them at another workflow first",
                    users
                        .iter()
                        .map(|u| format!("'{}' ({})", u.name, u.id))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                details: json!({"output_types": users}),
            },
            StoreError::Db(e) => ApiError::Internal(e.to_string()),
            StoreError::Corrupt(e) => ApiError::Internal(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The OpenAPI document says `details` is an object: no error may send null.
    #[test]
    fn details_is_always_an_object() {
        let errors = [
            ApiError::BadRequest("x".into()),
            ApiError::Unauthorized,
            ApiError::Forbidden {
                role: "author".into(),
                action: "x".into(),
            },
            ApiError::NotFound("x".into()),
            ApiError::PreconditionRequired,
            ApiError::MethodNotAllowed,
            ApiError::Internal("x".into()),
            ApiError::Conflict {
                code: "already_exists",
                message: "x".into(),
                details: Value::Null,
            },
            ApiError::PayloadTooLarge { limit: 1 },
        ];
        for err in errors {
            let body = serde_json::to_value(err.body()).expect("json");
            assert!(body["error"]["details"].is_object(), "{body}");
        }
    }
}
