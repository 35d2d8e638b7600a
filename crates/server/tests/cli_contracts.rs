//! The contract verbs of `workflow-server`, run as a user or CI script would run them.

use serde_json::Value;
use std::io::Write as _;
use std::process::{Command, Output, Stdio};

fn server(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_workflow-server"))
        .args(args)
        .output()
        .expect("workflow-server runs")
}

fn validate_text(text: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_workflow-server"))
        .args(["validate", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("workflow-server starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(text.as_bytes())
        .expect("graph written");
    child.wait_with_output().expect("workflow-server exits")
}

fn json_out(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

#[test]
fn contracts_prints_the_registry_as_json() {
    let out = server(&["contracts"]);
    assert!(out.status.success());
    let registry = json_out(&out);
    let types: Vec<&str> = registry["nodes"]
        .as_array()
        .expect("nodes array")
        .iter()
        .filter_map(|n| n["type"].as_str())
        .collect();
    assert!(types.contains(&"render.still") && types.contains(&"cad.import"));
    assert_eq!(
        registry["families"],
        serde_json::json!(["cad_file", "order_line"])
    );
}

#[test]
fn docs_contracts_md_matches_the_registry() {
    let out = server(&["contracts", "--markdown"]);
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).expect("utf-8");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/contracts.md");
    let committed = std::fs::read_to_string(path).expect("docs/contracts.md exists");
    assert!(
        printed == committed,
        "docs/contracts.md has drifted from the registry; regenerate it with\n  cargo run -p workflow-server -- contracts --markdown > docs/contracts.md"
    );
}

#[test]
fn starter_output_validates_with_exit_zero() {
    for family in ["cad_file", "order_line"] {
        let out = server(&["starter", family]);
        assert!(out.status.success(), "{family}");
        let graph = String::from_utf8(out.stdout).expect("utf-8");
        let checked = validate_text(&graph);
        assert_eq!(checked.status.code(), Some(0), "{family}");
        assert_eq!(json_out(&checked)["valid"], Value::Bool(true));
    }
    let out = server(&["starter", "bakery"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cad_file, order_line"));
}

#[test]
fn invalid_graph_exits_one_with_errors_as_json() {
    let graph = r#"{"family": "order_line", "nodes": [
        {"id": "n1", "type": "render.still", "params": {"width": 0}},
        {"id": "n2", "type": "cad.publish"}
    ], "edges": []}"#;
    let out = validate_text(graph);
    assert_eq!(out.status.code(), Some(1));
    let report = json_out(&out);
    assert_eq!(report["valid"], Value::Bool(false));
    let errors = report["errors"].as_array().expect("errors array");
    let has = |code: &str, node: &str| {
        errors.iter().any(|e| {
            e["code"] == code
                && e["nodes"]
                    .as_array()
                    .is_some_and(|n| n.contains(&Value::from(node)))
        })
    };
    assert!(has("param_invalid", "n1"));
    assert!(has("family_mismatch", "n2"));
    assert!(has("missing_required_input", "n1"));
    assert!(has("mixed_family", "n1"));
}

#[test]
fn malformed_json_exits_two_with_line_and_column() {
    let out = validate_text("{\n  \"family\": \"order_line\",\n  \"nodes\": [,]\n}");
    assert_eq!(out.status.code(), Some(2));
    let body = json_out(&out);
    assert_eq!(body["error"]["code"], "malformed_json");
    assert_eq!(body["error"]["details"]["line"], 3);
    assert_eq!(body["error"]["details"]["column"], 13);

    let out = server(&["validate", "/nonexistent/graph.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json_out(&out)["error"]["code"], "unreadable_file");
}
