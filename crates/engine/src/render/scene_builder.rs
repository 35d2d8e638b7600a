//! THE scene builder: engine scene + material resolution → three-d objects. The headless
//! renderer and the desktop viewer both use it (it only needs a `&three_d::Context`, however
//! that context was created), so what the viewer shows is what the renderer renders.

use std::collections::HashMap;
use std::sync::Arc;

use three_d::{
    ColorMaterial, Context, CpuMaterial, CpuMesh, CpuTexture, Cull, Geometry, Gm, Indices,
    Interpolation, Mat4, Mesh, Object, PhysicalMaterial, Positions, Srgba, Texture2DRef,
    TextureData, Vec2, Vec3, Wrapping,
};

use crate::manifest::Manifest;
use crate::materials::{default_grey, MaterialResolution, MaterialSource, PbrMaterial};
use crate::scene::{Aabb, FileMaterial, Scene};

/// One drawable: one primitive of one part instance.
pub enum Drawable {
    Lit(Gm<Mesh, PhysicalMaterial>),
    /// Placeholder parts: unlit so the placeholder colour is unmistakable in every light.
    Placeholder(Gm<Mesh, ColorMaterial>),
}

impl Drawable {
    pub fn mesh(&self) -> &Mesh {
        match self {
            Drawable::Lit(gm) => &gm.geometry,
            Drawable::Placeholder(gm) => &gm.geometry,
        }
    }
    fn mesh_mut(&mut self) -> &mut Mesh {
        match self {
            Drawable::Lit(gm) => &mut gm.geometry,
            Drawable::Placeholder(gm) => &mut gm.geometry,
        }
    }
    pub fn object(&self) -> &dyn Object {
        match self {
            Drawable::Lit(gm) => gm,
            Drawable::Placeholder(gm) => gm,
        }
    }
}

/// GPU-side scene. Geometry is baked to world space (mirrored instances already flipped);
/// [`BuiltScene::set_transformation`] moves everything at once (turntable, viewer gizmos).
pub struct BuiltScene {
    pub drawables: Vec<Drawable>,
    /// Part key of each drawable (same order), for picking and highlighting in the viewer.
    pub part_keys: Vec<String>,
    /// World bounds before any transformation.
    pub bounds: Aabb,
}

impl BuiltScene {
    pub fn objects(&self) -> impl Iterator<Item = &dyn Object> + Clone {
        self.drawables.iter().map(Drawable::object)
    }
    pub fn geometries(&self) -> impl Iterator<Item = &dyn Geometry> + Clone {
        self.drawables.iter().map(|d| d.mesh() as &dyn Geometry)
    }
    pub fn set_transformation(&mut self, m: Mat4) {
        for d in &mut self.drawables {
            d.mesh_mut().set_transformation(m);
        }
    }
}

/// Linear [0,1] → 8-bit sRGB (three-d materials take sRGB colours).
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
    Srgba::new(enc(c[0]), enc(c[1]), enc(c[2]), (c[3].clamp(0.0, 1.0) * 255.0).round() as u8)
}

fn cpu_material(name: &str, color: [f32; 4], metallic: f32, roughness: f32, emissive: [f32; 3]) -> CpuMaterial {
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
    // CAD exports often have inconsistent winding: draw both sides.
    mat.render_states.cull = Cull::None;
    mat
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
                data: TextureData::RgbaU8(img.rgba.chunks_exact(4).map(|c| [c[0], c[1], c[2], c[3]]).collect()),
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
}

/// Builds the GPU scene. Parts missing from `resolution` render with the neutral default.
pub fn build_scene(
    ctx: &Context,
    scene: &Scene,
    manifest: &Manifest,
    resolution: &MaterialResolution,
) -> BuiltScene {
    let mut b = Builder {
        ctx,
        scene,
        textures: HashMap::new(),
    };
    let by_key: HashMap<&str, &crate::materials::PartMaterial> =
        resolution.parts.iter().map(|p| (p.part_key.as_str(), p)).collect();
    let mut drawables = Vec::new();
    let mut part_keys = Vec::new();
    let mut bounds = Aabb::EMPTY;
    for entry in &manifest.parts {
        let Some(part) = entry.part_instance(scene) else { continue };
        bounds.merge(&entry.bounds);
        let resolved = by_key.get(entry.part_key.as_str());
        for prim in scene.world_primitives(&part) {
            if prim.indices.is_empty() {
                continue;
            }
            let has_uvs = prim.uvs.is_some();
            let cpu_mesh = CpuMesh {
                positions: Positions::F32(prim.positions.iter().map(|p| Vec3::from(*p)).collect()),
                indices: Indices::U32(prim.indices),
                normals: Some(prim.normals.iter().map(|n| Vec3::from(*n)).collect()),
                uvs: prim.uvs.map(|u| u.iter().map(|v| Vec2::new(v[0], v[1])).collect()),
                ..Default::default()
            };
            let mesh = Mesh::new(ctx, &cpu_mesh);
            let drawable = match resolved.map(|r| (&r.source, &r.material)) {
                Some((MaterialSource::Placeholder, Some(m))) => {
                    let mut mat = ColorMaterial {
                        color: linear_to_srgba(m.base_color),
                        ..Default::default()
                    };
                    mat.render_states.cull = Cull::None;
                    Drawable::Placeholder(Gm::new(mesh, mat))
                }
                Some((_, Some(m))) => Drawable::Lit(Gm::new(mesh, b.library_material(m))),
                Some((MaterialSource::File, None)) | None => {
                    let mat = match prim.material.and_then(|i| scene.materials.get(i)) {
                        Some(fm) => b.file_material(fm, has_uvs),
                        None => b.library_material(&default_grey()),
                    };
                    Drawable::Lit(Gm::new(mesh, mat))
                }
                // Missing with no material can only come from a hand-built resolution.
                Some((_, None)) => Drawable::Lit(Gm::new(mesh, b.library_material(&default_grey()))),
            };
            drawables.push(drawable);
            part_keys.push(entry.part_key.clone());
        }
    }
    BuiltScene {
        drawables,
        part_keys,
        bounds,
    }
}
