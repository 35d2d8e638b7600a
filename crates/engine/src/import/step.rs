//! STEP import: OpenCASCADE tessellates the file into a GLB out of process, under a time
//! limit and an address-space cap, and the GLB is read by the glTF importer. Out of process
//! because tessellating real CAD can blow up in time and memory (see STACK-NOTES); a runaway
//! converter must not take the worker down.
//!
//! The converter is our `workflow-step-converter` (crates/step-converter), which makes
//! OpenCASCADE's calls directly; where it is not installed, OpenCASCADE's DRAW (`occt-draw`)
//! runs the same steps as a script. Both write the same GLB byte for byte (the converter's
//! tests hold them to it), so part keys do not depend on which one ran.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{ImportError, ImportParams};
use crate::scene::Scene;
use crate::tool::{program_available, tail, ToolError, ToolRun};

/// The converter's executable name.
pub const OWN_CONVERTER: &str = "workflow-step-converter";

/// The program that turns a STEP file into a GLB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepConverter {
    /// `workflow-step-converter`: OpenCASCADE without DRAW's interpreter and plugin loading
    /// (100–140 ms of every conversion).
    Own(PathBuf),
    /// OpenCASCADE's DRAW running [`conversion_script`]: a name on `PATH` or a path.
    Draw(String),
}

impl StepConverter {
    /// `WORKFLOW_STEP_CONVERTER` (a path, made absolute: the tool runs in its own folder);
    /// else `workflow-step-converter` beside the running executable (a package installs it
    /// beside `workflow-server`; a build writes it beside the binaries, and test binaries run
    /// from `deps/` below them); else DRAW: `WORKFLOW_OCCT_DRAW`, or `occt-draw` on `PATH`.
    pub fn find() -> StepConverter {
        if let Some(path) = std::env::var_os("WORKFLOW_STEP_CONVERTER") {
            let path = PathBuf::from(path);
            return StepConverter::Own(std::path::absolute(&path).unwrap_or(path));
        }
        let beside = std::env::current_exe().ok().and_then(|exe| {
            let dir = exe.parent()?;
            let mut candidates = vec![dir.join(OWN_CONVERTER)];
            if dir.file_name().is_some_and(|name| name == "deps") {
                candidates.extend(dir.parent().map(|up| up.join(OWN_CONVERTER)));
            }
            candidates
                .into_iter()
                .find(|candidate| program_available(&candidate.to_string_lossy()))
        });
        match beside {
            Some(path) => StepConverter::Own(path),
            None => StepConverter::Draw(
                std::env::var("WORKFLOW_OCCT_DRAW").unwrap_or_else(|_| "occt-draw".to_owned()),
            ),
        }
    }

    /// The program to start: a path, or (DRAW) a name on `PATH`.
    fn program(&self) -> String {
        match self {
            StepConverter::Own(path) => path.to_string_lossy().into_owned(),
            StepConverter::Draw(program) => program.clone(),
        }
    }

    /// The program's file name (what messages show).
    pub fn name(&self) -> String {
        crate::tool::program_name(&self.program())
    }

    /// The run converting `input` into `output` inside the private folder `dir`.
    fn run(
        &self,
        input: &Path,
        output: &Path,
        dir: &Path,
        params: &ImportParams,
    ) -> std::io::Result<ToolRun> {
        let args: Vec<OsString> = match self {
            StepConverter::Own(_) => vec![
                input.into(),
                output.into(),
                params.linear_tolerance.to_string().into(),
                // Degrees written as the DRAW script writes them: both converters parse the
                // same text into the same angle.
                params.angular_tolerance.to_degrees().to_string().into(),
            ],
            StepConverter::Draw(_) => {
                let script = dir.join("convert.tcl");
                std::fs::write(
                    &script,
                    conversion_script(
                        input,
                        output,
                        params.linear_tolerance,
                        params.angular_tolerance,
                    ),
                )?;
                vec!["-b".into(), "-f".into(), script.into_os_string()]
            }
        };
        Ok(ToolRun {
            program: self.program(),
            args,
            dir: dir.to_path_buf(),
            time_limit: Duration::from_secs(params.timeout_s.max(1)),
            memory_limit_mb: params.memory_limit_mb,
            // Conversions are bounded by `timeout_s`; import parameters carry no cancel.
            cancel: None,
        })
    }

    /// What to install when the converter cannot be started.
    fn install_hint(&self) -> &'static str {
        match self {
            StepConverter::Own(_) => "its OpenCASCADE libraries come with the Debian package libocct-data-exchange-7.6 (the workflow-studio package depends on it); if WORKFLOW_STEP_CONVERTER is set, it must name workflow-step-converter",
            StepConverter::Draw(_) => "install workflow-step-converter beside workflow-server (the workflow-studio package does), or the Debian packages occt-draw and libocct-draw-dev",
        }
    }

    /// Why the converter wrote no GLB, from its exit status.
    fn failure_reason(&self, status: std::process::ExitStatus, memory_limit_mb: u64) -> String {
        // workflow-step-converter's documented exit codes (crates/step-converter/src/main.rs);
        // a crash, a signal or DRAW's status may be the memory limit.
        let reason = match (self, status.code()) {
            (StepConverter::Own(_), Some(3)) => "the file is not readable STEP",
            (StepConverter::Own(_), Some(4)) => {
                "the STEP file holds nothing OpenCASCADE can transfer"
            }
            (StepConverter::Own(_), Some(5)) => "the STEP file holds no shapes",
            (StepConverter::Own(_), Some(6)) => "the GLB could not be written",
            _ => {
                return format!(
                    "converter exited with {status} (memory limit {memory_limit_mb} MB)"
                )
            }
        };
        reason.to_owned()
    }
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
        &StepConverter::find(),
    )
}

/// [`import_step`] with messages naming the file `shown`.
pub(crate) fn import_step_as(
    path: &Path,
    shown: &str,
    params: &ImportParams,
) -> Result<Scene, ImportError> {
    import_step_with(path, shown, params, &StepConverter::find())
}

/// [`import_step`] with an explicit converter (tests, custom installs); messages name the file
/// `shown` and never the converter's private folder.
pub fn import_step_with(
    path: &Path,
    shown: &str,
    params: &ImportParams,
    converter: &StepConverter,
) -> Result<Scene, ImportError> {
    let converted = convert_step(path, shown, params, converter)?;
    let log = &converted.log;
    let mut scene = super::gltf::import_gltf_file_as(&converted.glb, "the converter's GLB")
        .map_err(|e| ImportError::ConverterFailed {
            path: shown.to_owned(),
            reason: format!("converter output unreadable: {e}"),
            stderr_tail: tail(log, 400),
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

/// A converter's GLB in its private folder (removed when this is dropped).
pub struct ConvertedStep {
    _dir: tempfile::TempDir,
    pub glb: PathBuf,
    /// The converter's output, its folder's path redacted.
    pub log: String,
}

/// Runs `converter` on the STEP file at `path` (messages name it `shown`): the GLB it wrote,
/// or why there is none.
pub fn convert_step(
    path: &Path,
    shown: &str,
    params: &ImportParams,
    converter: &StepConverter,
) -> Result<ConvertedStep, ImportError> {
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
    // Work on a copy with a plain name so odd characters in the user's path never reach Tcl
    // or a command line.
    let input = dir.path().join("in.step");
    std::fs::copy(path, &input).map_err(io)?;
    let output = dir.path().join("out.glb");
    let run = converter
        .run(&input, &output, dir.path(), params)
        .map_err(io)?;
    let out = match run.run() {
        Ok(out) => out,
        Err(ToolError::Unavailable { detail, .. }) => {
            return Err(ImportError::ConverterMissing {
                program: converter.name(),
                detail: format!("{detail}; {}", converter.install_hint()),
            })
        }
        Err(ToolError::Timeout { .. }) => {
            return Err(ImportError::ConverterTimeout {
                path: shown,
                timeout_s: params.timeout_s,
            })
        }
        // Not reached: the run above has no cancel token.
        Err(e @ (ToolError::Io { .. } | ToolError::Cancelled { .. })) => {
            return Err(io(std::io::Error::other(e.to_string())));
        }
    };
    let status = out.status;
    let log = out.log;
    let produced = std::fs::metadata(&output).map(|m| m.len()).unwrap_or(0);
    if !status.success() || produced == 0 {
        let reason = if !status.success() {
            converter.failure_reason(status, params.memory_limit_mb)
        } else {
            "converter wrote no geometry (unreadable STEP or no solids)".to_owned()
        };
        return Err(ImportError::ConverterFailed {
            path: shown,
            reason,
            stderr_tail: tail(&log, 800),
        });
    }
    Ok(ConvertedStep {
        _dir: dir,
        glb: output,
        log,
    })
}
