//! Large generated graphs validate clean, and breakage is reported per node, not capped.

use serde_json::json;
use workflow_contracts::generate::replicated_starter;
use workflow_contracts::{validate, ErrorCode, Registry};

#[test]
fn ten_thousand_node_graph_is_valid_and_breakage_is_counted_exactly() {
    let registry = Registry::builtin();
    let mut graph = replicated_starter(10_000, &registry);
    assert!(graph.nodes.len() >= 10_000);
    let report = validate(&graph, &registry);
    assert!(report.valid && report.errors.is_empty());
    let renders: Vec<usize> = (0..graph.nodes.len())
        .filter(|&i| graph.nodes[i].node_type == "render.still")
        .collect();
    for &i in &renders {
        graph.nodes[i].params.insert("samples".into(), json!(99));
    }
    let report = validate(&graph, &registry);
    let invalid = report
        .errors
        .iter()
        .filter(|e| e.code == ErrorCode::ParamInvalid)
        .count();
    assert_eq!(invalid, renders.len());
}

#[test]
fn publishing_units_make_a_valid_thousand_node_graph() {
    let registry = Registry::builtin();
    let graph = workflow_contracts::generate::publishing_units(100, &registry);
    assert_eq!((graph.nodes.len(), graph.edges.len()), (1_000, 1_500));
    let report = validate(&graph, &registry);
    assert!(
        report.valid && report.errors.is_empty(),
        "{:?}",
        report.errors.first()
    );
}
