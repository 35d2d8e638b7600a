//! What an upload may reach: a `.gltf` names its side files, and only the files of its own
//! upload are visible to the import; hostile references are refused at once, oversized
//! uploads get 413 while they stream, and errors name the uploaded file, never a server path.

use super::common::*;
use super::products::{finished, fixture, small_thumbnail, upload_files};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::Write as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A one-triangle glTF whose buffer is `uri` (and, when given, an image at `image_uri`).
fn gltf_naming(uri: &str, image_uri: Option<&str>) -> Vec<u8> {
    let mut doc = json!({
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
                       "min": [0, 0, 0], "max": [1, 1, 0]}],
        "bufferViews": [{"buffer": 0, "byteLength": 36}],
        "buffers": [{"uri": uri, "byteLength": 36}]
    });
    if let Some(image) = image_uri {
        doc["images"] = json!([{"uri": image}]);
    }
    serde_json::to_vec(&doc).expect("json")
}

async fn product_count(app: &TestApp) -> usize {
    let body = json_of(
        app.get("/api/products", &app.debugger).await,
        StatusCode::OK,
    )
    .await;
    body["products"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn hostile_references_are_refused_at_upload_and_create_no_product() {
    let app = spawn_app().await;
    let secret = app.dir.path().join("secret.bin");
    std::fs::write(&secret, [7u8; 36]).expect("secret");
    let absolute = secret.display().to_string();
    let cases = [
        (gltf_naming("/etc/passwd", None), "/etc/passwd"),
        (
            gltf_naming("../../../../etc/passwd", None),
            "../../../../etc/passwd",
        ),
        (
            gltf_naming("file:///etc/passwd", None),
            "file:///etc/passwd",
        ),
        (gltf_naming(&absolute, None), absolute.as_str()),
        (
            gltf_naming("%2e%2e/%2e%2e/secret.bin", None),
            "%2e%2e/%2e%2e/secret.bin",
        ),
        (
            gltf_naming(
                "data:application/octet-stream;base64,AAAA",
                Some("/etc/hostname"),
            ),
            "/etc/hostname",
        ),
    ];
    for (gltf, uri) in cases {
        let res = upload_files(&app, &[("hostile.gltf", gltf)], &[]).await;
        let body = json_of(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(
            body["error"]["code"], "external_reference_refused",
            "{body}"
        );
        assert_eq!(body["error"]["details"]["uri"], uri, "{body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(uri), "{message}");
    }
    // A GLB can name an outside file as well.
    let res = upload_files(&app, &[("hostile.glb", glb_naming("/etc/passwd"))], &[]).await;
    let body = json_of(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        body["error"]["code"], "external_reference_refused",
        "{body}"
    );
    assert_eq!(product_count(&app).await, 0, "no product was created");
}

/// A GLB with no binary chunk whose only buffer is `uri`.
fn glb_naming(uri: &str) -> Vec<u8> {
    let mut json = gltf_naming(uri, None);
    while !json.len().is_multiple_of(4) {
        json.push(b' ');
    }
    let total = (12 + 8 + json.len()) as u32;
    let mut out = b"glTF".to_vec();
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&0x4E4F_534Au32.to_le_bytes());
    out.extend_from_slice(&json);
    out
}

#[tokio::test]
async fn a_missing_side_file_is_named() {
    let app = spawn_app().await;
    let gltf = std::fs::read(fixture("gltf/SimpleMeshes/SimpleMeshes.gltf")).expect("fixture");
    let res = upload_files(&app, &[("SimpleMeshes.gltf", gltf)], &[]).await;
    let body = json_of(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["error"]["code"], "missing_side_file", "{body}");
    assert_eq!(body["error"]["details"]["uri"], "triangle.bin");
    assert_eq!(body["error"]["details"]["pointer"], "/buffers/0/uri");
}

#[tokio::test]
async fn file_names_that_leave_the_upload_are_refused() {
    let app = spawn_app().await;
    let glb = std::fs::read(fixture("gltf/Box.glb")).expect("fixture");
    for name in ["../evil.glb", "/tmp/evil.glb", "a\\..\\evil.glb"] {
        let res = upload_files(&app, &[(name, glb.clone())], &[]).await;
        let body = json_of(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(body["error"]["code"], "invalid_file_name", "{name}: {body}");
    }
    let res = upload_files(&app, &[("a.glb", glb.clone()), ("b.glb", glb)], &[]).await;
    let body = json_of(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["error"]["code"], "ambiguous_upload", "{body}");
    assert_eq!(product_count(&app).await, 0);
}

async fn processed(app: &TestApp, res: reqwest::Response) -> Value {
    let body = json_of(res, StatusCode::ACCEPTED).await;
    let run_id = body["run_id"].as_str().expect("run id").to_owned();
    let run = finished(app, &run_id).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");
    let id = body["product"]["id"].as_str().expect("id");
    json_of(
        app.get(&format!("/api/products/{id}"), &app.debugger).await,
        StatusCode::OK,
    )
    .await
}

#[tokio::test]
async fn a_gltf_with_its_side_files_processes_as_several_files_or_a_zip() {
    let app = spawn_app_production().await;
    let gltf = std::fs::read(fixture("gltf/SimpleMeshes/SimpleMeshes.gltf")).expect("fixture");
    let bin = std::fs::read(fixture("gltf/SimpleMeshes/triangle.bin")).expect("fixture");
    let overrides = small_thumbnail().to_string();
    let res = upload_files(
        &app,
        &[
            ("SimpleMeshes.gltf", gltf.clone()),
            ("triangle.bin", bin.clone()),
        ],
        &[("overrides", &overrides)],
    )
    .await;
    let product = processed(&app, res).await;
    assert_eq!(product["file_name"], "SimpleMeshes.gltf");
    assert!(product["manifest"]["parts"]
        .as_array()
        .is_some_and(|p| !p.is_empty()));

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in [
        ("model/SimpleMeshes.gltf", &gltf),
        ("model/triangle.bin", &bin),
    ] {
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .expect("entry");
        zip.write_all(bytes).expect("write");
    }
    let zip = zip.finish().expect("zip").into_inner();
    let res = upload_files(
        &app,
        &[("SimpleMeshes.zip", zip)],
        &[("overrides", &overrides)],
    )
    .await;
    let product = processed(&app, res).await;
    assert_eq!(product["file_name"], "model/SimpleMeshes.gltf");
}

#[tokio::test]
async fn processing_errors_name_the_uploaded_file_not_a_server_path() {
    let app = spawn_app_production().await;
    let res = upload_files(
        &app,
        &[("broken part.glb", b"glTF not really".to_vec())],
        &[],
    )
    .await;
    let body = json_of(res, StatusCode::ACCEPTED).await;
    let run_id = body["run_id"].as_str().expect("run id").to_owned();
    let run = finished(&app, &run_id).await;
    assert_eq!(run["status"], "failed");
    let id = body["product"]["id"].as_str().expect("id");
    let product = json_of(
        app.get(&format!("/api/products/{id}"), &app.debugger).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(product["status"], "failed");
    let data_dir = app.dir.path().display().to_string();
    for text in [product.to_string(), run.to_string()] {
        assert!(!text.contains(&data_dir), "a server path leaked: {text}");
        assert!(
            !text.contains("source."),
            "a stored file name leaked: {text}"
        );
    }
    let message = product["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("broken part.glb"), "{message}");
    assert!(message.contains(id), "{message}");
}

/// Streams a body of zeros in chunked encoding (no declared length) until the server answers.
#[tokio::test]
async fn an_upload_over_the_limit_is_refused_while_it_streams() {
    let app = spawn_app().await;
    let addr = app.url.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let boundary = "b0undary";
    let head = format!(
        "POST /api/cad-files HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n\r\n",
        app.author
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    let part = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.glb\"\r\n\r\n"
    );
    let chunk = |data: &[u8]| {
        let mut c = format!("{:x}\r\n", data.len()).into_bytes();
        c.extend_from_slice(data);
        c.extend_from_slice(b"\r\n");
        c
    };
    stream
        .write_all(&chunk(part.as_bytes()))
        .await
        .expect("part");
    let zeros = chunk(&vec![0u8; 1024 * 1024]);
    let limit_mb = workflow_server::api::products::UPLOAD_LIMIT / (1024 * 1024);
    let mut sent_mb = 0;
    // Write until the server stops reading (it answers and closes) or well past the limit.
    while sent_mb < limit_mb + 64 {
        if stream.write_all(&zeros).await.is_err() {
            break;
        }
        sent_mb += 1;
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stream.read_to_end(&mut answer),
    )
    .await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 413"),
        "{sent_mb} MB sent: {answer}"
    );
    assert!(answer.contains("payload_too_large"), "{answer}");
    // Nothing of the refused upload is left on disk.
    let staging = app.dir.path().join("products/.incoming");
    let left: Vec<_> = std::fs::read_dir(&staging)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert_eq!(product_count(&app).await, 0);
}

/// A defect that does not change the result (a property the spec does not define) is
/// accepted, and the product says so by the culprit's JSON pointer.
#[tokio::test]
async fn a_harmless_defect_is_a_product_warning() {
    let app = spawn_app_production().await;
    let positions =
        "data:application/octet-stream;base64,AAAAAAAAAAAAAAAAAACAPwAAAAAAAAAAAAAAAAAAgD8AAAAA";
    let mut doc: Value = serde_json::from_slice(&gltf_naming(positions, None)).expect("json");
    doc["nodes"][0]["vendorNote"] = json!("not in the spec");
    let overrides = small_thumbnail().to_string();
    let res = upload_files(
        &app,
        &[("noted.gltf", serde_json::to_vec(&doc).expect("json"))],
        &[("overrides", &overrides)],
    )
    .await;
    let product = processed(&app, res).await;
    let warnings = product["warnings"].as_array().expect("warnings").clone();
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .is_some_and(|w| w.contains("/nodes/0/vendorNote"))),
        "{product:#}"
    );
}
