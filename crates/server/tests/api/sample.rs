//! The sample product of a first start, through the real binary: `serve --sample-product` on a
//! new database seeds it once (processed by the real modules, its materials in the library,
//! its material map set); a second start does not seed it again; a database that already had
//! a product never gets it; without the flag `serve` seeds nothing (team servers stay clean).

use super::common::*;
use super::products::upload;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use workflow_server::auth::{generate_token, hash_token, Role};

const BIN: &str = env!("CARGO_BIN_EXE_workflow-server");
const WAIT: Duration = Duration::from_secs(180);

/// A `workflow-server serve` child, killed when dropped.
struct Server {
    child: Child,
    log: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Starts `serve` on `dir` (its SQLite database) and waits until it answers.
async fn serve(dir: &Path, token: &str, extra: &[&str]) -> (Server, String) {
    let port = free_port();
    let log = dir.join(format!("serve-{port}.log"));
    let file = std::fs::File::create(&log).expect("log file");
    let child = Command::new(BIN)
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir)
        .args(extra)
        .env("RUST_LOG", "info,sqlx=warn")
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("log file"))
        .stderr(file)
        .spawn()
        .expect("spawn workflow-server serve");
    let server = Server { child, log };
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answered = client
            .get(format!("{url}/api/products"))
            .bearer_auth(token)
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK);
        if answered {
            return (server, url);
        }
        assert!(
            Instant::now() < deadline,
            "serve did not answer: {}",
            std::fs::read_to_string(&server.log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A data directory with a migrated SQLite database and an admin token.
async fn data_dir() -> (
    Arc<tempfile::TempDir>,
    String,
    Arc<dyn workflow_server::store::Store>,
) {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let url = workflow_server::app::sqlite_url_in(dir.path()).expect("data dir");
    let store = workflow_server::app::open_store(&url).await.expect("store");
    let token = generate_token();
    store
        .create_token(&hash_token(&token), Role::Admin, "test")
        .await
        .expect("token");
    (dir, token, store)
}

async fn get(url: &str, path: &str, token: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("{url}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.expect("json")
}

async fn products(url: &str, token: &str) -> Vec<Value> {
    get(url, "/api/products", token).await["products"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn serve_sample_product_seeds_it_once_processed_with_its_materials() {
    let (dir, token, _store) = data_dir().await;
    let (server, url) = serve(dir.path(), &token, &["--sample-product"]).await;
    let listed = products(&url, &token).await;
    assert_eq!(listed.len(), 1, "{listed:#?}");
    let id = listed[0]["id"].as_str().expect("id").to_owned();
    assert_eq!(listed[0]["name"], "NegativeScaleTest");
    assert_eq!(listed[0]["file_name"], workflow_server::sample::FILE_NAME);

    // Processed like an upload, by the real modules: a preview GLB and a manifest.
    let deadline = Instant::now() + WAIT;
    let product = loop {
        let p = get(&url, &format!("/api/products/{id}"), &token).await;
        if p["status"] == "processed" {
            break p;
        }
        assert!(
            p["status"] != "failed" && Instant::now() < deadline,
            "{p:#}\n{}",
            std::fs::read_to_string(&server.log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(product["processing_run_id"].is_string(), "{product:#}");

    // The sample library is in the library, and the map gives every part a material from it.
    let library = get(&url, "/api/materials", &token).await;
    let text = library.to_string();
    for m in workflow_server::sample::sample_materials().expect("sample library") {
        let name = m["name"].as_str().expect("name");
        assert!(text.contains(name), "{name} missing from {library:#}");
    }
    let map = get(&url, &format!("/api/products/{id}/material-map"), &token).await;
    assert_eq!(
        map,
        serde_json::to_value(workflow_server::sample::sample_material_map().expect("map"))
            .expect("json")
    );
    drop(server);

    // A second start finds the question settled: still the one product.
    let (_server, url) = serve(dir.path(), &token, &["--sample-product"]).await;
    let listed = products(&url, &token).await;
    assert_eq!(listed.len(), 1, "{listed:#?}");
    assert_eq!(listed[0]["id"], json!(id));
}

#[tokio::test]
async fn serve_without_the_flag_or_on_a_used_database_seeds_no_sample() {
    let (dir, token, store) = data_dir().await;
    let (server, url) = serve(dir.path(), &token, &[]).await;
    assert!(products(&url, &token).await.is_empty());

    // A user uploads a product: from then on the database is theirs.
    let tokens = [token.clone(), token.clone(), token.clone(), token.clone()];
    let app = TestApp::remote(url.clone(), tokens, store, dir.clone());
    let created = upload(&app, "gltf/Box.glb", json!({})).await;
    assert_eq!(created.status(), StatusCode::ACCEPTED);
    drop(server);

    let (_server, url) = serve(dir.path(), &token, &["--sample-product"]).await;
    let listed = products(&url, &token).await;
    assert_eq!(listed.len(), 1, "{listed:#?}");
    assert_eq!(listed[0]["name"], "Box");
}
