//! `/api/products/{id}/deliverables` and `/api/notifications`: what `output.publish` recorded
//! (see [`crate::deliverables`]). Handlers translate and delegate to the store.

use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiPath, ApiQuery};
use crate::state::AppState;
use crate::store::{DeliverableRecord, NotificationFilter, NotificationRecord};
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(product_deliverables))
        .routes(routes!(list_notifications))
        .routes(routes!(mark_delivered))
}

/// A deliverable with the URL of its bytes.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliverableView {
    #[serde(flatten)]
    pub deliverable: DeliverableRecord,
    /// `GET /api/artifacts/{artifact_id}`; null without an artifact.
    pub url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliverableList {
    pub product_id: String,
    pub deliverables: Vec<DeliverableView>,
}

/// The product's published deliverables (one per name; `output.publish` with `overwrite`
/// replaces a name's entry), by name. 404 for an unknown product.
#[utoipa::path(get, path = "/api/products/{id}/deliverables", tag = "products",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = DeliverableList), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn product_deliverables(
    _caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<DeliverableList>, ApiError> {
    state.products.get(&id).await?;
    let deliverables = state
        .store
        .list_deliverables(&id)
        .await?
        .into_iter()
        .map(|d| DeliverableView {
            url: d
                .artifact_id
                .as_ref()
                .map(|a| format!("/api/artifacts/{a}")),
            deliverable: d,
        })
        .collect();
    Ok(Json(DeliverableList {
        product_id: id,
        deliverables,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// `false`: the outbox still to send; `true`: those sent.
    pub delivered: Option<bool>,
    pub order_line_id: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPage {
    pub notifications: Vec<NotificationRecord>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// The notification outbox, oldest first: one entry per `output.publish` with `notify` on
/// (order line, run, deliverable names, `delivered`). A mail/webhook sender reads
/// `?delivered=false` and marks what it sent.
#[utoipa::path(get, path = "/api/notifications", tag = "order-lines", security(("bearer" = [])),
    params(NotificationQuery),
    responses((status = 200, body = NotificationPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_notifications(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<NotificationQuery>,
) -> Result<Json<NotificationPage>, ApiError> {
    caller.require(Permission::ReadNotifications, "read notifications")?;
    let filter = NotificationFilter {
        delivered: q.delivered,
        order_line_id: q.order_line_id,
        limit: q.limit.unwrap_or(50).clamp(1, 200),
        offset: q.offset.unwrap_or(0).max(0),
    };
    let (notifications, total) = state.store.list_notifications(&filter).await?;
    Ok(Json(NotificationPage {
        notifications,
        total,
        limit: filter.limit,
        offset: filter.offset,
    }))
}

/// Marks a notification delivered (a sender calls this after sending; repeating it is
/// harmless). 404 for an unknown id.
#[utoipa::path(post, path = "/api/notifications/{id}/delivered", tag = "order-lines",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = NotificationRecord), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn mark_delivered(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<NotificationRecord>, ApiError> {
    caller.require(
        Permission::DeliverNotifications,
        "mark notifications delivered",
    )?;
    Ok(Json(state.store.mark_notification_delivered(&id).await?))
}
