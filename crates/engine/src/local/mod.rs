//! Local runs: one graph run without a server or database, as `workflow-server run` does it.
//!
//! The graph runs on the same [`Runtime`] and the same production modules
//! ([`production_modules`]) as on the server. The one product is a [`LocalProduct`]: the CAD
//! file where it lies, processing results in a temporary directory, the material map from a
//! file. A `cad_file` graph processes that CAD file. An `order_line` graph renders an order
//! line of the product, so the CAD file is first processed into the product the way an upload
//! is (the `cad_file` starter graph, without its thumbnail) so that
//! `order.load_product_scene` finds its preview GLB.
//!
//! Every artifact the run stores is written into the output directory as
//! `<node id>.<role>.<ext>` the moment the node stores it, then the run record `run.json`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), workflow_engine::local::LocalError> {
//! use std::sync::Arc;
//! use workflow_engine::local::{prepare, run, LocalRunArgs};
//! let registry = Arc::new(workflow_contracts::Registry::builtin());
//! let args = LocalRunArgs {
//!     graph: "still.json".into(),
//!     cad: "truck.glb".into(),
//!     materials: None,
//!     sets: vec!["render.width=256".into()],
//!     out: "out".into(),
//! };
//! let input = prepare(&args, &registry)?;
//! let outcome = run(input, registry, Default::default()).await?;
//! println!("{:?} → {}", outcome.report.status, outcome.record_file.display());
//! # Ok(()) }
//! ```

mod error;
mod inputs;
mod output;
mod product;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;
use workflow_contracts::{starter_graph, Family, Graph, Registry, ValidationError};

pub use error::LocalError;
pub use inputs::{
    check_cad_file, parse_sets, read_graph, read_material_map, INVALID_OVERRIDE_VALUE, INVALID_SET,
};
pub use output::{extension_for, DirArtifacts, RECORD_FILE};
pub use product::LocalProduct;

use crate::materials::{default_library, MaterialMap};
use crate::modules::{production_modules, ProductionContext};
use crate::runtime::{
    now_ms, ModuleRegistry, NodeStatus, RunReport, RunRequest, RunStatus, Runtime,
};
use error::shown;
use output::{artifact_records, failure, node_records, with_status, write_atomic, Discard};

/// The order-line id an order-line run is given (the order line is implied).
pub const ORDER_LINE_ID: &str = "cli";

/// What `workflow-server run` is given, as given.
#[derive(Debug, Clone)]
pub struct LocalRunArgs {
    /// Graph file; `-` reads standard input.
    pub graph: PathBuf,
    /// The CAD file (`.glb`, `.gltf`, `.step`, `.stp`).
    pub cad: PathBuf,
    /// A material map file (the body of `PUT /api/products/{id}/material-map`).
    pub materials: Option<PathBuf>,
    /// `NODE.PARAM=VALUE` overrides.
    pub sets: Vec<String>,
    /// Output directory (created if missing).
    pub out: PathBuf,
}

/// A run that passed every check in [`prepare`].
#[derive(Debug, Clone)]
pub struct LocalRunInput {
    pub args: LocalRunArgs,
    pub graph: Graph,
    pub family: Family,
    /// Warning-severity validation problems (the run goes ahead; `run.json` lists them).
    pub warnings: Vec<ValidationError>,
    pub material_map: MaterialMap,
    pub overrides: Map<String, Value>,
}

/// The outcome of a local run that ran.
#[derive(Debug, Clone)]
pub struct LocalOutcome {
    pub report: RunReport,
    /// The run record, as written to [`LocalOutcome::record_file`].
    pub record: Value,
    pub record_file: PathBuf,
}

/// Reads and checks everything before anything runs: the graph (JSON, then validation), the
/// CAD file, the material map, the `--set` values against the graph's parameter schemas, and
/// the output directory (created if missing).
pub fn prepare(args: &LocalRunArgs, registry: &Registry) -> Result<LocalRunInput, LocalError> {
    let (graph, warnings) = read_graph(&args.graph, registry)?;
    let Some(family) = graph.family else {
        // Validation reports a missing family; an invalid graph never gets here.
        return Err(LocalError::InvalidGraph {
            path: shown(&args.graph),
            errors: Vec::new(),
        });
    };
    check_cad_file(&args.cad)?;
    let material_map = match &args.materials {
        Some(path) => read_material_map(path, &default_library())?,
        None => MaterialMap::default(),
    };
    let overrides = parse_sets(&graph, registry, &args.sets)?;
    std::fs::create_dir_all(&args.out).map_err(|e| LocalError::Output {
        path: shown(&args.out),
        message: e.to_string(),
    })?;
    Ok(LocalRunInput {
        args: args.clone(),
        graph,
        family,
        warnings,
        material_map,
        overrides,
    })
}

/// The graph that turns the CAD file into the product an order-line run renders: the
/// `cad_file` starter graph without its thumbnail render (the run needs the preview GLB, not
/// a thumbnail).
pub fn processing_graph(registry: &Registry) -> Graph {
    let mut graph = starter_graph(Family::CadFile, registry);
    let dropped: Vec<String> = graph
        .nodes
        .iter()
        .filter(|n| n.node_type == "render.thumbnail")
        .map(|n| n.id.clone())
        .collect();
    graph.nodes.retain(|n| !dropped.contains(&n.id));
    graph
        .edges
        .retain(|e| !dropped.contains(&e.from.node) && !dropped.contains(&e.to.node));
    graph
}

/// Runs a prepared local run: processes the product first for an order-line graph, runs the
/// graph, writes `run.json`. A failed or cancelled graph run is an outcome (its record says
/// so); an error means the graph never ran, or its record could not be written.
pub async fn run(
    input: LocalRunInput,
    registry: Arc<Registry>,
    cancel: CancellationToken,
) -> Result<LocalOutcome, LocalError> {
    let args = &input.args;
    let product_dir = tempfile::Builder::new()
        .prefix("workflow-run-")
        .tempdir()
        .map_err(|e| LocalError::Output {
            path: std::env::temp_dir().display().to_string(),
            message: format!("cannot create the product's temporary directory: {e}"),
        })?;
    let product_id = LocalProduct::id_for(&args.cad);
    let product = Arc::new(LocalProduct::new(
        &product_id,
        &args.cad,
        product_dir.path(),
        input.material_map.clone(),
    ));
    let ctx = ProductionContext::new(product);
    // Start the headless renderer (seconds, on llvmpipe) while the CAD file is imported; the
    // first render node waits for it. A failed start is retried by that node, which reports it.
    let warm_up = needs_renderer(&input.graph, &registry).then(|| {
        let renderer = ctx.renderer.clone();
        tokio::task::spawn_blocking(move || {
            let _ = renderer.get();
        })
    });
    let modules = Arc::new(production_modules(ctx));
    let ran = run_graph(&input, &registry, modules, &product_id, cancel).await;
    if let Some(warm_up) = warm_up {
        // A run that ended before its first render: let the renderer finish starting, so the
        // process never exits while a thread is inside the EGL/driver start-up (that crashes).
        let _ = warm_up.await;
    }
    let (report, inputs, processing) = ran?;
    let record = run_record(&input, &report, &inputs, processing);
    let record_file = args.out.join(RECORD_FILE);
    let bytes = serde_json::to_vec_pretty(&record).map_err(|e| LocalError::Record {
        path: shown(&record_file),
        message: e.to_string(),
    })?;
    write_atomic(&record_file, &bytes).map_err(|e| LocalError::Record {
        path: shown(&record_file),
        message: e.to_string(),
    })?;
    Ok(LocalOutcome {
        report,
        record,
        record_file,
    })
}

/// Processes the product (order-line graphs) and runs the graph, artifacts into the output
/// directory. Returns the report, the run inputs and the processing summary.
async fn run_graph(
    input: &LocalRunInput,
    registry: &Arc<Registry>,
    modules: Arc<ModuleRegistry>,
    product_id: &str,
    cancel: CancellationToken,
) -> Result<(RunReport, Map<String, Value>, Option<Value>), LocalError> {
    let mut inputs = Map::new();
    inputs.insert("product_id".into(), json!(product_id));
    let processing = match input.family {
        Family::OrderLine => {
            inputs.insert("order_line_id".into(), json!(ORDER_LINE_ID));
            let cad = &input.args.cad;
            Some(process(registry, &modules, product_id, cad, cancel.clone()).await?)
        }
        Family::CadFile => None,
    };
    let runtime = Runtime::new(
        registry.clone(),
        modules,
        Arc::new(DirArtifacts::new(&input.args.out)),
    );
    let request = RunRequest {
        run_id: format!("cli-{}", now_ms()),
        graph: input.graph.clone(),
        overrides: input.overrides.clone(),
        inputs: inputs.clone(),
    };
    let report = runtime.run_graph(request, None, cancel).await?;
    Ok((report, inputs, processing))
}

/// Whether any node of `graph` renders.
fn needs_renderer(graph: &Graph, registry: &Registry) -> bool {
    graph.nodes.iter().any(|n| {
        registry
            .get(&n.node_type)
            .is_some_and(|d| d.module_key.starts_with("render."))
    })
}

/// Processes the CAD file into the product (the [`processing_graph`], artifacts discarded);
/// the summary goes into the run record. Shared with the golden-case parity suite.
pub async fn process(
    registry: &Arc<Registry>,
    modules: &Arc<ModuleRegistry>,
    product_id: &str,
    cad: &Path,
    cancel: CancellationToken,
) -> Result<Value, LocalError> {
    let runtime = Runtime::new(registry.clone(), modules.clone(), Arc::new(Discard));
    let mut inputs = Map::new();
    inputs.insert("product_id".into(), json!(product_id));
    let request = RunRequest {
        run_id: format!("cli-processing-{}", now_ms()),
        graph: processing_graph(registry),
        overrides: Map::new(),
        inputs,
    };
    let report = runtime.run_graph(request, None, cancel).await?;
    match report.status {
        RunStatus::Succeeded => Ok(json!({
            "graph": "cad_file starter graph without its thumbnail",
            "status": report.status,
            "started_at": report.started_at,
            "finished_at": report.finished_at,
            "duration_ms": report.finished_at.saturating_sub(report.started_at),
            "nodes": node_records(&report, false),
        })),
        RunStatus::Cancelled => Err(LocalError::Cancelled),
        _ => {
            let failed = report.nodes.iter().find(|n| n.status == NodeStatus::Failed);
            Err(LocalError::CadProcessing {
                path: shown(cad),
                node: failed.map(|n| n.node_id.clone()).unwrap_or_default(),
                error: Box::new(failed.and_then(|n| n.error.clone()).unwrap_or_else(|| {
                    crate::runtime::NodeError {
                        code: "processing_failed".into(),
                        message: format!("the processing run ended {:?}", report.status),
                        details: Value::Null,
                        root_cause_node: None,
                    }
                })),
            })
        }
    }
}

/// `run.json`: the run with its inputs, every node (status, queued/started/finished times,
/// duration, effective parameters, outputs summary, artifacts with paths, logs, error), the
/// failing node and what it skipped, and the artifact list.
fn run_record(
    input: &LocalRunInput,
    report: &RunReport,
    inputs: &Map<String, Value>,
    processing: Option<Value>,
) -> Value {
    let args = &input.args;
    json!({
        "run_id": report.run_id,
        "mode": "graph",
        "trigger": "cli",
        "family": input.family,
        "status": report.status,
        "started_at": report.started_at,
        "finished_at": report.finished_at,
        "duration_ms": report.finished_at.saturating_sub(report.started_at),
        "inputs": {
            "graph": shown(&args.graph),
            "cad_file": shown(&args.cad),
            "materials": args.materials.as_deref().map(shown),
            "overrides": input.overrides,
            "run_inputs": inputs,
        },
        "processing": processing,
        "warnings": input.warnings,
        "error": failure(report),
        "skipped": with_status(report, NodeStatus::Skipped),
        "nodes": node_records(report, true),
        "artifacts": artifact_records(report),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_processing_graph_is_valid_and_renders_nothing() {
        let registry = Registry::builtin();
        let graph = processing_graph(&registry);
        let report = workflow_contracts::validate(&graph, &registry);
        assert!(report.valid, "{:#?}", report.errors);
        assert!(!needs_renderer(&graph, &registry));
        assert!(graph.nodes.iter().any(|n| n.node_type == "cad.publish"));
        assert!(needs_renderer(
            &starter_graph(Family::OrderLine, &registry),
            &registry
        ));
    }
}
