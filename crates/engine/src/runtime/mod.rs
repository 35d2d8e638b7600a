//! Runtimes: the module interface, the graph runtime, the legacy pipeline and rollout
//! dispatch decisions.
//!
//! A real module is registered once, by `module_key`, and serves both paths:
//!
//! ```
//! use workflow_engine::runtime::*;
//! use serde_json::{json, Map, Value};
//! use workflow_contracts::PortType;
//!
//! struct OrderSource;
//! impl Module for OrderSource {
//!     fn run(&self, ctx: &NodeContext, _: &NodeInputs, _: &Map<String, Value>)
//!         -> Result<NodeOutputs, ModuleError> {
//!         let id = ctx.run_input("order_line_id").cloned().unwrap_or(Value::Null);
//!         Ok(NodeOutputs::new().with("order_line", PortValue::json(PortType::OrderLine, json!({"id": id}))))
//!     }
//! }
//! let mut modules = ModuleRegistry::new();
//! modules.register("order.source", OrderSource);
//! ```

pub mod budget;
pub mod codes;
mod context;
pub mod dispatch;
mod executor;
pub mod inputs;
pub mod legacy;
mod module;
mod node_job;
pub mod params;
mod plan;
mod record;
pub mod tools;
mod value;

#[cfg(test)]
mod tests;

pub use budget::{check_render_budget, BudgetProblem, RenderBudget};
pub use context::{ArtifactSink, MemoryArtifacts, NodeContext};
pub use dispatch::{plan_dispatch, should_fall_back, DispatchPlan, RunMode};
pub use executor::{RunOptions, RunRequest, Runtime, RuntimeError};
pub use module::{Module, ModuleError, ModuleRegistry};
pub use record::{
    now_ms, ArtifactRef, LogLevel, LogLine, NodeError, NodeRun, NodeStatus, RunEvent, RunEventKind,
    RunReport, RunStatus,
};
pub use value::{NodeInputs, NodeOutputs, PortValue};
