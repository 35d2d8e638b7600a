//! The legacy pipeline: the fixed step sequence an output type without a graph runs. Each
//! step is executed by the module of the node whose `legacy_source` names the step, through
//! the same [`ModuleRegistry`](super::ModuleRegistry) and scheduler as a graph, one step at a
//! time, and recorded per legacy step (`order.render_still`, …).

use super::executor::{RunRequest, Runtime, RuntimeError};
use super::record::{RunEvent, RunReport};
use serde_json::{Map, Value};
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
        // A fixed sequence: one step at a time, in order.
        Ok(self.execute(request, overrides, 1, events, cancel).await)
    }
}
