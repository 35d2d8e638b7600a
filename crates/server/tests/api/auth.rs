use crate::common::{error_of, json_of, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn missing_or_invalid_token_is_401() {
    let app = spawn_app().await;
    for path in [
        "/api/contracts/nodes",
        "/api/workflows",
        "/api/output-types",
    ] {
        let r = app.req(Method::GET, path, None).send().await.expect("send");
        error_of(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
        let r = app.get(path, "wst_not_a_token").await;
        error_of(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
}

#[tokio::test]
async fn every_role_reads_but_only_author_and_admin_write() {
    let app = spawn_app().await;
    let graph = app.starter("order_line").await;
    for token in [&app.debugger, &app.material_specialist] {
        for path in [
            "/api/contracts/nodes",
            "/api/workflows",
            "/api/output-types",
        ] {
            assert_eq!(
                app.get(path, token).await.status(),
                StatusCode::OK,
                "{path}"
            );
        }
        let r = app
            .post(
                "/api/workflows",
                token,
                &json!({"name": "w", "graph": graph}),
            )
            .await;
        let body = error_of(r, StatusCode::FORBIDDEN, "forbidden").await;
        assert!(body["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("create workflows"));
        let r = app
            .post(
                "/api/admin/workflows/normalize?dry_run=true",
                token,
                &json!({}),
            )
            .await;
        error_of(r, StatusCode::FORBIDDEN, "forbidden").await;
    }
    for token in [&app.author, &app.admin] {
        let r = app
            .post(
                "/api/workflows",
                token,
                &json!({"name": "w", "graph": graph}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let r = app
        .post("/api/admin/workflows/normalize", &app.author, &json!({}))
        .await;
    error_of(r, StatusCode::FORBIDDEN, "forbidden").await;
    let r = app
        .post("/api/admin/tokens", &app.author, &json!({"role": "admin"}))
        .await;
    error_of(r, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test]
async fn admin_issues_tokens_that_work_at_once() {
    let app = spawn_app().await;
    let created = json_of(
        app.post(
            "/api/admin/tokens",
            &app.admin,
            &json!({"role": "debugger", "label": "ci"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let token = created["token"].as_str().expect("token");
    assert_eq!(
        app.get("/api/workflows", token).await.status(),
        StatusCode::OK
    );
    let r = app
        .post("/api/admin/tokens", &app.admin, &json!({"role": "root"}))
        .await;
    error_of(r, StatusCode::BAD_REQUEST, "invalid_body").await;
}

#[tokio::test]
async fn embedded_server_binds_loopback_with_an_in_memory_admin_token() {
    let dir = tempfile::tempdir().expect("dir");
    let server = workflow_server::embedded::start(dir.path())
        .await
        .expect("start");
    assert!(server.url.starts_with("http://127.0.0.1:"));
    let client = reqwest::Client::new();
    let r = client
        .get(format!("{}/api/workflows", server.url))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let list: Vec<serde_json::Value> = r.json().await.expect("json");
    assert_eq!(list.len(), 2, "seeded starters");
    server.shutdown().await;
}

#[test]
fn background_server_runs_without_a_caller_runtime() {
    let dir = tempfile::tempdir().expect("dir");
    let server = workflow_server::embedded::start_in_background(dir.path()).expect("start");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let status = rt.block_on(async {
        reqwest::Client::new()
            .get(format!("{}/api/contracts/nodes", server.url))
            .bearer_auth(&server.admin_token)
            .send()
            .await
            .expect("send")
            .status()
    });
    assert_eq!(status, StatusCode::OK);
    server.shutdown();
}

/// `GET /api/me` names the token's role and permissions, and the list is what the handlers
/// enforce: each probe is refused exactly when its permission is missing.
#[tokio::test]
async fn me_lists_the_permissions_the_handlers_enforce() {
    let app = spawn_app().await;
    let graph = app.starter("order_line").await;
    let r = app
        .req(Method::GET, "/api/me", None)
        .send()
        .await
        .expect("send");
    error_of(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
    for (token, role) in [
        (&app.author, "author"),
        (&app.debugger, "debugger"),
        (&app.material_specialist, "material_specialist"),
        (&app.admin, "admin"),
    ] {
        let me = json_of(app.get("/api/me", token).await, StatusCode::OK).await;
        assert_eq!(me["role"], role);
        let has = |p: &str| {
            me["permissions"]
                .as_array()
                .expect("permissions")
                .iter()
                .any(|v| v == p)
        };
        let probes = [
            (
                "edit_workflows",
                app.post(
                    "/api/workflows",
                    token,
                    &json!({"name": role, "graph": graph}),
                )
                .await,
            ),
            ("read_runs", app.get("/api/runs", token).await),
            (
                "read_notifications",
                app.get("/api/notifications", token).await,
            ),
            (
                "administer",
                app.post(
                    "/api/admin/workflows/normalize?dry_run=true",
                    token,
                    &json!({}),
                )
                .await,
            ),
        ];
        for (permission, response) in probes {
            assert_eq!(
                response.status() != StatusCode::FORBIDDEN,
                has(permission),
                "{role}: {permission} listed {} but the server answered {}",
                has(permission),
                response.status()
            );
        }
    }
}
