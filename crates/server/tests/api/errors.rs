use crate::common::{error_of, spawn_app, BODY_LIMIT};
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn malformed_json_is_400_with_line_and_column() {
    let app = spawn_app().await;
    let r = app
        .req(Method::POST, "/api/workflows", Some(&app.author))
        .header("content-type", "application/json")
        .body("{\n  \"name\": \"x\",\n  \"graph\": {,}\n}")
        .send()
        .await
        .expect("send");
    let body = error_of(r, StatusCode::BAD_REQUEST, "malformed_json").await;
    assert_eq!(body["error"]["details"]["line"], 3);
    assert_eq!(body["error"]["details"]["column"], 13);
    // Valid JSON of the wrong shape is also 400, with its own code.
    let r = app
        .post(
            "/api/workflows",
            &app.author,
            &serde_json::json!({"graph": 3}),
        )
        .await;
    error_of(r, StatusCode::BAD_REQUEST, "invalid_body").await;
}

#[tokio::test]
async fn oversized_body_is_413() {
    let app = spawn_app().await;
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(BODY_LIMIT + 1));
    let r = app
        .req(Method::POST, "/api/workflows/validate", Some(&app.author))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .expect("send");
    error_of(r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}

#[tokio::test]
async fn unknown_routes_methods_and_bad_path_params_get_our_body() {
    let app = spawn_app().await;
    error_of(
        app.get("/api/nope", &app.author).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let r = app
        .req(Method::PATCH, "/api/workflows", Some(&app.author))
        .send()
        .await
        .expect("send");
    error_of(r, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    let wf = app.create_workflow("w", "order_line").await;
    let path = format!(
        "/api/workflows/{}/revisions/abc",
        wf["id"].as_str().expect("id")
    );
    error_of(
        app.get(&path, &app.author).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    let r = app.get("/api/workflows?family=cad", &app.author).await;
    error_of(r, StatusCode::BAD_REQUEST, "bad_request").await;
}

#[tokio::test]
async fn a_panicking_handler_does_not_kill_the_server() {
    let app = spawn_app().await;
    let r = app.get("/api/_debug/panic", &app.author).await;
    error_of(r, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;
    let r = app
        .req(Method::GET, "/api/health", None)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
}
