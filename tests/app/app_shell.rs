//! The app shell, driven through its accessibility tree like a user with a keyboard and mouse.

use egui_kittest::kittest::Queryable as _;
use egui_kittest::Harness;
use std::sync::Arc;
use workflow_contracts::Registry;
use workflow_studio::app::StudioApp;

fn harness() -> Harness<'static, StudioApp> {
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .with_max_steps(64)
        .build_eframe(|_cc| StudioApp::new(Arc::new(Registry::builtin())))
}

#[test]
fn opens_with_title_and_menus() {
    let mut harness = harness();
    harness.run();
    harness.get_by_label("Workflow Studio");
    harness.get_by_label("File");
    harness.get_by_label("Help");
}

#[test]
fn help_menu_opens_about_window() {
    let mut harness = harness();
    harness.run();
    harness.get_by_label("Help").click();
    harness.run();
    harness
        .get_by_label_contains("About Workflow Studio")
        .click();
    harness.run();
    assert!(harness.state().state.show_about);
    harness.get_by_label(&format!("Version {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn f1_opens_the_shortcut_overlay() {
    let mut harness = harness();
    harness.run();
    harness.key_press(egui::Key::F1);
    harness.run();
    assert!(harness.state().state.show_help);
    assert!(harness
        .query_all_by_label("Keyboard shortcuts")
        .next()
        .is_some());
    assert!(harness.query_all_by_label("Auto-layout").next().is_some());
}
