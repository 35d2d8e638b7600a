use crate::common::{json_of, spawn_app, spawn_app_in, test_backend};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn restart_on_the_same_database_keeps_everything() {
    let app = spawn_app().await;
    let wf = app.create_workflow("Kept", "order_line").await;
    let id = wf["id"].as_str().expect("id").to_owned();
    let r = app
        .put(
            &format!("/api/workflows/{id}"),
            &app.author,
            1,
            &json!({"name": "Kept v2", "graph": wf["graph"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let ot = json_of(
        app.post(
            "/api/output-types",
            &app.author,
            &json!({"name": "Mine", "workflow_family": "order_line", "artifact_kind": "still",
                    "workflow_id": id, "rollout": "graph", "legacy_settings": {}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let before_wfs = json_of(app.get("/api/workflows", &app.author).await, StatusCode::OK).await;
    let before_ots = json_of(
        app.get("/api/output-types", &app.author).await,
        StatusCode::OK,
    )
    .await;
    let (dir, tokens) = app.stop().await;

    let app = spawn_app_in(dir, Some(tokens)).await;
    let after_wfs = json_of(app.get("/api/workflows", &app.author).await, StatusCode::OK).await;
    let after_ots = json_of(
        app.get("/api/output-types", &app.debugger).await,
        StatusCode::OK,
    )
    .await;
    // Same data, and the seed did not run twice.
    assert_eq!(before_wfs, after_wfs);
    assert_eq!(before_ots, after_ots);
    let revs = json_of(
        app.get(&format!("/api/workflows/{id}/revisions"), &app.author)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(revs.as_array().expect("revs").len(), 2);
    let got = json_of(
        app.get(
            &format!("/api/output-types/{}", ot["id"].as_str().expect("id")),
            &app.author,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(got, ot);
    if test_backend() == "sqlite" {
        assert!(app.dir.path().join(workflow_server::app::DB_FILE).exists());
    }
}

/// `migrate` and `token create` work on their own, and the printed token is accepted by a
/// server started later on the same database.
#[tokio::test]
async fn cli_migrate_and_token_create() {
    let dir = std::sync::Arc::new(tempfile::tempdir().expect("dir"));
    let bin = env!("CARGO_BIN_EXE_workflow-server");
    let db = crate::common::test_db_url(dir.path()).await;
    let out = std::process::Command::new(bin)
        .args(["migrate", "--db", &db])
        .output()
        .expect("run migrate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new(bin)
        .args(["token", "create", "--role", "author", "--db", &db])
        .output()
        .expect("run token create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned();
    assert!(token.starts_with("wst_"));
    let out = std::process::Command::new(bin)
        .args(["token", "create", "--role", "root", "--db", &db])
        .output()
        .expect("run token create");
    assert!(!out.status.success());

    let app = spawn_app_in(dir, None).await;
    let r = app.get("/api/workflows", &token).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .post("/api/admin/workflows/normalize", &token, &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
