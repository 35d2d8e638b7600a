//! Golden-case parity on real input: engine renders of a fixture (same camera → pass, another
//! camera preset → fail), exported GLBs (one material changed → fail naming the part key), and
//! whole legacy vs graph runs through the production modules with attribution.

use crate::common::{self, DirProducts};

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;
use workflow_contracts::output_type::{ArtifactKind, OutputTypeSpec, Rollout};
use workflow_contracts::{starter_graph, ArtifactRole, Family, Registry};
use workflow_engine::camera::{CameraParams, CameraPreset};
use workflow_engine::compare::{
    attribute, compare_glb, compare_image_bytes, compare_runs, judge_with_noise, ArtifactDetail,
    ImageThresholds, NoiseRule, PartAspect, RunOutputs, SceneThresholds, ThresholdConfig,
    Thresholds, Verdict,
};
use workflow_engine::export_glb::{export_scene, ExportParams, SceneAdditions};
use workflow_engine::lighting::LightingParams;
use workflow_engine::materials::{default_library, MaterialMap, NameRule, ResolveOptions};
use workflow_engine::modules::{production_modules, ProductionContext};
use workflow_engine::render::{ImageParams, RenderService, Renderer};
use workflow_engine::runtime::{MemoryArtifacts, RunReport, RunRequest, RunStatus, Runtime};
use workflow_engine::{extract_manifest, resolve_materials, ManifestParams, MaterialResolution};

fn service() -> &'static RenderService {
    static SERVICE: OnceLock<RenderService> = OnceLock::new();
    SERVICE.get_or_init(|| RenderService::start().expect("headless renderer starts"))
}

/// CesiumMilkTruck (textured, several parts) rendered to PNG with `preset`.
fn render_png(preset: CameraPreset, width: u32, height: u32) -> Vec<u8> {
    let scene = Arc::new(common::load("CesiumMilkTruck.glb"));
    let manifest = extract_manifest(&scene, &ManifestParams::default()).expect("manifest");
    let resolution = MaterialResolution::file_preview(&manifest);
    let params = ImageParams {
        width,
        height,
        camera: Some(CameraParams {
            preset,
            ..CameraParams::default()
        }),
        ..ImageParams::default()
    };
    let image = service()
        .run(move |r: &mut Renderer| {
            r.render_still(
                &scene,
                &manifest,
                &resolution,
                &LightingParams::default(),
                &params,
            )
        })
        .expect("service")
        .expect("render");
    image.to_png().expect("png")
}

/// Writes `bytes` under `$COMPARE_TEST_OUT` when set (to look at the difference images).
fn keep(name: &str, bytes: &[u8]) {
    if let Ok(dir) = std::env::var("COMPARE_TEST_OUT") {
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(PathBuf::from(dir).join(name), bytes);
    }
}

#[test]
fn renders_with_the_same_camera_pass_and_another_preset_fails() {
    let t = ImageThresholds::default();
    let a = render_png(CameraPreset::ThreeQuarter, 160, 120);
    let b = render_png(CameraPreset::ThreeQuarter, 160, 120);
    let same = compare_image_bytes(&a, &b, &t).expect("compares");
    assert_eq!(
        same.comparison.verdict,
        Verdict::Pass,
        "{:?}",
        same.comparison.findings
    );
    let m = same.comparison.metrics.as_ref().expect("metrics");
    assert!(m.ssim > 0.999, "{}", m.ssim);
    assert!(m.psnr() > 50.0, "{}", m.psnr());

    let front = render_png(CameraPreset::Front, 160, 120);
    let moved = compare_image_bytes(&a, &front, &t).expect("compares");
    let c = &moved.comparison;
    assert_eq!(c.verdict, Verdict::Fail, "{:?}", c.findings);
    let codes: Vec<&str> = c.findings.iter().map(|f| f.code.as_str()).collect();
    assert!(codes.contains(&"fail_percent"), "{codes:?}");
    assert!(codes.contains(&"ssim"), "{codes:?}");
    let shares = c.shares.as_ref().expect("shares");
    assert!(shares.over_fail.percent > 5.0, "{shares:?}");
    let diff = moved.diff_png.as_deref().expect("difference image");
    keep("truck-three-quarter-vs-front.png", diff);
    let img = image::load_from_memory(diff).expect("PNG").to_rgba8();
    assert_eq!(img.dimensions(), (160, 120));
    let red = img.pixels().filter(|p| p[0] > 140 && p[1] == 0).count();
    assert!(red as f64 > 0.05 * 160.0 * 120.0, "{red} red pixels");

    let small = render_png(CameraPreset::ThreeQuarter, 128, 128);
    let sized = compare_image_bytes(&a, &small, &t).expect("no error");
    assert_eq!(sized.comparison.verdict, Verdict::Fail);
    assert_eq!(sized.comparison.findings[0].code, "size_mismatch");
}

fn truck_glb(map: &MaterialMap) -> (Vec<u8>, Vec<String>) {
    let scene = common::load("CesiumMilkTruck.glb");
    let manifest = extract_manifest(&scene, &ManifestParams::default()).expect("manifest");
    let res = resolve_materials(
        &manifest,
        &default_library(),
        map,
        &ResolveOptions::default(),
    )
    .expect("resolve");
    let additions = SceneAdditions {
        resolution: Some(&res),
        ..SceneAdditions::default()
    };
    let files = export_scene(
        &scene,
        &manifest,
        &ExportParams::default(),
        &additions,
        "glb",
        "truck",
    )
    .expect("export");
    let keys = manifest.parts.iter().map(|p| p.part_key.clone()).collect();
    (files[0].bytes.clone(), keys)
}

#[test]
fn glb_with_one_material_changed_fails_naming_that_part() {
    let map = MaterialMap {
        rules: vec![NameRule {
            pattern: "*".into(),
            material: "steel_brushed".into(),
        }],
        ..MaterialMap::default()
    };
    let (reference, keys) = truck_glb(&map);
    assert!(keys.len() > 1, "{keys:?}");
    let (again, _) = truck_glb(&map);
    let t = SceneThresholds::default();
    let same = compare_glb(&reference, &again, &t).expect("compares");
    assert_eq!(same.verdict, Verdict::Pass, "{:?}", same.findings);
    assert_eq!(
        same.reference.parts,
        keys.len(),
        "part keys read from extras"
    );

    let changed_key = keys[keys.len() - 1].clone();
    let mut changed = map.clone();
    changed
        .assignments
        .insert(changed_key.clone(), "rubber_black".into());
    let (candidate, _) = truck_glb(&changed);
    let c = compare_glb(&reference, &candidate, &t).expect("compares");
    assert_eq!(c.verdict, Verdict::Fail);
    assert_eq!(c.failing_parts(), vec![changed_key.as_str()]);
    assert_eq!(c.parts[0].aspect, PartAspect::Material);
    assert!(c.parts[0].message.contains("rubber_black"), "{:?}", c.parts);
    assert!(c.findings[0].message.contains(&changed_key));
    let json = serde_json::to_value(&c).expect("json");
    assert_eq!(json["parts"][0]["part_key"], json!(changed_key));
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn spec(kind: ArtifactKind, settings: Value) -> OutputTypeSpec {
    OutputTypeSpec {
        name: "golden".into(),
        workflow_family: Family::OrderLine,
        artifact_kind: kind,
        workflow_id: None,
        invocation_overrides: Map::new(),
        legacy_settings: settings,
        rollout: Rollout::Shadow,
        fallback_to_legacy: false,
    }
}

#[tokio::test]
async fn legacy_vs_graph_runs_pass_and_a_camera_change_is_attributed_to_the_camera_node() {
    let dir = tempfile::tempdir().expect("temp dir");
    let products = Arc::new(DirProducts {
        dir: dir.path().to_path_buf(),
        source: common::gltf("Box.glb"),
        map: Mutex::new(MaterialMap::default()),
    });
    let registry = Registry::builtin();
    let store = Arc::new(MemoryArtifacts::default());
    let runtime = Runtime::new(
        Arc::new(registry.clone()),
        Arc::new(production_modules(ProductionContext::new(products))),
        store.clone(),
    );
    let inputs = obj(json!({"product_id": "p1", "order_line_id": "l1"}));
    let cad = runtime
        .run_graph(
            RunRequest {
                run_id: "process".into(),
                graph: starter_graph(Family::CadFile, &registry),
                overrides: obj(json!({"thumbnail.width": 64, "thumbnail.height": 64})),
                inputs: inputs.clone(),
            },
            None,
            CancellationToken::new(),
        )
        .await
        .expect("cad graph");
    assert_eq!(cad.status, RunStatus::Succeeded, "{cad:#?}");

    let legacy = |run_id: &'static str, kind: ArtifactKind, settings: Value| {
        let runtime = runtime.clone();
        let inputs = inputs.clone();
        async move {
            runtime
                .run_legacy(
                    &spec(kind, settings),
                    run_id,
                    inputs,
                    Map::new(),
                    None,
                    CancellationToken::new(),
                )
                .await
                .expect("legacy pipeline")
        }
    };
    let graph = starter_graph(Family::OrderLine, &registry);
    let graph_run = |run_id: &'static str, overrides: Value| {
        let runtime = runtime.clone();
        let request = RunRequest {
            run_id: run_id.into(),
            graph: graph.clone(),
            overrides: obj(overrides),
            inputs: inputs.clone(),
        };
        async move {
            runtime
                .run_graph(request, None, CancellationToken::new())
                .await
                .expect("graph run")
        }
    };
    let still = json!({"width": 96, "height": 96, "format": "png"});
    let legacy_a: RunReport = legacy("legacy-a", ArtifactKind::Still, still.clone()).await;
    let legacy_b: RunReport = legacy("legacy-b", ArtifactKind::Still, still).await;
    let graph_same = graph_run(
        "graph-same",
        json!({"render.width": 96, "render.height": 96}),
    )
    .await;
    let graph_front = graph_run(
        "graph-front",
        json!({"render.width": 96, "render.height": 96, "camera.camera_preset": "front"}),
    )
    .await;
    for r in [&legacy_a, &legacy_b, &graph_same, &graph_front] {
        assert_eq!(r.status, RunStatus::Succeeded, "{r:#?}");
    }
    let thresholds = ThresholdConfig::default()
        .resolve(ArtifactKind::Still, None)
        .expect("thresholds");
    fn outs<'a>(report: &'a RunReport, store: &'a MemoryArtifacts) -> RunOutputs<'a> {
        RunOutputs {
            report,
            artifacts: store,
        }
    }

    // Same settings through both paths: identical still, same side effects, no attribution.
    let parity = compare_runs(
        ArtifactKind::Still,
        outs(&legacy_a, &store),
        outs(&graph_same, &store),
        &thresholds,
    )
    .with_attribution(attribute(&graph, &registry, &graph_same, &legacy_a));
    assert_eq!(parity.verdict, Verdict::Pass, "{parity:#?}");
    let still_cmp = parity
        .artifacts_of(ArtifactRole::Still)
        .next()
        .expect("still compared");
    assert!(matches!(still_cmp.comparison, ArtifactDetail::Image(_)));
    assert!(parity
        .side_effects
        .documents
        .iter()
        .any(|d| d.role == ArtifactRole::MaterialReport));
    let attribution = parity.attribution.as_ref().expect("attribution");
    assert_eq!(attribution.node_id, None, "{}", attribution.message);
    let json = serde_json::to_value(&parity).expect("report JSON");
    assert_eq!(json["verdict"], "pass");
    assert!(json.get("blobs").is_none(), "blobs travel separately");

    // Another camera preset in the graph: the still fails, the camera node is named.
    let regression = compare_runs(
        ArtifactKind::Still,
        outs(&legacy_a, &store),
        outs(&graph_front, &store),
        &thresholds,
    )
    .with_attribution(attribute(&graph, &registry, &graph_front, &legacy_a));
    assert_eq!(regression.verdict, Verdict::Fail);
    let still_cmp = regression
        .artifacts_of(ArtifactRole::Still)
        .next()
        .expect("still compared");
    assert_eq!(still_cmp.verdict, Verdict::Fail);
    let blob_name = still_cmp.diff_image.as_deref().expect("difference image");
    let blob = regression.blob(blob_name).expect("blob");
    assert_eq!(blob.media_type, "image/png");
    keep("golden-still-diff.png", &blob.bytes);
    for (name, id) in [
        ("golden-still-legacy.png", &still_cmp.reference_artifact),
        (
            "golden-still-graph-front.png",
            &still_cmp.candidate_artifact,
        ),
    ] {
        if let Some((_, bytes)) = store.get(id) {
            keep(name, &bytes);
        }
    }
    let a = regression.attribution.as_ref().expect("attribution");
    assert_eq!(a.node_id.as_deref(), Some("camera"), "{}", a.message);
    assert_eq!(a.legacy_step.as_deref(), Some("order.camera"));
    assert_eq!(a.cause.as_deref(), Some("output"));

    // Run-to-run noise of legacy: identical here, so it widens nothing and the failure stands.
    let noise = compare_runs(
        ArtifactKind::Still,
        outs(&legacy_a, &store),
        outs(&legacy_b, &store),
        &thresholds,
    );
    assert_eq!(noise.verdict, Verdict::Pass, "{noise:#?}");
    let judged = judge_with_noise(&regression, &noise, &NoiseRule::default());
    assert_eq!(judged.verdict, Verdict::Fail);
    assert!(!judged.noise_baseline.as_ref().expect("applied").unstable);

    // A turntable through legacy twice: frames decoded from the GIFs, compared one by one.
    let tt = json!({"frames": 3, "width": 48, "height": 48});
    let t1 = legacy("tt-a", ArtifactKind::Turntable, tt.clone()).await;
    let t2 = legacy("tt-b", ArtifactKind::Turntable, tt).await;
    let turntable = compare_runs(
        ArtifactKind::Turntable,
        outs(&t1, &store),
        outs(&t2, &store),
        &Thresholds::default(),
    );
    assert_eq!(turntable.verdict, Verdict::Pass, "{turntable:#?}");
    let tt_cmp = turntable
        .artifacts_of(ArtifactRole::Turntable)
        .next()
        .expect("turntable compared");
    match &tt_cmp.comparison {
        ArtifactDetail::Turntable(c) => assert_eq!(c.frames.len(), 3),
        other => panic!("not a turntable comparison: {other:?}"),
    }
}
