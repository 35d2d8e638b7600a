//! `workflow-server parity` as CI runs it: the built binary on golden cases over the real
//! fixtures and the real (llvmpipe) renderer at small sizes. A deliberately broken graph (a
//! camera parameter changed) must fail the suite and be attributed to the camera node.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use workflow_contracts::{starter_graph, Family, Registry};

fn fixtures() -> PathBuf {
    std::env::var("WORKFLOW_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
            [
                here.join("../../shared/fixtures"),
                here.join("../../../shared/fixtures"),
                PathBuf::from("/work/shared/fixtures"),
            ]
            .into_iter()
            .find(|p| p.exists())
            .unwrap_or_else(|| here.join("../../../shared/fixtures"))
        })
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn parity(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_workflow-server"))
        .arg("parity")
        .arg("--fixtures")
        .arg(fixtures())
        .args(args)
        .output()
        .expect("workflow-server runs")
}

fn explain(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("report written");
    serde_json::from_str(&text).expect("report is JSON")
}

fn write_json(path: &Path, value: &Value) {
    std::fs::write(
        path,
        serde_json::to_vec_pretty(value).expect("serialisable"),
    )
    .expect("written");
}

#[test]
fn a_broken_camera_fails_parity_and_is_attributed_to_the_camera_node() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases = dir.path().join("cases");
    std::fs::create_dir_all(cases.join("graphs")).expect("dirs");
    // The order_line starter graph, with one camera parameter changed on purpose.
    let registry = Registry::builtin();
    let mut graph = starter_graph(Family::OrderLine, &registry);
    let camera = graph
        .nodes
        .iter_mut()
        .find(|n| n.node_type == "scene.camera")
        .expect("the starter graph has a camera");
    camera.params.insert("camera_preset".into(), json!("front"));
    write_json(
        &cases.join("graphs/broken-camera.json"),
        &serde_json::to_value(&graph).expect("graph JSON"),
    );
    let still = |name: &str, graph: &str| {
        json!({
            "name": name,
            "product": "gltf/Box.glb",
            "output_type": {
                "artifact_kind": "still",
                "legacy_settings": {"width": 48, "height": 48},
                "graph": graph,
                "invocation_overrides": {"render.width": 48, "render.height": 48}
            },
            "material_map": {"assignments": {}, "rules": [{"pattern": "*", "material": "paint_red"}]},
            "expect": {"verdict": "pass"}
        })
    };
    write_json(
        &cases.join("broken.json"),
        &still("broken-camera", "graphs/broken-camera.json"),
    );
    write_json(&cases.join("same.json"), &still("same", "starter"));
    let report_dir = dir.path().join("report");
    let out = parity(&[
        "--cases",
        &cases.display().to_string(),
        "--report",
        &report_dir.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("FAIL  broken-camera"), "{stderr}");
    assert!(stderr.contains("PASS  same"), "{stderr}");

    let report = read_json(&report_dir.join("parity.json"));
    assert_eq!(report["status"], "fail");
    assert_eq!(report["exit_code"], 1);
    assert_eq!(report["counts"]["fail"], 1);
    assert_eq!(report["counts"]["pass"], 1);
    let broken = report["cases"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "broken-camera"))
        .expect("the broken case is reported");
    assert_eq!(broken["status"], "fail");
    assert_eq!(broken["verdict"], "fail");
    let attribution = &broken["comparison"]["attribution"];
    assert_eq!(attribution["node_id"], "camera", "{attribution:#}");
    assert_eq!(attribution["node_type"], "scene.camera");
    assert_eq!(attribution["legacy_step"], "order.camera");
    assert_eq!(attribution["cause"], "output");
    assert!(
        broken["problems"].as_array().is_some_and(|p| p
            .iter()
            .any(|p| p.as_str().is_some_and(|p| p.contains("camera")))),
        "{broken:#}"
    );
    // Everything upstream of the camera matched its legacy step.
    let nodes = attribution["nodes"].as_array().expect("nodes");
    let state = |id: &str| {
        nodes
            .iter()
            .find(|n| n["node_id"] == id)
            .map(|n| n["state"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(state("load_scene"), "same");
    assert_eq!(state("materials"), "same");
    assert_eq!(state("camera"), "differs");

    // The still differs: both images and the difference image are kept and embedded.
    let still = &broken["comparison"]["artifacts"][0];
    assert_eq!(still["role"], "still");
    assert_eq!(still["verdict"], "fail");
    let files = broken["files"].as_array().expect("files");
    for side in ["legacy", "graph", "difference"] {
        let file = files
            .iter()
            .find(|f| f["side"] == side)
            .unwrap_or_else(|| panic!("a {side} file in {files:?}"));
        let path = report_dir.join(file["path"].as_str().expect("path"));
        let bytes = std::fs::read(&path).expect("file written");
        assert!(
            image::load_from_memory(&bytes).is_ok(),
            "{} is an image",
            path.display()
        );
    }
    let html = std::fs::read_to_string(report_dir.join("parity.html")).expect("html written");
    assert!(html.contains("broken-camera"));
    assert!(html.contains("data:image/png;base64,"));
    assert!(
        html.contains("first difference at node &#39;camera&#39;"),
        "attribution shown"
    );

    // Only the passing case: exit 0.
    let out = parity(&[
        "--cases",
        &cases.display().to_string(),
        "--report",
        &report_dir.display().to_string(),
        "--case",
        "same",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
}

#[test]
fn the_shipped_failure_cases_pass_and_bad_suites_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases = repo().join("tests/golden");
    let out = parity(&[
        "--cases",
        &cases.display().to_string(),
        "--report",
        &dir.path().join("report").display().to_string(),
        "--case",
        "fail-missing-material",
        "--case",
        "fail-malformed-glb",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let report = read_json(&dir.path().join("report/parity.json"));
    for case in report["cases"].as_array().expect("cases") {
        assert_eq!(case["status"], "pass", "{case:#}");
        let (legacy, graph) = (&case["legacy"]["failure"], &case["graph"]["failure"]);
        assert_eq!(legacy["code"], graph["code"], "{case:#}");
    }

    let out = parity(&[
        "--cases",
        &cases.display().to_string(),
        "--report",
        &dir.path().join("r2").display().to_string(),
        "--case",
        "no-such-case",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let err: Value = serde_json::from_slice(&out.stderr).expect("JSON error on stderr");
    assert_eq!(err["error"]["code"], "unknown_case");

    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).expect("dir");
    let out = parity(&["--cases", &empty.display().to_string()]);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
}
