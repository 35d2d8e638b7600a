//! One node on its own task: effective parameters, the module looked up by `module_key`,
//! the call on a blocking thread raced against cancellation and the node's timeout, and the
//! output contract check.

use super::codes;
use super::context::{ArtifactSink, NodeContext, Recorder};
use super::module::{ModuleError, ModuleRegistry};
use super::params::effective_params;
use super::record::NodeStatus;
use super::value::{NodeInputs, NodeOutputs};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use workflow_contracts::{GraphNode, NodeDefinition};

pub(crate) enum Outcome {
    Succeeded(NodeOutputs),
    Failed(ModuleError),
    Cancelled,
}

/// Everything one node needs on its own task.
pub(crate) struct NodeJob {
    pub(crate) idx: usize,
    pub(crate) node: GraphNode,
    pub(crate) def: Arc<NodeDefinition>,
    pub(crate) overrides: Option<Map<String, Value>>,
    pub(crate) inputs: NodeInputs,
    pub(crate) consumed: Vec<String>,
    pub(crate) recorder: Arc<Recorder>,
    pub(crate) modules: Arc<ModuleRegistry>,
    pub(crate) artifacts: Arc<dyn ArtifactSink>,
    pub(crate) run_inputs: Arc<Map<String, Value>>,
    pub(crate) cancel: CancellationToken,
    pub(crate) timeout: Duration,
}

impl NodeJob {
    pub(crate) async fn run(self) -> Outcome {
        let params = effective_params(&self.def, &self.node, self.overrides.as_ref());
        if let Ok(p) = &params {
            self.recorder.set_params(self.idx, p.clone());
        }
        self.recorder
            .transition(self.idx, NodeStatus::Running, None, None);
        let params = match params {
            Ok(p) => p,
            Err(e) => return Outcome::Failed(e),
        };
        let key = &self.def.module_key;
        let Some(module) = self.modules.get(key) else {
            return Outcome::Failed(
                ModuleError::new(
                    codes::MODULE_UNAVAILABLE,
                    format!(
                        "no module is registered for module_key '{key}' (node '{}', type {})",
                        self.node.id, self.node.node_type
                    ),
                )
                .with_details(json!({"module_key": key, "node": self.node.id})),
            );
        };
        let timeout = params
            .get("timeout")
            .and_then(Value::as_u64)
            .map_or(self.timeout, Duration::from_secs);
        let node_cancel = self.cancel.child_token();
        let ctx = NodeContext {
            recorder: self.recorder.clone(),
            idx: self.idx,
            node_id: self.node.id.clone(),
            node_type: self.node.node_type.clone(),
            run_inputs: self.run_inputs.clone(),
            cancel: node_cancel.clone(),
            artifacts: self.artifacts.clone(),
        };
        let inputs = self.inputs;
        let handle = tokio::task::spawn_blocking(move || module.run(&ctx, &inputs, &params));
        tokio::select! {
            biased;
            joined = handle => match joined {
                Ok(Ok(outputs)) => match check_outputs(&self.def, &self.node, &outputs, &self.consumed) {
                    Ok(()) => Outcome::Succeeded(outputs),
                    Err(e) => Outcome::Failed(e),
                },
                Ok(Err(e)) if e.code == codes::CANCELLED => Outcome::Cancelled,
                Ok(Err(e)) => Outcome::Failed(e),
                Err(join) => Outcome::Failed(ModuleError::new(
                    codes::MODULE_PANICKED,
                    format!("module '{key}' panicked on node '{}': {join}", self.node.id),
                )),
            },
            _ = self.cancel.cancelled() => {
                node_cancel.cancel();
                Outcome::Cancelled
            }
            _ = tokio::time::sleep(timeout) => {
                // The module thread sees the token at its next check and stops.
                node_cancel.cancel();
                Outcome::Failed(ModuleError::new(
                    codes::TIMEOUT,
                    format!("node '{}' ({}) ran longer than {} s", self.node.id, self.node.node_type, timeout.as_secs_f64()),
                ).with_details(json!({"timeout_ms": u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)})))
            }
        }
    }
}

/// Outputs must be declared by the node definition, typed as declared, and include every
/// port an edge consumes.
pub(crate) fn check_outputs(
    def: &NodeDefinition,
    node: &GraphNode,
    outputs: &NodeOutputs,
    consumed: &[String],
) -> Result<(), ModuleError> {
    let violation = |message: String| {
        Err(ModuleError::new(
            codes::OUTPUT_CONTRACT_VIOLATION,
            format!("node '{}' ({}): {message}", node.id, node.node_type),
        ))
    };
    for (port, value) in outputs.iter() {
        match def.output(port) {
            None => return violation(format!("module returned undeclared output '{port}'")),
            Some(spec) if spec.port_type != value.port_type() => {
                return violation(format!(
                    "output '{port}' is declared {} but the module returned {}",
                    spec.port_type,
                    value.port_type()
                ))
            }
            Some(_) => {}
        }
    }
    if let Some(port) = consumed.iter().find(|p| outputs.get(p).is_none()) {
        return violation(format!(
            "module produced no '{port}' output, which a downstream node needs"
        ));
    }
    Ok(())
}
