//! Validation of a 10,000-node graph with every kind of problem must report exactly what the
//! straightforward implementation reported: same problems, same order, same messages. The
//! fingerprints below were taken from that implementation (before the speed work of issue 15)
//! and pin the whole report, field for field.

use super::*;
use crate::generate::replicated_starter;
use crate::graph::GraphNode;
use crate::starter::node_with_defaults;
use serde_json::json;

/// FNV-1a over the report's JSON: a stable fingerprint of every field of every problem.
fn fingerprint(report: &ValidationReport) -> u64 {
    let json = serde_json::to_vec(report).expect("a report serializes");
    json.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Problems per code, for a readable failure before the fingerprint is compared.
fn counts(report: &ValidationReport) -> Vec<(ErrorCode, usize)> {
    let mut counts: Vec<(ErrorCode, usize)> = Vec::new();
    for e in &report.errors {
        match counts.iter_mut().find(|(c, _)| *c == e.code) {
            Some((_, n)) => *n += 1,
            None => counts.push((e.code, 1)),
        }
    }
    counts.sort();
    counts
}

/// The 10k starter copies with every problem validation knows, spread over the graph.
fn broken_10k(registry: &Registry) -> Graph {
    let mut g = replicated_starter(10_000, registry);
    // Bad, unknown, renamed and blank parameters.
    for (k, node) in g.nodes.iter_mut().enumerate().step_by(10) {
        match node.node_type.as_str() {
            "render.still" => {
                node.params.insert("width".into(), json!(0));
            }
            "scene.camera" if k % 20 == 0 => {
                node.params.insert("fvo".into(), json!(40));
            }
            "scene.camera" => {
                node.params.insert("zzzz".into(), json!(1));
            }
            "material.resolve" => {
                node.params.insert("policy".into(), json!("warn"));
            }
            "output.publish" => {
                node.params.insert("naming_template".into(), json!("  "));
            }
            _ => {
                node.params.insert("nope".into(), json!(true));
            }
        }
    }
    // Wrong ports on both ends, unknown nodes, duplicates, a single input fed twice.
    let edges = g.edges.len();
    for e in (0..edges).step_by(10) {
        g.edges[e].to.port = "nope".into();
    }
    for e in (5..edges).step_by(40) {
        g.edges[e].from.port = "scne".into();
    }
    for e in (3..edges).step_by(50) {
        let copy = g.edges[e].clone();
        g.edges.push(copy);
    }
    for c in (0..1400).step_by(70) {
        g.edges.push(Edge::new(
            &format!("materials_{c}"),
            "scene",
            &format!("render_{c}"),
            "scene",
        ));
        g.edges.push(Edge::new(
            &format!("lighting_{c}"),
            "scene",
            &format!("camera_{c}"),
            "scene",
        ));
        g.edges.push(Edge::new(
            &format!("camera_{}", c + 1),
            "scene",
            &format!("camera_{}", c + 1),
            "scene",
        ));
        g.edges.push(Edge::new(
            &format!("ghost_{c}"),
            "image",
            &format!("publish_{c}"),
            "image",
        ));
        g.edges.push(Edge::new(
            &format!("materials_{c}"),
            "report",
            &format!("publish_{c}"),
            "image",
        ));
    }
    // A chain of copies linked into one long cycle.
    for c in 100..160 {
        g.edges.push(Edge::new(
            &format!("lighting_{c}"),
            "scene",
            &format!("camera_{}", c + 1),
            "scene",
        ));
    }
    g.edges
        .push(Edge::new("lighting_160", "scene", "camera_100", "scene"));
    // Unknown, renamed and wrong-family node types, duplicate and unsafe ids.
    g.nodes.push(GraphNode::new("odd_1", "render.stil"));
    g.nodes.push(GraphNode::new("odd_2", "cad.thumbnail"));
    g.nodes.push(GraphNode::new("odd_3", "completely.unknown"));
    g.nodes
        .push(node_with_defaults("thumb_1", "render.thumbnail", registry));
    g.nodes
        .push(node_with_defaults("render_7", "render.turntable", registry));
    g.nodes
        .push(node_with_defaults("render_7", "render.still", registry));
    g.nodes
        .push(node_with_defaults("-bad id", "scene.camera", registry));
    g.nodes.push(node_with_defaults(
        &"x".repeat(90),
        "scene.camera",
        registry,
    ));
    g.edges
        .push(Edge::new("lighting_3", "scene", "thumb_1", "scene"));
    g.edges
        .push(Edge::new("odd_1", "image", "publish_3", "image"));
    g
}

#[test]
fn a_broken_10k_graph_gives_the_same_report_as_before() {
    let registry = Registry::builtin();
    let g = broken_10k(&registry);
    let report = validate(&g, &registry);
    assert!(!report.valid);
    assert_eq!(
        counts(&report),
        EXPECTED_COUNTS,
        "problems per code changed"
    );
    assert_eq!(fingerprint(&report), EXPECTED_FINGERPRINT, "report changed");

    // Without a family: the missing family and the mix of families are reported too.
    let mut g = g;
    g.family = None;
    let report = validate(&g, &registry);
    assert_eq!(
        fingerprint(&report),
        EXPECTED_FINGERPRINT_NO_FAMILY,
        "report without family changed: {:?}",
        counts(&report)
    );
}

#[test]
fn a_valid_10k_graph_stays_valid_with_no_problem() {
    let registry = Registry::builtin();
    let g = replicated_starter(10_000, &registry);
    let report = validate(&g, &registry);
    assert!(report.valid);
    assert!(report.errors.is_empty(), "{:?}", &report.errors[..1]);
}

const EXPECTED_COUNTS: &[(ErrorCode, usize)] = &[
    (ErrorCode::DuplicateNodeId, 1),
    (ErrorCode::UnknownNodeType, 3),
    (ErrorCode::FamilyMismatch, 1),
    (ErrorCode::MixedFamily, 1),
    (ErrorCode::UnknownNode, 20),
    (ErrorCode::UnknownPort, 1251),
    (ErrorCode::PortTypeMismatch, 20),
    (ErrorCode::DuplicateEdge, 200),
    (ErrorCode::MissingRequiredInput, 694),
    (ErrorCode::TooManyEdgesIntoSingleInput, 95),
    (ErrorCode::Cycle, 39),
    (ErrorCode::UnreachableNode, 6),
    (ErrorCode::UnknownParam, 715),
    (ErrorCode::ParamInvalid, 143),
    (ErrorCode::MissingRequiredParam, 143),
    (ErrorCode::InvalidNodeId, 2),
];
const EXPECTED_FINGERPRINT: u64 = 0x775b_e8c4_a5a9_1466;
const EXPECTED_FINGERPRINT_NO_FAMILY: u64 = 0x98cb_3d54_67f6_8b76;
