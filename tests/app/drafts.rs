//! Unsaved work survives the app going away: a new app instance offers to restore it.

use egui_kittest::kittest::Queryable as _;
use egui_kittest::Harness;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use workflow_contracts::Registry;
use workflow_studio::app::StudioApp;
use workflow_studio::command::Command;
use workflow_studio::drafts::DraftStore;
use workflow_studio::editor::document::Edit;

fn app_with_drafts(dir: &Path) -> Harness<'static, StudioApp> {
    let dir = dir.to_path_buf();
    Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .with_max_steps(64)
        .build_eframe(move |_cc| {
            let store = DraftStore::open(&dir).expect("draft dir");
            StudioApp::new(Arc::new(Registry::builtin())).with_drafts(store, 0.0)
        })
}

#[test]
fn unsaved_edits_are_offered_back_after_the_app_is_gone() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let mut h = app_with_drafts(dir.path());
        h.run();
        h.get_by_label("New order_line workflow").click();
        h.run();
        h.state_mut().send(Command::edit(Edit::SetParam {
            node: "render".into(),
            param: "width".into(),
            value: json!(1234),
        }));
        h.run();
        h.state().flush_drafts();
        // The harness is dropped without saving: as if the app crashed.
    }
    let mut h = app_with_drafts(dir.path());
    h.run();
    h.get_by_label("Restore unsaved work");
    h.get_by_label("Restore").click();
    h.run();
    let editor = h.state().editor.as_ref().expect("restored");
    assert_eq!(
        editor.doc.node("render").map(|n| n.params["width"].clone()),
        Some(json!(1234))
    );
    assert!(editor.doc.is_dirty(), "restored work is still unsaved");

    // Discarding removes the draft for good.
    let mut h = app_with_drafts(dir.path());
    h.run();
    h.get_by_label("Discard").click();
    h.run();
    h.state().flush_drafts();
    assert!(h.state().restorable.is_empty());
    let store = DraftStore::open(dir.path()).expect("draft dir");
    assert!(store.load_all().is_empty());
}
