//! Viewer ↔ render consistency on every glTF and STEP fixture, without a window:
//!
//! 1. Each fixture is processed by the real cad_file starter graph (import, manifest, preview
//!    GLB with part keys) exactly as the server does.
//! 2. The viewer opens that preview GLB (`viewer::model::load_glb`) and resolves the material
//!    map; the order_line starter graph runs the same map through `material.resolve`. The
//!    material of every part key must be the same — with an empty map (file materials and
//!    missing parts) and with an explicit assignment plus a name rule.
//! 3. The viewer's per-part scene is rendered headless (the engine renderer on EGL) with a
//!    known assignment; the id-buffer pass finds the assigned part's pixels, which must show
//!    that material's colour, and the renderer's own by-material batching of the same
//!    resolution must render the same image.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;
use workflow_contracts::{starter_graph, ArtifactRole, Family, Registry};
use workflow_engine::lighting::LightingParams;
use workflow_engine::materials::{
    default_library, MaterialLibrary, MaterialMap, MaterialResolution, NameRule, PbrMaterial,
};
use workflow_engine::modules::{
    production_modules, CadPublication, ProductScene, ProductSource, ProductionContext,
    PublishError,
};
use workflow_engine::render::scene_builder::{self, prepare_scene, upload_scene, Grouping};
use workflow_engine::render::{render_id_buffer, ImageParams, RenderService, Renderer};
use workflow_engine::runtime::{MemoryArtifacts, RunReport, RunRequest, RunStatus, Runtime};
use workflow_studio::viewer::model::{load_glb, DocSource, LoadedDoc};

use crate::support::fixtures;

const FIXTURES: &[&str] = &[
    "gltf/Box.glb",
    "gltf/BoxTextured.glb",
    "gltf/CesiumMilkTruck.glb",
    "gltf/2CylinderEngine.glb",
    "gltf/NegativeScaleTest.glb",
    "gltf/SimpleInstancing.glb",
    "gltf/SimpleMeshes/SimpleMeshes.gltf",
    "step/abc-0000.step",
    "step/as1-oc-214.step",
    "step/nist_mbe_pmi_1.step",
];

/// A loud, unlit-looking test material: pure linear green, fully rough.
fn probe() -> PbrMaterial {
    PbrMaterial {
        name: "probe_green".into(),
        base_color: [0.0, 1.0, 0.0, 1.0],
        metallic: 0.0,
        roughness: 1.0,
        emissive: [0.0; 3],
        opacity: 1.0,
    }
}

fn library() -> MaterialLibrary {
    let mut lib = default_library();
    lib.materials.push(probe());
    lib
}

/// One product in a temporary directory (the server's `Products`, reduced).
struct DirProducts {
    dir: PathBuf,
    source: PathBuf,
    map: Mutex<MaterialMap>,
}

impl ProductSource for DirProducts {
    fn cad_file(&self, _: &str) -> Result<PathBuf, String> {
        Ok(self.source.clone())
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
        Ok((library(), map))
    }
    fn publish_cad(&self, p: CadPublication<'_>) -> Result<(), PublishError> {
        std::fs::write(self.dir.join("preview.glb"), p.glb)
            .map_err(|e| PublishError::Store(e.to_string()))
    }
}

struct Product {
    _dir: tempfile::TempDir,
    products: Arc<DirProducts>,
    runtime: Runtime,
    artifacts: Arc<MemoryArtifacts>,
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

async fn run(p: &Product, family: Family, overrides: Value) -> RunReport {
    let report = p
        .runtime
        .run_graph(
            RunRequest {
                run_id: format!("run-{family:?}"),
                graph: starter_graph(family, &Registry::builtin()),
                overrides: obj(overrides),
                inputs: obj(json!({"product_id": "p1", "order_line_id": "l1"})),
            },
            None,
            CancellationToken::new(),
        )
        .await
        .expect("valid starter graph");
    assert_eq!(report.status, RunStatus::Succeeded, "{report:#?}");
    report
}

fn artifact(p: &Product, report: &RunReport, node: &str, role: ArtifactRole) -> Vec<u8> {
    let n = report.node(node).expect("node in report");
    let a = n
        .artifacts
        .iter()
        .find(|a| a.role == role)
        .unwrap_or_else(|| panic!("{node} has a {role} artifact"));
    p.artifacts.get(&a.id).expect("stored").1
}

/// Processes the fixture like an upload: the cad_file starter graph, preview GLB out.
async fn process(path: &Path) -> (Product, Vec<u8>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let products = Arc::new(DirProducts {
        dir: dir.path().to_path_buf(),
        source: path.to_path_buf(),
        map: Mutex::new(MaterialMap::default()),
    });
    let artifacts = Arc::new(MemoryArtifacts::default());
    let runtime = Runtime::new(
        Arc::new(Registry::builtin()),
        Arc::new(production_modules(ProductionContext::new(products.clone()))),
        artifacts.clone(),
    );
    let p = Product {
        _dir: dir,
        products,
        runtime,
        artifacts,
    };
    let report = run(
        &p,
        Family::CadFile,
        json!({"thumbnail.width": 32, "thumbnail.height": 32}),
    )
    .await;
    let glb = artifact(&p, &report, "export_glb", ArtifactRole::PreviewGlb);
    (p, glb)
}

/// What `material.resolve` handed on to the render node, for `map`.
async fn module_resolution(p: &Product, map: &MaterialMap) -> MaterialResolution {
    *p.products.map.lock().expect("map") = map.clone();
    let report = run(
        p,
        Family::OrderLine,
        json!({"render.width": 16, "render.height": 16, "materials.missing_policy": "placeholder"}),
    )
    .await;
    let bytes = artifact(p, &report, "materials", ArtifactRole::MaterialReport);
    serde_json::from_slice(&bytes).expect("material report")
}

fn viewer_doc(glb: &[u8], map: &MaterialMap) -> LoadedDoc {
    load_glb(
        glb,
        DocSource::File {
            name: "preview.glb".into(),
        },
        library(),
        map.clone(),
        None,
    )
    .expect("the viewer opens the preview GLB")
}

fn assert_same(fixture: &str, viewer: &MaterialResolution, module: &MaterialResolution) {
    assert_eq!(
        viewer.parts.len(),
        module.parts.len(),
        "{fixture}: part count"
    );
    for (v, m) in viewer.parts.iter().zip(&module.parts) {
        assert_eq!(v, m, "{fixture}: part {}", v.part_key);
    }
    assert_eq!(viewer.missing, module.missing, "{fixture}: missing parts");
}

const SIZE: u32 = 160;

/// Renders the viewer's per-part scene; returns the image, per-part interior pixels (from the
/// id buffer) and the renderer's by-material image of the same resolution.
struct Rendered {
    rgba: Vec<u8>,
    by_material: Vec<u8>,
    pixels: HashMap<String, Vec<(u32, u32)>>,
}

fn render(service: &RenderService, doc: &LoadedDoc) -> Rendered {
    let scene = doc.scene.clone();
    let manifest = doc.manifest.clone();
    let resolution = doc.resolved.resolution.clone();
    service
        .run(move |r: &mut Renderer| {
            let params = ImageParams {
                width: SIZE,
                height: SIZE,
                ..ImageParams::default()
            };
            let prepared = prepare_scene(&scene, &manifest, &resolution, Grouping::PerPart);
            let built = upload_scene(r.context(), &scene, prepared);
            let pose = Renderer::camera_pose(&built, &params);
            let image = r
                .render_built(&built, &LightingParams::default(), &params, &pose)
                .expect("render");
            let camera = scene_builder::camera(&pose, SIZE, SIZE);
            let ids = render_id_buffer(r.context(), &built, &camera, &|_| true).expect("ids");
            let mut pixels: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
            for (d, keys) in built.part_keys.iter().enumerate() {
                if let Some(k) = keys.first() {
                    pixels
                        .entry(k.clone())
                        .or_default()
                        .extend(ids.interior_pixels(d));
                }
            }
            let batched = r
                .render_still(
                    &scene,
                    &manifest,
                    &resolution,
                    &LightingParams::default(),
                    &params,
                )
                .expect("by-material render");
            Rendered {
                rgba: image.rgba,
                by_material: batched.rgba,
                pixels,
            }
        })
        .expect("render service")
}

fn px(rgba: &[u8], (x, y): (u32, u32)) -> [i32; 3] {
    let i = ((y * SIZE + x) * 4) as usize;
    [rgba[i] as i32, rgba[i + 1] as i32, rgba[i + 2] as i32]
}

/// Share of pixels where `pred` holds.
fn share(rgba: &[u8], pixels: &[(u32, u32)], pred: impl Fn([i32; 3]) -> bool) -> f64 {
    if pixels.is_empty() {
        return 0.0;
    }
    pixels.iter().filter(|&&p| pred(px(rgba, p))).count() as f64 / pixels.len() as f64
}

#[test]
fn viewer_and_render_modules_resolve_and_show_the_same_materials() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let service = RenderService::start().expect("headless renderer (EGL)");
    let mut checked = Vec::new();
    for &fixture in FIXTURES {
        let path = fixtures().join(fixture);
        let (product, glb) = rt.block_on(process(&path));

        // 1. Empty map: file materials and missing parts.
        let empty = MaterialMap::default();
        let viewer = viewer_doc(&glb, &empty);
        let module = rt.block_on(module_resolution(&product, &empty));
        assert_same(fixture, &viewer.resolved.resolution, &module);

        // 2. The part with the most visible pixels gets the probe; a rule paints the rest.
        let baseline = render(&service, &viewer);
        let (target, _) = baseline
            .pixels
            .iter()
            .max_by_key(|(k, p)| (p.len(), std::cmp::Reverse((*k).clone())))
            .expect("some part is visible");
        let target = target.clone();
        let map = MaterialMap {
            assignments: [(target.clone(), "probe_green".to_owned())].into(),
            rules: vec![NameRule {
                pattern: "*".into(),
                material: "paint_blue".into(),
            }],
        };
        let viewer = viewer_doc(&glb, &map);
        let module = rt.block_on(module_resolution(&product, &map));
        assert_same(fixture, &viewer.resolved.resolution, &module);
        assert!(viewer.resolved.resolution.missing.is_empty(), "{fixture}");

        // 3. The probe's colour is on the target's pixels, blue on the others'.
        let shot = render(&service, &viewer);
        let mine = &shot.pixels[&target];
        assert!(
            mine.len() >= 20,
            "{fixture}: {target} covers {} px",
            mine.len()
        );
        let green = share(&shot.rgba, mine, |[r, g, b]| g > r + 40 && g > b + 40);
        assert!(
            green > 0.9,
            "{fixture}: only {:.0}% of {target}'s pixels are probe green",
            green * 100.0
        );
        let others: Vec<(u32, u32)> = shot
            .pixels
            .iter()
            .filter(|(k, _)| **k != target)
            .flat_map(|(_, p)| p.iter().copied())
            .collect();
        if others.len() >= 20 {
            let blue = share(&shot.rgba, &others, |[r, g, b]| b > r + 15 && b > g + 10);
            assert!(
                blue > 0.8,
                "{fixture}: only {:.0}% of the other parts' pixels are paint_blue",
                blue * 100.0
            );
        }
        // The renderer's by-material batching draws the same picture.
        let differing = shot
            .rgba
            .chunks_exact(4)
            .zip(shot.by_material.chunks_exact(4))
            .filter(|(a, b)| a.iter().zip(*b).any(|(x, y)| x.abs_diff(*y) > 3))
            .count();
        let total = (SIZE * SIZE) as usize;
        assert!(
            differing * 200 < total,
            "{fixture}: {differing} of {total} pixels differ between per-part and by-material"
        );
        checked.push(format!(
            "{fixture}: {} parts, target {target}",
            module.parts.len()
        ));
    }
    eprintln!("{}", checked.join("\n"));
    assert!(checked.len() >= 7, "every glTF fixture was checked");
}
