//! The scene builder as the desktop viewer uses it: prepared off the GL thread, uploaded,
//! restyled in place after a map edit, picked through the id-buffer pass. The restyled scene
//! must render exactly like a scene built from scratch with the new resolution.

use crate::common;

use std::sync::Arc;

use workflow_engine::export_glb::{export_glb, ExportParams, SceneAdditions};
use workflow_engine::import::gltf::import_gltf_slice;
use workflow_engine::lighting::LightingParams;
use workflow_engine::materials::{
    default_library, MaterialMap, MissingPolicy, NameRule, ResolveOptions,
};
use workflow_engine::render::scene_builder::{self, prepare_scene, upload_scene, Grouping};
use workflow_engine::render::{render_id_buffer, ImageParams, RenderService, Renderer};
use workflow_engine::{extract_manifest, resolve_materials, ManifestParams, MaterialResolution};

fn resolve(manifest: &workflow_engine::Manifest, map: &MaterialMap) -> MaterialResolution {
    resolve_materials(
        manifest,
        &default_library(),
        map,
        &ResolveOptions {
            missing_policy: MissingPolicy::Placeholder,
            ..ResolveOptions::default()
        },
    )
    .expect("resolves")
}

#[test]
fn restyled_scene_renders_like_a_fresh_build_and_ids_pick_parts() {
    let scene = Arc::new(common::load("CesiumMilkTruck.glb"));
    let manifest = Arc::new(extract_manifest(&scene, &ManifestParams::default()).expect("m"));
    let before = resolve(&manifest, &MaterialMap::default());
    let after = resolve(
        &manifest,
        &MaterialMap {
            rules: vec![NameRule {
                pattern: "*wheel*".into(),
                material: "paint_red".into(),
            }],
            ..Default::default()
        },
    );
    assert_ne!(before, after);
    let service = RenderService::start().expect("headless renderer");
    let (s, m) = (scene.clone(), manifest.clone());
    let (restyled, fresh, changed, centre_part, keys) = service
        .run(move |r: &mut Renderer| {
            let params = ImageParams {
                width: 96,
                height: 96,
                ..ImageParams::default()
            };
            // Prepared on "another thread" (it is Send), uploaded here.
            let prepared = prepare_scene(&s, &m, &before, Grouping::PerPart);
            let mut built = upload_scene(r.context(), &s, prepared);
            let changed = built.restyle(r.context(), &s, &after);
            let pose = Renderer::camera_pose(&built, &params);
            let restyled = r
                .render_built(&built, &LightingParams::default(), &params, &pose)
                .expect("render");
            let fresh_built =
                scene_builder::build_scene(r.context(), &s, &m, &after, Grouping::PerPart);
            let fresh = r
                .render_built(&fresh_built, &LightingParams::default(), &params, &pose)
                .expect("render");
            let ids = render_id_buffer(
                r.context(),
                &built,
                &scene_builder::camera(&pose, 96, 96),
                &|_| true,
            )
            .expect("id pass");
            let centre = ids.drawable_at(48, 48);
            (
                restyled.rgba,
                fresh.rgba,
                changed,
                centre.and_then(|d| built.part_keys[d].first().cloned()),
                built.part_keys.clone(),
            )
        })
        .expect("service");
    assert!(changed.is_some_and(|n| n > 0), "{changed:?}");
    assert_eq!(restyled, fresh, "restyle == rebuild");
    let centre = centre_part.expect("a part covers the centre pixel");
    assert!(keys.iter().flatten().any(|k| *k == centre));
    // By-material scenes cannot be restyled (the renderer rebuilds them).
    let (s, m, res) = (
        scene,
        manifest,
        resolve(&common_manifest(), &MaterialMap::default()),
    );
    let refused = service
        .run(move |r: &mut Renderer| {
            let mut built =
                scene_builder::build_scene(r.context(), &s, &m, &res, Grouping::ByMaterial);
            built.restyle(r.context(), &s, &res)
        })
        .expect("service");
    assert_eq!(refused, None);
}

fn common_manifest() -> workflow_engine::Manifest {
    extract_manifest(
        &common::load("CesiumMilkTruck.glb"),
        &ManifestParams::default(),
    )
    .expect("manifest")
}

#[test]
fn material_less_primitives_stay_material_less_through_export() {
    // SimpleInstancing has no material at all: after our export (the product's preview
    // GLB) its parts must still be reported missing, not quietly painted grey.
    let scene = common::load("SimpleInstancing.glb");
    let manifest = extract_manifest(&scene, &ManifestParams::default()).expect("manifest");
    let glb = export_glb(
        &scene,
        &manifest,
        &ExportParams::default(),
        &SceneAdditions::default(),
    )
    .expect("export");
    let again = import_gltf_slice(&glb, None).expect("re-import");
    assert!(again
        .meshes
        .iter()
        .flat_map(|m| &m.primitives)
        .all(|p| p.material.is_none()));
    let m2 = extract_manifest(&again, &ManifestParams::default()).expect("manifest");
    let res = resolve(&m2, &MaterialMap::default());
    assert_eq!(res.missing.len(), 125);
    // Files with materials keep them.
    let truck = common::load("CesiumMilkTruck.glb");
    let tm = extract_manifest(&truck, &ManifestParams::default()).expect("manifest");
    let glb = export_glb(
        &truck,
        &tm,
        &ExportParams::default(),
        &SceneAdditions::default(),
    )
    .expect("export");
    let again = import_gltf_slice(&glb, None).expect("re-import");
    let m3 = extract_manifest(&again, &ManifestParams::default()).expect("manifest");
    assert!(resolve(&m3, &MaterialMap::default()).missing.is_empty());
}
