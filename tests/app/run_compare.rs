//! Debugging context against a real server: Compare names the parameters and overrides that
//! differ between two runs and says which run has no images; "Open in editor" from a run shows
//! the values that run used, its overrides marked. Scripted modules, real server, real app.

use egui_kittest::kittest::Queryable as _;
use serde_json::json;
use std::time::Duration;
use workflow_engine::runtime::{ArtifactRef, RunStatus};
use workflow_studio::app::MainView;
use workflow_studio::command::Command;

use crate::support::until;

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn compare_shows_differing_values_and_which_run_has_no_images_and_the_editor_shows_the_run_values()
{
    let (mut h, server, _dir) = crate::runs::saved_starter();
    h.state_mut().runs.inputs_text = json!({"product_id": "p1", "order_line_id": "o1"}).to_string();
    h.get_by_label("Dispatch").click();
    until(&mut h, "the first run succeeds", WAIT, |app| {
        app.runs
            .selected
            .as_ref()
            .is_some_and(|r| r.status == RunStatus::Succeeded)
    });
    let first = h.state().runs.selected.clone().expect("first");
    h.state_mut().runs.rerun_overrides = json!({"render.width": 640}).to_string();
    h.get_by_label("Re-run").click();
    until(&mut h, "the re-run succeeds", WAIT, |app| {
        app.runs.selected.as_ref().is_some_and(|r| {
            r.rerun_of.as_deref() == Some(first.id.as_str()) && r.status == RunStatus::Succeeded
        })
    });
    let second = h.state().runs.selected.clone().expect("second");

    h.state_mut().send(Command::CompareRuns {
        left: first.id.clone(),
        right: second.id.clone(),
    });
    until(&mut h, "both runs are loaded for compare", WAIT, |app| {
        app.runs
            .compare
            .as_ref()
            .is_some_and(|c| c.left.is_some() && c.right.is_some())
    });
    // The override and the parameter it changed, with both values.
    h.get_by_label("override render.width");
    h.get_by_label("render.width");
    assert!(
        h.query_all_by_label("640").count() >= 2,
        "the right-hand values"
    );
    h.get_by_label("2048");
    h.get_by_label("Neither run has image artifacts.");

    // One run with a still: the message names the run without one.
    let cmp = h.state_mut().runs.compare.as_mut().expect("compare");
    let left = cmp.left.as_mut().expect("left");
    let render = left
        .nodes
        .iter_mut()
        .find(|n| n.node_id == "render")
        .expect("render ran");
    render.artifacts.push(ArtifactRef {
        id: "still-1".into(),
        role: workflow_contracts::ArtifactRole::Still,
        media_type: "image/png".into(),
        size: 10,
    });
    h.run();
    h.get_by_label(&format!(
        "Run {} (right) has no image artifacts; run {} has still.",
        &second.id[..8],
        &first.id[..8]
    ));
    assert!(h
        .query_by_label("No image artifacts in both runs.")
        .is_none());

    // "Open in editor" from the re-run: the values it used, the override marked.
    h.state_mut().send(Command::CloseCompare);
    h.state_mut().send(Command::SelectRun(second.id.clone()));
    until(&mut h, "the re-run is selected", WAIT, |app| {
        app.runs
            .selected
            .as_ref()
            .is_some_and(|r| r.id == second.id && !r.nodes.is_empty())
    });
    h.state_mut().send(Command::OpenRunInEditor);
    h.run();
    assert_eq!(h.state().state.view, MainView::Editor);
    let editor = h.state().editor.as_ref().expect("opened");
    let width = editor.doc.node("render").map(|n| n.params["width"].clone());
    assert_eq!(
        width,
        Some(json!(640)),
        "the run's value, not the saved one"
    );
    assert_eq!(
        editor
            .run_overrides
            .get(&("render".to_owned(), "width".to_owned())),
        Some(&Some(json!(2048)))
    );
    h.state_mut().editor.as_mut().expect("opened").selection = vec!["render".into()];
    h.run();
    h.get_by_label("Width (run override)");
    assert!(h.query_by_label("Height (run override)").is_none());
    // Undo gives the graph's saved value back.
    h.state_mut().editor.as_mut().expect("opened").undo();
    let editor = h.state().editor.as_ref().expect("opened");
    assert_eq!(
        editor.doc.node("render").map(|n| n.params["width"].clone()),
        Some(json!(2048))
    );
    drop(h);
    server.shutdown();
}
