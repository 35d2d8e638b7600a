//! Layered left-to-right placement for nodes that have no position (used by starter graphs
//! and normalize). The editor's interactive auto-layout lives in the app.

use crate::graph::Graph;
use std::collections::HashMap;

pub const COLUMN_WIDTH: f32 = 260.0;
pub const ROW_HEIGHT: f32 = 160.0;

/// Longest-path layer of every node (sources at 0); nodes on cycles get the layer reached
/// before the cycle closed. Linear in nodes + edges.
pub fn layers(graph: &Graph) -> Vec<usize> {
    let index: HashMap<&str, usize> = graph
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let n = graph.nodes.len();
    let mut out_edges = vec![Vec::new(); n];
    let mut indegree = vec![0usize; n];
    for e in &graph.edges {
        if let (Some(&a), Some(&b)) = (
            index.get(e.from.node.as_str()),
            index.get(e.to.node.as_str()),
        ) {
            out_edges[a].push(b);
            indegree[b] += 1;
        }
    }
    let mut layer = vec![0usize; n];
    let mut queue: Vec<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
    while let Some(a) = queue.pop() {
        for &b in &out_edges[a] {
            layer[b] = layer[b].max(layer[a] + 1);
            indegree[b] -= 1;
            if indegree[b] == 0 {
                queue.push(b);
            }
        }
    }
    layer
}

/// Gives every node without a position one: column by layer, rows in order, placed below
/// the nodes that already have positions so nothing overlaps. Returns the ids it placed.
pub fn place_unpositioned(graph: &mut Graph) -> Vec<String> {
    if graph.nodes.iter().all(|n| n.position.is_some()) {
        return Vec::new();
    }
    let layer = layers(graph);
    let top = graph
        .nodes
        .iter()
        .filter_map(|n| n.position.map(|p| p[1] + ROW_HEIGHT))
        .fold(None, |acc: Option<f32>, y| {
            Some(acc.map_or(y, |a| a.max(y)))
        })
        .unwrap_or(0.0);
    let mut rows: HashMap<usize, usize> = HashMap::new();
    let mut placed = Vec::new();
    for (i, node) in graph.nodes.iter_mut().enumerate() {
        if node.position.is_some() {
            continue;
        }
        let row = rows.entry(layer[i]).or_insert(0);
        node.position = Some([
            layer[i] as f32 * COLUMN_WIDTH,
            top + *row as f32 * ROW_HEIGHT,
        ]);
        *row += 1;
        placed.push(node.id.clone());
    }
    placed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{Edge, GraphNode};
    use crate::Family;

    #[test]
    fn places_by_layer_without_overlap() {
        let mut g = Graph::new(Family::CadFile);
        for id in ["a", "b", "c", "d"] {
            g.nodes.push(GraphNode::new(id, "x"));
        }
        g.edges.push(Edge::new("a", "o", "b", "i"));
        g.edges.push(Edge::new("a", "o", "c", "i"));
        g.edges.push(Edge::new("b", "o", "d", "i"));
        g.edges.push(Edge::new("c", "o", "d", "i"));
        assert_eq!(layers(&g), vec![0, 1, 1, 2]);
        let placed = place_unpositioned(&mut g);
        assert_eq!(placed.len(), 4);
        let pos: Vec<[f32; 2]> = g.nodes.iter().filter_map(|n| n.position).collect();
        assert_eq!(pos[0], [0.0, 0.0]);
        assert_eq!(pos[1][0], COLUMN_WIDTH);
        assert_eq!(pos[2][0], COLUMN_WIDTH);
        assert_ne!(pos[1][1], pos[2][1]);
        assert_eq!(pos[3][0], 2.0 * COLUMN_WIDTH);
    }
}
