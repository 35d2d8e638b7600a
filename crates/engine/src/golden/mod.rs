//! Golden-case parity suite: representative cases (still, turntable, scene export, instanced
//! parts, failures) run through the legacy pipeline and the workflow graph on the production
//! modules, compared with [`crate::compare`] (noise baseline, attribution), and reported as
//! JSON and as one self-contained HTML page. `workflow-server parity` is its command-line
//! shell; the cases are data in `tests/golden/` ([`case`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), workflow_engine::golden::GoldenError> {
//! use std::sync::Arc;
//! use workflow_engine::golden::{find_fixtures, load_cases, run_suite, write_report};
//! let registry = Arc::new(workflow_contracts::Registry::builtin());
//! let cases_dir = std::path::Path::new("tests/golden");
//! let fixtures = find_fixtures(cases_dir);
//! let cases = load_cases(cases_dir, &fixtures, &registry, &[])?;
//! let report = run_suite(&cases, registry, cases_dir, &fixtures).await;
//! write_report(std::path::Path::new("target/parity"), &report)?;
//! std::process::exit(i32::from(report.exit_code));
//! # }
//! ```

pub mod case;
pub mod html;
pub mod report;
pub mod runner;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use workflow_contracts::Registry;

pub use case::{
    case_files, find_fixtures, load_case, load_cases, CaseOutputType, Expectation, ExpectedFailure,
    GoldenCase, GraphSource, LoadedCase,
};
pub use report::{
    exit_code, write_report, SuiteCounts, SuiteReport, WrittenReport, EXIT_FAIL, EXIT_PASS,
    EXIT_REVIEW, EXIT_USAGE,
};
pub use runner::{CaseFile, CaseResult, CaseStatus, GoldenRunner, RunFailure, RunSummary};

/// Why the suite could not be loaded or its report written (a case's own outcome is a
/// [`CaseStatus`], never an error).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GoldenError {
    #[error("cannot read {path}: {message}")]
    Unreadable { path: String, message: String },
    #[error("{file}: {message}")]
    MalformedCase {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: {message}")]
    InvalidCase { file: String, message: String },
    #[error(
        "case '{case}': the fixture {path} does not exist (set WORKFLOW_FIXTURES or --fixtures)"
    )]
    MissingFixture { case: String, path: String },
    #[error("no golden cases (*.json) in {0}")]
    NoCases(String),
    #[error("no case named {}; the cases are: {}", .names.join(", "), .available.join(", "))]
    UnknownCase {
        names: Vec<String>,
        available: Vec<String>,
    },
    #[error("cannot write the report to {path}: {message}")]
    Output { path: String, message: String },
}

impl GoldenError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            GoldenError::Unreadable { .. } => "unreadable_file",
            GoldenError::MalformedCase { .. } => "malformed_case",
            GoldenError::InvalidCase { .. } => "invalid_case",
            GoldenError::MissingFixture { .. } => "missing_fixture",
            GoldenError::NoCases(_) => "no_cases",
            GoldenError::UnknownCase { .. } => "unknown_case",
            GoldenError::Output { .. } => "output_unwritable",
        }
    }

    /// `{"error": {"code", "message", "details"}}`, the API's error body.
    pub fn to_json(&self) -> serde_json::Value {
        let details = match self {
            GoldenError::MalformedCase {
                file, line, column, ..
            } => serde_json::json!({"path": file, "line": line, "column": column}),
            GoldenError::InvalidCase { file, .. } => serde_json::json!({"path": file}),
            GoldenError::Unreadable { path, .. } | GoldenError::Output { path, .. } => {
                serde_json::json!({"path": path})
            }
            GoldenError::MissingFixture { case, path } => {
                serde_json::json!({"case": case, "path": path})
            }
            GoldenError::NoCases(dir) => serde_json::json!({"path": dir}),
            GoldenError::UnknownCase { names, available } => {
                serde_json::json!({"names": names, "available": available})
            }
        };
        serde_json::json!({"error": {"code": self.code(), "message": self.to_string(), "details": details}})
    }
}

/// Runs every case in order (one shared renderer, started at once in the background) and
/// builds the suite's report. `on_case` hears each result as it comes (progress output).
pub async fn run_suite_with(
    cases: &[LoadedCase],
    registry: Arc<Registry>,
    cases_dir: &Path,
    fixtures: &Path,
    mut on_case: impl FnMut(&CaseResult),
) -> SuiteReport {
    let started_at = crate::runtime::now_ms();
    let clock = Instant::now();
    let runner = GoldenRunner::new(registry);
    let renderer = runner.renderer();
    // The renderer's start-up (EGL context, environment precompute) overlaps the first
    // case's CAD processing; a process must not exit while it is starting.
    let warm_up = tokio::task::spawn_blocking(move || {
        let _ = renderer.get();
    });
    let mut results = Vec::with_capacity(cases.len());
    for case in cases {
        let result = runner.run_case(case).await;
        on_case(&result);
        results.push(result);
    }
    let _ = warm_up.await;
    let duration_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
    SuiteReport::new(results, cases_dir, fixtures, started_at, duration_ms)
}

/// [`run_suite_with`] without progress.
pub async fn run_suite(
    cases: &[LoadedCase],
    registry: Arc<Registry>,
    cases_dir: &Path,
    fixtures: &Path,
) -> SuiteReport {
    run_suite_with(cases, registry, cases_dir, fixtures, |_| {}).await
}
