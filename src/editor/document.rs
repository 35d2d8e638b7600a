//! The workflow being edited and every edit that can be made to it. Edits are plain data so
//! the one place that applies them can also record undo history.

use serde_json::Value;
use std::collections::{HashMap, HashSet};
use workflow_contracts::layout::auto_layout;
use workflow_contracts::starter::node_with_defaults;
use workflow_contracts::{CommentFrame, Edge, Graph, GraphNode, Registry};

/// A workflow open in the editor.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowDocument {
    /// Server id once the workflow has been saved.
    pub id: Option<String>,
    pub name: String,
    /// Server version the edits are based on (sent as If-Match).
    pub version: Option<i64>,
    pub graph: Graph,
    /// Bumped by every change, so views know when to resync.
    pub revision: u64,
    saved_revision: u64,
    /// Names this document's draft file until and after it is saved.
    pub draft_key: String,
}

/// A key unique to this process run and document: time plus a counter.
fn new_draft_key() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("new-{nanos:x}-{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Nodes and the edges among them, as copied to the clipboard.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Clip {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<Edge>,
}

/// One change to a document.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    AddNode {
        node_type: String,
        position: [f32; 2],
        /// Wire the new node to this output (node, port) through its first compatible input.
        wire_from: Option<(String, String)>,
        /// Wire the new node's first compatible output to this input (node, port).
        wire_to: Option<(String, String)>,
    },
    RemoveNodes(Vec<String>),
    MoveNodes(Vec<(String, [f32; 2])>),
    Connect(Edge),
    Disconnect(Vec<Edge>),
    SetParam {
        node: String,
        param: String,
        value: Value,
    },
    ResetParam {
        node: String,
        param: String,
    },
    Paste {
        clip: Clip,
        offset: [f32; 2],
    },
    AutoLayout(Option<Vec<String>>),
    Rename(String),
    /// Frame these nodes with a titled comment.
    Group {
        title: String,
        nodes: Vec<String>,
    },
    RenameComment {
        id: String,
        title: String,
    },
    Ungroup(String),
    Align {
        nodes: Vec<String>,
        edge: AlignEdge,
    },
    /// Spread nodes evenly between the outermost two, horizontally or vertically.
    Distribute {
        nodes: Vec<String>,
        horizontal: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlignEdge {
    Left,
    Top,
}

/// Why an edit was refused; shown to the user as is.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EditError {
    #[error("node '{0}' is not in the workflow")]
    UnknownNode(String),
    #[error("node type '{0}' is not in the catalog")]
    UnknownNodeType(String),
    #[error("{node} has no {direction} port '{port}'")]
    UnknownPort {
        node: String,
        port: String,
        direction: &'static str,
    },
    #[error("cannot connect {from_type} to {to_type}: {to_port} takes {to_type}")]
    IncompatiblePorts {
        from_type: String,
        to_type: String,
        to_port: String,
    },
    #[error("a node cannot feed itself")]
    SelfLoop,
    #[error("{node} has no parameter '{param}'")]
    UnknownParam { node: String, param: String },
}

/// What an applied edit produced, for selection.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EditOutcome {
    pub created: Vec<String>,
}

impl WorkflowDocument {
    pub fn new(name: &str, graph: Graph) -> Self {
        WorkflowDocument {
            id: None,
            name: name.to_owned(),
            version: None,
            graph,
            revision: 0,
            saved_revision: 0,
            draft_key: new_draft_key(),
        }
    }

    pub fn is_dirty(&self) -> bool {
        self.revision != self.saved_revision
    }

    /// Records that the content as of `revision` was saved as `version` of workflow `id`;
    /// edits made while the save was in flight stay unsaved.
    pub fn mark_saved_at(&mut self, id: String, version: i64, revision: u64) {
        self.id = Some(id);
        self.version = Some(version);
        self.saved_revision = revision;
    }

    pub fn node(&self, id: &str) -> Option<&GraphNode> {
        self.graph.node(id)
    }

    fn node_mut(&mut self, id: &str) -> Result<&mut GraphNode, EditError> {
        self.graph
            .nodes
            .iter_mut()
            .find(|n| n.id == id)
            .ok_or_else(|| EditError::UnknownNode(id.to_owned()))
    }

    /// Applies `edit`; on error the document is unchanged.
    pub fn apply(&mut self, edit: &Edit, registry: &Registry) -> Result<EditOutcome, EditError> {
        let before = self.graph.clone();
        let result = self.apply_inner(edit, registry);
        match &result {
            Ok(_) => {
                if self.graph != before || matches!(edit, Edit::Rename(_)) {
                    self.revision += 1;
                }
            }
            Err(_) => self.graph = before,
        }
        result
    }

    fn apply_inner(&mut self, edit: &Edit, registry: &Registry) -> Result<EditOutcome, EditError> {
        let mut outcome = EditOutcome::default();
        match edit {
            Edit::AddNode {
                node_type,
                position,
                wire_from,
                wire_to,
            } => {
                let def = registry
                    .get(node_type)
                    .ok_or_else(|| EditError::UnknownNodeType(node_type.clone()))?;
                let id = self.fresh_id(node_type);
                let mut node = node_with_defaults(&id, node_type, registry);
                node.position = Some(*position);
                self.graph.nodes.push(node);
                if let Some((from_node, from_port)) = wire_from {
                    let from_type = self.output_type(from_node, from_port, registry)?;
                    if let Some(port) = def
                        .input_contract
                        .iter()
                        .find(|p| from_type.connects_to(p.port_type))
                    {
                        self.connect(Edge::new(from_node, from_port, &id, &port.name), registry)?;
                    }
                }
                if let Some((to_node, to_port)) = wire_to {
                    let to_type = self.input_type(to_node, to_port, registry)?;
                    if let Some(port) = def
                        .output_contract
                        .iter()
                        .find(|p| p.port_type.connects_to(to_type))
                    {
                        self.connect(Edge::new(&id, &port.name, to_node, to_port), registry)?;
                    }
                }
                outcome.created.push(id);
            }
            Edit::RemoveNodes(ids) => {
                let ids: HashSet<&str> = ids.iter().map(String::as_str).collect();
                self.graph.nodes.retain(|n| !ids.contains(n.id.as_str()));
                self.graph.edges.retain(|e| {
                    !ids.contains(e.from.node.as_str()) && !ids.contains(e.to.node.as_str())
                });
                for comment in &mut self.graph.comments {
                    comment.nodes.retain(|n| !ids.contains(n.as_str()));
                }
                self.graph.comments.retain(|c| !c.nodes.is_empty());
            }
            Edit::MoveNodes(moves) => {
                for (id, pos) in moves {
                    self.node_mut(id)?.position = Some(*pos);
                }
            }
            Edit::Connect(edge) => self.connect(edge.clone(), registry)?,
            Edit::Disconnect(edges) => self.graph.edges.retain(|e| !edges.contains(e)),
            Edit::SetParam { node, param, value } => {
                let node_type = self.node_mut(node)?.node_type.clone();
                if registry
                    .get(&node_type)
                    .is_some_and(|d| d.param(param).is_none())
                {
                    return Err(EditError::UnknownParam {
                        node: node.clone(),
                        param: param.clone(),
                    });
                }
                self.node_mut(node)?
                    .params
                    .insert(param.clone(), value.clone());
            }
            Edit::ResetParam { node, param } => {
                let node_type = self.node_mut(node)?.node_type.clone();
                let default = registry
                    .get(&node_type)
                    .and_then(|d| d.param(param))
                    .map(|p| p.default.clone())
                    .ok_or_else(|| EditError::UnknownParam {
                        node: node.clone(),
                        param: param.clone(),
                    })?;
                self.node_mut(node)?.params.insert(param.clone(), default);
            }
            Edit::Paste { clip, offset } => {
                let mut renamed: HashMap<&str, String> = HashMap::new();
                for node in &clip.nodes {
                    let id = self.fresh_id(&node.node_type);
                    let mut copy = node.clone();
                    copy.id = id.clone();
                    let [x, y] = node.position.unwrap_or([0.0, 0.0]);
                    copy.position = Some([x + offset[0], y + offset[1]]);
                    self.graph.nodes.push(copy);
                    renamed.insert(node.id.as_str(), id.clone());
                    outcome.created.push(id);
                }
                for edge in &clip.edges {
                    if let (Some(a), Some(b)) = (
                        renamed.get(edge.from.node.as_str()),
                        renamed.get(edge.to.node.as_str()),
                    ) {
                        self.graph
                            .edges
                            .push(Edge::new(a, &edge.from.port, b, &edge.to.port));
                    }
                }
            }
            Edit::AutoLayout(ids) => {
                let only: Option<HashSet<String>> =
                    ids.as_ref().map(|v| v.iter().cloned().collect());
                auto_layout(&mut self.graph, only.as_ref());
            }
            Edit::Rename(name) => self.name = name.clone(),
            Edit::Group { title, nodes } => {
                for id in nodes {
                    self.node_mut(id)?;
                }
                let taken: HashSet<&str> =
                    self.graph.comments.iter().map(|c| c.id.as_str()).collect();
                let id = (1..)
                    .map(|i| format!("comment_{i}"))
                    .find(|id| !taken.contains(id.as_str()))
                    .unwrap_or_default();
                self.graph.comments.push(CommentFrame {
                    id,
                    title: title.clone(),
                    nodes: nodes.clone(),
                });
            }
            Edit::RenameComment { id, title } => {
                if let Some(c) = self.graph.comments.iter_mut().find(|c| c.id == *id) {
                    c.title = title.clone();
                }
            }
            Edit::Ungroup(id) => self.graph.comments.retain(|c| c.id != *id),
            Edit::Align { nodes, edge } => {
                let axis = usize::from(*edge == AlignEdge::Top);
                let target = self
                    .positions(nodes)
                    .map(|p| p[axis])
                    .fold(f32::INFINITY, f32::min);
                if target.is_finite() {
                    for id in nodes {
                        let node = self.node_mut(id)?;
                        let mut p = node.position.unwrap_or([0.0, 0.0]);
                        p[axis] = target;
                        node.position = Some(p);
                    }
                }
            }
            Edit::Distribute { nodes, horizontal } => {
                let axis = usize::from(!*horizontal);
                let mut placed: Vec<(f32, String)> = nodes
                    .iter()
                    .filter_map(|id| Some((self.node(id)?.position?[axis], id.clone())))
                    .collect();
                placed.sort_by(|a, b| a.0.total_cmp(&b.0));
                if let (Some(first), Some(last)) = (placed.first(), placed.last()) {
                    let (lo, hi) = (first.0, last.0);
                    let step = (hi - lo) / (placed.len().max(2) - 1) as f32;
                    for (i, (_, id)) in placed.iter().enumerate() {
                        let node = self.node_mut(id)?;
                        let mut p = node.position.unwrap_or([0.0, 0.0]);
                        p[axis] = lo + step * i as f32;
                        node.position = Some(p);
                    }
                }
            }
        }
        Ok(outcome)
    }

    /// Joins two ports after checking both exist and their types fit. A single input that
    /// already has an edge gets the new one instead, as in every node editor.
    fn connect(&mut self, edge: Edge, registry: &Registry) -> Result<(), EditError> {
        if edge.from.node == edge.to.node {
            return Err(EditError::SelfLoop);
        }
        let from_type = self.output_type(&edge.from.node, &edge.from.port, registry)?;
        let to_type = self.input_type(&edge.to.node, &edge.to.port, registry)?;
        if !from_type.connects_to(to_type) {
            return Err(EditError::IncompatiblePorts {
                from_type: from_type.to_string(),
                to_type: to_type.to_string(),
                to_port: edge.to.port.clone(),
            });
        }
        let multiple = self
            .node(&edge.to.node)
            .and_then(|n| registry.get(&n.node_type))
            .and_then(|d| d.input(&edge.to.port))
            .is_some_and(|p| p.multiple);
        if !multiple {
            self.graph.edges.retain(|e| e.to != edge.to);
        }
        if !self.graph.edges.contains(&edge) {
            self.graph.edges.push(edge);
        }
        Ok(())
    }

    fn port_type(
        &self,
        node: &str,
        port: &str,
        registry: &Registry,
        output: bool,
    ) -> Result<workflow_contracts::PortType, EditError> {
        let n = self
            .node(node)
            .ok_or_else(|| EditError::UnknownNode(node.to_owned()))?;
        let def = registry
            .get(&n.node_type)
            .ok_or_else(|| EditError::UnknownNodeType(n.node_type.clone()))?;
        let spec = if output {
            def.output(port)
        } else {
            def.input(port)
        };
        spec.map(|p| p.port_type)
            .ok_or_else(|| EditError::UnknownPort {
                node: node.to_owned(),
                port: port.to_owned(),
                direction: if output { "output" } else { "input" },
            })
    }

    pub fn output_type(
        &self,
        node: &str,
        port: &str,
        registry: &Registry,
    ) -> Result<workflow_contracts::PortType, EditError> {
        self.port_type(node, port, registry, true)
    }

    pub fn input_type(
        &self,
        node: &str,
        port: &str,
        registry: &Registry,
    ) -> Result<workflow_contracts::PortType, EditError> {
        self.port_type(node, port, registry, false)
    }

    fn positions<'a>(&'a self, ids: &'a [String]) -> impl Iterator<Item = [f32; 2]> + 'a {
        ids.iter().filter_map(|id| self.node(id)?.position)
    }

    /// `render_still_2`-style ids: readable and unique within the graph.
    fn fresh_id(&self, node_type: &str) -> String {
        let base: String = node_type
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let taken: HashSet<&str> = self.graph.nodes.iter().map(|n| n.id.as_str()).collect();
        (1..)
            .map(|i| format!("{base}_{i}"))
            .find(|id| !taken.contains(id.as_str()))
            .unwrap_or(base)
    }

    /// The nodes `ids` and the edges among them.
    pub fn clip(&self, ids: &[String]) -> Clip {
        let set: HashSet<&str> = ids.iter().map(String::as_str).collect();
        Clip {
            nodes: self
                .graph
                .nodes
                .iter()
                .filter(|n| set.contains(n.id.as_str()))
                .cloned()
                .collect(),
            edges: self
                .graph
                .edges
                .iter()
                .filter(|e| set.contains(e.from.node.as_str()) && set.contains(e.to.node.as_str()))
                .cloned()
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use workflow_contracts::{starter_graph, Family};

    fn doc() -> (WorkflowDocument, Registry) {
        let registry = Registry::builtin();
        let graph = starter_graph(Family::OrderLine, &registry);
        (WorkflowDocument::new("t", graph), registry)
    }

    #[test]
    fn add_node_wired_from_an_output_uses_the_first_compatible_input() {
        let (mut d, r) = doc();
        let out = d
            .apply(
                &Edit::AddNode {
                    node_type: "render.turntable".into(),
                    position: [0.0, 0.0],
                    wire_from: Some(("lighting".into(), "scene".into())),
                    wire_to: None,
                },
                &r,
            )
            .expect("adds");
        assert_eq!(out.created, ["render_turntable_1"]);
        assert!(d.graph.edges.contains(&Edge::new(
            "lighting",
            "scene",
            "render_turntable_1",
            "scene"
        )));
        assert_eq!(d.revision, 1);
        assert!(d.is_dirty());
    }

    #[test]
    fn connect_refuses_incompatible_types_and_replaces_single_inputs() {
        let (mut d, r) = doc();
        let err = d
            .apply(
                &Edit::Connect(Edge::new("order", "order_line", "render", "scene")),
                &r,
            )
            .expect_err("order_line into scene");
        assert_eq!(
            err.to_string(),
            "cannot connect order_line to scene: scene takes scene"
        );
        assert_eq!(d.revision, 0);
        d.apply(
            &Edit::Connect(Edge::new("materials", "scene", "render", "scene")),
            &r,
        )
        .expect("replaces");
        let into_render: Vec<_> = d
            .graph
            .edges
            .iter()
            .filter(|e| e.to.node == "render")
            .collect();
        assert_eq!(into_render.len(), 1);
        assert_eq!(into_render[0].from.node, "materials");
    }

    #[test]
    fn paste_gives_fresh_ids_and_keeps_inner_edges() {
        let (mut d, r) = doc();
        let clip = d.clip(&["camera".into(), "lighting".into()]);
        assert_eq!(clip.edges.len(), 1);
        let out = d
            .apply(
                &Edit::Paste {
                    clip,
                    offset: [10.0, 10.0],
                },
                &r,
            )
            .expect("pastes");
        assert_eq!(out.created, ["scene_camera_1", "scene_lighting_1"]);
        assert!(d.graph.edges.contains(&Edge::new(
            "scene_camera_1",
            "scene",
            "scene_lighting_1",
            "scene"
        )));
    }

    #[test]
    fn group_align_distribute_and_removal_prune_comments() {
        let (mut d, r) = doc();
        let ids: Vec<String> = ["camera", "lighting", "render"].map(String::from).to_vec();
        d.apply(
            &Edit::Group {
                title: "Look".into(),
                nodes: ids.clone(),
            },
            &r,
        )
        .expect("groups");
        assert_eq!(d.graph.comments[0].id, "comment_1");
        d.apply(
            &Edit::MoveNodes(vec![("lighting".into(), [700.0, 90.0])]),
            &r,
        )
        .expect("moves");
        d.apply(
            &Edit::Align {
                nodes: ids.clone(),
                edge: AlignEdge::Top,
            },
            &r,
        )
        .expect("aligns");
        let y: Vec<f32> = ids
            .iter()
            .filter_map(|id| d.node(id)?.position)
            .map(|p| p[1])
            .collect();
        assert!(y.iter().all(|v| *v == y[0]), "{y:?}");
        d.apply(
            &Edit::Distribute {
                nodes: ids.clone(),
                horizontal: true,
            },
            &r,
        )
        .expect("spreads");
        let mut x: Vec<f32> = ids
            .iter()
            .filter_map(|id| d.node(id)?.position)
            .map(|p| p[0])
            .collect();
        x.sort_by(f32::total_cmp);
        assert!(((x[1] - x[0]) - (x[2] - x[1])).abs() < 0.01, "{x:?}");
        d.apply(&Edit::RemoveNodes(ids), &r).expect("removes");
        assert!(d.graph.comments.is_empty());
    }

    #[test]
    fn remove_nodes_drops_their_edges_and_set_param_checks_the_name() {
        let (mut d, r) = doc();
        d.apply(&Edit::RemoveNodes(vec!["camera".into()]), &r)
            .expect("removes");
        assert!(d
            .graph
            .edges
            .iter()
            .all(|e| e.from.node != "camera" && e.to.node != "camera"));
        let err = d
            .apply(
                &Edit::SetParam {
                    node: "render".into(),
                    param: "widht".into(),
                    value: json!(1),
                },
                &r,
            )
            .expect_err("no such param");
        assert!(err.to_string().contains("widht"));
        d.apply(
            &Edit::SetParam {
                node: "render".into(),
                param: "width".into(),
                value: json!(640),
            },
            &r,
        )
        .expect("sets");
        d.apply(
            &Edit::ResetParam {
                node: "render".into(),
                param: "width".into(),
            },
            &r,
        )
        .expect("resets");
        assert_eq!(
            d.node("render").map(|n| n.params["width"].clone()),
            Some(json!(2048))
        );
    }
}
