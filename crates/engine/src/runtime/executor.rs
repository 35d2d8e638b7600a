//! The graph runtime: runs a validated graph in dependency order, independent branches
//! concurrently (bounded), each node on a blocking thread with a timeout and cooperative
//! cancellation. A failed node skips everything downstream of it; other branches go on.

use super::codes;
use super::context::{ArtifactSink, NodeContext, Recorder};
use super::module::{ModuleError, ModuleRegistry};
use super::params::{effective_params, resolve_overrides, NodeOverrides, OverrideProblem};
use super::record::{now_ms, NodeError, NodeRun, NodeStatus, RunEvent, RunReport, RunStatus};
use super::value::{NodeInputs, NodeOutputs, PortValue};
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use workflow_contracts::{validate, Graph, GraphNode, NodeDefinition, Registry, ValidationError};

/// Scheduling limits of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Nodes running at once (at least 1).
    pub max_concurrency: usize,
    /// A node running longer is failed with `timeout`. A node's own integer `timeout`
    /// parameter (seconds, e.g. `cad.import`) takes precedence.
    pub node_timeout: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            max_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            node_timeout: Duration::from_secs(30 * 60),
        }
    }
}

/// A run to execute: the graph (or legacy plan), overrides and the dispatch inputs.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub run_id: String,
    pub graph: Graph,
    /// `<node id or node type>.<param>` → value.
    pub overrides: Map<String, Value>,
    /// Passed to source modules through [`NodeContext::run_input`].
    pub inputs: Map<String, Value>,
}

/// Why a run could not start at all (node failures are recorded on the run instead).
#[derive(Debug, Clone, thiserror::Error)]
pub enum RuntimeError {
    #[error("the graph is invalid: {}", messages(.0))]
    InvalidGraph(Vec<ValidationError>),
    #[error("invalid overrides: {}", .0.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; "))]
    InvalidOverrides(Vec<OverrideProblem>),
    #[error("{0}")]
    NoLegacyPipeline(String),
    #[error("the legacy pipeline cannot be built from these legacy settings: {}", messages(.0))]
    InvalidLegacySettings(Vec<ValidationError>),
}

fn messages(errors: &[ValidationError]) -> String {
    errors
        .iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

impl RuntimeError {
    /// Stable code for API errors and run records.
    pub fn code(&self) -> &'static str {
        match self {
            RuntimeError::InvalidGraph(_) => "invalid_graph",
            RuntimeError::InvalidOverrides(_) => "invalid_overrides",
            RuntimeError::NoLegacyPipeline(_) => "no_legacy_pipeline",
            RuntimeError::InvalidLegacySettings(_) => "invalid_legacy_settings",
        }
    }

    pub fn details(&self) -> Value {
        match self {
            RuntimeError::InvalidGraph(e) | RuntimeError::InvalidLegacySettings(e) => {
                json!({ "errors": e })
            }
            RuntimeError::InvalidOverrides(p) => json!({ "problems": p }),
            RuntimeError::NoLegacyPipeline(_) => Value::Null,
        }
    }
}

/// Runs graphs and legacy pipelines with one [`ModuleRegistry`].
#[derive(Clone)]
pub struct Runtime {
    pub(crate) registry: Arc<Registry>,
    pub(crate) modules: Arc<ModuleRegistry>,
    artifacts: Arc<dyn ArtifactSink>,
    options: RunOptions,
}

impl Runtime {
    pub fn new(
        registry: Arc<Registry>,
        modules: Arc<ModuleRegistry>,
        artifacts: Arc<dyn ArtifactSink>,
    ) -> Self {
        Runtime {
            registry,
            modules,
            artifacts,
            options: RunOptions::default(),
        }
    }

    pub fn with_options(mut self, options: RunOptions) -> Self {
        self.options = options;
        self
    }

    pub fn modules(&self) -> &ModuleRegistry {
        &self.modules
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Runs an authored graph. Refuses a graph with error-severity validation problems or
    /// overrides that do not apply, before anything runs.
    pub async fn run_graph(
        &self,
        request: RunRequest,
        events: Option<UnboundedSender<RunEvent>>,
        cancel: CancellationToken,
    ) -> Result<RunReport, RuntimeError> {
        let overrides = self.check(&request)?;
        Ok(self
            .execute(
                request,
                overrides,
                self.options.max_concurrency,
                events,
                cancel,
            )
            .await)
    }

    /// Validation and override resolution, shared with preflight.
    pub fn check(&self, request: &RunRequest) -> Result<NodeOverrides, RuntimeError> {
        let report = validate(&request.graph, &self.registry);
        if !report.valid {
            let errors = report
                .errors
                .into_iter()
                .filter(|e| e.severity == workflow_contracts::Severity::Error)
                .collect();
            return Err(RuntimeError::InvalidGraph(errors));
        }
        let (overrides, problems) =
            resolve_overrides(&request.graph, &self.registry, &request.overrides);
        if problems.is_empty() {
            Ok(overrides)
        } else {
            Err(RuntimeError::InvalidOverrides(problems))
        }
    }

    /// Executes a graph that passed [`Runtime::check`].
    pub(crate) async fn execute(
        &self,
        request: RunRequest,
        overrides: NodeOverrides,
        max_concurrency: usize,
        events: Option<UnboundedSender<RunEvent>>,
        cancel: CancellationToken,
    ) -> RunReport {
        let started_at = now_ms();
        let plan = Plan::new(&request.graph, &self.registry);
        let recorder = Arc::new(Recorder::new(&request.run_id, plan.records(), events));
        recorder.run_status(RunStatus::Running);
        let run_inputs = Arc::new(request.inputs);
        let mut remaining_upstream: Vec<usize> =
            plan.nodes.iter().map(|n| n.upstream.len()).collect();
        let mut ready: BTreeSet<usize> = (0..plan.nodes.len())
            .filter(|&i| remaining_upstream[i] == 0)
            .collect();
        let mut values: HashMap<(usize, String), PortValue> = HashMap::new();
        let mut tasks: JoinSet<(usize, Outcome)> = JoinSet::new();
        let mut cancel_seen = false;
        loop {
            while tasks.len() < max_concurrency.max(1) && !cancel_seen {
                let Some(idx) = ready.pop_first() else { break };
                let node = &plan.nodes[idx];
                let job = NodeJob {
                    idx,
                    node: node.node.clone(),
                    def: node.def.clone(),
                    overrides: overrides.get(&node.node.id).cloned(),
                    inputs: plan.inputs_of(idx, &values),
                    consumed: node.consumed.clone(),
                    recorder: recorder.clone(),
                    modules: self.modules.clone(),
                    artifacts: self.artifacts.clone(),
                    run_inputs: run_inputs.clone(),
                    cancel: cancel.clone(),
                    timeout: self.options.node_timeout,
                };
                tasks.spawn(async move { (idx, job.run().await) });
            }
            if tasks.is_empty() {
                break;
            }
            tokio::select! {
                biased;
                _ = cancel.cancelled(), if !cancel_seen => {
                    cancel_seen = true;
                    // Nodes not started yet will never start; running ones see the token.
                    for idx in 0..plan.nodes.len() {
                        if recorder.status(idx) == NodeStatus::Pending {
                            recorder.transition(idx, NodeStatus::Cancelled, Some(cancelled_error()), None);
                        }
                    }
                    ready.clear();
                }
                Some(joined) = tasks.join_next() => {
                    let Ok((idx, outcome)) = joined else { continue };
                    match outcome {
                        Outcome::Succeeded(outputs) => {
                            recorder.transition(idx, NodeStatus::Succeeded, None, Some(outputs.summaries()));
                            for (port, value) in outputs.iter() {
                                values.insert((idx, port.to_owned()), value.clone());
                            }
                            for &down in &plan.nodes[idx].downstream {
                                remaining_upstream[down] -= 1;
                                if remaining_upstream[down] == 0
                                    && recorder.status(down) == NodeStatus::Pending
                                {
                                    ready.insert(down);
                                }
                            }
                        }
                        Outcome::Failed(error) => {
                            recorder.transition(idx, NodeStatus::Failed, Some(error.into()), None);
                            skip_downstream(&plan, idx, &recorder);
                        }
                        Outcome::Cancelled => {
                            recorder.transition(idx, NodeStatus::Cancelled, Some(cancelled_error()), None);
                            skip_downstream(&plan, idx, &recorder);
                        }
                    }
                }
            }
        }
        let nodes = recorder.snapshot();
        let status = if cancel.is_cancelled() {
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
}

fn cancelled_error() -> NodeError {
    ModuleError::cancelled().into()
}

/// Marks every pending node downstream of `root` skipped, naming `root` as the cause.
fn skip_downstream(plan: &Plan, root: usize, recorder: &Recorder) {
    let root_id = &plan.nodes[root].node.id;
    let mut stack: Vec<usize> = plan.nodes[root].downstream.clone();
    let mut seen: HashSet<usize> = HashSet::new();
    while let Some(idx) = stack.pop() {
        if !seen.insert(idx) {
            continue;
        }
        if recorder.status(idx) == NodeStatus::Pending {
            let error = NodeError {
                code: codes::UPSTREAM_FAILED.to_owned(),
                message: format!("not run: upstream node '{root_id}' did not succeed"),
                details: Value::Null,
                root_cause_node: Some(root_id.clone()),
            };
            recorder.transition(idx, NodeStatus::Skipped, Some(error), None);
        }
        stack.extend(plan.nodes[idx].downstream.iter().copied());
    }
}

enum Outcome {
    Succeeded(NodeOutputs),
    Failed(ModuleError),
    Cancelled,
}

/// Everything one node needs on its own task.
struct NodeJob {
    idx: usize,
    node: GraphNode,
    def: Arc<NodeDefinition>,
    overrides: Option<Map<String, Value>>,
    inputs: NodeInputs,
    consumed: Vec<String>,
    recorder: Arc<Recorder>,
    modules: Arc<ModuleRegistry>,
    artifacts: Arc<dyn ArtifactSink>,
    run_inputs: Arc<Map<String, Value>>,
    cancel: CancellationToken,
    timeout: Duration,
}

impl NodeJob {
    async fn run(self) -> Outcome {
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
fn check_outputs(
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

/// The graph resolved to indices: definitions, upstream/downstream nodes and input edges.
struct Plan {
    nodes: Vec<PlannedNode>,
}

struct PlannedNode {
    node: GraphNode,
    def: Arc<NodeDefinition>,
    upstream: Vec<usize>,
    downstream: Vec<usize>,
    /// `(from node, from port, to port)` of every edge into this node.
    in_edges: Vec<(usize, String, String)>,
    /// Output ports some edge consumes.
    consumed: Vec<String>,
}

impl Plan {
    /// `graph` passed validation, so every type and edge end resolves; anything that does
    /// not (a caller skipping validation) is left out rather than panicking.
    fn new(graph: &Graph, registry: &Registry) -> Self {
        let mut nodes: Vec<PlannedNode> = graph
            .nodes
            .iter()
            .filter_map(|n| {
                registry.get(&n.node_type).map(|def| PlannedNode {
                    node: n.clone(),
                    def: Arc::new(def.clone()),
                    upstream: Vec::new(),
                    downstream: Vec::new(),
                    in_edges: Vec::new(),
                    consumed: Vec::new(),
                })
            })
            .collect();
        let index: HashMap<String, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.node.id.clone(), i))
            .collect();
        let mut seen_edges = HashSet::new();
        for edge in &graph.edges {
            let (Some(&from), Some(&to)) = (index.get(&edge.from.node), index.get(&edge.to.node))
            else {
                continue;
            };
            if !seen_edges.insert(edge) {
                continue; // duplicate edges are a warning, not two values
            }
            nodes[to]
                .in_edges
                .push((from, edge.from.port.clone(), edge.to.port.clone()));
            if !nodes[to].upstream.contains(&from) {
                nodes[to].upstream.push(from);
                nodes[from].downstream.push(to);
            }
            if !nodes[from].consumed.contains(&edge.from.port) {
                nodes[from].consumed.push(edge.from.port.clone());
            }
        }
        Plan { nodes }
    }

    fn records(&self) -> Vec<NodeRun> {
        let now = now_ms();
        self.nodes
            .iter()
            .map(|n| NodeRun {
                node_id: n.node.id.clone(),
                node_type: n.node.node_type.clone(),
                module_key: n.def.module_key.clone(),
                status: NodeStatus::Pending,
                queued_at: now,
                started_at: None,
                finished_at: None,
                params: Map::new(),
                outputs: Default::default(),
                artifacts: Vec::new(),
                logs: Vec::new(),
                error: None,
            })
            .collect()
    }

    fn inputs_of(&self, idx: usize, values: &HashMap<(usize, String), PortValue>) -> NodeInputs {
        let mut inputs = NodeInputs::new();
        for (from, from_port, to_port) in &self.nodes[idx].in_edges {
            if let Some(v) = values.get(&(*from, from_port.clone())) {
                inputs.push(to_port, v.clone());
            }
        }
        inputs
    }
}
