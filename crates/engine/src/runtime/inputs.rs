//! Dispatch inputs: what a run's source nodes need from the caller. Today they are plain ids
//! in a JSON object; when products and order lines get endpoints, a resolver checks that the
//! ids exist and are ready (CAD processed, materials complete) and adds its problems here.

use serde::Serialize;
use serde_json::{Map, Value};
use workflow_contracts::Graph;

/// An input the run cannot do without.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputProblem {
    pub code: &'static str,
    /// The source node that needs it.
    pub node: String,
    /// The `inputs` key.
    pub key: String,
    pub message: String,
}

/// The `inputs` keys a source node type reads.
pub fn required_inputs(node_type: &str) -> &'static [&'static str] {
    match node_type {
        "order.source" => &["order_line_id", "product_id"],
        "cad.source" => &["product_id"],
        _ => &[],
    }
}

/// Every missing or malformed input of `graph`'s source nodes.
pub fn check_inputs(graph: &Graph, inputs: &Map<String, Value>) -> Vec<InputProblem> {
    let mut problems = Vec::new();
    for node in &graph.nodes {
        for key in required_inputs(&node.node_type) {
            let problem = |code, message| InputProblem {
                code,
                node: node.id.clone(),
                key: (*key).to_owned(),
                message,
            };
            match inputs.get(*key) {
                None | Some(Value::Null) => problems.push(problem(
                    "missing_input",
                    format!("node '{}' ({}) needs inputs.{key}", node.id, node.node_type),
                )),
                Some(Value::String(s)) if !s.trim().is_empty() => {}
                Some(other) => problems.push(problem(
                    "invalid_input",
                    format!("inputs.{key} must be a non-empty string id, got {other}"),
                )),
            }
        }
    }
    problems
}
