//! External tools a graph needs beyond the engine itself, checked at preflight: a node that
//! would run Blender (`export.scene` with `format = blend`, a render with `engine = cycles`)
//! on a server without it is reported before dispatch, naming the node and the fix.

use serde::Serialize;
use serde_json::Value;
use workflow_contracts::{Graph, Registry};

use super::params::{effective_params, NodeOverrides};

/// One node that cannot run here for want of a tool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolProblem {
    pub code: &'static str,
    pub node: String,
    /// The parameter whose value asks for the tool.
    pub param: &'static str,
    pub message: String,
}

/// Whether a node with these (effective) parameters runs Blender, and why (for the message).
fn needs_blender(
    node_type: &str,
    params: &serde_json::Map<String, Value>,
) -> Option<(&'static str, String)> {
    let is = |key: &str, value: &str| params.get(key).and_then(Value::as_str) == Some(value);
    if node_type == "export.scene" && is("format", "blend") {
        return Some(("format", "writes format blend".to_owned()));
    }
    if is("engine", "cycles") {
        return Some(("engine", "renders with engine cycles".to_owned()));
    }
    None
}

/// The nodes of `graph` (with `overrides` applied) that need Blender when
/// `blender_available` is false.
pub fn check_external_tools(
    graph: &Graph,
    registry: &Registry,
    overrides: &NodeOverrides,
    blender_available: bool,
) -> Vec<ToolProblem> {
    if blender_available {
        return Vec::new();
    }
    // The program's file name only: a configured path is the server's, not the caller's.
    let program = crate::tool::program_name(&crate::blender::blender_program());
    graph
        .nodes
        .iter()
        .filter_map(|node| {
            let def = registry.get(&node.node_type)?;
            let params = effective_params(def, node, overrides.get(&node.id)).ok()?;
            let (param, why) = needs_blender(&node.node_type, &params)?;
            Some(ToolProblem {
                code: "blender_unavailable",
                node: node.id.clone(),
                param,
                message: format!(
                    "node '{}' ({}) {why}, which needs Blender, and `{program}` is not installed on this server: {}",
                    node.id,
                    node.node_type,
                    crate::blender::INSTALL_HINT
                ),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use workflow_contracts::catalog::builtin_registry;
    use workflow_contracts::starter::node_with_defaults;
    use workflow_contracts::Family;

    #[test]
    fn a_blend_export_without_blender_names_the_node_and_the_fix() {
        let registry = builtin_registry();
        let mut graph = Graph::new(Family::OrderLine);
        let mut export = node_with_defaults("export", "export.scene", &registry);
        export.params.insert("format".into(), "blend".into());
        graph.nodes.push(export);
        let id = "export".to_owned();
        let overrides = NodeOverrides::default();
        let problems = check_external_tools(&graph, &registry, &overrides, false);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].code, "blender_unavailable");
        assert_eq!(problems[0].node, id);
        assert_eq!(problems[0].param, "format");
        assert!(
            problems[0].message.contains("apt-get install"),
            "{}",
            problems[0].message
        );
        // With Blender there, nothing; with glb, nothing either.
        assert!(check_external_tools(&graph, &registry, &overrides, true).is_empty());
        let mut glb = graph.clone();
        for n in &mut glb.nodes {
            n.params.remove("format");
        }
        assert!(check_external_tools(&glb, &registry, &overrides, false).is_empty());
    }

    #[test]
    fn a_cycles_render_without_blender_is_reported_also_through_an_override() {
        let registry = builtin_registry();
        let mut graph = Graph::new(Family::OrderLine);
        graph
            .nodes
            .push(node_with_defaults("render", "render.still", &registry));
        let none = NodeOverrides::default();
        assert!(check_external_tools(&graph, &registry, &none, false).is_empty());
        let mut overrides = NodeOverrides::default();
        overrides.insert(
            "render".into(),
            [("engine".to_owned(), serde_json::json!("cycles"))]
                .into_iter()
                .collect(),
        );
        let problems = check_external_tools(&graph, &registry, &overrides, false);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].param, "engine");
        assert!(problems[0]
            .message
            .contains("node 'render' (render.still) renders with engine cycles"));
    }
}
