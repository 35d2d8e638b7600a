use crate::common;

use workflow_engine::camera::{frame_camera, CameraParams};
use workflow_engine::export_glb::{
    bounds_close, export_glb, export_scene, ExportParams, SceneAdditions,
};
use workflow_engine::import::gltf::import_gltf_slice;
use workflow_engine::lighting::{light_rig, LightingParams};
use workflow_engine::materials::{default_library, MaterialMap, NameRule, ResolveOptions};
use workflow_engine::{extract_manifest, resolve_materials, ManifestParams};

#[test]
fn round_trip_keeps_keys_triangles_and_bounds() {
    for name in [
        "Box.glb",
        "BoxTextured.glb",
        "SimpleMeshes/SimpleMeshes.gltf",
        "SimpleInstancing.glb",
        "NegativeScaleTest.glb",
        "CesiumMilkTruck.glb",
        "2CylinderEngine.glb",
    ] {
        let scene = common::load(name);
        let before = extract_manifest(&scene, &ManifestParams::default()).expect("manifest");
        let glb = export_glb(
            &scene,
            &before,
            &ExportParams::default(),
            &SceneAdditions::default(),
        )
        .expect("export");
        // Validated by the gltf crate on re-import.
        gltf::Gltf::from_slice(&glb).expect("valid glTF");
        let again = import_gltf_slice(&glb, None).expect("re-import");
        let after = extract_manifest(&again, &ManifestParams::default()).expect("manifest");
        assert_eq!(after.parts.len(), before.parts.len(), "{name}");
        for p in &before.parts {
            let q = after
                .get(&p.part_key)
                .unwrap_or_else(|| panic!("{name}: key {} lost", p.part_key));
            assert_eq!(q.triangle_count, p.triangle_count, "{name} {}", p.part_key);
            assert!(
                bounds_close(&q.bounds, &p.bounds, 1e-3 * (1.0 + p.bounds.radius())),
                "{name} {}",
                p.part_key
            );
        }
        assert_eq!(again.textures.len(), scene.textures.len(), "{name}");
    }
}

#[test]
fn scene_export_carries_resolved_materials_camera_and_lights() {
    let scene = common::load("CesiumMilkTruck.glb");
    let manifest = extract_manifest(&scene, &ManifestParams::default()).expect("manifest");
    let map = MaterialMap {
        rules: vec![NameRule {
            pattern: "*wheel*".into(),
            material: "rubber_black".into(),
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
    let pose = frame_camera(
        manifest.bounds.as_ref().expect("bounds"),
        &CameraParams::default(),
        1.0,
    );
    let rig = light_rig(&LightingParams::default());
    let additions = SceneAdditions {
        resolution: Some(&res),
        camera: Some(pose),
        lights: Some(&rig),
        external_textures: false,
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
    let doc = gltf::Gltf::from_slice(&files[0].bytes).expect("valid");
    assert_eq!(doc.cameras().count(), 1);
    assert!(doc.materials().any(|m| m.name() == Some("rubber_black")));
    assert!(doc.extensions_used().any(|e| e == "KHR_lights_punctual"));
    let files = export_scene(
        &scene,
        &manifest,
        &ExportParams::default(),
        &additions,
        "gltf",
        "truck",
    )
    .expect("export");
    assert_eq!(files.len(), 2);
    let dir = tempfile::tempdir().expect("tmp");
    for f in &files {
        std::fs::write(dir.path().join(&f.name), &f.bytes).expect("write");
    }
    let again = workflow_engine::import_file(&dir.path().join("truck.gltf"), &Default::default())
        .expect("gltf re-import");
    assert_eq!(again.drawn_triangle_count(), scene.drawn_triangle_count());
}

#[test]
fn export_without_keys_or_normals() {
    let scene = common::load("Box.glb");
    let manifest = extract_manifest(&scene, &ManifestParams::default()).expect("manifest");
    let params = ExportParams {
        embed_part_keys: false,
        include_normals: false,
        include_textures: false,
    };
    let glb = export_glb(&scene, &manifest, &params, &SceneAdditions::default()).expect("export");
    let doc = gltf::Gltf::from_slice(&glb).expect("valid");
    assert!(doc.meshes().all(|m| m
        .primitives()
        .all(|p| p.get(&gltf::Semantic::Normals).is_none())));
    assert!(doc.nodes().all(|n| n.extras().is_none()));
}

#[test]
fn pipeline_scene_export_obeys_flags() {
    use workflow_engine::params::SceneExportParams;
    use workflow_engine::pipeline::{export_scene_value, SceneValue};
    let p = |format: &str, camera: bool, lights: bool, embed: bool| SceneExportParams {
        format: format.into(),
        include_camera: camera,
        include_lights: lights,
        embed_textures: embed,
    };
    let value = SceneValue::new(common::load("BoxTextured.glb"));
    let files = export_scene_value(&value, &p("glb", false, false, true), "box").expect("export");
    assert_eq!(files.len(), 1);
    let doc = gltf::Gltf::from_slice(&files[0].bytes).expect("valid");
    assert_eq!(doc.cameras().count(), 0);
    let files = export_scene_value(&value, &p("glb", true, true, true), "box").expect("export");
    let doc = gltf::Gltf::from_slice(&files[0].bytes).expect("valid");
    assert_eq!(doc.cameras().count(), 1);
    // Textures beside the file: .gltf + .bin + one PNG, and the set re-imports with its texture.
    let files = export_scene_value(&value, &p("gltf", true, true, false), "box").expect("export");
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["box.gltf", "box.bin", "box_texture_0.png"]);
    let dir = tempfile::tempdir().expect("tmp");
    for f in &files {
        std::fs::write(dir.path().join(&f.name), &f.bytes).expect("write");
    }
    let again = workflow_engine::import_file(&dir.path().join("box.gltf"), &Default::default())
        .expect("re-import");
    assert_eq!(again.textures.len(), 1);
    let err = export_scene_value(&value, &p("fbx", true, true, true), "box").expect_err("format");
    assert_eq!(err.code(), "invalid_param");
}

#[test]
fn manifest_of_another_scene_is_an_error_not_a_panic() {
    let engine = common::load("2CylinderEngine.glb");
    let manifest = extract_manifest(&engine, &ManifestParams::default()).expect("manifest");
    let boxed = common::load("Box.glb");
    let result = export_glb(
        &boxed,
        &manifest,
        &ExportParams::default(),
        &SceneAdditions::default(),
    );
    if let Err(e) = result {
        assert_eq!(e.code(), "manifest_mismatch");
    }
}
