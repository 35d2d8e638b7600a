//! The API is its wire types (`workflow_wire`): every answer the app reads decodes into its
//! wire type and encodes back to the very same JSON, and every body the app sends is one
//! the server takes. A store record that drifts from what the API promises fails here (or
//! fails to compile in `api/wire.rs`) instead of silently changing what clients see.

use crate::common::{json_of, spawn_app, wait_final, TestApp};
use crate::runs::inputs;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use workflow_contracts::output_type::Rollout;
use workflow_wire::{
    ChangeView, DispatchBody, Dispatched, Me, OutputTypeRecord, Permission, RerunBody, Revision,
    Role, RolloutChange, RolloutRequest, RolloutSummary, RunPage, RunRecord, Workflow,
    WorkflowInput,
};

/// `raw` decoded as `T` and encoded again is `raw`, field for field.
fn same<T: DeserializeOwned + Serialize>(what: &str, raw: &Value) -> T {
    let typed: T = serde_json::from_value(raw.clone())
        .unwrap_or_else(|e| panic!("{what} does not decode into its wire type: {e}\n{raw:#}"));
    let again = serde_json::to_value(&typed).expect("encode");
    assert_eq!(
        &again, raw,
        "{what} is not the same JSON through its wire type"
    );
    typed
}

async fn send<B: Serialize>(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    version: Option<i64>,
    body: &B,
) -> reqwest::Response {
    let mut req = app.req(method, path, Some(token)).json(body);
    if let Some(v) = version {
        req = req.header("if-match", v.to_string());
    }
    req.send().await.expect("send")
}

#[tokio::test]
async fn every_answer_the_app_reads_is_its_wire_type_exactly() {
    let app = spawn_app().await;

    // Who am I: role and permissions.
    for (token, role) in [(&app.admin, Role::Admin), (&app.author, Role::Author)] {
        let raw = json_of(app.get("/api/me", token).await, StatusCode::OK).await;
        let me: Me = same("GET /api/me", &raw);
        assert_eq!(me.role, role);
        if role == Role::Admin {
            assert_eq!(me.permissions, Permission::ALL);
        }
    }

    // Workflows: create (the app's body), list, update, a stale update's current copy,
    // revisions.
    let starter = app.starter("order_line").await;
    let input = WorkflowInput {
        name: "Wire".into(),
        graph: serde_json::from_value(starter).expect("graph"),
    };
    let raw = json_of(
        send(
            &app,
            Method::POST,
            "/api/workflows",
            &app.author,
            None,
            &input,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let wf: Workflow = same("POST /api/workflows", &raw);
    let raw = json_of(app.get("/api/workflows", &app.author).await, StatusCode::OK).await;
    let list: Vec<Workflow> = same("GET /api/workflows", &raw);
    assert!(list.iter().any(|w| w.id == wf.id));
    let path = format!("/api/workflows/{}", wf.id);
    let renamed = WorkflowInput {
        name: "Wire 2".into(),
        graph: wf.graph.clone(),
    };
    let raw = json_of(
        send(
            &app,
            Method::PUT,
            &path,
            &app.author,
            Some(wf.version),
            &renamed,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let saved: Workflow = same("PUT /api/workflows/{id}", &raw);
    assert_eq!(saved.version, wf.version + 1);
    let raw = json_of(
        send(
            &app,
            Method::PUT,
            &path,
            &app.author,
            Some(wf.version),
            &input,
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    let current: Workflow = same(
        "a 409's details.current",
        &raw["error"]["details"]["current"],
    );
    assert_eq!(current, saved);
    let raw = json_of(
        app.get(&format!("{path}/revisions"), &app.author).await,
        StatusCode::OK,
    )
    .await;
    let revisions: Vec<Revision> = same("GET /api/workflows/{id}/revisions", &raw);
    assert_eq!(revisions.len(), 2);

    // Output types: create, list.
    let spec = json!({
        "name": "Wire still",
        "workflow_family": "order_line",
        "artifact_kind": "still",
        "workflow_id": wf.id,
        "invocation_overrides": {"render.still.width": 1024},
        "legacy_settings": {"width": 1024, "height": 1024},
        "rollout": "shadow",
        "fallback_to_legacy": true
    });
    let raw = json_of(
        app.post("/api/output-types", &app.author, &spec).await,
        StatusCode::CREATED,
    )
    .await;
    let ot: OutputTypeRecord = same("POST /api/output-types", &raw);
    let raw = json_of(
        app.get("/api/output-types", &app.author).await,
        StatusCode::OK,
    )
    .await;
    let types: Vec<OutputTypeRecord> = same("GET /api/output-types", &raw);
    assert!(types.iter().any(|o| o.id == ot.id));

    // Runs: a dispatch (the app's body), the finished run, a page, a re-run.
    let body = DispatchBody {
        inputs: inputs().as_object().cloned().expect("inputs"),
        overrides: Default::default(),
    };
    let raw = json_of(
        send(
            &app,
            Method::POST,
            &format!("/api/workflows/{}/dispatch", wf.id),
            &app.debugger,
            None,
            &body,
        )
        .await,
        StatusCode::ACCEPTED,
    )
    .await;
    let started: Dispatched = same("POST /api/workflows/{id}/dispatch", &raw);
    let mut raw = wait_final(&app, &started.run_id).await;
    // The detail adds artifacts, deliverables and parity to the run record.
    let detail = raw.as_object_mut().expect("object");
    for extra in ["artifacts", "deliverables", "parity"] {
        detail.remove(extra);
    }
    let run: RunRecord = same("GET /api/runs/{id} (the record)", &raw);
    assert!(!run.nodes.is_empty(), "{raw:#}");
    let raw = json_of(app.get("/api/runs", &app.debugger).await, StatusCode::OK).await;
    let page: RunPage = same("GET /api/runs", &raw);
    assert!(page.runs.iter().any(|r| r.id == run.id));
    let raw = json_of(
        send(
            &app,
            Method::POST,
            &format!("/api/runs/{}/rerun", run.id),
            &app.debugger,
            None,
            &RerunBody::default(),
        )
        .await,
        StatusCode::ACCEPTED,
    )
    .await;
    let rerun: Dispatched = same("POST /api/runs/{id}/rerun", &raw);
    wait_final(&app, &rerun.run_id).await;

    // Rollout: the dashboard, a change (the app's body), the history.
    let raw = json_of(app.get("/api/rollout", &app.author).await, StatusCode::OK).await;
    let dashboard: Vec<RolloutSummary> = same("GET /api/rollout", &raw);
    assert!(dashboard.iter().any(|s| s.output_type.id == ot.id));
    let request = RolloutRequest {
        target: Rollout::Legacy,
        reason: Some("wire test".into()),
        force: false,
    };
    let raw = json_of(
        send(
            &app,
            Method::POST,
            &format!("/api/output-types/{}/rollout", ot.id),
            &app.author,
            None,
            &request,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let change: ChangeView = same("POST /api/output-types/{id}/rollout", &raw);
    assert_eq!(change.change.to, Rollout::Legacy);
    let raw = json_of(
        app.get(
            &format!("/api/output-types/{}/rollout/history", ot.id),
            &app.author,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let history: Vec<RolloutChange> = same("GET /api/output-types/{id}/rollout/history", &raw);
    assert_eq!(history.len(), 2, "created, then rolled back: {raw:#}");
}
