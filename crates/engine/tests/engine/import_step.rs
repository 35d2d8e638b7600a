use crate::common::step;

use std::collections::{BTreeMap, HashSet};

use workflow_engine::export_glb::{export_glb, ExportParams, SceneAdditions};
use workflow_engine::import::gltf::import_gltf_slice;
use workflow_engine::import::step::{convert_step, StepConverter};
use workflow_engine::scene::Aabb;
use workflow_engine::{
    extract_manifest, import_file, ImportParams, Manifest, ManifestParams, Scene,
};

#[test]
fn all_step_fixtures_import() {
    for name in ["nist_mbe_pmi_1.step", "abc-0000.step", "as1-oc-214.step"] {
        let scene = import_file(&step(name), &ImportParams::default()).expect("STEP imports");
        assert!(scene.drawn_triangle_count() > 100, "{name}");
        assert!(!scene.bounds().is_empty(), "{name}");
    }
}

#[test]
fn assembly_yields_18_placed_instances_with_path_keys() {
    let scene = import_file(&step("as1-oc-214.step"), &ImportParams::default()).expect("imports");
    let m = extract_manifest(&scene, &ManifestParams::default()).expect("manifest");
    let keys: Vec<&str> = m.parts.iter().map(|p| p.part_key.as_str()).collect();
    println!("{keys:#?}");
    assert_eq!(m.parts.len(), 18);
    let unique: std::collections::HashSet<_> = keys.iter().collect();
    assert_eq!(unique.len(), 18);
    assert!(
        keys.iter()
            .any(|k| k.ends_with("l-bracket-assembly_2/nut-bolt-assembly_1/bolt_1")),
        "{keys:?}"
    );
}

#[test]
fn converter_failures_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("garbage.step");
    std::fs::write(&bad, b"this is not ISO-10303-21").expect("write");
    let err = import_file(&bad, &ImportParams::default()).expect_err("garbage fails");
    assert_eq!(err.code(), "step_conversion_failed", "{err}");
    let message = err.to_string();
    assert!(message.contains("not readable STEP"), "{message}");
    assert!(!message.contains("memory limit"), "{message}");
    let err = import_file(
        &step("as1-oc-214.step"),
        &ImportParams {
            angular_tolerance: 9.0,
            ..ImportParams::default()
        },
    )
    .expect_err("bad param");
    assert_eq!(err.code(), "invalid_param");
}

#[test]
fn memory_cap_stops_the_converter() {
    let err = import_file(
        &step("nist_mbe_pmi_1.step"),
        &ImportParams {
            memory_limit_mb: 16,
            ..ImportParams::default()
        },
    )
    .expect_err("16 MB is too little for OpenCASCADE");
    assert_eq!(err.code(), "step_conversion_failed", "{err}");
}

#[test]
fn converter_is_killed_at_the_time_limit() {
    let dir = tempfile::tempdir().expect("tmp");
    let fake = dir.path().join("slow-converter.sh");
    std::fs::write(&fake, "#!/bin/sh\nsleep 30\n").expect("write");
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&fake)
        .status()
        .expect("chmod");
    let started = std::time::Instant::now();
    let err = workflow_engine::import::step::import_step_with(
        &step("abc-0000.step"),
        "abc-0000.step",
        &ImportParams {
            timeout_s: 1,
            ..ImportParams::default()
        },
        &StepConverter::Own(fake),
    )
    .expect_err("times out");
    assert_eq!(err.code(), "step_timeout", "{err}");
    assert!(started.elapsed().as_secs() < 10);
}

#[test]
fn missing_converter_is_reported() {
    let err = workflow_engine::import::step::import_step_with(
        &step("abc-0000.step"),
        "abc-0000.step",
        &ImportParams::default(),
        &StepConverter::Draw("/nonexistent/occt-draw".into()),
    )
    .expect_err("missing");
    assert_eq!(err.code(), "step_converter_missing", "{err}");
    let message = err.to_string();
    assert!(message.contains("`occt-draw`"), "{message}");
    assert!(!message.contains("/nonexistent"), "no path: {message}");
    let err = workflow_engine::import::step::import_step_with(
        &step("abc-0000.step"),
        "abc-0000.step",
        &ImportParams::default(),
        &StepConverter::Own("/nonexistent/bin/workflow-step-converter".into()),
    )
    .expect_err("missing");
    assert_eq!(err.code(), "step_converter_missing", "{err}");
    let message = err.to_string();
    assert!(message.contains("WORKFLOW_STEP_CONVERTER"), "{message}");
    assert!(!message.contains("/nonexistent"), "no path: {message}");
}

#[test]
fn merge_vertices_is_lossless() {
    let count = |merge: bool| {
        let s = import_file(
            &step("abc-0000.step"),
            &ImportParams {
                merge_vertices: merge,
                ..ImportParams::default()
            },
        )
        .expect("imports");
        let verts: usize = s
            .meshes
            .iter()
            .flat_map(|m| &m.primitives)
            .map(|p| p.positions.len())
            .sum();
        (verts, s.drawn_triangle_count(), s.bounds())
    };
    let (v_raw, t_raw, b_raw) = count(false);
    let (v, t, b) = count(true);
    assert_eq!(t, t_raw);
    assert_eq!(b, b_raw);
    assert!(v <= v_raw);
}

fn import_up(name: &str, up_axis: &str) -> Scene {
    import_file(
        &step(name),
        &ImportParams {
            up_axis: up_axis.into(),
            ..ImportParams::default()
        },
    )
    .expect("imports")
}

fn manifest(scene: &Scene) -> Manifest {
    extract_manifest(scene, &ManifestParams::default()).expect("manifest")
}

fn keys(m: &Manifest) -> Vec<String> {
    m.parts.iter().map(|p| p.part_key.clone()).collect()
}

/// Part instances per mesh, by the mesh's name (`bolt` → 6).
fn uses_by_mesh(m: &Manifest) -> BTreeMap<usize, (Option<String>, usize)> {
    let mut uses = BTreeMap::new();
    for p in &m.parts {
        uses.entry(p.mesh).or_insert((p.mesh_name.clone(), 0)).1 += 1;
    }
    uses
}

#[test]
fn up_axis_auto_follows_the_format_and_y_z_override_it() {
    // STEP is Z-up: `auto` (the default) and `z` agree; `y` is a quarter turn about X away
    // from them, so the Y and Z extents swap.
    let auto = import_up("as1-oc-214.step", "auto").bounds();
    assert_eq!(ImportParams::default().up_axis, "auto");
    let z_up = import_up("as1-oc-214.step", "z").bounds();
    let y_up = import_up("as1-oc-214.step", "y").bounds();
    assert_eq!(auto, z_up);
    let (zs, ys) = (z_up.size(), y_up.size());
    assert!(
        (zs.y - ys.z).abs() < 1e-4 && (zs.z - ys.y).abs() < 1e-4,
        "{zs:?} vs {ys:?}"
    );
    let err = import_file(
        &step("abc-0000.step"),
        &ImportParams {
            up_axis: "x".into(),
            ..ImportParams::default()
        },
    )
    .expect_err("x is no choice");
    assert_eq!(err.code(), "invalid_param");
    assert!(err.to_string().contains("auto, y, z"), "{err}");
}

fn smallest_axis(b: &Aabb) -> usize {
    let s = b.size();
    let e = [s.x, s.y, s.z];
    (0..3)
        .min_by(|&a, &b| e[a].total_cmp(&e[b]))
        .expect("three axes")
}

#[test]
fn as1_base_plate_lies_flat_by_default() {
    // The AS1 plate (200 × 150 × 10 mm) is the assembly's base: flat, its thin side vertical.
    let plate_of = |scene: &Scene| {
        let m = manifest(scene);
        let plate = m
            .parts
            .iter()
            .find(|p| p.part_key.ends_with("/plate_1"))
            .unwrap_or_else(|| panic!("a plate in {:?}", keys(&m)))
            .bounds;
        (plate, m.bounds.expect("bounds"))
    };
    let (plate, all) = plate_of(&import_up("as1-oc-214.step", "auto"));
    assert_eq!(smallest_axis(&plate), 1, "plate {:?}", plate.size());
    // The brackets stand on it: the plate is at the bottom of the assembly (only the bolt
    // ends and nuts under it reach lower).
    let height = all.size().y;
    assert!(
        plate.min[1] - all.min[1] < 0.1 * height,
        "{plate:?} in {all:?}"
    );
    assert!(height > plate.size().y * 2.0, "{plate:?} in {all:?}");
    // The old default (`y` on a STEP file) stood it up as a wall.
    let (wall, _) = plate_of(&import_up("as1-oc-214.step", "y"));
    assert_eq!(smallest_axis(&wall), 2, "wall {:?}", wall.size());
}

/// The extents of the part with the longest side.
fn tallest_part(scene: &Scene) -> three_d::Vec3 {
    let ext = |s: &three_d::Vec3| s.x.max(s.y).max(s.z);
    manifest(scene)
        .parts
        .iter()
        .map(|p| p.bounds.size())
        .max_by(|a, b| ext(a).total_cmp(&ext(b)))
        .expect("parts")
}

#[test]
fn pipe_flange_body_stands_upright_by_default() {
    // abc-0000 is the pipe-flange upload's geometry (its products renamed `NONE` there): a
    // tall body on a round foot, its axis along the file's Z. Imported, it stands along Y.
    let upright = tallest_part(&import_up("abc-0000.step", "auto"));
    assert!(
        upright.y > upright.x && upright.y > upright.z,
        "body extents {upright:?}"
    );
    // The old default lay it on its side.
    let lying = tallest_part(&import_up("abc-0000.step", "y"));
    assert!(lying.y < lying.z, "body extents {lying:?}");
}

#[test]
fn assembly_instances_share_one_mesh_per_prototype() {
    let scene = import_up("as1-oc-214.step", "auto");
    let m = manifest(&scene);
    assert_eq!(m.parts.len(), 18);
    // 5 solids (plate, l-bracket, rod, bolt, nut) placed 18 times.
    assert_eq!(scene.meshes.len(), 5);
    let uses: BTreeMap<Option<String>, usize> = uses_by_mesh(&m).into_values().collect();
    let expected: BTreeMap<Option<String>, usize> = [
        ("bolt", 6),
        ("l-bracket", 2),
        ("nut", 8),
        ("plate", 1),
        ("rod", 1),
    ]
    .into_iter()
    .map(|(n, c)| (Some(n.to_owned()), c))
    .collect();
    assert_eq!(uses, expected);
    // Every bolt placement is one use of the same mesh, numbered 0..6, each with its key.
    let bolts: Vec<_> = m
        .parts
        .iter()
        .filter(|p| p.mesh_name.as_deref() == Some("bolt"))
        .collect();
    let mut instances: Vec<usize> = bolts.iter().map(|p| p.mesh_instance).collect();
    instances.sort_unstable();
    assert_eq!(instances, (0..6).collect::<Vec<_>>());
    let distinct: HashSet<&str> = bolts.iter().map(|p| p.part_key.as_str()).collect();
    assert_eq!(distinct.len(), 6);
    // Placements differ: six bolts in six places.
    let centres: HashSet<[i64; 3]> = bolts
        .iter()
        .map(|p| {
            let c = p.bounds.center();
            [c.x, c.y, c.z].map(|v| (v * 1e5).round() as i64)
        })
        .collect();
    assert_eq!(centres.len(), 6);
}

/// A copy of `scene` with one mesh per part instance (what the converter writes).
fn unshared(scene: &Scene) -> Scene {
    let mut copy = scene.clone();
    let mut seen = HashSet::new();
    for node in &mut copy.nodes {
        if let Some(mesh) = node.mesh {
            if !seen.insert(mesh) {
                copy.meshes.push(scene.meshes[mesh].clone());
                node.mesh = Some(copy.meshes.len() - 1);
            }
        }
    }
    copy
}

#[test]
fn step_keys_are_stable_across_reimport_orientation_and_the_product_glb() {
    let first = manifest(&import_up("as1-oc-214.step", "auto"));
    let again = manifest(&import_up("as1-oc-214.step", "auto"));
    assert_eq!(first, again, "the same file twice gives the same manifest");
    // Keys do not depend on the orientation (stored products keep theirs).
    for up in ["y", "z"] {
        assert_eq!(
            keys(&manifest(&import_up("as1-oc-214.step", up))),
            keys(&first),
            "{up}"
        );
    }
    // Nor on mesh sharing: the converter's one-mesh-per-placement scene has the same keys.
    let scene = import_up("as1-oc-214.step", "auto");
    let flat = unshared(&scene);
    assert_eq!(flat.meshes.len(), 18);
    assert_eq!(keys(&manifest(&flat)), keys(&first));
    let mut reshared = flat.clone();
    assert_eq!(reshared.share_identical_meshes(), 13);
    assert_eq!(keys(&manifest(&reshared)), keys(&first));

    // The product GLB keeps the sharing and the keys.
    let glb = export_glb(
        &scene,
        &first,
        &ExportParams::default(),
        &SceneAdditions::default(),
    )
    .expect("export");
    let doc = gltf::Gltf::from_slice(&glb).expect("valid glTF");
    assert_eq!(doc.meshes().count(), 5);
    assert_eq!(doc.nodes().filter(|n| n.mesh().is_some()).count(), 18);
    let back = import_gltf_slice(&glb, None).expect("re-import");
    let after = manifest(&back);
    assert_eq!(keys(&after), keys(&first));
    assert_eq!(uses_by_mesh(&after), uses_by_mesh(&first));
    for p in &first.parts {
        let q = after.get(&p.part_key).expect("key kept");
        assert_eq!(q.triangle_count, p.triangle_count, "{}", p.part_key);
        assert_eq!(q.bounds, p.bounds, "{}", p.part_key);
    }
    let flat_glb = export_glb(
        &flat,
        &manifest(&flat),
        &ExportParams::default(),
        &SceneAdditions::default(),
    )
    .expect("export");
    println!(
        "as1-oc-214 product GLB: {} meshes, {} B shared; 18 meshes, {} B one per placement",
        doc.meshes().count(),
        glb.len(),
        flat_glb.len()
    );
    assert!(
        glb.len() * 2 < flat_glb.len(),
        "{} vs {}",
        glb.len(),
        flat_glb.len()
    );
}

#[test]
fn resolved_materials_split_shared_meshes_only_where_they_differ() {
    use workflow_engine::materials::{default_library, MaterialMap, ResolveOptions};
    let scene = import_up("as1-oc-214.step", "auto");
    let m = manifest(&scene);
    let one_bolt = m
        .parts
        .iter()
        .find(|p| p.mesh_name.as_deref() == Some("bolt"))
        .expect("a bolt")
        .part_key
        .clone();
    let map = MaterialMap {
        assignments: [(one_bolt.clone(), "paint_red".to_owned())]
            .into_iter()
            .collect(),
        ..Default::default()
    };
    let res = workflow_engine::resolve_materials(
        &m,
        &default_library(),
        &map,
        &ResolveOptions::default(),
    )
    .expect("resolve");
    let additions = SceneAdditions {
        resolution: Some(&res),
        ..Default::default()
    };
    let glb = export_glb(&scene, &m, &ExportParams::default(), &additions).expect("export");
    let back = import_gltf_slice(&glb, None).expect("re-import");
    // The red bolt has a mesh of its own; the other five still share one.
    assert_eq!(back.meshes.len(), 6);
    let after = manifest(&back);
    let uses: Vec<usize> = uses_by_mesh(&after)
        .into_values()
        .filter(|(n, _)| n.as_deref() == Some("bolt"))
        .map(|(_, c)| c)
        .collect();
    let mut uses = uses;
    uses.sort_unstable();
    assert_eq!(uses, [1, 5]);
    assert!(after.get(&one_bolt).is_some());
}

/// The build's converter is ours (cargo builds `workflow-step-converter` beside the test
/// binaries: its package has an integration test), and it writes DRAW's GLB byte for byte,
/// so part keys stay what they were, at the default tolerances and at finer ones.
#[test]
fn own_converter_writes_the_same_glb_as_draw() {
    let own = StepConverter::find();
    assert!(
        matches!(own, StepConverter::Own(_)),
        "the STEP import in this build uses {own:?}: build workflow-step-converter \
         (`cargo build -p workflow-step-converter`; `cargo test --workspace` does)"
    );
    let draw = StepConverter::Draw("occt-draw".into());
    let fine = ImportParams {
        linear_tolerance: 0.02,
        angular_tolerance: 0.2,
        ..ImportParams::default()
    };
    for (name, params) in [
        ("as1-oc-214.step", ImportParams::default()),
        ("abc-0000.step", ImportParams::default()),
        ("nist_mbe_pmi_1.step", ImportParams::default()),
        ("as1-oc-214.step", fine),
    ] {
        let convert = |converter: &StepConverter| {
            let converted = convert_step(&step(name), name, &params, converter)
                .unwrap_or_else(|e| panic!("{name} with {converter:?}: {e}"));
            std::fs::read(&converted.glb).expect("read GLB")
        };
        let (ours, theirs) = (convert(&own), convert(&draw));
        assert!(ours.len() > 1000, "{name}: {} bytes", ours.len());
        assert!(
            ours == theirs,
            "{name} at {} / {} rad: the converters' GLBs differ ({} vs {} bytes)",
            params.linear_tolerance,
            params.angular_tolerance,
            ours.len(),
            theirs.len()
        );
    }
}

/// A file whose name a shell, Tcl or an option parser would read as something else imports
/// like any other (the converter sees only a plain copy), and a failure names the file as
/// shown, never the converter's private folder.
#[test]
fn hostile_file_names_never_reach_the_converter() {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in [
        "-rf $(touch pwned) [exit] {x}; `id`.step",
        "--help.stp",
        "naïve name with spaces.STEP",
    ] {
        let path = dir.path().join(name);
        std::fs::copy(step("as1-oc-214.step"), &path).expect("copy");
        let scene =
            import_file(&path, &ImportParams::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(manifest(&scene).parts.len(), 18, "{name}");
        std::fs::write(&path, b"ISO-10303-21;\nnot step\n").expect("write");
        let err = import_file(&path, &ImportParams::default()).expect_err("garbage");
        let message = err.to_string();
        assert!(message.contains(name), "{message}");
        assert!(
            !message.contains("in.step"),
            "private copy shown: {message}"
        );
        assert!(!message.contains('\u{1b}'), "terminal codes: {message:?}");
    }
    assert!(!std::path::Path::new("pwned").exists());
    assert!(!dir.path().join("pwned").exists());
}
