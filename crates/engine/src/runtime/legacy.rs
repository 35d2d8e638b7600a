//! The legacy pipeline: the fixed step sequence an output type without a graph runs. Each
//! step is executed by the module of the node whose `legacy_source` names the step, through
//! the same [`ModuleRegistry`](super::ModuleRegistry) as a graph, and recorded per legacy step
//! (`order.render_still`, …).
//!
//! It is a plain loop, one step after the other, and does not go through the graph
//! scheduler ([`Runtime::run_graph`]): legacy is the fallback when a graph run fails, so a
//! fault in the scheduler must not take the fallback down with it. What the two share is the
//! module layer (modules, parameters, the output-contract check) and the run record.

use super::codes;
use super::context::{NodeContext, Recorder};
use super::executor::{RunRequest, Runtime, RuntimeError};
use super::module::ModuleError;
use super::node_job::check_outputs;
use super::params::{effective_params, NodeOverrides};
use super::record::{now_ms, NodeError, NodeRun, NodeStatus, RunEvent, RunReport, RunStatus};
use super::value::{NodeInputs, NodeOutputs, PortValue};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;
use workflow_contracts::output_type::{ArtifactKind, OutputTypeSpec};
use workflow_contracts::{validate, Edge, Family, Graph, GraphNode, Registry, Severity};

const ORDER_HEAD: [&str; 5] = [
    "order.load",
    "order.load_scene",
    "order.apply_materials",
    "order.camera",
    "order.lighting",
];

/// The legacy steps for `family` and `kind`, in order.
pub fn legacy_steps(family: Family, kind: ArtifactKind) -> Result<Vec<&'static str>, RuntimeError> {
    let tail: &[&'static str] = match (family, kind) {
        (Family::OrderLine, ArtifactKind::Still) => &["order.render_still", "order.publish"],
        (Family::OrderLine, ArtifactKind::Turntable) => {
            &["order.render_turntable", "order.publish"]
        }
        (Family::OrderLine, ArtifactKind::SceneExport) => &["order.export_scene", "order.publish"],
        (Family::CadFile, ArtifactKind::PreviewGlb | ArtifactKind::Thumbnail) => {
            return Ok(vec![
                "cad.store_upload",
                "cad.convert",
                "cad.extract_parts",
                "cad.write_glb",
                "cad.thumbnail",
                "cad.publish",
            ])
        }
        _ => {
            return Err(RuntimeError::NoLegacyPipeline(format!(
                "the legacy system has no pipeline for a {kind} of the {family} family"
            )))
        }
    };
    Ok(ORDER_HEAD.iter().chain(tail).copied().collect())
}

/// Legacy preset keys whose parameter has another name today.
fn param_for_setting<'a>(node_type: &str, key: &'a str) -> &'a str {
    match (node_type, key) {
        ("render.turntable", "frames") => "frame_count",
        ("render.still", "format") => "file_format",
        _ => key,
    }
}

/// The legacy pipeline as a graph: one node per step (id = the step), each input fed by the
/// latest earlier step with an output of that port type, parameters taken from
/// `legacy_settings` wherever a step has a parameter of that name.
pub fn legacy_graph(spec: &OutputTypeSpec, registry: &Registry) -> Result<Graph, RuntimeError> {
    let steps = legacy_steps(spec.workflow_family, spec.artifact_kind)?;
    let settings = spec
        .legacy_settings
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut graph = Graph::new(spec.workflow_family);
    for step in &steps {
        let def = registry
            .nodes
            .iter()
            .find(|d| d.legacy_source.as_deref() == Some(step))
            .ok_or_else(|| {
                RuntimeError::NoLegacyPipeline(format!(
                    "no node definition mirrors legacy step '{step}'"
                ))
            })?;
        let mut node = GraphNode::new(step, &def.node_type);
        for (key, value) in &settings {
            let param = param_for_setting(&def.node_type, key);
            if def.param(param).is_some() {
                node.params.insert(param.to_owned(), value.clone());
            }
        }
        for input in &def.input_contract {
            let source = graph.nodes.iter().rev().find_map(|earlier| {
                let d = registry.get(&earlier.node_type)?;
                d.output_contract
                    .iter()
                    .find(|o| o.port_type == input.port_type)
                    .map(|o| (earlier.id.clone(), o.name.clone()))
            });
            if let Some((from, port)) = source {
                graph.edges.push(Edge::new(&from, &port, step, &input.name));
            }
        }
        graph.nodes.push(node);
    }
    let report = validate(&graph, registry);
    if !report.valid {
        let errors = report
            .errors
            .into_iter()
            .filter(|e| e.severity == Severity::Error)
            .collect();
        return Err(RuntimeError::InvalidLegacySettings(errors));
    }
    Ok(graph)
}

impl Runtime {
    /// Runs the legacy pipeline of `spec` step by step. `overrides` (from a rerun) are keyed
    /// by legacy step or node type like graph overrides.
    pub async fn run_legacy(
        &self,
        spec: &OutputTypeSpec,
        run_id: &str,
        inputs: Map<String, Value>,
        overrides: Map<String, Value>,
        events: Option<UnboundedSender<RunEvent>>,
        cancel: CancellationToken,
    ) -> Result<RunReport, RuntimeError> {
        let graph = legacy_graph(spec, &self.registry)?;
        let request = RunRequest {
            run_id: run_id.to_owned(),
            graph,
            overrides,
            inputs,
        };
        let overrides = self.check(&request)?;
        Ok(self.run_steps(request, overrides, events, cancel).await)
    }

    /// The sequential loop: each step in pipeline order, fed by the outputs of the earlier
    /// steps its edges name. A failed step skips the later steps that depend on it (the same
    /// records as a graph run would make), a cancel stops the loop.
    async fn run_steps(
        &self,
        request: RunRequest,
        overrides: NodeOverrides,
        events: Option<UnboundedSender<RunEvent>>,
        cancel: CancellationToken,
    ) -> RunReport {
        let started_at = now_ms();
        let graph = &request.graph;
        // `legacy_graph` validated every step's type; one that is not known is left out
        // rather than panicking (as the graph runtime does).
        let steps: Vec<(&GraphNode, Arc<workflow_contracts::NodeDefinition>)> = graph
            .nodes
            .iter()
            .filter_map(|n| {
                self.registry
                    .get(&n.node_type)
                    .map(|d| (n, Arc::new(d.clone())))
            })
            .collect();
        let queued_at = now_ms();
        let records = steps
            .iter()
            .map(|(node, def)| NodeRun {
                node_id: node.id.clone(),
                node_type: node.node_type.clone(),
                module_key: def.module_key.clone(),
                status: NodeStatus::Pending,
                queued_at,
                started_at: None,
                finished_at: None,
                params: Map::new(),
                outputs: Default::default(),
                output_digests: Default::default(),
                artifacts: Vec::new(),
                logs: Vec::new(),
                error: None,
            })
            .collect();
        let recorder = Arc::new(Recorder::new(&request.run_id, records, events));
        recorder.run_status(RunStatus::Running);
        let run_inputs = Arc::new(request.inputs.clone());
        // (step id, port) -> the value an earlier step produced.
        let mut values: HashMap<(String, String), PortValue> = HashMap::new();
        for (idx, (node, def)) in steps.iter().enumerate() {
            if recorder.status(idx) != NodeStatus::Pending {
                continue; // skipped by an earlier failure
            }
            if cancel.is_cancelled() {
                cancel_pending(&recorder, steps.len());
                break;
            }
            let mut inputs = NodeInputs::new();
            let mut seen = Vec::new();
            for edge in graph.edges.iter().filter(|e| e.to.node == node.id) {
                if seen.contains(&edge) {
                    continue; // a duplicate edge is one value, not two
                }
                seen.push(edge);
                if let Some(v) = values.get(&(edge.from.node.clone(), edge.from.port.clone())) {
                    inputs.push(&edge.to.port, v.clone());
                }
            }
            let mut consumed: Vec<String> = Vec::new();
            for edge in graph.edges.iter().filter(|e| e.from.node == node.id) {
                if !consumed.contains(&edge.from.port) {
                    consumed.push(edge.from.port.clone());
                }
            }
            let outcome = self
                .run_step(
                    &recorder,
                    idx,
                    node,
                    def,
                    overrides.get(&node.id),
                    inputs,
                    &consumed,
                    &run_inputs,
                    &cancel,
                )
                .await;
            match outcome {
                StepOutcome::Succeeded(outputs) => {
                    recorder.set_output_digests(idx, outputs.digests());
                    recorder.transition(
                        idx,
                        NodeStatus::Succeeded,
                        None,
                        Some(outputs.summaries()),
                    );
                    for (port, value) in outputs.iter() {
                        values.insert((node.id.clone(), port.to_owned()), value.clone());
                    }
                }
                StepOutcome::Failed(error) => {
                    recorder.transition(idx, NodeStatus::Failed, Some(error.into()), None);
                    skip_dependents(graph, &steps, idx, &recorder);
                }
                StepOutcome::Cancelled => {
                    // Like the graph runtime: the steps not started are cancelled first.
                    cancel_pending(&recorder, steps.len());
                    recorder.transition(
                        idx,
                        NodeStatus::Cancelled,
                        Some(ModuleError::cancelled().into()),
                        None,
                    );
                    break;
                }
            }
        }
        let nodes = recorder.snapshot();
        let status = if nodes.iter().any(|n| n.status == NodeStatus::Cancelled) {
            RunStatus::Cancelled
        } else if nodes.iter().all(|n| n.status == NodeStatus::Succeeded) {
            RunStatus::Succeeded
        } else {
            RunStatus::Failed
        };
        recorder.run_status(status);
        RunReport {
            run_id: request.run_id,
            status,
            started_at,
            finished_at: now_ms(),
            nodes,
        }
    }

    /// One step: effective parameters, its module on a blocking thread, raced against the
    /// run's cancellation and the step's timeout.
    #[allow(clippy::too_many_arguments)]
    async fn run_step(
        &self,
        recorder: &Arc<Recorder>,
        idx: usize,
        node: &GraphNode,
        def: &workflow_contracts::NodeDefinition,
        overrides: Option<&Map<String, Value>>,
        inputs: NodeInputs,
        consumed: &[String],
        run_inputs: &Arc<Map<String, Value>>,
        cancel: &CancellationToken,
    ) -> StepOutcome {
        let params = effective_params(def, node, overrides);
        if let Ok(p) = &params {
            recorder.set_params(idx, p.clone());
        }
        recorder.transition(idx, NodeStatus::Running, None, None);
        let params = match params {
            Ok(p) => p,
            Err(e) => return StepOutcome::Failed(e),
        };
        let key = &def.module_key;
        let Some(module) = self.modules.get(key) else {
            return StepOutcome::Failed(
                ModuleError::new(
                    codes::MODULE_UNAVAILABLE,
                    format!(
                        "no module is registered for module_key '{key}' (node '{}', type {})",
                        node.id, node.node_type
                    ),
                )
                .with_details(json!({"module_key": key, "node": node.id})),
            );
        };
        let timeout = params
            .get("timeout")
            .and_then(Value::as_u64)
            .map_or(self.options.node_timeout, Duration::from_secs);
        let step_cancel = cancel.child_token();
        let ctx = NodeContext {
            recorder: recorder.clone(),
            idx,
            node_id: node.id.clone(),
            node_type: node.node_type.clone(),
            run_inputs: run_inputs.clone(),
            cancel: step_cancel.clone(),
            artifacts: self.artifacts.clone(),
        };
        let handle = tokio::task::spawn_blocking(move || module.run(&ctx, &inputs, &params));
        tokio::select! {
            biased;
            joined = handle => match joined {
                Ok(Ok(outputs)) => match check_outputs(def, node, &outputs, consumed) {
                    Ok(()) => StepOutcome::Succeeded(outputs),
                    Err(e) => StepOutcome::Failed(e),
                },
                Ok(Err(e)) if e.code == codes::CANCELLED => StepOutcome::Cancelled,
                Ok(Err(e)) => StepOutcome::Failed(e),
                Err(join) => StepOutcome::Failed(ModuleError::new(
                    codes::MODULE_PANICKED,
                    format!("module '{key}' panicked on node '{}': {join}", node.id),
                )),
            },
            _ = cancel.cancelled() => {
                step_cancel.cancel();
                StepOutcome::Cancelled
            }
            _ = tokio::time::sleep(timeout) => {
                // The module thread sees the token at its next check and stops.
                step_cancel.cancel();
                StepOutcome::Failed(ModuleError::new(
                    codes::TIMEOUT,
                    format!("node '{}' ({}) ran longer than {} s", node.id, node.node_type, timeout.as_secs_f64()),
                ).with_details(json!({"timeout_ms": u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)})))
            }
        }
    }
}

enum StepOutcome {
    Succeeded(NodeOutputs),
    Failed(ModuleError),
    Cancelled,
}

fn cancel_pending(recorder: &Recorder, count: usize) {
    for idx in 0..count {
        if recorder.status(idx) == NodeStatus::Pending {
            recorder.transition(
                idx,
                NodeStatus::Cancelled,
                Some(ModuleError::cancelled().into()),
                None,
            );
        }
    }
}

/// Marks every later step that depends (through edges, transitively) on step `root`
/// skipped, naming `root` as the cause. Steps are in pipeline order, so one forward pass
/// finds them all.
fn skip_dependents(
    graph: &Graph,
    steps: &[(&GraphNode, Arc<workflow_contracts::NodeDefinition>)],
    root: usize,
    recorder: &Recorder,
) {
    let root_id = &steps[root].0.id;
    let mut tainted: Vec<&str> = vec![root_id.as_str()];
    for (idx, (node, _)) in steps.iter().enumerate().skip(root + 1) {
        let depends = graph
            .edges
            .iter()
            .any(|e| e.to.node == node.id && tainted.contains(&e.from.node.as_str()));
        if !depends {
            continue;
        }
        tainted.push(node.id.as_str());
        if recorder.status(idx) == NodeStatus::Pending {
            let error = NodeError {
                code: codes::UPSTREAM_FAILED.to_owned(),
                message: format!("not run: upstream node '{root_id}' did not succeed"),
                details: Value::Null,
                root_cause_node: Some(root_id.clone()),
            };
            recorder.transition(idx, NodeStatus::Skipped, Some(error), None);
        }
    }
}
