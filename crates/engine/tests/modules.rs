//! The production modules end to end through the graph runtime: the cad_file and order_line
//! starter graphs on real fixtures with the real (llvmpipe) renderer.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;
use workflow_contracts::{starter_graph, ArtifactRole, Family, Registry};
use workflow_engine::materials::{default_library, MaterialLibrary, MaterialMap, NameRule};
use workflow_engine::modules::{
    production_modules, CadPublication, ProductScene, ProductSource, ProductionContext,
};
use workflow_engine::runtime::{
    MemoryArtifacts, NodeStatus, RunReport, RunRequest, RunStatus, Runtime,
};
use workflow_engine::{import_file, ImportParams};

/// One product in a temporary directory.
struct DirProducts {
    dir: PathBuf,
    source: PathBuf,
    map: Mutex<MaterialMap>,
}

impl ProductSource for DirProducts {
    fn cad_file(&self, product_id: &str) -> Result<PathBuf, String> {
        (product_id == "p1")
            .then(|| self.source.clone())
            .ok_or_else(|| format!("unknown product {product_id}"))
    }
    fn product_scene(&self, _: &str) -> Result<ProductScene, String> {
        let glb_path = self.dir.join("preview.glb");
        Ok(ProductScene {
            processed: glb_path.exists(),
            glb_path,
        })
    }
    fn materials(&self, _: &str) -> Result<(MaterialLibrary, MaterialMap), String> {
        let map = self.map.lock().map_err(|e| e.to_string())?.clone();
        Ok((default_library(), map))
    }
    fn publish_cad(&self, p: CadPublication<'_>) -> Result<(), String> {
        std::fs::write(self.dir.join("preview.glb"), p.glb).map_err(|e| e.to_string())
    }
}

fn setup(
    fixture: &str,
) -> (
    tempfile::TempDir,
    Arc<DirProducts>,
    Runtime,
    Arc<MemoryArtifacts>,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let products = Arc::new(DirProducts {
        dir: dir.path().to_path_buf(),
        source: common::gltf(fixture),
        map: Mutex::new(MaterialMap::default()),
    });
    let modules = production_modules(ProductionContext::new(products.clone()));
    let artifacts = Arc::new(MemoryArtifacts::default());
    let runtime = Runtime::new(
        Arc::new(Registry::builtin()),
        Arc::new(modules),
        artifacts.clone(),
    );
    (dir, products, runtime, artifacts)
}

async fn run(runtime: &Runtime, family: Family, overrides: Value, inputs: Value) -> RunReport {
    let obj = |v: Value| -> Map<String, Value> { v.as_object().cloned().unwrap_or_default() };
    runtime
        .run_graph(
            RunRequest {
                run_id: format!("run-{family:?}"),
                graph: starter_graph(family, &Registry::builtin()),
                overrides: obj(overrides),
                inputs: obj(inputs),
            },
            None,
            CancellationToken::new(),
        )
        .await
        .expect("valid starter graph")
}

fn artifact(
    report: &RunReport,
    artifacts: &MemoryArtifacts,
    node: &str,
    role: ArtifactRole,
) -> (String, Vec<u8>) {
    let node = report.node(node).expect("node in report");
    let a = node
        .artifacts
        .iter()
        .find(|a| a.role == role)
        .unwrap_or_else(|| panic!("{} has a {role} artifact: {node:#?}", node.node_id));
    let (r, bytes) = artifacts.get(&a.id).expect("artifact stored");
    (r.media_type, bytes)
}

fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    let be = |o: usize| u32::from_be_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
    (be(16), be(20))
}

fn all_succeeded(report: &RunReport) {
    assert_eq!(report.status, RunStatus::Succeeded, "{report:#?}");
    for n in &report.nodes {
        assert_eq!(n.status, NodeStatus::Succeeded, "{n:#?}");
    }
}

async fn process(runtime: &Runtime, artifacts: &MemoryArtifacts) -> Vec<u8> {
    let report = run(
        runtime,
        Family::CadFile,
        json!({"thumbnail.width": 128, "thumbnail.height": 128}),
        json!({"product_id": "p1"}),
    )
    .await;
    all_succeeded(&report);
    let (media, png) = artifact(&report, artifacts, "thumbnail", ArtifactRole::Thumbnail);
    assert_eq!(media, "image/png");
    assert_eq!(png_size(&png), (128, 128));
    let (media, manifest) = artifact(&report, artifacts, "metadata", ArtifactRole::PartManifest);
    assert_eq!(media, "application/json");
    let manifest: Value = serde_json::from_slice(&manifest).expect("manifest JSON");
    assert!(!manifest["parts"].as_array().expect("parts").is_empty());
    let (media, glb) = artifact(&report, artifacts, "export_glb", ArtifactRole::PreviewGlb);
    assert_eq!(media, "model/gltf-binary");
    glb
}

fn reimport_keys(glb: &[u8], dir: &Path) -> Vec<String> {
    let path = dir.join("check.glb");
    std::fs::write(&path, glb).expect("write");
    let scene = import_file(&path, &ImportParams::default()).expect("preview GLB re-imports");
    let manifest =
        workflow_engine::extract_manifest(&scene, &Default::default()).expect("manifest");
    manifest.parts.iter().map(|p| p.part_key.clone()).collect()
}

#[tokio::test]
async fn cad_file_then_order_line_on_the_milk_truck() {
    let (dir, products, runtime, artifacts) = setup("CesiumMilkTruck.glb");
    let glb = process(&runtime, &artifacts).await;
    let keys = reimport_keys(&glb, dir.path());
    let original = workflow_engine::extract_manifest(
        &common::load("CesiumMilkTruck.glb"),
        &Default::default(),
    )
    .expect("manifest");
    let original: Vec<String> = original.parts.iter().map(|p| p.part_key.clone()).collect();
    assert_eq!(keys, original, "part keys survive the preview GLB");
    assert!(
        dir.path().join("preview.glb").exists(),
        "cad.publish stored it"
    );

    products.map.lock().expect("map").rules.push(NameRule {
        pattern: "*".into(),
        material: "paint_red".into(),
    });
    let report = run(
        &runtime,
        Family::OrderLine,
        json!({"render.width": 128, "render.height": 128, "materials.use_file_materials": false}),
        json!({"product_id": "p1", "order_line_id": "l1"}),
    )
    .await;
    all_succeeded(&report);
    let (media, png) = artifact(&report, &artifacts, "render", ArtifactRole::Still);
    assert_eq!(media, "image/png");
    assert_eq!(png_size(&png), (128, 128));
    let (media, _) = artifact(
        &report,
        &artifacts,
        "materials",
        ArtifactRole::MaterialReport,
    );
    assert_eq!(media, "application/json");
}

#[tokio::test]
async fn missing_materials_fail_the_node_and_skip_downstream() {
    let (_dir, _products, runtime, artifacts) = setup("Box.glb");
    process(&runtime, &artifacts).await;
    let report = run(
        &runtime,
        Family::OrderLine,
        json!({"render.width": 128, "render.height": 128,
               "materials.use_file_materials": false, "materials.missing_policy": "fail"}),
        json!({"product_id": "p1", "order_line_id": "l1"}),
    )
    .await;
    assert_eq!(report.status, RunStatus::Failed);
    let materials = report.node("materials").expect("materials");
    assert_eq!(materials.status, NodeStatus::Failed);
    let error = materials.error.as_ref().expect("error");
    assert_eq!(error.code, "missing_materials", "{error:?}");
    assert!(!error.details["parts"].as_array().expect("parts").is_empty());
    for node in ["camera", "lighting", "render", "publish"] {
        let n = report.node(node).expect("node");
        assert_eq!(n.status, NodeStatus::Skipped, "{node}");
        let e = n.error.as_ref().expect("skip reason");
        assert_eq!(e.root_cause_node.as_deref(), Some("materials"));
    }
    assert_eq!(
        report.node("load_scene").expect("load").status,
        NodeStatus::Succeeded
    );
}

#[tokio::test]
async fn malformed_upload_fails_import_with_its_code() {
    let (_dir, _products, runtime, _artifacts) = setup("malformed/invalid_magic.glb");
    let report = run(
        &runtime,
        Family::CadFile,
        json!({}),
        json!({"product_id": "p1"}),
    )
    .await;
    assert_eq!(report.status, RunStatus::Failed);
    let import = report.node("import").expect("import");
    let error = import.error.as_ref().expect("error");
    assert_eq!(error.code, "malformed_gltf", "{error:?}");
    assert!(error.message.contains("glTF"), "{}", error.message);
    assert_eq!(
        report.node("publish").expect("publish").status,
        NodeStatus::Skipped
    );
}

fn legacy_spec(
    kind: workflow_contracts::output_type::ArtifactKind,
    settings: Value,
) -> workflow_contracts::output_type::OutputTypeSpec {
    workflow_contracts::output_type::OutputTypeSpec {
        name: "legacy".into(),
        workflow_family: Family::OrderLine,
        artifact_kind: kind,
        workflow_id: None,
        invocation_overrides: Map::new(),
        legacy_settings: settings,
        rollout: workflow_contracts::output_type::Rollout::Legacy,
        fallback_to_legacy: true,
    }
}

#[tokio::test]
async fn legacy_pipelines_run_the_same_modules_still_turntable_and_scene_export() {
    use workflow_contracts::output_type::ArtifactKind;
    let (_dir, _products, runtime, artifacts) = setup("Box.glb");
    process(&runtime, &artifacts).await;
    let inputs: Map<String, Value> = json!({"product_id": "p1", "order_line_id": "l1"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let cases = [
        (
            ArtifactKind::Still,
            json!({"width": 128, "height": 128, "format": "png"}),
            "order.render_still",
            ArtifactRole::Still,
            "image/png",
        ),
        (
            ArtifactKind::Turntable,
            json!({"frames": 4, "width": 64, "height": 64}),
            "order.render_turntable",
            ArtifactRole::Turntable,
            "image/gif",
        ),
        (
            ArtifactKind::SceneExport,
            json!({"format": "glb"}),
            "order.export_scene",
            ArtifactRole::SceneExport,
            "model/gltf-binary",
        ),
    ];
    for (kind, settings, step, role, media) in cases {
        let report = runtime
            .run_legacy(
                &legacy_spec(kind, settings),
                "legacy",
                inputs.clone(),
                Map::new(),
                None,
                CancellationToken::new(),
            )
            .await
            .expect("legacy pipeline");
        all_succeeded(&report);
        let (media_type, bytes) = artifact(&report, &artifacts, step, role);
        assert_eq!(media_type, media, "{step}");
        assert!(!bytes.is_empty());
        if role == ArtifactRole::Turntable {
            assert_eq!(&bytes[..3], b"GIF");
            assert_eq!(
                report.node(step).expect("step").outputs["frames"]["frames"],
                4
            );
        }
    }
}
