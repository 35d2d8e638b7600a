//! glTF 2.0 / GLB import with the `gltf` crate for JSON parsing and validation, and our own
//! bounds-checked accessor decoding so a malformed file is an error, never a panic or an
//! absurd allocation.

use std::collections::HashSet;
use std::path::Path;

use gltf::accessor::{DataType, Dimensions};
use gltf::mesh::Mode;
use three_d::{Mat4, Quat, SquareMatrix, Vec3};

use super::ImportError;
use crate::scene::{compute_normals, FileMaterial, Mesh, Node, Primitive, Scene, TextureImage};

/// Refuse accessors with more components than this before allocating (≈ 1 GiB of f32).
pub const MAX_ACCESSOR_COMPONENTS: usize = 256 * 1024 * 1024;
/// GLB chunk type of the JSON chunk ("JSON" little-endian).
const CHUNK_JSON: u32 = 0x4E4F_534A;

fn malformed(msg: impl Into<String>) -> ImportError {
    ImportError::MalformedGltf(msg.into())
}

/// Reads a `.gltf` (external or data-URI buffers, resolved relative to the file) or `.glb`.
pub fn import_gltf_file(path: &Path) -> Result<Scene, ImportError> {
    import_gltf_file_as(path, &path.display().to_string())
}

/// [`import_gltf_file`], with messages naming the file `shown` (an upload's own name rather
/// than where the server keeps it). External references resolve inside the file's folder
/// only (see `external.rs`).
pub fn import_gltf_file_as(path: &Path, shown: &str) -> Result<Scene, ImportError> {
    let bytes = std::fs::read(path).map_err(|source| ImportError::Io {
        path: shown.to_owned(),
        source,
    })?;
    import_gltf_slice(&bytes, path.parent()).map_err(|e| match e {
        ImportError::MalformedGltf(m) => ImportError::MalformedGltf(format!("{shown}: {m}")),
        other => other,
    })
}

/// Reads glTF JSON or GLB bytes; `base` is the folder relative buffer/image URIs resolve in
/// (and may not leave); without one only `data:` URIs and the GLB's own chunk are read.
pub fn import_gltf_slice(bytes: &[u8], base: Option<&Path>) -> Result<Scene, ImportError> {
    if bytes.is_empty() {
        return Err(malformed("file is empty (0 bytes)"));
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first != Some(b'{') {
        check_glb_layout(bytes)?;
    }
    let bytes = &*precheck_json(bytes)?;
    // The gltf crates still `unwrap` on a few invariants their validation does not enforce
    // (e.g. an image in a buffer view without a MIME type): a panic in there is turned into
    // a malformed-file error instead of taking the worker down.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_document(bytes, base)))
        .unwrap_or_else(|_| {
            Err(malformed(
                "the glTF parser rejected the file (an internal consistency check failed)",
            ))
        })
}

fn read_document(bytes: &[u8], base: Option<&Path>) -> Result<Scene, ImportError> {
    let gltf::Gltf { document, blob } =
        // The crate's own messages say what failed ("invalid glTF: …", "JSON error …").
        gltf::Gltf::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    super::external::check_references(&document, base)?;
    let buffers: Vec<Vec<u8>> = gltf::import_buffers(&document, base, blob)
        .map_err(|e| malformed(format!("cannot load buffers: {e}")))?
        .into_iter()
        .map(|d| d.0)
        .collect();
    let mut scene = Scene::default();
    scene.textures = load_textures(&document, base, &buffers, &mut scene.warnings);
    scene.materials = document
        .materials()
        .map(|m| convert_material(&m, &document))
        .collect();
    for mesh in document.meshes() {
        let converted = convert_mesh(&mesh, &document, &buffers, &mut scene.warnings)?;
        scene.meshes.push(converted);
    }
    build_hierarchy(&document, &buffers, &mut scene)?;
    Ok(scene)
}

/// Required extensions this importer decodes itself: quantized attributes are read through
/// the general accessor reader (any component type, normalized or not).
const DECODED_EXTENSIONS: [&str; 1] = ["KHR_mesh_quantization"];

/// A required extension nobody here decodes is refused by name, with what to do about it;
/// the ones listed in [`DECODED_EXTENSIONS`] are taken off `extensionsRequired` so the gltf
/// crate's validation lets the file through. True when `doc` changed.
fn accept_required_extensions(doc: &mut serde_json::Value) -> Result<bool, ImportError> {
    let Some(required) = doc
        .get_mut("extensionsRequired")
        .and_then(|r| r.as_array_mut())
    else {
        return Ok(false);
    };
    let decoded = |n: &str| DECODED_EXTENSIONS.contains(&n);
    let unsupported: Vec<String> = required
        .iter()
        .filter_map(|v| v.as_str())
        .filter(|n| !decoded(n) && !gltf::json::extensions::ENABLED_EXTENSIONS.contains(n))
        .map(str::to_owned)
        .collect();
    if !unsupported.is_empty() {
        let compressed = unsupported.iter().any(|n| {
            matches!(
                n.as_str(),
                "KHR_draco_mesh_compression" | "EXT_meshopt_compression"
            )
        });
        let hint = if compressed {
            "; export the file without mesh compression (Draco/meshopt), or decompress it first"
        } else {
            "; export the file without it"
        };
        return Err(ImportError::UnsupportedExtension {
            extensions: unsupported,
            hint: hint.into(),
        });
    }
    let before = required.len();
    required.retain(|v| !v.as_str().is_some_and(decoded));
    Ok(required.len() != before)
}

/// `bytes` with its JSON replaced by `doc`: the JSON itself for `.gltf`; for a GLB the
/// header, the new JSON chunk (padded with spaces to 4 bytes) and the other chunks as they
/// were (the layout was checked before).
fn with_json(bytes: &[u8], doc: &serde_json::Value) -> Result<Vec<u8>, ImportError> {
    let mut chunk = serde_json::to_vec(doc).map_err(|e| malformed(e.to_string()))?;
    if !bytes.starts_with(b"glTF") {
        return Ok(chunk);
    }
    let rest = bytes.get(20 + json_chunk(bytes).len()..).unwrap_or(&[]);
    while !chunk.len().is_multiple_of(4) {
        chunk.push(b' ');
    }
    let too_large = || malformed("GLB over 4 GiB");
    let total = u32::try_from(12 + 8 + chunk.len() + rest.len()).map_err(|_| too_large())?;
    let chunk_len = u32::try_from(chunk.len()).map_err(|_| too_large())?;
    let mut out = Vec::with_capacity(total as usize);
    out.extend_from_slice(&bytes[..8]);
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(&chunk_len.to_le_bytes());
    out.extend_from_slice(&CHUNK_JSON.to_le_bytes());
    out.extend_from_slice(&chunk);
    out.extend_from_slice(rest);
    Ok(out)
}

/// The JSON chunk of a GLB, or the whole file for `.gltf`.
fn json_chunk(bytes: &[u8]) -> &[u8] {
    if bytes.starts_with(b"glTF") && bytes.len() >= 20 {
        let len = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
        bytes.get(20..20usize.saturating_add(len)).unwrap_or(&[])
    } else {
        bytes
    }
}

/// What the gltf crate does not check itself, from one parse of the JSON: accessor
/// references in range, and required extensions (see [`accept_required_extensions`]).
/// The bytes to hand to gltf: `bytes`, or a copy with the JSON changed.
fn precheck_json(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, ImportError> {
    use std::borrow::Cow;
    let Ok(mut doc) = serde_json::from_slice::<serde_json::Value>(json_chunk(bytes)) else {
        return Ok(Cow::Borrowed(bytes)); // gltf reports JSON syntax errors with positions
    };
    check_accessor_refs(&doc)?;
    if accept_required_extensions(&mut doc)? {
        Ok(Cow::Owned(with_json(bytes, &doc)?))
    } else {
        Ok(Cow::Borrowed(bytes))
    }
}

/// Accessor references of mesh primitives must be in range before gltf-json validates them
/// (its POSITION hook indexes the accessor array unchecked).
fn check_accessor_refs(doc: &serde_json::Value) -> Result<(), ImportError> {
    let accessors = doc
        .get("accessors")
        .and_then(|a| a.as_array())
        .map_or(0, Vec::len);
    let meshes = doc
        .get("meshes")
        .and_then(|m| m.as_array())
        .cloned()
        .unwrap_or_default();
    for (mi, mesh) in meshes.iter().enumerate() {
        let prims = mesh
            .get("primitives")
            .and_then(|p| p.as_array())
            .cloned()
            .unwrap_or_default();
        for (pi, prim) in prims.iter().enumerate() {
            let mut refs: Vec<(String, &serde_json::Value)> = Vec::new();
            if let Some(attrs) = prim.get("attributes").and_then(|a| a.as_object()) {
                refs.extend(attrs.iter().map(|(k, v)| (k.clone(), v)));
            }
            if let Some(i) = prim.get("indices") {
                refs.push(("indices".into(), i));
            }
            for (name, v) in refs {
                if let Some(i) = v.as_u64() {
                    if i as usize >= accessors {
                        return Err(malformed(format!(
                            "mesh {mi} primitive {pi}: {name} names accessor {i}, but the file has {accessors} accessors"
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Checks the GLB container (header and chunk table) and names the defect precisely.
fn check_glb_layout(bytes: &[u8]) -> Result<(), ImportError> {
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
    if length != n {
        return Err(malformed(format!(
            "GLB header length {length} does not match file size {n}"
        )));
    }
    let mut offset = 12;
    let mut chunk = 0;
    while offset < n {
        if offset + 8 > n {
            return Err(malformed(format!(
                "GLB chunk {chunk} header at byte {offset} is truncated (file size {n})"
            )));
        }
        let len = u32_at(offset) as usize;
        let kind = u32_at(offset + 4);
        if chunk == 0 && kind != CHUNK_JSON {
            return Err(malformed("GLB first chunk is not the JSON chunk"));
        }
        let data_start = offset + 8;
        if len > n - data_start {
            return Err(malformed(format!(
                "GLB chunk {chunk} data ends early: it declares {len} bytes at byte {data_start} but only {} remain",
                n - data_start
            )));
        }
        offset = data_start + len;
        chunk += 1;
    }
    if chunk == 0 {
        return Err(malformed("GLB has no JSON chunk"));
    }
    Ok(())
}

fn component_size(t: DataType) -> usize {
    match t {
        DataType::I8 | DataType::U8 => 1,
        DataType::I16 | DataType::U16 => 2,
        DataType::U32 | DataType::F32 => 4,
    }
}

fn read_component(bytes: &[u8], t: DataType, normalized: bool) -> f32 {
    match t {
        DataType::I8 => {
            let v = bytes[0] as i8 as f32;
            if normalized {
                (v / 127.0).max(-1.0)
            } else {
                v
            }
        }
        DataType::U8 => {
            let v = bytes[0] as f32;
            if normalized {
                v / 255.0
            } else {
                v
            }
        }
        DataType::I16 => {
            let v = i16::from_le_bytes([bytes[0], bytes[1]]) as f32;
            if normalized {
                (v / 32767.0).max(-1.0)
            } else {
                v
            }
        }
        DataType::U16 => {
            let v = u16::from_le_bytes([bytes[0], bytes[1]]) as f32;
            if normalized {
                v / 65535.0
            } else {
                v
            }
        }
        DataType::U32 => u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as f32,
        DataType::F32 => f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
    }
}

/// Unsigned integer component (indices): exact, unlike a round trip through f32.
fn read_uint(bytes: &[u8], t: DataType) -> u32 {
    match t {
        DataType::U8 | DataType::I8 => bytes[0] as u32,
        DataType::U16 | DataType::I16 => u16::from_le_bytes([bytes[0], bytes[1]]) as u32,
        DataType::U32 | DataType::F32 => {
            u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
        }
    }
}

/// A scalar index accessor (u8/u16/u32) read exactly.
fn read_indices(accessor: &gltf::Accessor, buffers: &[Vec<u8>]) -> Result<Vec<u32>, ImportError> {
    let what = format!("accessor {}", accessor.index());
    let t = accessor.data_type();
    if accessor.dimensions() != Dimensions::Scalar
        || !matches!(t, DataType::U8 | DataType::U16 | DataType::U32)
    {
        return Err(malformed(format!(
            "{what}: indices must be unsigned integer scalars"
        )));
    }
    if accessor.sparse().is_some() || accessor.view().is_none() {
        // Rare for indices: the general reader handles sparse/zero data (exact below 2^24).
        return Ok(read_accessor_f32(accessor, buffers)?
            .0
            .into_iter()
            .map(|f| f as u32)
            .collect());
    }
    let count = accessor.count();
    if count > MAX_ACCESSOR_COMPONENTS {
        return Err(ImportError::TooLarge(format!(
            "{what} declares {count} indices, above the {MAX_ACCESSOR_COMPONENTS} limit"
        )));
    }
    let Some(view) = accessor.view() else {
        return Ok(Vec::new());
    };
    let size = component_size(t);
    let stride = view.stride().unwrap_or(size).max(size);
    let needed = if count == 0 {
        0
    } else {
        stride * (count - 1) + size
    };
    let data = view_slice(&view, accessor.offset(), needed, buffers, &what)?;
    Ok((0..count)
        .map(|i| read_uint(&data[i * stride..i * stride + size], t))
        .collect())
}

/// Bytes `[start, start + needed)` of a buffer view, checked against view and buffer.
fn view_slice<'a>(
    view: &gltf::buffer::View,
    offset: usize,
    needed: usize,
    buffers: &'a [Vec<u8>],
    what: &str,
) -> Result<&'a [u8], ImportError> {
    let b = view.buffer().index();
    let buffer = buffers
        .get(b)
        .ok_or_else(|| malformed(format!("{what}: buffer {b} is missing")))?;
    if view.offset().saturating_add(view.length()) > buffer.len() {
        return Err(malformed(format!(
            "buffer view {} points past the end of buffer {b} (offset {} + length {} > {} bytes)",
            view.index(),
            view.offset(),
            view.length(),
            buffer.len()
        )));
    }
    if offset.saturating_add(needed) > view.length() {
        return Err(malformed(format!(
            "{what} points past the end of buffer view {} (needs {} bytes from offset {offset}, view has {})",
            view.index(),
            needed,
            view.length()
        )));
    }
    let start = view.offset() + offset;
    Ok(&buffer[start..start + needed])
}

/// Decodes any accessor to f32 components (normalized integers scaled to [0,1]/[-1,1]),
/// applying sparse substitution. Returns the flat components and the component count.
pub(crate) fn read_accessor_f32(
    accessor: &gltf::Accessor,
    buffers: &[Vec<u8>],
) -> Result<(Vec<f32>, usize), ImportError> {
    let what = format!("accessor {}", accessor.index());
    let dims = match accessor.dimensions() {
        Dimensions::Scalar => 1,
        Dimensions::Vec2 => 2,
        Dimensions::Vec3 => 3,
        Dimensions::Vec4 => 4,
        other => {
            return Err(malformed(format!(
                "{what}: matrix type {other:?} is not supported here"
            )))
        }
    };
    let count = accessor.count();
    let total = count.saturating_mul(dims);
    if total > MAX_ACCESSOR_COMPONENTS {
        return Err(ImportError::TooLarge(format!(
            "{what} declares {count} elements, above the {MAX_ACCESSOR_COMPONENTS}-component limit"
        )));
    }
    let t = accessor.data_type();
    let csize = component_size(t);
    let elem = csize * dims;
    let normalized = accessor.normalized();
    let mut out = vec![0.0f32; total];
    if let Some(view) = accessor.view() {
        let stride = view.stride().unwrap_or(elem).max(elem);
        let needed = if count == 0 {
            0
        } else {
            stride * (count - 1) + elem
        };
        let data = view_slice(&view, accessor.offset(), needed, buffers, &what)?;
        for i in 0..count {
            for c in 0..dims {
                let o = i * stride + c * csize;
                out[i * dims + c] = read_component(&data[o..o + csize], t, normalized);
            }
        }
    }
    if let Some(sparse) = accessor.sparse() {
        let n = sparse.count();
        if n > count {
            return Err(malformed(format!(
                "{what}: sparse count {n} exceeds accessor count {count}"
            )));
        }
        let idx = sparse.indices();
        let it = match idx.index_type() {
            gltf::accessor::sparse::IndexType::U8 => DataType::U8,
            gltf::accessor::sparse::IndexType::U16 => DataType::U16,
            gltf::accessor::sparse::IndexType::U32 => DataType::U32,
        };
        let isize_ = component_size(it);
        let idata = view_slice(
            &idx.view(),
            idx.offset(),
            n * isize_,
            buffers,
            &format!("{what} sparse indices"),
        )?;
        let vals = sparse.values();
        let vdata = view_slice(
            &vals.view(),
            vals.offset(),
            n * elem,
            buffers,
            &format!("{what} sparse values"),
        )?;
        for k in 0..n {
            let target = read_uint(&idata[k * isize_..(k + 1) * isize_], it) as usize;
            if target >= count {
                return Err(malformed(format!(
                    "{what}: sparse index {target} is out of range ({count} elements)"
                )));
            }
            for c in 0..dims {
                let o = k * elem + c * csize;
                out[target * dims + c] = read_component(&vdata[o..o + csize], t, normalized);
            }
        }
    }
    Ok((out, dims))
}

fn read_vec<const N: usize>(
    accessor: &gltf::Accessor,
    buffers: &[Vec<u8>],
) -> Result<Vec<[f32; N]>, ImportError> {
    let (flat, dims) = read_accessor_f32(accessor, buffers)?;
    if dims < N {
        return Err(malformed(format!(
            "accessor {} has {dims} components, {N} expected",
            accessor.index()
        )));
    }
    Ok(flat
        .chunks_exact(dims)
        .map(|c| {
            let mut a = [0.0; N];
            a.copy_from_slice(&c[..N]);
            a
        })
        .collect())
}

fn convert_mesh(
    mesh: &gltf::Mesh,
    document: &gltf::Document,
    buffers: &[Vec<u8>],
    warnings: &mut Vec<String>,
) -> Result<Mesh, ImportError> {
    let mut out = Mesh {
        name: mesh.name().map(str::to_owned),
        primitives: Vec::new(),
    };
    for prim in mesh.primitives() {
        let where_ = format!("mesh {} primitive {}", mesh.index(), prim.index());
        let mode = prim.mode();
        if !matches!(
            mode,
            Mode::Triangles | Mode::TriangleStrip | Mode::TriangleFan
        ) {
            warnings.push(format!(
                "{where_}: {mode:?} primitives are not drawn as surfaces; skipped"
            ));
            continue;
        }
        let Some(pos_acc) = prim.get(&gltf::Semantic::Positions) else {
            warnings.push(format!("{where_}: no POSITION attribute; skipped"));
            continue;
        };
        let positions = read_vec::<3>(&pos_acc, buffers)?;
        let vcount = positions.len();
        let raw_indices: Vec<u32> = match prim.indices() {
            Some(acc) => {
                let indices = read_indices(&acc, buffers)?;
                let mut v = Vec::with_capacity(indices.len());
                for i in indices {
                    if i as usize >= vcount {
                        return Err(malformed(format!(
                            "{where_}: index {i} is out of range ({vcount} vertices)"
                        )));
                    }
                    v.push(i);
                }
                v
            }
            None => (0..vcount as u32).collect(),
        };
        let indices = triangulate(mode, &raw_indices);
        let normals = match prim.get(&gltf::Semantic::Normals) {
            Some(acc) => {
                let n = read_vec::<3>(&acc, buffers)?;
                if n.len() == vcount {
                    n
                } else {
                    warnings.push(format!(
                        "{where_}: NORMAL count differs from POSITION; recomputed"
                    ));
                    compute_normals(&positions, &indices)
                }
            }
            None => compute_normals(&positions, &indices),
        };
        let uvs = match prim.get(&gltf::Semantic::TexCoords(0)) {
            Some(acc) => {
                let uv = read_vec::<2>(&acc, buffers)?;
                (uv.len() == vcount).then_some(uv)
            }
            None => None,
        };
        let material = prim
            .material()
            .index()
            .filter(|&m| m < document.materials().len());
        out.primitives.push(Primitive {
            positions,
            normals,
            uvs,
            indices,
            material,
        });
    }
    Ok(out)
}

/// Turns strips and fans into a triangle list (glTF winding rules).
fn triangulate(mode: Mode, idx: &[u32]) -> Vec<u32> {
    match mode {
        Mode::TriangleStrip => {
            let mut out = Vec::with_capacity(idx.len().saturating_sub(2) * 3);
            for i in 0..idx.len().saturating_sub(2) {
                if i % 2 == 0 {
                    out.extend([idx[i], idx[i + 1], idx[i + 2]]);
                } else {
                    out.extend([idx[i + 1], idx[i], idx[i + 2]]);
                }
            }
            out
        }
        Mode::TriangleFan => {
            let mut out = Vec::with_capacity(idx.len().saturating_sub(2) * 3);
            for i in 1..idx.len().saturating_sub(1) {
                out.extend([idx[0], idx[i], idx[i + 1]]);
            }
            out
        }
        _ => idx[..idx.len() - idx.len() % 3].to_vec(),
    }
}

fn convert_material(m: &gltf::Material, document: &gltf::Document) -> FileMaterial {
    let pbr = m.pbr_metallic_roughness();
    let image_count = document.images().len();
    FileMaterial {
        name: m.name().map(str::to_owned),
        base_color: pbr.base_color_factor(),
        metallic: pbr.metallic_factor(),
        roughness: pbr.roughness_factor(),
        emissive: m.emissive_factor(),
        base_color_texture: pbr
            .base_color_texture()
            .map(|t| t.texture().source().index())
            .filter(|&i| i < image_count),
        double_sided: m.double_sided(),
        blend: m.alpha_mode() == gltf::material::AlphaMode::Blend,
    }
}

fn load_textures(
    document: &gltf::Document,
    base: Option<&Path>,
    buffers: &[Vec<u8>],
    warnings: &mut Vec<String>,
) -> Vec<TextureImage> {
    if document.images().len() == 0 {
        return Vec::new();
    }
    let data: Vec<gltf::buffer::Data> = buffers.iter().cloned().map(gltf::buffer::Data).collect();
    let images = match gltf::import_images(document, base, &data) {
        Ok(i) => i,
        Err(e) => {
            warnings.push(format!("textures not loaded: {e}"));
            return Vec::new();
        }
    };
    images
        .into_iter()
        .enumerate()
        .map(|(i, img)| {
            use gltf::image::Format as F;
            let px = img.pixels;
            let rgba: Vec<u8> = match img.format {
                F::R8G8B8A8 => px,
                F::R8G8B8 => px
                    .chunks_exact(3)
                    .flat_map(|c| [c[0], c[1], c[2], 255])
                    .collect(),
                F::R8 => px.iter().flat_map(|&c| [c, c, c, 255]).collect(),
                F::R8G8 => px
                    .chunks_exact(2)
                    .flat_map(|c| [c[0], c[0], c[0], c[1]])
                    .collect(),
                other => {
                    warnings.push(format!("image {i}: format {other:?} replaced by white"));
                    vec![255; img.width as usize * img.height as usize * 4]
                }
            };
            TextureImage {
                width: img.width,
                height: img.height,
                rgba,
            }
        })
        .collect()
}

/// `EXT_mesh_gpu_instancing` transforms of a node (empty when absent).
fn gpu_instances(
    node: &gltf::Node,
    document: &gltf::Document,
    buffers: &[Vec<u8>],
) -> Result<Vec<Mat4>, ImportError> {
    let Some(ext) = node.extension_value("EXT_mesh_gpu_instancing") else {
        return Ok(Vec::new());
    };
    let where_ = format!("node {} EXT_mesh_gpu_instancing", node.index());
    let attrs = ext
        .get("attributes")
        .and_then(|a| a.as_object())
        .ok_or_else(|| malformed(format!("{where_}: no attributes object")))?;
    let read = |name: &str| -> Result<Option<Vec<f32>>, ImportError> {
        let Some(v) = attrs.get(name) else {
            return Ok(None);
        };
        let idx = v
            .as_u64()
            .ok_or_else(|| malformed(format!("{where_}: {name} is not an accessor index")))?
            as usize;
        let acc = document
            .accessors()
            .nth(idx)
            .ok_or_else(|| malformed(format!("{where_}: {name} accessor {idx} does not exist")))?;
        Ok(Some(read_accessor_f32(&acc, buffers)?.0))
    };
    let t = read("TRANSLATION")?;
    let r = read("ROTATION")?;
    let s = read("SCALE")?;
    let count = [
        t.as_ref().map(|v| v.len() / 3),
        r.as_ref().map(|v| v.len() / 4),
        s.as_ref().map(|v| v.len() / 3),
    ];
    let counts: Vec<usize> = count.iter().flatten().copied().collect();
    let Some(&n) = counts.first() else {
        return Ok(Vec::new());
    };
    if counts.iter().any(|&c| c != n) {
        return Err(malformed(format!(
            "{where_}: attribute counts differ ({counts:?})"
        )));
    }
    Ok((0..n)
        .map(|i| {
            let tm = t.as_ref().map_or(Mat4::identity(), |t| {
                Mat4::from_translation(Vec3::new(t[3 * i], t[3 * i + 1], t[3 * i + 2]))
            });
            let rm = r.as_ref().map_or(Mat4::identity(), |r| {
                Mat4::from(Quat::new(
                    r[4 * i + 3],
                    r[4 * i],
                    r[4 * i + 1],
                    r[4 * i + 2],
                ))
            });
            let sm = s.as_ref().map_or(Mat4::identity(), |s| {
                Mat4::from_nonuniform_scale(s[3 * i], s[3 * i + 1], s[3 * i + 2])
            });
            tm * rm * sm
        })
        .collect())
}

fn node_flags(node: &gltf::Node) -> (bool, Option<String>) {
    let mut hidden = false;
    let mut key = None;
    if let Some(raw) = node.extras() {
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(raw.get()) {
            hidden |= map.get("hidden").and_then(|v| v.as_bool()) == Some(true);
            hidden |= map.get("visible").and_then(|v| v.as_bool()) == Some(false);
            key = map
                .get("part_key")
                .and_then(|v| v.as_str())
                .map(str::to_owned);
        }
    }
    if let Some(v) = node.extension_value("KHR_node_visibility") {
        hidden |= v.get("visible").and_then(|v| v.as_bool()) == Some(false);
    }
    (hidden, key)
}

/// Builds the node tree of the default scene (else scene 0, else every root node).
fn build_hierarchy(
    document: &gltf::Document,
    buffers: &[Vec<u8>],
    scene: &mut Scene,
) -> Result<(), ImportError> {
    let roots: Vec<gltf::Node> = match document
        .default_scene()
        .or_else(|| document.scenes().next())
    {
        Some(s) => s.nodes().collect(),
        None => {
            let children: HashSet<usize> = document
                .nodes()
                .flat_map(|n| n.children().map(|c| c.index()).collect::<Vec<_>>())
                .collect();
            document
                .nodes()
                .filter(|n| !children.contains(&n.index()))
                .collect()
        }
    };
    let mut visited = HashSet::new();
    // (gltf node, parent index in scene.nodes)
    let mut stack: Vec<(gltf::Node, Option<usize>)> =
        roots.into_iter().rev().map(|n| (n, None)).collect();
    while let Some((gnode, parent)) = stack.pop() {
        if !visited.insert(gnode.index()) {
            return Err(malformed(format!(
                "node {} appears more than once in the hierarchy (cycle or shared child)",
                gnode.index()
            )));
        }
        let local = Mat4::from(gnode.transform().matrix());
        let mut node = Node::new(gnode.name().map(str::to_owned), local);
        node.parent = parent;
        node.mesh = gnode.mesh().map(|m| m.index());
        node.gpu_instances = gpu_instances(&gnode, document, buffers)?;
        let (hidden, key) = node_flags(&gnode);
        node.hidden = hidden;
        node.stored_part_key = key;
        node.world = parent.map_or(local, |p| scene.nodes[p].world * local);
        let index = scene.nodes.len();
        scene.nodes.push(node);
        match parent {
            Some(p) => scene.nodes[p].children.push(index),
            None => scene.roots.push(index),
        }
        let kids: Vec<gltf::Node> = gnode.children().collect();
        for child in kids.into_iter().rev() {
            stack.push((child, Some(index)));
        }
    }
    Ok(())
}
