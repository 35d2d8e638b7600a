//! The engine's scene model: what every module after import works on.
//!
//! Kept close to glTF (node tree, shared meshes, the file's own materials) so that export is
//! lossless, but fully decoded: no accessors, no buffers, every primitive a triangle list.

use three_d::{Mat4, Matrix, SquareMatrix, Vec3, Vec4};

/// An imported scene.
#[derive(Debug, Clone, Default)]
pub struct Scene {
    /// All nodes of the used hierarchy, parents before children.
    pub nodes: Vec<Node>,
    /// Indices into `nodes` of the roots, in file order.
    pub roots: Vec<usize>,
    pub meshes: Vec<Mesh>,
    /// The file's own materials, indexed by the primitives' `material`.
    pub materials: Vec<FileMaterial>,
    pub textures: Vec<TextureImage>,
    /// Things skipped or repaired during import (never silent).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Node {
    /// The name in the file (`None` when unnamed).
    pub name: Option<String>,
    pub parent: Option<usize>,
    pub children: Vec<usize>,
    /// Transform relative to the parent.
    pub local: Mat4,
    /// Transform to world space (parent world × local).
    pub world: Mat4,
    pub mesh: Option<usize>,
    /// `EXT_mesh_gpu_instancing` transforms, applied before `world`; empty when not instanced.
    pub gpu_instances: Vec<Mat4>,
    /// Hidden in the source file (extras `hidden: true` / `visible: false`).
    pub hidden: bool,
    /// A part key written by an earlier export (extras `part_key`); wins over derived keys so
    /// keys survive a round trip through our own GLB.
    pub stored_part_key: Option<String>,
}

impl Node {
    pub fn new(name: Option<String>, local: Mat4) -> Self {
        Node {
            name,
            parent: None,
            children: Vec::new(),
            local,
            world: local,
            mesh: None,
            gpu_instances: Vec::new(),
            hidden: false,
            stored_part_key: None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Mesh {
    pub name: Option<String>,
    pub primitives: Vec<Primitive>,
}

impl Mesh {
    /// Exactly the same mesh: name, and every primitive bit for bit (floats compared by
    /// their bits, so `-0.0 != 0.0` and a NaN equals only the same NaN).
    pub fn same_as(&self, other: &Mesh) -> bool {
        fn bits<const N: usize>(a: &[[f32; N]], b: &[[f32; N]]) -> bool {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| x.map(f32::to_bits) == y.map(f32::to_bits))
        }
        self.name == other.name
            && self.primitives.len() == other.primitives.len()
            && self.primitives.iter().zip(&other.primitives).all(|(p, q)| {
                p.material == q.material
                    && p.indices == q.indices
                    && bits(&p.positions, &q.positions)
                    && bits(&p.normals, &q.normals)
                    && match (&p.uvs, &q.uvs) {
                        (Some(a), Some(b)) => bits(a, b),
                        (None, None) => true,
                        _ => false,
                    }
            })
    }
}

/// One triangle list with one material slot.
#[derive(Debug, Clone, Default)]
pub struct Primitive {
    pub positions: Vec<[f32; 3]>,
    /// Always present (computed at import when the file has none).
    pub normals: Vec<[f32; 3]>,
    pub uvs: Option<Vec<[f32; 2]>>,
    /// Triangle list, counter-clockwise front faces.
    pub indices: Vec<u32>,
    /// Index into `Scene::materials`.
    pub material: Option<usize>,
}

impl Primitive {
    pub fn triangle_count(&self) -> usize {
        self.indices.len() / 3
    }

    /// Merges vertices with bit-identical position, normal and UV (lossless).
    pub fn weld(&mut self) {
        let n = self.positions.len();
        if self.normals.len() != n || self.uvs.as_ref().is_some_and(|u| u.len() != n) {
            return;
        }
        let mut map: std::collections::HashMap<[u32; 8], u32> =
            std::collections::HashMap::with_capacity(n);
        let mut remap = Vec::with_capacity(n);
        let (mut pos, mut nor, mut uvs) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            let p = self.positions[i];
            let q = self.normals[i];
            let t = self.uvs.as_ref().map_or([0.0; 2], |u| u[i]);
            let key = [p[0], p[1], p[2], q[0], q[1], q[2], t[0], t[1]].map(f32::to_bits);
            let next = pos.len() as u32;
            let idx = *map.entry(key).or_insert_with(|| {
                pos.push(p);
                nor.push(q);
                uvs.push(t);
                next
            });
            remap.push(idx);
        }
        if pos.len() == n {
            return;
        }
        for i in &mut self.indices {
            *i = remap.get(*i as usize).copied().unwrap_or(0);
        }
        self.positions = pos;
        self.normals = nor;
        if self.uvs.is_some() {
            self.uvs = Some(uvs);
        }
    }
}

/// A material as the file defines it (metallic-roughness PBR).
#[derive(Debug, Clone, PartialEq)]
pub struct FileMaterial {
    pub name: Option<String>,
    /// Linear RGBA base colour factor.
    pub base_color: [f32; 4],
    pub metallic: f32,
    pub roughness: f32,
    pub emissive: [f32; 3],
    /// Index into `Scene::textures`.
    pub base_color_texture: Option<usize>,
    pub double_sided: bool,
    pub blend: bool,
}

impl Default for FileMaterial {
    fn default() -> Self {
        FileMaterial {
            name: None,
            base_color: [1.0, 1.0, 1.0, 1.0],
            metallic: 1.0,
            roughness: 1.0,
            emissive: [0.0; 3],
            base_color_texture: None,
            double_sided: false,
            blend: false,
        }
    }
}

/// Decoded RGBA8 image.
#[derive(Debug, Clone)]
pub struct TextureImage {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

/// One drawable part instance: a node with a mesh, or one GPU instance of such a node.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartInstance {
    pub node: usize,
    /// Index of the `EXT_mesh_gpu_instancing` instance, if any.
    pub gpu_instance: Option<usize>,
    pub mesh: usize,
    pub world: Mat4,
}

/// World-space triangles of one primitive of one part instance.
#[derive(Debug, Clone, Default)]
pub struct WorldPrimitive {
    pub positions: Vec<[f32; 3]>,
    pub normals: Vec<[f32; 3]>,
    pub uvs: Option<Vec<[f32; 2]>>,
    pub indices: Vec<u32>,
    pub material: Option<usize>,
}

/// Axis-aligned bounding box.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Aabb {
    pub min: [f32; 3],
    pub max: [f32; 3],
}

impl Aabb {
    pub const EMPTY: Aabb = Aabb {
        min: [f32::INFINITY; 3],
        max: [f32::NEG_INFINITY; 3],
    };
    pub fn is_empty(&self) -> bool {
        (0..3).any(|i| self.min[i] > self.max[i])
    }
    pub fn add_point(&mut self, p: [f32; 3]) {
        for (i, v) in p.iter().enumerate() {
            if v.is_finite() {
                self.min[i] = self.min[i].min(*v);
                self.max[i] = self.max[i].max(*v);
            }
        }
    }
    pub fn merge(&mut self, other: &Aabb) {
        if !other.is_empty() {
            self.add_point(other.min);
            self.add_point(other.max);
        }
    }
    pub fn center(&self) -> Vec3 {
        Vec3::new(
            0.5 * (self.min[0] + self.max[0]),
            0.5 * (self.min[1] + self.max[1]),
            0.5 * (self.min[2] + self.max[2]),
        )
    }
    pub fn size(&self) -> Vec3 {
        Vec3::new(
            self.max[0] - self.min[0],
            self.max[1] - self.min[1],
            self.max[2] - self.min[2],
        )
    }
    /// The box swept by this box turning about the vertical axis through its centre (for
    /// framing a turntable once for every angle).
    pub fn turntable_envelope(&self) -> Aabb {
        if self.is_empty() {
            return *self;
        }
        let c = self.center();
        let r = (0.5 * self.size().x).hypot(0.5 * self.size().z);
        Aabb {
            min: [c.x - r, self.min[1], c.z - r],
            max: [c.x + r, self.max[1], c.z + r],
        }
    }

    /// Radius of the bounding sphere around the centre.
    pub fn radius(&self) -> f32 {
        0.5 * self.size().x.hypot(self.size().y).hypot(self.size().z)
    }
}

pub fn transform_point(m: &Mat4, p: [f32; 3]) -> [f32; 3] {
    let v = m * Vec4::new(p[0], p[1], p[2], 1.0);
    let w = if v.w.abs() > f32::EPSILON { v.w } else { 1.0 };
    [v.x / w, v.y / w, v.z / w]
}

impl Scene {
    /// Every drawable part instance, in depth-first file order.
    pub fn part_instances(&self) -> Vec<PartInstance> {
        let mut out = Vec::new();
        for node_index in self.depth_first() {
            let node = &self.nodes[node_index];
            let Some(mesh) = node.mesh else { continue };
            if mesh >= self.meshes.len() {
                continue;
            }
            if node.gpu_instances.is_empty() {
                out.push(PartInstance {
                    node: node_index,
                    gpu_instance: None,
                    mesh,
                    world: node.world,
                });
            } else {
                for (i, m) in node.gpu_instances.iter().enumerate() {
                    out.push(PartInstance {
                        node: node_index,
                        gpu_instance: Some(i),
                        mesh,
                        world: node.world * m,
                    });
                }
            }
        }
        out
    }

    /// Node indices in depth-first order from the roots.
    pub fn depth_first(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.nodes.len());
        let mut stack: Vec<usize> = self.roots.iter().rev().copied().collect();
        while let Some(n) = stack.pop() {
            if n >= self.nodes.len() || out.len() > self.nodes.len() {
                continue;
            }
            out.push(n);
            stack.extend(self.nodes[n].children.iter().rev().copied());
        }
        out
    }

    /// Whether the node or one of its ancestors is hidden.
    pub fn is_hidden(&self, node: usize) -> bool {
        let mut cur = Some(node);
        let mut guard = 0;
        while let Some(n) = cur {
            let Some(node) = self.nodes.get(n) else { break };
            if node.hidden {
                return true;
            }
            cur = node.parent;
            guard += 1;
            if guard > self.nodes.len() {
                break;
            }
        }
        false
    }

    /// Recomputes `world` from `local` down the tree.
    pub fn update_world_transforms(&mut self) {
        for n in self.depth_first() {
            let parent_world = self.nodes[n]
                .parent
                .and_then(|p| self.nodes.get(p))
                .map(|p| p.world)
                .unwrap_or_else(Mat4::identity);
            self.nodes[n].world = parent_world * self.nodes[n].local;
        }
    }

    /// The instance's primitives in world space. Winding is reversed when the transform
    /// mirrors (det < 0) so front faces stay counter-clockwise.
    pub fn world_primitives(&self, part: &PartInstance) -> Vec<WorldPrimitive> {
        let Some(mesh) = self.meshes.get(part.mesh) else {
            return Vec::new();
        };
        let m = part.world;
        let mirrored = m.determinant() < 0.0;
        // Normals transform with the inverse transpose; fall back to m for singular matrices.
        let normal_matrix = m.invert().map(|i| i.transpose()).unwrap_or(m);
        mesh.primitives
            .iter()
            .map(|p| {
                let positions = p
                    .positions
                    .iter()
                    .map(|v| transform_point(&m, *v))
                    .collect();
                let normals = p
                    .normals
                    .iter()
                    .map(|n| {
                        let v = normal_matrix * Vec4::new(n[0], n[1], n[2], 0.0);
                        let len = (v.x * v.x + v.y * v.y + v.z * v.z).sqrt();
                        if len > 1e-20 {
                            [v.x / len, v.y / len, v.z / len]
                        } else {
                            [0.0, 1.0, 0.0]
                        }
                    })
                    .collect();
                let mut indices = p.indices.clone();
                if mirrored {
                    for tri in indices.chunks_exact_mut(3) {
                        tri.swap(1, 2);
                    }
                }
                WorldPrimitive {
                    positions,
                    normals,
                    uvs: p.uvs.clone(),
                    indices,
                    material: p.material,
                }
            })
            .collect()
    }

    /// World-space bounds of one part instance.
    pub fn part_bounds(&self, part: &PartInstance) -> Aabb {
        let mut aabb = Aabb::EMPTY;
        if let Some(mesh) = self.meshes.get(part.mesh) {
            for p in &mesh.primitives {
                for v in &p.positions {
                    aabb.add_point(transform_point(&part.world, *v));
                }
            }
        }
        aabb
    }

    /// World-space bounds of every part instance.
    pub fn bounds(&self) -> Aabb {
        let mut aabb = Aabb::EMPTY;
        for part in self.part_instances() {
            aabb.merge(&self.part_bounds(&part));
        }
        aabb
    }

    /// Triangles drawn after node and GPU instancing are expanded.
    pub fn drawn_triangle_count(&self) -> usize {
        self.part_instances()
            .iter()
            .map(|p| self.mesh_triangle_count(p.mesh))
            .sum()
    }

    pub fn mesh_triangle_count(&self, mesh: usize) -> usize {
        self.meshes
            .get(mesh)
            .map(|m| m.primitives.iter().map(Primitive::triangle_count).sum())
            .unwrap_or(0)
    }

    /// Scales the whole scene uniformly by `factor` (a unit conversion: `0.001` turns
    /// millimetres into metres). Baked into the vertex positions and the nodes' (and GPU
    /// instances') translations, so no node carries a scale and exports stay clean.
    pub fn scale_uniform(&mut self, factor: f32) {
        if factor == 1.0 || !factor.is_finite() || factor <= 0.0 {
            return;
        }
        let scale_translation = |m: &mut Mat4| {
            m.w.x *= factor;
            m.w.y *= factor;
            m.w.z *= factor;
        };
        for node in &mut self.nodes {
            scale_translation(&mut node.local);
            node.gpu_instances.iter_mut().for_each(scale_translation);
        }
        for mesh in &mut self.meshes {
            for prim in &mut mesh.primitives {
                for p in &mut prim.positions {
                    *p = [p[0] * factor, p[1] * factor, p[2] * factor];
                }
            }
        }
        self.update_world_transforms();
    }

    /// Makes nodes whose meshes hold exactly the same local-space geometry share one mesh,
    /// and drops the copies; returns how many meshes were dropped.
    ///
    /// OpenCASCADE's glTF writer gives every placement of a STEP product its own mesh entry,
    /// so a bolt placed six times is six meshes, and "all instances" of it would cover one.
    /// Meshes are matched on a hash of every primitive's positions, normals, UVs, indices and
    /// material, then compared exactly (bit for bit), and only meshes of the same name are
    /// merged: the name is in the manifest (`mesh_name`) and name rules may match it, so
    /// sharing must not change it. Node names, paths and so part keys are untouched.
    pub fn share_identical_meshes(&mut self) -> usize {
        use std::collections::HashMap;
        use std::hash::{Hash, Hasher};
        let fingerprint = |mesh: &Mesh| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            mesh.name.hash(&mut h);
            mesh.primitives.len().hash(&mut h);
            for p in &mesh.primitives {
                p.material.hash(&mut h);
                p.indices.hash(&mut h);
                for v in p.positions.iter().chain(&p.normals) {
                    v.map(f32::to_bits).hash(&mut h);
                }
                p.uvs.is_some().hash(&mut h);
                for t in p.uvs.iter().flatten() {
                    t.map(f32::to_bits).hash(&mut h);
                }
            }
            h.finish()
        };
        // Fingerprint → kept meshes (new indices) with that fingerprint.
        let mut buckets: HashMap<u64, Vec<usize>> = HashMap::new();
        let mut kept: Vec<Mesh> = Vec::with_capacity(self.meshes.len());
        let mut remap = Vec::with_capacity(self.meshes.len());
        for mesh in std::mem::take(&mut self.meshes) {
            let bucket = buckets.entry(fingerprint(&mesh)).or_default();
            match bucket.iter().copied().find(|&k| mesh.same_as(&kept[k])) {
                Some(k) => remap.push(k),
                None => {
                    bucket.push(kept.len());
                    remap.push(kept.len());
                    kept.push(mesh);
                }
            }
        }
        let dropped = remap.len() - kept.len();
        self.meshes = kept;
        for node in &mut self.nodes {
            // An index past the end stays past the end (skipped as before).
            node.mesh = node
                .mesh
                .map(|m| remap.get(m).copied().unwrap_or(usize::MAX));
        }
        dropped
    }

    /// Rotates the whole scene about +X (-90° turns a Z-up source Y-up).
    pub fn rotate_about_x(&mut self, degrees: f32) {
        let r = Mat4::from_angle_x(three_d::degrees(degrees));
        for &root in &self.roots {
            if let Some(n) = self.nodes.get_mut(root) {
                n.local = r * n.local;
            }
        }
        self.update_world_transforms();
    }
}

/// Area-weighted smooth vertex normals for a triangle list.
pub fn compute_normals(positions: &[[f32; 3]], indices: &[u32]) -> Vec<[f32; 3]> {
    let mut acc = vec![Vec3::new(0.0, 0.0, 0.0); positions.len()];
    for tri in indices.chunks_exact(3) {
        let (a, b, c) = (tri[0] as usize, tri[1] as usize, tri[2] as usize);
        if a >= positions.len() || b >= positions.len() || c >= positions.len() {
            continue;
        }
        let pa = Vec3::from(positions[a]);
        let pb = Vec3::from(positions[b]);
        let pc = Vec3::from(positions[c]);
        let n = (pb - pa).cross(pc - pa);
        acc[a] += n;
        acc[b] += n;
        acc[c] += n;
    }
    acc.into_iter()
        .map(|n| {
            let len = (n.x * n.x + n.y * n.y + n.z * n.z).sqrt();
            if len > 1e-20 {
                [n.x / len, n.y / len, n.z / len]
            } else {
                [0.0, 1.0, 0.0]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn triangle(name: &str, z: f32) -> Mesh {
        Mesh {
            name: Some(name.to_owned()),
            primitives: vec![Primitive {
                positions: vec![[0.0, 0.0, z], [1.0, 0.0, z], [0.0, 1.0, z]],
                normals: vec![[0.0, 0.0, 1.0]; 3],
                uvs: None,
                indices: vec![0, 1, 2],
                material: Some(0),
            }],
        }
    }

    /// One root per mesh, each placed differently.
    fn scene_of(meshes: Vec<Mesh>) -> Scene {
        let mut scene = Scene::default();
        for (i, _) in meshes.iter().enumerate() {
            let mut node = Node::new(
                Some(format!("n{i}")),
                Mat4::from_translation(Vec3::new(i as f32, 0.0, 0.0)),
            );
            node.mesh = Some(i);
            scene.nodes.push(node);
            scene.roots.push(i);
        }
        scene.meshes = meshes;
        scene.update_world_transforms();
        scene
    }

    #[test]
    fn identical_meshes_are_shared_and_placements_kept() {
        let mut scene = scene_of(vec![
            triangle("bolt", 0.0),
            triangle("nut", 0.0),
            triangle("bolt", 0.0),
            triangle("bolt", 0.5),
            triangle("bolt", 0.0),
        ]);
        let bounds = scene.bounds();
        let triangles = scene.drawn_triangle_count();
        assert_eq!(scene.share_identical_meshes(), 2);
        assert_eq!(scene.meshes.len(), 3);
        let uses: Vec<Option<usize>> = scene.nodes.iter().map(|n| n.mesh).collect();
        // Same geometry but another name stays apart; another z stays apart.
        assert_eq!(uses, [Some(0), Some(1), Some(0), Some(2), Some(0)]);
        assert_eq!(scene.bounds(), bounds);
        assert_eq!(scene.drawn_triangle_count(), triangles);
        assert_eq!(scene.share_identical_meshes(), 0, "idempotent");
    }

    #[test]
    fn sharing_is_exact() {
        let base = triangle("bolt", 0.0);
        let mut material = base.clone();
        material.primitives[0].material = Some(1);
        let mut normal = base.clone();
        normal.primitives[0].normals[2] = [0.0, 0.0, -1.0];
        let mut uv = base.clone();
        uv.primitives[0].uvs = Some(vec![[0.0, 0.0]; 3]);
        let mut order = base.clone();
        order.primitives[0].indices = vec![0, 2, 1];
        let mut signed_zero = base.clone();
        signed_zero.primitives[0].positions[0] = [-0.0, 0.0, 0.0];
        let mut tiny = base.clone();
        tiny.primitives[0].positions[1][0] = f32::from_bits(1.0f32.to_bits() + 1);
        for (what, other) in [
            ("material", material),
            ("normal", normal),
            ("uv", uv),
            ("winding", order),
            ("signed zero", signed_zero),
            ("one ulp", tiny),
        ] {
            let mut scene = scene_of(vec![base.clone(), other]);
            assert_eq!(scene.share_identical_meshes(), 0, "{what}");
            assert_eq!(scene.meshes.len(), 2, "{what}");
        }
    }
}
