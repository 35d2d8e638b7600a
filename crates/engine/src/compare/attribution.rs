//! Attribution: which node of the graph run first differs from its legacy counterpart.
//!
//! Every graph node whose definition has a `legacy_source` mirrors that legacy step (the
//! legacy run records one node run per step, with the step as its id). Nodes are visited in
//! dependency order (ties in graph order) and compared with their counterpart by:
//! 1. status (one succeeded, the other did not) and, for two failures, the error code;
//! 2. the content digests of the outputs (`NodeRun::output_digests`, per port both record);
//!    ports without digests on both sides (records made before digests existed) fall back
//!    to the output summaries, which are coarser;
//! 3. the artifact roles each published.
//!
//! The first node that differs is named: everything upstream of it produced the same
//! values, so the difference starts in that node (its module, its parameters, or its
//! contract). Graph nodes without a legacy counterpart upstream of it are listed as
//! suspects too, since they could not be checked.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use workflow_contracts::{Graph, Registry};

use crate::runtime::{NodeRun, NodeStatus, RunReport};

/// How one graph node compares with its legacy counterpart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeParityState {
    Same,
    Differs,
    /// The node's definition mirrors no legacy step (or the legacy run lacks that step).
    NoCounterpart,
    /// The node is not in the graph run's record.
    NotRun,
}

/// One graph node's comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeParity {
    pub node_id: String,
    pub node_type: String,
    pub legacy_step: Option<String>,
    pub state: NodeParityState,
    /// `status`, `error`, `output`, `artifacts` when it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// The output ports that differ.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<String>,
    pub detail: String,
}

/// The node a regression is attributed to, with the comparison of every node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    /// The first differing graph node in dependency order, if any.
    pub node_id: Option<String>,
    pub node_type: Option<String>,
    pub legacy_step: Option<String>,
    pub cause: Option<String>,
    pub message: String,
    /// Graph nodes upstream of `node_id` that have no legacy counterpart (unchecked).
    pub unmirrored_upstream: Vec<String>,
    /// Every graph node, in dependency order.
    pub nodes: Vec<NodeParity>,
}

/// Graph node indices in dependency order (ties and anything in a cycle in graph order).
fn dependency_order(graph: &Graph) -> Vec<usize> {
    let index: HashMap<&str, usize> = graph
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let n = graph.nodes.len();
    let mut downstream: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut indegree = vec![0usize; n];
    let mut seen = HashSet::new();
    for e in &graph.edges {
        let (Some(&from), Some(&to)) = (
            index.get(e.from.node.as_str()),
            index.get(e.to.node.as_str()),
        ) else {
            continue;
        };
        if from != to && seen.insert((from, to)) {
            downstream[from].push(to);
            indegree[to] += 1;
        }
    }
    let mut ready: BTreeSet<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &d in &downstream[i] {
            indegree[d] -= 1;
            if indegree[d] == 0 {
                ready.insert(d);
            }
        }
    }
    let placed: HashSet<usize> = order.iter().copied().collect();
    order.extend((0..n).filter(|i| !placed.contains(i)));
    order
}

/// Graph node ids upstream of `node` (transitively).
fn upstream_of(graph: &Graph, node: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    let mut stack = vec![node.to_owned()];
    while let Some(n) = stack.pop() {
        for e in graph.edges.iter().filter(|e| e.to.node == n) {
            if out.insert(e.from.node.clone()) {
                stack.push(e.from.node.clone());
            }
        }
    }
    out
}

fn roles(n: &NodeRun) -> Vec<String> {
    let mut r: Vec<String> = n.artifacts.iter().map(|a| a.role.to_string()).collect();
    r.sort();
    r
}

/// Compares one node run with its counterpart: `(cause, differing ports, detail)`.
fn compare_node(graph: &NodeRun, legacy: &NodeRun) -> Option<(String, Vec<String>, String)> {
    let ok = |s: NodeStatus| s == NodeStatus::Succeeded;
    if ok(graph.status) != ok(legacy.status) {
        let why = |n: &NodeRun| {
            n.error
                .as_ref()
                .map(|e| format!(" ({}: {})", e.code, e.message))
                .unwrap_or_default()
        };
        return Some((
            "status".into(),
            Vec::new(),
            format!(
                "{} in the graph run{}, {} in the legacy run{}",
                graph.status.as_str(),
                why(graph),
                legacy.status.as_str(),
                why(legacy)
            ),
        ));
    }
    if !ok(graph.status) {
        let code = |n: &NodeRun| n.error.as_ref().map(|e| e.code.clone());
        if graph.status == NodeStatus::Failed
            && legacy.status == NodeStatus::Failed
            && code(graph) != code(legacy)
        {
            return Some((
                "error".into(),
                Vec::new(),
                format!(
                    "failed with {} in the graph run, {} in the legacy run",
                    code(graph).unwrap_or_default(),
                    code(legacy).unwrap_or_default()
                ),
            ));
        }
        return None;
    }
    let mut ports = Vec::new();
    let mut summary_only = Vec::new();
    for (port, summary) in &graph.outputs {
        let Some(legacy_summary) = legacy.outputs.get(port) else {
            continue;
        };
        match (
            graph.output_digests.get(port),
            legacy.output_digests.get(port),
        ) {
            (Some(a), Some(b)) => {
                if a != b {
                    ports.push(port.clone());
                }
            }
            _ => {
                if summary != legacy_summary {
                    ports.push(port.clone());
                    summary_only.push(port.clone());
                }
            }
        }
    }
    if !ports.is_empty() {
        let basis = if summary_only.is_empty() {
            "content digest"
        } else {
            "output summary (no digests recorded)"
        };
        return Some((
            "output".into(),
            ports.clone(),
            format!("output {} differs ({basis})", ports.join(", ")),
        ));
    }
    let (a, b) = (roles(graph), roles(legacy));
    if a != b {
        return Some((
            "artifacts".into(),
            Vec::new(),
            format!(
                "published [{}] in the graph run, [{}] in the legacy run",
                a.join(", "),
                b.join(", ")
            ),
        ));
    }
    None
}

/// Names the first node of `graph` (the graph run `graph_run`) whose outcome differs from
/// its legacy counterpart in `legacy_run`. See the module documentation for the rule.
pub fn attribute(
    graph: &Graph,
    registry: &Registry,
    graph_run: &RunReport,
    legacy_run: &RunReport,
) -> Attribution {
    let mut nodes = Vec::new();
    for i in dependency_order(graph) {
        let node = &graph.nodes[i];
        let step = registry
            .get(&node.node_type)
            .and_then(|d| d.legacy_source.clone());
        let mut parity = NodeParity {
            node_id: node.id.clone(),
            node_type: node.node_type.clone(),
            legacy_step: step.clone(),
            state: NodeParityState::Same,
            cause: None,
            ports: Vec::new(),
            detail: String::new(),
        };
        let counterpart = step.as_deref().and_then(|s| legacy_run.node(s));
        match (graph_run.node(&node.id), counterpart) {
            (None, _) => {
                parity.state = NodeParityState::NotRun;
                parity.detail = "not in the graph run's record".into();
            }
            (_, None) => {
                parity.state = NodeParityState::NoCounterpart;
                parity.detail = match &step {
                    Some(s) => format!("the legacy run has no step '{s}'"),
                    None => "mirrors no legacy step".into(),
                };
            }
            (Some(g), Some(l)) => match compare_node(g, l) {
                Some((cause, ports, detail)) => {
                    parity.state = NodeParityState::Differs;
                    parity.cause = Some(cause);
                    parity.ports = ports;
                    parity.detail = detail;
                }
                None => parity.detail = "same outcome and outputs".into(),
            },
        }
        nodes.push(parity);
    }
    let first = nodes
        .iter()
        .find(|n| n.state == NodeParityState::Differs)
        .cloned();
    match first {
        Some(f) => {
            let upstream = upstream_of(graph, &f.node_id);
            let unmirrored: Vec<String> = nodes
                .iter()
                .filter(|n| n.state == NodeParityState::NoCounterpart && upstream.contains(&n.node_id))
                .map(|n| n.node_id.clone())
                .collect();
            let mut message = format!(
                "first difference at node '{}' ({}, legacy step {}): {}",
                f.node_id,
                f.node_type,
                f.legacy_step.as_deref().unwrap_or("none"),
                f.detail
            );
            if !unmirrored.is_empty() {
                message.push_str(&format!(
                    "; upstream nodes without a legacy counterpart (unchecked): {}",
                    unmirrored.join(", ")
                ));
            }
            Attribution {
                node_id: Some(f.node_id),
                node_type: Some(f.node_type),
                legacy_step: f.legacy_step,
                cause: f.cause,
                message,
                unmirrored_upstream: unmirrored,
                nodes,
            }
        }
        None => Attribution {
            node_id: None,
            node_type: None,
            legacy_step: None,
            cause: None,
            message: "every graph node with a legacy counterpart matched it; a difference comes from nodes without one, or from outside the recorded outputs".into(),
            unmirrored_upstream: Vec::new(),
            nodes,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{NodeError, RunStatus};
    use serde_json::{json, Map};
    use std::collections::BTreeMap;
    use workflow_contracts::{Edge, Family, GraphNode};

    fn run(id: &str, nodes: Vec<NodeRun>) -> RunReport {
        RunReport {
            run_id: id.into(),
            status: RunStatus::Succeeded,
            started_at: 0,
            finished_at: 1,
            nodes,
        }
    }

    fn node(id: &str, ty: &str, port: &str, digest: &str) -> NodeRun {
        NodeRun {
            node_id: id.into(),
            node_type: ty.into(),
            module_key: ty.into(),
            status: NodeStatus::Succeeded,
            queued_at: 0,
            started_at: Some(0),
            finished_at: Some(1),
            params: Map::new(),
            outputs: BTreeMap::from([(port.to_owned(), json!({"type": "scene"}))]),
            output_digests: BTreeMap::from([(port.to_owned(), digest.to_owned())]),
            artifacts: Vec::new(),
            logs: Vec::new(),
            error: None,
        }
    }

    /// order.source → order.load_product_scene → scene.camera → render.still, listed out of
    /// dependency order on purpose.
    fn graph() -> Graph {
        let mut g = Graph::new(Family::OrderLine);
        g.nodes.push(GraphNode::new("still", "render.still"));
        g.nodes.push(GraphNode::new("camera", "scene.camera"));
        g.nodes
            .push(GraphNode::new("load", "order.load_product_scene"));
        g.nodes.push(GraphNode::new("source", "order.source"));
        g.edges
            .push(Edge::new("source", "order_line", "load", "order_line"));
        g.edges.push(Edge::new("load", "scene", "camera", "scene"));
        g.edges.push(Edge::new("camera", "scene", "still", "scene"));
        g
    }

    fn step(registry: &Registry, ty: &str) -> String {
        registry
            .get(ty)
            .and_then(|d| d.legacy_source.clone())
            .expect("catalog node mirrors a legacy step")
    }

    fn legacy(registry: &Registry, digests: [&str; 4]) -> RunReport {
        let types = [
            "order.source",
            "order.load_product_scene",
            "scene.camera",
            "render.still",
        ];
        let ports = ["order_line", "scene", "scene", "image"];
        run(
            "legacy",
            (0..4)
                .map(|i| node(&step(registry, types[i]), types[i], ports[i], digests[i]))
                .collect(),
        )
    }

    fn graph_run(digests: [&str; 4]) -> RunReport {
        run(
            "graph",
            vec![
                node("still", "render.still", "image", digests[3]),
                node("camera", "scene.camera", "scene", digests[2]),
                node("load", "order.load_product_scene", "scene", digests[1]),
                node("source", "order.source", "order_line", digests[0]),
            ],
        )
    }

    #[test]
    fn names_the_first_differing_node_in_dependency_order() {
        let registry = Registry::builtin();
        let a = attribute(
            &graph(),
            &registry,
            &graph_run(["s", "l", "CAM2", "IMG2"]),
            &legacy(&registry, ["s", "l", "cam", "img"]),
        );
        assert_eq!(a.node_id.as_deref(), Some("camera"), "{}", a.message);
        assert_eq!(a.cause.as_deref(), Some("output"));
        assert_eq!(a.legacy_step, Some(step(&registry, "scene.camera")));
        let order: Vec<&str> = a.nodes.iter().map(|n| n.node_id.as_str()).collect();
        assert_eq!(order, vec!["source", "load", "camera", "still"]);
        assert_eq!(a.nodes[3].state, NodeParityState::Differs);
        assert!(a.message.contains("camera"));
    }

    #[test]
    fn all_same_names_nobody_and_a_failure_is_a_status_difference() {
        let registry = Registry::builtin();
        let same = attribute(
            &graph(),
            &registry,
            &graph_run(["s", "l", "c", "i"]),
            &legacy(&registry, ["s", "l", "c", "i"]),
        );
        assert_eq!(same.node_id, None);
        assert!(same.nodes.iter().all(|n| n.state == NodeParityState::Same));
        let mut failing = graph_run(["s", "l", "c", "i"]);
        if let Some(n) = failing.nodes.iter_mut().find(|n| n.node_id == "load") {
            n.status = NodeStatus::Failed;
            n.error = Some(NodeError {
                code: "product_unavailable".into(),
                message: "no product".into(),
                details: serde_json::Value::Null,
                root_cause_node: None,
            });
        }
        let a = attribute(
            &graph(),
            &registry,
            &failing,
            &legacy(&registry, ["s", "l", "c", "i"]),
        );
        assert_eq!(a.node_id.as_deref(), Some("load"));
        assert_eq!(a.cause.as_deref(), Some("status"));
        assert!(a.message.contains("product_unavailable"));
    }

    #[test]
    fn summaries_are_the_fallback_without_digests() {
        let registry = Registry::builtin();
        let mut g = graph_run(["s", "l", "c", "i"]);
        let mut l = legacy(&registry, ["s", "l", "c", "i"]);
        for n in g.nodes.iter_mut().chain(l.nodes.iter_mut()) {
            n.output_digests.clear();
        }
        if let Some(n) = g.nodes.iter_mut().find(|n| n.node_id == "still") {
            n.outputs.insert("image".into(), json!({"width": 64}));
        }
        let a = attribute(&graph(), &registry, &g, &l);
        assert_eq!(a.node_id.as_deref(), Some("still"));
        assert!(a.message.contains("summary"), "{}", a.message);
    }
}
