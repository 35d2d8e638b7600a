//! Test-only modules for the server tests: they produce every declared output, store an
//! artifact for every role their node produces, and obey per-run instructions given in the
//! dispatch inputs (`test_fail`, `test_hang`: a node id or legacy step), so a test can steer
//! one run without global state.

use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;
use workflow_contracts::Registry;
use workflow_engine::runtime::{
    Module, ModuleError, ModuleRegistry, NodeContext, NodeInputs, NodeOutputs, PortValue,
};

struct Scripted {
    registry: Registry,
}

impl Module for Scripted {
    fn run(
        &self,
        ctx: &NodeContext,
        _inputs: &NodeInputs,
        _params: &Map<String, Value>,
    ) -> Result<NodeOutputs, ModuleError> {
        let id = ctx.node_id();
        let told = |key: &str| ctx.run_input(key).and_then(Value::as_str) == Some(id);
        ctx.log(format!("{id} starts"));
        if told("test_hang") {
            while !ctx.is_cancelled() {
                std::thread::sleep(Duration::from_millis(5));
            }
            return Err(ModuleError::cancelled());
        }
        if told("test_fail") {
            return Err(ModuleError::new(
                "scripted_failure",
                format!("{id} was told to fail"),
            ));
        }
        let def = self
            .registry
            .get(ctx.node_type())
            .ok_or_else(|| ModuleError::new("unknown_type", "no definition"))?;
        for role in &def.artifact_roles_out {
            if !def.artifact_roles_in.contains(role) {
                ctx.store_artifact(*role, "text/plain", format!("{role} of {id}").as_bytes())?;
            }
        }
        Ok(def
            .output_contract
            .iter()
            .fold(NodeOutputs::new(), |out, port| {
                out.with(
                    &port.name,
                    PortValue::json(port.port_type, json!({"from": id})),
                )
            }))
    }
}

/// One scripted instance registered under every built-in module key.
pub fn scripted_modules() -> ModuleRegistry {
    let registry = Registry::builtin();
    let module: Arc<dyn Module> = Arc::new(Scripted {
        registry: registry.clone(),
    });
    let mut modules = ModuleRegistry::new();
    for def in &registry.nodes {
        modules.register_arc(&def.module_key, module.clone());
    }
    modules
}
