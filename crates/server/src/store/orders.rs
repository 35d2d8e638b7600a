//! Storage of order lines and of the user part of the material library. Like the rest of the
//! store it records; what may be stored is decided by `crate::orders` and `crate::materials`.

use super::StoreResult;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use workflow_engine::materials::PbrMaterial;

/// A stored order line: a product + an output type (+ per-line overrides) to render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderLine {
    pub id: String,
    pub product_id: String,
    pub output_type_id: String,
    /// `<node id or node type>.<param>` → value, applied over the output type's overrides.
    pub overrides: Map<String, Value>,
    pub quantity: i64,
    pub reference: Option<String>,
    pub priority: i64,
    /// The primary run of the latest dispatch.
    pub last_run_id: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

/// The fields of an order line to create (already validated).
#[derive(Debug, Clone, Default)]
pub struct NewOrderLine {
    pub product_id: String,
    pub output_type_id: String,
    pub overrides: Map<String, Value>,
    pub quantity: i64,
    pub reference: Option<String>,
    pub priority: i64,
}

/// `GET /api/order-lines` filters; `limit` is clamped by the caller.
#[derive(Debug, Clone, Default)]
pub struct OrderLineFilter {
    pub product_id: Option<String>,
    pub output_type_id: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

#[async_trait]
pub trait OrderStore: Send + Sync {
    async fn create_order_line(&self, line: &NewOrderLine) -> StoreResult<OrderLine>;
    async fn get_order_line(&self, id: &str) -> StoreResult<OrderLine>;
    /// Newest first, with the total matching count.
    async fn list_order_lines(
        &self,
        filter: &OrderLineFilter,
    ) -> StoreResult<(Vec<OrderLine>, i64)>;
    /// Records the primary run of a dispatch of the line.
    async fn set_order_line_run(&self, id: &str, run_id: &str) -> StoreResult<()>;
}

#[async_trait]
pub trait MaterialStore: Send + Sync {
    /// The user materials, by name.
    async fn list_materials(&self) -> StoreResult<Vec<PbrMaterial>>;
    /// Stores a new user material; `AlreadyExists` when one of that name is stored.
    async fn create_material(&self, material: &PbrMaterial) -> StoreResult<()>;
    /// Creates or replaces the user material of that name; true when it was created.
    async fn put_material(&self, material: &PbrMaterial) -> StoreResult<bool>;
}
