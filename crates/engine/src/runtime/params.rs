//! Effective parameters: defaults, then the node's own values, then invocation overrides.
//! Override keys are resolved the way `contracts::output_type` documents them: the target
//! before the last `.` is first a node id of the graph, then a node type (every node of it).

use super::codes;
use super::module::ModuleError;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use workflow_contracts::{Graph, GraphNode, NodeDefinition, Registry};

/// An override that cannot be applied; codes match `contracts::output_type::OutputTypeCode`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverrideProblem {
    pub code: &'static str,
    /// The override key at fault.
    pub key: String,
    pub message: String,
}

/// Overrides per node id, ready for [`effective_params`].
pub type NodeOverrides = HashMap<String, Map<String, Value>>;

/// Splits `overrides` per node of `graph`. Type-keyed values go in first and id-keyed ones
/// after, so an override for one node id wins over one for its whole type.
pub fn resolve_overrides(
    graph: &Graph,
    registry: &Registry,
    overrides: &Map<String, Value>,
) -> (NodeOverrides, Vec<OverrideProblem>) {
    let mut by_type: Vec<(&GraphNode, &str, &Value)> = Vec::new();
    let mut by_id: Vec<(&GraphNode, &str, &Value)> = Vec::new();
    let mut problems = Vec::new();
    for (key, value) in overrides {
        let problem = |code, message: String| OverrideProblem {
            code,
            key: key.clone(),
            message,
        };
        let Some((target, param)) = key
            .rsplit_once('.')
            .filter(|(t, p)| !t.is_empty() && !p.is_empty())
        else {
            problems.push(problem(
                "invalid_override_key",
                format!("override key '{key}' must be '<node id or node type>.<param>'"),
            ));
            continue;
        };
        let targets: Vec<&GraphNode> = match graph.node(target) {
            Some(node) => vec![node],
            None => graph
                .nodes
                .iter()
                .filter(|n| n.node_type == target)
                .collect(),
        };
        if targets.is_empty() {
            problems.push(problem(
                "unknown_override_node",
                format!(
                    "override target '{target}' is neither a node id nor a node type in the graph"
                ),
            ));
            continue;
        }
        let mut known = true;
        for node in &targets {
            let has_param = registry
                .get(&node.node_type)
                .is_some_and(|d| d.param(param).is_some());
            if !has_param {
                problems.push(problem(
                    "unknown_override_param",
                    format!(
                        "override '{key}': node '{}' ({}) has no parameter '{param}'",
                        node.id, node.node_type
                    ),
                ));
                known = false;
                break;
            }
        }
        if !known {
            continue;
        }
        let bucket = if graph.node(target).is_some() {
            &mut by_id
        } else {
            &mut by_type
        };
        bucket.extend(targets.into_iter().map(|n| (n, param, value)));
    }
    let mut per_node = NodeOverrides::new();
    for (node, param, value) in by_type.into_iter().chain(by_id) {
        per_node
            .entry(node.id.clone())
            .or_default()
            .insert(param.to_owned(), value.clone());
    }
    (per_node, problems)
}

/// The parameters a module is called with, each checked against its schema. Every invalid
/// value is reported at once in one `invalid_param` error.
pub fn effective_params(
    def: &NodeDefinition,
    node: &GraphNode,
    overrides: Option<&Map<String, Value>>,
) -> Result<Map<String, Value>, ModuleError> {
    let mut params: Map<String, Value> = def
        .params
        .iter()
        .map(|p| (p.name.clone(), p.default.clone()))
        .collect();
    for (name, value) in &node.params {
        if !value.is_null() {
            params.insert(name.clone(), value.clone());
        }
    }
    for (name, value) in overrides.into_iter().flatten() {
        params.insert(name.clone(), value.clone());
    }
    let problems: Vec<Value> = def
        .params
        .iter()
        .filter_map(|spec| {
            let value = params.get(&spec.name)?;
            if value.is_null() && !spec.required {
                return None;
            }
            spec.check(value).map(|p| {
                json!({"param": spec.name, "message": p.message, "expected": p.expected, "got": p.got})
            })
        })
        .collect();
    if problems.is_empty() {
        Ok(params)
    } else {
        let text: Vec<&str> = problems
            .iter()
            .filter_map(|p| p["message"].as_str())
            .collect();
        Err(ModuleError::new(
            codes::INVALID_PARAM,
            format!(
                "node '{}' ({}): {}",
                node.id,
                node.node_type,
                text.join("; ")
            ),
        )
        .with_details(json!({ "problems": problems })))
    }
}
