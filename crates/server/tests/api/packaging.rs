//! The systemd units in packaging/ start the server with flags this binary has, and every
//! `${VARIABLE}` they use is set in the environment file they read (a renamed flag or a
//! missing variable would only show on a production host).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn packaging_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/systemd")
}

/// `KEY=value` lines of a unit (the last one wins, as in systemd).
fn unit_value(unit: &str, key: &str) -> Option<String> {
    unit.lines()
        .filter_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
        .next_back()
        .map(str::to_owned)
}

#[test]
fn systemd_units_use_flags_the_binary_has_and_variables_their_env_files_set() {
    let bin = env!("CARGO_BIN_EXE_workflow-server");
    let mut units = 0;
    for entry in std::fs::read_dir(packaging_dir()).expect("packaging/systemd") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("service") {
            continue;
        }
        units += 1;
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let unit = std::fs::read_to_string(&path).expect("unit");
        let exec = unit_value(&unit, "ExecStart").unwrap_or_else(|| panic!("{name}: ExecStart"));
        let mut words = exec.split_whitespace();
        assert_eq!(words.next(), Some("/usr/bin/workflow-server"), "{name}");
        let verb = words.next().unwrap_or_else(|| panic!("{name}: a verb"));
        let help = std::process::Command::new(bin)
            .args([verb, "--help"])
            .output()
            .expect("run --help");
        assert!(help.status.success(), "{name}: `{verb} --help` failed");
        let help = String::from_utf8_lossy(&help.stdout);
        let flags: Vec<&str> = exec
            .split_whitespace()
            .filter(|w| w.starts_with("--"))
            .collect();
        assert!(!flags.is_empty(), "{name}");
        for flag in flags {
            assert!(
                help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")),
                "{name}: `{verb}` has no flag {flag}:\n{help}"
            );
        }

        // Every ${VAR} in ExecStart is set in the example environment file the unit reads.
        let env_file = unit_value(&unit, "EnvironmentFile").expect("EnvironmentFile");
        let example = packaging_dir().join(format!(
            "{}.example",
            Path::new(&env_file)
                .file_name()
                .expect("file")
                .to_string_lossy()
        ));
        let env = std::fs::read_to_string(&example)
            .unwrap_or_else(|_| panic!("{name}: {} is missing", example.display()));
        let set: BTreeSet<&str> = env
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
            .collect();
        for var in exec.split("${").skip(1).filter_map(|s| s.split_once('}')) {
            assert!(
                set.contains(var.0),
                "{name}: ${{{}}} is not set in {}",
                var.0,
                example.display()
            );
        }
        // The database URL comes from the environment file, never the command line.
        assert!(
            !exec.contains("--db"),
            "{name}: the database URL belongs in {env_file}"
        );
        assert!(set.contains("WORKFLOW_DATABASE_URL"), "{name}");
    }
    assert_eq!(units, 2, "the server and the worker unit");
}
