//! `cad.extract_metadata`: the part manifest (every part instance with its key).

use serde::{Deserialize, Serialize};

use crate::part_key::{node_path, node_segments, part_key};
use crate::scene::{Aabb, PartInstance, Scene};

#[derive(Debug, Clone, PartialEq)]
pub struct ManifestParams {
    pub key_separator: String,
    pub include_hidden: bool,
    /// Parts with fewer triangles are left out (0 keeps all).
    pub min_triangles: usize,
}

impl Default for ManifestParams {
    fn default() -> Self {
        ManifestParams {
            key_separator: "/".to_owned(),
            include_hidden: false,
            min_triangles: 0,
        }
    }
}

/// One material slot (primitive) of a part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaterialSlot {
    pub primitive: usize,
    /// Index of the file material, if the primitive has one.
    pub material_index: Option<usize>,
    pub material_name: Option<String>,
}

/// One part instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartEntry {
    pub part_key: String,
    /// Segments of the node path (root → node).
    pub node_path: Vec<String>,
    /// Index of the node in `Scene::nodes`.
    pub node: usize,
    pub mesh: usize,
    pub mesh_name: Option<String>,
    pub material_slots: Vec<MaterialSlot>,
    pub bounds: Aabb,
    pub triangle_count: usize,
    /// `EXT_mesh_gpu_instancing` instance index, if any.
    pub instance_index: Option<usize>,
    /// Which use of the mesh this is across the scene (0 for the first node using it).
    pub mesh_instance: usize,
    pub hidden: bool,
}

impl PartEntry {
    /// The scene part instance this entry describes.
    pub fn part_instance(&self, scene: &Scene) -> Option<PartInstance> {
        let node = scene.nodes.get(self.node)?;
        let world = match self.instance_index {
            Some(i) => node.world * *node.gpu_instances.get(i)?,
            None => node.world,
        };
        Some(PartInstance {
            node: self.node,
            gpu_instance: self.instance_index,
            mesh: self.mesh,
            world,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub parts: Vec<PartEntry>,
    pub key_separator: String,
    pub total_triangles: usize,
    pub bounds: Option<Aabb>,
    /// What the import noticed and accepted (a glTF defect that does not change the result,
    /// by its JSON pointer; a converter's warnings): published with the product.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Manifest {
    pub fn get(&self, part_key: &str) -> Option<&PartEntry> {
        self.parts.iter().find(|p| p.part_key == part_key)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("key_separator must not be empty")]
    EmptySeparator,
    #[error("part key `{key}` is used by two part instances (nodes {first} and {second})")]
    DuplicateKey {
        key: String,
        first: usize,
        second: usize,
    },
}

impl ManifestError {
    pub fn code(&self) -> &'static str {
        match self {
            ManifestError::EmptySeparator => "invalid_param",
            ManifestError::DuplicateKey { .. } => "duplicate_part_key",
        }
    }
}

/// `cad.extract_metadata`: lists every part instance with a stable key.
pub fn extract_manifest(scene: &Scene, params: &ManifestParams) -> Result<Manifest, ManifestError> {
    if params.key_separator.is_empty() {
        return Err(ManifestError::EmptySeparator);
    }
    let segments = node_segments(scene);
    let mut mesh_uses: std::collections::HashMap<(usize, usize), usize> = Default::default();
    let mut mesh_counter: std::collections::HashMap<usize, usize> = Default::default();
    let mut parts = Vec::new();
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    for part in scene.part_instances() {
        let hidden = scene.is_hidden(part.node);
        let triangles = scene.mesh_triangle_count(part.mesh);
        let use_index = *mesh_uses.entry((part.node, part.mesh)).or_insert_with(|| {
            let c = mesh_counter.entry(part.mesh).or_insert(0);
            *c += 1;
            *c - 1
        });
        if (hidden && !params.include_hidden) || triangles < params.min_triangles {
            continue;
        }
        let key = part_key(scene, &segments, &part, &params.key_separator);
        if let Some(&first) = seen.get(&key) {
            return Err(ManifestError::DuplicateKey {
                key,
                first,
                second: part.node,
            });
        }
        seen.insert(key.clone(), part.node);
        let mesh = &scene.meshes[part.mesh];
        let material_slots = mesh
            .primitives
            .iter()
            .enumerate()
            .map(|(i, p)| MaterialSlot {
                primitive: i,
                material_index: p.material,
                material_name: p
                    .material
                    .and_then(|m| scene.materials.get(m))
                    .and_then(|m| m.name.clone()),
            })
            .collect();
        parts.push(PartEntry {
            part_key: key,
            node_path: node_path(scene, &segments, part.node),
            node: part.node,
            mesh: part.mesh,
            mesh_name: mesh.name.clone(),
            material_slots,
            bounds: scene.part_bounds(&part),
            triangle_count: triangles,
            instance_index: part.gpu_instance,
            mesh_instance: use_index,
            hidden,
        });
    }
    let mut bounds = Aabb::EMPTY;
    for p in &parts {
        bounds.merge(&p.bounds);
    }
    Ok(Manifest {
        total_triangles: parts.iter().map(|p| p.triangle_count).sum(),
        parts,
        key_separator: params.key_separator.clone(),
        bounds: (!bounds.is_empty()).then_some(bounds),
        warnings: scene.warnings.clone(),
    })
}
