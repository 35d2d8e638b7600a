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

/// The fallback must not depend on the graph scheduler: with a scheduler that never starts a
/// node, a graph run fails while the legacy pipeline still runs every step.
#[tokio::test]
async fn legacy_runs_without_the_graph_scheduler() {
    let probe = Arc::new(Probe::new());
    let (runtime, artifacts) = runtime_with(&probe, fast());
    super::super::executor::BROKEN_SCHEDULER.with(|b| b.set(true));
    let graph = runtime
        .run_graph(
            request(Family::OrderLine, json!({})),
            None,
            CancellationToken::new(),
        )
        .await
        .expect("starts");
    let legacy = runtime
        .run_legacy(
            &legacy_still(),
            "legacy-broken-scheduler",
            Map::new(),
            Map::new(),
            None,
            CancellationToken::new(),
        )
        .await
        .expect("legacy pipeline");
    super::super::executor::BROKEN_SCHEDULER.with(|b| b.set(false));
    assert_eq!(
        graph.status,
        RunStatus::Failed,
        "the fault bites graph runs"
    );
    assert!(graph.nodes.iter().all(|n| n.status == NodeStatus::Pending));
    assert_eq!(legacy.status, RunStatus::Succeeded, "{legacy:#?}");
    assert_eq!(probe.calls().len(), 7, "every legacy step ran");
    let render = legacy.node("order.render_still").expect("step");
    assert_eq!(render.artifacts.len(), 1);
    assert!(artifacts.get(&render.artifacts[0].id).is_some());
}

/// What a record shows, without times and store-assigned ids.
fn comparable(nodes: &[NodeRun]) -> Vec<Value> {
    nodes
        .iter()
        .map(|n| {
            json!({
                "node_id": n.node_id, "node_type": n.node_type, "module_key": n.module_key,
                "status": n.status, "params": n.params, "outputs": n.outputs,
                "output_digests": n.output_digests,
                "artifacts": n.artifacts.iter().map(|a| (a.role, a.media_type.clone(), a.size)).collect::<Vec<_>>(),
                "logs": n.logs.iter().map(|l| l.message.clone()).collect::<Vec<_>>(),
                "error": n.error,
                "started": n.started_at.is_some(), "finished": n.finished_at.is_some(),
            })
        })
        .collect()
}

fn event_shape(event: &RunEvent) -> Value {
    match &event.kind {
        RunEventKind::RunStatus { status } => json!(["run", status]),
        RunEventKind::NodeStatus { node } => {
            json!([
                "node",
                node.node_id,
                node.status,
                node.error.as_ref().map(|e| &e.code)
            ])
        }
        RunEventKind::Log { node_id, line } => json!(["log", node_id, line.message]),
        RunEventKind::Artifact { node_id, artifact } => json!(["artifact", node_id, artifact.role]),
    }
}

/// The sequential loop keeps the records and events the scheduler made for the same legacy
/// graph: same steps, statuses, parameters, outputs, artifacts, logs, errors and event order,
/// for a run that succeeds and one whose camera step fails.
#[tokio::test]
async fn legacy_loop_records_and_events_match_the_scheduler() {
    for fail in [None, Some("order.camera")] {
        let probe = Arc::new(Probe {
            fail: fail.iter().map(|s| s.to_string()).collect(),
            ..Probe::new()
        });
        let one_at_a_time = RunOptions {
            max_concurrency: 1,
            ..fast()
        };
        let (runtime, _) = runtime_with(&probe, one_at_a_time);
        let spec = legacy_still();
        let inputs = json!({"order_line_id": "ol-1", "product_id": "p-1"})
            .as_object()
            .cloned()
            .expect("object");
        let (tx, mut rx) = unbounded_channel();
        let legacy = runtime
            .run_legacy(
                &spec,
                "run",
                inputs.clone(),
                Map::new(),
                Some(tx),
                CancellationToken::new(),
            )
            .await
            .expect("legacy");
        let graph = crate::runtime::legacy::legacy_graph(&spec, runtime.registry()).expect("graph");
        let (tx, mut grx) = unbounded_channel();
        let scheduled = runtime
            .run_graph(
                RunRequest {
                    run_id: "run".into(),
                    graph,
                    overrides: Map::new(),
                    inputs,
                },
                Some(tx),
                CancellationToken::new(),
            )
            .await
            .expect("scheduled");
        assert_eq!(legacy.status, scheduled.status, "{fail:?}");
        assert_eq!(
            comparable(&legacy.nodes),
            comparable(&scheduled.nodes),
            "{fail:?}"
        );
        let mut a = Vec::new();
        while let Ok(e) = rx.try_recv() {
            a.push((e.seq, event_shape(&e)));
        }
        let mut b = Vec::new();
        while let Ok(e) = grx.try_recv() {
            b.push((e.seq, event_shape(&e)));
        }
        assert!(a.len() > 10, "{a:?}");
        assert_eq!(a, b, "{fail:?}");
    }
}

#[tokio::test]
async fn legacy_cancel_stops_the_loop() {
    let probe = Arc::new(Probe {
        hang: HashSet::from(["order.camera".to_owned()]),
        ..Probe::new()
    });
    let (runtime, _) = runtime_with(&probe, fast());
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        trigger.cancel();
    });
    let report = runtime
        .run_legacy(&legacy_still(), "c", Map::new(), Map::new(), None, cancel)
        .await
        .expect("runs");
    assert_eq!(report.status, RunStatus::Cancelled);
    let status = |id: &str| report.node(id).expect("step").status;
    assert_eq!(status("order.lighting"), NodeStatus::Cancelled);
    assert_eq!(status("order.camera"), NodeStatus::Cancelled);
    assert_eq!(status("order.load"), NodeStatus::Succeeded);
    assert!(!probe.calls().contains(&"order.lighting".to_owned()));
}

/// Over the render budget, neither path starts: the legacy preset and a graph override are
/// refused with `pixel_budget_exceeded` naming the node, before any module runs.
#[tokio::test]
async fn over_budget_runs_are_refused_before_anything_runs() {
    let probe = Arc::new(Probe::new());
    let (runtime, _) = runtime_with(&probe, fast());
    let mut spec = legacy_still();
    spec.artifact_kind = ArtifactKind::Turntable;
    spec.legacy_settings = json!({"width": 2048, "height": 2048, "frames": 36});
    let inputs = json!({"product_id": "p-big"})
        .as_object()
        .cloned()
        .expect("object");
    let err = runtime
        .run_legacy(
            &spec,
            "big",
            inputs,
            Map::new(),
            None,
            CancellationToken::new(),
        )
        .await
        .expect_err("over budget");
    assert_eq!(err.code(), "pixel_budget_exceeded");
    let problem = &err.details()["problems"][0];
    assert_eq!(problem["node"], json!("order.render_turntable"));
    assert_eq!(problem["frames"], json!(36));
    assert_eq!(problem["product_id"], json!("p-big"));
    assert!(err.to_string().contains("p-big"), "{err}");
    let err = runtime
        .run_graph(
            request(Family::OrderLine, json!({"render.still.width": 16384})),
            None,
            CancellationToken::new(),
        )
        .await
        .expect_err("over the largest side");
    assert_eq!(err.code(), "pixel_budget_exceeded");
    assert_eq!(err.details()["problems"][0]["param"], json!("width"));
    assert!(probe.calls().is_empty(), "nothing ran: {:?}", probe.calls());
}
