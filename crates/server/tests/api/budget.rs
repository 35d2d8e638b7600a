//! The render budget (width × height × frames per render node) at preflight and dispatch:
//! on the effective parameters of a workflow graph and of an output type's legacy pipeline,
//! against the budget the server is configured with.

use crate::common::{error_of, json_of, spawn_app, spawn_app_runs, TestApp};
use crate::runs::inputs;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use workflow_engine::runtime::RenderBudget;
use workflow_server::runs::RunsConfig;

fn budget_problems(report: &Value) -> Vec<Value> {
    report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter(|p| p["code"] == "pixel_budget_exceeded")
        .cloned()
        .collect()
}

async fn output_type(app: &TestApp, name: &str) -> String {
    let all = json_of(
        app.get("/api/output-types", &app.author).await,
        StatusCode::OK,
    )
    .await;
    all.as_array()
        .expect("output types")
        .iter()
        .find(|o| o["name"] == name)
        .and_then(|o| o["id"].as_str())
        .unwrap_or_else(|| panic!("output type {name}: {all:#}"))
        .to_owned()
}

#[tokio::test]
async fn renders_over_the_pixel_budget_are_refused_at_preflight_and_dispatch() {
    let app = spawn_app().await;
    let wf = app.create_workflow("Stills", "order_line").await;
    let id = wf["id"].as_str().expect("id");
    // One side over the default 8192 px cap (the catalog allows 16384).
    let body = json!({"inputs": inputs(), "overrides": {"render.width": 16384}});
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
    let problems = budget_problems(&report);
    assert_eq!(problems.len(), 1, "{report:#}");
    let p = &problems[0];
    assert_eq!(p["scope"], "graph");
    assert_eq!(p["nodes"], json!(["render"]));
    assert_eq!(p["field"], "params.width");
    let message = p["message"].as_str().expect("message");
    for part in ["'render'", "p-1", "16384", "8192"] {
        assert!(message.contains(part), "{part} in {message}");
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
    // The seeded output types fit the default budget.
    let ot = output_type(&app, "Turntable 36 frames").await;
    let ok = json_of(
        app.post(
            &format!("/api/output-types/{ot}/preflight"),
            &app.author,
            &json!({"inputs": inputs()}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(budget_problems(&ok).is_empty(), "{ok:#}");
}

#[tokio::test]
async fn the_server_sets_its_own_budget() {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let mut runs = RunsConfig::new(crate::modules::scripted_modules(), dir.path());
    runs.options.render_budget = RenderBudget {
        max_pixels: 1024 * 1024 * 8,
        ..RenderBudget::default()
    };
    let app = spawn_app_runs(dir, None, runs).await;
    // The seeded 36-frame 1024² turntable (37.7 Mpx) runs legacy: its legacy pipeline is over.
    let ot = output_type(&app, "Turntable 36 frames").await;
    let report = json_of(
        app.post(
            &format!("/api/output-types/{ot}/preflight"),
            &app.author,
            &json!({"inputs": inputs()}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(report["ok"], false);
    let problems = budget_problems(&report);
    assert_eq!(problems.len(), 1, "{report:#}");
    assert_eq!(problems[0]["scope"], "legacy");
    assert_eq!(problems[0]["nodes"], json!(["order.render_turntable"]));
    let message = problems[0]["message"].as_str().expect("message");
    for part in ["1024 × 1024 px × 36 frame", "37748736", "8388608", "p-1"] {
        assert!(message.contains(part), "{part} in {message}");
    }
    // Under the budget with a smaller override, the same output type passes.
    let smaller = json_of(
        app.post(
            &format!("/api/output-types/{ot}/preflight"),
            &app.author,
            &json!({"inputs": inputs(), "overrides": {"render.turntable.width": 256, "render.turntable.height": 256}}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(budget_problems(&smaller).is_empty(), "{smaller:#}");
}
