//! The graph runtime: order, concurrency, failures, timeouts, cancellation, overrides.

use super::*;

#[tokio::test]
async fn runs_in_dependency_order_and_records_everything() {
    let probe = Arc::new(Probe::new());
    let (runtime, artifacts) = runtime_with(&probe, fast());
    let (tx, mut rx) = unbounded_channel();
    let req = request(Family::CadFile, json!({}));
    let graph = req.graph.clone();
    let report = runtime
        .run_graph(req, Some(tx), CancellationToken::new())
        .await
        .expect("valid graph");
    assert_eq!(report.status, RunStatus::Succeeded, "{report:#?}");
    let calls = probe.calls();
    let pos = |n: &str| calls.iter().position(|c| c == n).expect("called");
    for edge in &graph.edges {
        assert!(
            pos(&edge.from.node) < pos(&edge.to.node),
            "{edge:?} in {calls:?}"
        );
    }
    let publish = report.node("publish").expect("publish");
    assert!(publish.started_at.is_some() && publish.finished_at.is_some());
    assert_eq!(publish.logs[0].message, "running publish");
    let thumb = report.node("thumbnail").expect("thumbnail");
    assert_eq!(thumb.artifacts.len(), 1);
    assert_eq!(thumb.outputs["image"], json!({"from": "thumbnail"}));
    // JSON payloads carry their canonical digest into the record (parity attribution).
    assert_eq!(
        thumb.output_digests["image"],
        crate::digest::json_digest("image", &json!({"from": "thumbnail"}))
    );
    assert_eq!(thumb.params["width"], json!(512), "defaults filled");
    assert!(artifacts.get(&thumb.artifacts[0].id).is_some());
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    assert!(events.windows(2).all(|w| w[0].seq + 1 == w[1].seq));
    let kinds: HashSet<&str> = events
        .iter()
        .map(|e| match &e.kind {
            RunEventKind::RunStatus { .. } => "run",
            RunEventKind::NodeStatus { .. } => "node",
            RunEventKind::Log { .. } => "log",
            RunEventKind::Artifact { .. } => "artifact",
        })
        .collect();
    assert_eq!(kinds.len(), 4, "{kinds:?}");
    // pending→running→succeeded: two node events per node, plus run start and end.
    let node_events = events
        .iter()
        .filter(|e| matches!(e.kind, RunEventKind::NodeStatus { .. }))
        .count();
    assert_eq!(node_events, 2 * graph.nodes.len());
}

#[tokio::test]
async fn independent_branches_run_concurrently() {
    let probe = Arc::new(Probe {
        delay: Duration::from_millis(150),
        ..Probe::new()
    });
    let (runtime, _) = runtime_with(&probe, fast());
    let report = runtime
        .run_graph(
            request(Family::CadFile, json!({})),
            None,
            CancellationToken::new(),
        )
        .await
        .expect("valid");
    assert_eq!(report.status, RunStatus::Succeeded);
    // metadata and thumbnail both only need import.
    assert!(probe.max_running.load(Ordering::SeqCst) >= 2);

    let serial = Arc::new(Probe {
        delay: Duration::from_millis(20),
        ..Probe::new()
    });
    let (runtime, _) = runtime_with(
        &serial,
        RunOptions {
            max_concurrency: 1,
            ..fast()
        },
    );
    runtime
        .run_graph(
            request(Family::CadFile, json!({})),
            None,
            CancellationToken::new(),
        )
        .await
        .expect("valid");
    assert_eq!(
        serial.max_running.load(Ordering::SeqCst),
        1,
        "bound respected"
    );
}

#[tokio::test]
async fn failure_skips_downstream_with_root_cause_and_other_branch_continues() {
    let probe = Arc::new(Probe {
        fail: HashSet::from(["thumbnail".to_owned()]),
        ..Probe::new()
    });
    let (runtime, _) = runtime_with(&probe, fast());
    let report = runtime
        .run_graph(
            request(Family::CadFile, json!({})),
            None,
            CancellationToken::new(),
        )
        .await
        .expect("valid");
    assert_eq!(report.status, RunStatus::Failed);
    let thumb = report.node("thumbnail").expect("thumbnail");
    assert_eq!(thumb.status, NodeStatus::Failed);
    let error = thumb.error.as_ref().expect("error");
    assert_eq!(error.code, "probe_failed");
    let publish = report.node("publish").expect("publish");
    assert_eq!(publish.status, NodeStatus::Skipped);
    let skip = publish.error.as_ref().expect("skip reason");
    assert_eq!(skip.code, codes::UPSTREAM_FAILED);
    assert_eq!(skip.root_cause_node.as_deref(), Some("thumbnail"));
    assert_eq!(status(&report, "metadata"), NodeStatus::Succeeded);
    assert_eq!(status(&report, "export_glb"), NodeStatus::Succeeded);
    assert!(!probe.calls().contains(&"publish".to_owned()));
}

#[tokio::test]
async fn a_node_past_its_timeout_fails_and_stops() {
    let probe = Arc::new(Probe {
        hang: HashSet::from(["render".to_owned()]),
        ..Probe::new()
    });
    let (runtime, _) = runtime_with(
        &probe,
        RunOptions {
            node_timeout: Duration::from_millis(150),
            ..fast()
        },
    );
    let report = runtime
        .run_graph(
            request(Family::OrderLine, json!({})),
            None,
            CancellationToken::new(),
        )
        .await
        .expect("valid");
    let render = report.node("render").expect("render");
    assert_eq!(render.status, NodeStatus::Failed);
    assert_eq!(render.error.as_ref().expect("error").code, codes::TIMEOUT);
    assert_eq!(status(&report, "publish"), NodeStatus::Skipped);
    // The module saw its token and returned: nothing keeps running.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(probe.running.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn cancellation_stops_running_nodes_and_pending_ones() {
    let probe = Arc::new(Probe {
        hang: HashSet::from(["render".to_owned()]),
        ..Probe::new()
    });
    let (runtime, _) = runtime_with(&probe, fast());
    let cancel = CancellationToken::new();
    let canceller = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        canceller.cancel();
    });
    let report = runtime
        .run_graph(request(Family::OrderLine, json!({})), None, cancel)
        .await
        .expect("valid");
    assert_eq!(report.status, RunStatus::Cancelled);
    assert_eq!(status(&report, "lighting"), NodeStatus::Succeeded);
    assert_eq!(status(&report, "render"), NodeStatus::Cancelled);
    assert_eq!(status(&report, "publish"), NodeStatus::Cancelled);
}

#[tokio::test]
async fn overrides_apply_by_type_and_node_id_wins() {
    let probe = Arc::new(Probe::new());
    let (runtime, _) = runtime_with(&probe, fast());
    let overrides =
        json!({"render.still.width": 1024, "render.still.height": 600, "render.height": 512});
    let report = runtime
        .run_graph(
            request(Family::OrderLine, overrides),
            None,
            CancellationToken::new(),
        )
        .await
        .expect("valid");
    assert_eq!(report.status, RunStatus::Succeeded);
    let params = probe.params_of("render");
    assert_eq!(params["width"], json!(1024));
    assert_eq!(params["height"], json!(512), "node id beats node type");
    assert_eq!(
        report.node("render").expect("render").params["height"],
        json!(512)
    );

    let bad = json!({"render.nope": 1, "ghost.width": 2, "render": 3});
    let err = runtime
        .run_graph(
            request(Family::OrderLine, bad),
            None,
            CancellationToken::new(),
        )
        .await
        .expect_err("bad overrides refused");
    let RuntimeError::InvalidOverrides(problems) = err else {
        panic!("wrong error: {err}");
    };
    let mut codes: Vec<&str> = problems.iter().map(|p| p.code).collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        [
            "invalid_override_key",
            "unknown_override_node",
            "unknown_override_param"
        ]
    );
}

#[tokio::test]
async fn an_out_of_range_override_fails_the_node_with_invalid_param() {
    let probe = Arc::new(Probe::new());
    let (runtime, _) = runtime_with(&probe, fast());
    let report = runtime
        .run_graph(
            request(Family::OrderLine, json!({"render.width": 1})),
            None,
            CancellationToken::new(),
        )
        .await
        .expect("keys resolve");
    let render = report.node("render").expect("render");
    assert_eq!(
        render.error.as_ref().expect("error").code,
        codes::INVALID_PARAM
    );
}

#[tokio::test]
async fn invalid_graphs_are_refused_with_validation_errors() {
    let probe = Arc::new(Probe::new());
    let (runtime, _) = runtime_with(&probe, fast());
    let mut req = request(Family::OrderLine, json!({}));
    req.graph.edges.clear();
    let err = runtime
        .run_graph(req, None, CancellationToken::new())
        .await
        .expect_err("invalid");
    let RuntimeError::InvalidGraph(errors) = err else {
        panic!("wrong error");
    };
    assert!(errors
        .iter()
        .any(|e| e.code.as_str() == "missing_required_input"));
    assert!(probe.calls().is_empty());
}

#[tokio::test]
async fn a_missing_module_is_a_structured_node_error() {
    let registry = Registry::builtin();
    let mut modules = ModuleRegistry::new();
    modules.register("order.source", Probe::new());
    let runtime = Runtime::new(
        Arc::new(registry),
        Arc::new(modules),
        Arc::new(MemoryArtifacts::default()),
    );
    let report = runtime
        .run_graph(
            request(Family::OrderLine, json!({})),
            None,
            CancellationToken::new(),
        )
        .await
        .expect("valid");
    assert_eq!(status(&report, "order"), NodeStatus::Succeeded);
    let load = report.node("load_scene").expect("load");
    let error = load.error.as_ref().expect("error");
    assert_eq!(error.code, codes::MODULE_UNAVAILABLE);
    assert!(
        error.message.contains("order.load_product_scene"),
        "{}",
        error.message
    );
    assert!(error.message.contains("'load_scene'"), "{}", error.message);
    assert_eq!(status(&report, "publish"), NodeStatus::Skipped);
}

#[tokio::test]
async fn a_panicking_module_fails_its_node_only() {
    let probe = Arc::new(Probe {
        panic: HashSet::from(["thumbnail".to_owned()]),
        ..Probe::new()
    });
    let (runtime, _) = runtime_with(&probe, fast());
    let report = runtime
        .run_graph(
            request(Family::CadFile, json!({})),
            None,
            CancellationToken::new(),
        )
        .await
        .expect("valid");
    let thumb = report.node("thumbnail").expect("thumbnail");
    assert_eq!(
        thumb.error.as_ref().expect("error").code,
        codes::MODULE_PANICKED
    );
    assert_eq!(status(&report, "export_glb"), NodeStatus::Succeeded);
}
