//! `workflow-studio`: the desktop node-graph editor for production render workflows.

use clap::Parser;
use std::sync::Arc;
use workflow_contracts::{Family, Registry};
use workflow_studio::app::StudioApp;
use workflow_studio::command::Command;
use workflow_studio::drafts::DraftStore;

/// Unsaved edits reach their draft file this long after the last change.
const DRAFT_DEBOUNCE_SECONDS: f64 = 1.0;

#[derive(Parser)]
#[command(
    name = "workflow-studio",
    version,
    about = "Node-graph editor for production render workflows"
)]
struct Args {
    /// Open a new workflow of this family at start (cad_file or order_line).
    #[arg(long, value_name = "FAMILY")]
    new: Option<Family>,
}

fn main() -> eframe::Result {
    let args = Args::parse();
    // The catalog is built in-process until the app talks to its embedded server.
    let registry = Arc::new(Registry::builtin());
    let options = eframe::NativeOptions {
        renderer: eframe::Renderer::Glow,
        // three-d draws the viewer inside egui and needs depth and multisampling.
        depth_buffer: 24,
        multisampling: 4,
        viewport: egui::ViewportBuilder::default()
            .with_title("Workflow Studio")
            .with_inner_size([1600.0, 1000.0])
            .with_min_inner_size([640.0, 400.0]),
        ..Default::default()
    };
    eframe::run_native(
        "Workflow Studio",
        options,
        Box::new(move |_cc| {
            let mut app = StudioApp::new(registry);
            match DraftStore::default_dir().map(|dir| DraftStore::open(&dir)) {
                Some(Ok(store)) => app = app.with_drafts(store, DRAFT_DEBOUNCE_SECONDS),
                Some(Err(err)) => eprintln!("warning: unsaved work will not be kept: {err}"),
                None => eprintln!("warning: no data directory; unsaved work will not be kept"),
            }
            if let Some(family) = args.new {
                app.send(Command::NewWorkflow(family));
            }
            Ok(Box::new(app))
        }),
    )
}
