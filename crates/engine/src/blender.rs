//! The Blender bridge: headless Blender (Debian `blender` 3.4) run out of process through
//! [`crate::tool`], driven by `python/blender_bridge.py` (embedded here and written into the
//! run's private folder: an installed binary has no repository). It turns the scene GLB that
//! `export.scene` writes into a `.blend` (parts named by part key, `part_key` as a custom
//! property, the resolved materials as Principled BSDF, instances as linked duplicates sharing
//! mesh data), renders it with Cycles, or reads a `.blend` back for the round-trip tests.

use std::ffi::OsString;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::manifest::Manifest;
use crate::materials::{MaterialResolution, PbrMaterial};
use crate::tool::{tail, ToolError, ToolRun};

/// The bridge script, kept in the repository beside this crate.
pub const BRIDGE_SCRIPT: &str = include_str!("../python/blender_bridge.py");

/// The Blender executable; `WORKFLOW_BLENDER` overrides it.
pub fn blender_program() -> String {
    std::env::var("WORKFLOW_BLENDER").unwrap_or_else(|_| "blender".to_owned())
}

/// Whether Blender can be started (what preflight asks).
pub fn blender_available() -> bool {
    crate::tool::program_available(&blender_program())
}

/// The fix named in every `blender_unavailable` message.
pub const INSTALL_HINT: &str = "install the Debian package `blender` (apt-get install --no-install-recommends blender python3-numpy) or set WORKFLOW_BLENDER to its path";

/// Caps of one Blender run, and the run's cancel (Blender is stopped when it fires).
#[derive(Debug, Clone)]
pub struct BlenderLimits {
    pub time_limit: Duration,
    pub memory_limit_mb: u64,
    pub cancel: Option<CancellationToken>,
}

impl Default for BlenderLimits {
    fn default() -> Self {
        // Blender itself maps ~1 GB of address space before it reads a file.
        BlenderLimits {
            time_limit: Duration::from_secs(300),
            memory_limit_mb: 8192,
            cancel: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BlenderError {
    #[error("Blender (`{program}`) is not available: {detail}; {INSTALL_HINT}")]
    Unavailable { program: String, detail: String },
    #[error("Blender exceeded the {time_limit_s} s time limit while {task} and was stopped")]
    Timeout { task: String, time_limit_s: u64 },
    #[error("Blender failed while {task}: {reason}; its output: {stderr_tail}")]
    Failed {
        task: String,
        reason: String,
        stderr_tail: String,
    },
    #[error("Blender was stopped while {task}: the run was cancelled")]
    Cancelled { task: String },
    #[error("Blender bridge I/O failed: {0}")]
    Io(String),
}

impl BlenderError {
    pub fn code(&self) -> &'static str {
        match self {
            BlenderError::Unavailable { .. } => "blender_unavailable",
            BlenderError::Timeout { .. } => "blender_timeout",
            BlenderError::Failed { .. } => "blender_failed",
            // The runtime's own code: the node is recorded cancelled, not failed.
            BlenderError::Cancelled { .. } => "cancelled",
            BlenderError::Io(_) => "blender_io",
        }
    }
}

/// One part as the bridge gets it: its key and the resolved library material (`None`: the
/// file's own materials, as the GLB carries them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BridgePart {
    pub part_key: String,
    pub material: Option<PbrMaterial>,
}

/// The parts of `manifest` with the materials `resolution` gives them.
pub fn bridge_parts(
    manifest: &Manifest,
    resolution: Option<&MaterialResolution>,
) -> Vec<BridgePart> {
    manifest
        .parts
        .iter()
        .map(|p| BridgePart {
            part_key: p.part_key.clone(),
            material: resolution
                .and_then(|r| r.get(&p.part_key))
                .and_then(|m| m.material.clone()),
        })
        .collect()
}

/// What a bridge run produced: the file and Blender's stderr (for the node's log).
#[derive(Debug, Clone)]
pub struct BridgeOutput {
    pub bytes: Vec<u8>,
    pub stderr: String,
}

/// Runs the bridge in `mode` on a fresh private folder holding `inputs`; answers the file it
/// wrote as `output`.
fn run_bridge(
    mode: &str,
    task: &str,
    job: Value,
    inputs: &[(&str, &[u8])],
    output: &str,
    limits: &BlenderLimits,
    program: &str,
) -> Result<BridgeOutput, BlenderError> {
    let (mut files, stderr) =
        run_bridge_files(mode, task, job, inputs, output, &[], limits, program)?;
    Ok(BridgeOutput {
        bytes: files.remove(0),
        stderr,
    })
}

/// [`run_bridge`], also reading the files `more` it must have written beside `output`.
#[allow(clippy::too_many_arguments)]
fn run_bridge_files(
    mode: &str,
    task: &str,
    mut job: Value,
    inputs: &[(&str, &[u8])],
    output: &str,
    more: &[String],
    limits: &BlenderLimits,
    program: &str,
) -> Result<(Vec<Vec<u8>>, String), BlenderError> {
    let io = |e: std::io::Error| BlenderError::Io(e.kind().to_string());
    let dir = tempfile::tempdir().map_err(io)?;
    for (name, bytes) in inputs {
        std::fs::write(dir.path().join(name), bytes).map_err(io)?;
    }
    std::fs::write(dir.path().join("blender_bridge.py"), BRIDGE_SCRIPT).map_err(io)?;
    job["output"] = json!(output);
    let job_bytes = serde_json::to_vec(&job).map_err(|e| BlenderError::Io(e.to_string()))?;
    std::fs::write(dir.path().join("job.json"), job_bytes).map_err(io)?;
    let args: Vec<OsString> = [
        "-b",
        "--factory-startup",
        "--python-exit-code",
        "1",
        "--python",
        "blender_bridge.py",
        "--",
        mode,
        "job.json",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    let run = ToolRun {
        program: program.to_owned(),
        args,
        dir: dir.path().to_path_buf(),
        time_limit: limits.time_limit,
        memory_limit_mb: limits.memory_limit_mb,
        cancel: limits.cancel.clone(),
    };
    let out = run.run().map_err(|e| match e {
        ToolError::Unavailable { program, detail } => BlenderError::Unavailable { program, detail },
        ToolError::Timeout { time_limit_s, .. } => BlenderError::Timeout {
            task: task.to_owned(),
            time_limit_s,
        },
        ToolError::Cancelled { .. } => BlenderError::Cancelled {
            task: task.to_owned(),
        },
        ToolError::Io { detail, .. } => BlenderError::Io(detail),
    })?;
    let written = dir.path().join(output);
    let bytes = std::fs::read(&written).unwrap_or_default();
    if !out.status.success() || bytes.is_empty() {
        let reason = if out.status.success() {
            format!("it wrote no {output}")
        } else {
            format!(
                "it exited with {} (memory limit {} MB)",
                out.status, limits.memory_limit_mb
            )
        };
        return Err(BlenderError::Failed {
            task: task.to_owned(),
            reason,
            stderr_tail: tail(&out.log, 1200),
        });
    }
    let mut files = vec![bytes];
    for name in more {
        let file = std::fs::read(dir.path().join(name)).map_err(|_| BlenderError::Failed {
            task: task.to_owned(),
            reason: format!("it wrote no {name}"),
            stderr_tail: tail(&out.log, 800),
        })?;
        files.push(file);
    }
    Ok((files, out.stderr))
}

/// `export.scene` `format = blend`: the scene GLB (materials resolved, camera and lights as
/// asked) as a `.blend`.
pub fn export_blend(
    glb: &[u8],
    parts: &[BridgePart],
    limits: &BlenderLimits,
) -> Result<BridgeOutput, BlenderError> {
    export_blend_with(glb, parts, limits, &blender_program())
}

/// [`export_blend`] with an explicit Blender executable (tests, custom installs).
pub fn export_blend_with(
    glb: &[u8],
    parts: &[BridgePart],
    limits: &BlenderLimits,
    program: &str,
) -> Result<BridgeOutput, BlenderError> {
    let job = json!({"glb": "scene.glb", "parts": parts});
    let out = run_bridge(
        "export",
        "writing the .blend",
        job,
        &[("scene.glb", glb)],
        "scene.blend",
        limits,
        program,
    )?;
    if !out.bytes.starts_with(b"BLENDER") {
        return Err(BlenderError::Failed {
            task: "writing the .blend".into(),
            reason: "the file it wrote is not a .blend".into(),
            stderr_tail: tail(&out.stderr, 400),
        });
    }
    Ok(out)
}

/// A Cycles render: size, samples and the ambient term of the built-in renderer's rig (the
/// camera and the directional lights come with the GLB).
#[derive(Debug, Clone, PartialEq)]
pub struct CyclesParams {
    pub width: u32,
    pub height: u32,
    pub samples: u32,
    pub ambient: [f32; 3],
    pub ambient_strength: f32,
}

/// Largest Cycles sample count accepted (a path-traced still is bounded work).
pub const MAX_CYCLES_SAMPLES: u32 = 1024;

fn cycles_job(parts: &[BridgePart], params: &CyclesParams) -> Value {
    json!({
        "glb": "scene.glb",
        "parts": parts,
        "width": params.width.max(1),
        "height": params.height.max(1),
        "samples": params.samples.clamp(1, MAX_CYCLES_SAMPLES),
        "ambient": params.ambient,
        "ambient_strength": params.ambient_strength,
    })
}

/// Renders the scene GLB (with its camera and lights) with Cycles on the CPU, denoising off
/// (Debian's Blender has no OpenImageDenoise), background transparent. Answers a PNG.
pub fn render_cycles(
    glb: &[u8],
    parts: &[BridgePart],
    params: &CyclesParams,
    limits: &BlenderLimits,
) -> Result<BridgeOutput, BlenderError> {
    run_bridge(
        "render",
        "rendering with Cycles",
        cycles_job(parts, params),
        &[("scene.glb", glb)],
        "render.png",
        limits,
        &blender_program(),
    )
}

/// A Cycles turntable: one PNG per angle (degrees about the vertical axis through `center`,
/// in the scene's Y-up frame), in order, and Blender's stderr.
pub fn render_cycles_turntable(
    glb: &[u8],
    parts: &[BridgePart],
    params: &CyclesParams,
    center: [f32; 3],
    angles: &[f32],
    limits: &BlenderLimits,
) -> Result<(Vec<Vec<u8>>, String), BlenderError> {
    let mut job = cycles_job(parts, params);
    job["center"] = json!(center);
    job["angles"] = json!(angles);
    let frames: Vec<String> = (0..angles.len())
        .map(|i| format!("frame_{i:04}.png"))
        .collect();
    let (mut files, stderr) = run_bridge_files(
        "turntable",
        "rendering a Cycles turntable",
        job,
        &[("scene.glb", glb)],
        "turntable.json",
        &frames,
        limits,
        &blender_program(),
    )?;
    files.remove(0);
    Ok((files, stderr))
}

/// One object of a `.blend` read back.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BlendObject {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub part_key: Option<String>,
    #[serde(default)]
    pub mesh: Option<String>,
    #[serde(default)]
    pub mesh_users: Option<u32>,
    #[serde(default)]
    pub materials: Vec<Option<String>>,
    #[serde(default)]
    pub material_values: Vec<Option<BlendMaterialValues>>,
    #[serde(default)]
    pub triangles: usize,
    /// World-space bounds (Blender's Z-up frame).
    #[serde(default)]
    pub bounds: Option<crate::scene::Aabb>,
}

/// A Principled BSDF's inputs as read back.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BlendMaterialValues {
    pub library_material: Option<String>,
    pub base_color: [f32; 4],
    pub metallic: f32,
    pub roughness: f32,
}

/// A `.blend` as headless Blender reads it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BlendInspection {
    pub objects: Vec<BlendObject>,
    pub meshes: usize,
    pub camera: Option<String>,
    pub lights: usize,
}

/// Reads a `.blend` back with headless Blender: objects, part keys, mesh data and its users,
/// materials per object.
pub fn inspect_blend(
    blend: &[u8],
    limits: &BlenderLimits,
) -> Result<BlendInspection, BlenderError> {
    let out = run_bridge(
        "inspect",
        "reading the .blend",
        json!({"blend": "scene.blend"}),
        &[("scene.blend", blend)],
        "inspect.json",
        limits,
        &blender_program(),
    )?;
    serde_json::from_slice(&out.bytes).map_err(|e| BlenderError::Failed {
        task: "reading the .blend".into(),
        reason: format!("its report does not parse: {e}"),
        stderr_tail: String::new(),
    })
}

/// Blender's stderr as log lines worth keeping (its progress chatter dropped).
pub fn log_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .filter(|l| !l.contains("FutureWarning") && !l.starts_with("numpy.bool"))
        .take(200)
        .map(|l| format!("blender: {l}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_blender_is_blender_unavailable_with_the_fix() {
        let err = export_blend_with(
            b"glTF",
            &[],
            &BlenderLimits::default(),
            "/nonexistent/blender",
        )
        .expect_err("missing");
        assert_eq!(err.code(), "blender_unavailable", "{err}");
        assert!(err.to_string().contains("apt-get install"), "{err}");
    }

    #[test]
    fn the_bridge_script_is_embedded() {
        assert!(BRIDGE_SCRIPT.contains("numpy.bool = bool"));
        assert!(BRIDGE_SCRIPT.contains("use_denoising = False"));
    }
}
