//! Synthetic glTF variants derived at run time: format corners and corrupted bytes.
use crate::common;

use serde_json::json;
use workflow_engine::import::gltf::import_gltf_slice;
use workflow_engine::{extract_manifest, ManifestParams};

fn b64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|f| f.to_le_bytes()).collect()
}

/// A quad (4 vertices) as a strip, a fan and a list, 16-bit indices, no normals,
/// normalized u16 UVs, two scenes (default = 1), a point primitive, an unnamed node.
fn synthetic() -> Vec<u8> {
    let mut bin = f32s(&[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0]); // 48 bytes
    bin.extend([0u16, 1, 2, 3].iter().flat_map(|i| i.to_le_bytes())); // 8 bytes @48
    bin.extend(
        [0u16, 0, 65535, 0, 0, 65535, 65535, 65535]
            .iter()
            .flat_map(|i| i.to_le_bytes()),
    ); // 16 @56
    let doc = json!({
        "asset": {"version": "2.0"},
        "scene": 1,
        "scenes": [{"nodes": [0]}, {"nodes": [1, 2, 3]}],
        "nodes": [
            {"name": "unused-scene-node", "mesh": 0},
            {"mesh": 0},
            {"name": "fan", "mesh": 1, "scale": [-1.0, 1.0, 1.0]},
            {"name": "list", "mesh": 2, "translation": [3.0, 0.0, 0.0]}
        ],
        "meshes": [
            {"primitives": [{"attributes": {"POSITION": 0, "TEXCOORD_0": 2}, "indices": 1, "mode": 5}]},
            {"primitives": [{"attributes": {"POSITION": 0}, "mode": 6}, {"attributes": {"POSITION": 0}, "mode": 0}]},
            {"primitives": [{"attributes": {"POSITION": 0}}]}
        ],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": 4, "type": "VEC3", "min": [0,0,0], "max": [1,1,0]},
            {"bufferView": 1, "componentType": 5123, "count": 4, "type": "SCALAR"},
            {"bufferView": 2, "componentType": 5123, "normalized": true, "count": 4, "type": "VEC2"}
        ],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": 48},
            {"buffer": 0, "byteOffset": 48, "byteLength": 8},
            {"buffer": 0, "byteOffset": 56, "byteLength": 16}
        ],
        "buffers": [{"byteLength": bin.len(), "uri": format!("data:application/octet-stream;base64,{}", b64(&bin))}]
    });
    serde_json::to_vec(&doc).expect("json")
}

#[test]
fn format_corners_import() {
    let scene = import_gltf_slice(&synthetic(), None).expect("imports");
    // Default scene 1: three nodes; the point primitive is skipped with a warning.
    assert_eq!(scene.roots.len(), 3);
    assert!(
        scene.warnings.iter().any(|w| w.contains("Points")),
        "{:?}",
        scene.warnings
    );
    let strip = &scene.meshes[0].primitives[0];
    assert_eq!(strip.triangle_count(), 2);
    assert_eq!(strip.normals.len(), 4, "normals computed");
    assert!(strip
        .normals
        .iter()
        .all(|n| (n[2].abs() - 1.0).abs() < 1e-5));
    let uv = strip.uvs.as_ref().expect("uvs");
    assert!((uv[1][0] - 1.0).abs() < 1e-6, "normalized u16 → 1.0");
    assert_eq!(scene.meshes[1].primitives.len(), 1);
    assert_eq!(
        scene.meshes[1].primitives[0].triangle_count(),
        2,
        "fan triangulated"
    );
    assert_eq!(
        scene.meshes[2].primitives[0].triangle_count(),
        1,
        "non-indexed list"
    );
    let m = extract_manifest(&scene, &ManifestParams::default()).expect("manifest");
    let keys: Vec<_> = m.parts.iter().map(|p| p.part_key.as_str()).collect();
    assert_eq!(keys, ["node", "fan", "list"]);
}

#[test]
fn absurd_accessor_counts_are_refused_before_allocating() {
    let mut doc: serde_json::Value = serde_json::from_slice(&synthetic()).expect("json");
    doc["accessors"][0] = json!({"componentType": 5126, "count": 4_000_000_000u64, "type": "VEC3"});
    let err =
        import_gltf_slice(&serde_json::to_vec(&doc).expect("json"), None).expect_err("too large");
    assert!(
        err.to_string().contains("limit") || err.to_string().contains("invalid"),
        "{err}"
    );
}

#[test]
fn out_of_range_indices_are_errors() {
    let mut doc: serde_json::Value = serde_json::from_slice(&synthetic()).expect("json");
    doc["accessors"][1]["count"] = json!(4);
    doc["accessors"][0]["count"] = json!(2);
    let err =
        import_gltf_slice(&serde_json::to_vec(&doc).expect("json"), None).expect_err("bad index");
    assert!(err.to_string().contains("out of range"), "{err}");
}

#[test]
fn corrupted_bytes_never_panic() {
    for name in ["Box.glb", "BoxTextured.glb", "SimpleInstancing.glb"] {
        let bytes = std::fs::read(common::gltf(name)).expect("read");
        let mut cases: Vec<Vec<u8>> = (0..bytes.len())
            .step_by(7)
            .map(|n| bytes[..n].to_vec())
            .collect();
        // Deterministic byte flips across the JSON and BIN chunks.
        let mut x: u32 = 12345;
        for _ in 0..300 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let mut b = bytes.clone();
            let i = (x as usize >> 3) % b.len();
            b[i] ^= 1 << (x % 8);
            cases.push(b);
        }
        for case in cases {
            let result = std::panic::catch_unwind(|| {
                import_gltf_slice(&case, None).map(|s| s.drawn_triangle_count())
            });
            assert!(
                result.is_ok(),
                "{name}: import panicked on a corrupted variant"
            );
        }
    }
}

#[test]
fn missing_external_buffer_names_the_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let gltf = dir.path().join("SimpleMeshes.gltf");
    std::fs::copy(common::gltf("SimpleMeshes/SimpleMeshes.gltf"), &gltf).expect("copy");
    let err = workflow_engine::import_file(&gltf, &Default::default()).expect_err("no .bin");
    assert_eq!(err.code(), "missing_side_file");
    assert!(err.to_string().contains("triangle.bin"), "{err}");
}

/// A GLB of `doc` with `bin` as its binary chunk (both padded to 4 bytes).
fn glb(doc: &serde_json::Value, bin: &[u8]) -> Vec<u8> {
    let mut text = serde_json::to_vec(doc).expect("json");
    while !text.len().is_multiple_of(4) {
        text.push(b' ');
    }
    let mut bin = bin.to_vec();
    while !bin.len().is_multiple_of(4) {
        bin.push(0);
    }
    let mut out = Vec::new();
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&((12 + 8 + text.len() + 8 + bin.len()) as u32).to_le_bytes());
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&text);
    out.extend_from_slice(&(bin.len() as u32).to_le_bytes());
    out.extend_from_slice(b"BIN\0");
    out.extend_from_slice(&bin);
    out
}

/// A triangle as gltfpack writes it (KHR_mesh_quantization, required): normalized int16
/// positions (stride 8) and normalized int8 normals (stride 4), the scale on the node.
fn quantized(bin_uri: Option<String>) -> (serde_json::Value, Vec<u8>) {
    let mut bin: Vec<u8> = [[0i16, 0, 0, 0], [32767, 0, 0, 0], [0, 32767, 0, 0]]
        .iter()
        .flatten()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    bin.extend([0u8, 0, 127, 0].repeat(3)); // normals (0, 0, 1) @24
    let mut buffer = json!({"byteLength": bin.len()});
    if let Some(uri) = bin_uri {
        buffer["uri"] = json!(format!("{uri}{}", b64(&bin)));
    }
    let doc = json!({
        "asset": {"version": "2.0", "generator": "gltfpack-like"},
        "extensionsUsed": ["KHR_mesh_quantization"],
        "extensionsRequired": ["KHR_mesh_quantization"],
        "scenes": [{"nodes": [0]}],
        "nodes": [{"name": "quantized", "mesh": 0, "scale": [2.0, 2.0, 2.0]}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "NORMAL": 1}}]}],
        "accessors": [
            {"bufferView": 0, "componentType": 5122, "normalized": true, "count": 3,
             "type": "VEC3", "min": [0, 0, 0], "max": [1, 1, 0]},
            {"bufferView": 1, "componentType": 5120, "normalized": true, "count": 3, "type": "VEC3"}
        ],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": 24, "byteStride": 8},
            {"buffer": 0, "byteOffset": 24, "byteLength": 12, "byteStride": 4}
        ],
        "buffers": [buffer]
    });
    (doc, bin)
}

#[test]
fn quantized_meshes_import_in_gltf_and_glb() {
    let (doc, bin) = quantized(None);
    let (embedded, _) = quantized(Some("data:application/octet-stream;base64,".into()));
    for (what, bytes) in [
        ("glb", glb(&doc, &bin)),
        ("gltf", serde_json::to_vec(&embedded).expect("json")),
    ] {
        let scene = import_gltf_slice(&bytes, None).unwrap_or_else(|e| panic!("{what}: {e}"));
        let p = &scene.meshes[0].primitives[0];
        assert_eq!(
            p.positions,
            [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
            "{what}"
        );
        assert!(
            p.normals.iter().all(|n| (n[2] - 1.0).abs() < 1e-6),
            "{what}"
        );
        let m = extract_manifest(&scene, &ManifestParams::default()).expect("manifest");
        assert_eq!(m.parts.len(), 1, "{what}");
    }
}

#[test]
fn compressed_meshes_are_refused_naming_the_extension() {
    let (mut doc, bin) = quantized(None);
    doc["extensionsUsed"] = json!(["KHR_mesh_quantization", "KHR_draco_mesh_compression"]);
    doc["extensionsRequired"] = json!(["KHR_mesh_quantization", "KHR_draco_mesh_compression"]);
    let err = import_gltf_slice(&glb(&doc, &bin), None).expect_err("draco is not decoded");
    assert_eq!(err.code(), "unsupported_gltf_extension");
    let message = err.to_string();
    assert!(message.contains("KHR_draco_mesh_compression"), "{message}");
    assert!(!message.contains("KHR_mesh_quantization"), "{message}");
    assert!(message.contains("without mesh compression"), "{message}");
    // Used but not required: the file is readable without it.
    doc["extensionsRequired"] = json!([]);
    import_gltf_slice(&glb(&doc, &bin), None).expect("optional extension ignored");
}

/// What the viewer's local open and the command line read: a glTF's references resolve in
/// its own folder; one leading out of it is refused, naming the URI, and nothing is read.
#[test]
fn local_files_may_not_reach_outside_their_folder() {
    let dir = tempfile::tempdir().expect("tmp");
    let model = dir.path().join("model");
    std::fs::create_dir(&model).expect("mkdir");
    std::fs::copy(
        common::gltf("SimpleMeshes/triangle.bin"),
        dir.path().join("triangle.bin"),
    )
    .expect("copy");
    let text =
        std::fs::read_to_string(common::gltf("SimpleMeshes/SimpleMeshes.gltf")).expect("fixture");
    for uri in ["../triangle.bin", "/etc/passwd", "file:///etc/passwd"] {
        let path = model.join("SimpleMeshes.gltf");
        std::fs::write(
            &path,
            text.replace("\"triangle.bin\"", &format!("\"{uri}\"")),
        )
        .expect("write");
        let err = workflow_engine::import_file(&path, &Default::default()).expect_err(uri);
        assert_eq!(err.code(), "external_reference_refused", "{uri}: {err}");
        assert!(err.to_string().contains(uri), "{err}");
    }
    // The same file beside the glTF is read.
    std::fs::copy(dir.path().join("triangle.bin"), model.join("triangle.bin")).expect("copy");
    std::fs::write(model.join("SimpleMeshes.gltf"), &text).expect("write");
    workflow_engine::import_file(&model.join("SimpleMeshes.gltf"), &Default::default())
        .expect("imports");
}
