//! `export.scene` `format = usd`: the scene GLB (resolved materials, part keys, shared
//! meshes, camera and lights) written as a binary USD stage (`.usdc`) by OpenUSD out of
//! process ([`crate::export_usd`]); and the preflight check that the USD Python is there.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use workflow_contracts::{Graph, Registry};

use crate::export_glb::ExportedFile;
use crate::export_usd::{check_usd_python, usd_python, write_usd, UsdLimits};
use crate::params::SceneExportParams;
use crate::pipeline::{scene_glb, ExportPipelineError, SceneValue};
use crate::runtime::params::{effective_params, NodeOverrides};
use crate::runtime::tools::ToolProblem;

/// Writes the scene as `<stem>.usdc`; `log` gets the writer's summary and stderr lines;
/// `cancel` stops the writer.
pub fn export_usd_scene(
    value: &SceneValue,
    params: &SceneExportParams,
    stem: &str,
    log: &mut Vec<String>,
    cancel: Option<&tokio_util::sync::CancellationToken>,
) -> Result<Vec<ExportedFile>, ExportPipelineError> {
    let (glb, _manifest) = scene_glb(value, params)?;
    let started = Instant::now();
    let limits = UsdLimits {
        cancel: cancel.cloned(),
        ..UsdLimits::default()
    };
    let written = write_usd(&glb, false, &usd_python(), limits)?;
    log.push(format!(
        "usd: wrote {} bytes in {} ms ({})",
        written.bytes.len(),
        started.elapsed().as_millis(),
        written.summary
    ));
    log.extend(log_lines(&written.stderr));
    Ok(vec![ExportedFile {
        name: format!("{stem}.usdc"),
        bytes: written.bytes,
    }])
}

/// The writer's stderr as log lines (bounded).
pub fn log_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(200)
        .map(|l| format!("usd: {l}"))
        .collect()
}

/// How long a preflight's answer about the USD Python is reused (importing pxr takes a few
/// hundred ms; a preflight per dispatch should not pay it every time).
const AVAILABLE_FOR: Duration = Duration::from_secs(60);

static CHECKED: Mutex<Option<(String, Instant, Option<String>)>> = Mutex::new(None);

/// Whether the configured USD Python can import pxr: `None` when it can, else the reason
/// (the `usd_unavailable` message). Cached for a minute per interpreter.
pub fn usd_unavailable_reason() -> Option<String> {
    let python = usd_python();
    if let Ok(guard) = CHECKED.lock() {
        if let Some((p, at, answer)) = guard.as_ref() {
            if *p == python && at.elapsed() < AVAILABLE_FOR {
                return answer.clone();
            }
        }
    }
    let answer = check_usd_python(&python).err().map(|e| e.to_string());
    if let Ok(mut guard) = CHECKED.lock() {
        *guard = Some((python, Instant::now(), answer.clone()));
    }
    answer
}

/// The nodes of `graph` (with `overrides` applied) that write USD; `reason` (asked only when
/// there is one) says why OpenUSD cannot run here, `None` when it can.
pub fn check_usd_tool(
    graph: &Graph,
    registry: &Registry,
    overrides: &NodeOverrides,
    reason: impl FnOnce() -> Option<String>,
) -> Vec<ToolProblem> {
    let nodes: Vec<(&str, &str)> = graph
        .nodes
        .iter()
        .filter_map(|node| {
            let def = registry.get(&node.node_type)?;
            let params = effective_params(def, node, overrides.get(&node.id)).ok()?;
            (node.node_type == "export.scene"
                && params.get("format").and_then(Value::as_str) == Some("usd"))
            .then_some((node.id.as_str(), node.node_type.as_str()))
        })
        .collect();
    if nodes.is_empty() {
        return Vec::new();
    }
    let Some(reason) = reason() else {
        return Vec::new();
    };
    nodes
        .into_iter()
        .map(|(id, node_type)| ToolProblem {
            code: "usd_unavailable",
            node: id.to_owned(),
            param: "format",
            message: format!("node '{id}' ({node_type}) writes format usd: {reason}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export_usd::USD_FIX;
    use workflow_contracts::catalog::builtin_registry;
    use workflow_contracts::starter::node_with_defaults;
    use workflow_contracts::Family;

    #[test]
    fn a_usd_export_without_pxr_names_the_node_and_the_fix() {
        let registry = builtin_registry();
        let mut graph = Graph::new(Family::OrderLine);
        let mut export = node_with_defaults("export", "export.scene", &registry);
        export.params.insert("format".into(), "usd".into());
        graph.nodes.push(export);
        let overrides = NodeOverrides::default();
        let missing = || Some(format!("OpenUSD is missing. Fix: {USD_FIX}"));
        let problems = check_usd_tool(&graph, &registry, &overrides, missing);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].code, "usd_unavailable");
        assert_eq!(problems[0].node, "export");
        assert_eq!(problems[0].param, "format");
        assert!(problems[0].message.contains("usd-python.sh"));
        // Available: nothing. Another format: nothing, and the Python is not even asked.
        assert!(check_usd_tool(&graph, &registry, &overrides, || None).is_empty());
        graph.nodes[0].params.insert("format".into(), "glb".into());
        let asked = std::cell::Cell::new(false);
        let problems = check_usd_tool(&graph, &registry, &overrides, || {
            asked.set(true);
            missing()
        });
        assert!(problems.is_empty() && !asked.get());
    }

    #[test]
    fn stderr_becomes_bounded_log_lines() {
        let lines = log_lines("Warning: a\n\n  b  \n");
        assert_eq!(lines, ["usd: Warning: a", "usd: b"]);
        assert_eq!(log_lines(&"x\n".repeat(1000)).len(), 200);
    }
}
