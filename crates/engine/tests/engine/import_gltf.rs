use crate::common::{gltf, load};
use workflow_engine::{extract_manifest, import_file, ImportParams, ManifestParams};

#[test]
fn fixtures_import_with_expected_drawn_triangles() {
    for (name, tris) in [
        ("Box.glb", 12),
        ("BoxTextured.glb", 12),
        ("SimpleMeshes/SimpleMeshes.gltf", 2),
        ("SimpleInstancing.glb", 1500),
        ("NegativeScaleTest.glb", 7724),
        ("CesiumMilkTruck.glb", 3624),
        ("2CylinderEngine.glb", 121_496),
    ] {
        let scene = load(name);
        assert_eq!(scene.drawn_triangle_count(), tris, "{name}");
        assert!(!scene.bounds().is_empty(), "{name}");
    }
}

#[test]
fn textures_and_materials_are_read() {
    let scene = load("BoxTextured.glb");
    assert_eq!(scene.textures.len(), 1);
    assert_eq!(scene.materials[0].base_color_texture, Some(0));
    assert!(scene.meshes[0].primitives[0].uvs.is_some());
}

#[test]
fn malformed_files_are_errors_naming_the_defect() {
    for (name, needle) in [
        ("empty_file.glb", "empty"),
        ("invalid_magic.glb", "magic"),
        ("length_mismatch.glb", "does not match file size"),
        ("truncated_chunk_data.glb", ""),
    ] {
        let err = import_file(
            &gltf(&format!("malformed/{name}")),
            &ImportParams::default(),
        )
        .expect_err("malformed file must fail");
        assert_eq!(err.code(), "malformed_gltf", "{name}: {err}");
        assert!(err.to_string().contains(needle), "{name}: {err}");
        println!("{name}: {err}");
    }
}

#[test]
fn accessor_past_end_of_buffer_is_an_error() {
    // Derive a broken variant at run time: shrink the buffer view of Box.glb's positions.
    let bytes = std::fs::read(gltf("Box.glb")).expect("read Box.glb");
    let json_len = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
    let json = std::str::from_utf8(&bytes[20..20 + json_len]).expect("utf8 json");
    let mut doc: serde_json::Value = serde_json::from_str(json.trim_end()).expect("json");
    doc["accessors"][1]["count"] = serde_json::json!(100_000);
    let mut text = serde_json::to_string(&doc).expect("serialize");
    let pad = (4 - text.len() % 4) % 4;
    text.extend(std::iter::repeat_n(' ', pad));
    let rest = &bytes[20 + json_len..];
    let mut out = Vec::new();
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&((12 + 8 + text.len() + rest.len()) as u32).to_le_bytes());
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(rest);
    let err = workflow_engine::import::gltf::import_gltf_slice(&out, None).expect_err("must fail");
    assert!(err.to_string().contains("points past the end"), "{err}");
    // The culprit by JSON pointer, as the validator names it.
    assert_eq!(err.pointer(), Some("/accessors/1/count"), "{err}");
}

#[test]
fn negative_scale_instances_flip_winding() {
    let scene = load("NegativeScaleTest.glb");
    let mut mirrored = 0;
    for part in scene.part_instances() {
        use three_d::SquareMatrix;
        if part.world.determinant() < 0.0 {
            mirrored += 1;
            // Face normals from the (flipped) winding must agree with the transformed normals.
            for prim in scene.world_primitives(&part) {
                let mut agree = 0i64;
                for t in prim.indices.chunks_exact(3) {
                    let p = |i: u32| three_d::Vec3::from(prim.positions[i as usize]);
                    let face = (p(t[1]) - p(t[0])).cross(p(t[2]) - p(t[0]));
                    let n = three_d::Vec3::from(prim.normals[t[0] as usize]);
                    agree += if three_d::InnerSpace::dot(face, n) >= 0.0 {
                        1
                    } else {
                        -1
                    };
                }
                assert!(agree > 0, "winding disagrees with normals");
            }
        }
    }
    assert!(mirrored > 0);
}

#[test]
fn same_file_twice_gives_same_keys() {
    let a = extract_manifest(&load("2CylinderEngine.glb"), &ManifestParams::default())
        .expect("manifest");
    let b = extract_manifest(&load("2CylinderEngine.glb"), &ManifestParams::default())
        .expect("manifest");
    assert_eq!(a, b);
}

fn distinct(name: &str, expected_parts: usize) -> workflow_engine::Manifest {
    let m = extract_manifest(&load(name), &ManifestParams::default()).expect("manifest");
    let keys: std::collections::HashSet<_> = m.parts.iter().map(|p| p.part_key.clone()).collect();
    assert_eq!(keys.len(), m.parts.len(), "{name}: duplicate keys");
    assert_eq!(m.parts.len(), expected_parts, "{name}");
    m
}

#[test]
fn instanced_meshes_get_distinct_keys() {
    // 82 nodes, 67 of them with a mesh (the rest are groups and the camera).
    let engine = distinct("2CylinderEngine.glb", 67);
    assert_eq!(count_meshless("2CylinderEngine.glb"), 82 - 67);
    assert_eq!(engine.total_triangles, 121_496);
    let max_uses = engine
        .parts
        .iter()
        .map(|p| p.mesh_instance)
        .max()
        .expect("parts");
    assert_eq!(max_uses + 1, 20, "one mesh is used by 20 nodes");
    // Fixtures README: 29 meshes, 14 of them shared by several nodes.
    let mut uses = std::collections::HashMap::new();
    for p in &engine.parts {
        *uses.entry(p.mesh).or_insert(0) += 1;
    }
    assert_eq!(uses.len(), 29);
    assert_eq!(uses.values().filter(|&&n| n > 1).count(), 14);
    let inst = distinct("SimpleInstancing.glb", 125);
    assert!(inst.parts.iter().all(|p| p.instance_index.is_some()));
    assert_eq!(inst.total_triangles, 1500);
    let truck = distinct("CesiumMilkTruck.glb", 3);
    let wheels: Vec<_> = truck
        .parts
        .iter()
        .filter(|p| p.mesh_name.as_deref() == Some("Wheels"))
        .collect();
    assert_eq!(wheels.len(), 2);
    assert_eq!(truck.total_triangles, 3624);
    let simple = distinct("SimpleMeshes/SimpleMeshes.gltf", 2);
    println!(
        "{:?}",
        simple.parts.iter().map(|p| &p.part_key).collect::<Vec<_>>()
    );
}

fn count_meshless(name: &str) -> usize {
    load(name).nodes.iter().filter(|n| n.mesh.is_none()).count()
}

#[test]
fn adding_an_unrelated_node_keeps_keys() {
    let mut scene = load("CesiumMilkTruck.glb");
    let before = extract_manifest(&scene, &ManifestParams::default()).expect("manifest");
    // Add a differently named sibling with a mesh in front of the first root's children.
    let mut extra = workflow_engine::scene::Node::new(
        Some("Antenna".into()),
        three_d::SquareMatrix::identity(),
    );
    extra.mesh = Some(0);
    extra.parent = Some(scene.roots[0]);
    scene.nodes.push(extra);
    let idx = scene.nodes.len() - 1;
    let root = scene.roots[0];
    scene.nodes[root].children.insert(0, idx);
    scene.update_world_transforms();
    let after = extract_manifest(&scene, &ManifestParams::default()).expect("manifest");
    assert_eq!(after.parts.len(), before.parts.len() + 1);
    for p in &before.parts {
        assert!(
            after.get(&p.part_key).is_some(),
            "key {} changed",
            p.part_key
        );
    }
}

#[test]
fn separator_and_filters_apply() {
    let scene = load("CesiumMilkTruck.glb");
    let m = extract_manifest(
        &scene,
        &ManifestParams {
            key_separator: "::".into(),
            include_hidden: false,
            min_triangles: 1000,
        },
    )
    .expect("manifest");
    assert!(m.parts.iter().all(|p| p.triangle_count >= 1000));
    assert!(
        m.parts.iter().any(|p| p.part_key.contains("::")),
        "{:?}",
        m.parts
    );
}

#[test]
fn sibling_literally_named_like_a_suffix_does_not_collide() {
    let mut scene = load("SimpleMeshes/SimpleMeshes.gltf");
    // Three siblings: "a", "a", "a[1]".
    for (i, name) in ["a", "a"].iter().enumerate() {
        scene.nodes[scene.roots[i]].name = Some((*name).into());
    }
    let mut extra =
        workflow_engine::scene::Node::new(Some("a[1]".into()), three_d::SquareMatrix::identity());
    extra.mesh = Some(0);
    scene.nodes.push(extra);
    scene.roots.push(scene.nodes.len() - 1);
    let m = extract_manifest(&scene, &ManifestParams::default()).expect("no duplicate keys");
    let keys: std::collections::HashSet<_> = m.parts.iter().map(|p| p.part_key.clone()).collect();
    assert_eq!(keys.len(), 3, "{keys:?}");
}
