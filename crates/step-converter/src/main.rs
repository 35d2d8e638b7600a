//! `workflow-step-converter IN.step OUT.glb LINEAR_DEFLECTION ANGULAR_DEFLECTION_DEGREES`
//!
//! Reads a STEP file into an XCAF document, tessellates it and writes a binary glTF: the
//! engine's STEP import runs it out of process under the tool runner's time and memory
//! limits. The conversion itself is OpenCASCADE (`convert.cpp`); this side checks the
//! arguments.
//!
//! Exit status: 0 written; 2 bad arguments; 3 unreadable STEP; 4 nothing transferable;
//! 5 no shapes; 6 GLB not written; 7 OpenCASCADE raised a failure.

use std::ffi::{c_char, c_int, CString};
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;

extern "C" {
    fn workflow_step_to_glb(
        input: *const c_char,
        output: *const c_char,
        linear: f64,
        angular_degrees: f64,
    ) -> c_int;
}

const USAGE: &str =
    "usage: workflow-step-converter IN.step OUT.glb LINEAR_DEFLECTION ANGULAR_DEFLECTION_DEGREES";

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let [input, output, linear, angular] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let path = |arg: &std::ffi::OsStr, what: &str| {
        CString::new(arg.as_bytes()).map_err(|_| format!("{what} path contains a NUL byte"))
    };
    let number = |arg: &std::ffi::OsStr, what: &str, range: std::ops::RangeInclusive<f64>| {
        arg.to_str()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|v| range.contains(v))
            .ok_or_else(|| format!("{what} must be a number in {range:?}"))
    };
    let checked = (|| {
        Ok::<_, String>((
            path(input, "input")?,
            path(output, "output")?,
            number(linear, "LINEAR_DEFLECTION", 1e-7..=1e6)?,
            number(angular, "ANGULAR_DEFLECTION_DEGREES", 1e-3..=180.0)?,
        ))
    })();
    let (input, output, linear, angular) = match checked {
        Ok(args) => args,
        Err(message) => {
            eprintln!("Error: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // SAFETY: both pointers are NUL-terminated strings that outlive the call; the C++ side
    // only reads them and catches every exception before returning.
    #[allow(unsafe_code)]
    let status = unsafe { workflow_step_to_glb(input.as_ptr(), output.as_ptr(), linear, angular) };
    ExitCode::from(u8::try_from(status).unwrap_or(7))
}
