use crate::common::{json_of, spawn_app};
use reqwest::StatusCode;
use serde_json::json;
use workflow_contracts::Graph;

/// An order-line graph as an old editor stored it: renamed types, params and ports, no family,
/// a node id that is a path.
fn old_graph() -> Graph {
    serde_json::from_value(json!({
        "nodes": [
            {"id": "o", "type": "order.source"},
            {"id": "l", "type": "order.load_scene"},
            {"id": "m", "type": "material.apply", "params": {"policy": "placeholder"}},
            {"id": "c", "type": "scene.camera"},
            {"id": "li", "type": "scene.lighting"},
            {"id": "../../evil", "type": "render.still", "params": {"bg_color": "#000000"}},
            {"id": "p", "type": "output.save"}
        ],
        "edges": [
            {"from": {"node": "o", "port": "order_line"}, "to": {"node": "l", "port": "order_line"}},
            {"from": {"node": "l", "port": "scene"}, "to": {"node": "m", "port": "scene"}},
            {"from": {"node": "m", "port": "scene"}, "to": {"node": "c", "port": "scene"}},
            {"from": {"node": "c", "port": "scene"}, "to": {"node": "li", "port": "scene"}},
            {"from": {"node": "li", "port": "scene"}, "to": {"node": "../../evil", "port": "scene"}},
            {"from": {"node": "../../evil", "port": "image"}, "to": {"node": "p", "port": "still"}}
        ]
    }))
    .expect("old graph parses")
}

#[tokio::test]
async fn normalize_dry_run_reports_and_apply_saves_new_revisions() {
    let app = spawn_app().await;
    // Stored directly, as an old version of the server would have: the API refuses it.
    let old = app
        .store
        .create_workflow("Legacy import", &old_graph(), "import")
        .await
        .expect("insert old graph");

    let dry = json_of(
        app.post(
            "/api/admin/workflows/normalize?dry_run=true",
            &app.admin,
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["examined"], 3);
    assert_eq!(dry["changed"], 1, "starters are already canonical: {dry:#}");
    let entry = dry["workflows"]
        .as_array()
        .expect("list")
        .iter()
        .find(|w| w["id"] == old.id.as_str())
        .expect("old workflow reported")
        .clone();
    let changes = entry["changes"].as_array().expect("changes");
    assert!(changes.iter().any(|c| c["kind"] == "renamed_node_type"
        && c["from"] == "material.apply"
        && c["to"] == "material.resolve"));
    assert!(changes.iter().any(|c| c["kind"] == "set_family"));
    assert!(changes.iter().any(|c| c["kind"] == "renamed_node"
        && c["from"] == "../../evil"
        && c["to"] == "n.._.._evil"));
    assert_eq!(entry["valid_after"], true, "{entry:#}");
    assert!(entry["version_after"].is_null());
    let unchanged = app.store.get_workflow(&old.id).await.expect("get");
    assert_eq!(unchanged.version, 1);
    assert_eq!(unchanged.graph, old_graph());

    let applied = json_of(
        app.post(
            "/api/admin/workflows/normalize?dry_run=false",
            &app.admin,
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(applied["changed"], 1);
    let wf = json_of(
        app.get(&format!("/api/workflows/{}", old.id), &app.author)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(wf["version"], 2);
    assert_eq!(wf["family"], "order_line");
    assert!(wf["graph"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .any(|n| n["type"] == "material.resolve"));
    // The unsafe id is gone; both of its edges follow the new one.
    assert!(!wf.to_string().contains("../../evil"), "{wf:#}");
    let into_render = wf["graph"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter(|e| e["from"]["node"] == "n.._.._evil" || e["to"]["node"] == "n.._.._evil")
        .count();
    assert_eq!(into_render, 2, "{wf:#}");
    let revs = json_of(
        app.get(&format!("/api/workflows/{}/revisions", old.id), &app.author)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(revs[0]["note"], "normalize");

    // Idempotent: a second run finds nothing to do.
    let again = json_of(
        app.post(
            "/api/admin/workflows/normalize?dry_run=false",
            &app.admin,
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["changed"], 0);
}
