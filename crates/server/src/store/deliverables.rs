//! Storage of published deliverables (`output.publish`) and of the notification outbox. Like
//! the rest of the store it records: whether a publication may replace deliverables is the
//! caller's `overwrite`, checked here only so the check and the write are one transaction.

use super::StoreResult;
use async_trait::async_trait;
use serde::Serialize;
use utoipa::ToSchema;
use workflow_contracts::ArtifactRole;

/// A deliverable of a product: the name `output.publish` gave it and the artifact it is.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DeliverableRecord {
    pub id: String,
    pub product_id: String,
    pub order_line_id: Option<String>,
    pub run_id: String,
    /// The `output.publish` node (or legacy step) that published it.
    pub node_id: String,
    pub name: String,
    /// `still`, `turntable`, `scene_export` or `material_report`.
    #[schema(value_type = String)]
    pub role: ArtifactRole,
    /// The stored bytes (`GET /api/artifacts/{id}`); null for the material report.
    pub artifact_id: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// One deliverable to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDeliverable {
    pub name: String,
    pub role: ArtifactRole,
    pub artifact_id: Option<String>,
}

/// What one `output.publish` records, all or nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPublication {
    pub product_id: String,
    pub order_line_id: Option<String>,
    pub run_id: String,
    pub node_id: String,
    pub deliverables: Vec<NewDeliverable>,
    /// Replace deliverables of the product with the same names; when false, any such name
    /// refuses the whole publication.
    pub overwrite: bool,
    /// Also record a notification naming the deliverables.
    pub notify: bool,
}

/// The outcome of [`DeliverableStore::publish_deliverables`].
#[derive(Debug, Clone, PartialEq)]
pub enum PublishOutcome {
    Published {
        /// Names that replaced an earlier deliverable of the product.
        replaced: Vec<String>,
        notification_id: Option<String>,
    },
    /// `overwrite` is off and these names exist for the product (or repeat within the
    /// publication): nothing was recorded.
    Exists(Vec<String>),
}

/// An entry of the notification outbox.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct NotificationRecord {
    pub id: String,
    pub order_line_id: Option<String>,
    pub product_id: String,
    pub run_id: String,
    /// The published deliverable names.
    pub deliverables: Vec<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Set once a sender delivered it.
    pub delivered: bool,
    pub delivered_at: Option<i64>,
}

/// `GET /api/notifications` filters; `limit` is clamped by the caller.
#[derive(Debug, Clone, Default)]
pub struct NotificationFilter {
    pub delivered: Option<bool>,
    pub order_line_id: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

#[async_trait]
pub trait DeliverableStore: Send + Sync {
    /// Records a publication (and its notification) in one transaction.
    async fn publish_deliverables(
        &self,
        publication: &NewPublication,
    ) -> StoreResult<PublishOutcome>;
    /// A product's deliverables, by name.
    async fn list_deliverables(&self, product_id: &str) -> StoreResult<Vec<DeliverableRecord>>;
    /// Oldest first (the order a sender works through them), with the total matching count.
    async fn list_notifications(
        &self,
        filter: &NotificationFilter,
    ) -> StoreResult<(Vec<NotificationRecord>, i64)>;
    /// Marks a notification delivered (idempotent); `NotFound` for an unknown id.
    async fn mark_notification_delivered(&self, id: &str) -> StoreResult<NotificationRecord>;
}
