//! `workflow-server`: the HTTP server and the command-line verbs used by scripts and CI.

use anyhow::Context as _;
use clap::{CommandFactory as _, Parser, Subcommand};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use workflow_contracts::{
    markdown::catalog_markdown, starter_graph, validate, Family, Graph, Registry,
};
use workflow_engine::calendar::utc_minute;
use workflow_engine::rollout::RolloutPolicy;
use workflow_engine::runtime::RenderBudget;
use workflow_server::api::admin::expiry_from_now;
use workflow_server::app;
use workflow_server::auth::{generate_token, hash_token, parse_duration_seconds, Role};
use workflow_server::net::{tls_acceptor, ServeOptions, Timeouts};
use workflow_server::runs::{default_owner, QueueConfig, RunsConfig};
use workflow_server::ApiConfig;

#[derive(Parser)]
#[command(
    name = "workflow-server",
    version,
    about = "Workflow Studio backend and command-line tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the node registry as JSON (or the catalog table with --markdown).
    Contracts {
        /// Print the Markdown catalog that docs/contracts.md holds.
        #[arg(long)]
        markdown: bool,
    },
    /// Print the canonical starter graph of a family (cad_file or order_line).
    Starter { family: Family },
    /// Validate a graph file ("-" reads standard input). Exit 0 valid, 1 invalid, 2 unreadable.
    Validate { file: PathBuf },
    /// Run a graph once without a server and write its artifacts and run.json into --out.
    /// Exit 0 succeeded, 1 failed, 2 bad usage or unreadable input (JSON error on stderr).
    Run(workflow_server::cli_run::RunArgs),
    /// Run the golden-case parity suite (legacy vs graph on every case in --cases) and write
    /// parity.json and parity.html into --report. Exit 0 all pass, 1 a case failed, 2 bad
    /// usage or unreadable cases, 3 no failure but a case warns (needs review).
    Parity(workflow_server::cli_parity::ParityArgs),
    /// Run the HTTP API (migrates and seeds the database first).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8470")]
        addr: String,
        #[command(flatten)]
        db: DbArgs,
        /// Largest accepted request body in bytes (larger → 413).
        #[arg(long, default_value_t = 2 * 1024 * 1024)]
        body_limit: usize,
        /// Rollout policy (JSON object of policy fields over the built-in defaults:
        /// min_shadow_runs, window_minutes, min_pass_rate, no_fail_in_last,
        /// auto_rollback_fallbacks, auto_rollback_window_minutes).
        #[arg(long, value_name = "FILE.json")]
        rollout_policy: Option<PathBuf>,
        #[command(flatten)]
        net: NetArgs,
        #[command(flatten)]
        budget: BudgetArgs,
        #[command(flatten)]
        queue: QueueArgs,
        #[command(flatten)]
        artifacts: ArtifactsArgs,
        /// Seed the sample product (and its sample materials) on a database that never had a
        /// product or a run, once. Off by default so team servers stay clean; the desktop
        /// app's embedded server always does it.
        #[arg(long)]
        sample_product: bool,
    },
    /// Claim and run queued jobs from the database, with no HTTP (a render machine of a team
    /// deployment; the API server migrates, a worker refuses an older schema). SIGTERM or
    /// SIGINT: no new claims, running jobs get --drain-seconds to finish, then are handed
    /// back to the queue; exit 0.
    Worker {
        #[command(flatten)]
        db: DbArgs,
        /// Seconds running jobs get to finish after SIGTERM/SIGINT before they are handed back.
        #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
        drain_seconds: f64,
        #[command(flatten)]
        budget: BudgetArgs,
        #[command(flatten)]
        queue: QueueArgs,
        #[command(flatten)]
        artifacts: ArtifactsArgs,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Write the man pages (workflow-server.1 and one per verb) into --out (packaging).
    #[command(hide = true)]
    Man {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

/// The render budget every run is checked against before it starts (preflight and run).
#[derive(clap::Args)]
struct BudgetArgs {
    /// Most pixels one render node may produce: width × height × frames (1 for a still).
    #[arg(long, default_value_t = RenderBudget::default().max_pixels)]
    pixel_budget: u64,
    /// Largest width or height of a render.
    #[arg(long, default_value_t = RenderBudget::default().max_side)]
    max_render_side: u32,
    /// Most frames of a turntable.
    #[arg(long, default_value_t = RenderBudget::default().max_frames)]
    max_turntable_frames: u32,
}

impl BudgetArgs {
    fn budget(&self) -> RenderBudget {
        RenderBudget {
            max_pixels: self.pixel_budget,
            max_side: self.max_render_side,
            max_frames: self.max_turntable_frames,
        }
    }
}

/// How this process runs jobs: shared by `serve` and `worker`.
#[derive(clap::Args)]
struct QueueArgs {
    /// Jobs this process runs at once (`serve --workers 0`: an API server that renders
    /// nothing itself; worker processes do).
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Seconds a job's lease lasts; a worker renews it every --heartbeat-seconds. A job whose
    /// worker died is taken by another once its lease ran out.
    #[arg(long, default_value_t = 15.0, value_name = "SECONDS")]
    lease_seconds: f64,
    /// Seconds between lease renewals (also how soon a cancel from another process arrives).
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    heartbeat_seconds: f64,
    /// Claims of one job before its run fails `worker_lost`.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(i64).range(1..=100))]
    max_attempts: i64,
    /// Seconds between looks for jobs queued by other processes when idle.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    poll_seconds: f64,
    /// Names this process in job leases (default: host:pid:random).
    #[arg(long)]
    name: Option<String>,
}

/// Seconds from the command line, bounded.
fn seconds(name: &str, value: f64) -> anyhow::Result<std::time::Duration> {
    if value.is_finite() && (0.001..=86_400.0).contains(&value) {
        Ok(std::time::Duration::from_secs_f64(value))
    } else {
        Err(anyhow::anyhow!(
            "--{name} must be between 0.001 and 86400 seconds (got {value})"
        ))
    }
}

/// The one place `serve` and `worker` build how runs execute: the engine's production
/// modules over the data directory (artifacts and products), the render budget, the queue.
fn runs_config(
    data_dir: &Path,
    budget: &BudgetArgs,
    queue: &QueueArgs,
    artifacts: &ArtifactsArgs,
) -> anyhow::Result<RunsConfig> {
    // The engine's production modules; the renderer starts on the first render.
    let mut runs = RunsConfig::production(data_dir);
    runs.set_artifacts(artifacts.open(data_dir)?);
    runs.options.render_budget = budget.budget();
    runs.workers = queue.workers;
    let lease = seconds("lease-seconds", queue.lease_seconds)?;
    let heartbeat = seconds("heartbeat-seconds", queue.heartbeat_seconds)?;
    if heartbeat >= lease {
        anyhow::bail!("--heartbeat-seconds must be shorter than --lease-seconds");
    }
    runs.queue = QueueConfig {
        lease,
        heartbeat,
        max_attempts: queue.max_attempts,
        poll: seconds("poll-seconds", queue.poll_seconds)?,
        owner: queue.name.clone().unwrap_or_else(default_owner),
    };
    Ok(runs)
}

#[derive(clap::Args)]
struct DbArgs {
    /// Database URL: sqlite://PATH or postgres://USER[:PASSWORD]@HOST:PORT/DATABASE (what
    /// several servers and workers share). Default: a SQLite file in the data directory. The
    /// environment variable keeps a password off the command line.
    #[arg(long, env = "WORKFLOW_DATABASE_URL", hide_env_values = true)]
    db: Option<String>,
    /// Data directory (default: the platform data directory).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

impl DbArgs {
    fn url(&self) -> anyhow::Result<String> {
        if let Some(url) = &self.db {
            return Ok(url.clone());
        }
        Ok(app::sqlite_url_in(&self.dir()?)?)
    }

    /// The data directory (artifacts live here even when `--db` points elsewhere).
    fn dir(&self) -> anyhow::Result<PathBuf> {
        Ok(match &self.data_dir {
            Some(dir) => dir.clone(),
            None => app::default_data_dir()?,
        })
    }
}

/// Where uploads, product files and run artifacts are kept (shared by every server and worker).
#[derive(clap::Args)]
struct ArtifactsArgs {
    /// A directory every host mounts, or s3://BUCKET/PREFIX (credentials, region and endpoint
    /// from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL,
    /// AWS_ALLOW_HTTP; see docs/deploy.md). Default: the data directory.
    #[arg(
        long,
        env = "WORKFLOW_ARTIFACTS",
        value_name = "DIR|s3://BUCKET/PREFIX"
    )]
    artifacts: Option<String>,
}

impl ArtifactsArgs {
    /// Opens the artifact store (checked before the server starts).
    fn open(&self, data_dir: &Path) -> anyhow::Result<workflow_server::artifacts::Blobs> {
        Ok(workflow_server::artifacts::open(
            self.artifacts.as_deref(),
            data_dir,
        )?)
    }
}

/// Time limits of every connection and TLS.
#[derive(clap::Args)]
struct NetArgs {
    /// Seconds a client has to send a whole request head (and the TLS handshake).
    #[arg(long, default_value_t = Timeouts::default().header_read.as_secs_f64(), value_name = "SECONDS")]
    header_timeout: f64,
    /// Longest pause, in seconds, between two chunks of a request body (then 408).
    #[arg(long, default_value_t = Timeouts::default().body_idle.as_secs_f64(), value_name = "SECONDS")]
    body_idle_timeout: f64,
    /// Seconds an idle keep-alive connection is kept open.
    #[arg(long, default_value_t = Timeouts::default().keep_alive_idle.as_secs_f64(), value_name = "SECONDS")]
    keep_alive_timeout: f64,
    /// Serve https with this PEM certificate chain (needs --tls-key).
    #[arg(long, value_name = "FILE.pem", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE.pem", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

impl NetArgs {
    fn options(&self) -> anyhow::Result<ServeOptions> {
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(tls_acceptor(cert, key)?),
            _ => None,
        };
        Ok(ServeOptions {
            timeouts: Timeouts {
                header_read: seconds("header-timeout", self.header_timeout)?,
                body_idle: seconds("body-idle-timeout", self.body_idle_timeout)?,
                keep_alive_idle: seconds("keep-alive-timeout", self.keep_alive_timeout)?,
            },
            tls,
        })
    }
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token and print it (only its hash is stored).
    Create {
        /// author, material_specialist, debugger or admin.
        #[arg(long)]
        role: Role,
        /// Who the token is for.
        #[arg(long, default_value = "")]
        label: String,
        /// Refuse the token after this long: 90s, 45m, 12h, 30d (default: never).
        #[arg(long, value_name = "DURATION", value_parser = parse_duration_seconds)]
        expires_in: Option<u64>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List every token: id, role, label, created, expiry, revocation (never the token).
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Revoke a token by its id (from `token list`) or by the token itself. A running server
    /// refuses it within a second.
    Revoke {
        /// 12-hex-digit id, or the token (`wst_…`).
        id: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", error_text(&err));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes, each said once: our errors and sqlx's embed their source in their
/// own message, which `{:#}` would repeat at every level.
fn error_text(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let message = cause.to_string();
        if !text.contains(&message) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&message);
        }
    }
    text
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    let registry = Registry::builtin();
    match command {
        Command::Contracts { markdown: true } => print!("{}", catalog_markdown(&registry)),
        Command::Contracts { markdown: false } => print_json(&registry)?,
        Command::Starter { family } => print_json(&starter_graph(family, &registry))?,
        Command::Validate { file } => return validate_file(&file, &registry),
        Command::Run(args) => return Ok(workflow_server::cli_run::execute(args)),
        Command::Parity(args) => return Ok(workflow_server::cli_parity::execute(args)),
        Command::Serve {
            addr,
            db,
            body_limit,
            rollout_policy,
            net,
            budget,
            queue,
            artifacts,
            sample_product,
        } => {
            let policy = read_rollout_policy(rollout_policy.as_deref())?;
            let options = net.options()?;
            let mut runs = runs_config(&db.dir()?, &budget, &queue, &artifacts)?;
            runs.rollout = policy;
            let config = ServeConfig {
                body_limit,
                sample_product,
            };
            serve(&addr, &db.url()?, config, runs, options)?
        }
        Command::Worker {
            db,
            drain_seconds,
            budget,
            queue,
            artifacts,
        } => {
            let grace = seconds("drain-seconds", drain_seconds)?;
            let runs = runs_config(&db.dir()?, &budget, &queue, &artifacts)?;
            worker(&db.url()?, runs, grace)?
        }
        Command::Migrate { db } => {
            let url = db.url()?;
            runtime()?.block_on(app::open_store(&url))?;
            eprintln!("migrations applied to {url}");
        }
        Command::Token { command } => return token_command(command),
        Command::Man { out } => {
            std::fs::create_dir_all(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            clap_mangen::generate_to(Cli::command(), &out)
                .with_context(|| format!("cannot write man pages into {}", out.display()))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn token_command(command: TokenCommand) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::Create {
            role,
            label,
            expires_in,
            db,
        } => {
            let url = db.url()?;
            let expires_at = expiry_from_now(expires_in).map_err(anyhow::Error::msg)?;
            let token = generate_token();
            runtime()?.block_on(async {
                let store = app::open_store(&url).await?;
                store
                    .create_token_expiring(&hash_token(&token), role, &label, expires_at)
                    .await?;
                anyhow::Ok(())
            })?;
            println!("{token}");
        }
        TokenCommand::List { db } => {
            let url = db.url()?;
            let tokens = runtime()?.block_on(async {
                let store = app::open_store(&url).await?;
                anyhow::Ok(store.list_tokens().await?)
            })?;
            println!(
                "{:<12}  {:<19}  {:<20}  {:<20}  {:<20}  label",
                "id", "role", "created", "expires", "revoked"
            );
            for t in tokens {
                let when = |ms: Option<i64>| ms.map(utc_minute).unwrap_or_else(|| "-".into());
                println!(
                    "{:<12}  {:<19}  {:<20}  {:<20}  {:<20}  {}",
                    t.id,
                    t.role.as_str(),
                    utc_minute(t.created_at),
                    when(t.expires_at),
                    when(t.revoked_at),
                    t.label
                );
            }
        }
        TokenCommand::Revoke { id, db } => {
            let url = db.url()?;
            // A pasted token is named by its hash's id; the token itself is never stored.
            let id = if id.starts_with("wst_") {
                workflow_server::store::token_id(&hash_token(&id))
            } else {
                id
            };
            let info = runtime()?.block_on(async {
                let store = app::open_store(&url).await?;
                anyhow::Ok(store.revoke_token(&id).await?)
            })?;
            println!("revoked {} ({}, {})", info.id, info.role, info.label);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// The built-in rollout policy with the file's fields on top (checked).
fn read_rollout_policy(file: Option<&Path>) -> anyhow::Result<RolloutPolicy> {
    let Some(file) = file else {
        return Ok(RolloutPolicy::default());
    };
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the rollout policy {}", file.display()))?;
    let patch: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    let policy = RolloutPolicy::default()
        .patched(&patch)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    if let Some((field, message)) = policy.problems().into_iter().next() {
        anyhow::bail!("{}: {field} {message}", file.display());
    }
    Ok(policy)
}

fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=info,sqlx=warn".into()),
        )
        .init();
}

/// `serve` settings beyond the listener and the runs.
struct ServeConfig {
    body_limit: usize,
    sample_product: bool,
}

fn serve(
    addr: &str,
    url: &str,
    serve_config: ServeConfig,
    runs: RunsConfig,
    options: ServeOptions,
) -> anyhow::Result<()> {
    init_tracing();
    runtime()?.block_on(async {
        let store = app::open_store(url).await?;
        let config = ApiConfig {
            body_limit: serve_config.body_limit,
            ..ApiConfig::default()
        };
        let runs_shown = runs.artifacts.describe();
        let (router, state) = app::build(store, &config, runs).await?;
        if serve_config.sample_product {
            let outcome = workflow_server::sample::seed_sample_product(
                state.store.as_ref(),
                &state.products,
                &state.runs,
            )
            .await?;
            tracing::info!(?outcome, "sample product");
        }
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let scheme = if options.tls.is_some() {
            "https"
        } else {
            "http"
        };
        tracing::info!(addr = %listener.local_addr()?, scheme, artifacts = %runs_shown, timeouts = ?options.timeouts,
            "workflow-server listening");
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        app::serve_with(listener, router, options, shutdown).await?;
        anyhow::Ok(())
    })
}

/// `workflow-server worker`: runs jobs until SIGTERM/SIGINT, then drains.
fn worker(url: &str, runs: RunsConfig, grace: std::time::Duration) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    init_tracing();
    runtime()?.block_on(async {
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let store = app::connect_store(url).await?;
        let (workers, owner) = (runs.workers, runs.queue.owner.clone());
        let service = app::start_worker(store, runs).await?;
        tracing::info!(workers, owner, "workflow-server worker claiming jobs");
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!(
            grace_s = grace.as_secs_f64(),
            "stopping: no new claims, draining running jobs"
        );
        service.drain(grace).await;
        tracing::info!("worker stopped");
        anyhow::Ok(())
    })
}

fn validate_file(file: &PathBuf, registry: &Registry) -> anyhow::Result<ExitCode> {
    let text = if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read standard input")?;
        s
    } else {
        match std::fs::read_to_string(file) {
            Ok(s) => s,
            Err(err) => {
                let message = format!("cannot read {}: {err}", file.display());
                return unreadable(
                    "unreadable_file",
                    &message,
                    serde_json::json!({"path": file}),
                );
            }
        }
    };
    let graph = match Graph::from_json(&text) {
        Ok(g) => g,
        Err(err) => {
            let message = format!("{}: {err}", file.display());
            let details = serde_json::json!({"line": err.line(), "column": err.column()});
            return unreadable("malformed_json", &message, details);
        }
    };
    let report = validate(&graph, registry);
    print_json(&report)?;
    Ok(if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Exit 2 with our structured error body on stdout and a plain message on stderr.
fn unreadable(code: &str, message: &str, details: serde_json::Value) -> anyhow::Result<ExitCode> {
    print_json(
        &serde_json::json!({"error": {"code": code, "message": message, "details": details}}),
    )?;
    eprintln!("error: {message}");
    Ok(ExitCode::from(2))
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
