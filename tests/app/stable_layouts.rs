//! Layouts that hold still and say things once, against a real server: the inspector keeps its
//! width whatever is selected, a picked node's record scrolls into view, a failure's text is
//! shown once, and the runs list names each run's product, workflow, status, start and
//! duration, filtered by status and product.

use egui_kittest::kittest::Queryable as _;
use egui_kittest::Harness;
use serde_json::json;
use std::time::Duration;
use workflow_engine::runtime::RunStatus;
use workflow_studio::app::{fmt_ms, MainView, StudioApp};
use workflow_studio::command::Command;
use workflow_studio::editor::document::Edit;

use crate::support::until;

const WAIT: Duration = Duration::from_secs(60);

/// A side panel's outer rect as the panel stored it in the last frame.
fn panel(h: &Harness<'static, StudioApp>, id: &str) -> egui::Rect {
    egui::containers::panel::PanelState::load(&h.ctx, egui::Id::new(id))
        .unwrap_or_else(|| panic!("the {id} panel is drawn"))
        .outer_rect
}

/// Drags a right-hand panel's left edge (its resize handle) to `x`, as a user narrows it.
fn drag_left_edge(h: &mut Harness<'static, StudioApp>, id: &str, x: f32) {
    // Just inside the edge: the handle reaches both ways, a viewport beside it takes drags too.
    let from = egui::pos2(panel(h, id).left() + 2.0, 500.0);
    let to = egui::pos2(x, 500.0);
    h.hover_at(from);
    h.step();
    h.drag_at(from);
    h.step();
    h.hover_at(egui::pos2((from.x + x) / 2.0, 500.0));
    h.step();
    h.hover_at(to);
    h.step();
    h.drop_at(to);
    h.run_ok();
}

fn inspector(h: &Harness<'static, StudioApp>) -> egui::Rect {
    panel(h, "inspector")
}

fn drag_inspector_edge(h: &mut Harness<'static, StudioApp>, x: f32) {
    drag_left_edge(h, "inspector", x);
}

#[test]
fn the_material_panel_keeps_its_width_when_the_selection_changes() {
    let mut h = Harness::builder()
        .with_size(egui::vec2(1500.0, 950.0))
        .with_max_steps(64)
        .build_eframe(|_cc| {
            StudioApp::new(std::sync::Arc::new(workflow_contracts::Registry::builtin()))
        });
    h.run();
    h.state_mut().send(Command::OpenGlbInViewer(
        workflow_studio::viewer::GlbSource::Bytes {
            name: "2CylinderEngine.glb".into(),
            bytes: std::sync::Arc::new(crate::support::gltf_bytes("2CylinderEngine.glb")),
        },
    ));
    until(&mut h, "the model opens", WAIT, |app| {
        app.viewer.doc.is_some()
    });
    let window = h.ctx.content_rect().right();
    drag_left_edge(&mut h, "viewer_repair", window - 250.0);
    let width = panel(&h, "viewer_repair").width();
    assert!((width - 250.0).abs() < 4.0, "dragged to {width}");
    // Long part names, one part and then another, then none.
    for part in ["Lifter_123-923_0_Parts_1", "body_1"] {
        h.get_by_label(part).click();
        h.run_ok();
        assert!(
            !h.state()
                .viewer
                .doc
                .as_ref()
                .expect("open")
                .selection
                .is_empty(),
            "{part} selected"
        );
        assert_eq!(
            panel(&h, "viewer_repair").width(),
            width,
            "selecting {part}"
        );
    }
    h.key_press(egui::Key::Escape);
    h.run_ok();
    assert_eq!(
        panel(&h, "viewer_repair").width(),
        width,
        "clearing the selection"
    );
}

#[test]
fn the_inspector_keeps_its_width_when_a_node_with_long_parameters_is_selected() {
    let (mut h, server, _dir) = crate::runs::saved_starter();
    // A naming template with long unknown placeholders: its problem message is far wider
    // than the panel.
    h.state_mut().send(Command::Edit {
        edit: Edit::SetParam {
            node: "publish".into(),
            param: "naming_template".into(),
            value: json!(
                "{product}_{a_placeholder_nobody_defined_with_a_long_name}_{another_unknown_one}.{ext}"
            ),
        },
        coalesce: None,
    });
    h.state_mut().send(Command::Select(vec!["publish".into()]));
    h.run_ok();
    assert!(
        h.query_all_by_label_contains("uses unknown placeholder(s)")
            .next()
            .is_some(),
        "the long problem message is shown"
    );
    // The user makes the panel narrower than what the Run section's rows would ask for.
    let window = h.ctx.content_rect().right();
    drag_inspector_edge(&mut h, window - 280.0);
    let width = inspector(&h).width();
    assert!((width - 280.0).abs() < 4.0, "dragged to {width}");

    for selection in [
        vec![],
        vec!["publish".to_owned()],
        vec![],
        vec!["render".into()],
    ] {
        h.state_mut().send(Command::Select(selection.clone()));
        h.run_ok();
        assert_eq!(inspector(&h).width(), width, "selecting {selection:?}");
    }
    drop(h);
    server.shutdown();
}

#[test]
fn runs_list_names_runs_and_the_failure_and_node_record_read_once_in_view() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = workflow_server::embedded::start_in_background_with(
        dir.path(),
        Some(crate::support::scripted_modules()),
    )
    .expect("server starts");
    // A short window: the node record starts below the fold.
    let choice = workflow_studio::backend::ServerChoice::Remote {
        url: server.url.clone(),
        token: server.admin_token.clone(),
        ca_cert: None,
    };
    let mut h = crate::support::app_with_server(choice, None, egui::vec2(1500.0, 680.0));
    until(&mut h, "connected", WAIT, |app| {
        app.server.catalog_ready && !app.server.workflows.is_empty()
    });
    // A real product: uploaded, processed by its cad_file run.
    let product_id = crate::runs_production::upload(&server, "gltf/Box.glb");
    h.state_mut().send(Command::RefreshProducts);
    until(&mut h, "the product is listed", WAIT, |app| {
        !app.runs.products.is_empty()
    });
    let product_name = h.state().runs.products[0]["name"]
        .as_str()
        .expect("name")
        .to_owned();

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
    let workflow_name = h.state().editor.as_ref().expect("open").doc.name.clone();
    h.state_mut().runs.run_product = Some(product_id.clone());
    h.state_mut().runs.inputs_text =
        json!({"order_line_id": "o1", "test_fail": "materials"}).to_string();
    h.get_by_label("Dispatch").click();
    until(&mut h, "the run fails and is listed", WAIT, |app| {
        app.state.view == MainView::Runs
            && app
                .runs
                .selected
                .as_ref()
                .is_some_and(|r| r.status == RunStatus::Failed)
            && app.runs.runs.len() == 2
    });
    let run = h.state().runs.selected.clone().expect("selected");
    let listed = h
        .state()
        .runs
        .runs
        .iter()
        .find(|r| r.id == run.id)
        .cloned()
        .expect("listed");

    // The row: product and workflow by name, status, local start time, duration.
    h.get_by_label(&format!("{product_name} · {workflow_name} v1"));
    let started = listed.started_at.expect("started");
    assert!(h
        .query_all_by_label(&workflow_studio::local_time::minute(started))
        .next()
        .is_some());
    let took = fmt_ms((listed.finished_at.expect("finished") - started) as f64);
    assert!(h.query_all_by_label(&took).next().is_some(), "{took}");
    assert!(h.query_all_by_label("failed").next().is_some());

    // The failure's text once: in the failure view, not again in the node record.
    let message = "missing_materials: materials: 3 parts have no material";
    assert_eq!(h.query_all_by_label_contains(message).count(), 1);
    h.get_by_label("details").click();
    h.run_ok();
    assert_eq!(h.query_all_by_label_contains(message).count(), 1);
    h.get_by_label("Error missing_materials: see Failure above");

    // Picking a node scrolls its record into view.
    h.state_mut().send(Command::SelectRunNode("publish".into()));
    h.run_ok();
    let heading = h.get_by_label("Node publish").rect();
    assert!(
        heading.top() >= 0.0 && heading.bottom() <= 680.0 - 24.0,
        "the record's heading is in view: {heading:?}"
    );

    // Filters: by status (the processing run succeeded), then by product.
    h.state_mut().runs.filter.status = Some(RunStatus::Failed);
    h.state_mut().send(Command::RefreshRuns);
    until(&mut h, "only the failed run", WAIT, |app| {
        app.runs.runs.len() == 1 && app.runs.runs[0].id == run.id
    });
    h.state_mut().runs.filter.status = None;
    h.get_by_value("any product").click();
    h.run_ok();
    h.get_by_label(&product_name).click();
    h.run_ok();
    assert_eq!(h.state().runs.filter.product_id, product_id);
    until(&mut h, "both runs of the product", WAIT, |app| {
        app.runs.runs.len() == 2
            && app
                .runs
                .runs
                .iter()
                .all(|r| r.product_id.as_deref() == Some(product_id.as_str()))
    });
    drop(h);
    server.shutdown();
}
