//! The app shell, driven through its accessibility tree like a user with a keyboard and mouse.

use egui_kittest::kittest::Queryable as _;
use egui_kittest::Harness;
use workflow_studio::app::StudioApp;

fn harness() -> Harness<'static, StudioApp> {
    Harness::builder()
        .with_size(egui::vec2(1024.0, 700.0))
        .build_eframe(|_cc| StudioApp::default())
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
fn help_menu_opens_about_window_and_f1_closes_it() {
    let mut harness = harness();
    harness.run();
    harness.get_by_label("Help").click();
    harness.run();
    // Menu buttons read their label followed by the shortcut.
    harness.get_by_label("About Workflow Studio F1").click();
    harness.run();
    assert!(harness.state().state.show_about);
    harness.get_by_label(&format!("Version {}", env!("CARGO_PKG_VERSION")));
    harness.key_press(egui::Key::F1);
    harness.run();
    assert!(!harness.state().state.show_about);
}
