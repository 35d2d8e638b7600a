//! Run inspection against a real server: a dispatched run that fails shows as failed, names
//! the failing node and its error, lists the nodes skipped because of it, and "Open in
//! editor" selects the failing node. The server runs scripted test modules (the production
//! modules live in the engine); everything else is the real server and the real app.

use egui_kittest::kittest::Queryable as _;
use egui_kittest::Harness;
use serde_json::json;
use std::time::Duration;
use workflow_engine::runtime::{NodeStatus, RunStatus};
use workflow_studio::app::{MainView, StudioApp};
use workflow_studio::command::Command;

use crate::support::until;

/// How long a step of these tests may take before it fails.
const WAIT: Duration = Duration::from_secs(30);

/// The app connected to a server running scripted modules, with a saved order_line starter.
pub(crate) fn saved_starter() -> (
    Harness<'static, StudioApp>,
    workflow_server::embedded::BackgroundServer,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = workflow_server::embedded::start_in_background_with(
        dir.path(),
        Some(crate::support::scripted_modules()),
    )
    .expect("server starts");
    let mut h = crate::support::remote_app(&server.url, &server.admin_token);
    until(&mut h, "connected", WAIT, |app| {
        app.server.catalog_ready && !app.server.workflows.is_empty()
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
    (h, server, dir)
}

#[test]
fn a_live_run_updates_from_its_event_stream_and_cancel_stops_it() {
    let (mut h, server, _dir) = saved_starter();
    h.state_mut().runs.inputs_text =
        json!({"product_id": "p1", "order_line_id": "o1", "test_hang": "render"}).to_string();
    h.get_by_label("Dispatch").click();
    until(&mut h, "the render node is running", WAIT, |app| {
        app.runs.selected.as_ref().is_some_and(|r| {
            r.nodes
                .iter()
                .any(|n| n.node_id == "render" && n.status == NodeStatus::Running)
        })
    });
    h.get_by_label("Cancel").click();
    until(&mut h, "the run is cancelled", WAIT, |app| {
        app.runs
            .selected
            .as_ref()
            .is_some_and(|r| r.status == RunStatus::Cancelled)
    });
    drop(h);
    server.shutdown();
}

#[test]
fn a_failed_run_names_its_root_cause_and_opens_in_the_editor_on_it() {
    let (mut h, server, _dir) = saved_starter();

    h.state_mut().runs.inputs_text =
        json!({"product_id": "p1", "order_line_id": "o1", "test_fail": "materials"}).to_string();
    h.get_by_label("Preflight").click();
    until(&mut h, "preflight answers", WAIT, |app| {
        app.runs.preflight.is_some()
    });
    assert_eq!(
        h.state().runs.preflight.as_ref().map(|p| p["ok"].clone()),
        Some(json!(true))
    );
    h.get_by_label("Dispatch").click();
    until(&mut h, "the run finishes", WAIT, |app| {
        app.state.view == MainView::Runs
            && app
                .runs
                .selected
                .as_ref()
                .is_some_and(|r| r.status == RunStatus::Failed)
    });

    let run = h.state().runs.selected.clone().expect("selected");
    let status = |id: &str| run.nodes.iter().find(|n| n.node_id == id).map(|n| n.status);
    assert_eq!(status("materials"), Some(NodeStatus::Failed));
    assert_eq!(status("load_scene"), Some(NodeStatus::Succeeded));
    for downstream in ["camera", "lighting", "render", "publish"] {
        assert_eq!(
            status(downstream),
            Some(NodeStatus::Skipped),
            "{downstream}"
        );
    }
    // The runs list shows it failed; the failure view names the node, its error and the
    // nodes skipped because of it.
    assert!(h
        .state()
        .runs
        .runs
        .iter()
        .any(|r| r.id == run.id && r.status == RunStatus::Failed));
    h.get_by_label("Root cause: materials (material.resolve)");
    assert!(h
        .query_all_by_label_contains("missing_materials: materials: 3 parts have no material")
        .next()
        .is_some());
    h.get_by_label("Skipped because of it: camera, lighting, render, publish");

    // Re-run with an edited parameter: a new run linked to this one, carrying the override.
    h.state_mut().runs.rerun_overrides = json!({"render.width": 640}).to_string();
    h.get_by_label("Re-run").click();
    let original = run.id.clone();
    until(&mut h, "the re-run is selected", WAIT, |app| {
        app.runs
            .selected
            .as_ref()
            .is_some_and(|r| r.rerun_of.as_deref() == Some(original.as_str()))
    });
    let rerun = h.state().runs.selected.clone().expect("re-run");
    assert_eq!(rerun.overrides.get("render.width"), Some(&json!(640)));
    h.state_mut().send(Command::SelectRun(original.clone()));
    until(&mut h, "the original is selected again", WAIT, |app| {
        app.runs.selected.as_ref().is_some_and(|r| r.id == original)
    });

    h.state_mut().send(Command::OpenRunInEditor);
    h.run();
    let editor = h.state().editor.as_ref().expect("opened");
    assert_eq!(editor.selection, ["materials"]);
    assert_eq!(
        editor.run_status.get("materials"),
        Some(&NodeStatus::Failed)
    );
    assert_eq!(h.state().state.view, MainView::Editor);
    drop(h);
    server.shutdown();
}
