//! The legacy pipeline and dispatch inputs.

use super::*;

fn legacy_still() -> OutputTypeSpec {
    OutputTypeSpec {
        name: "Still".into(),
        workflow_family: Family::OrderLine,
        artifact_kind: ArtifactKind::Still,
        workflow_id: None,
        invocation_overrides: Map::new(),
        legacy_settings: json!({"renderer": "legacy", "kind": "still", "width": 1024,
                                "height": 768, "background": "#ffffff", "format": "jpeg"}),
        rollout: Rollout::Legacy,
        fallback_to_legacy: false,
    }
}

#[tokio::test]
async fn legacy_pipeline_calls_the_same_module_instances_step_by_step() {
    let probe = Arc::new(Probe::new());
    let (runtime, _) = runtime_with(&probe, fast());
    runtime
        .run_graph(
            request(Family::OrderLine, json!({})),
            None,
            CancellationToken::new(),
        )
        .await
        .expect("graph");
    let report = runtime
        .run_legacy(
            &legacy_still(),
            "legacy-1",
            Map::new(),
            Map::new(),
            None,
            CancellationToken::new(),
        )
        .await
        .expect("legacy pipeline");
    assert_eq!(report.status, RunStatus::Succeeded, "{report:#?}");
    let steps: Vec<&str> = report.nodes.iter().map(|n| n.node_id.as_str()).collect();
    assert_eq!(
        steps,
        [
            "order.load",
            "order.load_scene",
            "order.apply_materials",
            "order.camera",
            "order.lighting",
            "order.render_still",
            "order.publish"
        ]
    );
    let calls = probe.calls();
    // The same probe instance served the graph's `render` and the legacy step.
    assert!(calls.contains(&"render".to_owned()));
    assert_eq!(
        &calls[7..],
        steps.as_slice(),
        "legacy steps run one by one, in order"
    );
    let params = probe.params_of("order.render_still");
    assert_eq!(params["width"], json!(1024));
    assert_eq!(
        params["file_format"],
        json!("jpeg"),
        "legacy 'format' alias"
    );
    let render = report.node("order.render_still").expect("step");
    assert_eq!(render.module_key, "render.image");
}

#[tokio::test]
async fn legacy_failures_and_unknown_pipelines_are_structured() {
    let probe = Arc::new(Probe {
        fail: HashSet::from(["order.camera".to_owned()]),
        ..Probe::new()
    });
    let (runtime, _) = runtime_with(&probe, fast());
    let report = runtime
        .run_legacy(
            &legacy_still(),
            "l",
            Map::new(),
            Map::new(),
            None,
            CancellationToken::new(),
        )
        .await
        .expect("runs");
    assert_eq!(report.status, RunStatus::Failed);
    let publish = report.node("order.publish").expect("publish");
    let skip = publish.error.as_ref().expect("skip");
    assert_eq!(skip.root_cause_node.as_deref(), Some("order.camera"));

    let mut bad = legacy_still();
    bad.legacy_settings = json!({"width": 0});
    let err = runtime
        .run_legacy(
            &bad,
            "l2",
            Map::new(),
            Map::new(),
            None,
            CancellationToken::new(),
        )
        .await
        .expect_err("invalid preset");
    assert_eq!(err.code(), "invalid_legacy_settings");
    let mut none = legacy_still();
    none.workflow_family = Family::CadFile;
    none.artifact_kind = ArtifactKind::Still;
    let err = crate::runtime::legacy::legacy_steps(none.workflow_family, none.artifact_kind)
        .expect_err("none");
    assert_eq!(err.code(), "no_legacy_pipeline");
}

#[test]
fn cad_legacy_graph_wires_by_port_type() {
    let registry = Registry::builtin();
    let mut spec = legacy_still();
    spec.workflow_family = Family::CadFile;
    spec.artifact_kind = ArtifactKind::Thumbnail;
    spec.legacy_settings = json!({"width": 256, "height": 256});
    let graph: Graph = crate::runtime::legacy::legacy_graph(&spec, &registry).expect("valid");
    assert!(workflow_contracts::validate(&graph, &registry).valid);
    let thumb = graph.node("cad.thumbnail").expect("step");
    assert_eq!(thumb.params["width"], json!(256));
    assert_eq!(thumb.node_type, "render.thumbnail");
}

#[test]
fn inputs_are_checked_per_source_node() {
    let graph = starter_graph(Family::OrderLine, &Registry::builtin());
    let problems = inputs::check_inputs(&graph, &Map::new());
    assert_eq!(problems.len(), 2);
    let ok = json!({"order_line_id": "ol-1", "product_id": "p-1"});
    assert!(inputs::check_inputs(&graph, ok.as_object().expect("object")).is_empty());
    let bad = json!({"order_line_id": 5, "product_id": "p"});
    let problems = inputs::check_inputs(&graph, bad.as_object().expect("object"));
    assert_eq!(problems[0].code, "invalid_input");
}
