//! Our own extractors, so that bad input gets our error body instead of axum's plain text:
//! malformed JSON → 400 with line and column, oversized body → 413, bad path or query → 400.

use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

/// A JSON request body parsed with our error mapping.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
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
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses `bytes` as JSON into `T`, telling syntax errors from shape errors.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|err| {
        let (line, column) = (err.line(), err.column());
        match err.classify() {
            Category::Data => ApiError::InvalidBody {
                message: format!("request body does not match the expected shape: {err}"),
                line,
                column,
            },
            _ => ApiError::MalformedJson {
                message: format!("request body is not valid JSON: {err}"),
                line,
                column,
            },
        }
    })
}

/// Path parameters with our error body.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Query parameters with our error body.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::BadRequest(format!("invalid path parameter: {}", rejection.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::BadRequest(format!("invalid query string: {}", rejection.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_and_shape_errors_differ() {
        let err = parse_json::<serde_json::Value>(b"{\n  \"a\": ,\n}").err();
        assert!(matches!(
            err,
            Some(ApiError::MalformedJson {
                line: 2,
                column: 8,
                ..
            })
        ));
        let err = parse_json::<Vec<u8>>(b"{}").err();
        assert!(matches!(err, Some(ApiError::InvalidBody { .. })));
    }
}
