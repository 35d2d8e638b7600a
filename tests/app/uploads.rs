//! Adding a product from the app, as a new user does: files dropped on the window become an
//! upload (a `.gltf` with the side file it names), shown with progress until it is processed,
//! and the product appears in the product lists without a manual refresh. A refused file is
//! named in the uploads panel and the status line.

use egui_kittest::kittest::Queryable as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use workflow_studio::app::{StudioApp, UploadStage};

use crate::support::{fixtures, until};

const WAIT: Duration = Duration::from_secs(180);

/// A file dropped on the window (what eframe's integration hands egui).
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

fn drop_files(h: &mut egui_kittest::Harness<'static, StudioApp>, paths: &[PathBuf]) {
    for path in paths {
        h.input_mut()
            .dropped_files
            .push(Arc::new(Dropped(path.clone())));
    }
    h.step();
}

fn last_stage(app: &StudioApp) -> Option<UploadStage> {
    app.uploads.items.last().map(|i| i.stage.clone())
}

#[test]
fn dropped_gltf_with_its_side_file_becomes_a_listed_product() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = workflow_server::embedded::start_in_background(dir.path()).expect("server starts");
    let mut h = crate::support::remote_app(&server.url, &server.admin_token);
    until(&mut h, "connected", WAIT, |app| app.server.catalog_ready);
    assert!(h.state().runs.products.is_empty());

    let model = fixtures().join("gltf/SimpleMeshes");
    drop_files(
        &mut h,
        &[model.join("SimpleMeshes.gltf"), model.join("triangle.bin")],
    );
    until(&mut h, "the upload is processed", WAIT, |app| {
        matches!(
            last_stage(app),
            Some(UploadStage::Ready { .. } | UploadStage::Failed { .. })
        )
    });
    assert_eq!(h.state().uploads.items.len(), 1, "one product, not two");
    assert!(
        matches!(last_stage(h.state()), Some(UploadStage::Ready { .. })),
        "{:?}",
        last_stage(h.state())
    );
    // In the uploads panel and the status line.
    assert_eq!(h.get_all_by_label("SimpleMeshes.gltf: ready").count(), 2);
    until(&mut h, "the product is listed", WAIT, |app| {
        app.runs.products.len() == 1 && app.viewer.products.len() == 1
    });
    assert_eq!(h.state().runs.products[0]["status"], "processed");
    // From the uploads panel straight into the viewer.
    h.get_by_label("Open in viewer").click();
    h.run_ok();
    assert_eq!(h.state().state.view, workflow_studio::app::MainView::Viewer);
}

#[test]
fn a_hostile_gltf_is_refused_naming_the_file_and_the_reference() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = workflow_server::embedded::start_in_background(dir.path()).expect("server starts");
    let mut h = crate::support::remote_app(&server.url, &server.admin_token);
    until(&mut h, "connected", WAIT, |app| app.server.catalog_ready);
    let evil = dir.path().join("evil.gltf");
    std::fs::write(
        &evil,
        r#"{"asset":{"version":"2.0"},"buffers":[{"uri":"/etc/passwd","byteLength":4}]}"#,
    )
    .expect("write");
    drop_files(&mut h, &[evil]);
    // The dropped files are looked at off the UI thread.
    until(&mut h, "the refusal", WAIT, |app| {
        app.status.contains("evil.gltf")
    });
    let status = h.state().status.clone();
    assert!(
        status.contains("evil.gltf") && status.contains("/etc/passwd"),
        "{status}"
    );
    assert!(h.state().uploads.items.is_empty(), "nothing was sent");

    // A file the server refuses (not a CAD file inside): the panel names it.
    let notes = dir.path().join("notes.step");
    std::fs::write(&notes, "not a STEP file").expect("write");
    drop_files(&mut h, &[notes]);
    until(&mut h, "the upload ends", WAIT, |app| {
        matches!(
            last_stage(app),
            Some(UploadStage::Ready { .. } | UploadStage::Failed { .. })
        )
    });
    let Some(UploadStage::Failed { message }) = last_stage(h.state()) else {
        panic!("{:?}", last_stage(h.state()));
    };
    assert!(message.contains("`notes.step` of product"), "{message}");
    assert!(
        !message.contains(&dir.path().display().to_string()),
        "no server path: {message}"
    );
    assert!(h.get_all_by_label(&message).count() >= 1);
}

/// Under a bare X session (no desktop portal, no zenity) "Add product…" used to do nothing:
/// now it opens the in-app file browser, says why in the status line, and a file picked
/// there is uploaded like a dropped one.
#[test]
fn add_product_without_native_dialogs_uses_the_in_app_browser() {
    use workflow_studio::app::file_dialogs::NativeDialogs;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = workflow_server::embedded::start_in_background(dir.path()).expect("server starts");
    let mut h = crate::support::remote_app(&server.url, &server.admin_token);
    until(&mut h, "connected", WAIT, |app| app.server.catalog_ready);
    h.state_mut().dialogs.native = NativeDialogs::Unavailable("no portal, no zenity".into());
    h.state_mut().dialogs.start_dir = Some(fixtures().join("gltf"));

    h.get_by_label("File").click();
    h.run_ok();
    // A menu button's label carries its (empty) shortcut text after a space.
    h.get_by_label("Add product… ").click();
    h.run_ok();
    assert!(h.state().dialogs.in_app_open());
    let status = h.state().status.clone();
    assert!(
        status.contains("in-app browser") && status.contains("no portal, no zenity"),
        "{status}"
    );
    // The browser, by its title; its listing is read on a thread.
    h.get_by_label("Add a product: a CAD file (a .gltf with its side files)");
    let deadline = std::time::Instant::now() + WAIT;
    while h.query_by_label_contains("Box.glb").is_none() {
        assert!(std::time::Instant::now() < deadline, "Box.glb never listed");
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    // Exact entry: "BoxTextured.glb" also contains "Box".
    h.get_by_label_contains(" Box.glb").click();
    h.run_ok();
    h.get_by_label("🗀  Open").click();
    h.run_ok();
    assert!(!h.state().dialogs.in_app_open(), "the browser closes");

    until(&mut h, "the upload is processed", WAIT, |app| {
        matches!(
            last_stage(app),
            Some(UploadStage::Ready { .. } | UploadStage::Failed { .. })
        )
    });
    assert!(
        matches!(last_stage(h.state()), Some(UploadStage::Ready { .. })),
        "{:?}",
        last_stage(h.state())
    );
    assert_eq!(h.state().uploads.items[0].file, "Box.glb");
    until(&mut h, "the product is listed", WAIT, |app| {
        app.runs.products.len() == 1
    });
}
