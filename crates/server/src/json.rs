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
use serde_json::Value;

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
///
/// Integer fields accept any number with an integral value (`5` or `5.0`): that is what
/// JSON Schema's `integer`, and so the OpenAPI document, promises; `5.5` is still refused.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).or_else(|err| {
        // Only a shape error can be an integral float in an integer field; the retry costs
        // nothing on the success path.
        if err.classify() == Category::Data {
            if let Ok(mut value) = serde_json::from_slice::<Value>(bytes) {
                if integral_floats_to_integers(&mut value) {
                    if let Ok(parsed) = serde_json::from_value(value) {
                        return Ok(parsed);
                    }
                }
            }
        }
        Err(json_error(err))
    })
}

/// Rewrites every float with a zero fraction that fits an `i64` as that integer; true when
/// anything changed.
fn integral_floats_to_integers(value: &mut Value) -> bool {
    match value {
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            // 2^63 itself does not fit: the upper bound is exclusive.
            Some(f) if f.fract() == 0.0 && f >= -(2f64.powi(63)) && f < 2f64.powi(63) => {
                *value = Value::from(f as i64);
                true
            }
            _ => false,
        },
        // Every element is visited (`|=`, not a short-circuiting `any`).
        Value::Array(items) => {
            let mut changed = false;
            for v in items {
                changed |= integral_floats_to_integers(v);
            }
            changed
        }
        Value::Object(fields) => {
            let mut changed = false;
            for v in fields.values_mut() {
                changed |= integral_floats_to_integers(v);
            }
            changed
        }
        _ => false,
    }
}

fn json_error(err: serde_json::Error) -> ApiError {
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

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Line {
        quantity: Option<i64>,
        ratio: f64,
        extra: Option<Value>,
    }

    #[test]
    fn integral_floats_fill_integer_fields_and_fractions_are_refused() {
        let line: Line = parse_json(br#"{"quantity": 182622129.0, "ratio": 2.0}"#).expect("ok");
        assert_eq!(line.quantity, Some(182_622_129));
        assert_eq!(line.ratio, 2.0);
        // A body that parses as is keeps its numbers exactly as sent.
        let line: Line = parse_json(br#"{"quantity": 3, "ratio": 1, "extra": 4.0}"#).expect("ok");
        assert_eq!(line.extra, Some(serde_json::json!(4.0)));
        for bad in [
            &br#"{"quantity": 1.5, "ratio": 1}"#[..],
            br#"{"quantity": 1e300, "ratio": 1}"#,
            br#"{"quantity": 9223372036854775808.0, "ratio": 1}"#,
        ] {
            let err = parse_json::<Line>(bad).err();
            assert!(
                matches!(err, Some(ApiError::InvalidBody { line: 1, .. })),
                "{err:?}"
            );
        }
    }
}
