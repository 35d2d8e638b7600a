//! `scripts/run` launches the binary its build produced in the target dir cargo really used
//! (it once exec'd `target/release/…` while CARGO_TARGET_DIR pointed elsewhere).

use std::path::Path;
use std::process::Command;

/// Runs `scripts/deps.sh`'s `built_executable` on what `cargo build` prints in `dir`.
fn launcher_path(dir: &Path, target: &Path) -> std::process::Output {
    let deps = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/deps.sh");
    let script = format!(
        "set -euo pipefail; source '{}'; cargo build --release --offline \
         --message-format=json-render-diagnostics | built_executable workflow-studio",
        deps.display()
    );
    Command::new("bash")
        .args(["-c", &script])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .expect("bash runs")
}

#[test]
fn the_launcher_runs_the_binary_from_the_real_target_dir() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A crate whose binary has the app's name: the real build takes minutes.
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"workflow-studio\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .expect("manifest");
    std::fs::create_dir(dir.path().join("src")).expect("src");
    std::fs::write(
        dir.path().join("src/main.rs"),
        "fn main() { println!(\"launched\"); }\n",
    )
    .expect("main");
    let target = dir.path().join("elsewhere");
    for build in ["first", "fresh"] {
        let out = launcher_path(dir.path(), &target);
        assert!(
            out.status.success(),
            "{build} build: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert_eq!(
            Path::new(&path),
            target.join("release/workflow-studio"),
            "{build} build"
        );
        let ran = Command::new(&path).output().expect("the binary runs");
        assert_eq!(String::from_utf8_lossy(&ran.stdout), "launched\n");
    }
    // No such binary in cargo's report: a clear error, not a launch of something stale.
    let none = Command::new("bash")
        .args([
            "-c",
            &format!(
                "source '{}'; echo '{{}}' | built_executable workflow-studio",
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("scripts/deps.sh")
                    .display()
            ),
        ])
        .output()
        .expect("bash runs");
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("no executable named workflow-studio"));
}
