//! A renderer's first still of a tiny scene, drawn while it starts.
//!
//! The first draw with each shader program and pipeline state compiles it (GLSL, then, on
//! llvmpipe, LLVM code for the shader variant, the shadow pass and the multisample resolve):
//! tens to hundreds of milliseconds that would otherwise fall inside the first real render.
//! [`RenderService`](super::RenderService) starts on its own thread while a run imports its
//! CAD file, so drawing the same kinds of material (plain and textured) there takes the
//! compiles off the run's critical path.

use three_d::Mat4;

use super::{ImageParams, MsaaStrategy, Renderer};
use crate::lighting::LightingParams;
use crate::manifest::{extract_manifest, ManifestParams};
use crate::materials::MaterialResolution;
use crate::scene::{FileMaterial, Mesh, Node, Primitive, Scene, TextureImage};

/// The last still is drawn at this size: a thumbnail's (the `cad_file` starter's), so the
/// first thumbnail also finds its render targets made.
const WARM_UP_SIZE: u32 = 512;

/// A still drawn for its compiles only: the program variants do not depend on the size, and
/// a small frame touches little memory (on this VM a page costs ~3 µs to fault in and free).
const COMPILE_ONLY_SIZE: u32 = 64;

impl Renderer {
    /// Renders stills of two tetrahedra (one plain without texture coordinates, one textured)
    /// with the default image and lighting parameters, multisampled at 64² and supersampled at
    /// 512². Failures are ignored: the real render reports them.
    pub fn warm_up(&mut self) {
        let scene = warm_up_scene();
        let Ok(manifest) = extract_manifest(&scene, &ManifestParams::default()) else {
            return;
        };
        let resolution = MaterialResolution::file_preview(&manifest);
        // Both ways of anti-aliasing a default still: multisampled (most glTF models) at a
        // small size, its compiles only; then supersampled (depth pre-pass, single-sample
        // target, downsample) at the thumbnail's size, whose targets are kept: a `cad_file`
        // thumbnail of tessellated CAD is supersampled on llvmpipe (see `MsaaStrategy::Auto`).
        let strategy = self.msaa_strategy;
        for (forced, size) in [
            (MsaaStrategy::Multisample, COMPILE_ONLY_SIZE),
            (MsaaStrategy::Supersample, WARM_UP_SIZE),
        ] {
            self.msaa_strategy = forced;
            let params = ImageParams {
                width: size,
                height: size,
                ..ImageParams::default()
            };
            let _ = self.render_still(
                &scene,
                &manifest,
                &resolution,
                &LightingParams::default(),
                &params,
            );
        }
        self.msaa_strategy = strategy;
    }
}

fn tetrahedron(material: usize) -> Primitive {
    let positions = vec![
        [0.0, 0.0, 0.0],
        [1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, 0.0, 1.0],
    ];
    let indices = vec![0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3];
    Primitive {
        normals: crate::scene::compute_normals(&positions, &indices),
        uvs: Some(vec![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
        positions,
        indices,
        material: Some(material),
    }
}

fn warm_up_scene() -> Scene {
    let mut scene = Scene {
        materials: vec![
            FileMaterial {
                metallic: 0.0,
                ..FileMaterial::default()
            },
            FileMaterial {
                metallic: 0.0,
                base_color_texture: Some(0),
                ..FileMaterial::default()
            },
        ],
        textures: vec![TextureImage {
            width: 2,
            height: 2,
            rgba: vec![255; 16],
        }],
        ..Scene::default()
    };
    for (i, offset) in [0.0f32, 1.5].into_iter().enumerate() {
        let mut primitive = tetrahedron(i);
        if i == 0 {
            // A plain part without texture coordinates, as a tessellated CAD part comes: a
            // vertex layout of its own for the rasteriser's vertex stage.
            primitive.uvs = None;
        }
        scene.meshes.push(Mesh {
            name: None,
            primitives: vec![primitive],
        });
        let mut node = Node::new(
            Some(format!("warm-up {i}")),
            Mat4::from_translation([offset, 0.0, 0.0].into()),
        );
        node.mesh = Some(i);
        scene.roots.push(scene.nodes.len());
        scene.nodes.push(node);
    }
    scene.update_world_transforms();
    scene
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warm_up_scene_has_a_plain_and_a_textured_part() {
        let scene = warm_up_scene();
        let manifest = extract_manifest(&scene, &ManifestParams::default()).expect("manifest");
        assert_eq!(manifest.parts.len(), 2);
        assert_eq!(manifest.total_triangles, 8);
        assert!(scene.materials[1].base_color_texture.is_some());
    }
}
