//! Canonical starter graphs: what "new workflow" gives an author, per family.

use crate::family::Family;
use crate::graph::{Edge, Graph, GraphNode};
use crate::layout::place_unpositioned;
use crate::registry::Registry;

/// `(id, node type)` of each starter node.
type StarterNodes = &'static [(&'static str, &'static str)];
/// `(from node, from port, to node, to port)` of each starter edge.
type StarterEdges = &'static [(&'static str, &'static str, &'static str, &'static str)];

/// The canonical starter graph of `family`, with every parameter at its default and every
/// node laid out left to right.
pub fn starter_graph(family: Family, registry: &Registry) -> Graph {
    let (nodes, edges): (StarterNodes, StarterEdges) = match family {
        Family::CadFile => (
            &[
                ("source", "cad.source"),
                ("import", "cad.import"),
                ("metadata", "cad.extract_metadata"),
                ("export_glb", "cad.export_glb"),
                ("thumbnail", "render.thumbnail"),
                ("publish", "cad.publish"),
            ],
            &[
                ("source", "cad_file", "import", "cad_file"),
                ("import", "scene", "metadata", "scene"),
                ("metadata", "scene", "export_glb", "scene"),
                ("metadata", "manifest", "export_glb", "manifest"),
                ("import", "scene", "thumbnail", "scene"),
                ("export_glb", "glb", "publish", "glb"),
                ("thumbnail", "image", "publish", "thumbnail"),
                ("metadata", "manifest", "publish", "manifest"),
            ],
        ),
        Family::OrderLine => (
            &[
                ("order", "order.source"),
                ("load_scene", "order.load_product_scene"),
                ("materials", "material.resolve"),
                ("camera", "scene.camera"),
                ("lighting", "scene.lighting"),
                ("render", "render.still"),
                ("publish", "output.publish"),
            ],
            &[
                ("order", "order_line", "load_scene", "order_line"),
                ("load_scene", "scene", "materials", "scene"),
                ("load_scene", "manifest", "materials", "manifest"),
                ("materials", "scene", "camera", "scene"),
                ("camera", "scene", "lighting", "scene"),
                ("lighting", "scene", "render", "scene"),
                ("render", "image", "publish", "image"),
            ],
        ),
    };
    let mut graph = Graph::new(family);
    for (id, node_type) in nodes {
        graph
            .nodes
            .push(node_with_defaults(id, node_type, registry));
    }
    for (a, pa, b, pb) in edges {
        graph.edges.push(Edge::new(a, pa, b, pb));
    }
    place_unpositioned(&mut graph);
    graph
}

/// A node of `node_type` with every parameter set to its default (no parameters when the
/// type is unknown to `registry`).
pub fn node_with_defaults(id: &str, node_type: &str, registry: &Registry) -> GraphNode {
    let mut node = GraphNode::new(id, node_type);
    if let Some(def) = registry.get(node_type) {
        for p in &def.params {
            node.params.insert(p.name.clone(), p.default.clone());
        }
    }
    node
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::validate;

    #[test]
    fn both_starters_validate_clean_with_no_warnings() {
        let registry = Registry::builtin();
        for family in Family::ALL {
            let graph = starter_graph(family, &registry);
            let report = validate(&graph, &registry);
            assert!(report.valid, "{family}: {:#?}", report.errors);
            assert!(report.errors.is_empty(), "{family}: {:#?}", report.errors);
            assert!(graph.nodes.iter().all(|n| n.position.is_some()));
        }
    }

    #[test]
    fn starters_have_the_canonical_topology() {
        let registry = Registry::builtin();
        let order = starter_graph(Family::OrderLine, &registry);
        let chain: Vec<&str> = order.nodes.iter().map(|n| n.node_type.as_str()).collect();
        assert_eq!(
            chain,
            [
                "order.source",
                "order.load_product_scene",
                "material.resolve",
                "scene.camera",
                "scene.lighting",
                "render.still",
                "output.publish"
            ]
        );
        // Each consecutive pair in the chain is joined by an edge.
        for pair in order.nodes.windows(2) {
            assert!(
                order
                    .edges
                    .iter()
                    .any(|e| e.from.node == pair[0].id && e.to.node == pair[1].id),
                "{} -> {} missing",
                pair[0].id,
                pair[1].id
            );
        }
        let cad = starter_graph(Family::CadFile, &registry);
        let has = |a: &str, b: &str| {
            let id = |t: &str| {
                cad.nodes
                    .iter()
                    .find(|n| n.node_type == t)
                    .map(|n| n.id.clone())
            };
            cad.edges
                .iter()
                .any(|e| Some(&e.from.node) == id(a).as_ref() && Some(&e.to.node) == id(b).as_ref())
        };
        assert!(has("cad.source", "cad.import"));
        assert!(has("cad.import", "cad.extract_metadata"));
        assert!(has("cad.extract_metadata", "cad.export_glb"));
        assert!(has("cad.export_glb", "cad.publish"));
        assert!(has("cad.import", "render.thumbnail"));
        assert!(has("render.thumbnail", "cad.publish"));
    }
}
