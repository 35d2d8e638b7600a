//! Large synthetic graphs for benchmarks and scale tests: copies of the order_line starter
//! side by side, so every node is valid, wired and reaches a sink.

use crate::family::Family;
use crate::graph::Graph;
use crate::registry::Registry;
use crate::starter::starter_graph;

/// A valid order_line graph with at least `nodes` nodes.
pub fn replicated_starter(nodes: usize, registry: &Registry) -> Graph {
    let starter = starter_graph(Family::OrderLine, registry);
    let copies = nodes.div_ceil(starter.nodes.len().max(1));
    let mut graph = Graph::new(Family::OrderLine);
    graph.nodes.reserve(copies * starter.nodes.len());
    graph.edges.reserve(copies * starter.edges.len());
    for c in 0..copies {
        for node in &starter.nodes {
            let mut n = node.clone();
            n.id = format!("{}_{c}", node.id);
            if let Some([x, y]) = n.position {
                n.position = Some([x, y + c as f32 * 200.0]);
            }
            graph.nodes.push(n);
        }
        for edge in &starter.edges {
            let mut e = edge.clone();
            e.from.node = format!("{}_{c}", edge.from.node);
            e.to.node = format!("{}_{c}", edge.to.node);
            graph.edges.push(e);
        }
    }
    graph
}
