//! Family-aware graph validation: every problem in one linear pass, each with a stable code,
//! the nodes, port or parameter involved, and a message that says how to fix it.

use crate::family::Family;
use crate::graph::{Edge, Graph};
use crate::node::{ExecutionRole, NodeDefinition};
use crate::param::ParamSpec;
use crate::port::PortType;
use crate::registry::Registry;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

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
fn node_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// Why `id` is not a safe node id, or `None` when it is. Node ids name files a client writes
/// (saved frames, artifacts) and appear in logs and URLs, so they are kept to ASCII letters,
/// digits, `_`, `-` and `.`, not starting with `.` or `-` (no hidden files, no options), at most
/// [`MAX_NODE_ID_LEN`] characters.
pub fn node_id_problem(id: &str) -> Option<String> {
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

/// Forward and reverse adjacency over node indices (edges between existing nodes only).
struct Adjacency {
    out: Vec<Vec<usize>>,
    into: Vec<Vec<usize>>,
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
            if self.index.contains_key(node.id.as_str()) {
                duplicates.push((node.id.as_str(), i));
            } else {
                self.index.insert(node.id.as_str(), i);
            }
            self.defs.push(self.registry.get(&node.node_type));
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
        let mut exclusive: Vec<(Family, Vec<String>)> = Vec::new();
        for (i, def) in self.defs.iter().enumerate() {
            let Some(def) = def else { continue };
            if let [only] = def.families[..] {
                match exclusive.iter_mut().find(|(f, _)| *f == only) {
                    Some((_, ids)) => ids.push(graph.nodes[i].id.clone()),
                    None => exclusive.push((only, vec![graph.nodes[i].id.clone()])),
                }
            }
        }
        if exclusive.len() > 1 {
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
                if spec.required
                    && !node.params.contains_key(&spec.name)
                    && ParamSpec::is_blank(&spec.default)
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
        let mut adjacency = Adjacency {
            out: vec![Vec::new(); n],
            into: vec![Vec::new(); n],
        };
        let mut incoming: HashMap<(usize, &str), Vec<usize>> = HashMap::new();
        let mut seen: HashSet<&Edge> = HashSet::with_capacity(graph.edges.len());
        for (e, edge) in graph.edges.iter().enumerate() {
            if !seen.insert(edge) {
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
            let from = self.endpoint(e, edge, true);
            let to = self.endpoint(e, edge, false);
            let (Some(a), Some(b)) = (from, to) else {
                continue;
            };
            adjacency.out[a].push(b);
            adjacency.into[b].push(a);
            let out_type = self.defs[a]
                .and_then(|d| d.output(&edge.from.port))
                .map(|p| p.port_type);
            let in_type = self.defs[b]
                .and_then(|d| d.input(&edge.to.port))
                .map(|p| p.port_type);
            if let (Some(out_type), Some(in_type)) = (out_type, in_type) {
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
            if in_type.is_some() {
                incoming
                    .entry((b, edge.to.port.as_str()))
                    .or_default()
                    .push(e);
            }
        }
        self.check_inputs(&incoming);
        adjacency
    }

    /// Resolves one end of an edge to a node index, reporting unknown nodes and ports.
    fn endpoint(&mut self, e: usize, edge: &Edge, outgoing: bool) -> Option<usize> {
        let end = if outgoing { &edge.from } else { &edge.to };
        let Some(&i) = self.index.get(end.node.as_str()) else {
            let msg = format!(
                "edge {} refers to node '{}', which is not in the graph; delete the edge or add the node",
                edge.describe(),
                end.node
            );
            self.push(
                ValidationError::new(ErrorCode::UnknownNode, msg)
                    .node(&end.node)
                    .edge(e)
                    .port(&end.port),
            );
            return None;
        };
        let def = self.defs[i]?;
        let (ports, direction) = if outgoing {
            (&def.output_contract, "output")
        } else {
            (&def.input_contract, "input")
        };
        if !ports.iter().any(|p| p.name == end.port) {
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
                .renamed_port(&def.node_type, &end.port)
                .map(|to| format!(" (it was renamed to {to}: run normalize)"))
                .unwrap_or_default();
            let msg = format!(
                "edge {}: node {} has no {direction} port '{}'{renamed}; its {direction}s are: {available}",
                edge.describe(),
                self.describe(i),
                end.port
            );
            self.push(
                ValidationError::new(ErrorCode::UnknownPort, msg)
                    .node(&end.node)
                    .edge(e)
                    .port(&end.port),
            );
        }
        Some(i)
    }

    fn check_inputs(&mut self, incoming: &HashMap<(usize, &str), Vec<usize>>) {
        let graph = self.graph;
        for i in 0..graph.nodes.len() {
            let Some(def) = self.defs[i] else { continue };
            for port in &def.input_contract {
                let edges = incoming.get(&(i, port.name.as_str()));
                let count = edges.map_or(0, Vec::len);
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
                if let Some(edges) = edges.filter(|_| !port.multiple && count > 1) {
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
        for component in strongly_connected(&adjacency.out) {
            let is_cycle = component.len() > 1 || {
                let v = component[0];
                adjacency.out[v].contains(&v)
            };
            if !is_cycle {
                continue;
            }
            let mut members = component;
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
            for &u in &adjacency.into[v] {
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

/// Tarjan's strongly connected components, iterative so deep graphs cannot overflow the stack.
fn strongly_connected(out: &[Vec<usize>]) -> Vec<Vec<usize>> {
    const UNVISITED: usize = usize::MAX;
    let n = out.len();
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
            if let Some(&w) = out[v].get(*child) {
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
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                components.push(component);
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
