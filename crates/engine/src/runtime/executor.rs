//! The graph runtime: runs a validated graph in dependency order, independent branches
//! concurrently (bounded), each node on a blocking thread with a timeout and cooperative
//! cancellation. A failed node skips everything downstream of it; other branches go on.

use super::budget::{check_render_budget, BudgetProblem, RenderBudget, PIXEL_BUDGET_EXCEEDED};
use super::codes;
use super::context::{ArtifactSink, Recorder};
use super::module::{ModuleError, ModuleRegistry};
use super::node_job::{NodeJob, Outcome};
use super::params::{resolve_overrides, NodeOverrides, OverrideProblem};
use super::plan::Plan;
use super::record::{now_ms, NodeError, NodeStatus, RunEvent, RunReport, RunStatus};
use super::value::PortValue;
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use workflow_contracts::{validate, Graph, Registry, ValidationError};

/// Scheduling limits of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Nodes running at once (at least 1).
    pub max_concurrency: usize,
    /// A node running longer is failed with `timeout`. A node's own integer `timeout`
    /// parameter (seconds, e.g. `cad.import`) takes precedence.
    pub node_timeout: Duration,
    /// What one render node may ask for; checked before a run starts.
    pub render_budget: RenderBudget,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            max_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            node_timeout: Duration::from_secs(30 * 60),
            render_budget: RenderBudget::default(),
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
    #[error("{}", .0.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; "))]
    PixelBudgetExceeded(Vec<BudgetProblem>),
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
            RuntimeError::PixelBudgetExceeded(_) => PIXEL_BUDGET_EXCEEDED,
        }
    }

    pub fn details(&self) -> Value {
        match self {
            RuntimeError::InvalidGraph(e) | RuntimeError::InvalidLegacySettings(e) => {
                json!({ "errors": e })
            }
            RuntimeError::InvalidOverrides(p) => json!({ "problems": p }),
            RuntimeError::NoLegacyPipeline(_) => Value::Null,
            RuntimeError::PixelBudgetExceeded(p) => json!({ "problems": p }),
        }
    }
}

#[cfg(test)]
thread_local! {
    /// Test-only fault: a scheduler that never starts a node, to show that the legacy
    /// pipeline (the fallback) does not depend on it.
    pub(crate) static BROKEN_SCHEDULER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs graphs and legacy pipelines with one [`ModuleRegistry`].
#[derive(Clone)]
pub struct Runtime {
    pub(crate) registry: Arc<Registry>,
    pub(crate) modules: Arc<ModuleRegistry>,
    pub(crate) artifacts: Arc<dyn ArtifactSink>,
    pub(crate) options: RunOptions,
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

    pub fn options(&self) -> &RunOptions {
        &self.options
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

    /// Validation, override resolution and the render budget, shared with preflight.
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
        if !problems.is_empty() {
            return Err(RuntimeError::InvalidOverrides(problems));
        }
        let over = check_render_budget(
            &request.graph,
            &self.registry,
            &overrides,
            &request.inputs,
            &self.options.render_budget,
        );
        if over.is_empty() {
            Ok(overrides)
        } else {
            Err(RuntimeError::PixelBudgetExceeded(over))
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
        let mut tasks: JoinSet<Outcome> = JoinSet::new();
        // Task id -> node, so even a task that dies (a runtime bug) fails its node.
        let mut task_nodes: HashMap<tokio::task::Id, usize> = HashMap::new();
        let mut cancel_seen = false;
        let limit = max_concurrency.max(1);
        #[cfg(test)]
        let limit = if BROKEN_SCHEDULER.with(std::cell::Cell::get) {
            0
        } else {
            limit
        };
        loop {
            while tasks.len() < limit && !cancel_seen {
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
                let handle = tasks.spawn(job.run());
                task_nodes.insert(handle.id(), idx);
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
                Some(joined) = tasks.join_next_with_id() => {
                    let (idx, outcome) = match joined {
                        Ok((id, outcome)) => (task_nodes.remove(&id), outcome),
                        Err(e) => (
                            task_nodes.remove(&e.id()),
                            Outcome::Failed(ModuleError::new(
                                codes::MODULE_PANICKED,
                                format!("the node's task ended abnormally: {e}"),
                            )),
                        ),
                    };
                    let Some(idx) = idx else { continue };
                    match outcome {
                        Outcome::Succeeded(outputs) => {
                            recorder.set_output_digests(idx, outputs.digests());
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
        // Judged by what happened to the nodes: a cancel that lands after the last node
        // finished does not turn a succeeded run into a cancelled one.
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
