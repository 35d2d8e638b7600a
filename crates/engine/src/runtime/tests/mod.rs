//! Scheduling tests with small test-only modules registered under the built-in module keys.

mod graph;
mod legacy;

use super::*;
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::unbounded_channel;
use tokio_util::sync::CancellationToken;
use workflow_contracts::output_type::{ArtifactKind, OutputTypeSpec, Rollout};
use workflow_contracts::{starter_graph, Family, Graph, Registry};

/// Produces every declared output as JSON, and records what it was asked to do.
struct Probe {
    registry: Registry,
    delay: Duration,
    fail: HashSet<String>,
    hang: HashSet<String>,
    panic: HashSet<String>,
    calls: Mutex<Vec<String>>,
    params: Mutex<Vec<(String, Map<String, Value>)>>,
    running: AtomicUsize,
    max_running: AtomicUsize,
}

impl Probe {
    fn new() -> Self {
        Probe {
            registry: Registry::builtin(),
            delay: Duration::ZERO,
            fail: HashSet::new(),
            hang: HashSet::new(),
            panic: HashSet::new(),
            calls: Mutex::default(),
            params: Mutex::default(),
            running: AtomicUsize::new(0),
            max_running: AtomicUsize::new(0),
        }
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("calls").clone()
    }

    fn params_of(&self, node: &str) -> Map<String, Value> {
        let params = self.params.lock().expect("params");
        params
            .iter()
            .find(|(n, _)| n == node)
            .map(|(_, p)| p.clone())
            .expect("node was called")
    }
}

impl Module for Probe {
    fn run(
        &self,
        ctx: &NodeContext,
        _inputs: &NodeInputs,
        params: &Map<String, Value>,
    ) -> Result<NodeOutputs, ModuleError> {
        let id = ctx.node_id().to_owned();
        self.calls.lock().expect("calls").push(id.clone());
        self.params
            .lock()
            .expect("params")
            .push((id.clone(), params.clone()));
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        ctx.log(format!("running {id}"));
        let result = (|| {
            if self.panic.contains(&id) {
                panic!("probe told to panic");
            }
            if self.hang.contains(&id) {
                while !ctx.is_cancelled() {
                    std::thread::sleep(Duration::from_millis(5));
                }
                return Err(ModuleError::cancelled());
            }
            std::thread::sleep(self.delay);
            if self.fail.contains(&id) {
                return Err(ModuleError::new(
                    "probe_failed",
                    format!("{id} told to fail"),
                ));
            }
            let def = self.registry.get(ctx.node_type()).expect("known type");
            for role in &def.artifact_roles_out {
                if !def.artifact_roles_in.contains(role) {
                    ctx.store_artifact(*role, "application/octet-stream", id.as_bytes())?;
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
        })();
        self.running.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

fn runtime_with(probe: &Arc<Probe>, options: RunOptions) -> (Runtime, Arc<MemoryArtifacts>) {
    let registry = Registry::builtin();
    let mut modules = ModuleRegistry::new();
    for def in &registry.nodes {
        modules.register_arc(&def.module_key, probe.clone());
    }
    let artifacts = Arc::new(MemoryArtifacts::default());
    let runtime = Runtime::new(Arc::new(registry), Arc::new(modules), artifacts.clone())
        .with_options(options);
    (runtime, artifacts)
}

fn fast() -> RunOptions {
    RunOptions {
        max_concurrency: 4,
        node_timeout: Duration::from_secs(10),
        ..RunOptions::default()
    }
}

fn request(family: Family, overrides: Value) -> RunRequest {
    RunRequest {
        run_id: "run-1".into(),
        graph: starter_graph(family, &Registry::builtin()),
        overrides: overrides.as_object().cloned().unwrap_or_default(),
        inputs: Map::new(),
    }
}

fn status(report: &RunReport, node: &str) -> NodeStatus {
    report.node(node).expect("node in report").status
}
