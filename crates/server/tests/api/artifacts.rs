//! The artifact store and products shared by several servers: the blob-store contract (a
//! directory, and the S3-compatible bucket of this pass when there is one), the once-only
//! import of a data directory's file products, and two `workflow-server serve` processes over
//! one database and one artifact store.

use super::common::*;
use super::products::{fixture, small_thumbnail};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use workflow_server::artifacts::{BlobStore, DirBlobs, S3Blobs};
use workflow_server::auth::{generate_token, hash_token, Role};

/// What every artifact store must do, on `store`.
fn contract(store: &dyn BlobStore, scratch: &Path) {
    let shown = store.describe();
    std::fs::create_dir_all(scratch).expect("scratch");
    // Writes, reads, overwrites.
    assert_eq!(store.get("t/a").expect("get"), None, "{shown}");
    assert!(!store.exists("t/a").expect("exists"), "{shown}");
    store.put("t/a", b"first").expect("put");
    assert_eq!(store.get("t/a").expect("get"), Some(b"first".to_vec()));
    assert!(store.exists("t/a").expect("exists"));
    store.put("t/a", b"second").expect("overwrite");
    assert_eq!(store.get("t/a").expect("get"), Some(b"second".to_vec()));
    // Files in and out (streamed), with nested keys.
    let src = scratch.join("src.bin");
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&src, &payload).expect("scratch");
    assert_eq!(
        store.put_file("t/deep/b.glb", &src).expect("put_file"),
        payload.len() as u64
    );
    let dest = scratch.join("out/b.glb");
    assert!(store.fetch_to("t/deep/b.glb", &dest).expect("fetch"));
    assert_eq!(std::fs::read(&dest).expect("fetched"), payload);
    assert!(!store
        .fetch_to("t/none", &scratch.join("none"))
        .expect("fetch missing"));
    assert!(!scratch.join("none").exists());
    // Listing: every key under a prefix, nothing else, no temporary names.
    store.put("u/other", b"x").expect("put");
    assert_eq!(
        store.list("t").expect("list"),
        ["t/a", "t/deep/b.glb"],
        "{shown}"
    );
    // Deleting, twice.
    store.delete("t/a").expect("delete");
    store.delete("t/a").expect("delete again");
    assert_eq!(store.get("t/a").expect("get"), None);
    // Keys are ours: anything else is refused before any I/O, naming the key only.
    for bad in ["../escape", "/etc/passwd", "a//b", "a/b c", ""] {
        let err = store.put(bad, b"x").expect_err("refused");
        assert!(err.to_string().contains("not one of ours"), "{err}");
        assert!(store.get(bad).is_err(), "{bad:?}");
    }
    assert!(!scratch.parent().expect("parent").join("escape").exists());
}

#[tokio::test]
async fn the_blob_store_contract_holds_for_a_directory_and_this_pass_store() {
    let dir = tempfile::tempdir().expect("tmp");
    let scratch = dir.path().join("scratch");
    let local = DirBlobs::new(dir.path().join("blobs"));
    let s = scratch.clone();
    tokio::task::spawn_blocking(move || contract(&local, &s))
        .await
        .expect("directory contract");
    // A directory write leaves no temporary file behind.
    let mut names = Vec::new();
    for entry in walk(&dir.path().join("blobs")) {
        names.push(entry);
    }
    assert!(names.iter().all(|n| !n.contains(".part")), "{names:?}");
    if let Some(store) = test_artifacts(dir.path()).await {
        let s = scratch.clone();
        tokio::task::spawn_blocking(move || contract(store.as_ref(), &s))
            .await
            .expect("S3 contract");
        // Large files go up in parts: the same bytes come back, and only once complete.
        let spec = test_artifacts_spec(dir.path()).await.expect("spec");
        let store = S3Blobs::open(&spec)
            .expect("s3")
            .with_single_put_limit(1024 * 1024);
        tokio::task::spawn_blocking(move || {
            let src = scratch.join("large.bin");
            let payload: Vec<u8> = (0..12 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
            std::fs::write(&src, &payload).expect("scratch");
            assert_eq!(
                store.put_file("t/large.bin", &src).expect("multipart"),
                payload.len() as u64
            );
            let dest = scratch.join("large.out");
            assert!(store.fetch_to("t/large.bin", &dest).expect("fetch"));
            assert!(std::fs::read(&dest).expect("fetched") == payload);
        })
        .await
        .expect("S3 multipart");
    }
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.display().to_string());
        }
    }
    out
}

/// Lays out a product the way servers before database products kept one.
fn legacy_product(data_dir: &Path, id: &str, name: &str, side_files: bool, glb: &[u8]) {
    let dir = data_dir.join("products").join(id);
    std::fs::create_dir_all(&dir).expect("dir");
    let record = json!({
        "id": id, "name": name, "file_name": format!("{name}.glb"), "status": "processed",
        "processing_run_id": null, "material_map_version": 2,
        "created_at": 1_700_000_000_000i64, "updated_at": 1_700_000_000_500i64,
    });
    std::fs::write(dir.join("product.json"), record.to_string()).expect("record");
    if side_files {
        std::fs::create_dir_all(dir.join("source")).expect("source");
        std::fs::write(dir.join("source").join(format!("{name}.glb")), glb).expect("src");
    } else {
        std::fs::write(dir.join("source.glb"), glb).expect("src");
    }
    std::fs::write(dir.join("preview.glb"), glb).expect("glb");
    let manifest = json!({"parts": [], "warnings": [{"pointer": "/nodes/0", "message": "kept"}]});
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).expect("manifest");
    let map = json!({"assignments": {"part-a": "Steel"}, "rules": []});
    std::fs::write(dir.join("material_map.json"), map.to_string()).expect("map");
}

#[tokio::test]
async fn file_products_of_an_older_data_directory_are_imported_once() {
    let dir = Arc::new(tempfile::tempdir().expect("tmp"));
    let glb = std::fs::read(fixture("gltf/Box.glb")).expect("fixture");
    let ids = [
        "0b5c6f1e-1111-4a1a-9a1a-000000000001",
        "0b5c6f1e-2222-4a1a-9a1a-000000000002",
    ];
    legacy_product(dir.path(), ids[0], "Box", true, &glb);
    legacy_product(dir.path(), ids[1], "Old", false, &glb);
    let app = spawn_app_in(dir.clone(), None).await;
    let list = json_of(
        app.get("/api/products", &app.debugger).await,
        StatusCode::OK,
    )
    .await;
    let names: Vec<&str> = list["products"]
        .as_array()
        .expect("products")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names.len(), 2, "{list:#}");
    for id in ids {
        let product = json_of(
            app.get(&format!("/api/products/{id}"), &app.debugger).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(product["status"], "processed", "{product:#}");
        assert_eq!(product["material_map_version"], 2);
        assert_eq!(product["warnings"][0]["message"], "kept");
        assert_eq!(
            product["artifacts"]["glb"],
            format!("/api/products/{id}/glb")
        );
        let res = app
            .get(&format!("/api/products/{id}/glb"), &app.debugger)
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.bytes().await.expect("glb").as_ref(), glb.as_slice());
        let res = app
            .get(&format!("/api/products/{id}/material-map"), &app.debugger)
            .await;
        assert_eq!(res.headers()["etag"], "\"2\"");
        let map: Value = res.json().await.expect("map");
        assert_eq!(map["assignments"]["part-a"], "Steel");
        // Marked as done, so the next start does not import it again.
        let legacy = dir.path().join("products").join(id);
        assert!(!legacy.join("product.json").exists());
        assert!(legacy.join("product.json.imported").exists());
        // The upload, by its name, with a key of ours.
        let record = workflow_server::store::ProductStore::get_product(app.store.as_ref(), id)
            .await
            .expect("record");
        assert_eq!(record.source_files.len(), 1);
        assert_eq!(
            record.source_files[0].name,
            "Box.glb".replace("Box", &record.name)
        );
        assert_eq!(record.source_files[0].key, format!("products/{id}/files/0"));
    }
    let (dir, tokens) = app.stop().await;
    let app = spawn_app_in(dir, Some(tokens)).await;
    let list = json_of(
        app.get("/api/products", &app.debugger).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        list["products"].as_array().map(Vec::len),
        Some(2),
        "{list:#}"
    );
}

/// A `workflow-server serve` child process, killed when dropped.
struct ServerProcess {
    url: String,
    child: std::process::Child,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

async fn serve_process(db_url: &str, data_dir: &Path, artifacts: &str) -> ServerProcess {
    let port = free_port();
    let log = std::fs::File::create(data_dir.with_extension("log")).expect("log");
    std::fs::create_dir_all(data_dir).expect("data dir");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_workflow-server"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--artifacts", artifacts])
        .env("WORKFLOW_DATABASE_URL", db_url)
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start workflow-server");
    let server = ServerProcess {
        url: format!("http://127.0.0.1:{port}"),
        child,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let up = Client::new()
            .get(format!("{}/api/health", server.url))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if up {
            return server;
        }
        assert!(
            Instant::now() < deadline,
            "server did not start: see {data_dir:?}.log"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn multipart(files: &[(&str, &[u8])], extra: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "----workflow-two-servers";
    let mut body = Vec::new();
    for (name, value) in extra {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
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
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn two_server_processes_share_uploads_products_and_material_map_versions() {
    let dir = tempfile::tempdir().expect("tmp");
    let db_url = test_db_url(dir.path()).await;
    // The artifact store both hosts see: this pass's bucket, or a shared directory.
    let artifacts = match test_artifacts_spec(dir.path()).await {
        Some(spec) => spec,
        None => dir.path().join("shared").display().to_string(),
    };
    let store = workflow_server::app::open_store(&db_url)
        .await
        .expect("store");
    let (author, specialist) = (generate_token(), generate_token());
    for (token, role) in [
        (&author, Role::Author),
        (&specialist, Role::MaterialSpecialist),
    ] {
        store
            .create_token(&hash_token(token), role, "test")
            .await
            .expect("token");
    }
    let a = serve_process(&db_url, &dir.path().join("host-a"), &artifacts).await;
    let b = serve_process(&db_url, &dir.path().join("host-b"), &artifacts).await;
    let http = Client::new();

    // Uploaded through A.
    let glb = std::fs::read(fixture("gltf/Box.glb")).expect("fixture");
    let overrides = small_thumbnail().to_string();
    let (content_type, body) = multipart(&[("Box.glb", &glb)], &[("overrides", &overrides)]);
    let res = http
        .post(format!("{}/api/cad-files", a.url))
        .bearer_auth(&author)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .expect("upload");
    let created = json_of(res, StatusCode::ACCEPTED).await;
    let id = created["product"]["id"].as_str().expect("id").to_owned();

    // Seen by B at once, and processed by whichever server's worker claimed the job.
    let product_url = |s: &ServerProcess| format!("{}/api/products/{id}", s.url);
    let deadline = Instant::now() + Duration::from_secs(120);
    let product = loop {
        let res = http
            .get(product_url(&b))
            .bearer_auth(&author)
            .send()
            .await
            .expect("get");
        let product = json_of(res, StatusCode::OK).await;
        if product["status"] != "processing" && product["status"] != "uploaded" {
            break product;
        }
        assert!(Instant::now() < deadline, "not processed: {product:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(product["status"], "processed", "{product:#}");
    assert_eq!(product["name"], "Box");
    let mut glbs = Vec::new();
    for server in [&a, &b] {
        let res = http
            .get(format!("{}/glb", product_url(server)))
            .bearer_auth(&author)
            .send()
            .await
            .expect("glb");
        assert_eq!(res.status(), StatusCode::OK);
        glbs.push(res.bytes().await.expect("bytes"));
    }
    assert!(!glbs[0].is_empty());
    assert_eq!(glbs[0], glbs[1], "both servers serve the one published GLB");
    // The files are in the shared store, not in either host's data directory.
    let published = Path::new("products").join(&id).join("preview.glb");
    for host in ["host-a", "host-b"] {
        assert!(!dir.path().join(host).join(&published).exists(), "{host}");
    }
    let in_shared_dir = dir.path().join("shared").join(&published).exists();
    assert_eq!(
        in_shared_dir,
        !artifacts.starts_with("s3://"),
        "{artifacts}"
    );

    // One material-map save wins; the other server refuses the stale one with 409.
    let map_url = |s: &ServerProcess| format!("{}/material-map", product_url(s));
    let map = json!({"assignments": {}, "rules": []});
    let res = http
        .put(map_url(&a))
        .bearer_auth(&specialist)
        .header("If-Match", "0")
        .json(&map)
        .send()
        .await
        .expect("put");
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let res = http
        .put(map_url(&b))
        .bearer_auth(&specialist)
        .header("If-Match", "0")
        .json(&map)
        .send()
        .await
        .expect("put");
    let refused = error_of(res, StatusCode::CONFLICT, "version_mismatch").await;
    assert_eq!(
        refused["error"]["details"]["current_version"], 1,
        "{refused:#}"
    );
    let res = http
        .get(map_url(&b))
        .bearer_auth(&specialist)
        .send()
        .await
        .expect("get");
    assert_eq!(res.headers()["etag"], "\"1\"");
}
