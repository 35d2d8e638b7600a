//! Output-type dispatch per rollout: legacy, shadow beside legacy, graph with fallback.

use crate::common::{error_of, json_of, spawn_app, wait_final, wait_for, TestApp};
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
