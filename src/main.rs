//! `workflow-studio`: the desktop node-graph editor for production render workflows.

use clap::Parser;
use std::path::PathBuf;
use workflow_contracts::Family;
use workflow_studio::app::{MainView, StudioApp};
use workflow_studio::backend::{Backend, ServerChoice};
use workflow_studio::command::Command;
use workflow_studio::drafts::DraftStore;
use workflow_studio::settings::{Settings, STORAGE_KEY};

/// Unsaved edits reach their draft file this long after the last change.
const DRAFT_DEBOUNCE_SECONDS: f64 = 1.0;

#[derive(Parser)]
#[command(
    name = "workflow-studio",
    version,
    about = "Node-graph editor for production render workflows"
)]
struct Args {
    /// Connect to this server instead of starting the embedded one (e.g. http://host:8470).
    #[arg(long, value_name = "URL", requires = "token")]
    server: Option<String>,
    /// Bearer token for --server (`workflow-server token create --role author`).
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// Where the embedded server keeps its database (default: the platform data directory).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Open a new workflow of this family at start (cad_file or order_line).
    #[arg(long, value_name = "FAMILY")]
    new: Option<Family>,
    /// Open this run's detail once connected (e.g. from a link in a report).
    #[arg(long, value_name = "RUN_ID", conflicts_with = "compare")]
    run: Option<String>,
    /// Open two runs side by side once connected.
    #[arg(long, num_args = 2, value_names = ["LEFT_RUN", "RIGHT_RUN"])]
    compare: Option<Vec<String>>,
    /// Open the glTF viewer on a local .glb/.gltf/STEP file, or on a server product with
    /// `product:<id>`.
    #[arg(long, value_name = "FILE|product:ID")]
    view: Option<String>,
    /// Print the time from start to an interactive editor, then quit (docs/performance.md).
    #[arg(long)]
    measure_startup: bool,
}

fn main() -> eframe::Result {
    let started = std::time::Instant::now();
    let args = Args::parse();
    let dirs = directories::ProjectDirs::from("studio", "Workflow Studio", "workflow-studio");
    let data_dir = args
        .data_dir
        .clone()
        .or_else(|| dirs.as_ref().map(|d| d.data_dir().to_path_buf()))
        .unwrap_or_else(|| PathBuf::from("workflow-studio-data"));
    let cache_dir = dirs.as_ref().map(|d| d.cache_dir().to_path_buf());
    let cli_server = args.server.zip(args.token);
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
    let new = args.new;
    let open_run = args.run;
    let compare = args.compare;
    let measure = args.measure_startup;
    let view = args.view.clone();
    eframe::run_native(
        "Workflow Studio",
        options,
        Box::new(move |cc| {
            let mut settings: Settings = cc
                .storage
                .and_then(|s| eframe::get_value(s, STORAGE_KEY))
                .unwrap_or_default();
            // --server/--token win over the saved choice (and are remembered).
            if let Some((url, token)) = cli_server {
                settings.use_remote = true;
                settings.server_url = url;
                settings.token = token;
            }
            cc.egui_ctx.set_theme(settings.theme.preference());
            let choice = if settings.use_remote {
                ServerChoice::Remote {
                    url: settings.server_url.clone(),
                    token: settings.token.clone(),
                }
            } else {
                ServerChoice::Embedded {
                    data_dir: data_dir.clone(),
                }
            };
            let mut app = StudioApp::connecting();
            app.state.settings = settings;
            match Backend::new(cache_dir) {
                Ok(backend) => app = app.with_server(backend, choice, &cc.egui_ctx),
                Err(err) => app.status = format!("cannot start background tasks: {err}"),
            }
            match DraftStore::open(&data_dir.join("drafts")) {
                Ok(store) => app = app.with_drafts(store, DRAFT_DEBOUNCE_SECONDS),
                Err(err) => eprintln!("warning: unsaved work will not be kept: {err}"),
            }
            if let Some(family) = new {
                app.send(Command::NewWorkflow(family));
            }
            if let Some(id) = open_run {
                app.send_when_connected(Command::ShowView(MainView::Runs));
                app.send_when_connected(Command::SelectRun(id));
            }
            if let Some([left, right]) = compare.as_deref() {
                app.send_when_connected(Command::ShowView(MainView::Runs));
                app.send_when_connected(Command::CompareRuns {
                    left: left.clone(),
                    right: right.clone(),
                });
            }
            if let Some(target) = view {
                let source = match target.strip_prefix("product:") {
                    Some(id) => workflow_studio::viewer::GlbSource::Product(id.to_owned()),
                    None => workflow_studio::viewer::GlbSource::Path(PathBuf::from(target)),
                };
                app.send(Command::OpenGlbInViewer(source));
            }
            if measure {
                app.measure_startup(started);
            }
            Ok(Box::new(app))
        }),
    )
}
