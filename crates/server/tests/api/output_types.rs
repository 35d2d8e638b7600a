use crate::common::{error_of, json_of, spawn_app};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn still(workflow_id: Option<&str>, rollout: &str) -> Value {
    json!({
        "name": "Still 1k",
        "workflow_family": "order_line",
        "artifact_kind": "still",
        "workflow_id": workflow_id,
        "invocation_overrides": {"render.still.width": 1024},
        "legacy_settings": {"width": 1024, "height": 1024},
        "rollout": rollout,
        "fallback_to_legacy": true
    })
}

fn codes(body: &Value) -> Vec<String> {
    body["error"]["details"]["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["code"].as_str().expect("code").to_owned())
        .collect()
}

#[tokio::test]
async fn seeded_legacy_output_types_exist() {
    let app = spawn_app().await;
    let list = json_of(
        app.get("/api/output-types", &app.debugger).await,
        StatusCode::OK,
    )
    .await;
    let names: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|o| o["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "CAD thumbnail",
            "Scene export",
            "Still 2048 white",
            "Turntable 36 frames"
        ]
    );
    let cad = json_of(
        app.get("/api/output-types?family=cad_file", &app.debugger)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cad.as_array().expect("list").len(), 1);
}

#[tokio::test]
async fn crud_with_if_match() {
    let app = spawn_app().await;
    let wf = app.create_workflow("Stills", "order_line").await;
    let wf_id = wf["id"].as_str().expect("id");
    let created = json_of(
        app.post(
            "/api/output-types",
            &app.author,
            &still(Some(wf_id), "shadow"),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = created["id"].as_str().expect("id");
    assert_eq!(created["version"], 1);
    assert_eq!(created["rollout"], "shadow");
    assert_eq!(created["workflow_id"], wf_id);
    let path = format!("/api/output-types/{id}");
    let got = json_of(app.get(&path, &app.debugger).await, StatusCode::OK).await;
    assert_eq!(got, created);

    // An edit may not promote to graph before the rollout readiness checks hold.
    let mut edit = still(Some(wf_id), "graph");
    edit["invocation_overrides"] = json!({"render.height": 512});
    let r = app.put(&path, &app.author, 1, &edit).await;
    let body = error_of(r, StatusCode::CONFLICT, "rollout_not_ready").await;
    assert!(body["error"]["details"]["failed_checks"]
        .as_array()
        .is_some_and(|c| c.contains(&json!("min_shadow_runs"))));
    // Node-id keyed override ("render" is the starter's render node id).
    edit["rollout"] = json!("shadow");
    let updated = json_of(app.put(&path, &app.author, 1, &edit).await, StatusCode::OK).await;
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["rollout"], "shadow");
    assert_eq!(updated["invocation_overrides"]["render.height"], 512);
    let r = app.put(&path, &app.author, 1, &edit).await;
    let body = error_of(r, StatusCode::CONFLICT, "version_conflict").await;
    assert_eq!(body["error"]["details"]["current_version"], 2);

    // The workflow cannot go while the output type uses it; the 409 names the output type.
    let r = app
        .delete(&format!("/api/workflows/{wf_id}"), &app.author, 1)
        .await;
    let body = error_of(r, StatusCode::CONFLICT, "in_use").await;
    assert_eq!(body["error"]["details"]["output_types"][0]["id"], id);
    assert!(body["error"]["message"]
        .as_str()
        .expect("msg")
        .contains("Still 1k"));

    let r = app.delete(&path, &app.author, 2).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    error_of(
        app.get(&path, &app.author).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let r = app
        .delete(&format!("/api/workflows/{wf_id}"), &app.author, 1)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn incompatible_profiles_are_422_with_clear_errors() {
    let app = spawn_app().await;
    let order = app.create_workflow("Stills", "order_line").await;
    let cad = app.create_workflow("CAD", "cad_file").await;
    let order_id = order["id"].as_str().expect("id");
    let cad_id = cad["id"].as_str().expect("id");

    // Workflow of the wrong family.
    let r = app
        .post(
            "/api/output-types",
            &app.author,
            &still(Some(cad_id), "graph"),
        )
        .await;
    let body = error_of(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_output_type").await;
    assert!(
        codes(&body).contains(&"workflow_family_mismatch".to_owned()),
        "{body:#}"
    );

    // A workflow that cannot produce the artifact kind (the starter renders stills only).
    let mut turntable = still(Some(order_id), "graph");
    turntable["artifact_kind"] = json!("turntable");
    turntable["invocation_overrides"] = json!({});
    let r = app.post("/api/output-types", &app.author, &turntable).await;
    let body = error_of(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_output_type").await;
    assert_eq!(codes(&body), ["artifact_not_produced"]);
    assert!(body["error"]["message"]
        .as_str()
        .expect("msg")
        .contains("render.turntable"));

    // Overrides naming unknown nodes, unknown params, out-of-range values.
    let mut bad = still(Some(order_id), "graph");
    bad["invocation_overrides"] = json!({
        "ghost.width": 10,
        "render.colour": "#fff",
        "render.still.width": 0,
        "nodot": 1
    });
    let r = app.post("/api/output-types", &app.author, &bad).await;
    let body = error_of(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_output_type").await;
    let mut got = codes(&body);
    got.sort();
    assert_eq!(
        got,
        [
            "invalid_override_key",
            "override_invalid",
            "unknown_override_node",
            "unknown_override_param"
        ]
    );
    let errors = body["error"]["details"]["errors"]
        .as_array()
        .expect("errors");
    let range = errors
        .iter()
        .find(|e| e["code"] == "override_invalid")
        .expect("range");
    assert_eq!(range["field"], "invocation_overrides.render.still.width");
    assert_eq!(range["expected"], ">= 16");

    // Rollout graph/shadow without a workflow; unknown workflow id.
    let r = app
        .post("/api/output-types", &app.author, &still(None, "shadow"))
        .await;
    let body = error_of(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_output_type").await;
    assert_eq!(codes(&body), ["rollout_needs_workflow"]);
    let r = app
        .post(
            "/api/output-types",
            &app.author,
            &still(Some("missing"), "legacy"),
        )
        .await;
    let body = error_of(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_output_type").await;
    assert_eq!(codes(&body), ["unknown_workflow"]);

    // Unknown enum values are a shape error (400), not a rule violation.
    let mut kind = still(None, "legacy");
    kind["artifact_kind"] = json!("hologram");
    let r = app.post("/api/output-types", &app.author, &kind).await;
    error_of(r, StatusCode::BAD_REQUEST, "invalid_body").await;
}
