//! THE scene builder: engine scene + material resolution → three-d objects. The headless
//! renderer and the desktop viewer both use it (it only needs a `&three_d::Context`, however
//! that context was created), so what the viewer shows is what the renderer renders.
//!
//! It works in two steps so that callers with an interactive thread can keep the slow part
//! off it: [`prepare_scene`] (CPU only, `Send`: world-space geometry, batching, the material
//! decision for every batch) and [`upload_scene`] (GPU: buffers, textures, materials).
//! [`build_scene`] does both. With [`Grouping::PerPart`] a built scene can be
//! [restyled](BuiltScene::restyle) after the material map changed without touching geometry.
//!
//! Viewer use (inside the paint callback that owns the three-d context):
//!
//! ```no_run
//! # fn demo(ctx: &three_d::Context, screen: &three_d::RenderTarget<'_>,
//! #         scene: &workflow_engine::Scene, manifest: &workflow_engine::Manifest,
//! #         resolution: &workflow_engine::MaterialResolution)
//! #         -> Result<(), workflow_engine::render::RenderError> {
//! use workflow_engine::camera::{frame_camera, CameraParams};
//! use workflow_engine::lighting::{light_rig, LightingParams};
//! use workflow_engine::render::scene_builder::{self, prepare_scene, upload_scene, Grouping};
//! let prepared = prepare_scene(scene, manifest, resolution, Grouping::PerPart); // any thread
//! let built = upload_scene(ctx, scene, prepared); // GL thread
//! let mut ambient = scene_builder::environment_light(ctx); // slow: once per context
//! let pose = frame_camera(&built.bounds, &CameraParams::default(), 16.0 / 9.0);
//! let camera = scene_builder::camera(&pose, 1280, 720); // or the viewer's orbit camera
//! let rig = light_rig(&LightingParams::default());
//! scene_builder::apply_ambient(&mut ambient, &rig);
//! let directional = scene_builder::directional_lights(ctx, &rig, &built)?;
//! let mut lights: Vec<&dyn three_d::Light> = directional.iter().map(|l| l as _).collect();
//! lights.push(&ambient);
//! screen.render(&camera, built.objects(), &lights);
//! // built.part_keys[i]: the part drawn by built.drawables[i] (picking, highlighting)
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use three_d::{
    Context, CpuMaterial, CpuMesh, CpuTexture, Cull, Geometry, Gm, Indices, Interpolation, Mat4,
    Mesh, Object, PhysicalMaterial, Positions, Srgba, Texture2DRef, TextureData, Vec2, Vec3,
    Wrapping,
};

use three_d::{
    AmbientLight, Camera, DirectionalLight, EnvironmentOptions, TextureCubeMap, Viewport,
};

use super::draw_material::{DrawMaterial, PlaceholderMaterial};
use super::RenderError;
use crate::camera::CameraPose;
use crate::lighting::LightRig;
use crate::manifest::Manifest;
use crate::materials::{
    default_grey, MaterialResolution, MaterialSource, PartMaterial, PbrMaterial,
};
use crate::scene::{Aabb, FileMaterial, Scene};

/// What one batch of geometry is drawn with: the decision [`prepare_scene`] makes from the
/// material resolution and the primitive's own file material.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchMaterial {
    /// The file's own material (index into `Scene::materials`).
    File(usize),
    /// A library material (explicit assignment or name rule).
    Library(PbrMaterial),
    /// Missing material, placeholder policy: the loud stripes.
    Placeholder(PbrMaterial),
    /// Nothing resolved and no file material: neutral grey.
    Default,
}

impl BatchMaterial {
    /// The decision for one primitive (file material `prim_material`) of a part resolved as
    /// `resolved` (`None`: the part is not in the resolution).
    pub fn decide(
        resolved: Option<&PartMaterial>,
        prim_material: Option<usize>,
        scene: &Scene,
    ) -> BatchMaterial {
        match resolved.map(|r| (&r.source, &r.material)) {
            Some((MaterialSource::Placeholder, Some(m))) => BatchMaterial::Placeholder(m.clone()),
            Some((_, Some(m))) => BatchMaterial::Library(m.clone()),
            _ => match prim_material.filter(|&i| i < scene.materials.len()) {
                Some(i) => BatchMaterial::File(i),
                None => BatchMaterial::Default,
            },
        }
    }

    /// Batching identity (library materials by their rendered fields).
    fn batch_key(&self) -> String {
        match self {
            BatchMaterial::File(i) => format!("file|{i}"),
            BatchMaterial::Library(m) => format!(
                "lib|{}|{:?}|{}|{}|{:?}",
                m.name,
                m.effective_color(),
                m.metallic,
                m.roughness,
                m.emissive
            ),
            BatchMaterial::Placeholder(m) => format!("placeholder|{:?}", m.base_color),
            BatchMaterial::Default => "default".to_owned(),
        }
    }
}

/// One batch of world-space triangles with one material (CPU side).
#[derive(Debug, Clone, Default)]
pub struct PreparedBatch {
    pub material: Option<BatchMaterial>,
    pub positions: Vec<Vec3>,
    pub normals: Vec<Vec3>,
    /// Zeros where a primitive has none; `any_uvs` tells whether any had.
    pub uvs: Vec<Vec2>,
    pub any_uvs: bool,
    pub indices: Vec<u32>,
    /// Parts drawn by this batch, in order.
    pub part_keys: Vec<String>,
    /// The primitive's own file material ([`Grouping::PerPart`]: the one primitive drawn).
    pub file_material: Option<usize>,
}

/// The CPU half of a built scene ([`prepare_scene`]); `Send`, so it can be made on a worker.
#[derive(Debug, Clone)]
pub struct PreparedScene {
    pub batches: Vec<PreparedBatch>,
    pub bounds: Aabb,
    pub grouping: Grouping,
    /// The batches' edge length in diagonals of `bounds` (see [`MsaaStrategy::Auto`]),
    /// measured here, where the viewer prepares on a worker, not when uploading on the UI's
    /// GL thread.
    ///
    /// [`MsaaStrategy::Auto`]: super::MsaaStrategy::Auto
    pub relative_edge_length: f64,
}

impl PreparedScene {
    pub fn triangle_count(&self) -> usize {
        self.batches.iter().map(|b| b.indices.len() / 3).sum()
    }
}

/// The triangles' perimeters summed, in units of the bounds' diagonal: how much edge a framed
/// image of the scene holds (an edge shared by two triangles counts twice, as a rasteriser
/// meets it twice).
fn relative_edge_length(batches: &[PreparedBatch], bounds: &Aabb) -> f64 {
    let diagonal = three_d::InnerSpace::magnitude(bounds.size()) as f64;
    // Empty bounds (infinite extents) or a single point: no edges to speak of.
    if !diagonal.is_finite() || diagonal <= 0.0 {
        return 0.0;
    }
    let length: f64 = batches
        .iter()
        .map(|b| {
            b.indices
                .chunks_exact(3)
                .map(|t| {
                    let p = |i: u32| b.positions.get(i as usize).copied();
                    let (Some(a), Some(b), Some(c)) = (p(t[0]), p(t[1]), p(t[2])) else {
                        return 0.0;
                    };
                    let length = |v: Vec3| f64::from(three_d::InnerSpace::magnitude(v));
                    length(a - b) + length(b - c) + length(c - a)
                })
                .sum::<f64>()
        })
        .sum();
    length / diagonal
}

/// One drawable: one batch (with [`Grouping::PerPart`], one primitive of one part instance).
pub struct Drawable {
    pub gm: Gm<Mesh, DrawMaterial>,
    /// The decision it is drawn with.
    pub material: BatchMaterial,
    /// The primitive's own file material (per-part drawables).
    pub file_material: Option<usize>,
    /// Whether the mesh carries texture coordinates.
    pub has_uvs: bool,
}

impl Drawable {
    pub fn mesh(&self) -> &Mesh {
        &self.gm.geometry
    }
    pub fn object(&self) -> &dyn Object {
        &self.gm
    }
}

/// GPU-side scene. Geometry is baked to world space (mirrored instances already flipped);
/// [`BuiltScene::set_transformation`] moves everything at once (turntable, viewer gizmos).
pub struct BuiltScene {
    pub drawables: Vec<Drawable>,
    /// Part keys drawn by each drawable (same order); exactly one per drawable with
    /// [`Grouping::PerPart`], for picking and highlighting in the viewer.
    pub part_keys: Vec<Vec<String>>,
    /// World bounds before any transformation.
    pub bounds: Aabb,
    pub grouping: Grouping,
    textures: HashMap<usize, Arc<three_d::Texture2D>>,
    triangles: usize,
    relative_edge_length: f64,
}

impl BuiltScene {
    /// Triangles uploaded (all drawables).
    pub fn triangle_count(&self) -> usize {
        self.triangles
    }

    /// [`PreparedScene::relative_edge_length`] of what was uploaded.
    pub fn relative_edge_length(&self) -> f64 {
        self.relative_edge_length
    }

    pub fn objects(&self) -> impl Iterator<Item = &dyn Object> + Clone {
        self.drawables.iter().map(Drawable::object)
    }
    pub fn geometries(&self) -> impl Iterator<Item = &dyn Geometry> + Clone {
        self.drawables.iter().map(|d| d.mesh() as &dyn Geometry)
    }
    pub fn set_transformation(&mut self, m: Mat4) {
        for d in &mut self.drawables {
            d.gm.geometry.set_transformation(m);
        }
    }

    /// Applies a new material resolution to a [`Grouping::PerPart`] scene by swapping the
    /// materials of the drawables whose decision changed (geometry stays on the GPU). Returns
    /// how many drawables changed, or `None` for a by-material scene (rebuild it instead).
    pub fn restyle(
        &mut self,
        ctx: &Context,
        scene: &Scene,
        resolution: &MaterialResolution,
    ) -> Option<usize> {
        if self.grouping != Grouping::PerPart {
            return None;
        }
        let by_key: HashMap<&str, &PartMaterial> = resolution
            .parts
            .iter()
            .map(|p| (p.part_key.as_str(), p))
            .collect();
        let mut b = Builder {
            ctx,
            scene,
            textures: std::mem::take(&mut self.textures),
        };
        let mut changed = 0;
        for (d, keys) in self.drawables.iter_mut().zip(&self.part_keys) {
            let resolved = keys.first().and_then(|k| by_key.get(k.as_str()).copied());
            let decision = BatchMaterial::decide(resolved, d.file_material, scene);
            if decision != d.material {
                d.gm.material = b.draw_material(&decision, d.has_uvs, &self.bounds);
                d.material = decision;
                changed += 1;
            }
        }
        self.textures = b.textures;
        Some(changed)
    }
}

/// Linear `[0, 1]` → 8-bit sRGB (three-d materials take sRGB colours).
pub fn linear_to_srgba(c: [f32; 4]) -> Srgba {
    let enc = |v: f32| {
        let v = v.clamp(0.0, 1.0);
        let s = if v <= 0.003_130_8 {
            v * 12.92
        } else {
            1.055 * v.powf(1.0 / 2.4) - 0.055
        };
        (s * 255.0).round() as u8
    };
    Srgba::new(
        enc(c[0]),
        enc(c[1]),
        enc(c[2]),
        (c[3].clamp(0.0, 1.0) * 255.0).round() as u8,
    )
}

fn cpu_material(
    name: &str,
    color: [f32; 4],
    metallic: f32,
    roughness: f32,
    emissive: [f32; 3],
) -> CpuMaterial {
    CpuMaterial {
        name: name.to_owned(),
        albedo: linear_to_srgba(color),
        metallic: metallic.clamp(0.0, 1.0),
        roughness: roughness.clamp(0.02, 1.0),
        emissive: linear_to_srgba([emissive[0], emissive[1], emissive[2], 1.0]),
        ..Default::default()
    }
}

fn physical(ctx: &Context, m: CpuMaterial, transparent: bool) -> PhysicalMaterial {
    let mut mat = if transparent {
        PhysicalMaterial::new_transparent(ctx, &m)
    } else {
        PhysicalMaterial::new_opaque(ctx, &m)
    };
    // Library materials go on CAD parts whose winding we cannot trust: draw both sides.
    // File materials follow glTF's `doubleSided` (see `file_material`).
    mat.render_states.cull = Cull::None;
    mat
}

/// The missing-material look for a product of these bounds: ~12 stripes across it.
pub fn placeholder_material(color: [f32; 4], bounds: &Aabb) -> PlaceholderMaterial {
    PlaceholderMaterial {
        color,
        stripe_width: (bounds.radius() / 6.0).max(1e-6),
    }
}

struct Builder<'a> {
    ctx: &'a Context,
    scene: &'a Scene,
    textures: HashMap<usize, Arc<three_d::Texture2D>>,
}

impl Builder<'_> {
    fn texture(&mut self, index: usize) -> Option<Texture2DRef> {
        let img = self.scene.textures.get(index)?;
        if img.rgba.len() != img.width as usize * img.height as usize * 4 || img.width == 0 {
            return None;
        }
        let ctx = self.ctx;
        let tex = self.textures.entry(index).or_insert_with(|| {
            let mut cpu = CpuTexture {
                data: TextureData::RgbaU8(
                    img.rgba
                        .chunks_exact(4)
                        .map(|c| [c[0], c[1], c[2], c[3]])
                        .collect(),
                ),
                width: img.width,
                height: img.height,
                min_filter: Interpolation::Linear,
                mag_filter: Interpolation::Linear,
                mipmap: Some(Default::default()),
                wrap_s: Wrapping::Repeat,
                wrap_t: Wrapping::Repeat,
                ..Default::default()
            };
            cpu.data.to_linear_srgb();
            Arc::new(three_d::Texture2D::new(ctx, &cpu))
        });
        Some(Texture2DRef {
            texture: tex.clone(),
            transformation: three_d::Mat3::from_scale(1.0),
        })
    }

    fn file_material(&mut self, m: &FileMaterial, has_uvs: bool) -> PhysicalMaterial {
        let name = m.name.clone().unwrap_or_default();
        let mut mat = physical(
            self.ctx,
            cpu_material(&name, m.base_color, m.metallic, m.roughness, m.emissive),
            m.blend || m.base_color[3] < 0.999,
        );
        if has_uvs {
            if let Some(t) = m.base_color_texture.and_then(|t| self.texture(t)) {
                mat.albedo_texture = Some(t);
            }
        }
        // glTF: single-sided materials are back-face culled (winding is already corrected
        // for mirrored instances, so this is exact).
        if !m.double_sided {
            mat.render_states.cull = Cull::Back;
        }
        mat
    }

    fn library_material(&self, m: &PbrMaterial) -> PhysicalMaterial {
        let c = m.effective_color();
        physical(
            self.ctx,
            cpu_material(&m.name, c, m.metallic, m.roughness, m.emissive),
            c[3] < 0.999,
        )
    }

    fn draw_material(
        &mut self,
        decision: &BatchMaterial,
        has_uvs: bool,
        bounds: &Aabb,
    ) -> DrawMaterial {
        match decision {
            BatchMaterial::Placeholder(m) => {
                DrawMaterial::Placeholder(placeholder_material(m.base_color, bounds))
            }
            BatchMaterial::File(i) => match self.scene.materials.get(*i).cloned() {
                Some(fm) => DrawMaterial::Lit(Box::new(self.file_material(&fm, has_uvs))),
                None => DrawMaterial::Lit(Box::new(self.library_material(&default_grey()))),
            },
            BatchMaterial::Library(m) => DrawMaterial::Lit(Box::new(self.library_material(m))),
            BatchMaterial::Default => {
                DrawMaterial::Lit(Box::new(self.library_material(&default_grey())))
            }
        }
    }
}

/// How [`build_scene`] groups geometry into draw calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Grouping {
    /// One drawable per material: fewest draw calls (the headless renderer).
    #[default]
    ByMaterial,
    /// One drawable per primitive of each part instance (viewer picking/highlighting).
    PerPart,
}

/// CPU half of [`build_scene`]: world-space geometry grouped into batches, each with its
/// material decision. Parts missing from `resolution` use the file's materials.
pub fn prepare_scene(
    scene: &Scene,
    manifest: &Manifest,
    resolution: &MaterialResolution,
    grouping: Grouping,
) -> PreparedScene {
    let by_key: HashMap<&str, &PartMaterial> = resolution
        .parts
        .iter()
        .map(|p| (p.part_key.as_str(), p))
        .collect();
    // Batches in first-seen order so the output is deterministic.
    let mut batches: Vec<PreparedBatch> = Vec::new();
    let mut index_of: HashMap<String, usize> = HashMap::new();
    let mut bounds = Aabb::EMPTY;
    for entry in &manifest.parts {
        let Some(part) = entry.part_instance(scene) else {
            continue;
        };
        bounds.merge(&entry.bounds);
        let resolved = by_key.get(entry.part_key.as_str()).copied();
        for prim in scene.world_primitives(&part) {
            if prim.indices.is_empty() {
                continue;
            }
            let decision = BatchMaterial::decide(resolved, prim.material, scene);
            let key = decision.batch_key();
            let slot = match (grouping, index_of.get(&key)) {
                (Grouping::ByMaterial, Some(&i)) => i,
                _ => {
                    index_of.insert(key, batches.len());
                    batches.push(PreparedBatch {
                        material: Some(decision),
                        file_material: prim.material,
                        ..Default::default()
                    });
                    batches.len() - 1
                }
            };
            let batch = &mut batches[slot];
            let base = batch.positions.len() as u32;
            if batch.part_keys.last() != Some(&entry.part_key) {
                batch.part_keys.push(entry.part_key.clone());
            }
            batch
                .positions
                .extend(prim.positions.iter().map(|p| Vec3::from(*p)));
            batch
                .normals
                .extend(prim.normals.iter().map(|n| Vec3::from(*n)));
            match &prim.uvs {
                Some(uv) => {
                    batch.any_uvs = true;
                    batch.uvs.extend(uv.iter().map(|v| Vec2::new(v[0], v[1])));
                }
                None => batch.uvs.extend(std::iter::repeat_n(
                    Vec2::new(0.0, 0.0),
                    prim.positions.len(),
                )),
            }
            batch.indices.extend(prim.indices.iter().map(|i| i + base));
        }
    }
    PreparedScene {
        relative_edge_length: relative_edge_length(&batches, &bounds),
        batches,
        bounds,
        grouping,
    }
}

/// GPU half of [`build_scene`]: uploads prepared batches (on the context's thread).
pub fn upload_scene(ctx: &Context, scene: &Scene, prepared: PreparedScene) -> BuiltScene {
    let mut b = Builder {
        ctx,
        scene,
        textures: HashMap::new(),
    };
    let bounds = prepared.bounds;
    let triangles = prepared.triangle_count();
    let relative_edge_length = prepared.relative_edge_length;
    let mut drawables = Vec::with_capacity(prepared.batches.len());
    let mut part_keys = Vec::with_capacity(prepared.batches.len());
    for batch in prepared.batches {
        let decision = batch.material.unwrap_or(BatchMaterial::Default);
        let cpu_mesh = CpuMesh {
            positions: Positions::F32(batch.positions),
            indices: Indices::U32(batch.indices),
            normals: Some(batch.normals),
            uvs: batch.any_uvs.then_some(batch.uvs),
            ..Default::default()
        };
        let mesh = Mesh::new(ctx, &cpu_mesh);
        let material = b.draw_material(&decision, batch.any_uvs, &bounds);
        drawables.push(Drawable {
            gm: Gm::new(mesh, material),
            material: decision,
            file_material: batch.file_material,
            has_uvs: batch.any_uvs,
        });
        part_keys.push(batch.part_keys);
    }
    BuiltScene {
        drawables,
        part_keys,
        bounds,
        grouping: prepared.grouping,
        textures: b.textures,
        triangles,
        relative_edge_length,
    }
}

/// Builds the GPU scene ([`prepare_scene`] then [`upload_scene`]). Parts missing from
/// `resolution` render with the file's materials.
pub fn build_scene(
    ctx: &Context,
    scene: &Scene,
    manifest: &Manifest,
    resolution: &MaterialResolution,
    grouping: Grouping,
) -> BuiltScene {
    upload_scene(
        ctx,
        scene,
        prepare_scene(scene, manifest, resolution, grouping),
    )
}

// ---- Lights and camera: shared by the headless renderer and the viewer. ----

/// Shadow map edge in texels.
pub const SHADOW_MAP_SIZE: u32 = 1024;

/// Procedural studio environment: bright sky, soft horizon, dark floor (linear HDR values).
pub(crate) fn studio_environment(ctx: &three_d::Context) -> TextureCubeMap {
    const N: u32 = 16;
    // Direction of texel (u, v) on each face, in GL cube-map convention.
    let face = |f: usize| -> CpuTexture {
        let mut data = Vec::with_capacity((N * N) as usize);
        for y in 0..N {
            for x in 0..N {
                let u = 2.0 * (x as f32 + 0.5) / N as f32 - 1.0;
                let v = 2.0 * (y as f32 + 0.5) / N as f32 - 1.0;
                let d = match f {
                    0 => [1.0, -v, -u],
                    1 => [-1.0, -v, u],
                    2 => [u, 1.0, v],
                    3 => [u, -1.0, -v],
                    4 => [u, -v, 1.0],
                    _ => [-u, -v, -1.0],
                };
                let len = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
                let up = d[1] / len;
                let l = if up > 0.0 {
                    0.55 + 0.6 * up
                } else {
                    0.45 + 0.3 * up
                };
                data.push([l, l, l * 1.02, 1.0]);
            }
        }
        CpuTexture {
            data: TextureData::RgbaF32(data),
            width: N,
            height: N,
            ..Default::default()
        }
    };
    let faces: Vec<CpuTexture> = (0..6).map(face).collect();
    TextureCubeMap::new(
        ctx, &faces[0], &faces[1], &faces[2], &faces[3], &faces[4], &faces[5],
    )
}

/// The three-d camera for a framed pose (viewport at the origin).
pub fn camera(pose: &CameraPose, width: u32, height: u32) -> Camera {
    let viewport = Viewport::new_at_origo(width, height);
    let eye = three_d::Vec3::from(pose.eye);
    let target = three_d::Vec3::from(pose.target);
    let up = three_d::Vec3::from(pose.up);
    match pose.ortho_height {
        Some(h) => Camera::new_orthographic(viewport, eye, target, up, h, pose.near, pose.far),
        None => Camera::new_perspective(
            viewport,
            eye,
            target,
            up,
            three_d::degrees(pose.fov),
            pose.near,
            pose.far,
        ),
    }
}

/// Precompute sizes and sample counts for the studio environment. It is a smooth 16² gradient,
/// so three-d's defaults resolve nothing it has, at a cost that dominates a cold start on
/// llvmpipe: the irradiance convolution alone takes 256 × 64 samples for each of 32² × 6
/// texels (≈ 100 M texture reads, seconds). These settings do ≈ 5 M reads in all; a still
/// rendered with them differs from one with the defaults by PSNR 55–60 dB, no pixel by more
/// than 2 % (docs/performance.md, "Command-line run").
pub fn environment_options() -> EnvironmentOptions {
    EnvironmentOptions {
        irradiance_map_size: 16,
        irradiance_sample_count: 64,
        prefilter_map_size: 32,
        prefilter_sample_count: 128,
        brdf_map_size: 128,
        brdf_sample_count: 128,
        ..EnvironmentOptions::default()
    }
}

/// Ambient light with the studio environment, its maps baked ([`super::environment`]): create
/// once and reuse, updating it with [`apply_ambient`].
pub fn environment_light(ctx: &Context) -> AmbientLight {
    super::environment::studio(ctx)
}

fn rgb(c: [f32; 3]) -> Srgba {
    linear_to_srgba([c[0], c[1], c[2], 1.0])
}

/// Sets an ambient light's colour and intensity from the rig.
pub fn apply_ambient(ambient: &mut AmbientLight, rig: &LightRig) {
    ambient.intensity = rig.ambient_intensity;
    ambient.color = rgb(rig.ambient_color);
}

/// Uniform ambient light (rig with `environment = false`).
pub fn plain_ambient(ctx: &Context, rig: &LightRig) -> AmbientLight {
    AmbientLight::new(ctx, rig.ambient_intensity, rgb(rig.ambient_color))
}

/// The rig's directional lights, with shadow maps generated over `built`'s geometry.
/// Regenerate after moving the scene (turntable).
pub fn directional_lights(
    ctx: &Context,
    rig: &LightRig,
    built: &BuiltScene,
) -> Result<Vec<DirectionalLight>, RenderError> {
    let mut lights = Vec::with_capacity(rig.directional.len());
    for spec in &rig.directional {
        let mut light = DirectionalLight::new(
            ctx,
            spec.intensity,
            rgb(spec.color),
            Vec3::from(spec.direction),
        );
        if spec.casts_shadow {
            light
                .generate_shadow_map(SHADOW_MAP_SIZE, built.geometries())
                .map_err(|e| RenderError::Render(format!("shadow map: {e}")))?;
        }
        lights.push(light);
    }
    Ok(lights)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(positions: Vec<Vec3>, indices: Vec<u32>) -> PreparedBatch {
        PreparedBatch {
            positions,
            indices,
            ..PreparedBatch::default()
        }
    }

    #[test]
    fn edge_length_is_measured_in_diagonals_of_the_bounds() {
        // A 3-4-5 right triangle in bounds 4 × 3 × 0: perimeter 12, diagonal 5.
        let triangle = batch(
            vec![
                Vec3::new(0.0, 0.0, 0.0),
                Vec3::new(4.0, 0.0, 0.0),
                Vec3::new(0.0, 3.0, 0.0),
            ],
            vec![0, 1, 2],
        );
        let bounds = Aabb {
            min: [0.0; 3],
            max: [4.0, 3.0, 0.0],
        };
        let one = relative_edge_length(std::slice::from_ref(&triangle), &bounds);
        assert!((one - 2.4).abs() < 1e-6);
        // Every batch counts; an index past the positions (never uploaded) adds nothing.
        let mut broken = triangle.clone();
        broken.indices = vec![0, 1, 7];
        let three = [triangle.clone(), triangle.clone(), broken];
        assert!((relative_edge_length(&three, &bounds) - 4.8).abs() < 1e-6);
        // Empty or flat-to-a-point bounds: no edges to speak of.
        let point = Aabb {
            min: [1.0; 3],
            max: [1.0; 3],
        };
        assert_eq!(relative_edge_length(&[triangle], &point), 0.0);
        assert_eq!(relative_edge_length(&[], &Aabb::EMPTY), 0.0);
        assert_eq!(relative_edge_length(&[], &bounds), 0.0);
    }
}
