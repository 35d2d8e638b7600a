//! Reading a glTF's container and JSON as leniently as the spec allows, and judging its
//! defects like the Khronos validator: the `gltf` crate's own reader is stricter than the
//! spec (integers written as `1.0`, a scene without `nodes`, accessors without a buffer view,
//! GLB padding, animation targets given by KHR_animation_pointer), so the JSON is parsed here,
//! normalised, deserialised with the path of any failure, and validated with the crate's
//! checks sorted into defects that change the result (refused with the JSON pointer of the
//! culprit) and defects that do not (warnings). The document handed on is only ever read
//! where it was found valid, so the crate's `unwrap`s on unchecked values are never reached.

use std::collections::HashSet;

use gltf::json::validation::Validate;
use serde_json::Value;

use super::ImportError;

/// GLB chunk type of the JSON chunk ("JSON" little-endian).
const CHUNK_JSON: u32 = 0x4E4F_534A;
/// GLB chunk type of the binary chunk ("BIN\0" little-endian).
const CHUNK_BIN: u32 = 0x004E_4942;
/// Most objects of unused kinds replaced after a failed deserialisation before giving up.
const MAX_REPLACED: usize = 256;

pub(crate) fn malformed(msg: impl Into<String>) -> ImportError {
    ImportError::MalformedGltf(msg.into())
}

pub(crate) fn defect(pointer: impl Into<String>, problem: impl Into<String>) -> ImportError {
    ImportError::GltfDefect {
        file: String::new(),
        pointer: pointer.into(),
        problem: problem.into(),
    }
}

/// A glTF read and judged: a document valid wherever the import reads it, the GLB's binary
/// chunk, and the warnings for defects that do not change the result.
pub(crate) struct Parsed {
    pub document: gltf::Document,
    pub bin: Option<Vec<u8>>,
    pub warnings: Vec<String>,
}

/// The JSON and the binary chunk of a GLB (checked), or the JSON of a `.gltf`.
pub(crate) fn split_container(
    bytes: &[u8],
    warnings: &mut Vec<String>,
) -> Result<(Vec<u8>, Option<Vec<u8>>), ImportError> {
    if bytes.is_empty() {
        return Err(malformed("file is empty (0 bytes)"));
    }
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        return Err(malformed(
            "the JSON starts with a byte-order mark, which glTF does not allow",
        ));
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    // Anything but the GLB magic that starts like JSON is read as JSON (its parse error
    // names line and column).
    if matches!(first, Some(b'{' | b'[' | b'"')) {
        return Ok((bytes.to_vec(), None));
    }
    let n = bytes.len();
    if n < 12 {
        return Err(malformed(format!(
            "GLB header is truncated: 12 bytes needed, file has {n}"
        )));
    }
    if &bytes[0..4] != b"glTF" {
        return Err(malformed(format!(
            "GLB header magic is not `glTF` (found {:02x?}) and the file is not glTF JSON",
            &bytes[0..4]
        )));
    }
    let u32_at =
        |o: usize| u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
    let version = u32_at(4);
    if version != 2 {
        return Err(malformed(format!(
            "GLB version {version} is not supported (expected 2)"
        )));
    }
    let length = u32_at(8) as usize;
    if length > n {
        return Err(malformed(format!(
            "GLB header length {length} does not match file size {n} (the file is truncated)"
        )));
    }
    if length < n {
        // Bytes after the declared end are not part of the GLB (the validator's
        // GLB_EXTRA_DATA warning); the declared length is what counts.
        warnings.push(format!(
            "GLB: {} bytes after the declared length {length} ignored",
            n - length
        ));
    }
    let mut offset = 12;
    let mut chunk = 0;
    let mut json: Option<Vec<u8>> = None;
    let mut bin: Option<Vec<u8>> = None;
    while offset < length {
        if offset + 8 > length {
            return Err(malformed(format!(
                "GLB chunk {chunk} header at byte {offset} is truncated (GLB length {length})"
            )));
        }
        let len = u32_at(offset) as usize;
        let kind = u32_at(offset + 4);
        let data_start = offset + 8;
        if len > length - data_start {
            return Err(malformed(format!(
                "GLB chunk {chunk} data ends early: it declares {len} bytes at byte {data_start} but only {} remain",
                length - data_start
            )));
        }
        let data = &bytes[data_start..data_start + len];
        if !len.is_multiple_of(4) {
            warnings.push(format!(
                "GLB chunk {chunk}: length {len} is not a multiple of 4"
            ));
        }
        match (chunk, kind) {
            (0, CHUNK_JSON) => json = Some(data.to_vec()),
            (0, _) => return Err(malformed("GLB first chunk is not the JSON chunk")),
            (_, CHUNK_JSON) => {
                return Err(malformed(format!(
                    "GLB chunk {chunk} is a second JSON chunk"
                )))
            }
            (1, CHUNK_BIN) => bin = Some(data.to_vec()),
            (_, CHUNK_BIN) => {
                return Err(malformed(format!(
                    "GLB chunk {chunk} is a BIN chunk, but only the chunk after the JSON may be"
                )))
            }
            // Unknown chunk types are skipped, as the spec asks of readers.
            (_, other) => warnings.push(format!(
                "GLB chunk {chunk} of unknown type {other:#010x} ignored"
            )),
        }
        offset = data_start + len;
        chunk += 1;
    }
    let json = json.ok_or_else(|| malformed("GLB has no JSON chunk"))?;
    Ok((json, bin))
}

/// Parses, normalises, deserialises and validates the glTF JSON of `bytes`.
pub(crate) fn parse(bytes: &[u8]) -> Result<Parsed, ImportError> {
    let mut warnings = Vec::new();
    let (json, bin) = split_container(bytes, &mut warnings)?;
    let mut doc: Value = serde_json::from_slice(&json)
        .map_err(|e| malformed(format!("the JSON does not parse: {e}")))?;
    if !doc.is_object() {
        return Err(defect("", "the glTF JSON is not an object"));
    }
    normalise(&mut doc);
    check_accessor_refs(&doc)?;
    super::gltf::accept_required_extensions(&mut doc)?;
    let input = doc.clone();
    let root = deserialize_root(doc, &mut warnings)?;
    warnings.extend(unknown_properties(&input, &written_back(&root)));
    let used = Used::of(&root);
    let mut findings = Vec::new();
    root.validate(&root, gltf::json::Path::new, &mut |path, error| {
        findings.push((pointer_of_path(path().as_str()), error));
    });
    for (pointer, error) in findings {
        use gltf::json::validation::Error as E;
        let what = match error {
            E::IndexOutOfBounds => "refers to an object that does not exist",
            E::Invalid => "has a value outside the spec",
            E::Missing => "is missing",
            E::Oversize => "is too large",
            E::Unsupported => "is not supported",
        };
        // Spec-allowed: an accessor without a buffer view is all zeros.
        if matches!(error, E::Missing) && pointer.ends_with("/bufferView") {
            continue;
        }
        // The POSITION hook reports missing/odd bounds; the importer computes its own.
        let bounds = pointer.contains("/attributes/POSITION/m");
        if used.is_fatal(&pointer) && !bounds {
            return Err(defect(pointer, what));
        }
        warnings.push(format!("glTF {pointer} {what} (ignored)"));
    }
    warnings.extend(used.unused_warnings(&root));
    Ok(Parsed {
        document: gltf::Document::from_json_without_validation(root),
        bin,
        warnings,
    })
}

/// What the gltf-json reader needs that the spec leaves free: integral numbers written with a
/// fraction (`1.0`) become integers, a scene without `nodes` gets an empty list, and
/// animations (never read by this importer; KHR_animation_pointer targets have no `node`)
/// are left out.
fn normalise(doc: &mut Value) {
    fn integral(v: &mut Value) {
        match v {
            Value::Number(n) if !n.is_i64() && !n.is_u64() => {
                if let Some(f) = n.as_f64() {
                    // Only exactly representable integers (|f| < 2^53).
                    if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
                        *v = Value::from(f as i64);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(integral),
            Value::Object(o) => o.values_mut().for_each(integral),
            _ => {}
        }
    }
    integral(doc);
    if let Some(o) = doc.as_object_mut() {
        o.remove("animations");
    }
    if let Some(scenes) = doc.get_mut("scenes").and_then(Value::as_array_mut) {
        for scene in scenes.iter_mut().filter_map(Value::as_object_mut) {
            scene
                .entry("nodes")
                .or_insert_with(|| Value::Array(Vec::new()));
        }
    }
}

/// Property names of glTF 2.0 core objects the reader may leave out when it writes a value
/// back (defaults, and objects it replaced): never reported as unknown.
const CORE_PROPERTIES: &[&str] = &[
    "alphaCutoff",
    "alphaMode",
    "asset",
    "attributes",
    "baseColorFactor",
    "baseColorTexture",
    "buffer",
    "bufferView",
    "buffers",
    "bufferViews",
    "byteLength",
    "byteOffset",
    "byteStride",
    "camera",
    "cameras",
    "channels",
    "children",
    "componentType",
    "copyright",
    "count",
    "doubleSided",
    "emissiveFactor",
    "emissiveTexture",
    "extensions",
    "extensionsRequired",
    "extensionsUsed",
    "extras",
    "generator",
    "images",
    "index",
    "indices",
    "input",
    "interpolation",
    "inverseBindMatrices",
    "joints",
    "magFilter",
    "material",
    "materials",
    "matrix",
    "max",
    "mesh",
    "meshes",
    "metallicFactor",
    "metallicRoughnessTexture",
    "mimeType",
    "min",
    "minFilter",
    "minVersion",
    "mode",
    "name",
    "node",
    "nodes",
    "normalTexture",
    "normalized",
    "occlusionTexture",
    "orthographic",
    "output",
    "path",
    "pbrMetallicRoughness",
    "perspective",
    "primitives",
    "rotation",
    "roughnessFactor",
    "sampler",
    "samplers",
    "scale",
    "scene",
    "scenes",
    "skeleton",
    "skin",
    "skins",
    "source",
    "sparse",
    "strength",
    "target",
    "targets",
    "texCoord",
    "textures",
    "translation",
    "type",
    "uri",
    "values",
    "version",
    "weights",
    "wrapS",
    "wrapT",
    "xmag",
    "ymag",
    "yfov",
    "zfar",
    "znear",
    "aspectRatio",
    "accessors",
    "animations",
];

/// The document as the reader understood it, object by object (one that cannot be written
/// back, e.g. holding a value outside the spec, is `null` and not compared).
fn written_back(root: &gltf::json::Root) -> Value {
    fn each<T: serde::Serialize>(items: &[T]) -> Value {
        Value::Array(
            items
                .iter()
                .map(|item| serde_json::to_value(item).unwrap_or(Value::Null))
                .collect(),
        )
    }
    serde_json::json!({
        "asset": serde_json::to_value(&root.asset).unwrap_or(Value::Null),
        "accessors": each(&root.accessors),
        "buffers": each(&root.buffers),
        "bufferViews": each(&root.buffer_views),
        "cameras": each(&root.cameras),
        "images": each(&root.images),
        "materials": each(&root.materials),
        "meshes": each(&root.meshes),
        "nodes": each(&root.nodes),
        "samplers": each(&root.samplers),
        "scenes": each(&root.scenes),
        "skins": each(&root.skins),
        "textures": each(&root.textures),
    })
}

/// Properties of the input the reader did not keep and the spec does not define (the
/// validator's UNEXPECTED_PROPERTY warning): one warning listing their pointers.
fn unknown_properties(input: &Value, read: &Value) -> Vec<String> {
    fn walk(input: &Value, read: &Value, at: &str, out: &mut Vec<String>) {
        match (input, read) {
            (Value::Object(i), Value::Object(r)) => {
                for (key, value) in i {
                    let here = format!("{at}/{}", escape(key));
                    match r.get(key) {
                        // Free-form by the spec.
                        _ if key == "extensions" || key == "extras" => {}
                        Some(kept) => walk(value, kept, &here, out),
                        None if !CORE_PROPERTIES.contains(&key.as_str()) => out.push(here),
                        None => {}
                    }
                }
            }
            (Value::Array(i), Value::Array(r)) => {
                for (k, (a, b)) in i.iter().zip(r).enumerate() {
                    walk(a, b, &format!("{at}/{k}"), out);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(input, read, "", &mut found);
    if found.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "glTF: {} propert{} the spec does not define, ignored ({})",
        found.len(),
        if found.len() == 1 { "y" } else { "ies" },
        shorten_list(&found)
    )]
}

/// A stand-in for an object of a kind that never changes the imported geometry, when the
/// file's own one does not deserialise (its defect becomes a warning).
fn stand_in(kind: &str) -> Option<Value> {
    Some(match kind {
        "materials" | "samplers" | "images" | "textures" => serde_json::json!({}),
        "cameras" => {
            serde_json::json!({"type": "perspective", "perspective": {"yfov": 1.0, "znear": 0.1}})
        }
        "skins" => serde_json::json!({"joints": []}),
        _ => return None,
    })
}

fn deserialize_root(
    mut doc: Value,
    warnings: &mut Vec<String>,
) -> Result<gltf::json::Root, ImportError> {
    for _ in 0..MAX_REPLACED {
        // By reference: no copy of the document per attempt.
        let err = match serde_path_to_error::deserialize::<_, gltf::json::Root>(&doc) {
            Ok(root) => return Ok(root),
            Err(e) => e,
        };
        let segments: Vec<String> = err
            .path()
            .iter()
            .map(|s| match s {
                serde_path_to_error::Segment::Seq { index } => index.to_string(),
                serde_path_to_error::Segment::Map { key } => key.clone(),
                serde_path_to_error::Segment::Enum { variant } => variant.clone(),
                serde_path_to_error::Segment::Unknown => "?".to_owned(),
            })
            .collect();
        let pointer = pointer_of_segments(&segments);
        let message = err.inner().to_string();
        // Root extensions (lights, variants…) never change the geometry: dropped.
        let replaced = match segments.as_slice() {
            [ext, ..] if ext == "extensions" => doc
                .as_object_mut()
                .and_then(|o| o.remove("extensions"))
                .is_some(),
            [kind, index, ..] => match (stand_in(kind), index.parse::<usize>()) {
                (Some(stub), Ok(i)) => doc
                    .get_mut(kind.as_str())
                    .and_then(|a| a.get_mut(i))
                    .map(|slot| *slot = stub)
                    .is_some(),
                _ => false,
            },
            _ => false,
        };
        if !replaced {
            return Err(defect(pointer, message));
        }
        warnings.push(format!("glTF {pointer}: {message} (ignored)"));
    }
    Err(malformed("too many defective objects"))
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn pointer_of_segments(segments: &[String]) -> String {
    segments.iter().map(|s| format!("/{}", escape(s))).collect()
}

/// gltf-json's `accessors[0].bufferView` / `attributes["POSITION"]` as a JSON pointer.
pub(crate) fn pointer_of_path(path: &str) -> String {
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => segments.push(std::mem::take(&mut current)),
            '[' => {
                segments.push(std::mem::take(&mut current));
                let mut inner = String::new();
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                    inner.push(d);
                }
                segments.push(inner.trim_matches('"').to_owned());
            }
            _ => current.push(c),
        }
    }
    segments.push(current);
    let segments: Vec<String> = segments.into_iter().filter(|s| !s.is_empty()).collect();
    pointer_of_segments(&segments)
}

/// Accessor references of mesh primitives must be in range before gltf-json validates them
/// (its POSITION hook indexes the accessor array unchecked).
fn check_accessor_refs(doc: &Value) -> Result<(), ImportError> {
    let accessors = doc
        .get("accessors")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let Some(meshes) = doc.get("meshes").and_then(Value::as_array) else {
        return Ok(());
    };
    for (mi, mesh) in meshes.iter().enumerate() {
        let Some(prims) = mesh.get("primitives").and_then(Value::as_array) else {
            continue;
        };
        for (pi, prim) in prims.iter().enumerate() {
            let attrs = prim
                .get("attributes")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|a| a.iter().map(|(k, v)| (format!("attributes/{k}"), v)));
            let indices = prim.get("indices").map(|v| ("indices".to_owned(), v));
            for (name, v) in attrs.chain(indices) {
                if let Some(i) = v.as_u64() {
                    if i as usize >= accessors {
                        return Err(defect(
                            format!("/meshes/{mi}/primitives/{pi}/{name}"),
                            format!("names accessor {i}, but the file has {accessors} accessors"),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The objects the import reads to build the scene's geometry: the scene, its node tree, the
/// meshes they place, and those meshes' accessors, buffer views and buffers. A defect in one
/// of them changes the result; elsewhere it does not (materials, textures and images are read
/// defensively and fall back with a warning).
struct Used {
    prefixes: HashSet<String>,
    meshes: HashSet<usize>,
    nodes: HashSet<usize>,
}

impl Used {
    fn of(root: &gltf::json::Root) -> Used {
        let mut used = Used {
            prefixes: HashSet::new(),
            meshes: HashSet::new(),
            nodes: HashSet::new(),
        };
        let scene = root
            .scene
            .map(|s| s.value())
            .or((!root.scenes.is_empty()).then_some(0));
        let mut stack: Vec<usize> = match scene.and_then(|s| root.scenes.get(s).map(|x| (s, x))) {
            Some((s, sc)) => {
                used.prefixes.insert(format!("/scenes/{s}"));
                sc.nodes.iter().map(|n| n.value()).collect()
            }
            // Without a scene every node is drawn from its own root.
            None => (0..root.nodes.len()).collect(),
        };
        while let Some(n) = stack.pop() {
            let Some(node) = root.nodes.get(n) else {
                continue;
            };
            if !used.nodes.insert(n) {
                continue;
            }
            used.prefixes.insert(format!("/nodes/{n}"));
            stack.extend(node.children.iter().flatten().map(|c| c.value()));
            if let Some(m) = node.mesh {
                used.add_mesh(root, m.value());
            }
            if let Some(ext) = node
                .extensions
                .as_ref()
                .and_then(|e| e.others.get("EXT_mesh_gpu_instancing"))
            {
                for a in ext
                    .get("attributes")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flat_map(|o| o.values())
                    .filter_map(Value::as_u64)
                {
                    used.add_accessor(root, a as usize);
                }
            }
        }
        used
    }

    fn add_mesh(&mut self, root: &gltf::json::Root, m: usize) {
        let Some(mesh) = root.meshes.get(m) else {
            return;
        };
        if !self.meshes.insert(m) {
            return;
        }
        self.prefixes.insert(format!("/meshes/{m}"));
        for prim in &mesh.primitives {
            let accessors = prim
                .attributes
                .values()
                .chain(prim.indices.iter())
                .map(|a| a.value())
                .collect::<Vec<_>>();
            for a in accessors {
                self.add_accessor(root, a);
            }
        }
    }

    fn add_accessor(&mut self, root: &gltf::json::Root, a: usize) {
        let Some(acc) = root.accessors.get(a) else {
            return;
        };
        self.prefixes.insert(format!("/accessors/{a}"));
        let mut views: Vec<usize> = acc.buffer_view.iter().map(|v| v.value()).collect();
        if let Some(s) = &acc.sparse {
            views.push(s.indices.buffer_view.value());
            views.push(s.values.buffer_view.value());
        }
        for v in views {
            self.prefixes.insert(format!("/bufferViews/{v}"));
            if let Some(view) = root.buffer_views.get(v) {
                self.prefixes
                    .insert(format!("/buffers/{}", view.buffer.value()));
            }
        }
    }

    /// A defect at `pointer` changes the result: it is in a used object, or at the root.
    fn is_fatal(&self, pointer: &str) -> bool {
        let mut parts = pointer.splitn(4, '/').skip(1);
        let (Some(kind), Some(index)) = (parts.next(), parts.next()) else {
            // A root property (`/scene`, `/asset`…).
            return !pointer.starts_with("/extensions");
        };
        if index.parse::<usize>().is_err() {
            return kind != "extensions";
        }
        // The gltf crate builds every buffer view before the one asked for (`views().nth`),
        // unwrapping each one's buffer: a bad view anywhere is reached.
        kind == "bufferViews" || self.prefixes.contains(&format!("/{kind}/{index}"))
    }

    fn unused_warnings(&self, root: &gltf::json::Root) -> Vec<String> {
        let mut out = Vec::new();
        let unused_meshes: Vec<String> = (0..root.meshes.len())
            .filter(|m| !self.meshes.contains(m))
            .map(|m| format!("/meshes/{m}"))
            .collect();
        if !unused_meshes.is_empty() && !self.meshes.is_empty() {
            out.push(format!(
                "glTF: {} mesh(es) not placed in the scene, not imported ({})",
                unused_meshes.len(),
                shorten_list(&unused_meshes)
            ));
        }
        let unused_nodes: Vec<String> = (0..root.nodes.len())
            .filter(|n| !self.nodes.contains(n))
            .map(|n| format!("/nodes/{n}"))
            .collect();
        if !unused_nodes.is_empty() {
            out.push(format!(
                "glTF: {} node(s) outside the scene, not imported ({})",
                unused_nodes.len(),
                shorten_list(&unused_nodes)
            ));
        }
        out
    }
}

fn shorten_list(items: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut s = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        s.push_str(&format!(", … {} more", items.len() - SHOWN));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gltf_json_paths_become_pointers() {
        assert_eq!(
            pointer_of_path("accessors[3].bufferView"),
            "/accessors/3/bufferView"
        );
        assert_eq!(
            pointer_of_path("meshes[0].primitives[1].attributes[\"POSITION\"].min"),
            "/meshes/0/primitives/1/attributes/POSITION/min"
        );
        assert_eq!(pointer_of_path("scene"), "/scene");
    }

    #[test]
    fn integral_floats_and_sceneless_nodes_are_normalised() {
        let mut doc =
            serde_json::json!({"scenes": [{}], "accessors": [{"count": 3.0, "max": [1.5]}]});
        normalise(&mut doc);
        assert_eq!(doc["accessors"][0]["count"], serde_json::json!(3));
        assert_eq!(doc["accessors"][0]["max"][0], serde_json::json!(1.5));
        assert_eq!(doc["scenes"][0]["nodes"], serde_json::json!([]));
    }

    #[test]
    fn unknown_properties_are_listed_by_pointer() {
        let input = serde_json::json!({
            "asset": {"version": "2.0", "customAsset": 1},
            "nodes": [{"name": "a", "extras": {"anything": 1}, "note": "x"}],
            "custom": true
        });
        let read = serde_json::json!({"asset": {"version": "2.0"}, "nodes": [{"name": "a"}]});
        let warnings = unknown_properties(&input, &read);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        for pointer in ["/asset/customAsset", "/nodes/0/note", "/custom"] {
            assert!(warnings[0].contains(pointer), "{pointer}: {warnings:?}");
        }
        assert!(!warnings[0].contains("anything"), "{warnings:?}");
    }

    #[test]
    fn glb_padding_after_the_declared_length_is_a_warning() {
        let mut glb = b"glTF".to_vec();
        glb.extend(2u32.to_le_bytes());
        glb.extend(24u32.to_le_bytes());
        glb.extend(4u32.to_le_bytes());
        glb.extend(CHUNK_JSON.to_le_bytes());
        glb.extend(b"{}  ");
        glb.extend([0, 0, 0]);
        let mut warnings = Vec::new();
        let (json, bin) = split_container(&glb, &mut warnings).expect("reads");
        assert_eq!(json, b"{}  ");
        assert!(bin.is_none());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        glb[8] = 40; // declares more than there is
        let err = split_container(&glb, &mut warnings).expect_err("truncated");
        assert_eq!(err.code(), "malformed_gltf");
    }
}
