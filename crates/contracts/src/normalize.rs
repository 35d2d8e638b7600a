//! Repair of stored graphs written by older versions: renamed node types, parameters and
//! ports are mapped, missing parameters get their defaults, edges to ports that no longer
//! exist are dropped, node ids outside the safe set are replaced (edges follow), and unplaced
//! nodes are laid out. Every change is reported.

use crate::family::Family;
use crate::graph::{Edge, Graph};
use crate::layout::place_unpositioned;
use crate::registry::Registry;
use crate::validate::{node_id_problem, safe_node_id, MAX_NODE_ID_LEN};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// One change made by [`normalize`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NormalizeChange {
    /// A node id outside the safe set ([`crate::validate::node_id_problem`]) replaced; edges
    /// and comment frames follow it.
    RenamedNode {
        from: String,
        to: String,
    },
    SetFamily {
        family: Family,
    },
    RenamedNodeType {
        node: String,
        from: String,
        to: String,
    },
    RenamedParam {
        node: String,
        from: String,
        to: String,
    },
    FilledParamDefault {
        node: String,
        param: String,
        value: Value,
    },
    DroppedUnknownParam {
        node: String,
        param: String,
        value: Value,
    },
    RenamedPort {
        edge: Edge,
        node: String,
        from: String,
        to: String,
    },
    DroppedEdge {
        edge: Edge,
        reason: String,
    },
    PositionedNode {
        node: String,
        position: [f32; 2],
    },
}

/// Everything [`normalize`] changed, in the order it changed it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NormalizeReport {
    pub changes: Vec<NormalizeChange>,
}

impl NormalizeReport {
    pub fn changed(&self) -> bool {
        !self.changes.is_empty()
    }
}

/// Repairs `stored` against `registry`. Idempotent: normalizing the result changes nothing.
/// Unknown node types are left in place for validation to report.
pub fn normalize(stored: &Graph, registry: &Registry) -> (Graph, NormalizeReport) {
    let mut graph = stored.clone();
    let mut changes = Vec::new();
    rename_unsafe_ids(&mut graph, &mut changes);

    for node in &mut graph.nodes {
        if registry.get(&node.node_type).is_none() {
            if let Some(to) = registry.renamed_type(&node.node_type) {
                changes.push(NormalizeChange::RenamedNodeType {
                    node: node.id.clone(),
                    from: node.node_type.clone(),
                    to: to.to_owned(),
                });
                node.node_type = to.to_owned();
            }
        }
        let Some(def) = registry.get(&node.node_type) else {
            continue;
        };
        let names: Vec<String> = node.params.keys().cloned().collect();
        for name in names {
            if def.param(&name).is_some() {
                continue;
            }
            let Some(value) = node.params.remove(&name) else {
                continue;
            };
            match registry.renamed_param(&def.node_type, &name) {
                Some(to) if !node.params.contains_key(to) => {
                    changes.push(NormalizeChange::RenamedParam {
                        node: node.id.clone(),
                        from: name,
                        to: to.to_owned(),
                    });
                    node.params.insert(to.to_owned(), value);
                }
                _ => changes.push(NormalizeChange::DroppedUnknownParam {
                    node: node.id.clone(),
                    param: name,
                    value,
                }),
            }
        }
        for spec in &def.params {
            let absent = node.params.get(&spec.name).is_none_or(Value::is_null);
            if absent && !spec.default.is_null() {
                node.params.insert(spec.name.clone(), spec.default.clone());
                changes.push(NormalizeChange::FilledParamDefault {
                    node: node.id.clone(),
                    param: spec.name.clone(),
                    value: spec.default.clone(),
                });
            }
        }
    }

    if graph.family.is_none() {
        let families: HashSet<Family> = graph
            .nodes
            .iter()
            .filter_map(|n| registry.get(&n.node_type))
            .filter(|d| d.families.len() == 1)
            .map(|d| d.families[0])
            .collect();
        if let (1, Some(&family)) = (families.len(), families.iter().next()) {
            graph.family = Some(family);
            changes.push(NormalizeChange::SetFamily { family });
        }
    }

    repair_edges(&mut graph, registry, &mut changes);

    for id in place_unpositioned(&mut graph) {
        if let Some(position) = graph.node(&id).and_then(|n| n.position) {
            changes.push(NormalizeChange::PositionedNode { node: id, position });
        }
    }
    (graph, NormalizeReport { changes })
}

/// Gives every node whose id is unsafe a safe one, unique in the graph, and points the edges
/// and comment frames at it. Nodes sharing an unsafe id share its replacement, so validation
/// still reports them as duplicates instead of this guessing which edge meant which.
fn rename_unsafe_ids(graph: &mut Graph, changes: &mut Vec<NormalizeChange>) {
    let mut taken: HashSet<String> = graph.nodes.iter().map(|n| n.id.clone()).collect();
    let mut renamed: HashMap<String, String> = HashMap::new();
    for node in &mut graph.nodes {
        if node_id_problem(&node.id).is_none() {
            continue;
        }
        let to = match renamed.get(&node.id) {
            Some(to) => to.clone(),
            None => {
                let base = safe_node_id(&node.id);
                let to = (1..)
                    .map(|i| {
                        if i == 1 {
                            base.clone()
                        } else {
                            // Room for the suffix within the length limit.
                            let suffix = format!("_{i}");
                            let keep = MAX_NODE_ID_LEN.saturating_sub(suffix.len());
                            format!("{}{suffix}", &base[..base.len().min(keep)])
                        }
                    })
                    .find(|id| !taken.contains(id))
                    .unwrap_or(base);
                taken.insert(to.clone());
                changes.push(NormalizeChange::RenamedNode {
                    from: node.id.clone(),
                    to: to.clone(),
                });
                renamed.insert(node.id.clone(), to.clone());
                to
            }
        };
        node.id = to;
    }
    if renamed.is_empty() {
        return;
    }
    for edge in &mut graph.edges {
        for end in [&mut edge.from, &mut edge.to] {
            if let Some(to) = renamed.get(&end.node) {
                end.node = to.clone();
            }
        }
    }
    for frame in &mut graph.comments {
        for id in &mut frame.nodes {
            if let Some(to) = renamed.get(id) {
                *id = to.clone();
            }
        }
    }
}

fn repair_edges(graph: &mut Graph, registry: &Registry, changes: &mut Vec<NormalizeChange>) {
    let types: HashMap<String, String> = graph
        .nodes
        .iter()
        .map(|n| (n.id.clone(), n.node_type.clone()))
        .collect();
    let mut seen = HashSet::new();
    let mut kept = Vec::with_capacity(graph.edges.len());
    for mut edge in std::mem::take(&mut graph.edges) {
        let mut drop_reason = None;
        for outgoing in [true, false] {
            let end = if outgoing {
                &mut edge.from
            } else {
                &mut edge.to
            };
            let Some(node_type) = types.get(&end.node) else {
                drop_reason = Some(format!("node '{}' does not exist", end.node));
                break;
            };
            let Some(def) = registry.get(node_type) else {
                continue; // Unknown type: cannot judge its ports; validation reports it.
            };
            let exists = |port: &str| {
                if outgoing {
                    def.output(port).is_some()
                } else {
                    def.input(port).is_some()
                }
            };
            if exists(&end.port) {
                continue;
            }
            match registry.renamed_port(node_type, &end.port) {
                Some(to) if exists(to) => {
                    let from = std::mem::replace(&mut end.port, to.to_owned());
                    let node = end.node.clone();
                    changes.push(NormalizeChange::RenamedPort {
                        edge: edge.clone(),
                        node,
                        from,
                        to: to.to_owned(),
                    });
                }
                _ => {
                    let direction = if outgoing { "output" } else { "input" };
                    drop_reason = Some(format!(
                        "{node_type} has no {direction} port '{}'",
                        end.port
                    ));
                    break;
                }
            }
        }
        if drop_reason.is_none() && !seen.insert(edge.clone()) {
            drop_reason = Some("duplicate of an earlier edge".to_owned());
        }
        match drop_reason {
            Some(reason) => changes.push(NormalizeChange::DroppedEdge { edge, reason }),
            None => kept.push(edge),
        }
    }
    graph.edges = kept;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::GraphNode;
    use crate::starter::starter_graph;
    use crate::validate::validate;
    use serde_json::json;

    fn old_graph() -> Graph {
        serde_json::from_value(json!({
            "nodes": [
                {"id": "o", "type": "order.source"},
                {"id": "l", "type": "order.load_scene", "params": {}},
                {"id": "m", "type": "material.apply", "params": {"policy": "placeholder", "legacy_flag": 3}},
                {"id": "c", "type": "scene.camera", "position": [0, 0]},
                {"id": "li", "type": "scene.lighting"},
                {"id": "r", "type": "render.still", "params": {"bg_color": "#000000", "width": null}},
                {"id": "p", "type": "output.save"}
            ],
            "edges": [
                {"from": {"node": "o", "port": "order_line"}, "to": {"node": "l", "port": "order_line"}},
                {"from": {"node": "l", "port": "scene"}, "to": {"node": "m", "port": "scene"}},
                {"from": {"node": "m", "port": "scene"}, "to": {"node": "c", "port": "scene"}},
                {"from": {"node": "c", "port": "scene"}, "to": {"node": "li", "port": "scene"}},
                {"from": {"node": "li", "port": "scene"}, "to": {"node": "r", "port": "scene"}},
                {"from": {"node": "r", "port": "image"}, "to": {"node": "p", "port": "still"}},
                {"from": {"node": "r", "port": "alpha"}, "to": {"node": "p", "port": "image"}},
                {"from": {"node": "gone", "port": "x"}, "to": {"node": "p", "port": "image"}},
                {"from": {"node": "o", "port": "order_line"}, "to": {"node": "l", "port": "order_line"}}
            ]
        }))
        .expect("fixture parses")
    }

    #[test]
    fn repairs_an_old_graph_and_reports_every_change() {
        let registry = Registry::builtin();
        let before = validate(&old_graph(), &registry);
        assert!(!before.valid);
        let (graph, report) = normalize(&old_graph(), &registry);
        let after = validate(&graph, &registry);
        assert!(after.valid, "{:#?}", after.errors);

        let has = |pred: &dyn Fn(&NormalizeChange) -> bool| report.changes.iter().any(pred);
        assert!(has(&|c| matches!(
            c,
            NormalizeChange::SetFamily {
                family: Family::OrderLine
            }
        )));
        assert!(has(
            &|c| matches!(c, NormalizeChange::RenamedNodeType { node, to, .. } if node == "m" && to == "material.resolve")
        ));
        assert!(has(
            &|c| matches!(c, NormalizeChange::RenamedParam { node, to, .. } if node == "m" && to == "missing_policy")
        ));
        assert!(has(
            &|c| matches!(c, NormalizeChange::DroppedUnknownParam { param, .. } if param == "legacy_flag")
        ));
        assert!(has(
            &|c| matches!(c, NormalizeChange::FilledParamDefault { node, param, .. } if node == "r" && param == "width")
        ));
        assert!(has(
            &|c| matches!(c, NormalizeChange::RenamedPort { from, to, .. } if from == "still" && to == "image")
        ));
        assert!(has(
            &|c| matches!(c, NormalizeChange::DroppedEdge { reason, .. } if reason.contains("no output port 'alpha'"))
        ));
        assert!(has(
            &|c| matches!(c, NormalizeChange::DroppedEdge { reason, .. } if reason.contains("'gone' does not exist"))
        ));
        assert!(has(
            &|c| matches!(c, NormalizeChange::DroppedEdge { reason, .. } if reason.contains("duplicate"))
        ));
        assert!(has(
            &|c| matches!(c, NormalizeChange::PositionedNode { node, .. } if node == "o")
        ));
        assert!(!has(
            &|c| matches!(c, NormalizeChange::PositionedNode { node, .. } if node == "c")
        ));

        let m = graph.node("m").expect("kept");
        assert_eq!(m.params["missing_policy"], json!("placeholder"));
        let r = graph.node("r").expect("kept");
        assert_eq!(r.params["background"], json!("#000000"));
        assert_eq!(r.params["width"], json!(2048));
        assert_eq!(graph.edges.len(), 6);
    }

    #[test]
    fn is_idempotent_and_leaves_current_graphs_alone() {
        let registry = Registry::builtin();
        let (once, _) = normalize(&old_graph(), &registry);
        let (twice, report) = normalize(&once, &registry);
        assert_eq!(once, twice);
        assert!(!report.changed(), "{:#?}", report.changes);
        for family in Family::ALL {
            let starter = starter_graph(family, &registry);
            let (same, report) = normalize(&starter, &registry);
            assert_eq!(same, starter);
            assert!(!report.changed());
        }
    }

    #[test]
    fn renames_unsafe_node_ids_with_their_edges_and_frames() {
        let registry = Registry::builtin();
        let mut stored = starter_graph(Family::OrderLine, &registry);
        let renames = [
            (stored.nodes[0].id.clone(), "../../evil".to_owned()),
            (stored.nodes[1].id.clone(), ".hidden".to_owned()),
            // Its safe form is taken by the next node: it gets a suffix.
            (stored.nodes[2].id.clone(), "a b".to_owned()),
            (stored.nodes[3].id.clone(), "a_b".to_owned()),
        ];
        for (old, new) in &renames {
            for n in &mut stored.nodes {
                if &n.id == old {
                    n.id = new.clone();
                }
            }
            for e in &mut stored.edges {
                for end in [&mut e.from, &mut e.to] {
                    if &end.node == old {
                        end.node = new.clone();
                    }
                }
            }
        }
        stored.comments.push(crate::graph::CommentFrame {
            id: "frame".into(),
            title: "Sources".into(),
            nodes: vec!["../../evil".into(), ".hidden".into()],
        });
        assert!(!validate(&stored, &registry).valid);
        let (repaired, report) = normalize(&stored, &registry);
        let renamed: Vec<(&str, &str)> = report
            .changes
            .iter()
            .filter_map(|c| match c {
                NormalizeChange::RenamedNode { from, to } => Some((from.as_str(), to.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(
            renamed,
            [
                ("../../evil", "n.._.._evil"),
                (".hidden", "n.hidden"),
                ("a b", "a_b_2")
            ]
        );
        // Every edge kept, pointing at the new ids; the graph is valid again.
        assert_eq!(repaired.edges.len(), stored.edges.len());
        assert!(
            !report
                .changes
                .iter()
                .any(|c| matches!(c, NormalizeChange::DroppedEdge { .. })),
            "{:#?}",
            report.changes
        );
        assert_eq!(repaired.comments[0].nodes, ["n.._.._evil", "n.hidden"]);
        let check = validate(&repaired, &registry);
        assert!(check.valid, "{:#?}", check.errors);
        let (again, report) = normalize(&repaired, &registry);
        assert_eq!(again, repaired);
        assert!(!report.changed());
    }

    #[test]
    fn keeps_unknown_node_types_and_their_edges_for_validation_to_report() {
        let registry = Registry::builtin();
        let mut g = Graph::new(Family::CadFile);
        g.nodes.push(GraphNode::new("x", "plugin.mystery"));
        g.nodes.push(GraphNode::new("p", "cad.publish"));
        g.edges.push(Edge::new("x", "out", "p", "glb"));
        let (graph, _) = normalize(&g, &registry);
        assert_eq!(graph.edges.len(), 1);
        assert!(validate(&graph, &registry).has(crate::ErrorCode::UnknownNodeType));
    }
}
