//! Part-key stability as the viewer relies on it: a material map is keyed by part keys, so
//! the same file must give the same keys every time, every instance of a shared mesh must
//! have its own key, and keys must survive our own GLB export (the product's preview GLB that
//! the viewer and the render modules open).

use std::collections::{BTreeMap, HashSet};

use workflow_engine::export_glb::{export_glb, ExportParams, SceneAdditions};
use workflow_engine::manifest::{extract_manifest, Manifest, ManifestParams};
use workflow_engine::materials::{default_library, MaterialMap};
use workflow_engine::{import_file, ImportParams};
use workflow_studio::viewer::model::{load_glb, DocSource};

use crate::support::fixtures;

fn all_fixtures() -> Vec<&'static str> {
    let mut v = vec![
        "gltf/Box.glb",
        "gltf/BoxTextured.glb",
        "gltf/CesiumMilkTruck.glb",
        "gltf/2CylinderEngine.glb",
        "gltf/NegativeScaleTest.glb",
        "gltf/SimpleInstancing.glb",
        "gltf/SimpleMeshes/SimpleMeshes.gltf",
    ];
    v.extend(["step/abc-0000.step", "step/as1-oc-214.step"]);
    v
}

fn manifest(fixture: &str) -> (workflow_engine::Scene, Manifest) {
    let scene = import_file(&fixtures().join(fixture), &ImportParams::default())
        .unwrap_or_else(|e| panic!("{fixture}: {e}"));
    let m = extract_manifest(&scene, &ManifestParams::default()).expect("manifest");
    (scene, m)
}

fn keys(m: &Manifest) -> Vec<String> {
    m.parts.iter().map(|p| p.part_key.clone()).collect()
}

#[test]
fn re_importing_gives_the_same_keys() {
    for fixture in all_fixtures() {
        let (_, a) = manifest(fixture);
        let (_, b) = manifest(fixture);
        assert_eq!(keys(&a), keys(&b), "{fixture}");
        assert!(!a.parts.is_empty(), "{fixture}");
    }
}

#[test]
fn every_instance_of_a_shared_mesh_has_its_own_key() {
    for fixture in all_fixtures() {
        let (_, m) = manifest(fixture);
        let unique: HashSet<&str> = m.parts.iter().map(|p| p.part_key.as_str()).collect();
        assert_eq!(unique.len(), m.parts.len(), "{fixture}: duplicate keys");
    }
    // Meshes used many times: node instancing (2CylinderEngine: one mesh up to 20 times),
    // GPU instancing (SimpleInstancing: 125), the smallest case (SimpleMeshes: 2).
    let uses = |m: &Manifest| {
        let mut by_mesh: BTreeMap<usize, usize> = BTreeMap::new();
        for p in &m.parts {
            *by_mesh.entry(p.mesh).or_default() += 1;
        }
        by_mesh.values().copied().max().unwrap_or(0)
    };
    let (_, engine) = manifest("gltf/2CylinderEngine.glb");
    assert!(uses(&engine) >= 20, "{}", uses(&engine));
    let (_, inst) = manifest("gltf/SimpleInstancing.glb");
    assert_eq!(inst.parts.len(), 125);
    assert!(inst.parts.iter().all(|p| p.part_key.contains('@')));
    let (_, simple) = manifest("gltf/SimpleMeshes/SimpleMeshes.gltf");
    assert_eq!(simple.parts.len(), 2);
    assert_eq!(uses(&simple), 2);
    assert_ne!(simple.parts[0].part_key, simple.parts[1].part_key);
    // STEP assembly: 18 placed instances of 5 solids, each with its own key.
    let (_, as1) = manifest("step/as1-oc-214.step");
    assert_eq!(as1.parts.len(), 18);
}

#[test]
fn keys_survive_export_and_the_viewer_sees_them() {
    for fixture in all_fixtures() {
        let (scene, m) = manifest(fixture);
        let glb = export_glb(
            &scene,
            &m,
            &ExportParams::default(),
            &SceneAdditions::default(),
        )
        .unwrap_or_else(|e| panic!("{fixture}: {e}"));
        let doc = load_glb(
            &glb,
            DocSource::File {
                name: fixture.into(),
            },
            default_library(),
            MaterialMap::default(),
            None,
        )
        .unwrap_or_else(|e| panic!("{fixture}: {e}"));
        assert_eq!(
            keys(&doc.manifest),
            keys(&m),
            "{fixture}: keys after export"
        );
        // A second round trip changes nothing either.
        let again = export_glb(
            &doc.scene,
            &doc.manifest,
            &ExportParams::default(),
            &SceneAdditions::default(),
        )
        .expect("second export");
        let doc2 = load_glb(
            &again,
            DocSource::File {
                name: fixture.into(),
            },
            default_library(),
            MaterialMap::default(),
            None,
        )
        .expect("second import");
        assert_eq!(
            keys(&doc2.manifest),
            keys(&m),
            "{fixture}: second round trip"
        );
    }
}
