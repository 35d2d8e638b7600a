//! One test per validation code, each on a small edit of a starter graph so the failure is
//! exactly the problem under test.

use super::*;
use crate::graph::GraphNode;
use crate::starter::{node_with_defaults, starter_graph};
use serde_json::json;

fn registry() -> Registry {
    Registry::builtin()
}

fn order() -> Graph {
    starter_graph(Family::OrderLine, &registry())
}

fn cad() -> Graph {
    starter_graph(Family::CadFile, &registry())
}

fn only(report: &ValidationReport, code: ErrorCode) -> &ValidationError {
    let found: Vec<&ValidationError> = report.errors.iter().filter(|e| e.code == code).collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {code:?} in {:#?}",
        report.errors
    );
    found[0]
}

fn node_mut<'g>(g: &'g mut Graph, id: &str) -> &'g mut GraphNode {
    g.nodes
        .iter_mut()
        .find(|n| n.id == id)
        .expect("node exists in starter")
}

#[test]
fn unknown_node_type_suggests_the_nearest_type_or_the_rename() {
    let mut g = order();
    node_mut(&mut g, "render").node_type = "render.stil".into();
    let report = validate(&g, &registry());
    let e = only(&report, ErrorCode::UnknownNodeType);
    assert_eq!(e.nodes, ["render"]);
    assert!(
        e.message.contains("did you mean render.still?"),
        "{}",
        e.message
    );

    node_mut(&mut g, "render").node_type = "cad.thumbnail".into();
    let report = validate(&g, &registry());
    let e = only(&report, ErrorCode::UnknownNodeType);
    assert!(
        e.message.contains("renamed to render.thumbnail"),
        "{}",
        e.message
    );
}

#[test]
fn family_mismatch_names_node_and_both_families() {
    let mut g = order();
    g.nodes
        .push(node_with_defaults("thumb", "render.thumbnail", &registry()));
    g.edges
        .push(Edge::new("lighting", "scene", "thumb", "scene"));
    g.edges
        .push(Edge::new("thumb", "image", "publish", "image"));
    let report = validate(&g, &registry());
    assert!(!report.valid);
    let e = only(&report, ErrorCode::FamilyMismatch);
    assert_eq!(e.nodes, ["thumb"]);
    assert!(e.message.contains("order_line graph"), "{}", e.message);
    assert!(e.message.contains("belongs to cad_file"), "{}", e.message);
    assert_eq!(e.expected.as_deref(), Some("order_line"));
    assert_eq!(e.got.as_deref(), Some("cad_file"));
}

#[test]
fn mixed_family_names_the_nodes_of_each_family() {
    let mut g = order();
    let cad_graph = cad();
    for mut n in cad_graph.nodes {
        n.id = format!("cad_{}", n.id);
        g.nodes.push(n);
    }
    for mut e in cad_graph.edges {
        e.from.node = format!("cad_{}", e.from.node);
        e.to.node = format!("cad_{}", e.to.node);
        g.edges.push(e);
    }
    let report = validate(&g, &registry());
    let e = only(&report, ErrorCode::MixedFamily);
    assert!(
        e.message.contains("cad_file nodes ('cad_source'"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("order_line nodes ('order'"),
        "{}",
        e.message
    );
    assert_eq!(e.nodes.len(), 13);
    // Each cad node is also a family mismatch in the declared order_line family.
    assert_eq!(
        report
            .errors
            .iter()
            .filter(|e| e.code == ErrorCode::FamilyMismatch)
            .count(),
        6
    );
}

#[test]
fn missing_family_suggests_the_one_its_nodes_imply() {
    let mut g = cad();
    g.family = None;
    let report = validate(&g, &registry());
    let e = only(&report, ErrorCode::MissingFamily);
    assert!(
        e.message.contains("\"family\": \"cad_file\""),
        "{}",
        e.message
    );
}

#[test]
fn unknown_port_lists_the_ports_that_exist() {
    let mut g = order();
    g.edges[0].from.port = "line".into();
    let report = validate(&g, &registry());
    let e = only(&report, ErrorCode::UnknownPort);
    assert_eq!(e.nodes, ["order"]);
    assert_eq!(e.port.as_deref(), Some("line"));
    assert_eq!(e.edge, Some(0));
    assert!(e.message.contains("no output port 'line'"), "{}", e.message);
    assert!(
        e.message.contains("order_line (order_line)"),
        "{}",
        e.message
    );
    // The input it fed is now unfed as well.
    assert!(report.has(ErrorCode::UnknownPort));
}

#[test]
fn unknown_node_in_edge_is_reported() {
    let mut g = order();
    g.edges
        .push(Edge::new("ghost", "image", "publish", "image"));
    let report = validate(&g, &registry());
    let e = only(&report, ErrorCode::UnknownNode);
    assert_eq!(e.nodes, ["ghost"]);
    assert_eq!(e.edge, Some(g.edges.len() - 1));
}

#[test]
fn port_type_mismatch_names_both_types() {
    let mut g = order();
    // order.source's order_line output into render.still's scene input.
    g.edges.retain(|e| e.to.node != "render");
    g.edges
        .push(Edge::new("order", "order_line", "render", "scene"));
    let report = validate(&g, &registry());
    let e = only(&report, ErrorCode::PortTypeMismatch);
    assert!(
        e.message.contains("order_line output to a scene input"),
        "{}",
        e.message
    );
    assert_eq!(e.expected.as_deref(), Some("scene"));
    assert_eq!(e.got.as_deref(), Some("order_line"));
    assert_eq!(e.nodes, ["order", "render"]);
}

#[test]
fn missing_required_input_names_port_and_a_producer() {
    let mut g = order();
    g.edges.retain(|e| e.to.node != "camera");
    let report = validate(&g, &registry());
    let e = only(&report, ErrorCode::MissingRequiredInput);
    assert_eq!(e.nodes, ["camera"]);
    assert_eq!(e.port.as_deref(), Some("scene"));
    assert!(
        e.message.contains("e.g. order.load_product_scene"),
        "{}",
        e.message
    );
    // Optional inputs (material.resolve.manifest) never trigger it.
    let mut g = order();
    g.edges
        .retain(|e| !(e.to.node == "materials" && e.to.port == "manifest"));
    assert!(validate(&g, &registry()).valid);
}

#[test]
fn too_many_edges_into_single_input() {
    let mut g = order();
    g.edges
        .push(Edge::new("materials", "scene", "render", "scene"));
    let report = validate(&g, &registry());
    let e = only(&report, ErrorCode::TooManyEdgesIntoSingleInput);
    assert_eq!(e.port.as_deref(), Some("scene"));
    assert_eq!(e.nodes, ["render", "lighting", "materials"]);
    // A `multiple` input takes many: two stills into output.publish.image are fine.
    let mut g = order();
    g.nodes
        .push(node_with_defaults("render2", "render.still", &registry()));
    g.edges
        .push(Edge::new("lighting", "scene", "render2", "scene"));
    g.edges
        .push(Edge::new("render2", "image", "publish", "image"));
    let report = validate(&g, &registry());
    assert!(report.valid, "{:#?}", report.errors);
}

#[test]
fn duplicate_edge_is_a_warning() {
    let mut g = order();
    g.edges.push(g.edges[0].clone());
    let report = validate(&g, &registry());
    let e = only(&report, ErrorCode::DuplicateEdge);
    assert_eq!(e.severity, Severity::Warning);
    assert!(report.valid);
}

#[test]
fn cycle_names_every_node_on_it() {
    let mut g = order();
    // lighting -> camera closes camera -> lighting; camera's scene input now has two edges.
    g.edges
        .push(Edge::new("lighting", "scene", "camera", "scene"));
    let report = validate(&g, &registry());
    let e = only(&report, ErrorCode::Cycle);
    assert_eq!(e.nodes, ["camera", "lighting"]);
    assert!(
        e.message.contains("'camera', 'lighting' form a cycle"),
        "{}",
        e.message
    );
}

#[test]
fn self_loop_is_a_cycle() {
    let mut g = order();
    g.edges
        .push(Edge::new("camera", "scene", "camera", "scene"));
    let report = validate(&g, &registry());
    assert_eq!(only(&report, ErrorCode::Cycle).nodes, ["camera"]);
}

#[test]
fn no_sink_suggests_the_family_sink() {
    let mut g = cad();
    g.nodes.retain(|n| n.id != "publish");
    g.edges.retain(|e| e.to.node != "publish");
    let report = validate(&g, &registry());
    let e = only(&report, ErrorCode::NoSink);
    assert!(e.message.contains("add cad.publish"), "{}", e.message);
    let empty = Graph::new(Family::OrderLine);
    assert!(validate(&empty, &registry()).has(ErrorCode::NoSink));
}

#[test]
fn unreachable_node_is_a_warning_naming_it() {
    let mut g = order();
    g.nodes.push(node_with_defaults(
        "extra_camera",
        "scene.camera",
        &registry(),
    ));
    g.edges
        .push(Edge::new("materials", "scene", "extra_camera", "scene"));
    let report = validate(&g, &registry());
    let e = only(&report, ErrorCode::UnreachableNode);
    assert_eq!(e.nodes, ["extra_camera"]);
    assert_eq!(e.severity, Severity::Warning);
    assert!(report.valid);
}

#[test]
fn unknown_param_suggests_the_real_name() {
    let mut g = order();
    node_mut(&mut g, "render")
        .params
        .insert("widht".into(), json!(100));
    node_mut(&mut g, "materials")
        .params
        .insert("policy".into(), json!("fail"));
    let report = validate(&g, &registry());
    let errors: Vec<_> = report
        .errors
        .iter()
        .filter(|e| e.code == ErrorCode::UnknownParam)
        .collect();
    assert_eq!(errors.len(), 2);
    assert!(
        errors[0].message.contains("did you mean width?")
            || errors[1].message.contains("did you mean width?")
    );
    assert!(errors
        .iter()
        .any(|e| e.message.contains("renamed to missing_policy")));
}

#[test]
fn param_invalid_says_expected_and_got() {
    let mut g = order();
    node_mut(&mut g, "render")
        .params
        .insert("width".into(), json!(0));
    node_mut(&mut g, "camera")
        .params
        .insert("camera_preset".into(), json!("isometric"));
    node_mut(&mut g, "render")
        .params
        .insert("background".into(), json!("white"));
    let report = validate(&g, &registry());
    let errors: Vec<_> = report
        .errors
        .iter()
        .filter(|e| e.code == ErrorCode::ParamInvalid)
        .collect();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    let width = errors
        .iter()
        .find(|e| e.param.as_deref() == Some("width"))
        .expect("width");
    assert!(
        width.message.contains("width 0 px is below minimum 16 px"),
        "{}",
        width.message
    );
    assert_eq!(width.nodes, ["render"]);
    assert_eq!(width.expected.as_deref(), Some(">= 16"));
    assert_eq!(width.got.as_deref(), Some("0"));
    let preset = errors
        .iter()
        .find(|e| e.param.as_deref() == Some("camera_preset"))
        .expect("preset");
    assert!(
        preset.message.contains("three_quarter"),
        "{}",
        preset.message
    );
}

#[test]
fn missing_required_param_for_blank_values() {
    let mut g = order();
    node_mut(&mut g, "publish")
        .params
        .insert("naming_template".into(), json!("  "));
    let report = validate(&g, &registry());
    let e = only(&report, ErrorCode::MissingRequiredParam);
    assert_eq!(e.param.as_deref(), Some("naming_template"));
    assert!(e.message.contains("e.g."), "{}", e.message);
    // Absent params fall back to their defaults and are fine.
    let mut g = order();
    node_mut(&mut g, "publish").params.clear();
    assert!(validate(&g, &registry()).valid);
}

#[test]
fn duplicate_node_id_names_both_types() {
    let mut g = order();
    g.nodes
        .push(node_with_defaults("camera", "scene.lighting", &registry()));
    let report = validate(&g, &registry());
    let e = only(&report, ErrorCode::DuplicateNodeId);
    assert!(
        e.message.contains("scene.camera, scene.lighting"),
        "{}",
        e.message
    );
}

#[test]
fn reports_every_problem_at_once() {
    let mut g = order();
    node_mut(&mut g, "render")
        .params
        .insert("width".into(), json!(-1));
    node_mut(&mut g, "render")
        .params
        .insert("nope".into(), json!(1));
    g.edges.retain(|e| e.to.node != "camera");
    g.nodes.push(GraphNode::new("x", "unknown.kind"));
    let report = validate(&g, &registry());
    for code in [
        ErrorCode::ParamInvalid,
        ErrorCode::UnknownParam,
        ErrorCode::MissingRequiredInput,
        ErrorCode::UnknownNodeType,
        ErrorCode::UnreachableNode,
    ] {
        assert!(
            report.has(code),
            "{code:?} missing from {:#?}",
            report.errors
        );
    }
}

#[test]
fn codes_serialize_as_their_stable_names() {
    for code in [
        ErrorCode::TooManyEdgesIntoSingleInput,
        ErrorCode::NoSink,
        ErrorCode::ParamInvalid,
    ] {
        assert_eq!(
            serde_json::to_value(code).expect("serializes"),
            json!(code.as_str())
        );
    }
}

#[test]
fn deep_chains_do_not_overflow_the_stack() {
    let reg = registry();
    let mut g = order();
    let mut prev = "lighting".to_owned();
    g.edges.retain(|e| e.to.node != "render");
    for i in 0..100_000 {
        let id = format!("cam{i}");
        g.nodes.push(GraphNode::new(&id, "scene.camera"));
        g.edges.push(Edge::new(&prev, "scene", &id, "scene"));
        prev = id;
    }
    g.edges.push(Edge::new(&prev, "scene", "render", "scene"));
    let report = validate(&g, &reg);
    assert!(
        report.valid,
        "{:#?}",
        &report.errors[..report.errors.len().min(3)]
    );
}

#[test]
fn node_ids_outside_the_safe_set_are_refused_naming_the_node() {
    for (bad, why) in [
        ("../../evil", "'/'"),
        ("", "empty"),
        (".hidden", "starts with"),
        ("-rf", "starts with"),
        ("a b", "' '"),
        ("ré", "'é'"),
    ] {
        let mut g = order();
        let old = g.nodes[0].id.clone();
        g.nodes[0].id = bad.to_owned();
        for e in &mut g.edges {
            for end in [&mut e.from, &mut e.to] {
                if end.node == old {
                    end.node = bad.to_owned();
                }
            }
        }
        let report = validate(&g, &registry());
        assert!(!report.valid, "{bad:?}");
        let e = only(&report, ErrorCode::InvalidNodeId);
        assert_eq!(e.nodes, vec![bad.to_owned()]);
        assert!(e.message.contains(why), "{bad:?}: {}", e.message);
        assert!(e.message.contains(&g.nodes[0].node_type), "{}", e.message);
        assert_eq!(ErrorCode::InvalidNodeId.as_str(), "invalid_node_id");
    }
    // Long ids: refused over the limit, quoted only up to it.
    let mut g = order();
    g.nodes[0].id = "x".repeat(5000);
    let report = validate(&g, &registry());
    let e = only(&report, ErrorCode::InvalidNodeId);
    assert!(e.message.contains("over the limit of 64"), "{}", e.message);
    assert!(e.message.len() < 400, "{}", e.message.len());
    // What the editor and the starters make passes: dots inside, digits, `-`, `_`.
    for good in [
        "render_still_2",
        "order.render_still",
        "a-b.c_9",
        &"y".repeat(64),
    ] {
        assert_eq!(node_id_problem(good), None, "{good}");
    }
    assert!(validate(&order(), &registry()).valid);
    assert!(validate(&cad(), &registry()).valid);
}

#[test]
fn safe_node_ids_are_what_validation_accepts() {
    for (from, to) in [
        ("../../evil", "n.._.._evil"),
        ("", "node"),
        (".hidden", "n.hidden"),
        ("-rf", "n-rf"),
        ("a b/c", "a_b_c"),
        ("ré", "r_"),
    ] {
        let safe = safe_node_id(from);
        assert_eq!(safe, to);
        assert_eq!(node_id_problem(&safe), None, "{from:?} → {safe:?}");
    }
    let long = safe_node_id(&"é".repeat(100));
    assert_eq!(long.len(), MAX_NODE_ID_LEN);
    assert_eq!(node_id_problem(&long), None);
}
