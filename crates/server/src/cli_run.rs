//! `workflow-server run`: one graph run without a server, through the engine's local runs
//! ([`workflow_engine::local`]). This module is the command-line shell: arguments, Ctrl-C,
//! exit codes and what goes to stdout and stderr.
//!
//! Exit codes: 0 the run succeeded; 1 it failed (`run.json` names the failing node);
//! 2 bad usage or unreadable input (a JSON error on stderr, nothing ran); 130 cancelled.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use workflow_contracts::Registry;
use workflow_engine::local::{self, LocalError, LocalRunArgs};
use workflow_engine::runtime::RunStatus;

/// Exit code of a run that failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code of bad usage or unreadable input.
pub const EXIT_USAGE: u8 = 2;
/// Exit code of a run cancelled with Ctrl-C.
pub const EXIT_CANCELLED: u8 = 130;

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Graph file (JSON, as `starter` prints it); `-` reads standard input.
    #[arg(long, value_name = "FILE.json")]
    pub graph: PathBuf,
    /// The CAD file: the uploaded file of a cad_file graph, the product's file of an
    /// order_line graph.
    #[arg(long, value_name = "FILE.(glb|gltf|step|stp)")]
    pub cad: PathBuf,
    /// Material map (the JSON of `PUT /api/products/{id}/material-map`) for material.resolve.
    #[arg(long, value_name = "MAP.json")]
    pub materials: Option<PathBuf>,
    /// Parameter override, repeatable: NODE is a node id (or a node type: all of its nodes).
    #[arg(long = "set", value_name = "NODE.PARAM=VALUE")]
    pub sets: Vec<String>,
    /// Output directory (created if missing): the artifacts and run.json.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Runs the verb and says how the process should exit.
pub fn execute(args: RunArgs) -> ExitCode {
    let registry = Arc::new(Registry::builtin());
    let args = LocalRunArgs {
        graph: args.graph,
        cad: args.cad,
        materials: args.materials,
        sets: args.sets,
        out: args.out,
    };
    let input = match local::prepare(&args, &registry) {
        Ok(input) => input,
        Err(err) => return refuse(&err),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let outcome = runtime.block_on(async {
        let cancel = CancellationToken::new();
        let on_ctrl_c = cancel.clone();
        tokio::spawn(async move {
            // The first Ctrl-C cancels (running nodes stop at their next check, run.json says
            // `cancelled`); a second one exits at once.
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("cancelling (Ctrl-C again to exit at once)");
                on_ctrl_c.cancel();
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(i32::from(EXIT_CANCELLED));
            }
        });
        local::run(input, registry, cancel).await
    });
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(err) => return refuse(&err),
    };
    let status = outcome.report.status;
    let artifacts: Vec<Value> = outcome.record["artifacts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["path"].as_str())
        .map(|p| json!(args.out.join(p)))
        .collect();
    let summary = json!({
        "status": status,
        "record": outcome.record_file,
        "artifacts": artifacts,
        "error": outcome.record["error"],
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).unwrap_or_default()
    );
    match status {
        RunStatus::Succeeded => ExitCode::SUCCESS,
        RunStatus::Cancelled => ExitCode::from(EXIT_CANCELLED),
        _ => {
            let error = &outcome.record["error"];
            eprintln!(
                "error: the run failed at node '{}' ({}): {}; see {}",
                error["node"].as_str().unwrap_or("?"),
                error["code"].as_str().unwrap_or("?"),
                error["message"].as_str().unwrap_or(""),
                outcome.record_file.display()
            );
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// The run never started (or could not be recorded): the error as JSON on stderr.
fn refuse(err: &LocalError) -> ExitCode {
    eprintln!(
        "{}",
        serde_json::to_string_pretty(&err.to_json()).unwrap_or_else(|_| err.to_string())
    );
    match err {
        LocalError::Cancelled => ExitCode::from(EXIT_CANCELLED),
        // The graph ran but its record could not be written.
        LocalError::Record { .. } => ExitCode::from(EXIT_FAILED),
        _ => ExitCode::from(EXIT_USAGE),
    }
}
