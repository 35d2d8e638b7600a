//! The production modules end to end through the graph runtime: the cad_file and order_line
//! starter graphs on real fixtures with the real (llvmpipe) renderer.

use crate::common::{self, DirProducts};

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;
use workflow_contracts::{starter_graph, ArtifactRole, Family, Registry};
use workflow_engine::materials::{MaterialMap, NameRule};
use workflow_engine::modules::{
    production_modules, DeliverableSink, MemoryDeliverables, ProductionContext,
};
use workflow_engine::runtime::{
    MemoryArtifacts, NodeStatus, RunReport, RunRequest, RunStatus, Runtime,
};
use workflow_engine::{import_file, ImportParams};

fn setup(
    fixture: &str,
) -> (
    tempfile::TempDir,
    Arc<DirProducts>,
    Runtime,
    Arc<MemoryArtifacts>,
) {
    setup_source(common::gltf(fixture), None)
}

fn setup_source(
    source: PathBuf,
    deliverables: Option<Arc<dyn DeliverableSink>>,
) -> (
    tempfile::TempDir,
    Arc<DirProducts>,
    Runtime,
    Arc<MemoryArtifacts>,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let products = Arc::new(DirProducts {
        dir: dir.path().to_path_buf(),
        source,
        map: Mutex::new(MaterialMap::default()),
    });
    let mut ctx = ProductionContext::new(products.clone());
    ctx.deliverables = deliverables;
    let modules = production_modules(ctx);
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
            // Three frames: a cube turned by 90° looks the same, by 120° it does not.
            json!({"frames": 3, "width": 64, "height": 64}),
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
            let node = report.node(step).expect("step");
            assert_eq!(node.outputs["frames"]["frames"], 3);
            assert_eq!(node.outputs["frames"]["png_frames"], 3);
            let frames = turntable_frames(&report, &artifacts, step);
            assert_eq!(frames.len(), 3, "one PNG per frame");
            for png in &frames {
                assert_eq!(png_size(png), (64, 64));
            }
            assert_ne!(frames[0], frames[1], "the product turns between frames");
        }
    }
}

/// The PNG bytes of a node's `turntable_frame` artifacts, in the order they were stored.
fn turntable_frames(report: &RunReport, artifacts: &MemoryArtifacts, node: &str) -> Vec<Vec<u8>> {
    report
        .node(node)
        .expect("node in report")
        .artifacts
        .iter()
        .filter(|a| a.role == ArtifactRole::TurntableFrame)
        .map(|a| {
            let (r, bytes) = artifacts.get(&a.id).expect("frame stored");
            assert_eq!(r.media_type, "image/png");
            bytes
        })
        .collect()
}

#[tokio::test]
async fn a_published_turntable_delivers_the_gif_and_every_png_frame_in_order() {
    use workflow_contracts::output_type::ArtifactKind;
    let sink = Arc::new(MemoryDeliverables::default());
    let (_dir, _products, runtime, artifacts) =
        setup_source(common::gltf("Box.glb"), Some(sink.clone()));
    process(&runtime, &artifacts).await;
    let inputs: Map<String, Value> = json!({"product_id": "p1", "order_line_id": "l1"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let spec = legacy_spec(
        ArtifactKind::Turntable,
        json!({"frames": 3, "width": 48, "height": 48}),
    );
    let report = runtime
        .run_legacy(
            &spec,
            "legacy",
            inputs.clone(),
            Map::new(),
            None,
            CancellationToken::new(),
        )
        .await
        .expect("legacy pipeline");
    all_succeeded(&report);
    let names: Vec<_> = sink
        .deliverables()
        .iter()
        .map(|d| (d.deliverable.name.clone(), d.deliverable.role))
        .collect();
    assert_eq!(
        names,
        vec![
            ("p1_output_l1.gif".to_owned(), ArtifactRole::Turntable),
            (
                "p1_output_l1_000.png".to_owned(),
                ArtifactRole::TurntableFrame
            ),
            (
                "p1_output_l1_001.png".to_owned(),
                ArtifactRole::TurntableFrame
            ),
            (
                "p1_output_l1_002.png".to_owned(),
                ArtifactRole::TurntableFrame
            ),
            (
                "p1_output_l1_materials.json".to_owned(),
                ArtifactRole::MaterialReport
            ),
        ]
    );
    let frame_ids: Vec<_> = report
        .node("order.render_turntable")
        .expect("turntable step")
        .artifacts
        .iter()
        .filter(|a| a.role == ArtifactRole::TurntableFrame)
        .map(|a| Some(a.id.clone()))
        .collect();
    let delivered_ids: Vec<_> = sink.deliverables()[1..4]
        .iter()
        .map(|d| d.deliverable.artifact_id.clone())
        .collect();
    assert_eq!(
        delivered_ids, frame_ids,
        "each frame name points at its frame"
    );

    // Frames off: the GIF only, for quick previews.
    let mut overrides = Map::new();
    overrides.insert("order.render_turntable.png_frames".into(), json!(false));
    overrides.insert("order.publish.overwrite".into(), json!(true));
    let report = runtime
        .run_legacy(
            &spec,
            "legacy",
            inputs,
            overrides,
            None,
            CancellationToken::new(),
        )
        .await
        .expect("legacy pipeline");
    all_succeeded(&report);
    assert!(turntable_frames(&report, &artifacts, "order.render_turntable").is_empty());
}

/// The manifest's overall bounds `(min, max)` of a cad_file run with `overrides`.
async fn manifest_bounds(
    runtime: &Runtime,
    artifacts: &MemoryArtifacts,
    overrides: Value,
) -> ([f64; 3], [f64; 3]) {
    let report = run(
        runtime,
        Family::CadFile,
        overrides,
        json!({"product_id": "p1"}),
    )
    .await;
    all_succeeded(&report);
    let (_, manifest) = artifact(&report, artifacts, "metadata", ArtifactRole::PartManifest);
    let manifest: Value = serde_json::from_slice(&manifest).expect("manifest JSON");
    let v = |corner: &str| -> [f64; 3] {
        let a = manifest["bounds"][corner]
            .as_array()
            .expect("bounds corner");
        [0, 1, 2].map(|i| a[i].as_f64().expect("number"))
    };
    (v("min"), v("max"))
}

type Bounds = ([f64; 3], [f64; 3]);

/// `b` is `a` scaled by `factor`, within `rel` of `b`'s largest extent.
fn assert_scaled_within(a: Bounds, b: Bounds, factor: f64, rel: f64) {
    let extent = (0..3).map(|i| b.1[i] - b.0[i]).fold(0.0, f64::max);
    for (x, y) in a.0.iter().chain(&a.1).zip(b.0.iter().chain(&b.1)) {
        assert!(
            (x * factor - y).abs() <= rel * extent + 1e-9,
            "{a:?} × {factor} should be {b:?}"
        );
    }
}

fn assert_scaled(a: Bounds, b: Bounds, factor: f64) {
    assert_scaled_within(a, b, factor, 1e-5);
}

const SMALL_THUMB: (&str, &str) = ("thumbnail.width", "thumbnail.height");

fn small(mut overrides: Value) -> Value {
    overrides[SMALL_THUMB.0] = json!(64);
    overrides[SMALL_THUMB.1] = json!(64);
    overrides
}

#[tokio::test]
async fn source_unit_scales_a_gltf_to_metres() {
    let (_dir, _products, runtime, artifacts) = setup("Box.glb");
    let auto = manifest_bounds(&runtime, &artifacts, small(json!({}))).await;
    assert!(
        auto.1[0] - auto.0[0] > 0.1,
        "Box.glb is about a metre: {auto:?}"
    );
    let metres = manifest_bounds(
        &runtime,
        &artifacts,
        small(json!({"source.source_unit": "m"})),
    )
    .await;
    assert_scaled(auto, metres, 1.0);
    let mm = manifest_bounds(
        &runtime,
        &artifacts,
        small(json!({"source.source_unit": "mm"})),
    )
    .await;
    assert_scaled(auto, mm, 0.001);
    let inches = manifest_bounds(
        &runtime,
        &artifacts,
        small(json!({"cad.source.source_unit": "in"})),
    )
    .await;
    assert_scaled(auto, inches, 0.0254);
    // The preview GLB is in metres too: re-imported, it has the scaled bounds.
    let report = run(
        &runtime,
        Family::CadFile,
        small(json!({"source.source_unit": "mm"})),
        json!({"product_id": "p1"}),
    )
    .await;
    let (_, glb) = artifact(&report, &artifacts, "export_glb", ArtifactRole::PreviewGlb);
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("preview.glb");
    std::fs::write(&path, glb).expect("write");
    let scene = import_file(&path, &ImportParams::default()).expect("reimport");
    let b = scene.bounds();
    assert!(
        ((b.max[0] - b.min[0]) as f64 - (auto.1[0] - auto.0[0]) * 0.001).abs() < 1e-6,
        "{b:?}"
    );
}

#[tokio::test]
async fn source_unit_applies_to_a_step_file_only_when_it_states_no_unit() {
    let dir = tempfile::tempdir().expect("dir");
    let stated = common::fixtures().join("step").join("abc-0000.step");
    // The same part with its length unit taken out (OpenCASCADE then reads millimetres).
    let text = std::fs::read_to_string(&stated).expect("fixture");
    let unitless: String = text
        .replace("GLOBAL_UNCERTAINTY_ASSIGNED_CONTEXT( ( #67 ) )", "")
        .replace(
            "GLOBAL_UNIT_ASSIGNED_CONTEXT( ( #69, #70, #71 ) )",
            "GLOBAL_UNIT_ASSIGNED_CONTEXT( ( #70, #71 ) )",
        )
        .lines()
        .filter(|l| {
            !["#67 =", "#69 =", "#149 =", "#278 ="]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(!unitless.contains("LENGTH_UNIT"));
    let unitless_path = dir.path().join("unitless.step");
    std::fs::write(&unitless_path, unitless).expect("write");

    let (_d1, _p1, runtime, artifacts) = setup_source(stated, None);
    let auto = manifest_bounds(&runtime, &artifacts, small(json!({}))).await;
    // The file states metres: an explicit unit changes nothing (and says so).
    let inches = manifest_bounds(
        &runtime,
        &artifacts,
        small(json!({"source.source_unit": "in"})),
    )
    .await;
    assert_scaled(auto, inches, 1.0);

    let (_d2, _p2, runtime, artifacts) = setup_source(unitless_path, None);
    // Tessellated at another scale: the bounds agree to the chord error, not exactly.
    let unitless_auto = manifest_bounds(&runtime, &artifacts, small(json!({}))).await;
    assert_scaled_within(auto, unitless_auto, 0.001, 0.05);
    let unitless_m = manifest_bounds(
        &runtime,
        &artifacts,
        small(json!({"source.source_unit": "m"})),
    )
    .await;
    assert_scaled_within(auto, unitless_m, 1.0, 0.05);
}

#[tokio::test]
async fn cad_publish_replaces_earlier_results_only_when_allowed() {
    let (dir, _products, runtime, artifacts) = setup("Box.glb");
    process(&runtime, &artifacts).await;
    let before = std::fs::read(dir.path().join("preview.glb")).expect("published");
    let report = run(
        &runtime,
        Family::CadFile,
        small(json!({"publish.replace_existing": false, "source.source_unit": "mm"})),
        json!({"product_id": "p1"}),
    )
    .await;
    assert_eq!(report.status, RunStatus::Failed);
    let publish = report.node("publish").expect("publish");
    let error = publish.error.as_ref().expect("error");
    assert_eq!(error.code, "already_published", "{error:?}");
    assert_eq!(error.details["product_id"], "p1");
    assert!(error.message.contains("p1"), "{}", error.message);
    assert_eq!(
        std::fs::read(dir.path().join("preview.glb")).expect("kept"),
        before,
        "the earlier results are untouched"
    );
    // replace_existing (the default) replaces them.
    let report = run(
        &runtime,
        Family::CadFile,
        small(json!({"source.source_unit": "mm"})),
        json!({"product_id": "p1"}),
    )
    .await;
    all_succeeded(&report);
    assert_ne!(
        std::fs::read(dir.path().join("preview.glb")).expect("replaced"),
        before
    );
}

#[tokio::test]
async fn output_publish_records_deliverables_with_overwrite_and_notify() {
    let sink = Arc::new(MemoryDeliverables::default());
    let (_dir, products, runtime, artifacts) =
        setup_source(common::gltf("Box.glb"), Some(sink.clone()));
    process(&runtime, &artifacts).await;
    products.map.lock().expect("map").rules.push(NameRule {
        pattern: "*".into(),
        material: "paint_red".into(),
    });
    let order = |extra: Value| {
        let mut o = json!({"render.width": 64, "render.height": 64,
                           "materials.use_file_materials": false});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            o[k] = v;
        }
        o
    };
    let inputs = json!({"product_id": "p1", "order_line_id": "l1"});
    let report = run(
        &runtime,
        Family::OrderLine,
        order(json!({})),
        inputs.clone(),
    )
    .await;
    all_succeeded(&report);
    let delivered = sink.deliverables();
    assert_eq!(delivered.len(), 1, "{delivered:#?}");
    let d = &delivered[0];
    assert_eq!(d.deliverable.name, "p1_output_l1.png");
    assert_eq!(d.deliverable.role, ArtifactRole::Still);
    assert_eq!(d.order_line_id.as_deref(), Some("l1"));
    let still = &report.node("render").expect("render").artifacts[0];
    assert_eq!(
        d.deliverable.artifact_id.as_deref(),
        Some(still.id.as_str())
    );
    assert_eq!(
        sink.notifications(),
        vec![vec!["p1_output_l1.png".to_owned()]]
    );

    // overwrite off (the default): the name exists, the node fails naming it.
    let report = run(
        &runtime,
        Family::OrderLine,
        order(json!({})),
        inputs.clone(),
    )
    .await;
    assert_eq!(report.status, RunStatus::Failed);
    let error = report
        .node("publish")
        .and_then(|n| n.error.clone())
        .expect("publish error");
    assert_eq!(error.code, "deliverable_exists", "{error:?}");
    assert_eq!(error.details["name"], "p1_output_l1.png");
    assert!(
        error.message.contains("p1_output_l1.png"),
        "{}",
        error.message
    );
    assert_eq!(
        sink.deliverables()[0].deliverable.artifact_id,
        d.deliverable.artifact_id,
        "nothing replaced"
    );
    assert_eq!(
        sink.notifications().len(),
        1,
        "no notification for a refusal"
    );

    // overwrite on, notify off: the newer replaces it, no notification.
    let report = run(
        &runtime,
        Family::OrderLine,
        order(json!({"publish.overwrite": true, "publish.notify": false})),
        inputs.clone(),
    )
    .await;
    all_succeeded(&report);
    let delivered = sink.deliverables();
    assert_eq!(delivered.len(), 1);
    let newer = &report.node("render").expect("render").artifacts[0];
    assert_eq!(
        delivered[0].deliverable.artifact_id.as_deref(),
        Some(newer.id.as_str())
    );
    assert_eq!(sink.notifications().len(), 1);
    let logs: Vec<String> = report
        .node("publish")
        .expect("publish")
        .logs
        .iter()
        .map(|l| l.message.clone())
        .collect();
    assert!(
        logs.iter()
            .any(|l| l.contains("replaced the earlier deliverable p1_output_l1.png")),
        "{logs:?}"
    );
}

/// A turntable is encoded as it renders and a cancel frees the render thread within about
/// one frame: a 720-frame legacy turntable is cancelled once its first PNG frames are stored
/// (so frames are handed over while rendering, not kept to the end), and a job queued on the
/// same render thread right after the cancel must start long before the remaining ~700
/// frames could have been rendered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_turntable_frees_the_renderer_within_a_frame() {
    use std::time::{Duration, Instant};
    use workflow_contracts::output_type::ArtifactKind;
    use workflow_engine::runtime::{RunEventKind, RunStatus};
    let dir = tempfile::tempdir().expect("temp dir");
    let products = Arc::new(DirProducts {
        dir: dir.path().to_path_buf(),
        source: common::gltf("Box.glb"),
        map: Mutex::new(MaterialMap::default()),
    });
    let ctx = ProductionContext::new(products);
    let renderer = ctx.renderer.clone();
    let artifacts = Arc::new(MemoryArtifacts::default());
    let runtime = Runtime::new(
        Arc::new(Registry::builtin()),
        Arc::new(production_modules(ctx)),
        artifacts.clone(),
    );
    process(&runtime, &artifacts).await;
    let inputs: Map<String, Value> = json!({"product_id": "p1", "order_line_id": "l1"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    // 128² × 720 = 11.8 Mpx: inside the default budget, long enough to notice.
    let spec = legacy_spec(
        ArtifactKind::Turntable,
        json!({"frames": 720, "width": 128, "height": 128}),
    );
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let run = {
        let (runtime, cancel) = (runtime.clone(), cancel.clone());
        tokio::spawn(async move {
            runtime
                .run_legacy(&spec, "long", inputs, Map::new(), Some(tx), cancel)
                .await
        })
    };
    let mut render_started = None;
    let mut frames_stored = 0u32;
    while let Some(event) = rx.recv().await {
        match event.kind {
            RunEventKind::NodeStatus { node }
                if node.node_id == "order.render_turntable"
                    && node.status == NodeStatus::Running =>
            {
                render_started = Some(Instant::now());
            }
            RunEventKind::Artifact { artifact, .. }
                if artifact.role == ArtifactRole::TurntableFrame =>
            {
                frames_stored += 1;
                break;
            }
            _ => {}
        }
    }
    assert_eq!(
        frames_stored, 1,
        "frames are stored while the turntable renders"
    );
    let started = render_started.expect("the turntable step started");
    // An upper bound of one frame's time: the first stored PNG needed a whole encoder batch
    // (one frame per core) plus the scene upload.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    let frame_time = started.elapsed() / cores.max(1);
    cancel.cancel();
    let cancelled_at = Instant::now();
    let service = renderer.get().expect("renderer started");
    tokio::task::spawn_blocking(move || service.run(|_| ()).expect("render thread alive"))
        .await
        .expect("job");
    let freed = cancelled_at.elapsed();
    println!(
        "turntable cancel: render thread free after {} ms (one frame ≤ {} ms)",
        freed.as_millis(),
        frame_time.as_millis()
    );
    let report = run.await.expect("task").expect("legacy");
    assert_eq!(report.status, RunStatus::Cancelled);
    let node = report.node("order.render_turntable").expect("step");
    assert_eq!(node.status, NodeStatus::Cancelled);
    let stored = node
        .artifacts
        .iter()
        .filter(|a| a.role == ArtifactRole::TurntableFrame)
        .count();
    assert!(
        stored < 700,
        "the turntable stopped early ({stored} frames)"
    );
    assert!(
        freed < frame_time * 4 + Duration::from_millis(500),
        "render thread busy for {freed:?} after the cancel (a frame takes ≤ {frame_time:?})"
    );
}

/// A long turntable holds one encoder batch of raw frames, not all of them (the module logs
/// the most frames its encoder held).
#[tokio::test]
async fn a_long_turntable_keeps_only_a_batch_of_frames() {
    use workflow_contracts::output_type::ArtifactKind;
    let (_dir, _products, runtime, artifacts) = setup("Box.glb");
    process(&runtime, &artifacts).await;
    let inputs: Map<String, Value> = json!({"product_id": "p1", "order_line_id": "l1"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let frames = 60;
    let spec = legacy_spec(
        ArtifactKind::Turntable,
        json!({"frames": frames, "width": 32, "height": 32}),
    );
    let report = runtime
        .run_legacy(
            &spec,
            "long",
            inputs,
            Map::new(),
            None,
            CancellationToken::new(),
        )
        .await
        .expect("legacy pipeline");
    all_succeeded(&report);
    let node = report.node("order.render_turntable").expect("step");
    assert_eq!(node.outputs["frames"]["frames"], frames);
    assert_eq!(
        turntable_frames(&report, &artifacts, "order.render_turntable").len(),
        frames
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let held: usize = node
        .logs
        .iter()
        .find_map(|l| {
            l.message
                .split_once("at most ")
                .and_then(|(_, rest)| rest.split(' ').next())
                .and_then(|n| n.parse().ok())
        })
        .expect("the module logs the frames it held");
    assert!(
        held <= cores.min(frames),
        "held {held} of {frames} frames (batch {cores})"
    );
}
