//! USD export round trip: the stage written by OpenUSD (usd-core, out of process) is read back
//! with pxr and compared with the product's part manifest and material resolution: part keys,
//! instance counts (parts sharing a prototype), the material of every part, triangles and
//! bounds. These tests need a Python with pxr (`WORKFLOW_USD_PYTHON`, which scripts/test sets
//! up): without it they fail with `usd_unavailable`, they never skip.

use std::collections::{BTreeMap, BTreeSet};

use crate::common;
use workflow_engine::export_glb::{bounds_close, export_scene, ExportParams, SceneAdditions};
use workflow_engine::export_usd::{
    check_usd_python, read_usd, usd_python, write_usd, UsdLimits, UsdStructure,
};
use workflow_engine::materials::{
    default_library, MaterialMap, MaterialResolution, MaterialSource, NameRule, ResolveOptions,
};
use workflow_engine::{
    extract_manifest, import_file, resolve_materials, ImportParams, Manifest, ManifestParams, Scene,
};

fn rule(pattern: &str, material: &str) -> NameRule {
    NameRule {
        pattern: pattern.into(),
        material: material.into(),
    }
}

fn resolve(manifest: &Manifest, rules: Vec<NameRule>) -> MaterialResolution {
    let map = MaterialMap {
        rules,
        ..Default::default()
    };
    resolve_materials(
        manifest,
        &default_library(),
        &map,
        &ResolveOptions::default(),
    )
    .expect("resolve")
}

/// Exports `scene` as USD (`.usda` when `text`) with `resolution`.
fn write(
    scene: &Scene,
    manifest: &Manifest,
    resolution: &MaterialResolution,
    text: bool,
) -> Vec<u8> {
    let python = usd_python();
    let files = export_scene(
        scene,
        manifest,
        &ExportParams::default(),
        &SceneAdditions {
            resolution: Some(resolution),
            ..SceneAdditions::default()
        },
        "glb",
        "scene",
    )
    .expect("GLB");
    let started = std::time::Instant::now();
    let written = write_usd(&files[0].bytes, text, &python, UsdLimits::default())
        .unwrap_or_else(|e| panic!("{}: {e}", e.code()));
    // Figures for the engine README (run with --nocapture).
    println!(
        "usd writer: {} parts, {} KiB GLB -> {} KiB {}, {} ms",
        manifest.parts.len(),
        files[0].bytes.len() / 1024,
        written.bytes.len() / 1024,
        if text { "usda" } else { "usdc" },
        started.elapsed().as_millis()
    );
    if text {
        assert!(written.bytes.starts_with(b"#usda 1.0"));
    } else {
        assert!(written.bytes.starts_with(b"PXR-USDC"));
    }
    written.bytes
}

/// Exports `scene` as USD and reads it back with pxr.
fn round_trip(
    scene: &Scene,
    manifest: &Manifest,
    resolution: &MaterialResolution,
    text: bool,
) -> UsdStructure {
    let bytes = write(scene, manifest, resolution, text);
    read_usd(&bytes, &usd_python(), UsdLimits::default())
        .unwrap_or_else(|e| panic!("{}: {e}", e.code()))
}

/// The material names each part should carry, one per non-empty primitive: the resolved
/// library material, or the file's own per primitive.
fn expected_materials(
    scene: &Scene,
    manifest: &Manifest,
    resolution: &MaterialResolution,
) -> BTreeMap<String, Vec<Option<String>>> {
    manifest
        .parts
        .iter()
        .map(|p| {
            let resolved = resolution.get(&p.part_key);
            let names = scene.meshes[p.mesh]
                .primitives
                .iter()
                .filter(|prim| !prim.indices.is_empty())
                .map(|prim| match resolved.map(|r| (&r.source, &r.material)) {
                    Some((MaterialSource::File, _)) | None => prim
                        .material
                        .and_then(|i| scene.materials.get(i))
                        .map(|m| m.name.clone().unwrap_or_default()),
                    Some((_, Some(m))) => Some(m.name.clone()),
                    Some((_, None)) => Some("default".into()),
                })
                .collect();
            (p.part_key.clone(), names)
        })
        .collect()
}

/// Checks the read stage against the manifest and resolution; answers the instance groups
/// (part keys per prototype).
fn check(
    what: &str,
    scene: &Scene,
    manifest: &Manifest,
    resolution: &MaterialResolution,
    usd: &UsdStructure,
) -> Vec<BTreeSet<String>> {
    assert_eq!(usd.up_axis, "Y", "{what}: our scenes are Y-up");
    assert_eq!(usd.meters_per_unit, 1.0, "{what}: our scenes are in metres");
    assert_eq!(usd.default_prim.as_deref(), Some("/Root"), "{what}");
    let keys: BTreeSet<&str> = manifest.parts.iter().map(|p| p.part_key.as_str()).collect();
    let read: BTreeSet<&str> = usd.parts.keys().map(String::as_str).collect();
    assert_eq!(read, keys, "{what}: part keys");
    let materials = expected_materials(scene, manifest, resolution);
    for p in &manifest.parts {
        let u = &usd.parts[&p.part_key];
        assert!(u.instanceable, "{what} {}: not an instance", p.part_key);
        assert_eq!(u.attribute.as_deref(), Some(p.part_key.as_str()), "{what}");
        assert!(
            u.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{what}: prim name {}",
            u.name
        );
        assert_eq!(u.triangles, p.triangle_count, "{what} {}", p.part_key);
        let bounds = u.bounds.expect("bounds");
        assert!(
            bounds_close(&bounds, &p.bounds, 1e-4 * (1.0 + p.bounds.radius())),
            "{what} {}: {bounds:?} vs {:?}",
            p.part_key,
            p.bounds
        );
        let names: Vec<Option<String>> = u
            .materials
            .iter()
            .map(|m| m.as_ref().map(|m| m.name.clone().unwrap_or_default()))
            .collect();
        assert_eq!(names, materials[&p.part_key], "{what} {}", p.part_key);
    }
    // Instances: two parts share a prototype exactly when they share the scene mesh and
    // resolve to the same materials (what the GLB shares too).
    let mut expected: BTreeMap<(usize, Vec<Option<String>>), BTreeSet<String>> = BTreeMap::new();
    for p in &manifest.parts {
        expected
            .entry((p.mesh, materials[&p.part_key].clone()))
            .or_default()
            .insert(p.part_key.clone());
    }
    let mut groups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (key, u) in &usd.parts {
        let proto = u.prototype.clone().expect("prototype");
        groups.entry(proto).or_default().insert(key.clone());
    }
    let mut got: Vec<BTreeSet<String>> = groups.into_values().collect();
    let mut want: Vec<BTreeSet<String>> = expected.into_values().collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "{what}: instance groups");
    assert_eq!(usd.prototypes, got.len(), "{what}: prototypes");
    got
}

#[test]
fn gltf_fixtures_round_trip_through_usd() {
    for (name, rules) in [
        // Two wheels sharing one mesh, re-materialled by a rule; the rest keep their own.
        ("CesiumMilkTruck.glb", vec![rule("*wheel*", "rubber_black")]),
        // Three meshes placed twice, once mirrored.
        ("NegativeScaleTest.glb", vec![rule("*", "plastic_red")]),
        // 14 meshes shared by up to 20 nodes, file materials.
        ("2CylinderEngine.glb", vec![]),
        // 125 GPU instances of one mesh, no material of its own.
        ("SimpleInstancing.glb", vec![rule("*", "steel_brushed")]),
    ] {
        let scene = common::load(name);
        let manifest = extract_manifest(&scene, &ManifestParams::default()).expect("manifest");
        let resolution = resolve(&manifest, rules);
        let usd = round_trip(&scene, &manifest, &resolution, false);
        let groups = check(name, &scene, &manifest, &resolution, &usd);
        assert!(
            groups.iter().any(|g| g.len() > 1),
            "{name}: instancing kept"
        );
    }
}

#[test]
fn step_assembly_bolts_share_one_prototype_in_usd() {
    let path = common::fixtures().join("step").join("as1-oc-214.step");
    let scene = import_file(&path, &ImportParams::default()).expect("AS1 imports");
    let manifest = extract_manifest(&scene, &ManifestParams::default()).expect("manifest");
    let resolution = resolve(
        &manifest,
        vec![rule("*bolt*", "steel_galvanized"), rule("*nut*", "brass")],
    );
    for text in [false, true] {
        let usd = round_trip(&scene, &manifest, &resolution, text);
        let groups = check("as1-oc-214", &scene, &manifest, &resolution, &usd);
        assert_eq!(usd.parts.len(), 18);
        let bolts: BTreeSet<String> = manifest
            .parts
            .iter()
            .filter(|p| {
                p.part_key
                    .rsplit('/')
                    .next()
                    .is_some_and(|s| s.starts_with("bolt"))
            })
            .map(|p| p.part_key.clone())
            .collect();
        assert_eq!(bolts.len(), 6, "{bolts:?}");
        assert!(
            groups.contains(&bolts),
            "the six bolts share one prototype: {groups:?}"
        );
        for key in &bolts {
            let m = usd.parts[key].materials[0].as_ref().expect("bound");
            assert_eq!(m.name.as_deref(), Some("steel_galvanized"));
        }
    }
    // The parity comparison of two stages names the parts whose material changed.
    let galvanized = write(&scene, &manifest, &resolution, false);
    let chrome = resolve(
        &manifest,
        vec![rule("*bolt*", "chrome"), rule("*nut*", "brass")],
    );
    let chromed = write(&scene, &manifest, &chrome, false);
    let c =
        workflow_engine::compare::scene::compare_usd(&galvanized, &chromed, &Default::default())
            .expect("compares");
    assert_eq!(c.verdict, workflow_engine::compare::Verdict::Fail);
    let changed: BTreeSet<String> = c
        .parts
        .iter()
        .filter(|d| d.aspect == workflow_engine::compare::PartAspect::Material)
        .map(|d| d.part_key.clone())
        .collect();
    // `*bolt*` also catches the nuts (their path runs through nut-bolt-assembly_n).
    let name = |r: &MaterialResolution, key: &str| {
        r.get(key)
            .and_then(|p| p.material.as_ref())
            .map(|m| m.name.clone())
    };
    let differing: BTreeSet<String> = manifest
        .parts
        .iter()
        .filter(|p| name(&resolution, &p.part_key) != name(&chrome, &p.part_key))
        .map(|p| p.part_key.clone())
        .collect();
    assert_eq!(differing.len(), 12, "{differing:?}");
    assert_eq!(changed, differing);
}

#[test]
fn a_python_without_pxr_is_usd_unavailable_naming_the_fix() {
    for python in ["/nonexistent/python3", "/bin/false"] {
        let err = check_usd_python(python).expect_err("no pxr");
        assert_eq!(err.code(), "usd_unavailable", "{python}: {err}");
        assert!(err.to_string().contains("usd-python.sh"), "{err}");
        assert!(
            !err.to_string().contains("/nonexistent"),
            "no server path: {err}"
        );
    }
    // Any plain Python: `import pxr` fails unless it is the venv's.
    let dir = tempfile::tempdir().expect("tmp");
    let fake = dir.path().join("python");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'pxr'\" >&2\nexit 1\n",
    )
    .expect("write");
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let err = write_usd(
        b"glTF",
        false,
        &fake.display().to_string(),
        UsdLimits::default(),
    )
    .expect_err("no pxr");
    assert_eq!(err.code(), "usd_unavailable", "{err}");
    assert!(
        !err.to_string().contains(&dir.path().display().to_string()),
        "no private path: {err}"
    );
    // The configured one has it (this is what every other test here relies on).
    check_usd_python(&usd_python()).unwrap_or_else(|e| panic!("{}: {e}", e.code()));
}

#[test]
fn a_broken_input_is_a_clear_writer_error() {
    let err =
        write_usd(b"not a glb", false, &usd_python(), UsdLimits::default()).expect_err("fails");
    assert_eq!(err.code(), "usd_export_failed", "{err}");
    assert!(err.to_string().contains("not a GLB"), "{err}");
}

#[test]
fn pipeline_usd_export_writes_one_usdc_with_camera_lights_and_a_log() {
    use workflow_engine::params::SceneExportParams;
    use workflow_engine::pipeline::{export_scene_value_logged, SceneValue};
    let value = SceneValue::new(common::load("CesiumMilkTruck.glb"));
    let params = SceneExportParams {
        format: "usd".into(),
        include_camera: true,
        include_lights: true,
        embed_textures: true,
    };
    let mut log = Vec::new();
    let files = export_scene_value_logged(&value, &params, "truck", &mut log, None)
        .unwrap_or_else(|e| panic!("{}: {e}", e.code()));
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["truck.usdc"]);
    assert!(log.iter().any(|l| l.starts_with("usd: wrote")), "{log:?}");
    let usd = read_usd(&files[0].bytes, &usd_python(), UsdLimits::default())
        .unwrap_or_else(|e| panic!("{}: {e}", e.code()));
    assert_eq!(usd.cameras, 1);
    assert!(usd.lights >= 1, "{}", usd.lights);
    let manifest = value.manifest().expect("manifest");
    assert_eq!(usd.parts.len(), manifest.parts.len());
    // The scene comparison reads it like a GLB: the same stage compares equal to itself.
    let c = workflow_engine::compare::scene::compare_usd(
        &files[0].bytes,
        &files[0].bytes,
        &Default::default(),
    )
    .expect("compares");
    assert_eq!(
        c.verdict,
        workflow_engine::compare::Verdict::Pass,
        "{:?}",
        c.parts
    );
}
