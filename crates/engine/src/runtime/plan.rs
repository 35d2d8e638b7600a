//! The graph resolved to indices once per run: definitions, upstream and downstream nodes,
//! input edges and the output ports some edge consumes.

use super::record::{now_ms, NodeRun, NodeStatus};
use super::value::{NodeInputs, PortValue};
use serde_json::Map;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use workflow_contracts::{Graph, GraphNode, NodeDefinition, Registry};

/// The graph resolved to indices: definitions, upstream/downstream nodes and input edges.
pub(crate) struct Plan {
    pub(crate) nodes: Vec<PlannedNode>,
}

pub(crate) struct PlannedNode {
    pub(crate) node: GraphNode,
    pub(crate) def: Arc<NodeDefinition>,
    pub(crate) upstream: Vec<usize>,
    pub(crate) downstream: Vec<usize>,
    /// `(from node, from port, to port)` of every edge into this node.
    pub(crate) in_edges: Vec<(usize, String, String)>,
    /// Output ports some edge consumes.
    pub(crate) consumed: Vec<String>,
}

impl Plan {
    /// `graph` passed validation, so every type and edge end resolves; anything that does
    /// not (a caller skipping validation) is left out rather than panicking.
    pub(crate) fn new(graph: &Graph, registry: &Registry) -> Self {
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

    pub(crate) fn records(&self) -> Vec<NodeRun> {
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
                output_digests: Default::default(),
                artifacts: Vec::new(),
                logs: Vec::new(),
                error: None,
            })
            .collect()
    }

    pub(crate) fn inputs_of(
        &self,
        idx: usize,
        values: &HashMap<(usize, String), PortValue>,
    ) -> NodeInputs {
        let mut inputs = NodeInputs::new();
        for (from, from_port, to_port) in &self.nodes[idx].in_edges {
            if let Some(v) = values.get(&(*from, from_port.clone())) {
                inputs.push(to_port, v.clone());
            }
        }
        inputs
    }
}
