//! A first start, as a new user meets it: the app on an empty data directory starts its
//! embedded server, which seeds the sample product; it is processed by the real modules, shows
//! in the Run panel, and a still dispatched for it finishes — with the sample material map
//! alone (the file's own materials switched off), so every part has a library material.

use egui_kittest::kittest::Queryable as _;
use serde_json::json;
use std::time::{Duration, Instant};
use workflow_engine::runtime::RunStatus;
use workflow_studio::backend::ServerChoice;
use workflow_studio::command::Command;

use crate::support::until;

/// How long a step may take (real processing and rendering on llvmpipe, a busy CI machine).
const WAIT: Duration = Duration::from_secs(180);

#[test]
fn an_empty_data_dir_shows_the_sample_product_and_renders_a_still_of_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let mut h = crate::support::app_with_server(
        ServerChoice::Embedded { data_dir },
        None,
        egui::vec2(1500.0, 1000.0),
    );
    until(&mut h, "connected", WAIT, |app| app.server.catalog_ready);

    // The sample is processing in the background; the product list is reloaded until it
    // says so (a user presses ⟳).
    let sample = "NegativeScaleTest · processed";
    let deadline = Instant::now() + WAIT;
    let mut asked = Instant::now();
    loop {
        let products = &h.state().runs.products;
        if products
            .iter()
            .any(|p| p["name"] == "NegativeScaleTest" && p["status"] == "processed")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the sample product was not processed: {products:#?}; status: {}",
            h.state().status
        );
        if asked.elapsed() > Duration::from_millis(500) {
            h.state_mut().send(Command::RefreshProducts);
            asked = Instant::now();
        }
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(h.state().runs.products.len(), 1, "only the sample");

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
    h.get_by_value("choose a product").click();
    h.run_ok();
    h.get_by_label(sample).click();
    h.run_ok();
    h.state_mut().runs.run_order_line = "first-still".into();
    h.state_mut().runs.run_overrides = json!({"render.width": 128, "render.height": 128,
        "materials.use_file_materials": false})
    .to_string();
    h.get_by_label("Dispatch").click();
    until(&mut h, "the still's run finished", WAIT, |app| {
        app.runs
            .selected
            .as_ref()
            .is_some_and(|r| r.status.is_final() && !r.nodes.is_empty())
    });
    let run = h.state().runs.selected.clone().expect("run");
    assert_eq!(run.status, RunStatus::Succeeded, "{:#?}", run.nodes);
    let still = run
        .nodes
        .iter()
        .flat_map(|n| &n.artifacts)
        .find(|a| a.role.as_str() == "still")
        .expect("a still artifact")
        .clone();
    until(&mut h, "the still is decoded", WAIT, |app| {
        app.artifacts
            .loaded(&still.id)
            .is_some_and(|x| x.frames.len() == 1)
    });
    let loaded = h.state().artifacts.loaded(&still.id).expect("loaded");
    assert_eq!(loaded.frames[0].image.size, [128, 128]);
}
