//! `workflow-studio`: the desktop node-graph editor for production render workflows.

use workflow_studio::app::StudioApp;

fn main() -> eframe::Result {
    let options = eframe::NativeOptions {
        renderer: eframe::Renderer::Glow,
        // three-d draws the viewer inside egui and needs depth and multisampling.
        depth_buffer: 24,
        multisampling: 4,
        viewport: egui::ViewportBuilder::default()
            .with_title("Workflow Studio")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([640.0, 400.0]),
        ..Default::default()
    };
    eframe::run_native(
        "Workflow Studio",
        options,
        Box::new(|_cc| Ok(Box::new(StudioApp::default()))),
    )
}
