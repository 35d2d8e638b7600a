//! The suite's report: `parity.json` (everything, machine-readable), `parity.html` (one
//! self-contained page: images side by side and difference images as data URIs, metrics,
//! verdicts, attribution) and each case's images and scenes in `<case>/`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::html::render_html;
use super::runner::{inside, CaseResult, CaseStatus};
use super::GoldenError;

/// Exit code of a suite where every case passed.
pub const EXIT_PASS: u8 = 0;
/// Exit code of a suite with a failed case (or one that could not run).
pub const EXIT_FAIL: u8 = 1;
/// Exit code of bad usage or an unreadable suite (nothing ran).
pub const EXIT_USAGE: u8 = 2;
/// Exit code of a suite without failures but with a case that needs review (warn).
pub const EXIT_REVIEW: u8 = 3;

/// Counts per case status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuiteCounts {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub error: usize,
}

/// The whole run of the suite.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SuiteReport {
    /// `pass`, `warn` (needs review), `fail` or `error`: the worst case status.
    pub status: CaseStatus,
    /// The process exit code this report means (0 pass, 1 fail/error, 3 warn).
    pub exit_code: u8,
    pub counts: SuiteCounts,
    pub cases_dir: String,
    pub fixtures: String,
    /// Unix milliseconds.
    pub started_at: i64,
    pub duration_ms: u64,
    pub cases: Vec<CaseResult>,
}

impl SuiteReport {
    pub fn new(
        cases: Vec<CaseResult>,
        cases_dir: &Path,
        fixtures: &Path,
        started_at: i64,
        duration_ms: u64,
    ) -> Self {
        let mut counts = SuiteCounts::default();
        for c in &cases {
            match c.status {
                CaseStatus::Pass => counts.pass += 1,
                CaseStatus::Warn => counts.warn += 1,
                CaseStatus::Fail => counts.fail += 1,
                CaseStatus::Error => counts.error += 1,
            }
        }
        let status = cases
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(CaseStatus::Pass);
        SuiteReport {
            status,
            exit_code: exit_code(status),
            counts,
            cases_dir: cases_dir.display().to_string(),
            fixtures: fixtures.display().to_string(),
            started_at,
            duration_ms,
            cases,
        }
    }
}

/// 0 pass, 3 warn (needs review), 1 fail or error.
pub fn exit_code(status: CaseStatus) -> u8 {
    match status {
        CaseStatus::Pass => EXIT_PASS,
        CaseStatus::Warn => EXIT_REVIEW,
        CaseStatus::Fail | CaseStatus::Error => EXIT_FAIL,
    }
}

/// Where a written report is.
#[derive(Debug, Clone)]
pub struct WrittenReport {
    pub json: PathBuf,
    pub html: PathBuf,
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), GoldenError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| GoldenError::Output {
            path: parent.display().to_string(),
            message: e.to_string(),
        })?;
    }
    std::fs::write(path, bytes).map_err(|e| GoldenError::Output {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Writes `parity.json`, `parity.html` and each case's files into `dir` (created if
/// missing; files of an earlier run with other names are left alone).
pub fn write_report(dir: &Path, report: &SuiteReport) -> Result<WrittenReport, GoldenError> {
    std::fs::create_dir_all(dir).map_err(|e| GoldenError::Output {
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    for case in &report.cases {
        for file in &case.files {
            if inside(dir, &file.path) {
                write(&dir.join(&file.path), &file.bytes)?;
            }
        }
    }
    let json = dir.join("parity.json");
    let text = serde_json::to_vec_pretty(report).map_err(|e| GoldenError::Output {
        path: json.display().to_string(),
        message: e.to_string(),
    })?;
    write(&json, &text)?;
    let html = dir.join("parity.html");
    write(&html, render_html(report).as_bytes())?;
    Ok(WrittenReport { json, html })
}
