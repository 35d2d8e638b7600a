//! `workflow-server parity`: the golden-case parity suite without a server, through the
//! engine's [`workflow_engine::golden`]. This module is the command-line shell: arguments,
//! progress on stderr, the summary on stdout, exit codes.
//!
//! Exit codes: 0 every case passed; 1 a case failed (or could not run); 2 bad usage or an
//! unreadable suite (nothing ran; a JSON error on stderr); 3 no failure, but a case warns
//! and needs review.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::json;
use workflow_contracts::Registry;
use workflow_engine::golden::{self, CaseResult, GoldenError, EXIT_USAGE};

#[derive(Debug, Clone, clap::Args)]
pub struct ParityArgs {
    /// Directory of golden cases (one JSON file per case).
    #[arg(long, value_name = "DIR", default_value = "tests/golden")]
    pub cases: PathBuf,
    /// Where parity.json, parity.html and each case's images go (created if missing).
    #[arg(long, value_name = "DIR", default_value = "target/parity")]
    pub report: PathBuf,
    /// Run only this case (repeatable).
    #[arg(long = "case", value_name = "NAME")]
    pub only: Vec<String>,
    /// The fixtures directory product paths are relative to (default: WORKFLOW_FIXTURES,
    /// else shared/fixtures beside an ancestor of the cases directory, else
    /// /work/shared/fixtures).
    #[arg(long, value_name = "DIR")]
    pub fixtures: Option<PathBuf>,
}

fn refuse(err: &GoldenError) -> ExitCode {
    eprintln!(
        "{}",
        serde_json::to_string_pretty(&err.to_json()).unwrap_or_else(|_| err.to_string())
    );
    ExitCode::from(EXIT_USAGE)
}

fn progress(case: &CaseResult) {
    let attribution = case
        .attributed_node()
        .map(|n| format!(", first differing node '{n}'"))
        .unwrap_or_default();
    eprintln!(
        "{:<5} {} ({} ms{}{})",
        case.status.as_str().to_uppercase(),
        case.name,
        case.duration_ms,
        case.verdict
            .map(|v| format!(", verdict {v}"))
            .unwrap_or_default(),
        attribution
    );
    for problem in &case.problems {
        eprintln!("      {problem}");
    }
}

/// Runs the verb and says how the process should exit.
pub fn execute(args: ParityArgs) -> ExitCode {
    let registry = Arc::new(Registry::builtin());
    let fixtures = args
        .fixtures
        .clone()
        .unwrap_or_else(|| golden::find_fixtures(&args.cases));
    let cases = match golden::load_cases(&args.cases, &fixtures, &registry, &args.only) {
        Ok(cases) => cases,
        Err(err) => return refuse(&err),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(golden::EXIT_FAIL);
        }
    };
    eprintln!(
        "parity: {} case(s) from {} (fixtures {})",
        cases.len(),
        args.cases.display(),
        fixtures.display()
    );
    let report = runtime.block_on(golden::run_suite_with(
        &cases,
        registry,
        &args.cases,
        &fixtures,
        progress,
    ));
    let written = match golden::write_report(&args.report, &report) {
        Ok(w) => w,
        Err(err) => {
            eprintln!(
                "{}",
                serde_json::to_string_pretty(&err.to_json()).unwrap_or_else(|_| err.to_string())
            );
            return ExitCode::from(golden::EXIT_FAIL);
        }
    };
    let summary = json!({
        "status": report.status,
        "exit_code": report.exit_code,
        "counts": report.counts,
        "duration_ms": report.duration_ms,
        "report": written.json,
        "html": written.html,
        "cases": report.cases.iter().map(|c| json!({
            "name": c.name,
            "status": c.status,
            "verdict": c.verdict,
            "attributed_node": c.attributed_node(),
            "duration_ms": c.duration_ms,
        })).collect::<Vec<_>>(),
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).unwrap_or_default()
    );
    ExitCode::from(report.exit_code)
}
