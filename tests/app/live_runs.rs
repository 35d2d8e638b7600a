//! A run dispatched from the Run panel: an order_line graph runs without a typed order line
//! (it gets an ad-hoc id), and when the run ends a notice says how it ended, links to it and
//! the status bar says the same.

use egui_kittest::kittest::Queryable as _;
use serde_json::json;
use std::time::Duration;
use workflow_engine::runtime::RunStatus;
use workflow_studio::app::{MainView, StudioApp};
use workflow_studio::command::Command;

use crate::support::until;

const WAIT: Duration = Duration::from_secs(30);

fn dispatch_and_wait_for_notice(
    h: &mut egui_kittest::Harness<'static, StudioApp>,
    inputs: serde_json::Value,
    notices: usize,
) -> workflow_wire::RunRecord {
    h.state_mut().send(Command::ShowView(MainView::Editor));
    h.run();
    h.state_mut().runs.inputs_text = inputs.to_string();
    h.get_by_label("Dispatch").click();
    until(h, "the run's notice", WAIT, |app| {
        app.runs.notices.len() == notices
    });
    let id = h.state().runs.notices[notices - 1].run_id.clone();
    until(h, "the ended run is shown", WAIT, |app| {
        app.runs
            .selected
            .as_ref()
            .is_some_and(|r| r.id == id && r.status.is_final())
    });
    h.state().runs.selected.clone().expect("selected")
}

#[test]
fn a_trial_run_needs_no_order_line_and_its_end_shows_a_notice_with_a_link() {
    let (mut h, server, _dir) = crate::runs::saved_starter();
    // Only a product: the blank order line becomes an ad-hoc id, so preflight passes.
    h.state_mut().runs.inputs_text = json!({"product_id": "p1"}).to_string();
    h.get_by_label("Preflight").click();
    until(&mut h, "preflight answers", WAIT, |app| {
        app.runs.preflight.is_some()
    });
    let report = h.state().runs.preflight.clone().expect("report");
    assert_eq!(report["ok"], json!(true), "{report}");

    let run = dispatch_and_wait_for_notice(&mut h, json!({"product_id": "p1"}), 1);
    assert_eq!(run.status, RunStatus::Succeeded);
    let line = run.inputs["order_line_id"]
        .as_str()
        .expect("an order line id");
    assert!(line.starts_with("adhoc-") && line.len() == "adhoc-20261202-101500".len());
    let text = h.state().runs.notices[0].text.clone();
    assert!(
        text.starts_with(&format!("Run {} finished in ", &run.id[..8])),
        "{text}"
    );
    // The notice and the status bar both say it.
    assert_eq!(h.state().status, text);
    assert_eq!(h.query_all_by_label(&text).count(), 2);

    // A failed run's notice names the error.
    let failed = dispatch_and_wait_for_notice(
        &mut h,
        json!({"product_id": "p1", "test_fail": "materials"}),
        2,
    );
    assert_eq!(failed.status, RunStatus::Failed);
    let text = h.state().runs.notices[1].text.clone();
    assert!(text.contains("failed"), "{text}");
    assert!(text.ends_with(": missing_materials"), "{text}");

    // From another view, "Open run" goes to the run and closes its notice.
    h.state_mut().send(Command::ShowView(MainView::Editor));
    h.run();
    let first = h.state().runs.notices[0].run_id.clone();
    h.query_all_by_label("Open run")
        .next()
        .expect("a link")
        .click();
    until(&mut h, "the first run is open", WAIT, |app| {
        app.state.view == MainView::Runs
            && app.runs.selected.as_ref().is_some_and(|r| r.id == first)
    });
    assert!(h.state().runs.notices.iter().all(|n| n.run_id != first));
    drop(h);
    server.shutdown();
}
