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
/// enforce: for every permission and role, a probe of that permission is refused (403)
/// exactly when `/api/me` does not list it. Probes name records that do not exist, so an
/// allowed one answers 404 (or 400) and changes nothing; the permission check comes first.
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
    let mut probed = std::collections::BTreeSet::new();
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
        let send = |method: Method, path: &str, body: Option<serde_json::Value>| {
            let b = app.req(method, path, Some(token)).header("If-Match", "1");
            match body {
                Some(json) => b.json(&json),
                None => b,
            }
            .send()
        };
        let (form_type, form) = crate::openapi::form_without_file();
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
            (
                "edit_workflows",
                send(Method::DELETE, "/api/workflows/nope", None)
                    .await
                    .expect("send"),
            ),
            (
                "edit_output_types",
                send(Method::DELETE, "/api/output-types/nope", None)
                    .await
                    .expect("send"),
            ),
            (
                "upload_cad",
                app.req(Method::POST, "/api/cad-files", Some(token))
                    .header("content-type", form_type)
                    .body(form)
                    .send()
                    .await
                    .expect("send"),
            ),
            (
                "edit_materials",
                send(
                    Method::PUT,
                    "/api/products/nope/material-map",
                    Some(json!({"assignments": {}})),
                )
                .await
                .expect("send"),
            ),
            ("read_runs", app.get("/api/runs", token).await),
            ("read_runs", app.get("/api/artifacts/nope", token).await),
            (
                "control_runs",
                send(Method::POST, "/api/runs/nope/cancel", None)
                    .await
                    .expect("send"),
            ),
            (
                "control_runs",
                send(Method::POST, "/api/runs/nope/rerun", None)
                    .await
                    .expect("send"),
            ),
            (
                "preflight",
                send(Method::POST, "/api/workflows/nope/preflight", None)
                    .await
                    .expect("send"),
            ),
            (
                "dispatch",
                send(Method::POST, "/api/workflows/nope/dispatch", None)
                    .await
                    .expect("send"),
            ),
            (
                "dispatch",
                send(Method::POST, "/api/order-lines/nope/dispatch", None)
                    .await
                    .expect("send"),
            ),
            (
                "create_order_lines",
                app.post(
                    "/api/order-lines",
                    token,
                    &json!({"product_id": "nope", "output_type_id": "nope"}),
                )
                .await,
            ),
            (
                "read_notifications",
                app.get("/api/notifications", token).await,
            ),
            (
                "deliver_notifications",
                send(Method::POST, "/api/notifications/nope/delivered", None)
                    .await
                    .expect("send"),
            ),
            (
                "change_rollout",
                app.post(
                    "/api/output-types/nope/rollout",
                    token,
                    &json!({"target": "shadow"}),
                )
                .await,
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
            probed.insert(permission);
            let status = response.status();
            let text = response.text().await.expect("body");
            assert!(
                !status.is_server_error(),
                "{role}: {permission} probe: {status} {text}"
            );
            assert_eq!(
                status == StatusCode::FORBIDDEN,
                !has(permission),
                "{role}: {permission} listed {} but the server answered {status} {text}",
                has(permission),
            );
        }
    }
    // Every permission the server knows has a probe here.
    let every: std::collections::BTreeSet<String> = workflow_server::auth::Permission::ALL
        .iter()
        .map(|p| {
            serde_json::to_value(p)
                .expect("json")
                .as_str()
                .expect("str")
                .to_owned()
        })
        .collect();
    let probed: std::collections::BTreeSet<String> =
        probed.into_iter().map(str::to_owned).collect();
    assert_eq!(probed, every);
}

/// Cancel, re-run and "mark delivered" change state: they are gated by write permissions
/// (`control_runs`, `deliver_notifications`), and a refusal names the verb.
#[tokio::test]
async fn cancel_rerun_and_mark_delivered_need_write_permissions() {
    let app = spawn_app().await;
    for (path, action) in [
        ("/api/runs/nope/cancel", "cancel runs"),
        ("/api/runs/nope/rerun", "re-run runs"),
        (
            "/api/notifications/nope/delivered",
            "mark notifications delivered",
        ),
    ] {
        for token in [&app.author, &app.material_specialist] {
            let r = app.post(path, token, &json!({})).await;
            let body = error_of(r, StatusCode::FORBIDDEN, "forbidden").await;
            let message = body["error"]["message"].as_str().expect("message");
            assert!(message.contains(action), "{path}: {message}");
        }
        for token in [&app.debugger, &app.admin] {
            let r = app.post(path, token, &json!({})).await;
            error_of(r, StatusCode::NOT_FOUND, "not_found").await;
        }
    }
}
