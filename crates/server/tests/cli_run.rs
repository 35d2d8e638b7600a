//! `workflow-server run` as a user or CI script runs it: the built binary on the starter
//! graphs and real fixtures, with the real (llvmpipe) renderer at small sizes.

use serde_json::Value;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn fixture(rel: &str) -> PathBuf {
    let base = std::env::var("WORKFLOW_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
            [
                here.join("../../../shared/fixtures"),
                PathBuf::from("/work/shared/fixtures"),
            ]
            .into_iter()
            .find(|p| p.exists())
            .unwrap_or_else(|| here.join("../../../shared/fixtures"))
        });
    base.join(rel)
}

fn server(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_workflow-server"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("workflow-server starts");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    if let Some(text) = stdin {
        pipe.write_all(text.as_bytes()).expect("stdin written");
    }
    drop(pipe);
    child.wait_with_output().expect("workflow-server exits")
}

/// `workflow-server starter <family>` written to `<dir>/<family>.json`.
fn starter(dir: &Path, family: &str) -> PathBuf {
    let out = server(&["starter", family], None);
    assert!(out.status.success());
    let path = dir.join(format!("{family}.json"));
    std::fs::write(&path, &out.stdout).expect("graph written");
    path
}

/// `run --graph G --cad C [extra…] --out DIR`.
fn run(graph: &Path, cad: &Path, out: &Path, extra: &[&str], stdin: Option<&str>) -> Output {
    let mut args = vec![
        "run".to_owned(),
        "--graph".into(),
        graph.display().to_string(),
        "--cad".into(),
        cad.display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    server(&args, stdin)
}

fn explain(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn record(out_dir: &Path) -> Value {
    let text = std::fs::read_to_string(out_dir.join("run.json")).expect("run.json written");
    serde_json::from_str(&text).expect("run.json is JSON")
}

/// The structured error a refused run prints on stderr.
fn stderr_error(out: &Output) -> Value {
    let error: Value = serde_json::from_slice(&out.stderr)
        .unwrap_or_else(|e| panic!("stderr is JSON ({e}): {}", explain(out)));
    error["error"].clone()
}

fn node<'a>(record: &'a Value, id: &str) -> &'a Value {
    record["nodes"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|n| n["node_id"] == id))
        .unwrap_or_else(|| panic!("node {id} in {record:#}"))
}

/// The artifact of `node_id` with `role`: its file in the output directory.
fn artifact(record: &Value, out_dir: &Path, node_id: &str, role: &str) -> PathBuf {
    let a = record["artifacts"]
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|a| a["node_id"] == node_id && a["role"] == role)
        })
        .unwrap_or_else(|| panic!("{node_id} has a {role} artifact: {record:#}"));
    let path = out_dir.join(a["path"].as_str().expect("artifact path"));
    let size = std::fs::metadata(&path)
        .expect("artifact file exists")
        .len();
    assert_eq!(Some(size), a["size"].as_u64(), "{}", path.display());
    path
}

fn assert_all_succeeded(record: &Value) {
    assert_eq!(record["status"], "succeeded", "{record:#}");
    assert!(record["error"].is_null());
    for n in record["nodes"].as_array().expect("nodes") {
        assert_eq!(n["status"], "succeeded", "{n:#}");
        let queued = n["queued_at"].as_i64().expect("queued_at");
        let started = n["started_at"].as_i64().expect("started_at");
        let finished = n["finished_at"].as_i64().expect("finished_at");
        assert!(queued <= started && started <= finished, "{n:#}");
        assert_eq!(n["duration_ms"].as_i64(), Some(finished - started));
    }
}

#[test]
fn order_line_still_writes_a_png_and_a_succeeded_record() {
    let dir = tempfile::tempdir().expect("temp dir");
    let graph = starter(dir.path(), "order_line");
    let out_dir = dir.path().join("out");
    let out = run(
        &graph,
        &fixture("gltf/CesiumMilkTruck.glb"),
        &out_dir,
        &["--set", "render.width=128", "--set", "render.height=96"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(summary["status"], "succeeded");

    let record = record(&out_dir);
    assert_all_succeeded(&record);
    assert_eq!(record["family"], "order_line");
    assert_eq!(record["processing"]["status"], "succeeded", "{record:#}");
    assert_eq!(record["inputs"]["overrides"]["render.width"], 128);
    assert_eq!(node(&record, "render")["params"]["width"], 128);
    assert!(
        node(&record, "publish")["logs"]
            .as_array()
            .expect("logs")
            .iter()
            .any(|l| l["message"]
                .as_str()
                .is_some_and(|m| m.contains("CesiumMilkTruck"))),
        "publish logs its deliverable: {record:#}"
    );

    let png = artifact(&record, &out_dir, "render", "still");
    assert_eq!(
        png.file_name().and_then(|n| n.to_str()),
        Some("render.still.png")
    );
    let image = image::open(&png).expect("the still decodes");
    assert_eq!((image.width(), image.height()), (128, 96));
    let report = artifact(&record, &out_dir, "materials", "material_report");
    let report: Value =
        serde_json::from_slice(&std::fs::read(report).expect("report")).expect("report JSON");
    assert!(report["missing"].as_array().expect("missing").is_empty());
}

#[test]
fn cad_file_run_on_step_writes_a_glb_and_a_manifest() {
    let dir = tempfile::tempdir().expect("temp dir");
    let graph = starter(dir.path(), "cad_file");
    let out_dir = dir.path().join("out");
    let out = run(
        &graph,
        &fixture("step/abc-0000.step"),
        &out_dir,
        &[
            "--set",
            "thumbnail.width=64",
            "--set",
            "thumbnail.height=64",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let record = record(&out_dir);
    assert_all_succeeded(&record);
    assert_eq!(record["family"], "cad_file");
    assert!(record["processing"].is_null());

    let glb = std::fs::read(artifact(&record, &out_dir, "export_glb", "preview_glb")).expect("glb");
    assert_eq!(&glb[..4], b"glTF", "a GLB");
    let manifest = artifact(&record, &out_dir, "metadata", "part_manifest");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(manifest).expect("manifest")).expect("JSON");
    assert_eq!(
        manifest["parts"].as_array().expect("parts").len(),
        6,
        "{manifest:#}"
    );
    let thumbnail = image::open(artifact(&record, &out_dir, "thumbnail", "thumbnail"))
        .expect("the thumbnail decodes");
    assert_eq!((thumbnail.width(), thumbnail.height()), (64, 64));
}

#[test]
fn missing_materials_fail_the_run_and_name_the_node() {
    let dir = tempfile::tempdir().expect("temp dir");
    let graph = String::from_utf8(server(&["starter", "order_line"], None).stdout).expect("utf-8");
    let map = dir.path().join("map.json");
    std::fs::write(&map, r#"{"assignments": {}, "rules": []}"#).expect("map written");
    let out_dir = dir.path().join("out");
    // The graph comes on standard input; the starter's material.resolve fails on a missing
    // material, and Box's file material is ignored.
    let out = run(
        Path::new("-"),
        &fixture("gltf/Box.glb"),
        &out_dir,
        &[
            "--materials",
            &map.display().to_string(),
            "--set",
            "materials.use_file_materials=false",
            "--set",
            "materials.missing_policy=fail",
            "--set",
            "render.width=64",
        ],
        Some(&graph),
    );
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    let record = record(&out_dir);
    assert_eq!(record["status"], "failed");
    assert_eq!(record["inputs"]["graph"], "standard input");
    assert_eq!(record["error"]["node"], "materials", "{record:#}");
    assert_eq!(record["error"]["code"], "missing_materials");
    let materials = node(&record, "materials");
    assert_eq!(materials["status"], "failed");
    assert_eq!(materials["error"]["code"], "missing_materials");
    assert!(!materials["error"]["details"]["parts"]
        .as_array()
        .expect("parts")
        .is_empty());
    assert_eq!(
        record["skipped"],
        serde_json::json!(["camera", "lighting", "render", "publish"])
    );
    for id in ["camera", "lighting", "render", "publish"] {
        let n = node(&record, id);
        assert_eq!(n["status"], "skipped", "{n:#}");
        assert_eq!(n["error"]["code"], "upstream_failed");
        assert_eq!(n["error"]["root_cause_node"], "materials");
    }
    assert_eq!(node(&record, "load_scene")["status"], "succeeded");
    assert!(!out_dir.join("render.still.png").exists());
    assert!(String::from_utf8_lossy(&out.stderr).contains("materials"));
}

#[test]
fn bad_input_exits_2_with_a_structured_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out_dir = dir.path().join("out");
    let graph = starter(dir.path(), "order_line");
    let cad = fixture("gltf/Box.glb");

    // Malformed JSON: line and column.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"family\": \"order_line\",\n  \"nodes\": [,]}").expect("written");
    let out = run(&bad, &cad, &out_dir, &[], None);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let error = stderr_error(&out);
    assert_eq!(error["code"], "malformed_json");
    assert_eq!(error["details"]["line"], 2);
    assert_eq!(error["details"]["column"], 13);
    assert_eq!(error["details"]["path"], bad.display().to_string());
    assert!(!out_dir.exists(), "nothing ran, nothing written");

    // An invalid graph: the validator's errors.
    let mut invalid: Value =
        serde_json::from_slice(&std::fs::read(&graph).expect("graph")).expect("JSON");
    invalid["edges"]
        .as_array_mut()
        .expect("edges")
        .retain(|e| e["to"]["node"] != "load_scene");
    let invalid_path = dir.path().join("invalid.json");
    std::fs::write(&invalid_path, invalid.to_string()).expect("written");
    let out = run(&invalid_path, &cad, &out_dir, &[], None);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let error = stderr_error(&out);
    assert_eq!(error["code"], "invalid_graph");
    let errors = error["details"]["errors"].as_array().expect("errors");
    assert!(
        errors
            .iter()
            .any(|e| e["code"] == "missing_required_input" && e["nodes"][0] == "load_scene"),
        "{error:#}"
    );

    // --set: unknown node, unknown parameter, wrong type — each named.
    let out = run(
        &graph,
        &cad,
        &out_dir,
        &[
            "--set",
            "nosuch.width=1",
            "--set",
            "render.nosuch=1",
            "--set",
            "render.width=wide",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let error = stderr_error(&out);
    assert_eq!(error["code"], "invalid_overrides");
    let problems: Vec<(String, String)> = error["details"]["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| {
            (
                p["code"].as_str().unwrap_or_default().to_owned(),
                p["key"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for (code, key) in [
        ("unknown_override_node", "nosuch.width"),
        ("unknown_override_param", "render.nosuch"),
        ("invalid_override_value", "render.width"),
    ] {
        assert!(
            problems.contains(&(code.to_owned(), key.to_owned())),
            "{code} {key}: {error:#}"
        );
    }

    // The CAD file: an unsupported extension, then a missing file.
    let out = run(&graph, &fixture("README.md"), &out_dir, &[], None);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    assert_eq!(stderr_error(&out)["code"], "unsupported_format");
    let missing = dir.path().join("missing.glb");
    let out = run(&graph, &missing, &out_dir, &[], None);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let error = stderr_error(&out);
    assert_eq!(error["code"], "unreadable_file");
    assert_eq!(error["details"]["path"], missing.display().to_string());

    // A material map naming a material the library does not have.
    let map = dir.path().join("map.json");
    std::fs::write(&map, r#"{"assignments": {"a": "cheese"}, "rules": []}"#).expect("map");
    let out = run(
        &graph,
        &cad,
        &out_dir,
        &["--materials", &map.display().to_string()],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let error = stderr_error(&out);
    assert_eq!(error["code"], "unknown_material");
    assert_eq!(error["details"]["materials"], serde_json::json!(["cheese"]));

    // A CAD file that cannot be processed into the order line's product.
    let out = run(
        &graph,
        &fixture("gltf/malformed/invalid_magic.glb"),
        &out_dir,
        &[],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let error = stderr_error(&out);
    assert_eq!(error["code"], "cad_processing_failed");
    assert_eq!(error["details"]["node"], "import");
    assert_eq!(error["details"]["error"]["code"], "malformed_gltf");
}

/// A local `.gltf` may read files beside it, never one outside its folder (the viewer's
/// local open goes through the same import).
#[test]
fn a_local_gltf_cannot_reach_outside_its_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    let graph = starter(dir.path(), "cad_file");
    std::fs::write(dir.path().join("secret.bin"), [0x5a; 36]).expect("secret");
    let model = dir.path().join("model");
    std::fs::create_dir(&model).expect("model dir");
    for (name, uri) in [
        ("up.gltf", "../secret.bin"),
        ("abs.gltf", "/etc/passwd"),
        ("scheme.gltf", "file:///etc/passwd"),
    ] {
        let gltf = serde_json::json!({
            "asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}],
            "nodes": [{"mesh": 0}],
            "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
            "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
                           "min": [0, 0, 0], "max": [1, 1, 0]}],
            "bufferViews": [{"buffer": 0, "byteLength": 36}],
            "buffers": [{"uri": uri, "byteLength": 36}]
        });
        let path = model.join(name);
        std::fs::write(&path, gltf.to_string()).expect("gltf");
        let out_dir = dir.path().join(format!("out-{name}"));
        let out = run(&graph, &path, &out_dir, &[], None);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", explain(&out));
        let record = record(&out_dir);
        assert_eq!(
            record["error"]["code"], "external_reference_refused",
            "{name}: {record:#}"
        );
        assert!(record["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(uri)));
    }
}
