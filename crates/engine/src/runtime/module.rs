//! The module interface: what every node's `module_key` names, and the registry the graph
//! runtime and the legacy pipeline both look modules up in (one instance serves both paths, so
//! a parity fix lands once).

use super::context::NodeContext;
use super::value::{NodeInputs, NodeOutputs};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A production module. Modules are CPU-heavy and synchronous; the runtime calls them on
/// blocking threads, so `run` may take seconds but should call `ctx.check_cancelled()` between
/// expensive steps (cancellation and timeouts are cooperative).
pub trait Module: Send + Sync + 'static {
    /// Runs one node. `params` are the node's effective parameters (defaults, then the node's
    /// own values, then invocation overrides), already checked against the node's schema.
    fn run(
        &self,
        ctx: &NodeContext,
        inputs: &NodeInputs,
        params: &Map<String, Value>,
    ) -> Result<NodeOutputs, ModuleError>;
}

/// Why a module (or the runtime on its behalf) failed a node. `code` is stable: clients switch
/// on it; `message` names what is wrong in plain language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ModuleError {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub details: Value,
}

impl ModuleError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ModuleError {
            code: code.to_owned(),
            message: message.into(),
            details: Value::Null,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// The error a module returns when it noticed cancellation.
    pub fn cancelled() -> Self {
        ModuleError::new(super::codes::CANCELLED, "the run was cancelled")
    }
}

/// Modules by `module_key`. Built once by the caller (the server at start, a test, a CLI verb)
/// and shared; real modules are registered with [`ModuleRegistry::register`].
#[derive(Clone, Default)]
pub struct ModuleRegistry {
    modules: BTreeMap<String, Arc<dyn Module>>,
}

impl std::fmt::Debug for ModuleRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.modules.keys()).finish()
    }
}

impl ModuleRegistry {
    pub fn new() -> Self {
        ModuleRegistry::default()
    }

    /// Registers `module` under `module_key`, replacing any earlier one.
    pub fn register(&mut self, module_key: &str, module: impl Module) -> &mut Self {
        self.register_arc(module_key, Arc::new(module))
    }

    /// Registers a shared instance (one module serving several keys, or kept by the caller).
    pub fn register_arc(&mut self, module_key: &str, module: Arc<dyn Module>) -> &mut Self {
        self.modules.insert(module_key.to_owned(), module);
        self
    }

    pub fn get(&self, module_key: &str) -> Option<Arc<dyn Module>> {
        self.modules.get(module_key).cloned()
    }

    pub fn contains(&self, module_key: &str) -> bool {
        self.modules.contains_key(module_key)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.modules.keys().map(String::as_str)
    }
}
