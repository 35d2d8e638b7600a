//! `.blend` export round trip: the scene written through the Blender bridge, read back with
//! headless Blender, equals the product's part manifest and material resolution: every part
//! key once (object named by it, `part_key` property), instances sharing one mesh data exactly
//! where the manifest's parts share a mesh and a material, and each part's material the one
//! resolved for it. Needs Blender (`scripts/deps.sh` installs it): without it these fail.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use workflow_engine::blender::{inspect_blend, BlenderLimits};
use workflow_engine::materials::{default_library, MaterialMap, ResolveOptions};
use workflow_engine::params::SceneExportParams;
use workflow_engine::pipeline::{export_scene_value_logged, SceneValue};
use workflow_engine::{
    extract_manifest, import_file, resolve_materials, ImportParams, Manifest, ManifestParams,
    MaterialResolution,
};

/// Every part gets `steel_brushed`, except the first part of `red_mesh` (if named), which gets
/// `paint_red`: one instance of a shared mesh then differs from its siblings.
fn resolution(m: &Manifest, red_mesh: Option<&str>) -> MaterialResolution {
    let red = red_mesh.and_then(|name| {
        m.parts
            .iter()
            .find(|p| p.mesh_name.as_deref() == Some(name))
            .map(|p| p.part_key.clone())
    });
    let map = MaterialMap {
        assignments: m
            .parts
            .iter()
            .map(|p| {
                let material = if Some(&p.part_key) == red.as_ref() {
                    "paint_red"
                } else {
                    "steel_brushed"
                };
                (p.part_key.clone(), material.to_owned())
            })
            .collect(),
        ..Default::default()
    };
    resolve_materials(m, &default_library(), &map, &ResolveOptions::default()).expect("resolve")
}

/// Writes the .blend for `path`, reads it back and checks it against the manifest and
/// resolution. Answers the mesh-data user counts of the parts (sorted), for the caller's own
/// expectations.
fn round_trip(path: &std::path::Path, red_mesh: Option<&str>) -> Vec<u32> {
    let scene = import_file(path, &ImportParams::default()).expect("imports");
    let manifest = extract_manifest(&scene, &ManifestParams::default()).expect("manifest");
    let res = resolution(&manifest, red_mesh);
    let mut value = SceneValue::new(scene);
    value.manifest = Some(Arc::new(manifest.clone()));
    value.resolution = Some(Arc::new(res.clone()));
    let params = SceneExportParams {
        format: "blend".into(),
        include_camera: true,
        include_lights: true,
        embed_textures: true,
    };
    let mut log = Vec::new();
    let files =
        export_scene_value_logged(&value, &params, "scene", &mut log, None).expect("blend export");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].name, "scene.blend");
    assert!(files[0].bytes.starts_with(b"BLENDER"));
    // The bridge's private folder (a tempfile `.tmpXXXXXX`) leaves no trace in the deliverable.
    assert!(
        !files[0].bytes.windows(5).any(|w| w == b"/.tmp"),
        "the .blend names the bridge's private folder"
    );
    let back = inspect_blend(&files[0].bytes, &BlenderLimits::default()).expect("reads back");

    // Part keys: each manifest part exactly once, as an object named by it.
    let parts: BTreeMap<&str, &workflow_engine::blender::BlendObject> = back
        .objects
        .iter()
        .filter_map(|o| Some((o.part_key.as_deref()?, o)))
        .collect();
    let with_key = back.objects.iter().filter(|o| o.part_key.is_some()).count();
    assert_eq!(with_key, manifest.parts.len(), "one object per part key");
    let expected_keys: BTreeSet<&str> =
        manifest.parts.iter().map(|p| p.part_key.as_str()).collect();
    assert_eq!(
        parts.keys().copied().collect::<BTreeSet<_>>(),
        expected_keys
    );
    for (key, o) in &parts {
        assert_eq!(o.kind, "MESH", "{key}");
        let shown: String = key.chars().take(40).collect();
        assert!(o.name.starts_with(&shown), "{} for {key}", o.name);
    }

    // Materials: the resolved one on every slot, with its values.
    for p in &res.parts {
        let want = p.material.as_ref().expect("explicit material");
        let o = parts[p.part_key.as_str()];
        assert!(!o.materials.is_empty(), "{}", p.part_key);
        assert_eq!(o.materials.len(), o.material_values.len(), "{}", p.part_key);
        for (name, values) in o.materials.iter().zip(&o.material_values) {
            assert!(
                name.as_deref().is_some_and(|n| n.starts_with(&want.name)),
                "{}: {name:?} != {}",
                p.part_key,
                want.name
            );
            let v = values.as_ref().expect("Principled BSDF");
            assert_eq!(v.library_material.as_deref(), Some(want.name.as_str()));
            for i in 0..3 {
                assert!(
                    (v.base_color[i] - want.base_color[i]).abs() < 1e-4,
                    "{}",
                    p.part_key
                );
            }
            assert!((v.metallic - want.metallic).abs() < 1e-4);
            assert!((v.roughness - want.roughness).abs() < 1e-4);
        }
    }

    // Instances: parts share mesh data exactly where they share a mesh and a material.
    let material_of = |key: &str| {
        res.get(key)
            .and_then(|m| m.material.as_ref())
            .map(|m| m.name.clone())
    };
    let mut expected: BTreeMap<(usize, Option<String>), BTreeSet<&str>> = BTreeMap::new();
    for p in &manifest.parts {
        expected
            .entry((p.mesh, material_of(&p.part_key)))
            .or_default()
            .insert(p.part_key.as_str());
    }
    let mut actual: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (key, o) in &parts {
        actual
            .entry(o.mesh.as_deref().expect("mesh data"))
            .or_default()
            .insert(key);
    }
    let expected: BTreeSet<BTreeSet<&str>> = expected.into_values().collect();
    let actual_groups: BTreeSet<BTreeSet<&str>> = actual.values().cloned().collect();
    assert_eq!(
        actual_groups, expected,
        "mesh sharing differs from the manifest"
    );
    for o in parts.values() {
        let mesh = o.mesh.as_deref().expect("mesh");
        assert_eq!(o.mesh_users, Some(actual[mesh].len() as u32), "{}", o.name);
    }
    assert!(
        back.camera.is_some(),
        "the framed camera is the scene camera"
    );
    assert!(back.lights > 0, "the light rig is exported");
    let mut users: Vec<u32> = parts.values().filter_map(|o| o.mesh_users).collect();
    users.sort_unstable();
    users
}

#[test]
fn blend_of_the_as1_step_assembly_keeps_parts_instances_and_materials() {
    let users = round_trip(
        &common::fixtures().join("step").join("as1-oc-214.step"),
        Some("bolt"),
    );
    // Six bolts: one painted red on mesh data of its own, five sharing one.
    assert_eq!(users.len(), 18);
    assert_eq!(users.iter().filter(|&&u| u == 5).count(), 5, "{users:?}");
}

#[test]
fn blend_of_a_gltf_with_instances_keeps_parts_instances_and_materials() {
    let users = round_trip(&common::gltf("2CylinderEngine.glb"), None);
    assert!(users.iter().any(|&u| u > 1), "instancing kept: {users:?}");
}

/// The parity comparison of two `.blend` files reads both back with Blender: the same export
/// twice passes (Blender's files are never byte-identical), another material on a part fails
/// on that part.
#[test]
fn blend_comparison_passes_the_same_scene_and_names_a_changed_material() {
    use workflow_engine::compare::thresholds::SceneThresholds;
    use workflow_engine::compare::{compare_blend, PartAspect, Verdict};
    let scene = common::load("Box.glb");
    let manifest = extract_manifest(&scene, &ManifestParams::default()).expect("manifest");
    let export = |material: &str| {
        let map = MaterialMap {
            rules: vec![workflow_engine::materials::NameRule {
                pattern: "*".into(),
                material: material.into(),
            }],
            ..Default::default()
        };
        let res = resolve_materials(
            &manifest,
            &default_library(),
            &map,
            &ResolveOptions::default(),
        )
        .expect("resolve");
        let mut value = SceneValue::new(scene.clone());
        value.resolution = Some(Arc::new(res));
        let params = SceneExportParams {
            format: "blend".into(),
            include_camera: true,
            include_lights: true,
            embed_textures: true,
        };
        export_scene_value_logged(&value, &params, "box", &mut Vec::new(), None)
            .expect("blend export")
            .remove(0)
            .bytes
    };
    let steel = export("steel_brushed");
    let again = export("steel_brushed");
    let red = export("paint_red");
    let same = compare_blend(&steel, &again, &SceneThresholds::default()).expect("compares");
    assert_eq!(same.verdict, Verdict::Pass, "{:?}", same.findings);
    let changed = compare_blend(&steel, &red, &SceneThresholds::default()).expect("compares");
    assert_eq!(changed.verdict, Verdict::Fail);
    assert!(
        changed
            .parts
            .iter()
            .any(|p| p.aspect == PartAspect::Material),
        "{:?}",
        changed.parts
    );
}
