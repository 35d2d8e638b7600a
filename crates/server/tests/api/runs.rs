//! Runs over HTTP: dispatch → run record → events → cancel/rerun, preflight, rollout
//! dispatch, roles, and restart recovery. Modules are the scripted test modules.

use crate::common::{
    error_of, json_of, spawn_app, spawn_app_in, spawn_app_with, spawn_app_with_workers, wait_final,
    wait_for, TestApp,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use workflow_server::store::NewRun;

pub fn inputs() -> Value {
    json!({"order_line_id": "ol-1", "product_id": "p-1"})
}

async fn dispatch_workflow(app: &TestApp, wf: &str, body: Value) -> String {
    let r = json_of(
        app.post(
            &format!("/api/workflows/{wf}/dispatch"),
            &app.debugger,
            &body,
        )
        .await,
        StatusCode::ACCEPTED,
    )
    .await;
    r["run_id"].as_str().expect("run id").to_owned()
}

pub fn node<'a>(run: &'a Value, id: &str) -> &'a Value {
    run["nodes"]
        .as_array()
        .and_then(|n| n.iter().find(|n| n["node_id"] == id))
        .unwrap_or_else(|| panic!("node {id} in {run:#}"))
}

#[tokio::test]
async fn dispatch_records_nodes_artifacts_and_replays_events() {
    let app = spawn_app().await;
    let wf = app.create_workflow("Stills", "order_line").await;
    let wf_id = wf["id"].as_str().expect("id");
    let run_id = dispatch_workflow(&app, wf_id, json!({"inputs": inputs()})).await;
    let run = wait_final(&app, &run_id).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");
    assert_eq!(run["mode"], "graph");
    assert_eq!(run["trigger"], "api");
    assert_eq!(run["workflow_id"], wf_id);
    assert_eq!(run["product_id"], "p-1");
    assert_eq!(run["nodes"].as_array().expect("nodes").len(), 7);
    let render = node(&run, "render");
    assert_eq!(render["status"], "succeeded");
    assert!(render["started_at"].is_i64() && render["finished_at"].is_i64());
    assert_eq!(render["logs"][0]["message"], "render starts");
    assert_eq!(render["params"]["width"], 2048);
    let artifact = run["deliverables"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["role"] == "still"))
        .unwrap_or_else(|| panic!("a still among the deliverables: {run:#}"));

    let response = app
        .get(
            &format!("/api/artifacts/{}", artifact["id"].as_str().expect("id")),
            &app.debugger,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert_eq!(response.text().await.expect("bytes"), "still of render");

    // The run is over: the stream replays everything and ends after the final status.
    let response = app
        .get(&format!("/api/runs/{run_id}/events"), &app.debugger)
        .await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let text = response.text().await.expect("stream");
    let ids: Vec<i64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .map(|n| n.parse().expect("numeric id"))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] + 1 == w[1]), "{ids:?}");
    assert_eq!(text.matches("event: node_status").count(), 14, "{text}");
    assert!(text.contains("event: log") && text.contains("event: artifact"));
    let last_data = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .next_back()
        .expect("data");
    let last: Value = serde_json::from_str(last_data).expect("json");
    assert_eq!(last["kind"], "run_status");
    assert_eq!(last["status"], "succeeded");

    // Resuming after an id replays only what came later.
    let response = app
        .req(
            Method::GET,
            &format!("/api/runs/{run_id}/events"),
            Some(&app.debugger),
        )
        .header("Last-Event-ID", (ids.len() - 1).to_string())
        .send()
        .await
        .expect("request");
    let tail = response.text().await.expect("stream");
    assert_eq!(tail.matches("id: ").count(), 1, "{tail}");
}

#[tokio::test]
async fn live_events_follow_a_run_to_its_cancellation() {
    let app = spawn_app().await;
    let wf = app.create_workflow("Stills", "order_line").await;
    let mut body = inputs();
    body["test_hang"] = json!("render");
    let run_id = dispatch_workflow(
        &app,
        wf["id"].as_str().expect("id"),
        json!({"inputs": body}),
    )
    .await;
    let events = app.req(
        Method::GET,
        &format!("/api/runs/{run_id}/events"),
        Some(&app.debugger),
    );
    let stream = tokio::spawn(async move {
        let response = events.send().await.expect("request");
        response.text().await.expect("stream")
    });
    wait_for(&app, &run_id, |run| {
        run["nodes"].as_array().is_some_and(|n| {
            n.iter()
                .any(|n| n["node_id"] == "render" && n["status"] == "running")
        })
    })
    .await;
    let cancelled = json_of(
        app.post(
            &format!("/api/runs/{run_id}/cancel"),
            &app.debugger,
            &json!({}),
        )
        .await,
        StatusCode::ACCEPTED,
    )
    .await;
    assert_eq!(cancelled["id"], run_id.as_str());
    let run = wait_final(&app, &run_id).await;
    assert_eq!(run["status"], "cancelled", "{run:#}");
    assert_eq!(node(&run, "render")["status"], "cancelled");
    assert_eq!(node(&run, "lighting")["status"], "succeeded");
    let text = stream.await.expect("stream task");
    assert!(text.contains("\"status\":\"cancelled\""), "{text}");
    error_of(
        app.post(
            &format!("/api/runs/{run_id}/cancel"),
            &app.debugger,
            &json!({}),
        )
        .await,
        StatusCode::CONFLICT,
        "run_finished",
    )
    .await;
}

#[tokio::test]
async fn rerun_with_overrides_links_the_original() {
    let app = spawn_app().await;
    let wf = app.create_workflow("Stills", "order_line").await;
    let run_id = dispatch_workflow(
        &app,
        wf["id"].as_str().expect("id"),
        json!({"inputs": inputs()}),
    )
    .await;
    wait_final(&app, &run_id).await;
    let r = json_of(
        app.post(
            &format!("/api/runs/{run_id}/rerun"),
            &app.debugger,
            &json!({"overrides": {"render.width": 1024}}),
        )
        .await,
        StatusCode::ACCEPTED,
    )
    .await;
    let rerun = wait_final(&app, r["run_id"].as_str().expect("id")).await;
    assert_eq!(rerun["status"], "succeeded");
    assert_eq!(rerun["trigger"], "rerun");
    assert_eq!(rerun["rerun_of"], run_id.as_str());
    assert_eq!(node(&rerun, "render")["params"]["width"], 1024);
}

#[tokio::test]
async fn preflight_reports_every_problem_and_dispatch_refuses() {
    let app = spawn_app().await;
    let wf = app.create_workflow("Stills", "order_line").await;
    let id = wf["id"].as_str().expect("id");
    let body =
        json!({"inputs": {"order_line_id": 7}, "overrides": {"ghost.width": 5, "render.width": 1}});
    let report = json_of(
        app.post(
            &format!("/api/workflows/{id}/preflight"),
            &app.author,
            &body,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(report["ok"], false);
    let codes: Vec<&str> = report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter_map(|p| p["code"].as_str())
        .collect();
    for code in ["unknown_override_node", "invalid_input", "missing_input"] {
        assert!(codes.contains(&code), "{code} in {report:#}");
    }
    let err = error_of(
        app.post(
            &format!("/api/workflows/{id}/dispatch"),
            &app.debugger,
            &body,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "preflight_failed",
    )
    .await;
    assert_eq!(err["error"]["details"]["problems"], report["problems"]);

    let ok = json_of(
        app.post(
            &format!("/api/workflows/{id}/preflight"),
            &app.author,
            &json!({"inputs": inputs()}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(ok["ok"], true, "{ok:#}");
    assert_eq!(ok["runs"], json!(["graph"]));
}

#[tokio::test]
async fn roles_are_checked() {
    let app = spawn_app().await;
    let wf = app.create_workflow("Stills", "order_line").await;
    let id = wf["id"].as_str().expect("id");
    let r = app
        .req(Method::GET, "/api/runs", None)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    error_of(
        app.get("/api/runs", &app.author).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    error_of(
        app.post(
            &format!("/api/workflows/{id}/dispatch"),
            &app.author,
            &json!({}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    error_of(
        app.post(
            &format!("/api/workflows/{id}/preflight"),
            &app.material_specialist,
            &json!({}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    json_of(app.get("/api/runs", &app.debugger).await, StatusCode::OK).await;
    json_of(app.get("/api/runs", &app.admin).await, StatusCode::OK).await;
    error_of(
        app.get("/api/runs/nope", &app.debugger).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    error_of(
        app.get("/api/artifacts/nope", &app.debugger).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

/// A killed server's running job is requeued at the next start once its lease ran out, and
/// runs again to the end (before leases it was marked failed `interrupted`); a job whose
/// workers kept dying fails `worker_lost` with every unfinished node ended; queued work runs.
#[tokio::test]
async fn a_restart_reruns_interrupted_runs_and_fails_runs_out_of_attempts() {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let url = crate::common::test_db_url(dir.path()).await;
    let store = workflow_server::app::open_store(&url).await.expect("store");
    let spec = workflow_server::seed::legacy_output_types().remove(0);
    let new_run = || NewRun {
        mode: Some(workflow_engine::runtime::RunMode::Legacy),
        trigger: "api".into(),
        inputs: inputs().as_object().cloned().expect("object"),
        output_type: Some(spec.clone()),
        ..NewRun::default()
    };
    // A run whose workers died three times (each lease ran out, the next claim took it)...
    let exhausted = store.create_run(&new_run(), true).await.expect("run");
    for _ in 0..2 {
        store
            .claim_job("dead", 0)
            .await
            .expect("claim")
            .expect("job");
    }
    let exhausted_job = store
        .claim_job("dead", 60_000)
        .await
        .expect("claim")
        .expect("job");
    assert_eq!(
        (exhausted_job.run_id.as_str(), exhausted_job.attempts),
        (exhausted.id.as_str(), 3)
    );
    // ... and one a previous process had started once.
    let interrupted = store.create_run(&new_run(), true).await.expect("run");
    let job = store
        .claim_job("dead", 60_000)
        .await
        .expect("claim")
        .expect("job");
    assert_eq!(
        (job.run_id.as_str(), job.attempts),
        (interrupted.id.as_str(), 1)
    );
    for run in [&exhausted, &interrupted] {
        store.mark_run_started(&run.id, 1).await.expect("started");
    }
    // Both were rendering when the process died; publishing had not started.
    let node_run = |id: &str, node_type: &str, status: &str| {
        serde_json::from_value::<workflow_engine::runtime::NodeRun>(json!({
            "node_id": id, "node_type": node_type, "module_key": node_type,
            "status": status, "queued_at": 1, "started_at": null, "finished_at": null,
            "params": {}, "outputs": {}, "artifacts": [], "logs": [], "error": null}))
        .expect("node run")
    };
    for run in [&exhausted, &interrupted] {
        for (position, n) in [
            node_run("order.render_still", "render.still", "running"),
            node_run("order.publish", "output.publish", "pending"),
        ]
        .iter()
        .enumerate()
        {
            store
                .save_node_run(&run.id, position as i64, n)
                .await
                .expect("node run saved");
        }
    }
    // The process died: its leases run out.
    store
        .renew_lease(&exhausted_job, "dead", 0)
        .await
        .expect("expire");
    store.renew_lease(&job, "dead", 0).await.expect("expire");
    let queued = store.create_run(&new_run(), true).await.expect("run");
    drop(store);

    let app = spawn_app_in(dir, None).await;
    let run = wait_final(&app, &interrupted.id).await;
    assert_eq!(run["status"], "succeeded", "ran again: {run:#}");
    assert_eq!(
        node(&run, "order.render_still")["status"],
        "succeeded",
        "{run:#}"
    );
    let run = wait_final(&app, &exhausted.id).await;
    assert_eq!(run["status"], "failed");
    assert_eq!(run["error"]["code"], "worker_lost", "{run:#}");
    let text = app
        .get(&format!("/api/runs/{}/events", exhausted.id), &app.debugger)
        .await
        .text()
        .await
        .expect("stream");
    assert!(text.contains("worker_lost"), "{text}");
    // The node that was running gets its own failed node_status event (and the pending one
    // its cancelled one), before the run's final status.
    let store = workflow_server::app::open_store(&url).await.expect("store");
    let events = store.list_events(&exhausted.id, 0).await.expect("events");
    let kinds: Vec<(&str, Value, Value)> = events
        .iter()
        .map(|e| {
            (
                e.kind.as_str(),
                e.payload["node"]["node_id"].clone(),
                e.payload["node"]["status"].clone(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("node_status", json!("order.render_still"), json!("failed")),
            ("node_status", json!("order.publish"), json!("cancelled")),
            ("run_status", Value::Null, Value::Null),
        ],
        "{events:#?}"
    );
    let failed = &events[0].payload["node"];
    assert_eq!(failed["error"]["code"], "worker_lost", "{failed:#}");
    assert!(failed["finished_at"].is_i64(), "{failed:#}");
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(events[2].payload["status"], "failed");
    let rendering = node(&run, "order.render_still");
    assert_eq!(rendering["status"], "failed", "{run:#}");
    assert_eq!(rendering["error"]["code"], "worker_lost");
    let run = wait_final(&app, &queued.id).await;
    assert_eq!(
        run["status"], "succeeded",
        "queued work is never lost: {run:#}"
    );
}

#[tokio::test]
async fn openapi_documents_the_run_endpoints() {
    let app = spawn_app().await;
    let doc = json_of(
        app.req(Method::GET, "/api/openapi.json", None)
            .send()
            .await
            .expect("request"),
        StatusCode::OK,
    )
    .await;
    for path in [
        "/api/workflows/{id}/preflight",
        "/api/workflows/{id}/dispatch",
        "/api/output-types/{id}/preflight",
        "/api/output-types/{id}/dispatch",
        "/api/runs",
        "/api/runs/{id}",
        "/api/runs/{id}/cancel",
        "/api/runs/{id}/rerun",
        "/api/runs/{id}/events",
        "/api/artifacts/{id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
}

#[tokio::test]
async fn without_modules_preflight_names_each_missing_module_and_dispatch_refuses() {
    let app = spawn_app_with(workflow_engine::runtime::ModuleRegistry::new()).await;
    let wf = app.create_workflow("Stills", "order_line").await;
    let id = wf["id"].as_str().expect("id");
    let body = json!({"inputs": inputs()});
    let report = json_of(
        app.post(
            &format!("/api/workflows/{id}/preflight"),
            &app.debugger,
            &body,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let missing: Vec<&Value> = report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter(|p| p["code"] == "module_unavailable")
        .collect();
    assert_eq!(missing.len(), 7, "{report:#}");
    assert_eq!(missing[5]["nodes"], json!(["render"]));
    assert!(missing[5]["message"]
        .as_str()
        .is_some_and(|m| m.contains("render.image")));
    error_of(
        app.post(
            &format!("/api/workflows/{id}/dispatch"),
            &app.debugger,
            &body,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "preflight_failed",
    )
    .await;
}

#[tokio::test]
async fn a_run_the_runtime_refuses_is_failed_with_a_run_level_error() {
    let app = spawn_app().await;
    let mut spec = workflow_server::seed::legacy_output_types().remove(0);
    // Written past the API (an old row, a hand edit): a preset the still renderer refuses.
    spec.legacy_settings = json!({"width": 0});
    let run = app
        .store
        .create_run(
            &NewRun {
                mode: Some(workflow_engine::runtime::RunMode::Legacy),
                trigger: "api".into(),
                inputs: inputs().as_object().cloned().expect("object"),
                output_type: Some(spec),
                ..NewRun::default()
            },
            true,
        )
        .await
        .expect("run");
    let run = wait_final(&app, &run.id).await;
    assert_eq!(run["status"], "failed");
    assert_eq!(run["error"]["code"], "invalid_legacy_settings", "{run:#}");
    assert!(run["error"]["details"]["errors"][0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("width")));
    let text = app
        .get(
            &format!("/api/runs/{}/events", run["id"].as_str().expect("id")),
            &app.debugger,
        )
        .await
        .text()
        .await
        .expect("stream");
    assert!(text.contains("invalid_legacy_settings"), "{text}");
}

#[tokio::test]
async fn runs_filter_by_workflow_product_and_time_range() {
    let app = spawn_app().await;
    let a = app.create_workflow("A", "order_line").await;
    let b = app.create_workflow("B", "order_line").await;
    let a_id = a["id"].as_str().expect("id");
    let b_id = b["id"].as_str().expect("id");
    let first = dispatch_workflow(&app, a_id, json!({"inputs": inputs()})).await;
    wait_final(&app, &first).await;
    let created_first = json_of(
        app.get(&format!("/api/runs/{first}"), &app.debugger).await,
        StatusCode::OK,
    )
    .await["created_at"]
        .as_i64()
        .expect("created_at");
    // Run creation times are in milliseconds; make sure the next run is strictly later.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let other_inputs = json!({"order_line_id": "ol-2", "product_id": "p-2"});
    let second = dispatch_workflow(&app, b_id, json!({"inputs": other_inputs})).await;
    wait_final(&app, &second).await;

    let ids = |page: Value| -> Vec<String> {
        page["runs"]
            .as_array()
            .expect("runs")
            .iter()
            .map(|r| r["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let list = |query: String| {
        let app = &app;
        async move {
            json_of(
                app.get(&format!("/api/runs?{query}"), &app.debugger).await,
                StatusCode::OK,
            )
            .await
        }
    };
    assert_eq!(
        ids(list(format!("workflow_id={a_id}")).await),
        std::slice::from_ref(&first)
    );
    assert_eq!(
        ids(list("product_id=p-2".into()).await),
        std::slice::from_ref(&second)
    );
    assert_eq!(
        ids(list(format!("created_until={}", created_first + 1)).await),
        std::slice::from_ref(&first)
    );
    assert_eq!(
        ids(list(format!("created_from={}", created_first + 1)).await),
        std::slice::from_ref(&second)
    );
    let bad = app
        .get("/api/runs?created_from=yesterday", &app.debugger)
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

/// Creates an order-line workflow whose `order.source` node has `params` set.
pub async fn workflow_with_order_source(app: &TestApp, name: &str, params: Value) -> String {
    let mut graph = app.starter("order_line").await;
    let nodes = graph["nodes"].as_array_mut().expect("nodes");
    let order = nodes
        .iter_mut()
        .find(|n| n["type"] == "order.source")
        .expect("an order.source node");
    for (k, v) in params.as_object().cloned().unwrap_or_default() {
        order["params"][k] = v;
    }
    let wf = json_of(
        app.post(
            "/api/workflows",
            &app.author,
            &json!({"name": name, "graph": graph}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    wf["id"].as_str().expect("id").to_owned()
}

/// `order.source` `priority`: with the one worker busy, queued runs start highest priority
/// first and in dispatch order within a priority; an override raises a single dispatch.
#[tokio::test]
async fn queued_runs_start_by_order_source_priority() {
    let app = spawn_app_with_workers(1).await;
    let low = workflow_with_order_source(&app, "low", json!({"priority": "low"})).await;
    let normal = workflow_with_order_source(&app, "normal", json!({})).await;
    let high = workflow_with_order_source(&app, "high", json!({"priority": "high"})).await;
    let mut hang = inputs();
    hang["test_hang"] = json!("render");
    let blocker = dispatch_workflow(&app, &normal, json!({"inputs": hang})).await;
    wait_for(&app, &blocker, |r| r["status"] == "running").await;

    let plain = json!({"inputs": inputs()});
    let low_run = dispatch_workflow(&app, &low, plain.clone()).await;
    let normal_1 = dispatch_workflow(&app, &normal, plain.clone()).await;
    let high_run = dispatch_workflow(&app, &high, plain.clone()).await;
    let normal_2 = dispatch_workflow(&app, &normal, plain.clone()).await;
    let raised = dispatch_workflow(
        &app,
        &normal,
        json!({"inputs": inputs(), "overrides": {"order.source.priority": "high"}}),
    )
    .await;
    for id in [&low_run, &normal_1, &high_run, &normal_2, &raised] {
        let run = json_of(
            app.get(&format!("/api/runs/{id}"), &app.debugger).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(run["status"], "queued", "the worker is busy: {run:#}");
    }
    app.post(
        &format!("/api/runs/{blocker}/cancel"),
        &app.debugger,
        &json!({}),
    )
    .await;

    let mut finished = Vec::new();
    for id in [&high_run, &raised, &normal_1, &normal_2, &low_run] {
        let run = wait_final(&app, id).await;
        assert_eq!(run["status"], "succeeded", "{run:#}");
        finished.push(run);
    }
    for pair in finished.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            a["finished_at"].as_i64() <= b["started_at"].as_i64(),
            "{} ran before {}: {a:#} {b:#}",
            a["id"],
            b["id"]
        );
    }
}
