//! `cad.export_glb` and `export.scene`: writes the scene as glTF 2.0 (GLB, or .gltf + .bin),
//! hand-built JSON + one BIN buffer. The node tree mirrors the scene; each part instance's
//! node carries `extras.part_key`; GPU instances become child nodes (one per instance) so
//! every part key has its own node. Geometry accessors are written once per source primitive;
//! instances of one scene mesh that end up with the same materials share one glTF mesh (a STEP
//! bolt placed six times is one mesh used by six nodes, so readers see the instancing), and an
//! instance whose resolved materials differ gets a mesh entry of its own.

use std::collections::HashMap;

use serde_json::{json, Map, Value};
use three_d::{InnerSpace, Mat4, SquareMatrix};

use crate::camera::CameraPose;
use crate::lighting::LightRig;
use crate::manifest::{Manifest, PartEntry};
use crate::materials::{
    default_grey, MaterialResolution, MaterialSource, PartMaterial, PbrMaterial,
};
use crate::scene::{Aabb, FileMaterial, Scene};

/// `cad.export_glb` parameters (and the geometry part of `export.scene`).
#[derive(Debug, Clone, PartialEq)]
pub struct ExportParams {
    pub embed_part_keys: bool,
    pub include_normals: bool,
    /// Write the file's own textures (base colour) as embedded PNGs.
    pub include_textures: bool,
}

impl Default for ExportParams {
    fn default() -> Self {
        ExportParams {
            embed_part_keys: true,
            include_normals: true,
            include_textures: true,
        }
    }
}

/// What `export.scene` adds on top of the geometry.
#[derive(Debug, Clone, Default)]
pub struct SceneAdditions<'a> {
    /// Resolved materials; `None` writes the file's own materials.
    pub resolution: Option<&'a MaterialResolution>,
    pub camera: Option<CameraPose>,
    /// Written as `KHR_lights_punctual` directional lights.
    pub lights: Option<&'a LightRig>,
    /// Write textures as PNG files beside the scene file instead of inside it
    /// (`export.scene` with `embed_textures = false`; [`export_scene`] only).
    pub external_textures: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("export is larger than the 4 GiB GLB limit ({0} bytes)")]
    TooLarge(usize),
    #[error("texture {index} cannot be encoded: {reason}")]
    Texture { index: usize, reason: String },
    #[error("JSON encoding failed: {0}")]
    Json(String),
    #[error("unknown export format `{0}` (expected glb, gltf, blend or usd)")]
    UnknownFormat(String),
    #[error("part `{0}` in the manifest does not match the scene (mesh or node missing)")]
    ManifestMismatch(String),
}

impl ExportError {
    pub fn code(&self) -> &'static str {
        match self {
            ExportError::TooLarge(_) => "export_too_large",
            ExportError::Texture { .. } => "export_texture",
            ExportError::Json(_) => "export_failed",
            ExportError::UnknownFormat(_) => "invalid_param",
            ExportError::ManifestMismatch(_) => "manifest_mismatch",
        }
    }
}

/// One file of an export (`.glb`, or `.gltf` + `.bin`).
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

#[derive(Default)]
struct Writer {
    bin: Vec<u8>,
    views: Vec<Value>,
    accessors: Vec<Value>,
    images: Vec<Value>,
    textures: Vec<Value>,
    materials: Vec<Value>,
    meshes: Vec<Value>,
    nodes: Vec<Value>,
}

impl Writer {
    fn view(&mut self, bytes: &[u8], target: Option<u32>) -> usize {
        let pad = (4 - self.bin.len() % 4) % 4;
        self.bin.resize(self.bin.len() + pad, 0);
        let mut v = json!({"buffer": 0, "byteOffset": self.bin.len(), "byteLength": bytes.len()});
        if let Some(t) = target {
            v["target"] = json!(t);
        }
        self.bin.extend_from_slice(bytes);
        self.views.push(v);
        self.views.len() - 1
    }

    fn floats<const N: usize>(&mut self, data: &[[f32; N]], with_bounds: bool) -> usize {
        let bytes: Vec<u8> = data
            .iter()
            .flatten()
            .flat_map(|f| f.to_le_bytes())
            .collect();
        let view = self.view(&bytes, Some(34962));
        let kind = match N {
            2 => "VEC2",
            3 => "VEC3",
            _ => "VEC4",
        };
        let mut acc =
            json!({"bufferView": view, "componentType": 5126, "count": data.len(), "type": kind});
        if with_bounds {
            let mut min = [f32::INFINITY; N];
            let mut max = [f32::NEG_INFINITY; N];
            for v in data {
                for i in 0..N {
                    min[i] = min[i].min(v[i]);
                    max[i] = max[i].max(v[i]);
                }
            }
            if !data.is_empty() {
                acc["min"] = json!(min.to_vec());
                acc["max"] = json!(max.to_vec());
            }
        }
        self.accessors.push(acc);
        self.accessors.len() - 1
    }

    fn indices(&mut self, data: &[u32]) -> usize {
        let bytes: Vec<u8> = data.iter().flat_map(|i| i.to_le_bytes()).collect();
        let view = self.view(&bytes, Some(34963));
        self.accessors
            .push(json!({"bufferView": view, "componentType": 5125, "count": data.len(), "type": "SCALAR"}));
        self.accessors.len() - 1
    }
}

fn matrix_json(m: &Mat4) -> Value {
    let cols: [[f32; 4]; 4] = (*m).into();
    json!(cols.iter().flatten().copied().collect::<Vec<f32>>())
}

fn is_identity(m: &Mat4) -> bool {
    let d = *m - Mat4::identity();
    let cols: [[f32; 4]; 4] = d.into();
    cols.iter().flatten().all(|v| v.abs() < 1e-7)
}

fn pbr_json(m: &PbrMaterial) -> Value {
    let c = m.effective_color();
    let mut v = json!({
        "name": m.name,
        "pbrMetallicRoughness": {"baseColorFactor": c, "metallicFactor": m.metallic, "roughnessFactor": m.roughness},
        "emissiveFactor": m.emissive,
        "doubleSided": true,
    });
    if c[3] < 0.999 {
        v["alphaMode"] = json!("BLEND");
    }
    v
}

fn file_material_json(m: &FileMaterial, texture: Option<usize>) -> Value {
    let mut pbr = json!({"baseColorFactor": m.base_color, "metallicFactor": m.metallic, "roughnessFactor": m.roughness});
    if let Some(t) = texture {
        pbr["baseColorTexture"] = json!({"index": t});
    }
    let mut v = json!({"pbrMetallicRoughness": pbr, "emissiveFactor": m.emissive, "doubleSided": m.double_sided});
    if let Some(n) = &m.name {
        v["name"] = json!(n);
    }
    if m.blend {
        v["alphaMode"] = json!("BLEND");
    }
    v
}

/// Camera-to-world matrix of an object at `eye` whose -Z looks along `forward`.
fn look_matrix(eye: three_d::Vec3, forward: three_d::Vec3, up: three_d::Vec3) -> Mat4 {
    let f = forward.normalize();
    let up = if f.cross(up).magnitude2() < 1e-8 {
        three_d::vec3(0.0, 0.0, 1.0)
    } else {
        up
    };
    let view = Mat4::look_at_rh(
        three_d::Point3::new(eye.x, eye.y, eye.z),
        three_d::Point3::new(eye.x + f.x, eye.y + f.y, eye.z + f.z),
        up,
    );
    view.invert().unwrap_or_else(Mat4::identity)
}

struct Build<'a> {
    scene: &'a Scene,
    params: &'a ExportParams,
    w: Writer,
    prim_accessors: HashMap<(usize, usize), Map<String, Value>>,
    prim_indices: HashMap<(usize, usize), usize>,
    file_materials: HashMap<usize, usize>,
    library_materials: HashMap<String, usize>,
    textures: HashMap<usize, usize>,
    /// (scene mesh, output material per primitive) → glTF mesh already written.
    part_meshes: HashMap<(usize, Vec<Option<usize>>), usize>,
    /// File stem for external textures; `None` embeds them in the buffer.
    texture_stem: Option<String>,
    extra_files: Vec<ExportedFile>,
}

impl Build<'_> {
    fn texture(&mut self, index: usize) -> Result<Option<usize>, ExportError> {
        if let Some(&t) = self.textures.get(&index) {
            return Ok(Some(t));
        }
        let Some(img) = self.scene.textures.get(index) else {
            return Ok(None);
        };
        let rendered = crate::render::RenderedImage {
            width: img.width,
            height: img.height,
            rgba: img.rgba.clone(),
        };
        let png = rendered.to_png().map_err(|e| ExportError::Texture {
            index,
            reason: e.to_string(),
        })?;
        match &self.texture_stem {
            Some(stem) => {
                let name = format!("{stem}_texture_{index}.png");
                self.w
                    .images
                    .push(json!({"uri": name, "mimeType": "image/png"}));
                self.extra_files.push(ExportedFile { name, bytes: png });
            }
            None => {
                let view = self.w.view(&png, None);
                self.w
                    .images
                    .push(json!({"bufferView": view, "mimeType": "image/png"}));
            }
        }
        self.w
            .textures
            .push(json!({"source": self.w.images.len() - 1}));
        let t = self.w.textures.len() - 1;
        self.textures.insert(index, t);
        Ok(Some(t))
    }

    fn file_material(&mut self, index: Option<usize>) -> Result<usize, ExportError> {
        let Some(i) = index.filter(|&i| i < self.scene.materials.len()) else {
            return Ok(self.library_material(&default_grey()));
        };
        if let Some(&m) = self.file_materials.get(&i) {
            return Ok(m);
        }
        let fm = self.scene.materials[i].clone();
        let tex = match (self.params.include_textures, fm.base_color_texture) {
            (true, Some(t)) => self.texture(t)?,
            _ => None,
        };
        self.w.materials.push(file_material_json(&fm, tex));
        let m = self.w.materials.len() - 1;
        self.file_materials.insert(i, m);
        Ok(m)
    }

    fn library_material(&mut self, m: &PbrMaterial) -> usize {
        let key = format!("{}|{:?}", m.name, m.effective_color());
        if let Some(&i) = self.library_materials.get(&key) {
            return i;
        }
        self.w.materials.push(pbr_json(m));
        let i = self.w.materials.len() - 1;
        self.library_materials.insert(key, i);
        i
    }

    fn geometry(&mut self, mesh: usize, prim: usize) -> (Map<String, Value>, usize) {
        if let (Some(a), Some(&i)) = (
            self.prim_accessors.get(&(mesh, prim)),
            self.prim_indices.get(&(mesh, prim)),
        ) {
            return (a.clone(), i);
        }
        let p = &self.scene.meshes[mesh].primitives[prim];
        let mut attrs = Map::new();
        attrs.insert("POSITION".into(), json!(self.w.floats(&p.positions, true)));
        if self.params.include_normals && p.normals.len() == p.positions.len() {
            attrs.insert("NORMAL".into(), json!(self.w.floats(&p.normals, false)));
        }
        if let Some(uv) = p.uvs.as_ref().filter(|uv| uv.len() == p.positions.len()) {
            attrs.insert("TEXCOORD_0".into(), json!(self.w.floats(uv, false)));
        }
        let idx = self.w.indices(&p.indices);
        self.prim_accessors.insert((mesh, prim), attrs.clone());
        self.prim_indices.insert((mesh, prim), idx);
        (attrs, idx)
    }

    fn part_mesh(
        &mut self,
        part: &PartEntry,
        resolution: &HashMap<&str, &PartMaterial>,
    ) -> Result<usize, ExportError> {
        let resolved = resolution.get(part.part_key.as_str()).copied();
        let scene = self.scene;
        let mesh = scene
            .meshes
            .get(part.mesh)
            .ok_or_else(|| ExportError::ManifestMismatch(part.part_key.clone()))?;
        let mut materials = Vec::with_capacity(mesh.primitives.len());
        for prim in &mesh.primitives {
            if prim.indices.is_empty() {
                // Not written (below), so no material of its own either.
                materials.push(None);
                continue;
            }
            // A primitive without a material of its own stays without one (not a made-up
            // grey): the preview GLB must keep "this part has no material" visible to the
            // material map, the viewer and `material.resolve`.
            let material = match resolved.map(|r| (&r.source, &r.material)) {
                Some((MaterialSource::File, _)) | None => match prim.material {
                    Some(i) if i < scene.materials.len() => Some(self.file_material(Some(i))?),
                    _ => None,
                },
                Some((_, Some(m))) => Some(self.library_material(m)),
                Some((_, None)) => Some(self.library_material(&default_grey())),
            };
            materials.push(material);
        }
        let key = (part.mesh, materials);
        if let Some(&written) = self.part_meshes.get(&key) {
            return Ok(written);
        }
        let mut prims = Vec::new();
        for (pi, (prim, material)) in mesh.primitives.iter().zip(&key.1).enumerate() {
            if prim.indices.is_empty() {
                continue;
            }
            let (attributes, indices) = self.geometry(part.mesh, pi);
            let mut json_prim = json!({"attributes": attributes, "indices": indices, "mode": 4});
            if let Some(material) = material {
                json_prim["material"] = json!(material);
            }
            prims.push(json_prim);
        }
        let mut mesh = json!({"primitives": prims});
        if let Some(n) = &part.mesh_name {
            mesh["name"] = json!(n);
        }
        self.w.meshes.push(mesh);
        let written = self.w.meshes.len() - 1;
        self.part_meshes.insert(key, written);
        Ok(written)
    }
}

fn build(
    scene: &Scene,
    manifest: &Manifest,
    params: &ExportParams,
    additions: &SceneAdditions,
    texture_stem: Option<&str>,
) -> Result<(Value, Vec<u8>, Vec<ExportedFile>), ExportError> {
    let mut b = Build {
        texture_stem: texture_stem.map(str::to_owned),
        extra_files: Vec::new(),
        scene,
        params,
        w: Writer::default(),
        prim_accessors: HashMap::new(),
        prim_indices: HashMap::new(),
        file_materials: HashMap::new(),
        library_materials: HashMap::new(),
        textures: HashMap::new(),
        part_meshes: HashMap::new(),
    };
    let resolution: HashMap<&str, &PartMaterial> = additions
        .resolution
        .map(|r| r.parts.iter().map(|p| (p.part_key.as_str(), p)).collect())
        .unwrap_or_default();
    let parts_by_node: HashMap<(usize, Option<usize>), &PartEntry> = manifest
        .parts
        .iter()
        .map(|p| ((p.node, p.instance_index), p))
        .collect();
    // Scene node index → output node index (nodes are written in the same order).
    let order = scene.depth_first();
    let out_index: HashMap<usize, usize> = order.iter().enumerate().map(|(i, &n)| (n, i)).collect();
    b.w.nodes = vec![Value::Null; order.len()];
    let mut extra_nodes: Vec<Value> = Vec::new();
    let mut children_of: Vec<Vec<usize>> = vec![Vec::new(); order.len()];
    for (i, &n) in order.iter().enumerate() {
        let node = &scene.nodes[n];
        let mut v = json!({});
        if let Some(name) = &node.name {
            v["name"] = json!(name);
        }
        if !is_identity(&node.local) {
            v["matrix"] = matrix_json(&node.local);
        }
        children_of[i] = node
            .children
            .iter()
            .filter_map(|c| out_index.get(c).copied())
            .collect();
        if node.gpu_instances.is_empty() {
            if let Some(part) = parts_by_node.get(&(n, None)) {
                v["mesh"] = json!(b.part_mesh(part, &resolution)?);
                if params.embed_part_keys {
                    v["extras"] = json!({"part_key": part.part_key});
                }
            }
        } else {
            for (gi, m) in node.gpu_instances.iter().enumerate() {
                let Some(part) = parts_by_node.get(&(n, Some(gi))) else {
                    continue;
                };
                let mut child = json!({
                    "name": format!("{}@{gi}", node.name.clone().unwrap_or_else(|| "instance".into())),
                    "mesh": b.part_mesh(part, &resolution)?,
                });
                if !is_identity(m) {
                    child["matrix"] = matrix_json(m);
                }
                if params.embed_part_keys {
                    child["extras"] = json!({"part_key": part.part_key});
                }
                extra_nodes.push(child);
                children_of[i].push(order.len() + extra_nodes.len() - 1);
            }
        }
        if node.hidden {
            let mut extras = v.get("extras").cloned().unwrap_or_else(|| json!({}));
            extras["hidden"] = json!(true);
            v["extras"] = extras;
        }
        b.w.nodes[i] = v;
    }
    for (i, kids) in children_of.into_iter().enumerate() {
        if !kids.is_empty() {
            b.w.nodes[i]["children"] = json!(kids);
        }
    }
    b.w.nodes.extend(extra_nodes);
    let mut roots: Vec<usize> = scene
        .roots
        .iter()
        .filter_map(|r| out_index.get(r).copied())
        .collect();
    let mut doc = Map::new();
    let mut extensions_used: Vec<&str> = Vec::new();
    if let Some(pose) = &additions.camera {
        let eye = three_d::Vec3::from(pose.eye);
        let m = look_matrix(
            eye,
            three_d::Vec3::from(pose.target) - eye,
            three_d::Vec3::from(pose.up),
        );
        let camera = match pose.ortho_height {
            Some(h) => {
                json!({"type": "orthographic", "orthographic": {"xmag": h / 2.0, "ymag": h / 2.0, "znear": pose.near, "zfar": pose.far}})
            }
            None => {
                json!({"type": "perspective", "perspective": {"yfov": pose.fov.to_radians(), "znear": pose.near, "zfar": pose.far}})
            }
        };
        doc.insert("cameras".into(), json!([camera]));
        b.w.nodes
            .push(json!({"name": "camera", "camera": 0, "matrix": matrix_json(&m)}));
        roots.push(b.w.nodes.len() - 1);
    }
    if let Some(rig) = additions.lights {
        let mut lights = Vec::new();
        for (i, l) in rig.directional.iter().enumerate() {
            lights.push(json!({"type": "directional", "color": l.color, "intensity": l.intensity, "name": format!("light_{i}")}));
            let m = look_matrix(
                three_d::vec3(0.0, 0.0, 0.0),
                three_d::Vec3::from(l.direction),
                three_d::vec3(0.0, 1.0, 0.0),
            );
            b.w.nodes.push(json!({"name": format!("light_{i}"), "matrix": matrix_json(&m), "extensions": {"KHR_lights_punctual": {"light": i}}}));
            roots.push(b.w.nodes.len() - 1);
        }
        if !lights.is_empty() {
            doc.insert(
                "extensions".into(),
                json!({"KHR_lights_punctual": {"lights": lights}}),
            );
            extensions_used.push("KHR_lights_punctual");
        }
    }
    doc.insert(
        "asset".into(),
        json!({"version": "2.0", "generator": "workflow-engine"}),
    );
    doc.insert("scene".into(), json!(0));
    doc.insert("scenes".into(), json!([{"nodes": roots}]));
    let extra_files = std::mem::take(&mut b.extra_files);
    let w = b.w;
    for (key, items) in [
        ("nodes", w.nodes),
        ("meshes", w.meshes),
        ("materials", w.materials),
        ("textures", w.textures),
        ("images", w.images),
        ("accessors", w.accessors),
        ("bufferViews", w.views),
    ] {
        if !items.is_empty() {
            doc.insert(key.into(), Value::Array(items));
        }
    }
    if !extensions_used.is_empty() {
        doc.insert("extensionsUsed".into(), json!(extensions_used));
    }
    let mut bin = w.bin;
    let pad = (4 - bin.len() % 4) % 4;
    bin.resize(bin.len() + pad, 0);
    if !bin.is_empty() {
        doc.insert("buffers".into(), json!([{"byteLength": bin.len()}]));
    }
    Ok((Value::Object(doc), bin, extra_files))
}

/// Writes a GLB (`cad.export_glb`, and `export.scene` with format `glb`).
pub fn export_glb(
    scene: &Scene,
    manifest: &Manifest,
    params: &ExportParams,
    additions: &SceneAdditions,
) -> Result<Vec<u8>, ExportError> {
    let (doc, bin, _) = build(scene, manifest, params, additions, None)?;
    glb_bytes(&doc, &bin)
}

fn glb_bytes(doc: &Value, bin: &[u8]) -> Result<Vec<u8>, ExportError> {
    let mut json = serde_json::to_vec(doc).map_err(|e| ExportError::Json(e.to_string()))?;
    let pad = (4 - json.len() % 4) % 4;
    json.extend(std::iter::repeat_n(b' ', pad));
    let total = 12 + 8 + json.len() + if bin.is_empty() { 0 } else { 8 + bin.len() };
    if total > u32::MAX as usize {
        return Err(ExportError::TooLarge(total));
    }
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&json);
    if !bin.is_empty() {
        out.extend_from_slice(&(bin.len() as u32).to_le_bytes());
        out.extend_from_slice(b"BIN\0");
        out.extend_from_slice(bin);
    }
    Ok(out)
}

/// `export.scene`: `format` `glb` → one `.glb`; `gltf` → `.gltf` + `.bin` beside it; with
/// `additions.external_textures` the textures become `<stem>_texture_<n>.png` files beside it.
pub fn export_scene(
    scene: &Scene,
    manifest: &Manifest,
    params: &ExportParams,
    additions: &SceneAdditions,
    format: &str,
    stem: &str,
) -> Result<Vec<ExportedFile>, ExportError> {
    if format != "glb" && format != "gltf" {
        return Err(ExportError::UnknownFormat(format.to_owned()));
    }
    let texture_stem = additions.external_textures.then_some(stem);
    let (mut doc, bin, extra) = build(scene, manifest, params, additions, texture_stem)?;
    let mut files = if format == "glb" {
        vec![ExportedFile {
            name: format!("{stem}.glb"),
            bytes: glb_bytes(&doc, &bin)?,
        }]
    } else {
        let bin_name = format!("{stem}.bin");
        if let Some(buffers) = doc.get_mut("buffers") {
            buffers[0]["uri"] = json!(bin_name);
        }
        let json = serde_json::to_vec_pretty(&doc).map_err(|e| ExportError::Json(e.to_string()))?;
        let mut files = vec![ExportedFile {
            name: format!("{stem}.gltf"),
            bytes: json,
        }];
        if !bin.is_empty() {
            files.push(ExportedFile {
                name: bin_name,
                bytes: bin,
            });
        }
        files
    };
    files.extend(extra);
    Ok(files)
}

/// Whether two boxes agree within `eps` on every coordinate.
pub fn bounds_close(a: &Aabb, b: &Aabb, eps: f32) -> bool {
    (0..3).all(|i| (a.min[i] - b.min[i]).abs() <= eps && (a.max[i] - b.max[i]).abs() <= eps)
}
