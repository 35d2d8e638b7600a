use crate::family::Family;
use crate::node::{ExecutionRole, NodeDefinition};
use crate::port::PortType;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A node type that was renamed: graphs stored with `from` are repaired to `to` by
/// [`crate::normalize`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeRename {
    pub from: String,
    pub to: String,
}

/// A port or parameter of a node type that was renamed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberRename {
    pub node_type: String,
    pub from: String,
    pub to: String,
}

/// Description of a port type, served with the registry so clients need no compiled-in list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortTypeInfo {
    pub name: PortType,
    pub description: String,
}

/// The catalog of node definitions plus the rename history that lets old graphs be repaired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    /// Bumped when a definition changes shape; clients cache by it.
    pub version: String,
    pub families: Vec<Family>,
    pub port_types: Vec<PortTypeInfo>,
    pub execution_roles: Vec<ExecutionRole>,
    pub nodes: Vec<NodeDefinition>,
    pub renamed_types: Vec<TypeRename>,
    pub renamed_params: Vec<MemberRename>,
    pub renamed_ports: Vec<MemberRename>,
    #[serde(skip)]
    index: HashMap<String, usize>,
}

impl Registry {
    pub fn new(version: &str, nodes: Vec<NodeDefinition>) -> Self {
        let mut registry = Registry {
            version: version.to_owned(),
            families: Family::ALL.to_vec(),
            port_types: PortType::ALL
                .iter()
                .map(|t| PortTypeInfo {
                    name: *t,
                    description: t.description().to_owned(),
                })
                .collect(),
            execution_roles: ExecutionRole::ALL.to_vec(),
            nodes,
            renamed_types: Vec::new(),
            renamed_params: Vec::new(),
            renamed_ports: Vec::new(),
            index: HashMap::new(),
        };
        registry.reindex();
        registry
    }

    /// The built-in catalog (see [`crate::catalog`]).
    pub fn builtin() -> Self {
        crate::catalog::builtin_registry()
    }

    /// Rebuilds the lookup index; call after deserialising or editing `nodes`.
    pub fn reindex(&mut self) {
        self.index = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.node_type.clone(), i))
            .collect();
    }

    pub fn get(&self, node_type: &str) -> Option<&NodeDefinition> {
        if self.index.len() == self.nodes.len() {
            self.index.get(node_type).map(|&i| &self.nodes[i])
        } else {
            // Deserialised without reindex(): fall back to a scan rather than answer wrongly.
            self.nodes.iter().find(|n| n.node_type == node_type)
        }
    }

    /// Node definitions allowed in `family`.
    pub fn for_family(&self, family: Family) -> impl Iterator<Item = &NodeDefinition> {
        self.nodes.iter().filter(move |n| n.allows(family))
    }

    /// The current name of a possibly renamed node type.
    pub fn renamed_type(&self, node_type: &str) -> Option<&str> {
        self.renamed_types
            .iter()
            .find(|r| r.from == node_type)
            .map(|r| r.to.as_str())
    }

    pub fn renamed_param(&self, node_type: &str, param: &str) -> Option<&str> {
        find_member(&self.renamed_params, node_type, param)
    }

    pub fn renamed_port(&self, node_type: &str, port: &str) -> Option<&str> {
        find_member(&self.renamed_ports, node_type, port)
    }

    /// A short, stable fingerprint of the whole catalog (FNV-1a over its JSON), used as ETag.
    pub fn fingerprint(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in json {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        format!("{hash:016x}")
    }
}

fn find_member<'a>(renames: &'a [MemberRename], node_type: &str, from: &str) -> Option<&'a str> {
    renames
        .iter()
        .find(|r| r.node_type == node_type && r.from == from)
        .map(|r| r.to.as_str())
}
