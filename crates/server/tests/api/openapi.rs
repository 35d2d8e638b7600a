//! The OpenAPI document says what the server does: every operation is called with each role
//! (and without a token), with an empty, a malformed and an oversized body and a bad path,
//! and every answer's status must be one the document lists for that operation, with our
//! error body. scripts/api-conformance fuzzes the same document with schemathesis.

use crate::common::{error_of, json_of, spawn_app, spawn_app_with_workers, BODY_LIMIT};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// `path` with its parameters filled: ids that name nothing, a revision number, a family.
fn concrete(path: &str, id: &str) -> String {
    path.split('/')
        .map(|seg| match seg {
            "{rev}" => "1".to_owned(),
            "{family}" => "cad_file".to_owned(),
            s if s.starts_with('{') => id.to_owned(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A multipart body with only an `overrides` field (no file): content type and bytes.
pub fn form_without_file() -> (String, Vec<u8>) {
    let boundary = "----workflow-test-boundary";
    (
        format!("multipart/form-data; boundary={boundary}"),
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"overrides\"\r\n\r\n{{}}\r\n--{boundary}--\r\n"
        )
        .into_bytes(),
    )
}

#[derive(Clone, Copy)]
enum Body {
    Empty,
    Malformed,
    Oversized,
}

#[tokio::test]
async fn every_answer_is_documented_with_our_error_body() {
    let app = spawn_app().await;
    let doc = json_of(
        app.req(Method::GET, "/api/openapi.json", None)
            .send()
            .await
            .expect("send"),
        StatusCode::OK,
    )
    .await;
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() > 40, "{} paths", paths.len());
    let tokens = [
        None,
        Some(app.material_specialist.as_str()),
        Some(app.debugger.as_str()),
        Some(app.admin.as_str()),
    ];
    let mut calls = 0;
    let mut undocumented = Vec::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("path item") {
            let method: Method = method.to_uppercase().parse().expect("method");
            let documented = op["responses"].as_object().expect("responses");
            let body_type = op["requestBody"]["content"]
                .as_object()
                .and_then(|c| c.keys().next().cloned());
            let has_path_param = path.contains('{');
            let mut cases: Vec<(Option<&str>, String, Option<Body>)> = tokens
                .iter()
                .map(|t| (*t, concrete(path, "nope"), Some(Body::Empty)))
                .collect();
            if body_type.is_some() {
                cases.push((
                    Some(&app.admin),
                    concrete(path, "nope"),
                    Some(Body::Malformed),
                ));
                cases.push((
                    Some(&app.admin),
                    concrete(path, "nope"),
                    Some(Body::Oversized),
                ));
            }
            if has_path_param && !path.contains("{family}") {
                // Percent-encoded bytes that are not UTF-8: the path cannot be decoded.
                cases.push((
                    Some(&app.admin),
                    concrete(path, "%FF%FE"),
                    Some(Body::Empty),
                ));
            }
            for (token, url, body) in cases {
                let mut req = app.req(method.clone(), &url, token).header("If-Match", "1");
                req = match (body_type.as_deref(), body) {
                    (Some("multipart/form-data"), Some(Body::Empty)) => {
                        let (content_type, bytes) = form_without_file();
                        req.header("content-type", content_type).body(bytes)
                    }
                    (Some(_), Some(Body::Empty)) => req.json(&json!({})),
                    (Some(_), Some(Body::Malformed)) => req
                        .header("content-type", "application/json")
                        .body("{\"name\": "),
                    (Some(_), Some(Body::Oversized)) => req
                        .header("content-type", "application/json")
                        .body(vec![b' '; BODY_LIMIT + 1]),
                    _ => req,
                };
                let response = req.send().await.expect("send");
                calls += 1;
                let status = response.status();
                let text = response.text().await.expect("body");
                if !documented.contains_key(status.as_str()) {
                    undocumented.push(format!("{method} {url}: {status} {text}"));
                }
                assert!(!status.is_server_error(), "{method} {url}: {status} {text}");
                if status.is_client_error() {
                    let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
                        panic!("{method} {url}: {status} not JSON ({e}): {text}")
                    });
                    assert!(body["error"]["code"].is_string(), "{method} {url}: {body}");
                    assert!(
                        body["error"]["message"].is_string(),
                        "{method} {url}: {body}"
                    );
                    assert!(
                        body["error"]["details"].is_object(),
                        "{method} {url}: {body}"
                    );
                }
            }
        }
    }
    assert!(calls > 250, "{calls} calls");
    assert!(
        undocumented.is_empty(),
        "{} answers the document does not list:\n{}",
        undocumented.len(),
        undocumented.join("\n")
    );
}

/// Every operation that takes a token lists 401, every one with a body 400 and 413, every
/// one with a path parameter 404, each with the error body's schema.
#[tokio::test]
async fn standard_errors_are_listed_on_every_operation() {
    let app = spawn_app().await;
    let doc = json_of(
        app.get("/api/openapi.json", &app.admin).await,
        StatusCode::OK,
    )
    .await;
    let error_ref = json!({"$ref": "#/components/schemas/ErrorBody"});
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            let mut expected = Vec::new();
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                expected.push("401");
            }
            if !op["requestBody"].is_null() {
                expected.extend(["400", "413"]);
            }
            if path.contains('{') {
                expected.extend(["400", "404"]);
            }
            for status in expected {
                let response = &op["responses"][status];
                assert_eq!(
                    response["content"]["application/json"]["schema"], error_ref,
                    "{method} {path}: {status} is not listed with ErrorBody"
                );
            }
        }
    }
    // The body of `POST /api/cad-files` is documented: multipart with `file` and `overrides`.
    let upload = &doc["paths"]["/api/cad-files"]["post"]["requestBody"]["content"]
        ["multipart/form-data"]["schema"];
    assert!(!upload.is_null(), "{:#}", doc["paths"]["/api/cad-files"]);
}

/// A queued run has no node records yet: the schema must not require `nodes` (nor the
/// detail-only lists a page leaves out), and the run detail still answers.
#[tokio::test]
async fn a_queued_run_matches_the_run_schema() {
    let app = spawn_app_with_workers(1).await;
    let doc = json_of(
        app.get("/api/openapi.json", &app.admin).await,
        StatusCode::OK,
    )
    .await;
    let required: Vec<&str> = doc["components"]["schemas"]["Run"]["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for field in ["nodes", "artifacts", "deliverables", "parity"] {
        assert!(!required.contains(&field), "Run requires {field}");
    }
    let wf = app.create_workflow("queued", "order_line").await;
    let path = format!("/api/workflows/{}/dispatch", wf["id"].as_str().expect("id"));
    // The one worker hangs in a scripted render, so the next run stays queued.
    let mut hang = crate::runs::inputs();
    hang["test_hang"] = json!("render");
    let blocker = json_of(
        app.post(&path, &app.debugger, &json!({ "inputs": hang }))
            .await,
        StatusCode::ACCEPTED,
    )
    .await;
    let blocker = blocker["run_id"].as_str().expect("run id").to_owned();
    crate::common::wait_for(&app, &blocker, |r| r["status"] == "running").await;
    let queued = json!({ "inputs": crate::runs::inputs() });
    let d = json_of(
        app.post(&path, &app.debugger, &queued).await,
        StatusCode::ACCEPTED,
    )
    .await;
    let run = json_of(
        app.get(
            &format!("/api/runs/{}", d["run_id"].as_str().expect("run id")),
            &app.debugger,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(run["status"], "queued", "{run:#}");
    let page = json_of(app.get("/api/runs", &app.debugger).await, StatusCode::OK).await;
    let listed = &page["runs"][0];
    for field in &required {
        assert!(
            run.get(*field).is_some(),
            "queued run lacks {field}: {run:#}"
        );
        assert!(
            listed.get(*field).is_some(),
            "listed run lacks {field}: {listed:#}"
        );
    }
    // Stop the hanging run, or the runtime would wait for its thread forever.
    app.post(
        &format!("/api/runs/{blocker}/cancel"),
        &app.debugger,
        &json!({}),
    )
    .await;
    crate::common::wait_final(&app, &blocker).await;
}

/// `quantity` is an integer in the document; JSON Schema's integers include `182622129.0`,
/// so the server takes any number with an integral value, and refuses a fraction with 400.
#[tokio::test]
async fn integral_floats_are_integers_and_fractions_are_refused() {
    let app = spawn_app().await;
    let product = json!({"product_id": "nope", "output_type_id": "nope"});
    let with = |quantity: Value| {
        let mut body = product.clone();
        body["quantity"] = quantity;
        body
    };
    let r = app
        .post("/api/order-lines", &app.author, &with(json!(182622129.0)))
        .await;
    // The product is checked first (404): the body was accepted as well-formed.
    let body = error_of(r, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(body["error"]["details"]["field"], "product_id", "{body:#}");
    let r = app
        .post("/api/order-lines", &app.author, &with(json!(2.5)))
        .await;
    let body = error_of(r, StatusCode::BAD_REQUEST, "invalid_body").await;
    assert!(body["error"]["details"]["line"].is_number(), "{body:#}");
}

/// docs/server.md's `POST /api/workflows/validate` example is what the endpoint takes: the
/// bare graph. (The docs once wrapped it in `{"graph": …}`, which the endpoint refuses.)
#[tokio::test]
async fn the_documented_validate_example_works() {
    let app = spawn_app().await;
    let docs = include_str!("../../../../docs/server.md");
    let lines: Vec<&str> = docs.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("$B/api/workflows/validate"))
        .expect("docs/server.md shows the validate endpoint");
    let example = lines[..=at]
        .iter()
        .rev()
        .find_map(|l| l.split("-d '").nth(1))
        .and_then(|rest| rest.split('\'').next())
        .expect("the example's -d body");
    let body: Value = serde_json::from_str(example).expect("the example body is JSON");
    let report = json_of(
        app.post("/api/workflows/validate", &app.author, &body)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(report["valid"], false, "{report:#}");
    assert!(report["errors"].is_array(), "{report:#}");
    let r = app
        .post(
            "/api/workflows/validate",
            &app.author,
            &json!({"graph": body}),
        )
        .await;
    error_of(r, StatusCode::BAD_REQUEST, "invalid_body").await;
}
