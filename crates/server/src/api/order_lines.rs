//! `/api/order-lines`: create, read and dispatch order lines. Handlers translate and delegate
//! to [`crate::orders`].

use super::dispatch::dispatched;
use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiJson, ApiPath, ApiQuery};
use crate::orders::{OrderError, OrderLineInput, Orders};
use crate::state::AppState;
use crate::store::{OrderLine, OrderLineFilter};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one))
        .routes(routes!(dispatch))
}

impl From<OrderError> for ApiError {
    fn from(err: OrderError) -> Self {
        match err {
            OrderError::NotFound { what, field } => ApiError::FieldNotFound {
                what,
                field: field.to_owned(),
            },
            OrderError::Invalid(problems) => ApiError::Unprocessable {
                code: "invalid_order_line",
                message: format!(
                    "the order line has {} problem(s); first: {}",
                    problems.len(),
                    problems.first().map_or("", |p| p.message.as_str())
                ),
                details: json!({"errors": problems}),
            },
            OrderError::Dispatch(e) => e.into(),
            OrderError::Store(e) => e.into(),
            OrderError::Product(e) => e.into(),
        }
    }
}

fn orders(state: &AppState) -> Orders<'_> {
    Orders {
        store: state.store.as_ref(),
        products: &state.products,
        runs: &state.runs,
    }
}

/// A stored order line (documentation of the JSON the endpoints return).
#[derive(ToSchema)]
#[allow(dead_code)] // Schema only: responses serialise store::OrderLine.
pub struct OrderLineView {
    id: String,
    product_id: String,
    output_type_id: String,
    #[schema(value_type = Object)]
    overrides: Map<String, Value>,
    quantity: i64,
    reference: Option<String>,
    priority: i64,
    /// The primary run of the latest dispatch.
    last_run_id: Option<String>,
    /// Unix milliseconds.
    created_at: i64,
    updated_at: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderLineQuery {
    pub product_id: Option<String>,
    pub output_type_id: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderLinePage {
    #[schema(value_type = Vec<OrderLineView>)]
    pub order_lines: Vec<OrderLine>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// Order lines, newest first, optionally of one product and/or output type, paged.
#[utoipa::path(get, path = "/api/order-lines", tag = "order-lines", security(("bearer" = [])),
    params(OrderLineQuery),
    responses((status = 200, body = OrderLinePage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
async fn list(
    _caller: Caller,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<OrderLineQuery>,
) -> Result<Json<OrderLinePage>, ApiError> {
    let filter = OrderLineFilter {
        product_id: q.product_id,
        output_type_id: q.output_type_id,
        limit: q.limit.unwrap_or(50).clamp(1, 200),
        offset: q.offset.unwrap_or(0).max(0),
    };
    let (order_lines, total) = state.store.list_order_lines(&filter).await?;
    Ok(Json(OrderLinePage {
        order_lines,
        total,
        limit: filter.limit,
        offset: filter.offset,
    }))
}

/// Creates an order line. The product and the output type must exist (404, `details.field`
/// names which); the output type must be an `order_line` one and the overrides must apply to
/// what it runs (keys and values, as for `invocation_overrides`): otherwise 422
/// `invalid_order_line` with `details.errors: [{code, field, message, expected?, got?}]`,
/// `field` being e.g. `overrides.render.still.width` or `quantity`.
#[utoipa::path(post, path = "/api/order-lines", tag = "order-lines", security(("bearer" = [])),
    request_body = OrderLineInput,
    responses((status = 201, body = OrderLineView, headers(("Location" = String))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<OrderLineInput>,
) -> Result<Response, ApiError> {
    caller.require(Permission::CreateOrderLines, "create order lines")?;
    let line = orders(&state).create(input).await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/order-lines/{}", line.id))],
        Json(line),
    )
        .into_response())
}

/// One order line.
#[utoipa::path(get, path = "/api/order-lines/{id}", tag = "order-lines",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = OrderLineView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn get_one(
    _caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<OrderLine>, ApiError> {
    Ok(Json(state.store.get_order_line(&id).await?))
}

/// Renders the order line: dispatches its output type (following its rollout) with inputs
/// `{"product_id", "order_line_id"}` and the line's overrides. 202 with the run id, as
/// `POST /api/output-types/{id}/dispatch`; 422 `preflight_failed` with the same preflight
/// report when anything blocks it (e.g. the product is not processed yet).
#[utoipa::path(post, path = "/api/order-lines/{id}/dispatch", tag = "order-lines",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 202, body = super::dispatch::Dispatched),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn dispatch(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Dispatch, "dispatch runs")?;
    let runs = orders(&state).dispatch(&id).await?;
    Ok(dispatched(&runs))
}
