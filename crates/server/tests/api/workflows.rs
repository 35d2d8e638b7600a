use crate::common::{error_of, json_of, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn create_get_list_update_delete() {
    let app = spawn_app().await;
    let wf = app.create_workflow("Stills", "order_line").await;
    let id = wf["id"].as_str().expect("id");
    assert_eq!(wf["version"], 1);
    assert_eq!(wf["family"], "order_line");

    let r = app
        .get(&format!("/api/workflows/{id}"), &app.debugger)
        .await;
    assert_eq!(r.headers()["etag"], "\"1\"");
    let got = json_of(r, StatusCode::OK).await;
    assert_eq!(got["graph"], wf["graph"]);

    // Seeded starters (one per family) plus ours; the family filter narrows.
    let all = json_of(app.get("/api/workflows", &app.author).await, StatusCode::OK).await;
    assert_eq!(all.as_array().expect("list").len(), 3);
    let cad = json_of(
        app.get("/api/workflows?family=cad_file", &app.author).await,
        StatusCode::OK,
    )
    .await;
    let cad = cad.as_array().expect("list");
    assert_eq!(cad.len(), 1);
    assert_eq!(cad[0]["family"], "cad_file");

    let mut graph = wf["graph"].clone();
    graph["nodes"][5]["params"]["width"] = json!(1024);
    let body = json!({"name": "Stills 1k", "graph": graph});
    let r = app
        .put(&format!("/api/workflows/{id}"), &app.author, 1, &body)
        .await;
    assert_eq!(r.headers()["etag"], "\"2\"");
    let updated = json_of(r, StatusCode::OK).await;
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["name"], "Stills 1k");

    let r = app
        .delete(&format!("/api/workflows/{id}"), &app.author, 2)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app.get(&format!("/api/workflows/{id}"), &app.author).await;
    error_of(r, StatusCode::NOT_FOUND, "not_found").await;
    let r = app
        .delete(&format!("/api/workflows/{id}"), &app.author, 2)
        .await;
    error_of(r, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn two_editors_never_overwrite_each_other() {
    let app = spawn_app().await;
    let wf = app.create_workflow("Shared", "order_line").await;
    let id = wf["id"].as_str().expect("id");
    let path = format!("/api/workflows/{id}");
    // Both editors loaded version 1.
    let alice = json!({"name": "Alice's", "graph": wf["graph"]});
    let bob = json!({"name": "Bob's", "graph": wf["graph"]});
    let r = app.put(&path, &app.author, 1, &alice).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.put(&path, &app.admin, 1, &bob).await;
    let body = error_of(r, StatusCode::CONFLICT, "version_conflict").await;
    assert_eq!(body["error"]["details"]["current_version"], 2);
    assert_eq!(body["error"]["details"]["current"]["name"], "Alice's");
    assert_eq!(body["error"]["details"]["current"]["graph"], wf["graph"]);
    // A stale delete is refused the same way.
    let r = app.delete(&path, &app.author, 1).await;
    error_of(r, StatusCode::CONFLICT, "version_conflict").await;
    let current = json_of(app.get(&path, &app.author).await, StatusCode::OK).await;
    assert_eq!(current["name"], "Alice's");
}

#[tokio::test]
async fn put_and_delete_without_if_match_are_428() {
    let app = spawn_app().await;
    let wf = app.create_workflow("w", "cad_file").await;
    let path = format!("/api/workflows/{}", wf["id"].as_str().expect("id"));
    let r = app
        .req(Method::PUT, &path, Some(&app.author))
        .json(&json!({"name": "x", "graph": wf["graph"]}))
        .send()
        .await
        .expect("send");
    error_of(
        r,
        StatusCode::PRECONDITION_REQUIRED,
        "precondition_required",
    )
    .await;
    let r = app
        .req(Method::DELETE, &path, Some(&app.author))
        .send()
        .await
        .expect("send");
    error_of(
        r,
        StatusCode::PRECONDITION_REQUIRED,
        "precondition_required",
    )
    .await;
}

#[tokio::test]
async fn invalid_graphs_are_422_with_every_error_naming_nodes() {
    let app = spawn_app().await;
    let mut graph = app.starter("order_line").await;
    let render = graph["nodes"]
        .as_array_mut()
        .expect("nodes")
        .iter_mut()
        .find(|n| n["type"] == "render.still")
        .expect("render node");
    render["params"]["width"] = json!(0);
    graph["nodes"]
        .as_array_mut()
        .expect("nodes")
        .push(json!({"id": "intruder", "type": "cad.import", "params": {}}));
    let r = app
        .post(
            "/api/workflows",
            &app.author,
            &json!({"name": "bad", "graph": graph}),
        )
        .await;
    let body = error_of(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_graph").await;
    let errors = body["error"]["details"]["errors"]
        .as_array()
        .expect("errors");
    let names = |code: &str| -> Vec<serde_json::Value> {
        errors
            .iter()
            .filter(|e| e["code"] == code)
            .flat_map(|e| e["nodes"].as_array().cloned().unwrap_or_default())
            .collect()
    };
    assert!(
        names("param_invalid").contains(&json!("render")),
        "{body:#}"
    );
    assert!(
        names("family_mismatch").contains(&json!("intruder")),
        "{body:#}"
    );
    // The validate endpoint reports the same problems without saving.
    let report = json_of(
        app.post("/api/workflows/validate", &app.debugger, &graph)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(report["valid"], false);
    assert_eq!(
        report["errors"].as_array().expect("errors").len(),
        errors.len()
    );
    // An invalid update is refused too and the stored workflow is untouched.
    let wf = app.create_workflow("ok", "order_line").await;
    let path = format!("/api/workflows/{}", wf["id"].as_str().expect("id"));
    let r = app
        .put(
            &path,
            &app.author,
            1,
            &json!({"name": "ok", "graph": graph}),
        )
        .await;
    error_of(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_graph").await;
    let r = app
        .put(
            &path,
            &app.author,
            1,
            &json!({"name": "  ", "graph": wf["graph"]}),
        )
        .await;
    error_of(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_workflow").await;
    let same = json_of(app.get(&path, &app.author).await, StatusCode::OK).await;
    assert_eq!(same["version"], 1);
}

#[tokio::test]
async fn revisions_are_kept_and_restorable() {
    let app = spawn_app().await;
    let wf = app.create_workflow("v1", "order_line").await;
    let id = wf["id"].as_str().expect("id");
    let path = format!("/api/workflows/{id}");
    let r = app
        .put(
            &path,
            &app.author,
            1,
            &json!({"name": "v2", "graph": wf["graph"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let revs = json_of(
        app.get(&format!("{path}/revisions"), &app.debugger).await,
        StatusCode::OK,
    )
    .await;
    let revs = revs.as_array().expect("list");
    assert_eq!(revs.len(), 2);
    assert_eq!(revs[0]["revision"], 2);
    assert_eq!(revs[1]["name"], "v1");
    assert_eq!(revs[1]["note"], "create");
    let one = json_of(
        app.get(&format!("{path}/revisions/1"), &app.author).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(one["name"], "v1");
    error_of(
        app.get(&format!("{path}/revisions/9"), &app.author).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let restore = format!("{path}/revisions/1/restore");
    let r = app
        .req(Method::POST, &restore, Some(&app.author))
        .send()
        .await
        .expect("send");
    error_of(
        r,
        StatusCode::PRECONDITION_REQUIRED,
        "precondition_required",
    )
    .await;
    let r = app
        .req(Method::POST, &restore, Some(&app.author))
        .header("If-Match", "1")
        .send()
        .await
        .expect("send");
    error_of(r, StatusCode::CONFLICT, "version_conflict").await;
    let r = app
        .req(Method::POST, &restore, Some(&app.author))
        .header("If-Match", "\"2\"")
        .send()
        .await
        .expect("send");
    let restored = json_of(r, StatusCode::OK).await;
    assert_eq!(restored["version"], 3);
    assert_eq!(restored["name"], "v1");
    let revs = json_of(
        app.get(&format!("{path}/revisions"), &app.author).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(revs[0]["note"], "restore 1");
}

#[tokio::test]
async fn concurrent_saves_of_one_version_let_exactly_one_through() {
    let app = spawn_app().await;
    let wf = app.create_workflow("Race", "order_line").await;
    let path = format!("/api/workflows/{}", wf["id"].as_str().expect("id"));
    let saves = (0..8).map(|i| {
        let body = json!({"name": format!("editor {i}"), "graph": wf["graph"]});
        let req = app
            .req(Method::PUT, &path, Some(&app.author))
            .header("If-Match", "1")
            .json(&body);
        async move { req.send().await.expect("send").status() }
    });
    let statuses = futures_join_all(saves).await;
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((ok, conflicts), (1, 7), "{statuses:?}");
    let current = json_of(app.get(&path, &app.author).await, StatusCode::OK).await;
    assert_eq!(current["version"], 2);
}

/// Runs futures concurrently on the test runtime (no extra crate needed).
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<StatusCode>
where
    F: std::future::Future<Output = StatusCode> + Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

#[tokio::test]
async fn a_save_that_would_break_an_output_type_is_refused() {
    let app = spawn_app().await;
    let wf = app.create_workflow("Stills", "order_line").await;
    let id = wf["id"].as_str().expect("id");
    let ot = json!({"name": "Graph still", "workflow_family": "order_line", "artifact_kind": "still",
                    "workflow_id": id, "rollout": "graph", "legacy_settings": {}});
    let r = app.post("/api/output-types", &app.author, &ot).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let cad = app.starter("cad_file").await;
    let r = app
        .put(
            &format!("/api/workflows/{id}"),
            &app.author,
            1,
            &json!({"name": "Now CAD", "graph": cad}),
        )
        .await;
    let body = error_of(r, StatusCode::UNPROCESSABLE_ENTITY, "breaks_output_types").await;
    assert_eq!(
        body["error"]["details"]["output_types"][0]["name"],
        "Graph still"
    );
    assert!(body["error"]["message"]
        .as_str()
        .expect("msg")
        .contains("Graph still"));
}
