//! The converter as the engine runs it: a STEP file in, a GLB out, and a clear exit status
//! and message when it cannot. (That its GLB is DRAW's, byte for byte, is tested where the
//! engine chooses between them: crates/engine/tests/engine/import_step.rs.)

use std::path::PathBuf;
use std::process::{Command, Output};

fn converter(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_workflow-step-converter"))
        .args(args)
        .output()
        .expect("the converter starts")
}

/// `shared/fixtures` beside an ancestor of this crate (the checkout's `../shared`), or
/// `WORKFLOW_FIXTURES`.
fn fixture(name: &str) -> PathBuf {
    let dir = std::env::var_os("WORKFLOW_FIXTURES")
        .map(PathBuf::from)
        .or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .ancestors()
                .map(|a| a.join("shared").join("fixtures"))
                .find(|c| c.is_dir())
        })
        .unwrap_or_else(|| PathBuf::from("/work/shared/fixtures"));
    dir.join("step").join(name)
}

#[test]
fn converts_an_assembly_to_glb() {
    let dir = tempfile::tempdir().expect("tempdir");
    let glb = dir.path().join("out.glb");
    let out = converter(&[
        fixture("as1-oc-214.step").as_os_str(),
        glb.as_os_str(),
        "0.1".as_ref(),
        "28.64788975654116".as_ref(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let bytes = std::fs::read(&glb).expect("GLB written");
    assert_eq!(&bytes[..4], b"glTF", "binary glTF magic");
    // The assembly arrives as a node hierarchy.
    let json_len = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes")) as usize;
    let json = String::from_utf8_lossy(&bytes[20..20 + json_len]);
    assert!(json.contains("\"nodes\""), "{json}");
}

#[test]
fn bad_arguments_exit_2_with_usage() {
    for args in [
        vec![],
        vec!["a.step", "b.glb", "0.1"],
        vec!["a.step", "b.glb", "fast", "20"],
        vec!["a.step", "b.glb", "0.1", "0"],
        vec!["a.step", "b.glb", "-1", "20"],
    ] {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        let out = converter(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("usage: workflow-step-converter"),
            "{stderr}"
        );
    }
}

#[test]
fn unreadable_step_exits_3_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let garbage = dir.path().join("garbage.step");
    std::fs::write(&garbage, "ISO-10303-21;\nnot a step file\n").expect("write");
    let glb = dir.path().join("out.glb");
    for input in [garbage, dir.path().join("missing.step")] {
        let out = converter(&[
            input.as_os_str(),
            glb.as_os_str(),
            "0.1".as_ref(),
            "28".as_ref(),
        ]);
        assert_eq!(out.status.code(), Some(3), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("could not be read"), "{stderr}");
        assert!(!glb.exists());
    }
}
