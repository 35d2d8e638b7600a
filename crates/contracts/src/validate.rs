//! Family-aware graph validation: every problem in one linear pass, each with a stable code,
//! the nodes, port or parameter involved, and a message that says how to fix it.

use crate::family::Family;
use crate::graph::{Edge, Graph, PortRef};
use crate::node::{ExecutionRole, NodeDefinition};
use crate::param::ParamSpec;
use crate::port::PortType;
use crate::registry::Registry;
use serde::{Deserialize, Serialize};
// foldhash: seeded at random per map, so ids an attacker picks cannot be made to collide
// in advance, and several times faster than SipHash on short keys.
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::collections::hash_map::Entry;

/// Stable machine-readable problem codes. Clients switch on these; never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    MissingFamily,
    DuplicateNodeId,
    UnknownNodeType,
    FamilyMismatch,
    MixedFamily,
    UnknownNode,
    UnknownPort,
    PortTypeMismatch,
    DuplicateEdge,
    MissingRequiredInput,
    TooManyEdgesIntoSingleInput,
    Cycle,
    NoSink,
    UnreachableNode,
    UnknownParam,
    ParamInvalid,
    MissingRequiredParam,
    InvalidNodeId,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MissingFamily => "missing_family",
            ErrorCode::DuplicateNodeId => "duplicate_node_id",
            ErrorCode::UnknownNodeType => "unknown_node_type",
            ErrorCode::FamilyMismatch => "family_mismatch",
            ErrorCode::MixedFamily => "mixed_family",
            ErrorCode::UnknownNode => "unknown_node",
            ErrorCode::UnknownPort => "unknown_port",
            ErrorCode::PortTypeMismatch => "port_type_mismatch",
            ErrorCode::DuplicateEdge => "duplicate_edge",
            ErrorCode::MissingRequiredInput => "missing_required_input",
            ErrorCode::TooManyEdgesIntoSingleInput => "too_many_edges_into_single_input",
            ErrorCode::Cycle => "cycle",
            ErrorCode::NoSink => "no_sink",
            ErrorCode::UnreachableNode => "unreachable_node",
            ErrorCode::UnknownParam => "unknown_param",
            ErrorCode::ParamInvalid => "param_invalid",
            ErrorCode::MissingRequiredParam => "missing_required_param",
            ErrorCode::InvalidNodeId => "invalid_node_id",
        }
    }
}

/// Errors block saving as new and dispatch; warnings are shown but do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem with a graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationError {
    pub code: ErrorCode,
    pub severity: Severity,
    /// Plain language: what is wrong, where, and how to fix it.
    pub message: String,
    /// The node ids involved, in graph order (empty for graph-level problems).
    pub nodes: Vec<String>,
    /// Index into `graph.edges` when one edge is at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edge: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub got: Option<String>,
}

/// The outcome of [`validate`]: `valid` is true when there is no error-severity problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    pub valid: bool,
    pub errors: Vec<ValidationError>,
}

impl ValidationReport {
    pub fn codes(&self) -> Vec<ErrorCode> {
        self.errors.iter().map(|e| e.code).collect()
    }

    pub fn has(&self, code: ErrorCode) -> bool {
        self.errors.iter().any(|e| e.code == code)
    }
}

impl ValidationError {
    fn new(code: ErrorCode, message: String) -> Self {
        ValidationError {
            code,
            severity: Severity::Error,
            message,
            nodes: Vec::new(),
            edge: None,
            port: None,
            param: None,
            expected: None,
            got: None,
        }
    }
    fn warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }
    fn node(mut self, id: &str) -> Self {
        self.nodes.push(id.to_owned());
        self
    }
    fn nodes(mut self, ids: Vec<String>) -> Self {
        self.nodes = ids;
        self
    }
    fn edge(mut self, index: usize) -> Self {
        self.edge = Some(index);
        self
    }
    fn port(mut self, port: &str) -> Self {
        self.port = Some(port.to_owned());
        self
    }
    fn param(mut self, param: &str) -> Self {
        self.param = Some(param.to_owned());
        self
    }
    fn expected_got(mut self, expected: String, got: String) -> Self {
        self.expected = Some(expected);
        self.got = Some(got);
        self
    }
}

/// Longest node id [`node_id_problem`] accepts.
pub const MAX_NODE_ID_LEN: usize = 64;

/// Whether `c` may appear in a node id (`.` and `-` not first).
const fn node_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// [`node_id_char`] as a table over bytes (non-ASCII bytes are never allowed).
const ID_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 128 {
        table[b] = node_id_char(b as u8 as char);
        b += 1;
    }
    table
};

/// Why `id` is not a safe node id, or `None` when it is. Node ids name files a client writes
/// (saved frames, artifacts) and appear in logs and URLs, so they are kept to ASCII letters,
/// digits, `_`, `-` and `.`, not starting with `.` or `-` (no hidden files, no options), at most
/// [`MAX_NODE_ID_LEN`] characters.
pub fn node_id_problem(id: &str) -> Option<String> {
    // Fast path for the common, valid id: one pass over the bytes, no char decoding.
    let bytes = id.as_bytes();
    if !bytes.is_empty()
        && bytes.len() <= MAX_NODE_ID_LEN
        && !matches!(bytes[0], b'.' | b'-')
        && bytes.iter().all(|&b| ID_BYTE[usize::from(b)])
    {
        return None;
    }
    if id.is_empty() {
        return Some("is empty".into());
    }
    if id.len() > MAX_NODE_ID_LEN {
        return Some(format!(
            "is {} bytes long, over the limit of {MAX_NODE_ID_LEN}",
            id.len()
        ));
    }
    if let Some(c) = id.chars().find(|c| !node_id_char(*c)) {
        return Some(format!("contains {c:?}"));
    }
    if id.starts_with(['.', '-']) {
        return Some("starts with '.' or '-'".into());
    }
    None
}

/// `id` reduced to a safe node id (see [`node_id_problem`]): other characters become `_`, a
/// leading `.` or `-` gets an `n` before it, the length is cut to the limit; empty: `node`.
pub fn safe_node_id(id: &str) -> String {
    let mut safe: String = id
        .chars()
        .map(|c| if node_id_char(c) { c } else { '_' })
        .collect();
    if safe.is_empty() {
        safe = "node".into();
    } else if safe.starts_with(['.', '-']) {
        safe.insert(0, 'n');
    }
    // ASCII only by now: cutting at a byte index is cutting at a character.
    safe.truncate(MAX_NODE_ID_LEN);
    safe
}

/// The start of a hostile id, quoted, for a message: never more than the id limit.
fn quoted_id(id: &str) -> String {
    let head: String = id.chars().take(MAX_NODE_ID_LEN).collect();
    if head.len() < id.len() {
        format!("{head:?}…")
    } else {
        format!("{head:?}")
    }
}

/// Validates `graph` against `registry` and returns every problem found.
pub fn validate(graph: &Graph, registry: &Registry) -> ValidationReport {
    let mut v = Validator {
        graph,
        registry,
        errors: Vec::new(),
        index: HashMap::with_capacity(graph.nodes.len()),
        defs: Vec::with_capacity(graph.nodes.len()),
    };
    v.index_nodes();
    v.check_family();
    v.check_nodes();
    let adjacency = v.check_edges();
    v.check_cycles(&adjacency);
    v.check_sinks(&adjacency);
    let valid = !v.errors.iter().any(|e| e.severity == Severity::Error);
    ValidationReport {
        valid,
        errors: v.errors,
    }
}

struct Validator<'a> {
    graph: &'a Graph,
    registry: &'a Registry,
    errors: Vec<ValidationError>,
    /// Node id → index of its first occurrence.
    index: HashMap<&'a str, usize>,
    /// Definition per node (None for unknown types).
    defs: Vec<Option<&'a NodeDefinition>>,
}

/// Forward and reverse adjacency over node indices (edges between existing nodes only), each
/// as one flat array with per-node offsets: no vector per node.
struct Adjacency {
    out_start: Vec<usize>,
    out: Vec<usize>,
    into_start: Vec<usize>,
    into: Vec<usize>,
}

impl Adjacency {
    /// From `(from, to)` links; each node's neighbours keep the order of the links.
    fn new(n: usize, links: &[(usize, usize)]) -> Self {
        let (out_start, out) = grouped(n, links.iter().map(|&(a, b)| (a, b)), links.len());
        let (into_start, into) = grouped(n, links.iter().map(|&(a, b)| (b, a)), links.len());
        Adjacency {
            out_start,
            out,
            into_start,
            into,
        }
    }

    fn out(&self, v: usize) -> &[usize] {
        &self.out[self.out_start[v]..self.out_start[v + 1]]
    }

    fn into(&self, v: usize) -> &[usize] {
        &self.into[self.into_start[v]..self.into_start[v + 1]]
    }
}

/// Counting sort of `(key, value)` pairs by key: offsets per key (`n + 1` of them) and the
/// values in their original order within each key.
fn grouped(
    n: usize,
    pairs: impl Iterator<Item = (usize, usize)> + Clone,
    len: usize,
) -> (Vec<usize>, Vec<usize>) {
    let mut start = vec![0usize; n + 1];
    for (k, _) in pairs.clone() {
        start[k + 1] += 1;
    }
    for k in 0..n {
        start[k + 1] += start[k];
    }
    let mut fill = start.clone();
    let mut values = vec![0usize; len];
    for (k, v) in pairs {
        values[fill[k]] = v;
        fill[k] += 1;
    }
    (start, values)
}

/// What an edge end names, looked up once per edge.
#[derive(Clone, Copy)]
enum Resolved {
    /// Node index and port index.
    Port(usize, usize),
    /// The node exists but has no port of that name.
    NoPort(usize),
    /// The node exists but its type is unknown (reported with the node).
    NoDefinition,
    NoNode,
}

/// Edges into each (node, input port) slot, in edge order: slots are numbered node by node,
/// and grouped like [`Adjacency`] (no map or vector per port).
struct Incoming {
    /// First slot of each node (`n + 1` entries).
    slot_start: Vec<usize>,
    /// Offsets into `edges` per slot.
    edge_start: Vec<usize>,
    edges: Vec<usize>,
}

impl Incoming {
    /// The edges into input port `p` of node `i`.
    fn edges(&self, i: usize, p: usize) -> &[usize] {
        let slot = self.slot_start[i] + p;
        &self.edges[self.edge_start[slot]..self.edge_start[slot + 1]]
    }
}

impl<'a> Validator<'a> {
    fn push(&mut self, error: ValidationError) {
        self.errors.push(error);
    }

    fn describe(&self, i: usize) -> String {
        let n = &self.graph.nodes[i];
        format!("'{}' ({})", n.id, n.node_type)
    }

    fn index_nodes(&mut self) {
        let mut duplicates: Vec<(&str, usize)> = Vec::new();
        let mut types: HashMap<&str, Option<&NodeDefinition>> = HashMap::new();
        for (i, node) in self.graph.nodes.iter().enumerate() {
            if let Some(why) = node_id_problem(&node.id) {
                let msg = format!(
                    "node id {} ({}) {why}; use 1-{MAX_NODE_ID_LEN} ASCII letters, digits, '_', '-' or '.', not starting with '.' or '-' (e.g. {:?})",
                    quoted_id(&node.id),
                    node.node_type,
                    safe_node_id(&node.id)
                );
                self.push(ValidationError::new(ErrorCode::InvalidNodeId, msg).node(&node.id));
            }
            match self.index.entry(node.id.as_str()) {
                Entry::Occupied(_) => duplicates.push((node.id.as_str(), i)),
                Entry::Vacant(slot) => {
                    slot.insert(i);
                }
            }
            // Graphs repeat a few types many times: look each one up in the catalog once.
            let def = *types
                .entry(node.node_type.as_str())
                .or_insert_with(|| self.registry.get(&node.node_type));
            self.defs.push(def);
        }
        let mut reported = HashSet::new();
        for (id, _) in duplicates {
            if !reported.insert(id) {
                continue;
            }
            let types: Vec<&str> = self
                .graph
                .nodes
                .iter()
                .filter(|n| n.id == id)
                .map(|n| n.node_type.as_str())
                .collect();
            let msg = format!(
                "node id '{id}' is used by {} nodes ({}); give each node a unique id",
                types.len(),
                types.join(", ")
            );
            self.push(ValidationError::new(ErrorCode::DuplicateNodeId, msg).node(id));
        }
    }

    fn check_family(&mut self) {
        let graph = self.graph;
        // Nodes that fit exactly one family, grouped by it: more than one group is a mix.
        // Indices, not ids: the ids are copied only when there is a mix to report.
        let mut by_family: Vec<(Family, Vec<usize>)> = Vec::new();
        for (i, def) in self.defs.iter().enumerate() {
            let Some(def) = def else { continue };
            if let [only] = def.families[..] {
                match by_family.iter_mut().find(|(f, _)| *f == only) {
                    Some((_, members)) => members.push(i),
                    None => by_family.push((only, vec![i])),
                }
            }
        }
        if by_family.len() > 1 {
            let exclusive: Vec<(Family, Vec<String>)> = by_family
                .into_iter()
                .map(|(f, members)| {
                    let ids = members.iter().map(|&i| graph.nodes[i].id.clone()).collect();
                    (f, ids)
                })
                .collect();
            let parts: Vec<String> = exclusive
                .iter()
                .map(|(f, ids)| format!("{f} nodes ({})", name_list(ids)))
                .collect();
            let msg = format!(
                "the graph mixes {}; a graph belongs to one family, so split it into one graph per family",
                parts.join(" with ")
            );
            let ids = exclusive.into_iter().flat_map(|(_, ids)| ids).collect();
            self.push(ValidationError::new(ErrorCode::MixedFamily, msg).nodes(ids));
        }

        let Some(family) = graph.family else {
            let inferred: HashSet<Family> = self
                .defs
                .iter()
                .flatten()
                .filter(|d| d.families.len() == 1)
                .map(|d| d.families[0])
                .collect();
            let hint = match inferred.iter().next() {
                Some(f) if inferred.len() == 1 => {
                    format!("; its nodes suggest \"family\": \"{f}\"")
                }
                _ => String::new(),
            };
            let msg = format!(
                "the graph declares no family; set \"family\" to cad_file or order_line{hint}"
            );
            self.push(ValidationError::new(ErrorCode::MissingFamily, msg));
            return;
        };
        for i in 0..graph.nodes.len() {
            let Some(def) = self.defs[i] else { continue };
            if !def.allows(family) {
                let msg = format!(
                    "node {} is not allowed in a {family} graph; it belongs to {}. Remove it or move it to a {} graph",
                    self.describe(i),
                    def.families_text(),
                    def.families_text()
                );
                let err = ValidationError::new(ErrorCode::FamilyMismatch, msg)
                    .node(&graph.nodes[i].id)
                    .expected_got(family.to_string(), def.families_text());
                self.push(err);
            }
        }
    }

    fn check_nodes(&mut self) {
        let graph = self.graph;
        for (i, node) in graph.nodes.iter().enumerate() {
            let Some(def) = self.defs[i] else {
                let hint = match self.registry.renamed_type(&node.node_type) {
                    Some(to) => {
                        format!("; it was renamed to {to}: run normalize to repair the graph")
                    }
                    None => match closest(
                        &node.node_type,
                        self.registry.nodes.iter().map(|n| n.node_type.as_str()),
                    ) {
                        Some(s) => format!("; did you mean {s}?"),
                        None => String::new(),
                    },
                };
                let msg = format!(
                    "node '{}' has unknown type '{}'{hint}",
                    node.id, node.node_type
                );
                self.push(ValidationError::new(ErrorCode::UnknownNodeType, msg).node(&node.id));
                continue;
            };
            for (name, value) in &node.params {
                match def.param(name) {
                    None => {
                        let hint = match self.registry.renamed_param(&def.node_type, name) {
                            Some(to) => format!("; it was renamed to {to}: run normalize"),
                            None => match closest(name, def.params.iter().map(|p| p.name.as_str()))
                            {
                                Some(s) => format!("; did you mean {s}?"),
                                None => format!(
                                    "; {} takes: {}",
                                    def.node_type,
                                    def.params
                                        .iter()
                                        .map(|p| p.name.as_str())
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            },
                        };
                        let msg =
                            format!("node {} has no parameter '{name}'{hint}", self.describe(i));
                        self.push(
                            ValidationError::new(ErrorCode::UnknownParam, msg)
                                .node(&node.id)
                                .param(name),
                        );
                    }
                    Some(spec) if ParamSpec::is_blank(value) => {
                        if spec.required {
                            self.missing_param(i, spec);
                        }
                    }
                    Some(spec) => {
                        if let Some(problem) = spec.check(value) {
                            let msg = format!("node {}: {}", self.describe(i), problem.message);
                            self.push(
                                ValidationError::new(ErrorCode::ParamInvalid, msg)
                                    .node(&node.id)
                                    .param(&spec.name)
                                    .expected_got(problem.expected, problem.got),
                            );
                        }
                    }
                }
            }
            for spec in &def.params {
                // Cheap tests first: most required params have a default.
                if spec.required
                    && ParamSpec::is_blank(&spec.default)
                    && !node.params.contains_key(&spec.name)
                {
                    self.missing_param(i, spec);
                }
            }
        }
    }

    fn missing_param(&mut self, i: usize, spec: &ParamSpec) {
        let example = if ParamSpec::is_blank(&spec.default) {
            String::new()
        } else {
            format!(", e.g. {}", spec.default)
        };
        let msg = format!(
            "node {} needs a value for '{}' ({}){example}",
            self.describe(i),
            spec.name,
            spec.label
        );
        self.push(
            ValidationError::new(ErrorCode::MissingRequiredParam, msg)
                .node(&self.graph.nodes[i].id)
                .param(&spec.name),
        );
    }

    fn check_edges(&mut self) -> Adjacency {
        let graph = self.graph;
        let n = graph.nodes.len();
        let mut slot_start = Vec::with_capacity(n + 1);
        let mut slots = 0usize;
        for def in &self.defs {
            slot_start.push(slots);
            slots += def.map_or(0, |d| d.input_contract.len());
        }
        slot_start.push(slots);
        // (slot, edge) for every edge into a known input port.
        let mut into_slots: Vec<(usize, usize)> = Vec::with_capacity(graph.edges.len());
        let mut links: Vec<(usize, usize)> = Vec::with_capacity(graph.edges.len());
        // Duplicates: edges whose nodes and ports all resolve compare by indices; the others
        // (unknown node, type or port) by their strings.
        let mut seen: HashSet<(usize, usize, usize, usize)> =
            HashSet::with_capacity(graph.edges.len());
        let mut seen_unresolved: HashSet<&Edge> = HashSet::new();
        for (e, edge) in graph.edges.iter().enumerate() {
            let from = self.resolve(&edge.from, true);
            let to = self.resolve(&edge.to, false);
            let fresh = match (from, to) {
                (Resolved::Port(a, pa), Resolved::Port(b, pb)) => seen.insert((a, pa, b, pb)),
                _ => seen_unresolved.insert(edge),
            };
            if !fresh {
                let msg = format!(
                    "edge {} appears more than once; delete the copy",
                    edge.describe()
                );
                let err = ValidationError::new(ErrorCode::DuplicateEdge, msg)
                    .warning()
                    .nodes(vec![edge.from.node.clone(), edge.to.node.clone()])
                    .edge(e);
                self.push(err);
                continue;
            }
            let from_node = self.endpoint(e, edge, true, from);
            let to_node = self.endpoint(e, edge, false, to);
            let (Some(a), Some(b)) = (from_node, to_node) else {
                continue;
            };
            links.push((a, b));
            let out_type = match from {
                Resolved::Port(a, p) => self.defs[a].map(|d| d.output_contract[p].port_type),
                _ => None,
            };
            let in_port = match to {
                Resolved::Port(b, p) => self.defs[b].map(|d| (p, d.input_contract[p].port_type)),
                _ => None,
            };
            if let (Some(out_type), Some((_, in_type))) = (out_type, in_port) {
                if !out_type.connects_to(in_type) {
                    let msg = format!(
                        "edge {} joins a {out_type} output to a {in_type} input; connect {} to a port that takes {out_type}, or feed {}.{} from a node that outputs {in_type}",
                        edge.describe(),
                        edge.from.node,
                        edge.to.node,
                        edge.to.port
                    );
                    let err = ValidationError::new(ErrorCode::PortTypeMismatch, msg)
                        .nodes(vec![edge.from.node.clone(), edge.to.node.clone()])
                        .edge(e)
                        .port(&edge.to.port)
                        .expected_got(in_type.to_string(), out_type.to_string());
                    self.push(err);
                }
            }
            if let Some((p, _)) = in_port {
                into_slots.push((slot_start[b] + p, e));
            }
        }
        let (edge_start, edges) = grouped(slots, into_slots.iter().copied(), into_slots.len());
        let incoming = Incoming {
            slot_start,
            edge_start,
            edges,
        };
        self.check_inputs(&incoming);
        Adjacency::new(n, &links)
    }

    /// Finds the node and port an edge end names, without reporting anything.
    fn resolve(&self, end: &PortRef, outgoing: bool) -> Resolved {
        let Some(&i) = self.index.get(end.node.as_str()) else {
            return Resolved::NoNode;
        };
        let Some(def) = self.defs[i] else {
            return Resolved::NoDefinition;
        };
        let ports = if outgoing {
            &def.output_contract
        } else {
            &def.input_contract
        };
        match ports.iter().position(|p| p.name == end.port) {
            Some(p) => Resolved::Port(i, p),
            None => Resolved::NoPort(i),
        }
    }

    /// Reports an edge end that names an unknown node or port; the node's index when it exists
    /// and has a known type.
    fn endpoint(&mut self, e: usize, edge: &Edge, outgoing: bool, end: Resolved) -> Option<usize> {
        let port_ref = if outgoing { &edge.from } else { &edge.to };
        let i = match end {
            Resolved::Port(i, _) => return Some(i),
            Resolved::NoDefinition => return None,
            Resolved::NoPort(i) => i,
            Resolved::NoNode => {
                let msg = format!(
                    "edge {} refers to node '{}', which is not in the graph; delete the edge or add the node",
                    edge.describe(),
                    port_ref.node
                );
                self.push(
                    ValidationError::new(ErrorCode::UnknownNode, msg)
                        .node(&port_ref.node)
                        .edge(e)
                        .port(&port_ref.port),
                );
                return None;
            }
        };
        let def = self.defs[i]?;
        let (ports, direction) = if outgoing {
            (&def.output_contract, "output")
        } else {
            (&def.input_contract, "input")
        };
        let available: Vec<String> = ports
            .iter()
            .map(|p| format!("{} ({})", p.name, p.port_type))
            .collect();
        let available = if available.is_empty() {
            "none".to_owned()
        } else {
            available.join(", ")
        };
        let renamed = self
            .registry
            .renamed_port(&def.node_type, &port_ref.port)
            .map(|to| format!(" (it was renamed to {to}: run normalize)"))
            .unwrap_or_default();
        let msg = format!(
            "edge {}: node {} has no {direction} port '{}'{renamed}; its {direction}s are: {available}",
            edge.describe(),
            self.describe(i),
            port_ref.port
        );
        self.push(
            ValidationError::new(ErrorCode::UnknownPort, msg)
                .node(&port_ref.node)
                .edge(e)
                .port(&port_ref.port),
        );
        Some(i)
    }

    fn check_inputs(&mut self, incoming: &Incoming) {
        let graph = self.graph;
        for i in 0..graph.nodes.len() {
            let Some(def) = self.defs[i] else { continue };
            for (p, port) in def.input_contract.iter().enumerate() {
                let edges = incoming.edges(i, p);
                let count = edges.len();
                if port.required && count == 0 {
                    let producers = self.producers(port.port_type);
                    let hint = if producers.is_empty() {
                        String::new()
                    } else {
                        format!(", e.g. {}", producers.join(" or "))
                    };
                    let msg = format!(
                        "node {} needs an input on port '{}' ({}); connect a node that outputs {}{hint}",
                        self.describe(i),
                        port.name,
                        port.port_type,
                        port.port_type
                    );
                    self.push(
                        ValidationError::new(ErrorCode::MissingRequiredInput, msg)
                            .node(&graph.nodes[i].id)
                            .port(&port.name),
                    );
                }
                if !port.multiple && count > 1 {
                    let mut ids: Vec<String> = vec![graph.nodes[i].id.clone()];
                    ids.extend(edges.iter().map(|&e| graph.edges[e].from.node.clone()));
                    let msg = format!(
                        "input '{}' of node {} takes one edge but has {count} (from {}); delete all but one",
                        port.name,
                        self.describe(i),
                        name_list(&ids[1..])
                    );
                    let mut err = ValidationError::new(ErrorCode::TooManyEdgesIntoSingleInput, msg)
                        .nodes(ids)
                        .port(&port.name);
                    err.edge = edges.get(1).copied();
                    self.push(err);
                }
            }
        }
    }

    /// Node types of the graph's family that output `port_type` (for fix-it hints).
    fn producers(&self, port_type: PortType) -> Vec<&'a str> {
        let registry = self.registry;
        registry
            .nodes
            .iter()
            .filter(|d| self.graph.family.is_none_or(|f| d.allows(f)))
            .filter(|d| d.output_contract.iter().any(|p| p.port_type == port_type))
            .map(|d| d.node_type.as_str())
            .take(2)
            .collect()
    }

    fn check_cycles(&mut self, adjacency: &Adjacency) {
        for mut members in cycles(adjacency) {
            members.sort_unstable();
            let ids: Vec<String> = members
                .iter()
                .map(|&i| self.graph.nodes[i].id.clone())
                .collect();
            let msg = format!(
                "nodes {} form a cycle; a workflow must flow one way, so remove one of the edges between them",
                name_list(&ids)
            );
            self.push(ValidationError::new(ErrorCode::Cycle, msg).nodes(ids));
        }
    }

    fn check_sinks(&mut self, adjacency: &Adjacency) {
        let graph = self.graph;
        let sinks: Vec<usize> = (0..graph.nodes.len())
            .filter(|&i| self.defs[i].is_some_and(|d| d.execution_role == ExecutionRole::Sink))
            .collect();
        if sinks.is_empty() {
            let suggestion: Vec<&str> = self
                .registry
                .nodes
                .iter()
                .filter(|d| d.execution_role == ExecutionRole::Sink)
                .filter(|d| graph.family.is_none_or(|f| d.allows(f)))
                .map(|d| d.node_type.as_str())
                .collect();
            let msg = format!(
                "the graph has no sink, so nothing it makes is published; add {} and connect the results to it",
                suggestion.join(" or ")
            );
            self.push(ValidationError::new(ErrorCode::NoSink, msg));
            return;
        }
        let mut reaches_sink = vec![false; graph.nodes.len()];
        let mut stack = sinks;
        for &s in &stack {
            reaches_sink[s] = true;
        }
        while let Some(v) = stack.pop() {
            for &u in adjacency.into(v) {
                if !reaches_sink[u] {
                    reaches_sink[u] = true;
                    stack.push(u);
                }
            }
        }
        for (i, reached) in reaches_sink.iter().enumerate() {
            // Duplicates of an id are already reported; their edges attach to the first copy.
            if !reached && self.index.get(graph.nodes[i].id.as_str()) == Some(&i) {
                let msg = format!(
                    "node {} does not lead to any sink, so its result is never used; connect its output or delete it",
                    self.describe(i)
                );
                self.push(
                    ValidationError::new(ErrorCode::UnreachableNode, msg)
                        .warning()
                        .node(&graph.nodes[i].id),
                );
            }
        }
    }
}

/// The strongly connected components that are cycles (more than one node, or one node with an
/// edge to itself), in Tarjan's order. Iterative so deep graphs cannot overflow the stack; only
/// cycles get a vector of their own.
fn cycles(adjacency: &Adjacency) -> Vec<Vec<usize>> {
    const UNVISITED: usize = usize::MAX;
    let n = adjacency.out_start.len() - 1;
    let mut index = vec![UNVISITED; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut components = Vec::new();
    let mut next = 0usize;
    let mut call: Vec<(usize, usize)> = Vec::new();
    for root in 0..n {
        if index[root] != UNVISITED {
            continue;
        }
        call.push((root, 0));
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut child)) = call.last_mut() {
            if let Some(&w) = adjacency.out(v).get(*child) {
                *child += 1;
                if index[w] == UNVISITED {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            call.pop();
            if let Some(&(parent, _)) = call.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                // The component is the stack down to v.
                let Some(at) = stack.iter().rposition(|&w| w == v) else {
                    continue;
                };
                let single = stack.len() - at == 1;
                if !single || adjacency.out(v).contains(&v) {
                    components.push(stack[at..].iter().rev().copied().collect());
                }
                for &w in &stack[at..] {
                    on_stack[w] = false;
                }
                stack.truncate(at);
            }
        }
    }
    components
}

/// `'a', 'b', 'c'`, shortened after ten names so messages stay readable on huge graphs.
fn name_list(ids: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut s = ids
        .iter()
        .take(SHOWN)
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > SHOWN {
        s.push_str(&format!(" and {} more", ids.len() - SHOWN));
    }
    s
}

/// The candidate nearest to `word` by edit distance, when it is close enough to be a typo.
fn closest<'c>(word: &str, candidates: impl Iterator<Item = &'c str>) -> Option<&'c str> {
    candidates
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= c.len().max(word.len()).div_ceil(3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod large_tests;
