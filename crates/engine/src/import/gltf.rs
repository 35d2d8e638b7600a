//! glTF 2.0 / GLB import: the container and JSON are read and judged in `gltf_doc.rs` (as
//! leniently as the spec allows, defects sorted like the Khronos validator's), the `gltf`
//! crate's document model walks what was found valid, and our own bounds-checked decoding
//! reads buffers, images and accessors so a malformed file is an error, never a panic or an
//! absurd allocation.

use std::collections::HashSet;
use std::path::Path;

use gltf::accessor::{DataType, Dimensions};
use gltf::mesh::Mode;
use three_d::{Mat4, Quat, SquareMatrix, Vec3};

use super::gltf_doc::{defect, malformed};
use super::ImportError;
use crate::scene::{compute_normals, FileMaterial, Mesh, Node, Primitive, Scene, TextureImage};

/// Refuse accessors with more components than this before allocating (≈ 1 GiB of f32).
pub const MAX_ACCESSOR_COMPONENTS: usize = 256 * 1024 * 1024;
/// Largest image (pixels) decoded for a texture; a larger one is replaced by white.
const MAX_TEXTURE_PIXELS: u64 = 64 * 1024 * 1024;

/// Reads a `.gltf` (external or data-URI buffers, resolved relative to the file) or `.glb`.
pub fn import_gltf_file(path: &Path) -> Result<Scene, ImportError> {
    import_gltf_file_as(path, &path.display().to_string())
}

/// [`import_gltf_file`], with messages naming the file `shown` (an upload's own name rather
/// than where the server keeps it). External references resolve inside the file's folder
/// only (see `external.rs`). A file that draws nothing is refused as `no_geometry`.
pub fn import_gltf_file_as(path: &Path, shown: &str) -> Result<Scene, ImportError> {
    let bytes = std::fs::read(path).map_err(|source| ImportError::Io {
        path: shown.to_owned(),
        source,
    })?;
    let named = |e: ImportError| match e {
        ImportError::MalformedGltf(m) => ImportError::MalformedGltf(format!("{shown}: {m}")),
        ImportError::GltfDefect {
            pointer, problem, ..
        } => ImportError::GltfDefect {
            file: shown.to_owned(),
            pointer,
            problem,
        },
        ImportError::NoGeometry { holds, .. } => ImportError::NoGeometry {
            file: shown.to_owned(),
            holds,
        },
        other => other,
    };
    guarded(|| read_document(&bytes, path.parent(), true)).map_err(named)
}

/// Message of the last-resort panic guard; a test looks for it to prove no input panics.
pub const PANIC_MESSAGE: &str =
    "the glTF reader hit an internal consistency check (a bug: please report the file)";

/// Reads glTF JSON or GLB bytes; `base` is the folder relative buffer/image URIs resolve in
/// (and may not leave); without one only `data:` URIs and the GLB's own chunk are read.
/// A scene that draws nothing is returned as it is (a run artifact may be empty); files go
/// through [`import_gltf_file_as`], which refuses them as `no_geometry`.
pub fn import_gltf_slice(bytes: &[u8], base: Option<&Path>) -> Result<Scene, ImportError> {
    guarded(|| read_document(bytes, base, false))
}

/// Every value a dependency would unwrap is checked before it is read; this guard only keeps
/// a worker alive should one have been missed.
fn guarded(read: impl FnOnce() -> Result<Scene, ImportError>) -> Result<Scene, ImportError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read))
        .unwrap_or_else(|_| Err(malformed(PANIC_MESSAGE)))
}

/// True when some node of the scene draws at least one triangle.
fn draws_something(scene: &Scene) -> bool {
    scene.nodes.iter().any(|n| {
        n.mesh
            .and_then(|m| scene.meshes.get(m))
            .is_some_and(|m| m.primitives.iter().any(|p| p.indices.len() >= 3))
    })
}

/// What a document holds, for the `no_geometry` message ("3 nodes, 1 camera, 2 accessors").
fn holdings(root: &gltf::json::Root) -> String {
    let counts = [
        (root.scenes.len(), "scene"),
        (root.nodes.len(), "node"),
        (root.meshes.len(), "mesh"),
        (root.accessors.len(), "accessor"),
        (root.materials.len(), "material"),
        (root.textures.len(), "texture"),
        (root.images.len(), "image"),
        (root.cameras.len(), "camera"),
        (root.skins.len(), "skin"),
    ];
    let parts: Vec<String> = counts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| {
            let plural = match (*n, *what) {
                (1, _) => String::new(),
                (_, "mesh") => "es".to_owned(),
                _ => "s".to_owned(),
            };
            format!("{n} {what}{plural}")
        })
        .collect();
    if parts.is_empty() {
        "no objects at all".to_owned()
    } else {
        parts.join(", ")
    }
}

fn read_document(
    bytes: &[u8],
    base: Option<&Path>,
    require_geometry: bool,
) -> Result<Scene, ImportError> {
    let super::gltf_doc::Parsed {
        document,
        bin,
        warnings,
    } = super::gltf_doc::parse(bytes)?;
    // Confinement first: nothing is read from a reference that leaves the folder.
    super::external::check_references(&document, base)?;
    let mut scene = Scene {
        warnings,
        ..Scene::default()
    };
    let (buffers, dataless) = load_buffers(&document, base, bin, &mut scene.warnings)?;
    scene.textures = load_textures(&document, base, &buffers, &mut scene.warnings);
    scene.materials = document
        .materials()
        .map(|m| convert_material(&m, &document, &mut scene.warnings))
        .collect();
    let drawn = drawn_meshes(&document);
    if let Some(b) = dataless_geometry(&document, &drawn, &dataless) {
        // Valid JSON (the validator judges only that), but no vertex data to read.
        return Err(ImportError::NoGeometry {
            file: String::new(),
            holds: format!(
                "the file holds {}, but the vertices of its meshes are in /buffers/{b}, which has no data (no uri and no GLB binary chunk)",
                holdings(document.as_json())
            ),
        });
    }
    scene.warnings.extend(node_warnings(&document));
    for mesh in document.meshes() {
        let converted = if drawn.contains(&mesh.index()) {
            convert_mesh(&mesh, &document, &buffers, &mut scene.warnings)?
        } else {
            // Not placed in the scene: never read (its defects do not change the result).
            Mesh {
                name: mesh.name().map(str::to_owned),
                primitives: Vec::new(),
            }
        };
        scene.meshes.push(converted);
    }
    build_hierarchy(&document, &buffers, &mut scene)?;
    if require_geometry && !draws_something(&scene) {
        return Err(ImportError::NoGeometry {
            file: String::new(),
            holds: format!(
                "the file holds {}, and no node of its scene places a mesh with triangles",
                holdings(document.as_json())
            ),
        });
    }
    Ok(scene)
}

/// The scene's root nodes: the default scene, else scene 0, else every node no other node
/// names as a child.
fn scene_roots(document: &gltf::Document) -> Vec<gltf::Node<'_>> {
    match document
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
    }
}

/// Meshes placed by a node of the scene (each node visited once, so cycles end).
fn drawn_meshes(document: &gltf::Document) -> HashSet<usize> {
    let mut meshes = HashSet::new();
    let mut seen = HashSet::new();
    let mut stack = scene_roots(document);
    while let Some(node) = stack.pop() {
        if !seen.insert(node.index()) {
            continue;
        }
        if let Some(m) = node.mesh() {
            meshes.insert(m.index());
        }
        stack.extend(node.children());
    }
    meshes
}

/// The bytes of every buffer: the GLB chunk, a data URI, or a file inside `base` (already
/// confined by `external.rs`). A buffer that cannot be had is empty; reading a view of it is
/// then refused with the buffer's pointer.
fn load_buffers(
    document: &gltf::Document,
    base: Option<&Path>,
    mut bin: Option<Vec<u8>>,
    warnings: &mut Vec<String>,
) -> Result<(Vec<Vec<u8>>, HashSet<usize>), ImportError> {
    let mut out = Vec::new();
    let mut dataless = HashSet::new();
    for buffer in document.buffers() {
        let pointer = format!("/buffers/{}", buffer.index());
        let data = match buffer.source() {
            gltf::buffer::Source::Bin => match bin.take() {
                Some(data) => data,
                None => {
                    dataless.insert(buffer.index());
                    Vec::new()
                }
            },
            gltf::buffer::Source::Uri(uri) => {
                read_uri(uri, &format!("{pointer}/uri"), base)?.unwrap_or_default()
            }
        };
        if data.len() < buffer.length() {
            warnings.push(format!(
                "glTF {pointer}: byteLength {} but {} bytes of data",
                buffer.length(),
                data.len()
            ));
        }
        out.push(data);
    }
    Ok((out, dataless))
}

/// A buffer without data that holds the positions of a drawn mesh, if any.
fn dataless_geometry(
    document: &gltf::Document,
    drawn: &HashSet<usize>,
    dataless: &HashSet<usize>,
) -> Option<usize> {
    if dataless.is_empty() {
        return None;
    }
    document
        .meshes()
        .filter(|m| drawn.contains(&m.index()))
        .flat_map(|m| m.primitives().collect::<Vec<_>>())
        .filter_map(|p| p.get(&gltf::Semantic::Positions)?.view())
        .map(|v| v.buffer().index())
        .find(|b| dataless.contains(b))
}

/// Node defects that do not change the imported geometry (skins and morph weights are not
/// imported), as the validator reports them.
fn node_warnings(document: &gltf::Document) -> Vec<String> {
    // From the JSON: a node outside the scene was not validated, and the crate's
    // `Node::mesh`/`Node::skin` unwrap their indices.
    let root = document.as_json();
    let mut out = Vec::new();
    for (n, node) in root.nodes.iter().enumerate() {
        let pointer = format!("/nodes/{n}");
        let has_skin = node.skin.is_some();
        let Some((m, mesh)) = node
            .mesh
            .and_then(|m| Some((m.value(), root.meshes.get(m.value())?)))
        else {
            if has_skin {
                out.push(format!(
                    "glTF {pointer}/skin is set on a node without a mesh; ignored"
                ));
            }
            continue;
        };
        let joints = gltf::json::validation::Checked::Valid(gltf::Semantic::Joints(0));
        let skinned = mesh
            .primitives
            .iter()
            .any(|p| p.attributes.contains_key(&joints));
        if has_skin && !skinned {
            out.push(format!(
                "glTF {pointer}/skin is set, but mesh {m} has no JOINTS_0; ignored"
            ));
        }
        if let Some(weights) = &node.weights {
            let targets = mesh
                .primitives
                .first()
                .and_then(|p| p.targets.as_ref())
                .map_or(0, Vec::len);
            if weights.len() != targets {
                out.push(format!(
                    "glTF {pointer}/weights has {} values for {targets} morph targets; ignored",
                    weights.len()
                ));
            }
        }
    }
    out
}

/// The bytes a URI names: a `data:` URI decoded, or the confined file read. `None` for a
/// data URI that is not base64.
fn read_uri(uri: &str, pointer: &str, base: Option<&Path>) -> Result<Option<Vec<u8>>, ImportError> {
    if let Some(rest) = uri.strip_prefix("data:") {
        let Some((_, payload)) = rest.split_once(";base64,") else {
            // A plain data URI: the payload is the percent-encoded bytes themselves.
            let Some((_, payload)) = rest.split_once(',') else {
                return Err(defect(pointer, "data URI has no `,` before its data"));
            };
            return Ok(Some(
                urlencoding::decode_binary(payload.as_bytes()).into_owned(),
            ));
        };
        use base64::Engine as _;
        return base64::engine::general_purpose::STANDARD
            .decode(payload.trim_end())
            .map(Some)
            .map_err(|e| defect(pointer, format!("data URI does not decode: {e}")));
    }
    let Some(path) = super::external::resolve_uri(pointer, uri, base)? else {
        return Ok(None);
    };
    std::fs::read(&path)
        .map(Some)
        .map_err(|e| defect(pointer, format!("cannot read `{uri}`: {}", e.kind())))
}

/// Required extensions this importer decodes itself: quantized attributes are read through
/// the general accessor reader (any component type, normalized or not).
const DECODED_EXTENSIONS: [&str; 1] = ["KHR_mesh_quantization"];

/// A required extension nobody here decodes is refused by name, with what to do about it;
/// the ones listed in [`DECODED_EXTENSIONS`] are taken off `extensionsRequired` so the gltf
/// crate's validation lets the file through. True when `doc` changed.
pub(crate) fn accept_required_extensions(doc: &mut serde_json::Value) -> Result<bool, ImportError> {
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
        let mut unsupported = unsupported;
        unsupported.dedup();
        return Err(ImportError::UnsupportedExtension {
            extensions: unsupported,
            hint: hint.into(),
        });
    }
    let before = required.len();
    required.retain(|v| !v.as_str().is_some_and(decoded));
    Ok(required.len() != before)
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
    let what = format!("/accessors/{}", accessor.index());
    let t = accessor.data_type();
    if accessor.dimensions() != Dimensions::Scalar
        || !matches!(t, DataType::U8 | DataType::U16 | DataType::U32)
    {
        return Err(defect(what, "indices must be unsigned integer scalars"));
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
            "{what}/count declares {count} indices, above the {MAX_ACCESSOR_COMPONENTS} limit"
        )));
    }
    let Some(view) = accessor.view() else {
        return Ok(Vec::new());
    };
    let size = component_size(t);
    let stride = view.stride().unwrap_or(size).max(size);
    let needed = span(count, stride, size, &what)?;
    let data = view_slice(&view, accessor.offset(), needed, buffers, &what)?;
    Ok((0..count)
        .map(|i| read_uint(&data[i * stride..i * stride + size], t))
        .collect())
}

/// Bytes covered by `count` elements of `elem` bytes, `stride` apart (checked arithmetic: a
/// huge count is an error, not an overflow).
fn span(count: usize, stride: usize, elem: usize, what: &str) -> Result<usize, ImportError> {
    if count == 0 {
        return Ok(0);
    }
    stride
        .checked_mul(count - 1)
        .and_then(|n| n.checked_add(elem))
        .ok_or_else(|| {
            defect(
                format!("{what}/count"),
                format!("count {count} is too large"),
            )
        })
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
        .ok_or_else(|| defect(format!("/buffers/{b}"), "is missing"))?;
    if view.offset().saturating_add(view.length()) > buffer.len() {
        return Err(defect(
            format!("/bufferViews/{}", view.index()),
            format!(
                "points past the end of buffer {b} (offset {} + length {} > {} bytes)",
                view.offset(),
                view.length(),
                buffer.len()
            ),
        ));
    }
    if offset.saturating_add(needed) > view.length() {
        return Err(defect(
            format!("{what}/count"),
            format!(
                "points past the end of buffer view {} (needs {needed} bytes from offset {offset}, the view has {})",
                view.index(),
                view.length()
            ),
        ));
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
    let what = format!("/accessors/{}", accessor.index());
    let dims = match accessor.dimensions() {
        Dimensions::Scalar => 1,
        Dimensions::Vec2 => 2,
        Dimensions::Vec3 => 3,
        Dimensions::Vec4 => 4,
        other => {
            return Err(defect(
                format!("{what}/type"),
                format!("matrix type {other:?} is not supported here"),
            ))
        }
    };
    let count = accessor.count();
    let total = count.saturating_mul(dims);
    if total > MAX_ACCESSOR_COMPONENTS {
        return Err(ImportError::TooLarge(format!(
            "{what}/count declares {count} elements, above the {MAX_ACCESSOR_COMPONENTS}-component limit"
        )));
    }
    let t = accessor.data_type();
    let csize = component_size(t);
    let elem = csize * dims;
    let normalized = accessor.normalized();
    let mut out = vec![0.0f32; total];
    if let Some(view) = accessor.view() {
        let stride = view.stride().unwrap_or(elem).max(elem);
        let needed = span(count, stride, elem, &what)?;
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
            return Err(defect(
                format!("{what}/sparse/count"),
                format!("sparse count {n} exceeds the accessor's count {count}"),
            ));
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
            &format!("{what}/sparse/indices"),
        )?;
        let vals = sparse.values();
        let vdata = view_slice(
            &vals.view(),
            vals.offset(),
            n * elem,
            buffers,
            &format!("{what}/sparse/values"),
        )?;
        for k in 0..n {
            let target = read_uint(&idata[k * isize_..(k + 1) * isize_], it) as usize;
            if target >= count {
                return Err(defect(
                    format!("{what}/sparse/indices"),
                    format!("sparse index {target} is out of range ({count} elements)"),
                ));
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
        return Err(defect(
            format!("/accessors/{}/type", accessor.index()),
            format!("has {dims} components, {N} expected"),
        ));
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
        let where_ = format!("/meshes/{}/primitives/{}", mesh.index(), prim.index());
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
        // A NaN/Inf position would poison bounds, framing and normals: the result is wrong.
        if let Some(i) = positions
            .iter()
            .position(|p| p.iter().any(|c| !c.is_finite()))
        {
            return Err(defect(
                format!("/accessors/{}", pos_acc.index()),
                format!(
                    "POSITION of {where_}: vertex {i} is not finite ({:?})",
                    positions[i]
                ),
            ));
        }
        let vcount = positions.len();
        let raw_indices: Vec<u32> = match prim.indices() {
            Some(acc) => {
                let indices = read_indices(&acc, buffers)?;
                if let Some((k, i)) = indices
                    .iter()
                    .enumerate()
                    .find(|(_, &i)| i as usize >= vcount)
                {
                    return Err(defect(
                        format!("/accessors/{}", acc.index()),
                        format!(
                            "indices of {where_}: element {k} is {i}, out of range ({vcount} vertices)"
                        ),
                    ));
                }
                indices
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

/// A file material, read from its JSON so an odd value (an alpha mode outside the spec, a
/// texture without an image) falls back with a warning instead of reaching an `unwrap`.
fn convert_material(
    m: &gltf::Material,
    document: &gltf::Document,
    warnings: &mut Vec<String>,
) -> FileMaterial {
    use gltf::json::validation::Checked;
    let root = document.as_json();
    let json = m
        .index()
        .and_then(|i| root.materials.get(i))
        .cloned()
        .unwrap_or_default();
    let pointer = m.index().map_or_else(
        || "the default material".to_owned(),
        |i| format!("/materials/{i}"),
    );
    let pbr = &json.pbr_metallic_roughness;
    let base_color_texture = pbr.base_color_texture.as_ref().and_then(|info| {
        let source = root
            .textures
            .get(info.index.value())
            .map(|t| t.source.value())
            .filter(|&s| s < root.images.len());
        if source.is_none() {
            warnings.push(format!(
                "glTF {pointer}: base color texture {} has no image this importer reads; untextured",
                info.index.value()
            ));
        }
        source
    });
    let blend = match json.alpha_mode {
        Checked::Valid(mode) => mode == gltf::material::AlphaMode::Blend,
        Checked::Invalid => {
            warnings.push(format!(
                "glTF {pointer}/alphaMode is not OPAQUE, MASK or BLEND; drawn opaque"
            ));
            false
        }
    };
    FileMaterial {
        name: json.name.clone(),
        base_color: pbr.base_color_factor.0,
        metallic: pbr.metallic_factor.0,
        roughness: pbr.roughness_factor.0,
        emissive: json.emissive_factor.0,
        base_color_texture,
        double_sided: json.double_sided,
        blend,
    }
}

/// Every image decoded to RGBA, one per `images[]` entry so material indices stay valid: an
/// image that cannot be had or decoded becomes 1×1 white, with a warning.
fn load_textures(
    document: &gltf::Document,
    base: Option<&Path>,
    buffers: &[Vec<u8>],
    warnings: &mut Vec<String>,
) -> Vec<TextureImage> {
    let white = || TextureImage {
        width: 1,
        height: 1,
        rgba: vec![255; 4],
    };
    document
        .images()
        .map(|image| {
            let pointer = format!("/images/{}", image.index());
            match decode_image(document, &image, &pointer, base, buffers) {
                Ok(texture) => texture,
                Err(why) => {
                    warnings.push(format!("glTF {pointer}: {why}; replaced by white"));
                    white()
                }
            }
        })
        .collect()
}

fn decode_image(
    document: &gltf::Document,
    image: &gltf::Image,
    pointer: &str,
    base: Option<&Path>,
    buffers: &[Vec<u8>],
) -> Result<TextureImage, String> {
    // From the JSON: the crate's `Image::source` unwraps a MIME type or URI the file may
    // lack.
    let json = document
        .as_json()
        .images
        .get(image.index())
        .ok_or("no such image")?;
    let owned;
    let bytes: &[u8] = match (&json.uri, &json.buffer_view) {
        (Some(uri), _) => {
            owned = read_uri(uri, &format!("{pointer}/uri"), base)
                .map_err(|e| e.to_string())?
                .ok_or("no image data")?;
            &owned
        }
        (None, Some(view)) => {
            let view = document
                .views()
                .nth(view.value())
                .ok_or("its buffer view does not exist")?;
            let what = format!("{pointer}/bufferView");
            view_slice(&view, 0, view.length(), buffers, &what).map_err(|e| e.to_string())?
        }
        (None, None) => return Err("it has neither a uri nor a bufferView".to_owned()),
    };
    let format = image::guess_format(bytes).map_err(|_| "not a PNG or JPEG image".to_owned())?;
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_TEXTURE_PIXELS * 4);
    reader.limits(limits);
    let decoded = reader
        .decode()
        .map_err(|e| format!("image does not decode ({e})"))?;
    let rgba = decoded.to_rgba8();
    Ok(TextureImage {
        width: rgba.width(),
        height: rgba.height(),
        rgba: rgba.into_raw(),
    })
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

/// A node's local transform, judged: a matrix must be finite and affine (a projective bottom
/// row cannot be a node transform), TRS values finite; a rotation that is not of unit length
/// is normalised with a warning, one of zero length refused.
fn node_local(node: &gltf::Node, warnings: &mut Vec<String>) -> Result<Mat4, ImportError> {
    let pointer = format!("/nodes/{}", node.index());
    let finite = |v: &[f32], field: &str| -> Result<(), ImportError> {
        if v.iter().all(|c| c.is_finite()) {
            Ok(())
        } else {
            Err(defect(
                format!("{pointer}/{field}"),
                format!("is not finite ({v:?})"),
            ))
        }
    };
    let json = node.transform();
    match json {
        gltf::scene::Transform::Matrix { matrix } => {
            let flat: Vec<f32> = matrix.iter().flatten().copied().collect();
            finite(&flat, "matrix")?;
            let bottom = [matrix[0][3], matrix[1][3], matrix[2][3], matrix[3][3]];
            let affine = bottom
                .iter()
                .zip([0.0, 0.0, 0.0, 1.0])
                .all(|(a, b)| (a - b).abs() <= 1e-6);
            if !affine {
                return Err(defect(
                    format!("{pointer}/matrix"),
                    format!(
                        "is not an affine transform (bottom row {bottom:?}, expected [0, 0, 0, 1])"
                    ),
                ));
            }
            Ok(Mat4::from(matrix))
        }
        gltf::scene::Transform::Decomposed {
            translation,
            rotation,
            scale,
        } => {
            finite(&translation, "translation")?;
            finite(&rotation, "rotation")?;
            finite(&scale, "scale")?;
            let length = rotation.iter().map(|c| c * c).sum::<f32>().sqrt();
            if length < 1e-6 {
                return Err(defect(
                    format!("{pointer}/rotation"),
                    "is a zero quaternion, not a rotation",
                ));
            }
            if (length - 1.0).abs() > 1e-3 {
                warnings.push(format!(
                    "glTF {pointer}/rotation is not of unit length ({length}); normalised"
                ));
            }
            let [x, y, z, w] = rotation.map(|c| c / length);
            Ok(Mat4::from_translation(Vec3::from(translation))
                * Mat4::from(Quat::new(w, x, y, z))
                * Mat4::from_nonuniform_scale(scale[0], scale[1], scale[2]))
        }
    }
}

/// Builds the node tree of the default scene (else scene 0, else every root node).
fn build_hierarchy(
    document: &gltf::Document,
    buffers: &[Vec<u8>],
    scene: &mut Scene,
) -> Result<(), ImportError> {
    let roots = scene_roots(document);
    let mut visited = HashSet::new();
    // (gltf node, parent index in scene.nodes)
    let mut stack: Vec<(gltf::Node, Option<usize>)> =
        roots.into_iter().rev().map(|n| (n, None)).collect();
    while let Some((gnode, parent)) = stack.pop() {
        if !visited.insert(gnode.index()) {
            return Err(defect(
                format!("/nodes/{}", gnode.index()),
                "appears more than once in the scene's node tree (a cycle or a shared child)",
            ));
        }
        let local = node_local(&gnode, &mut scene.warnings)?;
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
