//! Viewer load and part-tree cost on a generated assembly of 5,000 part instances and
//! 1,000,000 drawn triangles (1,000 meshes × 5 instances × 200 triangles; 50 sub-assemblies;
//! a third of the meshes without a file material, so the missing list is long).
//!
//! Run with `cargo bench -p workflow-studio --bench viewer`; figures go to
//! docs/performance.md ("Viewer"). It measures:
//! - load: the preview GLB bytes → import → manifest → material resolution → per-part GPU
//!   batches (`viewer::model::load_glb`, what the background task does), then the document
//!   with its part tree (`ViewerDoc::from_loaded`, on the UI thread) — target < 2 s;
//! - part-tree filter frames: the real app's `frame_ui` with the viewer tab open while the
//!   filter text changes every frame (layout + tessellation, CPU only: the viewport's paint
//!   callback needs a GL context and is not run) — target p95 < 8 ms;
//! - GPU upload of the prepared batches on the headless renderer (EGL; llvmpipe without a
//!   GPU), when one can be created.

use std::sync::Arc;
use std::time::{Duration, Instant};

use three_d::{Mat4, SquareMatrix};
use workflow_contracts::Registry;
use workflow_engine::export_glb::{export_glb, ExportParams, SceneAdditions};
use workflow_engine::manifest::{extract_manifest, ManifestParams};
use workflow_engine::materials::{default_library, MaterialMap, NameRule};
use workflow_engine::scene::{compute_normals, FileMaterial, Mesh, Node, Primitive, Scene};
use workflow_studio::app::{MainView, StudioApp};
use workflow_studio::viewer::model::{load_glb, DocSource, ViewerDoc};

const MESHES: usize = 1_000;
const INSTANCES: usize = 5;
const GROUPS: usize = 50;
/// 25 segments × 4 rings × 2.
const TRIS_PER_MESH: usize = 200;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A closed-ish cylinder side: `seg` × `rings` quads.
fn cylinder(radius: f32, height: f32, seg: usize, rings: usize) -> Primitive {
    let mut positions = Vec::new();
    for r in 0..=rings {
        let y = height * r as f32 / rings as f32;
        for s in 0..seg {
            let a = std::f32::consts::TAU * s as f32 / seg as f32;
            positions.push([radius * a.cos(), y, radius * a.sin()]);
        }
    }
    let mut indices = Vec::new();
    for r in 0..rings {
        for s in 0..seg {
            let i = (r * seg + s) as u32;
            let j = (r * seg + (s + 1) % seg) as u32;
            let k = i + seg as u32;
            let l = j + seg as u32;
            indices.extend([i, k, j, j, k, l]);
        }
    }
    let normals = compute_normals(&positions, &indices);
    Primitive {
        positions,
        normals,
        uvs: None,
        indices,
        material: None,
    }
}

const KINDS: [&str; 8] = [
    "bolt", "nut", "washer", "bracket", "housing", "shaft", "spacer", "pin",
];

fn assembly() -> Scene {
    let mut scene = Scene::default();
    for m in 0..MESHES {
        let mut prim = cylinder(
            0.01 + (m % 7) as f32 * 0.004,
            0.02 + (m % 5) as f32 * 0.01,
            25,
            4,
        );
        // Two thirds carry a file material; the rest have none (missing until repaired).
        if m % 3 != 0 {
            prim.material = Some(m % 6);
        }
        scene.meshes.push(Mesh {
            name: Some(format!("{}_mesh_{m}", KINDS[m % KINDS.len()])),
            primitives: vec![prim],
        });
    }
    for i in 0..6 {
        scene.materials.push(FileMaterial {
            name: Some(format!("file_material_{i}")),
            base_color: [0.2 + 0.1 * i as f32, 0.5, 0.7 - 0.1 * i as f32, 1.0],
            metallic: 0.0,
            roughness: 0.5,
            double_sided: true,
            ..Default::default()
        });
    }
    let mut root = Node::new(Some("assembly".into()), Mat4::identity());
    let root_index = 0;
    scene.nodes.push(Node::new(None, Mat4::identity()));
    scene.roots.push(root_index);
    let per_group = MESHES * INSTANCES / GROUPS;
    let mut part = 0usize;
    for g in 0..GROUPS {
        let gx = (g % 10) as f32 * 0.6;
        let gz = (g / 10) as f32 * 0.6;
        let mut group = Node::new(
            Some(format!("module_{g}")),
            Mat4::from_translation(three_d::vec3(gx, 0.0, gz)),
        );
        group.parent = Some(root_index);
        let gi = scene.nodes.len();
        scene.nodes.push(group);
        root.children.push(gi);
        for k in 0..per_group {
            // Instance `part / MESHES` of mesh `part % MESHES`.
            let mesh = part % MESHES;
            let x = (k % 10) as f32 * 0.05;
            let z = (k / 10) as f32 * 0.05;
            let mut node = Node::new(
                Some(format!("{}_{k}", KINDS[mesh % KINDS.len()])),
                Mat4::from_translation(three_d::vec3(x, 0.0, z)),
            );
            node.mesh = Some(mesh);
            node.parent = Some(gi);
            let ni = scene.nodes.len();
            scene.nodes.push(node);
            scene.nodes[gi].children.push(ni);
            part += 1;
        }
    }
    scene.nodes[root_index] = root;
    scene.update_world_transforms();
    scene
}

fn main() {
    let t = Instant::now();
    let scene = assembly();
    let manifest = extract_manifest(&scene, &ManifestParams::default()).expect("manifest");
    let glb = export_glb(
        &scene,
        &manifest,
        &ExportParams::default(),
        &SceneAdditions::default(),
    )
    .expect("export");
    println!(
        "assembly: {} part instances, {} meshes, {} triangles drawn, GLB {:.1} MB (generated in {:.0} ms)",
        manifest.parts.len(),
        scene.meshes.len(),
        manifest.total_triangles,
        glb.len() as f64 / 1e6,
        ms(t.elapsed())
    );
    assert_eq!(manifest.parts.len(), MESHES * INSTANCES);
    assert_eq!(manifest.total_triangles, MESHES * INSTANCES * TRIS_PER_MESH);

    // A realistic map: a few rules and a hundred explicit assignments.
    let mut map = MaterialMap::default();
    for (pattern, material) in [
        ("*bolt*", "steel_galvanized"),
        ("*nut*", "steel_black_oxide"),
        ("*washer*", "stainless_steel"),
    ] {
        map.rules.push(NameRule {
            pattern: pattern.into(),
            material: material.into(),
        });
    }
    for p in manifest.parts.iter().step_by(50) {
        map.assignments
            .insert(p.part_key.clone(), "aluminium".into());
    }

    // Load: background part + document on the UI thread.
    let mut loads = Vec::new();
    let mut last = None;
    for _ in 0..5 {
        let t = Instant::now();
        let loaded = load_glb(
            &glb,
            DocSource::File {
                name: "bench.glb".into(),
            },
            default_library(),
            map.clone(),
            None,
        )
        .expect("load");
        let timings = loaded.timings;
        let t_doc = Instant::now();
        let (doc, prepared) = ViewerDoc::from_loaded(loaded);
        let doc_ms = ms(t_doc.elapsed());
        let total = t.elapsed();
        loads.push((total, timings, doc_ms));
        last = Some((doc, prepared));
    }
    loads.sort_by_key(|l| l.0);
    let (total, timings, doc_ms) = loads[loads.len() / 2];
    println!(
        "load (median of 5): {:.0} ms total = decode {:.0} + manifest {:.0} + resolve {:.0} + prepare batches {:.0} + document/tree {:.0} (target < 2000 ms)",
        ms(total),
        timings.decode_ms,
        timings.manifest_ms,
        timings.resolve_ms,
        timings.prepare_ms,
        doc_ms
    );
    let Some((doc, prepared)) = last else { return };
    println!(
        "  {} parts, {} missing, {} drawables ({} triangles)",
        doc.manifest.parts.len(),
        doc.missing_count(),
        prepared.batches.len(),
        prepared.triangle_count()
    );

    // Re-resolution after a map edit (what every assign / rule costs on the UI thread).
    let mut edit_doc = doc;
    let mut edits = Vec::new();
    for i in 0..20 {
        let key = edit_doc.manifest.parts[i * 7].part_key.clone();
        let t = Instant::now();
        edit_doc.edit_map(|m| {
            m.assignments.insert(key, "brass".into());
        });
        edits.push(t.elapsed());
    }
    edits.sort();
    let t = Instant::now();
    let preview = edit_doc.rule_preview("*module_3*", "chrome", false);
    let preview_ms = ms(t.elapsed());
    println!(
        "map edit → re-resolve + tree refresh: p50 {:.1} ms, p95 {:.1} ms; rule preview (`*module_3*`, {} caught): {:.1} ms",
        ms(percentile(&edits, 0.5)),
        ms(percentile(&edits, 0.95)),
        preview.caught.len(),
        preview_ms
    );

    // Part-tree filter frames in the real app.
    let ctx = egui::Context::default();
    let mut app = StudioApp::new(Arc::new(Registry::builtin()));
    app.state.view = MainView::Viewer;
    let loaded = load_glb(
        &glb,
        DocSource::File {
            name: "bench.glb".into(),
        },
        default_library(),
        map,
        None,
    )
    .expect("load");
    app.viewer.install(loaded, None);
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1600.0, 1000.0));
    let mut time = 0.0;
    let mut frame = |app: &mut StudioApp| {
        time += 1.0 / 60.0;
        let input = egui::RawInput {
            screen_rect: Some(screen),
            time: Some(time),
            events: vec![egui::Event::PointerMoved(egui::pos2(150.0, 400.0))],
            ..Default::default()
        };
        let t = Instant::now();
        let output = ctx.run_ui(input, |ui| app.frame_ui(ui));
        let _ = ctx.tessellate(output.shapes, output.pixels_per_point);
        t.elapsed()
    };
    for _ in 0..10 {
        frame(&mut app);
    }
    let queries = [
        "b",
        "bo",
        "bol",
        "bolt",
        "bolt_1",
        "bolt_12",
        "",
        "module_3",
        "missing",
        "steel",
        "nut missing",
        "",
        "aluminium",
        "xyz",
        "",
    ];
    let mut typing = Vec::new();
    for i in 0..120 {
        app.viewer.tree.filter = queries[i % queries.len()].to_owned();
        typing.push(frame(&mut app));
    }
    typing.sort();
    let mut idle = Vec::new();
    for _ in 0..120 {
        idle.push(frame(&mut app));
    }
    idle.sort();
    let mut missing_only = Vec::new();
    app.viewer.tree.filter.clear();
    for i in 0..60 {
        app.viewer.tree.missing_only = i % 2 == 0;
        missing_only.push(frame(&mut app));
    }
    missing_only.sort();
    for (label, frames) in [
        ("frame, filter text changing every frame", &typing),
        ("frame, Missing only toggled every frame", &missing_only),
        ("frame, idle (tree of 5,000 parts in view)", &idle),
    ] {
        println!(
            "{label}: p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms (target p95 < 8 ms)",
            ms(percentile(frames, 0.5)),
            ms(percentile(frames, 0.95)),
            ms(frames[frames.len() - 1])
        );
    }

    // GPU upload of the prepared batches (headless renderer), if a context can be made.
    match workflow_engine::render::RenderService::start() {
        Ok(service) => {
            let scene = edit_doc.scene.clone();
            let result = service.run(move |r| {
                let gpu = r.gpu_name();
                let t = Instant::now();
                let built = workflow_engine::render::upload_scene(r.context(), &scene, prepared);
                (gpu, t.elapsed(), built.drawables.len())
            });
            if let Ok((gpu, upload, drawables)) = result {
                println!(
                    "GPU upload of {drawables} drawables on {gpu}: {:.0} ms",
                    ms(upload)
                );
            }
        }
        Err(e) => println!("GPU upload: skipped ({e})"),
    }
}
