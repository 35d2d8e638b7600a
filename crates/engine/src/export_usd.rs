//! `export.scene` with format `usd`: OpenUSD written by OpenUSD itself. Debian's Blender 3.4.1
//! has no USD exporter and there is no maintained native writer, so the engine hands the GLB
//! it already wrote (resolved materials, part keys, one mesh per shared geometry) to
//! `python/usd_export.py` running under a Python with `usd-core` (module `pxr`), out of
//! process through the [tool runner](crate::tool). `python/usd_read.py` reads a stage back
//! (round-trip tests, parity comparison).
//!
//! The Python is `WORKFLOW_USD_PYTHON` (scripts/usd-python.sh creates a venv and sets it),
//! else `python3`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use serde::{Deserialize, Serialize};

use crate::compare::scene::{SceneStructure, SlotMaterial};
use crate::scene::Aabb;
use crate::tool::{ToolError, ToolRun};

/// The writer script (kept in the repository, written into the tool's private folder).
pub const WRITER_SCRIPT: &str = include_str!("../python/usd_export.py");
/// The reader script.
pub const READER_SCRIPT: &str = include_str!("../python/usd_read.py");

/// What to do when pxr is missing, named in every `usd_unavailable` message.
pub const USD_FIX: &str = "install OpenUSD's Python package: `source scripts/deps.sh; source scripts/usd-python.sh; ensure_usd_python` creates a venv with usd-core and sets WORKFLOW_USD_PYTHON (or point WORKFLOW_USD_PYTHON at any Python where `import pxr` works)";

/// Media type of a stage, text or binary (what `export.scene` stores it as).
pub const USD_MEDIA_TYPE: &str = "model/vnd.usd";

/// Largest reader output accepted (the JSON of a scene's parts).
const MAX_READ_JSON: u64 = 256 * 1024 * 1024;

/// The Python that runs the scripts.
pub fn usd_python() -> String {
    std::env::var("WORKFLOW_USD_PYTHON")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "python3".to_owned())
}

/// Caps of one writer or reader run, and the run's cancel (the writer is stopped when it
/// fires).
#[derive(Debug, Clone)]
pub struct UsdLimits {
    pub time_limit: Duration,
    /// Address space in MB; OpenUSD's libraries alone map several hundred MB.
    pub memory_limit_mb: u64,
    pub cancel: Option<CancellationToken>,
}

impl Default for UsdLimits {
    fn default() -> Self {
        UsdLimits {
            time_limit: Duration::from_secs(300),
            memory_limit_mb: 8192,
            cancel: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UsdError {
    /// `python` is the interpreter's file name only: messages reach clients, and the path of
    /// the server's venv is none of theirs.
    #[error("OpenUSD (Python module pxr) is not available to the USD Python `{python}` (WORKFLOW_USD_PYTHON): {detail}. Fix: {USD_FIX}")]
    Unavailable { python: String, detail: String },
    #[error("the USD writer exceeded its {0} s time limit and was stopped")]
    Timeout(u64),
    #[error("the USD {what} failed: {reason}; its log ends: {log_tail}")]
    Failed {
        what: &'static str,
        reason: String,
        log_tail: String,
    },
    #[error("the USD writer was stopped: the run was cancelled")]
    Cancelled,
    #[error("the USD export's working folder failed: {0}")]
    Io(String),
}

impl UsdError {
    pub fn code(&self) -> &'static str {
        match self {
            UsdError::Unavailable { .. } => "usd_unavailable",
            UsdError::Timeout(_) => "usd_timeout",
            UsdError::Failed { .. } => "usd_export_failed",
            UsdError::Io(_) => "export_failed",
            // The runtime's own code: the node is recorded cancelled, not failed.
            UsdError::Cancelled => "cancelled",
        }
    }
}

/// An `Unavailable` error naming `python` by its file name, with its path taken out of the
/// detail too.
fn unavailable(python: &str, detail: &str) -> UsdError {
    let name = crate::tool::program_name(python);
    UsdError::Unavailable {
        detail: detail.replace(python, &name),
        python: name,
    }
}

fn tool_error(python: &str, e: ToolError) -> UsdError {
    match e {
        ToolError::Unavailable { detail, .. } => unavailable(python, &detail),
        ToolError::Timeout { time_limit_s, .. } => UsdError::Timeout(time_limit_s),
        ToolError::Cancelled { .. } => UsdError::Cancelled,
        ToolError::Io { detail, .. } => UsdError::Io(detail),
    }
}

fn io(e: std::io::Error) -> UsdError {
    UsdError::Io(e.kind().to_string())
}

/// Runs `script` (written as `script.py` into a private folder holding `files`) with `args`.
fn run_script(
    python: &str,
    script: &str,
    files: &[(&str, &[u8])],
    args: &[&str],
    limits: UsdLimits,
) -> Result<(tempfile::TempDir, crate::tool::ToolOutput), UsdError> {
    let dir = tempfile::tempdir().map_err(io)?;
    std::fs::write(dir.path().join("script.py"), script).map_err(io)?;
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).map_err(io)?;
    }
    let mut all: Vec<OsString> = vec!["script.py".into()];
    all.extend(args.iter().map(OsString::from));
    let out = ToolRun {
        program: python.to_owned(),
        args: all,
        dir: dir.path().to_path_buf(),
        time_limit: limits.time_limit,
        memory_limit_mb: limits.memory_limit_mb,
        cancel: limits.cancel.clone(),
    }
    .run()
    .map_err(|e| tool_error(python, e))?;
    // A Python without pxr: the import on the scripts' first lines fails.
    if !out.status.success() && out.stderr.contains("No module named 'pxr'") {
        return Err(unavailable(python, "No module named 'pxr'"));
    }
    Ok((dir, out))
}

/// Preflight: whether `python` can import pxr (a quick run, well under a second with a warm
/// disk cache).
pub fn check_usd_python(python: &str) -> Result<(), UsdError> {
    let limits = UsdLimits {
        time_limit: Duration::from_secs(60),
        ..UsdLimits::default()
    };
    let (_dir, out) = run_script(python, "from pxr import Usd\n", &[], &[], limits)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(unavailable(python, &out.log_tail(300)))
    }
}

/// Whether `bytes` are a text stage (`.usda`) rather than a binary crate file.
pub fn is_usda(bytes: &[u8]) -> bool {
    bytes.starts_with(b"#usda")
}

/// A written stage and what the writer said on stderr (for the node's log).
#[derive(Debug, Clone)]
pub struct WrittenUsd {
    pub bytes: Vec<u8>,
    pub stderr: String,
    /// The writer's summary (parts, prototypes, cameras, lights).
    pub summary: serde_json::Value,
}

/// Writes the GLB `glb` (from [`crate::export_glb`]) as a USD stage, `.usda` when `text`.
pub fn write_usd(
    glb: &[u8],
    text: bool,
    python: &str,
    limits: UsdLimits,
) -> Result<WrittenUsd, UsdError> {
    let out_name = if text { "out.usda" } else { "out.usdc" };
    let memory_limit_mb = limits.memory_limit_mb;
    let (dir, out) = run_script(
        python,
        WRITER_SCRIPT,
        &[("in.glb", glb)],
        &["in.glb", out_name],
        limits,
    )?;
    let failed = |reason: String| UsdError::Failed {
        what: "writer",
        reason,
        log_tail: out.log_tail(800),
    };
    if !out.status.success() {
        return Err(failed(format!(
            "it exited with {} (memory limit {memory_limit_mb} MB)",
            out.status
        )));
    }
    let bytes = std::fs::read(dir.path().join(out_name)).map_err(io)?;
    if bytes.is_empty() {
        return Err(failed("it wrote an empty file".into()));
    }
    let summary = out
        .log
        .lines()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l.trim()).ok())
        .unwrap_or(serde_json::Value::Null);
    Ok(WrittenUsd {
        bytes,
        stderr: out.stderr.trim().to_owned(),
        summary,
    })
}

/// One part as read back from a stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsdPart {
    /// The prim's path.
    pub path: String,
    /// The prim's name (the sanitised part key).
    pub name: String,
    pub instanceable: bool,
    /// The prototype the instance shares (`None` when not an instance).
    pub prototype: Option<String>,
    /// Its references (`@asset@</path>`; the asset part empty for internal ones).
    pub references: Vec<String>,
    /// The `workflow:part_key` attribute.
    pub attribute: Option<String>,
    pub triangles: usize,
    pub bounds: Option<Aabb>,
    /// One per mesh under the part, in order; `None` for a mesh with no bound material.
    pub materials: Vec<Option<SlotMaterial>>,
}

/// A stage as the reader sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsdStructure {
    pub up_axis: String,
    pub meters_per_unit: f64,
    pub default_prim: Option<String>,
    /// Prototypes OpenUSD made for the stage's instances.
    pub prototypes: usize,
    pub parts: BTreeMap<String, UsdPart>,
    pub cameras: usize,
    pub lights: usize,
}

impl UsdStructure {
    /// Number of parts sharing each prototype (the instance counts).
    pub fn instance_counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for p in self.parts.values() {
            if let Some(proto) = &p.prototype {
                *counts.entry(proto.clone()).or_insert(0) += 1;
            }
        }
        counts
    }

    /// The same reading in the scene comparison's terms (part keys, bounds, triangles,
    /// materials, cameras, lights), so USD exports are compared like GLB ones.
    pub fn to_scene_structure(&self) -> SceneStructure {
        let mut bounds = Aabb::EMPTY;
        let mut parts = BTreeMap::new();
        let mut triangles = 0;
        for (key, p) in &self.parts {
            let b = p.bounds.unwrap_or(Aabb::EMPTY);
            bounds.merge(&b);
            triangles += p.triangles;
            parts.insert(
                key.clone(),
                crate::compare::scene::PartShape {
                    bounds: b,
                    triangles: p.triangles,
                    materials: p.materials.clone(),
                },
            );
        }
        SceneStructure {
            parts,
            triangles,
            bounds: (!bounds.is_empty()).then_some(bounds),
            cameras: self.cameras,
            lights: self.lights,
        }
    }
}

/// Reads a stage (text or binary, told by its first bytes) with `usd_read.py`.
pub fn read_usd(bytes: &[u8], python: &str, limits: UsdLimits) -> Result<UsdStructure, UsdError> {
    let file = if is_usda(bytes) { "in.usda" } else { "in.usdc" };
    let (dir, out) = run_script(
        python,
        READER_SCRIPT,
        &[(file, bytes)],
        &[file, "out.json"],
        limits,
    )?;
    let failed = |reason: String| UsdError::Failed {
        what: "reader",
        reason,
        log_tail: out.log_tail(800),
    };
    if !out.status.success() {
        return Err(failed(format!("it exited with {}", out.status)));
    }
    let path = dir.path().join("out.json");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    if size > MAX_READ_JSON {
        return Err(failed(format!("its output is {size} bytes")));
    }
    let json = std::fs::read(&path).map_err(io)?;
    serde_json::from_slice(&json)
        .map_err(|e| failed(format!("its output is not the JSON expected: {e}")))
}
