//! `workflow-studio`: the desktop node-graph editor for production render workflows.

use clap::Parser;
use std::path::PathBuf;
use workflow_contracts::Family;
use workflow_studio::app::{MainView, StudioApp};
use workflow_studio::backend::{Backend, ServerChoice};
use workflow_studio::command::Command;
use workflow_studio::drafts::DraftStore;
use workflow_studio::settings::{Settings, TokenFile, STORAGE_KEY, TOKEN_ENV};

/// Unsaved edits reach their draft file this long after the last change.
const DRAFT_DEBOUNCE_SECONDS: f64 = 1.0;

#[derive(Parser)]
#[command(
    name = "workflow-studio",
    version,
    about = "Node-graph editor for production render workflows"
)]
struct Args {
    /// Connect to this server instead of starting the embedded one (e.g. https://host:8470).
    /// The token comes from --token-file, else $WORKFLOW_TOKEN, else the one kept from before.
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// Refused: a token on the command line is visible to every user of the machine.
    #[arg(long, value_name = "TOKEN", hide = true)]
    token: Option<String>,
    /// Read the bearer token for --server from this file (first line).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Trust this PEM CA certificate for an https server, besides the system's roots.
    #[arg(long, value_name = "FILE.pem")]
    ca_cert: Option<PathBuf>,
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
    /// Print the man page (roff) and exit (packaging).
    #[arg(long, hide = true)]
    print_man: bool,
}

fn main() -> std::process::ExitCode {
    let started = std::time::Instant::now();
    let args = Args::parse();
    if args.print_man {
        return print_man();
    }
    if args.token.is_some() {
        eprintln!(
            "error: --token is no longer accepted: a token on the command line is visible to \
             every user of this machine (ps, shell history). Put it in a file readable by you \
             only and pass --token-file FILE, or set {TOKEN_ENV}."
        );
        return std::process::ExitCode::from(2);
    }
    let dirs = directories::ProjectDirs::from("studio", "Workflow Studio", "workflow-studio");
    let token_file = dirs.as_ref().map(TokenFile::in_config_dir);
    let given_token = match &args.token_file {
        Some(path) => match TokenFile::read_given(path) {
            Ok(token) => Some(token),
            Err(err) => {
                eprintln!("error: {err}");
                return std::process::ExitCode::from(2);
            }
        },
        None => std::env::var(TOKEN_ENV)
            .ok()
            .filter(|t| !t.trim().is_empty()),
    };
    let stored_token = match token_file.as_ref().map(TokenFile::load).transpose() {
        Ok(token) => token.flatten(),
        Err(err) => {
            eprintln!("warning: {err}");
            None
        }
    };
    if args.server.is_some() && given_token.is_none() && stored_token.is_none() {
        eprintln!(
            "error: --server needs a token: --token-file FILE or {TOKEN_ENV} \
             (`workflow-server token create --role author`)"
        );
        return std::process::ExitCode::from(2);
    }
    match run(args, dirs, token_file, given_token, stored_token, started) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The man page from the clap definition, on stdout.
fn print_man() -> std::process::ExitCode {
    use clap::CommandFactory as _;
    match clap_mangen::Man::new(Args::command()).render(&mut std::io::stdout().lock()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: cannot write the man page: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(
    args: Args,
    dirs: Option<directories::ProjectDirs>,
    token_file: Option<TokenFile>,
    given_token: Option<String>,
    stored_token: Option<String>,
    started: std::time::Instant,
) -> eframe::Result {
    let data_dir = args
        .data_dir
        .clone()
        .or_else(|| dirs.as_ref().map(|d| d.data_dir().to_path_buf()))
        .unwrap_or_else(|| PathBuf::from("workflow-studio-data"));
    let cache_dir = dirs.as_ref().map(|d| d.cache_dir().to_path_buf());
    let cli_server = args.server;
    let cli_ca_cert = args.ca_cert;
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
            settings.token_file = token_file.as_ref().map(|f| f.path.clone());
            settings.token = stored_token.unwrap_or_default();
            // --server (with a token from --token-file or the environment) and --ca-cert win
            // over the saved choice and are remembered, the token in its private file.
            if let Some(url) = cli_server {
                settings.use_remote = true;
                settings.server_url = url;
            }
            if let Some(path) = cli_ca_cert {
                settings.ca_cert = path.display().to_string();
            }
            if let Some(token) = given_token {
                if token != settings.token {
                    if let Some(Err(err)) = token_file.as_ref().map(|f| f.save(&token)) {
                        eprintln!("warning: the token is not kept: {err}");
                    }
                }
                settings.token = token;
            }
            cc.egui_ctx.set_theme(settings.theme.preference());
            let choice = if settings.use_remote {
                ServerChoice::Remote {
                    url: settings.server_url.clone(),
                    token: settings.token.clone(),
                    ca_cert: settings.ca_cert_path(),
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
