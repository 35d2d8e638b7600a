//! Content digests of node output values, recorded per output port on each
//! [`NodeRun`](crate::runtime::NodeRun) (`output_digests`) so that a parity comparison can name
//! the first node whose output differs from its legacy counterpart without storing the values.
//!
//! A digest is SHA-256 over a canonical encoding of the value, truncated to 128 bits and
//! written as 32 hex digits. Canonical means: JSON objects by sorted key (whatever map order
//! serde_json was built with), floats by their bits, every field length-prefixed. Two equal
//! values give equal digests across runs, processes and machines.

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::scene::Scene;

/// Incremental digest builder. Every `write` is length- or tag-prefixed so concatenations
/// cannot collide (`"ab" + "c"` ≠ `"a" + "bc"`).
pub struct Digest(Sha256);

impl Digest {
    /// A digest of one kind of value (`tag` keeps different kinds apart).
    pub fn new(tag: &str) -> Self {
        let mut d = Digest(Sha256::new());
        d.str(tag);
        d
    }

    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    pub fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }

    pub fn opt_str(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.u64(1).str(s),
            None => self.u64(0),
        }
    }

    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.update(v.to_le_bytes());
        self
    }

    pub fn f32s(&mut self, values: &[f32]) -> &mut Self {
        self.u64(values.len() as u64);
        for v in values {
            self.0.update(v.to_bits().to_le_bytes());
        }
        self
    }

    pub fn u32s(&mut self, values: &[u32]) -> &mut Self {
        self.u64(values.len() as u64);
        for v in values {
            self.0.update(v.to_le_bytes());
        }
        self
    }

    /// A JSON value, canonically (objects by sorted key).
    pub fn json(&mut self, value: &Value) -> &mut Self {
        match value {
            Value::Null => self.u64(0),
            Value::Bool(b) => self.u64(1).u64(u64::from(*b)),
            Value::Number(n) => self.u64(2).str(&n.to_string()),
            Value::String(s) => self.u64(3).str(s),
            Value::Array(items) => {
                self.u64(4).u64(items.len() as u64);
                for item in items {
                    self.json(item);
                }
                self
            }
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                self.u64(5).u64(keys.len() as u64);
                for key in keys {
                    self.str(key);
                    if let Some(v) = map.get(key) {
                        self.json(v);
                    }
                }
                self
            }
        }
    }

    /// 32 hex digits (the first 128 bits of the SHA-256).
    pub fn finish(&self) -> String {
        let hash = self.0.clone().finalize();
        hash.iter().take(16).map(|b| format!("{b:02x}")).collect()
    }
}

/// Digest of raw bytes (encoded images, GLB files).
pub fn bytes_digest(tag: &str, bytes: &[u8]) -> String {
    Digest::new(tag).bytes(bytes).finish()
}

/// Digest of a JSON value (canonical: key order does not matter).
pub fn json_digest(tag: &str, value: &Value) -> String {
    Digest::new(tag).json(value).finish()
}

/// Digest of anything serialisable, through its JSON form (`None` if it does not serialise).
pub fn serde_digest<T: serde::Serialize + ?Sized>(tag: &str, value: &T) -> Option<String> {
    serde_json::to_value(value)
        .ok()
        .map(|v| json_digest(tag, &v))
}

fn matrix(d: &mut Digest, m: &three_d::Mat4) {
    let cols: [[f32; 4]; 4] = (*m).into();
    d.f32s(cols.as_flattened());
}

/// Digest of everything an imported scene holds: node tree, transforms, geometry, file
/// materials, textures and import warnings.
pub fn scene_digest(scene: &Scene) -> String {
    let mut d = Digest::new("scene");
    d.u64(scene.nodes.len() as u64);
    for n in &scene.nodes {
        d.opt_str(n.name.as_deref());
        d.u64(n.parent.map_or(0, |p| p as u64 + 1));
        d.u64(n.children.len() as u64);
        for &c in &n.children {
            d.u64(c as u64);
        }
        matrix(&mut d, &n.local);
        d.u64(n.mesh.map_or(0, |m| m as u64 + 1));
        d.u64(n.gpu_instances.len() as u64);
        for m in &n.gpu_instances {
            matrix(&mut d, m);
        }
        d.u64(u64::from(n.hidden));
        d.opt_str(n.stored_part_key.as_deref());
    }
    d.u64(scene.roots.len() as u64);
    for &r in &scene.roots {
        d.u64(r as u64);
    }
    d.u64(scene.meshes.len() as u64);
    for m in &scene.meshes {
        d.opt_str(m.name.as_deref());
        d.u64(m.primitives.len() as u64);
        for p in &m.primitives {
            d.f32s(p.positions.as_flattened());
            d.f32s(p.normals.as_flattened());
            match &p.uvs {
                Some(uv) => d.u64(1).f32s(uv.as_flattened()),
                None => d.u64(0),
            };
            d.u32s(&p.indices);
            d.u64(p.material.map_or(0, |m| m as u64 + 1));
        }
    }
    d.u64(scene.materials.len() as u64);
    for m in &scene.materials {
        d.opt_str(m.name.as_deref());
        d.f32s(&m.base_color);
        d.f32s(&[m.metallic, m.roughness]);
        d.f32s(&m.emissive);
        d.u64(m.base_color_texture.map_or(0, |t| t as u64 + 1));
        d.u64(u64::from(m.double_sided)).u64(u64::from(m.blend));
    }
    d.u64(scene.textures.len() as u64);
    for t in &scene.textures {
        d.u64(u64::from(t.width)).u64(u64::from(t.height));
        d.bytes(&t.rgba);
    }
    d.u64(scene.warnings.len() as u64);
    for w in &scene.warnings {
        d.str(w);
    }
    d.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_digest_ignores_key_order_but_not_values() {
        let a: Value = serde_json::from_str(r#"{"a":1,"b":[1,2,{"x":null}]}"#).expect("json");
        let b: Value = serde_json::from_str(r#"{"b":[1,2,{"x":null}],"a":1}"#).expect("json");
        assert_eq!(json_digest("t", &a), json_digest("t", &b));
        assert_ne!(json_digest("t", &a), json_digest("t", &json!({"a": 2})));
        assert_ne!(json_digest("t", &a), json_digest("u", &a));
        assert_eq!(json_digest("t", &a).len(), 32);
    }

    #[test]
    fn byte_digests_are_length_prefixed() {
        let ab_c = Digest::new("t").str("ab").str("c").finish();
        let a_bc = Digest::new("t").str("a").str("bc").finish();
        assert_ne!(ab_c, a_bc);
    }

    #[test]
    fn scene_digest_sees_geometry() {
        let mut scene = Scene::default();
        scene.meshes.push(crate::scene::Mesh {
            name: None,
            primitives: vec![crate::scene::Primitive {
                positions: vec![[0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
                normals: vec![[0.0, 0.0, 1.0]; 3],
                uvs: None,
                indices: vec![0, 1, 2],
                material: None,
            }],
        });
        let before = scene_digest(&scene);
        assert_eq!(before, scene_digest(&scene.clone()));
        scene.meshes[0].primitives[0].positions[1][0] = 1.5;
        assert_ne!(before, scene_digest(&scene));
    }
}
