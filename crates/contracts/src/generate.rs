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

/// `units` copies of a 10-node, 15-edge order_line unit that renders a still, a second still,
/// a turntable and a scene export, publishing all four with the material report. 100 units
/// give the 1,000-node / 1,500-edge graph of the editor benchmarks. Nodes have no positions.
pub fn publishing_units(units: usize, registry: &Registry) -> Graph {
    use crate::graph::Edge;
    use crate::starter::node_with_defaults;
    const NODES: [(&str, &str); 10] = [
        ("order", "order.source"),
        ("load", "order.load_product_scene"),
        ("materials", "material.resolve"),
        ("camera", "scene.camera"),
        ("lighting", "scene.lighting"),
        ("still", "render.still"),
        ("still_alt", "render.still"),
        ("turntable", "render.turntable"),
        ("export", "export.scene"),
        ("publish", "output.publish"),
    ];
    const EDGES: [(&str, &str, &str, &str); 14] = [
        ("order", "order_line", "load", "order_line"),
        ("load", "scene", "materials", "scene"),
        ("load", "manifest", "materials", "manifest"),
        ("materials", "scene", "camera", "scene"),
        ("camera", "scene", "lighting", "scene"),
        ("lighting", "scene", "still", "scene"),
        ("lighting", "scene", "still_alt", "scene"),
        ("lighting", "scene", "turntable", "scene"),
        ("lighting", "scene", "export", "scene"),
        ("still", "image", "publish", "image"),
        ("still_alt", "image", "publish", "image"),
        ("turntable", "frames", "publish", "frames"),
        ("export", "scene_file", "publish", "scene_file"),
        ("materials", "report", "publish", "report"),
    ];
    let mut graph = Graph::new(Family::OrderLine);
    for u in 0..units {
        for (id, node_type) in NODES {
            graph.nodes.push(node_with_defaults(
                &format!("{id}_{u}"),
                node_type,
                registry,
            ));
        }
        for (a, pa, b, pb) in EDGES {
            graph
                .edges
                .push(Edge::new(&format!("{a}_{u}"), pa, &format!("{b}_{u}"), pb));
        }
        // The 15th edge links units: each still is also published by the next unit.
        let next = (u + 1) % units;
        if next != u {
            graph.edges.push(Edge::new(
                &format!("still_{u}"),
                "image",
                &format!("publish_{next}"),
                "image",
            ));
        }
    }
    graph
}
