//! STEP import: OpenCASCADE's DRAW (`occt-draw`, Debian package `occt-draw`) tessellates the
//! file into a GLB out of process, under a time limit and an address-space cap, and the GLB is
//! read by the glTF importer. Out of process because tessellating real CAD can blow up in time
//! and memory (see STACK-NOTES); a runaway converter must not take the worker down.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use super::{ImportError, ImportParams};
use crate::scene::Scene;
use crate::tool::{tail, ToolError};

/// Converter executable; `WORKFLOW_OCCT_DRAW` overrides it.
pub fn converter_program() -> String {
    std::env::var("WORKFLOW_OCCT_DRAW").unwrap_or_else(|_| "occt-draw".to_owned())
}

/// The DRAW batch script. DRAW's `incmesh -a` takes degrees, our parameter is radians.
pub fn conversion_script(
    input: &Path,
    output: &Path,
    linear_tolerance: f64,
    angular_tolerance: f64,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "pload XDE OCAF MODELING VISUALIZATION");
    let _ = writeln!(s, "ReadStep D {{{}}}", input.display());
    let _ = writeln!(s, "XGetOneShape s D");
    let _ = writeln!(
        s,
        "incmesh s {linear_tolerance} -a {}",
        angular_tolerance.to_degrees()
    );
    let _ = writeln!(s, "WriteGltf D {{{}}}", output.display());
    let _ = writeln!(s, "exit");
    s
}

/// Whether the STEP file at `path` states a length unit (a `LENGTH_UNIT` entity anywhere in
/// its data), read in chunks so a large file is never held in memory.
pub fn states_length_unit(path: &Path, shown: &str) -> Result<bool, ImportError> {
    use std::io::Read;
    const NEEDLE: &[u8] = b"LENGTH_UNIT";
    let io = |source| ImportError::Io {
        path: shown.to_owned(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut buf = vec![0u8; 64 * 1024];
    // The tail of the previous chunk, so a needle split across two reads is still found.
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            return Ok(false);
        }
        carry.extend_from_slice(&buf[..n]);
        if carry
            .windows(NEEDLE.len())
            .any(|w| w.eq_ignore_ascii_case(NEEDLE))
        {
            return Ok(true);
        }
        let keep = carry.len().min(NEEDLE.len() - 1);
        carry.drain(..carry.len() - keep);
    }
}

/// `cad.import` for `.step`/`.stp`.
pub fn import_step(path: &Path, params: &ImportParams) -> Result<Scene, ImportError> {
    import_step_with(
        path,
        &path.display().to_string(),
        params,
        &converter_program(),
    )
}

/// [`import_step`] with messages naming the file `shown`.
pub(crate) fn import_step_as(
    path: &Path,
    shown: &str,
    params: &ImportParams,
) -> Result<Scene, ImportError> {
    import_step_with(path, shown, params, &converter_program())
}

/// [`import_step`] with an explicit converter executable (tests, custom installs); messages
/// name the file `shown` and never the converter's private folder.
pub fn import_step_with(
    path: &Path,
    shown: &str,
    params: &ImportParams,
    program: &str,
) -> Result<Scene, ImportError> {
    let shown = shown.to_owned();
    if !(0.0001..=1000.0).contains(&params.linear_tolerance) {
        return Err(ImportError::InvalidParam(format!(
            "linear_tolerance {} is outside 0.0001..1000",
            params.linear_tolerance
        )));
    }
    if !(0.001..=std::f64::consts::PI).contains(&params.angular_tolerance) {
        return Err(ImportError::InvalidParam(format!(
            "angular_tolerance {} rad is outside 0.001..π",
            params.angular_tolerance
        )));
    }
    if !path.is_file() {
        return Err(ImportError::Io {
            path: shown,
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    let io = |source| ImportError::Io {
        path: shown.clone(),
        source,
    };
    let dir = tempfile::tempdir().map_err(io)?;
    // Work on a copy with a plain name so odd characters in the user's path never reach Tcl.
    let input = dir.path().join("in.step");
    std::fs::copy(path, &input).map_err(io)?;
    let output = dir.path().join("out.glb");
    let script = dir.path().join("convert.tcl");
    std::fs::write(
        &script,
        conversion_script(
            &input,
            &output,
            params.linear_tolerance,
            params.angular_tolerance,
        ),
    )
    .map_err(io)?;
    let run = crate::tool::ToolRun {
        program: program.to_owned(),
        args: vec!["-b".into(), "-f".into(), script.into_os_string()],
        dir: dir.path().to_path_buf(),
        time_limit: Duration::from_secs(params.timeout_s.max(1)),
        memory_limit_mb: params.memory_limit_mb,
    };
    let out = match run.run() {
        Ok(out) => out,
        Err(ToolError::Unavailable { detail, .. }) => {
            return Err(ImportError::ConverterMissing(detail))
        }
        Err(ToolError::Timeout { .. }) => {
            return Err(ImportError::ConverterTimeout {
                path: shown,
                timeout_s: params.timeout_s,
            })
        }
        Err(ToolError::Io { detail, .. }) => {
            return Err(io(std::io::Error::other(detail)));
        }
    };
    let status = out.status;
    let log = out.log;
    let produced = std::fs::metadata(&output).map(|m| m.len()).unwrap_or(0);
    if !status.success() || produced == 0 {
        let reason = if !status.success() {
            format!(
                "converter exited with {status} (memory limit {} MB)",
                params.memory_limit_mb
            )
        } else {
            "converter wrote no geometry (unreadable STEP or no solids)".to_owned()
        };
        return Err(ImportError::ConverterFailed {
            path: shown,
            reason,
            stderr_tail: tail(&log, 800),
        });
    }
    let mut scene =
        super::gltf::import_gltf_file_as(&output, "the converter's GLB").map_err(|e| {
            ImportError::ConverterFailed {
                path: shown.clone(),
                reason: format!("converter output unreadable: {e}"),
                stderr_tail: tail(&log, 400),
            }
        })?;
    // The converter writes one mesh per placement; placements of one product share again.
    scene.share_identical_meshes();
    for line in log
        .lines()
        .filter(|l| l.contains("Error") || l.contains("Warning"))
    {
        scene.warnings.push(format!("occt: {}", line.trim()));
    }
    Ok(scene)
}
