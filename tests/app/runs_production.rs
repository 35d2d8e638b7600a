//! Run inspection against the real production modules (import, materials, headless render):
//! when the file's own materials may not be used, a product with no library assignments has
//! every part missing a material, so `material.resolve` with policy `fail` fails; the app names
//! that node and its error and shows render and publish as skipped. With the file's materials
//! allowed the same product renders, and the run detail shows its still as an image.

use egui_kittest::kittest::Queryable as _;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use workflow_engine::runtime::{NodeStatus, RunStatus};
use workflow_studio::app::{MainView, StudioApp};

use crate::support::until;

/// How long a step of these tests may take before it fails.
const WAIT: Duration = Duration::from_secs(180);

fn fixture(rel: &str) -> PathBuf {
    crate::support::fixtures().join(rel)
}

/// Uploads a CAD file over HTTP as a user would from a script; answers the product id once
/// its processing run has finished.
pub(crate) fn upload(server: &workflow_server::embedded::BackgroundServer, rel: &str) -> String {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let path = fixture(rel);
        let bytes = std::fs::read(&path).expect("fixture");
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        let boundary = "----studio-test";
        let overrides = json!({"render.thumbnail.width": 64, "render.thumbnail.height": 64});
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"overrides\"\r\n\r\n{overrides}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(&bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let http = reqwest::Client::new();
        let created: Value = http
            .post(format!("{}/api/cad-files", server.url))
            .bearer_auth(&server.admin_token)
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .expect("upload")
            .json()
            .await
            .expect("json");
        let product = created["product"]["id"].as_str().expect("product id").to_owned();
        let run = created["run_id"].as_str().expect("run id").to_owned();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let r: Value = http
                .get(format!("{}/api/runs/{run}", server.url))
                .bearer_auth(&server.admin_token)
                .send()
                .await
                .expect("run")
                .json()
                .await
                .expect("json");
            if r["status"] == "succeeded" {
                break;
            }
            assert!(
                r["status"] != "failed" && Instant::now() < deadline,
                "processing {rel}: {r:#}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        product
    })
}

fn finished_run(app: &StudioApp) -> bool {
    app.runs
        .selected
        .as_ref()
        .is_some_and(|r| r.status.is_final() && !r.nodes.is_empty())
}

#[test]
fn real_modules_missing_materials_fail_at_resolve_and_a_still_shows_as_an_image() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = workflow_server::embedded::start_in_background(dir.path()).expect("server starts");
    let boxed = upload(&server, "gltf/Box.glb");
    let mut h = crate::support::remote_app(&server.url, &server.admin_token);
    until(&mut h, "connected with the products listed", WAIT, |app| {
        app.server.catalog_ready && app.runs.products.len() == 1
    });
    h.get_by_label("New order_line workflow").click();
    until(&mut h, "the starter opens", WAIT, |app| {
        app.editor.is_some()
    });
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    until(&mut h, "saved", WAIT, |app| {
        app.editor
            .as_ref()
            .is_some_and(|e| e.doc.id.is_some() && !e.doc.is_dirty())
    });

    // Pick the product in the Run panel; dispatch at a small size, library materials only.
    h.get_by_value("choose a product").click();
    h.run_ok();
    h.get_by_label("Box · processed").click();
    h.run_ok();
    h.state_mut().runs.run_order_line = "line-1".into();
    h.state_mut().runs.run_overrides = json!({"render.width": 96, "render.height": 96,
        "materials.use_file_materials": false})
    .to_string();
    h.get_by_label("Dispatch").click();
    until(&mut h, "the run finished", WAIT, finished_run);
    {
        let run = h.state().runs.selected.clone().expect("run");
        assert_eq!(
            run.status,
            RunStatus::Failed,
            "{:?} {:#?}",
            run.product_id,
            run.nodes
                .iter()
                .map(|n| (&n.node_id, n.status, &n.outputs))
                .collect::<Vec<_>>()
        );
        assert_eq!(run.product_id.as_deref(), Some(boxed.as_str()));
        let failed: Vec<_> = run
            .nodes
            .iter()
            .filter(|n| n.status == NodeStatus::Failed)
            .collect();
        assert_eq!(failed.len(), 1, "{:#?}", run.nodes);
        assert_eq!(failed[0].node_type, "material.resolve");
        let code = failed[0].error.as_ref().expect("error").code.clone();
        assert_eq!(code, "missing_materials");
        let skipped: Vec<_> = run
            .nodes
            .iter()
            .filter(|n| n.status == NodeStatus::Skipped)
            .map(|n| n.node_type.clone())
            .collect();
        assert!(
            skipped.iter().any(|t| t == "render.still"),
            "render skipped: {skipped:?}"
        );
        let root = format!("Root cause: {} (material.resolve)", failed[0].node_id);
        h.get_by_label(&root);
        h.get_by_label_contains("missing_materials: ");
        h.get_by_label_contains("Skipped because of it: ");
    }
    assert_eq!(h.state().state.view, MainView::Runs);

    // Back to the editor: with the file's own materials the product renders; the still shows.
    let failed_run = h.state().runs.selected.as_ref().map(|r| r.id.clone());
    h.get_by_label("Editor").click();
    h.run_ok();
    h.state_mut().runs.run_overrides = json!({"render.width": 96, "render.height": 96}).to_string();
    h.get_by_label("Dispatch").click();
    until(&mut h, "the second run finished", WAIT, |app| {
        finished_run(app) && app.runs.selected.as_ref().map(|r| r.id.clone()) != failed_run
    });
    let run = h.state().runs.selected.clone().expect("run");
    assert_eq!(run.status, RunStatus::Succeeded, "{:#?}", run.nodes);
    until(&mut h, "the still is decoded", WAIT, |app| {
        run.nodes
            .iter()
            .flat_map(|n| &n.artifacts)
            .filter(|a| a.media_type == "image/png")
            .all(|a| {
                app.artifacts
                    .loaded(&a.id)
                    .is_some_and(|x| x.frames.len() == 1)
            })
    });
    let still = run
        .nodes
        .iter()
        .flat_map(|n| n.artifacts.iter().map(move |a| (n, a)))
        .find(|(_, a)| a.role.as_str() == "still")
        .expect("a still artifact");
    let loaded = h.state().artifacts.loaded(&still.1.id).expect("loaded");
    assert_eq!(loaded.frames[0].image.size, [96, 96]);
    // The thumbnail opens large.
    h.get_by_label(&format!("{} · still", still.0.node_id));
    h.get_by_label(&format!("{} · still image", still.0.node_id))
        .click();
    h.run_ok();
    assert!(h.state().artifacts.open.is_some());
    h.get_by_label_contains("96 × 96 px");
}
