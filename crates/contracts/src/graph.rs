use crate::family::Family;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A workflow graph in its JSON wire format.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Graph {
    /// The family the graph declares. Optional only so that old, undeclared graphs can be
    /// loaded and repaired; validation reports a missing family.
    #[serde(default)]
    pub family: Option<Family>,
    #[serde(default)]
    pub nodes: Vec<GraphNode>,
    #[serde(default)]
    pub edges: Vec<Edge>,
    /// Titled frames that group nodes on the canvas; they do not affect execution.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<CommentFrame>,
}

/// A titled frame drawn around a group of nodes (it follows them when they move).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommentFrame {
    pub id: String,
    pub title: String,
    pub nodes: Vec<String>,
}

/// One placed node: its type in the registry, its parameter values and canvas position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphNode {
    pub id: String,
    #[serde(rename = "type")]
    pub node_type: String,
    #[serde(default)]
    pub params: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<[f32; 2]>,
}

/// One end of an edge: a node id and a port name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortRef {
    pub node: String,
    pub port: String,
}

/// A directed edge from an output port to an input port.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Edge {
    pub from: PortRef,
    pub to: PortRef,
}

impl PortRef {
    pub fn new(node: &str, port: &str) -> Self {
        PortRef {
            node: node.to_owned(),
            port: port.to_owned(),
        }
    }
}

impl Edge {
    pub fn new(from_node: &str, from_port: &str, to_node: &str, to_port: &str) -> Self {
        Edge {
            from: PortRef::new(from_node, from_port),
            to: PortRef::new(to_node, to_port),
        }
    }

    /// `a.out -> b.in`, for messages.
    pub fn describe(&self) -> String {
        format!(
            "{}.{} -> {}.{}",
            self.from.node, self.from.port, self.to.node, self.to.port
        )
    }
}

impl GraphNode {
    pub fn new(id: &str, node_type: &str) -> Self {
        GraphNode {
            id: id.to_owned(),
            node_type: node_type.to_owned(),
            params: Map::new(),
            position: None,
        }
    }
}

impl Graph {
    pub fn new(family: Family) -> Self {
        Graph {
            family: Some(family),
            ..Graph::default()
        }
    }

    pub fn node(&self, id: &str) -> Option<&GraphNode> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// Parses the wire format; errors carry serde's line and column.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}
