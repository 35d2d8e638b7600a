//! Output-type dispatch per rollout: legacy, shadow beside legacy, graph with fallback.

use crate::common::{error_of, json_of, spawn_app, spawn_app_in, wait_final, wait_for, TestApp};
use crate::runs::{inputs, node};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn output_type(app: &TestApp, body: Value) -> String {
    let r = json_of(
        app.post("/api/output-types", &app.author, &body).await,
        StatusCode::CREATED,
    )
    .await;
    r["id"].as_str().expect("id").to_owned()
}

async fn dispatch_output_type(app: &TestApp, ot: &str, inputs: Value) -> Value {
    json_of(
        app.post(
            &format!("/api/output-types/{ot}/dispatch"),
            &app.debugger,
            &json!({"inputs": inputs}),
        )
        .await,
        StatusCode::ACCEPTED,
    )
    .await
}

#[tokio::test]
async fn legacy_output_types_run_the_legacy_pipeline_per_step() {
    let app = spawn_app().await;
    let list = json_of(
        app.get("/api/output-types", &app.debugger).await,
        StatusCode::OK,
    )
    .await;
    let still = list
        .as_array()
        .and_then(|l| l.iter().find(|o| o["name"] == "Still 2048 white"))
        .expect("seeded");
    let ot = still["id"].as_str().expect("id");
    let report = json_of(
        app.post(
            &format!("/api/output-types/{ot}/preflight"),
            &app.debugger,
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(report["ok"], false, "no inputs: {report:#}");
    let d = dispatch_output_type(&app, ot, inputs()).await;
    assert_eq!(d["runs"].as_array().expect("runs").len(), 1);
    let run = wait_final(&app, d["run_id"].as_str().expect("id")).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");
    assert_eq!(run["mode"], "legacy");
    assert_eq!(run["output_type_id"], ot);
    assert!(
        run["graph"]["nodes"]
            .as_array()
            .is_some_and(|n| n.len() == 7),
        "legacy steps drawn as a graph"
    );
    let step = node(&run, "order.render_still");
    assert_eq!(step["module_key"], "render.image");
    assert_eq!(step["params"]["background"], "#ffffff");
    assert_eq!(run["deliverables"][0]["role"], "still");
    let page = json_of(
        app.get(
            &format!("/api/runs?mode=legacy&output_type_id={ot}&limit=1"),
            &app.debugger,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["runs"][0]["id"], run["id"]);
    let none = json_of(
        app.get("/api/runs?mode=shadow", &app.debugger).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(none["total"], 0);
    error_of(
        app.get("/api/runs?mode=bogus", &app.debugger).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
}

#[tokio::test]
async fn shadow_runs_beside_legacy_and_never_delivers() {
    let app = spawn_app().await;
    let wf = app.create_workflow("Stills", "order_line").await;
    let ot = output_type(
        &app,
        json!({"name": "Still shadow", "workflow_family": "order_line", "artifact_kind": "still",
               "workflow_id": wf["id"], "rollout": "shadow",
               "invocation_overrides": {"render.width": 640},
               "legacy_settings": {"width": 1024}}),
    )
    .await;
    let d = dispatch_output_type(&app, &ot, inputs()).await;
    let runs = d["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["mode"], "legacy");
    assert_eq!(runs[0]["authoritative"], true);
    assert_eq!(runs[1]["mode"], "shadow");
    assert_eq!(runs[1]["authoritative"], false);
    let legacy = wait_final(&app, runs[0]["id"].as_str().expect("id")).await;
    let shadow = wait_final(&app, runs[1]["id"].as_str().expect("id")).await;
    assert_eq!(legacy["status"], "succeeded");
    assert_eq!(shadow["status"], "succeeded");
    assert_eq!(legacy["linked_run_id"], shadow["id"]);
    assert_eq!(legacy["link"], "shadow");
    assert_eq!(shadow["linked_run_id"], legacy["id"]);
    assert_eq!(shadow["link"], "shadow_of");
    assert_eq!(node(&legacy, "order.render_still")["params"]["width"], 1024);
    assert_eq!(node(&shadow, "render")["params"]["width"], 640);
    assert_eq!(legacy["deliverables"].as_array().expect("list").len(), 1);
    assert!(!shadow["artifacts"].as_array().expect("list").is_empty());
    assert_eq!(shadow["deliverables"], json!([]));
}

#[tokio::test]
async fn a_failed_graph_run_falls_back_to_legacy_and_both_link() {
    let app = spawn_app().await;
    let wf = app.create_workflow("Stills", "order_line").await;
    let ot = output_type(
        &app,
        json!({"name": "Still graph", "workflow_family": "order_line", "artifact_kind": "still",
               "workflow_id": wf["id"], "rollout": "graph", "fallback_to_legacy": true,
               "legacy_settings": {}}),
    )
    .await;
    let mut body = inputs();
    body["test_fail"] = json!("camera"); // the graph's node id; the legacy step is order.camera
    let d = dispatch_output_type(&app, &ot, body).await;
    let graph = wait_final(&app, d["run_id"].as_str().expect("id")).await;
    assert_eq!(graph["status"], "failed");
    let camera = node(&graph, "camera");
    assert_eq!(camera["error"]["code"], "scripted_failure");
    assert_eq!(
        node(&graph, "publish")["error"]["root_cause_node"],
        "camera"
    );
    let graph = wait_for(&app, d["run_id"].as_str().expect("id"), |r| {
        r["link"] == "fallback"
    })
    .await;
    let fallback = wait_final(&app, graph["linked_run_id"].as_str().expect("link")).await;
    assert_eq!(fallback["mode"], "legacy");
    assert_eq!(fallback["trigger"], "fallback");
    assert_eq!(fallback["status"], "succeeded", "{fallback:#}");
    assert_eq!(fallback["link"], "fallback_of");
    assert_eq!(fallback["linked_run_id"], graph["id"]);
    assert_eq!(fallback["deliverables"][0]["role"], "still");
}

// ---- Rollout state: readiness, promotion, forced promotion, rollback, automatic rollback,
// ---- shadow comparisons.

fn realistic(extra: Value) -> Value {
    let mut body = inputs();
    body["test_images"] = json!(true);
    if let (Some(obj), Some(more)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            obj.insert(k.clone(), v.clone());
        }
    }
    body
}

async fn change_rollout(app: &TestApp, token: &str, ot: &str, body: Value) -> reqwest::Response {
    app.post(&format!("/api/output-types/{ot}/rollout"), token, &body)
        .await
}

async fn set_policy(app: &TestApp, ot: &str, policy: Value) {
    let r = app
        .req(
            reqwest::Method::PUT,
            &format!("/api/output-types/{ot}/rollout/policy"),
            Some(&app.admin),
        )
        .json(&policy)
        .send()
        .await
        .expect("request");
    json_of(r, StatusCode::OK).await;
}

/// Polls the shadow run until its comparison is recorded (10 s at most); returns the run.
async fn wait_compared(app: &TestApp, shadow_id: &str) -> Value {
    wait_for(app, shadow_id, |r| {
        r["parity"]["status"] == "done" || r["parity"]["status"] == "error"
    })
    .await
}

/// Dispatches a shadow output type and waits for both runs and their comparison.
async fn shadow_dispatch(app: &TestApp, ot: &str, body: Value) -> (Value, Value) {
    let d = dispatch_output_type(app, ot, body).await;
    let runs = d["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2, "{d:#}");
    let legacy_id = runs[0]["id"].as_str().expect("id");
    wait_final(app, legacy_id).await;
    let shadow = wait_compared(app, runs[1]["id"].as_str().expect("id")).await;
    // Read the legacy run again: it shows the comparison now.
    let legacy = wait_final(app, legacy_id).await;
    (legacy, shadow)
}

async fn still_output_type(app: &TestApp, rollout: &str, fallback: bool) -> String {
    let wf = app.create_workflow("Stills", "order_line").await;
    output_type(
        app,
        json!({"name": format!("Still {rollout}"), "workflow_family": "order_line",
               "artifact_kind": "still", "workflow_id": wf["id"], "rollout": rollout,
               "fallback_to_legacy": fallback, "legacy_settings": {}}),
    )
    .await
}

async fn history(app: &TestApp, ot: &str) -> Vec<Value> {
    json_of(
        app.get(
            &format!("/api/output-types/{ot}/rollout/history"),
            &app.debugger,
        )
        .await,
        StatusCode::OK,
    )
    .await
    .as_array()
    .cloned()
    .expect("history list")
}

async fn rollout_of(app: &TestApp, ot: &str) -> Value {
    json_of(
        app.get(&format!("/api/output-types/{ot}"), &app.debugger)
            .await,
        StatusCode::OK,
    )
    .await["rollout"]
        .clone()
}

#[tokio::test]
async fn promotion_to_graph_is_gated_by_readiness_and_an_admin_may_force_it_with_a_reason() {
    let app = spawn_app().await;
    let ot = still_output_type(&app, "legacy", false).await;
    // Straight from legacy: every failing check is listed.
    let r = change_rollout(&app, &app.author, &ot, json!({"target": "graph"})).await;
    let body = error_of(r, StatusCode::CONFLICT, "rollout_not_ready").await;
    let failed = body["error"]["details"]["failed_checks"].clone();
    assert_eq!(
        failed,
        json!(["shadow_state", "min_shadow_runs", "pass_rate"]),
        "{body:#}"
    );
    assert_eq!(body["error"]["details"]["readiness"]["ready"], false);
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("shadow")));
    assert_eq!(rollout_of(&app, &ot).await, "legacy", "nothing changed");

    set_policy(
        &app,
        &ot,
        json!({"min_shadow_runs": 2, "no_fail_in_last": 1}),
    )
    .await;
    let policy = json_of(
        app.get(
            &format!("/api/output-types/{ot}/rollout/policy"),
            &app.debugger,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(policy["effective"]["min_shadow_runs"], 2);
    assert_eq!(policy["defaults"]["min_shadow_runs"], 5);
    // A debugger may not promote; an author may put it in shadow.
    let r = change_rollout(&app, &app.debugger, &ot, json!({"target": "shadow"})).await;
    error_of(r, StatusCode::FORBIDDEN, "forbidden").await;
    let r = change_rollout(
        &app,
        &app.author,
        &ot,
        json!({"target": "shadow", "reason": "compare the graph"}),
    )
    .await;
    let changed = json_of(r, StatusCode::OK).await;
    assert_eq!(changed["output_type"]["rollout"], "shadow");
    assert_eq!(changed["change"]["from"], "legacy");
    assert_eq!(changed["change"]["to"], "shadow");

    // One passing comparison: not enough yet.
    let (_, shadow) = shadow_dispatch(&app, &ot, realistic(json!({}))).await;
    assert_eq!(shadow["parity"]["verdict"], "pass", "{shadow:#}");
    let r = change_rollout(&app, &app.author, &ot, json!({"target": "graph"})).await;
    let body = error_of(r, StatusCode::CONFLICT, "rollout_not_ready").await;
    assert_eq!(
        body["error"]["details"]["failed_checks"],
        json!(["min_shadow_runs"])
    );
    // A failing one: the pass rate and the latest verdict now block it too.
    let (_, shadow) = shadow_dispatch(&app, &ot, realistic(json!({"test_dark": "render"}))).await;
    assert_eq!(shadow["parity"]["verdict"], "fail", "{shadow:#}");
    let readiness = json_of(
        app.get(
            &format!("/api/output-types/{ot}/rollout/readiness"),
            &app.debugger,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(readiness["shadow_runs"], 2);
    assert_eq!(readiness["pass_rate"], 0.5);
    assert_eq!(
        readiness["failed_checks"],
        json!(["pass_rate", "no_recent_fail"])
    );
    assert_eq!(readiness["recent"][0]["verdict"], "fail");
    assert_eq!(readiness["recent"][0]["attributed_node"], "render");

    // Forcing: admins only, and only with a written reason.
    let forced = json!({"target": "graph", "force": true, "reason": "hotfix approved by QA"});
    let r = change_rollout(&app, &app.author, &ot, forced.clone()).await;
    error_of(r, StatusCode::FORBIDDEN, "forbidden").await;
    let r = change_rollout(
        &app,
        &app.admin,
        &ot,
        json!({"target": "graph", "force": true, "reason": "  "}),
    )
    .await;
    error_of(r, StatusCode::UNPROCESSABLE_ENTITY, "reason_required").await;
    let r = change_rollout(&app, &app.admin, &ot, forced).await;
    let changed = json_of(r, StatusCode::OK).await;
    assert_eq!(changed["output_type"]["rollout"], "graph");
    assert_eq!(changed["change"]["forced"], true);
    assert_eq!(changed["change"]["reason"], "hotfix approved by QA");
    assert_eq!(changed["change"]["actor"]["role"], "admin");
    assert_eq!(changed["change"]["actor"]["label"], "test");
    assert_eq!(
        changed["change"]["readiness"]["failed_checks"],
        json!(["pass_rate", "no_recent_fail"])
    );
    let r = change_rollout(&app, &app.admin, &ot, json!({"target": "graph"})).await;
    error_of(r, StatusCode::CONFLICT, "rollout_unchanged").await;

    // Every change recorded, newest first: created → shadow → graph (forced).
    let h = history(&app, &ot).await;
    let steps: Vec<(Value, Value)> = h
        .iter()
        .map(|c| (c["from"].clone(), c["to"].clone()))
        .collect();
    assert_eq!(
        steps,
        vec![
            (json!("shadow"), json!("graph")),
            (json!("legacy"), json!("shadow")),
            (Value::Null, json!("legacy")),
        ]
    );
    assert!(h.iter().all(|c| c["created_at"].is_i64()));
    assert_eq!(h[1]["actor"]["role"], "author");
    assert_eq!(h[1]["reason"], "compare the graph");
}

#[tokio::test]
async fn a_ready_output_type_is_promoted_without_force() {
    let app = spawn_app().await;
    let ot = still_output_type(&app, "shadow", true).await;
    set_policy(&app, &ot, json!({"min_shadow_runs": 2})).await;
    for _ in 0..2 {
        let (legacy, shadow) = shadow_dispatch(&app, &ot, realistic(json!({}))).await;
        assert_eq!(legacy["status"], "succeeded");
        assert_eq!(shadow["parity"]["verdict"], "pass", "{shadow:#}");
    }
    let readiness = json_of(
        app.get(
            &format!("/api/output-types/{ot}/rollout/readiness"),
            &app.author,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(readiness["ready"], true, "{readiness:#}");
    assert_eq!(readiness["pass_rate"], 1.0);
    let r = change_rollout(&app, &app.author, &ot, json!({"target": "graph"})).await;
    let changed = json_of(r, StatusCode::OK).await;
    assert_eq!(changed["change"]["forced"], false);
    assert_eq!(changed["change"]["readiness"]["ready"], true);
    // The dashboard lists it with its readiness and last change.
    let board = json_of(app.get("/api/rollout", &app.debugger).await, StatusCode::OK).await;
    let row = board
        .as_array()
        .and_then(|b| b.iter().find(|r| r["output_type"]["id"] == ot.as_str()))
        .expect("on the dashboard");
    assert_eq!(row["output_type"]["rollout"], "graph");
    assert_eq!(row["last_change"]["to"], "graph");
    assert_eq!(row["readiness"]["shadow_runs"], 2);
}

#[tokio::test]
async fn rollback_is_immediate_for_the_next_dispatch() {
    let app = spawn_app().await;
    let ot = still_output_type(&app, "graph", true).await;
    let d = dispatch_output_type(&app, &ot, inputs()).await;
    assert_eq!(d["runs"][0]["mode"], "graph");
    wait_final(&app, d["run_id"].as_str().expect("id")).await;
    // A material specialist may not; a debugger may roll back (no readiness needed).
    let r = change_rollout(
        &app,
        &app.material_specialist,
        &ot,
        json!({"target": "legacy"}),
    )
    .await;
    error_of(r, StatusCode::FORBIDDEN, "forbidden").await;
    let r = change_rollout(
        &app,
        &app.debugger,
        &ot,
        json!({"target": "legacy", "reason": "wrong colours in production"}),
    )
    .await;
    let changed = json_of(r, StatusCode::OK).await;
    assert_eq!(changed["output_type"]["rollout"], "legacy");
    assert_eq!(changed["change"]["actor"]["role"], "debugger");
    let d = dispatch_output_type(&app, &ot, inputs()).await;
    assert_eq!(d["runs"].as_array().expect("runs").len(), 1);
    assert_eq!(d["runs"][0]["mode"], "legacy", "{d:#}");
    let run = wait_final(&app, d["run_id"].as_str().expect("id")).await;
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["deliverables"][0]["role"], "still");
    let h = history(&app, &ot).await;
    assert_eq!(h[0]["to"], "legacy");
    assert_eq!(h[0]["reason"], "wrong colours in production");
}

#[tokio::test]
async fn repeated_fallbacks_roll_back_to_legacy_automatically() {
    let app = spawn_app().await;
    let ot = still_output_type(&app, "graph", true).await;
    set_policy(&app, &ot, json!({"auto_rollback_fallbacks": 2})).await;
    let mut body = inputs();
    body["test_fail"] = json!("camera");
    for n in 0..2 {
        assert_eq!(rollout_of(&app, &ot).await, "graph", "before failure {n}");
        let d = dispatch_output_type(&app, &ot, body.clone()).await;
        assert_eq!(d["runs"][0]["mode"], "graph");
        let graph = wait_for(&app, d["run_id"].as_str().expect("id"), |r| {
            r["link"] == "fallback"
        })
        .await;
        let fallback = wait_final(&app, graph["linked_run_id"].as_str().expect("link")).await;
        assert_eq!(
            fallback["status"], "succeeded",
            "the user still gets a still"
        );
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while rollout_of(&app, &ot).await != "legacy" {
        assert!(
            std::time::Instant::now() < deadline,
            "no automatic rollback"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let h = history(&app, &ot).await;
    assert_eq!(h[0]["from"], "graph");
    assert_eq!(h[0]["to"], "legacy");
    assert_eq!(h[0]["automatic"], true);
    assert_eq!(h[0]["actor"]["system"], "automatic rollback");
    assert!(
        h[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("2 graph run(s) fell back")),
        "{:#}",
        h[0]
    );
    let d = dispatch_output_type(&app, &ot, body).await;
    assert_eq!(
        d["runs"][0]["mode"], "legacy",
        "the next dispatch runs legacy"
    );
}

#[tokio::test]
async fn shadow_never_touches_the_authoritative_run_and_its_comparison_is_stored() {
    let app = spawn_app().await;
    let ot = still_output_type(&app, "shadow", false).await;
    // The graph fails in shadow: the user's (legacy) run succeeds and delivers.
    let (legacy, shadow) =
        shadow_dispatch(&app, &ot, realistic(json!({"test_fail": "render"}))).await;
    assert_eq!(legacy["status"], "succeeded", "{legacy:#}");
    assert_eq!(legacy["authoritative"], true);
    let delivered = legacy["deliverables"].as_array().expect("deliverables");
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0]["role"], "still");
    assert_eq!(shadow["status"], "failed");
    assert_eq!(shadow["deliverables"], json!([]));
    assert_eq!(shadow["parity"]["verdict"], "fail");
    assert_eq!(
        legacy["parity"]["shadow_run_id"], shadow["id"],
        "both show it"
    );
    // Nothing of the comparison is on the legacy run.
    assert!(legacy["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .all(|a| a["run_id"] == legacy["id"] && a["role"] != "parity_report"));
    let report_id = shadow["parity"]["report_artifact_id"]
        .as_str()
        .expect("report stored");
    let report = json_of(
        app.get(&format!("/api/artifacts/{report_id}"), &app.debugger)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(report["verdict"], "fail");
    assert_eq!(report["reference_run"], legacy["id"]);
    assert_eq!(report["candidate_run"], shadow["id"]);
    assert_eq!(report["findings"][0]["code"], "candidate_failed");
    assert_eq!(report["attribution"]["node_id"], "render");

    // A differing still: a difference image is stored beside the report, attributed.
    let (legacy, shadow) =
        shadow_dispatch(&app, &ot, realistic(json!({"test_dark": "render"}))).await;
    assert_eq!(legacy["status"], "succeeded");
    assert_eq!(shadow["status"], "succeeded");
    assert_eq!(shadow["parity"]["verdict"], "fail");
    assert_eq!(shadow["parity"]["attributed_node"], "render");
    let roles: Vec<&str> = shadow["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .filter_map(|a| a["role"].as_str())
        .collect();
    assert!(roles.contains(&"parity_report"), "{roles:?}");
    assert!(roles.contains(&"difference_image"), "{roles:?}");
    let report_id = shadow["parity"]["report_artifact_id"]
        .as_str()
        .expect("report");
    let report = json_of(
        app.get(&format!("/api/artifacts/{report_id}"), &app.debugger)
            .await,
        StatusCode::OK,
    )
    .await;
    let still = &report["artifacts"][0];
    assert_eq!(still["role"], "still");
    assert_eq!(still["verdict"], "fail");
    let blob = still["diff_image"].as_str().expect("diff image named");
    let image_id = report["difference_images"][blob]
        .as_str()
        .expect("diff image stored");
    let bytes = app
        .get(&format!("/api/artifacts/{image_id}"), &app.debugger)
        .await
        .bytes()
        .await
        .expect("bytes");
    let img = image::load_from_memory(&bytes).expect("a PNG");
    assert_eq!((img.width(), img.height()), (16, 16));
    // The legacy deliverable is the legacy still, never the graph's.
    let delivered = legacy["deliverables"][0]["id"].as_str().expect("id");
    let text = app
        .get(&format!("/api/artifacts/{delivered}"), &app.debugger)
        .await
        .bytes()
        .await
        .expect("bytes");
    let legacy_still = image::load_from_memory(&text).expect("png").to_rgba8();
    assert_eq!(
        legacy_still.get_pixel(0, 0)[0],
        128,
        "the legacy (not dark) still"
    );
}

#[tokio::test]
async fn a_real_shadow_pair_renders_alike_and_passes_on_the_production_modules() {
    use crate::products::{finished, small_thumbnail, upload};
    let app = crate::common::spawn_app_production().await;
    let created = json_of(
        upload(&app, "gltf/Box.glb", small_thumbnail()).await,
        StatusCode::ACCEPTED,
    )
    .await;
    let product = created["product"]["id"].as_str().expect("id").to_owned();
    let run = finished(&app, created["run_id"].as_str().expect("run id")).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");
    let wf = app.create_workflow("Stills", "order_line").await;
    let ot = output_type(
        &app,
        json!({"name": "Box shadow", "workflow_family": "order_line", "artifact_kind": "still",
               "workflow_id": wf["id"], "rollout": "shadow",
               "invocation_overrides": {"render.width": 64, "render.height": 64},
               "legacy_settings": {"width": 64, "height": 64}}),
    )
    .await;
    let d = dispatch_output_type(
        &app,
        &ot,
        json!({"product_id": product, "order_line_id": "ol-1"}),
    )
    .await;
    let shadow_id = d["runs"][1]["id"].as_str().expect("shadow").to_owned();
    let legacy = finished(&app, d["run_id"].as_str().expect("id")).await;
    assert_eq!(legacy["status"], "succeeded", "{legacy:#}");
    finished(&app, &shadow_id).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let shadow = loop {
        let s = json_of(
            app.get(&format!("/api/runs/{shadow_id}"), &app.debugger)
                .await,
            StatusCode::OK,
        )
        .await;
        if s["parity"]["status"] == "done" || s["parity"]["status"] == "error" {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "not compared: {s:#}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(shadow["parity"]["status"], "done", "{shadow:#}");
    assert_eq!(shadow["parity"]["verdict"], "pass", "{shadow:#}");
    let report_id = shadow["parity"]["report_artifact_id"]
        .as_str()
        .expect("report");
    let report = json_of(
        app.get(&format!("/api/artifacts/{report_id}"), &app.debugger)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(report["artifacts"][0]["comparison"]["type"], "image");
    assert_eq!(report["attribution"]["node_id"], Value::Null, "{report:#}");
    let readiness = json_of(
        app.get(
            &format!("/api/output-types/{ot}/rollout/readiness"),
            &app.debugger,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(readiness["shadow_runs"], 1);
    assert_eq!(readiness["pass_rate"], 1.0);
}

#[tokio::test]
async fn a_shadow_pair_a_stop_left_uncompared_is_compared_at_the_next_start() {
    use workflow_engine::runtime::{RunMode, RunStatus};
    use workflow_server::store::NewRun;
    let app = spawn_app().await;
    let ot = still_output_type(&app, "shadow", false).await;
    let spec = app.store.get_output_type(&ot).await.expect("ot").spec;
    // A finished pair recorded without its comparison (the server stopped in between).
    let new = |mode: RunMode| NewRun {
        mode: Some(mode),
        trigger: "api".into(),
        output_type_id: Some(ot.clone()),
        output_type: Some(spec.clone()),
        workflow_id: spec.workflow_id.clone(),
        workflow_version: Some(1),
        ..NewRun::default()
    };
    let legacy = app
        .store
        .create_run(&new(RunMode::Legacy), false)
        .await
        .expect("legacy");
    let shadow = app
        .store
        .create_run(&new(RunMode::Shadow), false)
        .await
        .expect("shadow");
    app.store
        .link_run(&legacy.id, &shadow.id, "shadow")
        .await
        .expect("link");
    app.store
        .link_run(&shadow.id, &legacy.id, "shadow_of")
        .await
        .expect("link");
    for id in [&legacy.id, &shadow.id] {
        app.store
            .finish_run(id, RunStatus::Succeeded, None, &[])
            .await
            .expect("finished");
    }
    let (dir, tokens) = app.stop().await;
    let app = spawn_app_in(dir, Some(tokens)).await;
    let compared = wait_compared(&app, &shadow.id).await;
    assert_eq!(compared["parity"]["status"], "done", "{compared:#}");
    assert_eq!(compared["parity"]["verdict"], "pass");
    assert_eq!(compared["parity"]["legacy_run_id"], legacy.id.as_str());
}
