//! The production wiring end to end: upload a CAD file, let the real modules process it, render
//! an order line for the product, download the still. Real fixtures, real (llvmpipe) renderer.

use super::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub fn fixture(rel: &str) -> PathBuf {
    let base = std::env::var("WORKFLOW_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
            [
                here.join("../../../shared/fixtures"),
                PathBuf::from("/work/shared/fixtures"),
            ]
            .into_iter()
            .find(|p| p.exists())
            .unwrap_or_else(|| here.join("../../../shared/fixtures"))
        });
    base.join(rel)
}

/// `POST /api/cad-files` of one fixture with `overrides`.
pub async fn upload(app: &TestApp, rel: &str, overrides: Value) -> reqwest::Response {
    let path = fixture(rel);
    let bytes = std::fs::read(&path).expect("fixture exists");
    let name = path
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let overrides = overrides.to_string();
    upload_files(app, &[(&name, bytes)], &[("overrides", &overrides)]).await
}

/// `POST /api/cad-files` with `files` (name, bytes) as `file` fields and `extra` text fields.
pub async fn upload_files(
    app: &TestApp,
    files: &[(&str, Vec<u8>)],
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let boundary = "----workflow-upload-boundary";
    let mut body = Vec::new();
    for (name, value) in extra {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    app.req(Method::POST, "/api/cad-files", Some(&app.author))
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("request")
}

/// Polls a run until it is final (renders on llvmpipe in a debug build: allow a minute).
pub async fn finished(app: &TestApp, run_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let run = json_of(
            app.get(&format!("/api/runs/{run_id}"), &app.debugger).await,
            StatusCode::OK,
        )
        .await;
        if matches!(
            run["status"].as_str(),
            Some("succeeded" | "failed" | "cancelled")
        ) {
            return run;
        }
        assert!(
            Instant::now() < deadline,
            "run {run_id} did not finish: {run:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn small_thumbnail() -> Value {
    json!({"render.thumbnail.width": 128, "render.thumbnail.height": 128})
}

#[tokio::test]
async fn upload_process_then_render_an_order_line() {
    let app = spawn_app_production().await;
    let created = json_of(
        upload(&app, "gltf/Box.glb", small_thumbnail()).await,
        StatusCode::ACCEPTED,
    )
    .await;
    let product_id = created["product"]["id"]
        .as_str()
        .expect("product id")
        .to_owned();
    let run = finished(&app, created["run_id"].as_str().expect("run id")).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");

    let product = json_of(
        app.get(&format!("/api/products/{product_id}"), &app.author)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(product["status"], "processed", "{product:#}");
    assert!(!product["manifest"]["parts"]
        .as_array()
        .expect("parts")
        .is_empty());
    let glb = app
        .get(&format!("/api/products/{product_id}/glb"), &app.author)
        .await;
    assert_eq!(glb.status(), StatusCode::OK);
    assert_eq!(glb.headers()["content-type"], "model/gltf-binary");
    assert_eq!(&glb.bytes().await.expect("glb")[..4], b"glTF");
    let list = json_of(app.get("/api/products", &app.author).await, StatusCode::OK).await;
    assert_eq!(list["products"][0]["id"], product_id);
    let library = json_of(app.get("/api/materials", &app.author).await, StatusCode::OK).await;
    assert!(library["materials"].as_array().expect("materials").len() > 10);

    let wf = app.create_workflow("Still", "order_line").await;
    let dispatch = app
        .post(
            &format!(
                "/api/workflows/{}/dispatch",
                wf["id"].as_str().expect("wf id")
            ),
            &app.debugger,
            &json!({"inputs": {"product_id": product_id, "order_line_id": "line-1"},
                    "overrides": {"render.still.width": 128, "render.still.height": 128}}),
        )
        .await;
    let dispatched = json_of(dispatch, StatusCode::ACCEPTED).await;
    let run = finished(&app, dispatched["run_id"].as_str().expect("run id")).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");
    let still = run["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .find(|a| a["role"] == "still")
        .unwrap_or_else(|| panic!("a still artifact: {run:#}"))
        .clone();
    let png = app
        .get(
            &format!("/api/artifacts/{}", still["id"].as_str().expect("id")),
            &app.debugger,
        )
        .await;
    assert_eq!(png.status(), StatusCode::OK);
    assert_eq!(png.headers()["content-type"], "image/png");
    let bytes = png.bytes().await.expect("png");
    assert_eq!(&bytes[1..4], b"PNG");
    let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    assert_eq!(width, 128);
}

/// A valid glTF that draws nothing (Khronos' `mesh/valid.gltf`: a mesh no node places) is
/// never published as an empty product: processing fails with `no_geometry`, and the reason
/// is word for word what the engine's importer (the viewer's local open) says of the file.
#[tokio::test]
async fn an_upload_without_geometry_fails_as_no_geometry_with_the_importer_reason() {
    let rel = "gltf-validator/base/data/mesh/valid.gltf";
    let app = spawn_app_production().await;
    let created = json_of(
        upload(&app, rel, small_thumbnail()).await,
        StatusCode::ACCEPTED,
    )
    .await;
    let product_id = created["product"]["id"]
        .as_str()
        .expect("product id")
        .to_owned();
    let run = finished(&app, created["run_id"].as_str().expect("run id")).await;
    assert_eq!(run["status"], "failed", "{run:#}");
    let product = json_of(
        app.get(&format!("/api/products/{product_id}"), &app.author)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(product["status"], "failed", "{product:#}");
    assert_eq!(product["error"]["code"], "no_geometry", "{product:#}");
    let local = workflow_engine::import_file_as(
        &fixture(rel),
        "valid.gltf",
        &workflow_engine::ImportParams::default(),
    )
    .expect_err("no geometry");
    // The same reason; only the file's name differs (the server names the product too).
    let message = product["error"]["message"].as_str().expect("message");
    let reason = local.to_string();
    let reason = reason
        .strip_prefix("valid.gltf: ")
        .expect("named by the file");
    assert!(message.ends_with(reason), "{message} / {reason}");
    assert!(message.contains("valid.gltf"), "{message}");
    assert!(message.contains("1 mesh"), "{message}");
}

#[tokio::test]
async fn a_malformed_upload_fails_processing_with_the_importer_error() {
    let app = spawn_app_production().await;
    let created = json_of(
        upload(&app, "gltf/malformed/invalid_magic.glb", small_thumbnail()).await,
        StatusCode::ACCEPTED,
    )
    .await;
    let product_id = created["product"]["id"]
        .as_str()
        .expect("product id")
        .to_owned();
    let run = finished(&app, created["run_id"].as_str().expect("run id")).await;
    assert_eq!(run["status"], "failed", "{run:#}");
    let failed = run["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["status"] == "failed")
        .expect("a failed node")
        .clone();
    assert_eq!(failed["error"]["code"], "malformed_gltf", "{failed:#}");
    let product = json_of(
        app.get(&format!("/api/products/{product_id}"), &app.author)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(product["status"], "failed", "{product:#}");
    assert_eq!(product["error"]["code"], "malformed_gltf");
    assert!(product["error"]["message"]
        .as_str()
        .expect("message")
        .contains("glTF"));
    // Order lines of an unprocessed or unknown product are refused at preflight.
    let wf = app.create_workflow("Still", "order_line").await;
    let path = format!(
        "/api/workflows/{}/dispatch",
        wf["id"].as_str().expect("wf id")
    );
    for (id, code) in [
        (product_id.as_str(), "product_not_processed"),
        ("no-such-product", "unknown_product"),
    ] {
        let body = json!({"inputs": {"product_id": id, "order_line_id": "line-1"}});
        let refused = error_of(
            app.post(&path, &app.debugger, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "preflight_failed",
        )
        .await;
        let problems = refused["error"]["details"]["problems"]
            .as_array()
            .expect("problems")
            .clone();
        assert!(problems.iter().any(|p| p["code"] == code), "{refused:#}");
    }
    // The upload is kept, under the name it was uploaded with, in the artifact store under a
    // key of ours.
    let record = app.store.get_product(&product_id).await.expect("record");
    let names: Vec<&str> = record
        .source_files
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(names, ["invalid_magic.glb"]);
    let key = &record.source_files[0].key;
    assert_eq!(key, &format!("products/{product_id}/files/0"));
}

#[tokio::test]
async fn unsupported_uploads_are_refused_and_material_maps_are_versioned() {
    let app = spawn_app_production().await;
    error_of(
        upload(&app, "README.md", json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unsupported_format",
    )
    .await;
    let created = json_of(
        upload(&app, "gltf/Box.glb", small_thumbnail()).await,
        StatusCode::ACCEPTED,
    )
    .await;
    let id = created["product"]["id"].as_str().expect("id").to_owned();
    let path = format!("/api/products/{id}/material-map");
    let map = json!({"assignments": {}, "rules": [{"pattern": "*", "material": "paint_red"}]});
    error_of(
        app.put(&path, &app.material_specialist, 5, &map).await,
        StatusCode::CONFLICT,
        "version_mismatch",
    )
    .await;
    let bad = json!({"assignments": {}, "rules": [{"pattern": "*", "material": "unobtainium"}]});
    error_of(
        app.put(&path, &app.material_specialist, 0, &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_material",
    )
    .await;
    let stored = app.put(&path, &app.material_specialist, 0, &map).await;
    assert_eq!(stored.status(), StatusCode::OK);
    assert_eq!(stored.headers()["etag"], "\"1\"");
    let got = app.get(&path, &app.author).await;
    assert_eq!(got.headers()["etag"], "\"1\"");
    finished(&app, created["run_id"].as_str().expect("run id")).await;
    // Uploads have their own body limit: this file is larger than the API's (256 KiB here).
    let truck = std::fs::metadata(fixture("gltf/CesiumMilkTruck.glb"))
        .expect("fixture")
        .len();
    assert!(truck as usize > BODY_LIMIT);
    let created = json_of(
        upload(&app, "gltf/CesiumMilkTruck.glb", small_thumbnail()).await,
        StatusCode::ACCEPTED,
    )
    .await;
    let run = finished(&app, created["run_id"].as_str().expect("run id")).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");
}

#[tokio::test]
async fn a_step_assembly_is_processed_with_instance_part_keys() {
    let app = spawn_app_production().await;
    let created = json_of(
        upload(&app, "step/as1-oc-214.step", small_thumbnail()).await,
        StatusCode::ACCEPTED,
    )
    .await;
    let id = created["product"]["id"].as_str().expect("id").to_owned();
    let run = finished(&app, created["run_id"].as_str().expect("run id")).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");
    let product = json_of(
        app.get(&format!("/api/products/{id}"), &app.author).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(product["status"], "processed");
    let parts = product["manifest"]["parts"].as_array().expect("parts");
    assert_eq!(parts.len(), 18, "{parts:#?}");
    assert!(parts
        .iter()
        .all(|p| p["part_key"].as_str().is_some_and(|k| k.contains('/'))));
}

/// `cad.publish` `replace_existing`: processing a processed product again replaces its
/// results by default; with it off the run fails `already_published` naming the product and
/// the results stay as they were.
#[tokio::test]
async fn reprocessing_replaces_published_results_only_when_allowed() {
    let app = spawn_app_production().await;
    let created = json_of(
        upload(&app, "gltf/Box.glb", small_thumbnail()).await,
        StatusCode::ACCEPTED,
    )
    .await;
    let product_id = created["product"]["id"].as_str().expect("id").to_owned();
    let run = finished(&app, created["run_id"].as_str().expect("run id")).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");
    let glb_url = format!("/api/products/{product_id}/glb");
    let glb = || {
        let app = &app;
        let url = &glb_url;
        async move { app.get(url, &app.author).await.bytes().await.expect("glb") }
    };
    let before = glb().await;
    let manifest_width = |product: &Value| {
        let b = &product["manifest"]["bounds"];
        b["max"][0].as_f64().expect("max") - b["min"][0].as_f64().expect("min")
    };
    let product_url = format!("/api/products/{product_id}");
    let width_m =
        manifest_width(&json_of(app.get(&product_url, &app.author).await, StatusCode::OK).await);

    let all = json_of(
        app.get("/api/output-types?family=cad_file", &app.author)
            .await,
        StatusCode::OK,
    )
    .await;
    let cad = all[0]["id"]
        .as_str()
        .expect("a cad_file output type")
        .to_owned();
    let reprocess = |overrides: Value| {
        let mut o = small_thumbnail();
        for (k, v) in overrides.as_object().cloned().unwrap_or_default() {
            o[k] = v;
        }
        json!({"inputs": {"product_id": product_id}, "overrides": o})
    };
    let dispatch = format!("/api/output-types/{cad}/dispatch");
    let refused = json_of(
        app.post(
            &dispatch,
            &app.debugger,
            &reprocess(json!({"cad.publish.replace_existing": false,
                              "cad.source.source_unit": "mm"})),
        )
        .await,
        StatusCode::ACCEPTED,
    )
    .await;
    let run = finished(&app, refused["run_id"].as_str().expect("run id")).await;
    assert_eq!(run["status"], "failed", "{run:#}");
    let publish = super::runs::node(&run, "cad.publish");
    assert_eq!(publish["error"]["code"], "already_published", "{publish:#}");
    assert_eq!(
        publish["error"]["details"]["product_id"],
        product_id.as_str()
    );
    assert!(publish["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains(&product_id)));
    assert_eq!(glb().await, before, "the earlier results are kept");

    // The default replaces them: here with the source read as millimetres (1000× smaller).
    let replaced = json_of(
        app.post(
            &dispatch,
            &app.debugger,
            &reprocess(json!({"cad.source.source_unit": "mm"})),
        )
        .await,
        StatusCode::ACCEPTED,
    )
    .await;
    let run = finished(&app, replaced["run_id"].as_str().expect("run id")).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");
    assert_ne!(glb().await, before);
    let product = json_of(app.get(&product_url, &app.author).await, StatusCode::OK).await;
    assert_eq!(product["status"], "processed");
    let width_mm = manifest_width(&product);
    assert!(
        (width_mm * 1000.0 - width_m).abs() < 1e-6 * width_m.max(1.0),
        "{width_m} m read as mm is {width_mm}"
    );
}
