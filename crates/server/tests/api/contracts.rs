use crate::common::{error_of, json_of, spawn_app};
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn health_needs_no_token() {
    let app = spawn_app().await;
    let r = app
        .req(Method::GET, "/api/health", None)
        .send()
        .await
        .expect("send");
    let body = json_of(r, StatusCode::OK).await;
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn registry_has_an_etag_and_answers_304() {
    let app = spawn_app().await;
    let r = app.get("/api/contracts/nodes", &app.debugger).await;
    assert_eq!(r.status(), StatusCode::OK);
    let etag = r
        .headers()
        .get("etag")
        .expect("etag")
        .to_str()
        .expect("ascii")
        .to_owned();
    let body: serde_json::Value = r.json().await.expect("json");
    assert!(body["nodes"].as_array().expect("nodes").len() >= 15);
    let r = app
        .req(Method::GET, "/api/contracts/nodes", Some(&app.author))
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let r = app
        .req(Method::GET, "/api/contracts/nodes", Some(&app.author))
        .header("If-None-Match", "\"stale\"")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn starters_for_both_families_and_404_for_unknown() {
    let app = spawn_app().await;
    for family in ["cad_file", "order_line"] {
        let graph = app.starter(family).await;
        assert_eq!(graph["family"], family);
        let report = json_of(
            app.post("/api/workflows/validate", &app.debugger, &graph)
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(report["valid"], true, "{report:#}");
    }
    let r = app.get("/api/contracts/starters/cad", &app.author).await;
    error_of(r, StatusCode::NOT_FOUND, "not_found").await;
}

/// Every route the server answers is in the document, and every documented route answers.
#[tokio::test]
async fn openapi_lists_every_route() {
    let app = spawn_app().await;
    let r = app
        .req(Method::GET, "/api/openapi.json", None)
        .send()
        .await
        .expect("send");
    let doc = json_of(r, StatusCode::OK).await;
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    let expected = [
        ("get", "/api/health"),
        ("get", "/api/me"),
        ("get", "/api/openapi.json"),
        ("get", "/api/contracts/nodes"),
        ("get", "/api/contracts/starters/{family}"),
        ("post", "/api/workflows/validate"),
        ("get", "/api/workflows"),
        ("post", "/api/workflows"),
        ("get", "/api/workflows/{id}"),
        ("put", "/api/workflows/{id}"),
        ("delete", "/api/workflows/{id}"),
        ("get", "/api/workflows/{id}/revisions"),
        ("get", "/api/workflows/{id}/revisions/{rev}"),
        ("post", "/api/workflows/{id}/revisions/{rev}/restore"),
        ("get", "/api/output-types"),
        ("post", "/api/output-types"),
        ("get", "/api/output-types/{id}"),
        ("put", "/api/output-types/{id}"),
        ("delete", "/api/output-types/{id}"),
        ("post", "/api/admin/workflows/normalize"),
        ("post", "/api/admin/tokens"),
        ("get", "/api/admin/tokens"),
        ("delete", "/api/admin/tokens/{id}"),
        ("post", "/api/workflows/{id}/preflight"),
        ("post", "/api/workflows/{id}/dispatch"),
        ("post", "/api/workflows/{id}/preview"),
        ("post", "/api/output-types/{id}/preflight"),
        ("post", "/api/output-types/{id}/dispatch"),
        ("get", "/api/runs"),
        ("get", "/api/runs/{id}"),
        ("post", "/api/runs/{id}/cancel"),
        ("post", "/api/runs/{id}/rerun"),
        ("get", "/api/runs/{id}/events"),
        ("get", "/api/artifacts/{id}"),
        ("post", "/api/cad-files"),
        ("get", "/api/products"),
        ("get", "/api/products/{id}"),
        ("get", "/api/products/{id}/glb"),
        ("get", "/api/products/{id}/thumbnail"),
        ("get", "/api/products/{id}/material-map"),
        ("put", "/api/products/{id}/material-map"),
        ("get", "/api/materials"),
        ("post", "/api/materials"),
        ("get", "/api/materials/{name}"),
        ("put", "/api/materials/{name}"),
        ("get", "/api/order-lines"),
        ("post", "/api/order-lines"),
        ("get", "/api/order-lines/{id}"),
        ("post", "/api/order-lines/{id}/dispatch"),
        ("get", "/api/products/{id}/deliverables"),
        ("get", "/api/notifications"),
        ("post", "/api/notifications/{id}/delivered"),
        ("get", "/api/rollout"),
        ("get", "/api/output-types/{id}/rollout"),
        ("post", "/api/output-types/{id}/rollout"),
        ("get", "/api/output-types/{id}/rollout/readiness"),
        ("get", "/api/output-types/{id}/rollout/history"),
        ("get", "/api/output-types/{id}/rollout/policy"),
        ("put", "/api/output-types/{id}/rollout/policy"),
    ];
    let paths = doc["paths"].as_object().expect("paths");
    let documented: usize = paths
        .values()
        .map(|p| p.as_object().map_or(0, |m| m.len()))
        .sum();
    assert_eq!(documented, expected.len(), "{:#?}", paths.keys());
    for (method, path) in expected {
        assert!(
            paths[path][method].is_object(),
            "{method} {path} not documented"
        );
        // The router answers it: anything but a route-level 404 / 405.
        let concrete = path
            .replace("{family}", "order_line")
            .replace("{id}", "nope")
            .replace("{rev}", "1")
            .replace("{name}", "nope");
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let r = app
            .req(m, &concrete, Some(&app.admin))
            .header("If-Match", "1")
            .json(&serde_json::json!({}))
            .send()
            .await
            .expect("send");
        assert_ne!(
            r.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        if r.status() == StatusCode::NOT_FOUND {
            let body: serde_json::Value = r.json().await.expect("json");
            assert_ne!(
                body["error"]["message"], "route not found",
                "{method} {path}"
            );
        }
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    // Every schema reference resolves.
    let text = doc.to_string();
    for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = part.split('"').next().expect("name");
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling $ref {name}"
        );
    }
    assert!(text.contains("#/components/schemas/Workflow"));
}
