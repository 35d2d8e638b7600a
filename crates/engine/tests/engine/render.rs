use crate::common;

use std::sync::{Arc, OnceLock};

use workflow_engine::camera::{CameraParams, CameraPreset};
use workflow_engine::compare::ssim::ssim_interleaved;
use workflow_engine::lighting::LightingParams;
use workflow_engine::materials::{
    default_library, MaterialLibrary, MaterialMap, MissingPolicy, PbrMaterial, ResolveOptions,
};
use workflow_engine::render::{
    AntiAliasing, ImageParams, MsaaStrategy, RenderService, RenderedImage, Renderer,
};
use workflow_engine::turntable::{render_turntable, TurntableParams};
use workflow_engine::{
    extract_manifest, resolve_materials, Manifest, ManifestParams, MaterialResolution, Scene,
};

/// One renderer per test binary: the environment precompute is slow.
fn service() -> &'static RenderService {
    static SERVICE: OnceLock<RenderService> = OnceLock::new();
    SERVICE.get_or_init(|| RenderService::start().expect("headless renderer starts"))
}

fn prepared(name: &str) -> (Arc<Scene>, Arc<Manifest>) {
    with_manifest(common::load(name))
}

fn with_manifest(scene: Scene) -> (Arc<Scene>, Arc<Manifest>) {
    let manifest = extract_manifest(&scene, &ManifestParams::default()).expect("manifest");
    (Arc::new(scene), Arc::new(manifest))
}

fn render(
    scene: &Arc<Scene>,
    manifest: &Arc<Manifest>,
    resolution: MaterialResolution,
    params: ImageParams,
) -> RenderedImage {
    let (scene, manifest) = (scene.clone(), manifest.clone());
    service()
        .run(move |r: &mut Renderer| {
            r.render_still(
                &scene,
                &manifest,
                &resolution,
                &LightingParams::default(),
                &params,
            )
        })
        .expect("service")
        .expect("render")
}

fn small(background: &str) -> ImageParams {
    ImageParams {
        width: 128,
        height: 128,
        background: background.into(),
        ..ImageParams::default()
    }
}

#[test]
fn background_in_corners_object_in_middle() {
    let (scene, manifest) = prepared("Box.glb");
    let img = render(
        &scene,
        &manifest,
        MaterialResolution::file_preview(&manifest),
        small("#204060"),
    );
    for (x, y) in [(0, 0), (127, 0), (0, 127), (127, 127)] {
        assert_eq!(img.pixel(x, y), [0x20, 0x40, 0x60, 255], "corner {x},{y}");
    }
    assert_ne!(
        img.pixel(64, 64),
        [0x20, 0x40, 0x60, 255],
        "object in the middle"
    );
    std::fs::write(
        std::env::temp_dir().join("engine-box.png"),
        img.to_png().expect("png"),
    )
    .expect("write");
}

#[test]
fn transparent_background_has_zero_alpha() {
    let (scene, manifest) = prepared("Box.glb");
    let mut params = small("#ffffff");
    params.transparent_background = true;
    let img = render(
        &scene,
        &manifest,
        MaterialResolution::file_preview(&manifest),
        params,
    );
    assert_eq!(img.pixel(0, 0)[3], 0);
    assert_eq!(img.pixel(64, 64)[3], 255);
}

fn red_blue_library() -> MaterialLibrary {
    let mut lib = default_library();
    for (name, c) in [
        ("test_red", [1.0, 0.0, 0.0, 1.0]),
        ("test_blue", [0.0, 0.0, 1.0, 1.0]),
    ] {
        lib.materials.push(PbrMaterial {
            name: name.into(),
            base_color: c,
            metallic: 0.0,
            roughness: 0.6,
            emissive: [0.0; 3],
            opacity: 1.0,
        });
    }
    lib
}

/// Pixel position of a world point under the camera the renderer uses.
fn project(params: &ImageParams, bounds: &workflow_engine::scene::Aabb, p: [f32; 3]) -> (u32, u32) {
    use three_d::{Vec4, Viewport};
    let pose =
        workflow_engine::camera::frame_camera(bounds, params.camera.as_ref().expect("camera"), 1.0);
    let cam = three_d::Camera::new_perspective(
        Viewport::new_at_origo(params.width, params.height),
        pose.eye.into(),
        pose.target.into(),
        pose.up.into(),
        three_d::degrees(pose.fov),
        pose.near,
        pose.far,
    );
    let clip = cam.projection() * cam.view() * Vec4::new(p[0], p[1], p[2], 1.0);
    let (x, y) = (clip.x / clip.w, clip.y / clip.w);
    (
        ((x * 0.5 + 0.5) * params.width as f32) as u32,
        ((0.5 - y * 0.5) * params.height as f32) as u32,
    )
}

#[test]
fn assigned_material_colour_is_on_its_part() {
    // SimpleMeshes: the same triangle twice, side by side. Paint one red, the other blue.
    let (scene, manifest) = prepared("SimpleMeshes/SimpleMeshes.gltf");
    let keys: Vec<String> = manifest.parts.iter().map(|p| p.part_key.clone()).collect();
    let mut map = MaterialMap::default();
    map.assignments.insert(keys[0].clone(), "test_red".into());
    map.assignments.insert(keys[1].clone(), "test_blue".into());
    let res = resolve_materials(
        &manifest,
        &red_blue_library(),
        &map,
        &ResolveOptions::default(),
    )
    .expect("resolves");
    let mut params = small("#ffffff");
    params.camera = Some(CameraParams {
        preset: CameraPreset::Front,
        ..CameraParams::default()
    });
    let img = render(&scene, &manifest, res, params.clone());
    std::fs::write(
        std::env::temp_dir().join("engine-redblue.png"),
        img.to_png().expect("png"),
    )
    .expect("write");
    let bounds = manifest.bounds.expect("bounds");
    for (part, want_red) in [(&manifest.parts[0], true), (&manifest.parts[1], false)] {
        let p = inside_triangle(part);
        let (x, y) = project(&params, &bounds, p);
        let [r, _g, bl, _] = img.pixel(x, y);
        if want_red {
            assert!(
                r > 2 * bl.max(20),
                "part {} at {x},{y} is {:?}",
                part.part_key,
                img.pixel(x, y)
            );
        } else {
            assert!(
                bl > 2 * r.max(20),
                "part {} at {x},{y} is {:?}",
                part.part_key,
                img.pixel(x, y)
            );
        }
    }
}

#[test]
fn placeholder_colour_shows_for_missing_parts() {
    let (scene, manifest) = prepared("SimpleInstancing.glb");
    let opts = ResolveOptions {
        missing_policy: MissingPolicy::Placeholder,
        ..ResolveOptions::default()
    };
    let res = resolve_materials(
        &manifest,
        &default_library(),
        &MaterialMap::default(),
        &opts,
    )
    .expect("placeholder");
    assert_eq!(res.missing.len(), 125);
    let img = render(&scene, &manifest, res, small("#ffffff"));
    let magenta = img
        .rgba
        .chunks_exact(4)
        .filter(|p| p[0] == 255 && p[1] == 0 && p[2] == 255)
        .count();
    assert!(magenta > 500, "{magenta} placeholder pixels");
    // Striped: the dark shade of the placeholder is there too.
    let dark = img
        .rgba
        .chunks_exact(4)
        .filter(|p| p[0] == p[2] && p[0] > 10 && p[0] < 120 && p[1] == 0)
        .count();
    assert!(dark > 200, "{dark} dark stripe pixels");
    let png = img.to_png().expect("png");
    std::fs::write(std::env::temp_dir().join("engine-placeholder.png"), png).expect("write");
}

#[test]
fn same_input_renders_identical_bytes() {
    let (scene, manifest) = prepared("CesiumMilkTruck.glb");
    let a = render(
        &scene,
        &manifest,
        MaterialResolution::file_preview(&manifest),
        small("#ffffff"),
    );
    let b = render(
        &scene,
        &manifest,
        MaterialResolution::file_preview(&manifest),
        small("#ffffff"),
    );
    assert_eq!(a.to_png().expect("png"), b.to_png().expect("png"));
    let jpeg = a
        .encode(workflow_engine::render::OutputFormat::Jpeg)
        .expect("jpeg");
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    std::fs::write(
        std::env::temp_dir().join("engine-truck.png"),
        a.to_png().expect("png"),
    )
    .expect("write");
}

#[test]
fn turntable_frames_differ_and_encode() {
    let (scene, manifest) = prepared("CesiumMilkTruck.glb");
    let (s, m) = (scene.clone(), manifest.clone());
    let frames = service()
        .run(move |r| {
            let params = TurntableParams {
                image: ImageParams {
                    width: 64,
                    height: 64,
                    ..ImageParams::default()
                },
                frame_count: 4,
                ..TurntableParams::default()
            };
            render_turntable(
                r,
                &s,
                &m,
                &MaterialResolution::file_preview(&m),
                &LightingParams::default(),
                &params,
            )
        })
        .expect("service")
        .expect("turntable");
    assert_eq!(frames.len(), 4);
    for f in &frames {
        for (x, y) in [(0, 0), (63, 0), (0, 63), (63, 63)] {
            assert_eq!(
                f.pixel(x, y),
                [255, 255, 255, 255],
                "product leaves the frame"
            );
        }
    }
    assert_ne!(frames[0], frames[1]);
    let gif = workflow_engine::render::encode_gif(&frames, 100).expect("gif");
    assert_eq!(&gif[..3], b"GIF");
}

#[test]
fn invalid_parameters_are_errors() {
    let (scene, manifest) = prepared("Box.glb");
    let (s, m) = (scene.clone(), manifest.clone());
    let err = service()
        .run(move |r| {
            r.render_still(
                &s,
                &m,
                &MaterialResolution::file_preview(&m),
                &LightingParams::default(),
                &small("red"),
            )
        })
        .expect("service")
        .expect_err("bad colour");
    assert_eq!(err.code(), "invalid_param");
}

#[test]
fn fxaa_keeps_background_and_object() {
    let (scene, manifest) = prepared("Box.glb");
    let params = ImageParams {
        antialiasing: AntiAliasing::Fxaa,
        ..small("#204060")
    };
    let img = render(
        &scene,
        &manifest,
        MaterialResolution::file_preview(&manifest),
        params,
    );
    assert_eq!(img.pixel(0, 0), [0x20, 0x40, 0x60, 255]);
    assert_eq!(img.pixel(127, 127), [0x20, 0x40, 0x60, 255]);
    assert_ne!(img.pixel(64, 64), [0x20, 0x40, 0x60, 255]);
}

#[test]
fn viewer_grouping_gives_one_drawable_per_part_primitive() {
    use workflow_engine::render::{build_scene, Grouping};
    let (scene, manifest) = prepared("CesiumMilkTruck.glb");
    let (s, m) = (scene.clone(), manifest.clone());
    let (per_part, batched) = service()
        .run(move |r| {
            let res = MaterialResolution::file_preview(&m);
            let per_part = build_scene(r.context(), &s, &m, &res, Grouping::PerPart);
            let batched = build_scene(r.context(), &s, &m, &res, Grouping::ByMaterial);
            (per_part.part_keys, batched.part_keys)
        })
        .expect("service");
    let prims: usize = manifest.parts.iter().map(|p| p.material_slots.len()).sum();
    assert_eq!(per_part.len(), prims);
    assert!(per_part.iter().all(|k| k.len() == 1));
    assert!(batched.len() <= per_part.len());
    let all: std::collections::BTreeSet<_> = batched.iter().flatten().collect();
    assert_eq!(all.len(), manifest.parts.len());
}

#[test]
fn pipeline_camera_precedence_node_then_scene_then_default() {
    use workflow_engine::pipeline::{render_image, SceneValue};
    let mut value = SceneValue::new(common::load("Box.glb"));
    value.camera = Some(CameraParams {
        preset: CameraPreset::Top,
        ..CameraParams::default()
    });
    let v = value.clone();
    let (from_scene, explicit_top, explicit_front) = service()
        .run(move |r| {
            let still = small("#ffffff");
            let top = ImageParams {
                camera: Some(CameraParams {
                    preset: CameraPreset::Top,
                    ..CameraParams::default()
                }),
                ..small("#ffffff")
            };
            let front = ImageParams {
                camera: Some(CameraParams {
                    preset: CameraPreset::Front,
                    ..CameraParams::default()
                }),
                ..small("#ffffff")
            };
            (
                render_image(r, &v, &still).expect("still"),
                render_image(r, &v, &top).expect("top"),
                render_image(r, &v, &front).expect("front"),
            )
        })
        .expect("service");
    assert_eq!(from_scene, explicit_top, "render.still uses scene.camera");
    assert_ne!(from_scene, explicit_front, "a node's own camera wins");
}

#[test]
fn a_panicking_job_does_not_kill_the_service() {
    let err = service()
        .run(|_r: &mut Renderer| -> u32 { panic!("deliberate test panic") })
        .expect_err("job panicked");
    assert_eq!(err.code(), "render_failed");
    let name = service()
        .run(|r| r.gpu_name())
        .expect("service still alive");
    assert!(!name.is_empty());
}

/// `cargo test -p workflow-engine --test render -- --ignored gallery`: writes a 256² render
/// of every glTF fixture to `$TMPDIR/engine-gallery/` for a human look.
#[test]
#[ignore]
fn gallery() {
    let dir = std::env::temp_dir().join("engine-gallery");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for name in [
        "Box.glb",
        "BoxTextured.glb",
        "SimpleMeshes/SimpleMeshes.gltf",
        "SimpleInstancing.glb",
        "NegativeScaleTest.glb",
        "CesiumMilkTruck.glb",
        "2CylinderEngine.glb",
    ] {
        let (scene, manifest) = prepared(name);
        let params = ImageParams {
            width: 256,
            height: 256,
            ..ImageParams::default()
        };
        let img = render(
            &scene,
            &manifest,
            MaterialResolution::file_preview(&manifest),
            params,
        );
        let file = dir.join(format!("{}.png", name.replace('/', "_")));
        std::fs::write(file, img.to_png().expect("png")).expect("write");
    }
}

#[test]
fn mirrored_instances_cull_like_their_originals() {
    // NegativeScaleTest shows red crosses where back faces are drawn (culling off, or
    // winding not flipped for det < 0) and green ticks where both are right.
    let (scene, manifest) = prepared("NegativeScaleTest.glb");
    let params = ImageParams {
        width: 192,
        height: 192,
        ..small("#ffffff")
    };
    let img = render(
        &scene,
        &manifest,
        MaterialResolution::file_preview(&manifest),
        params,
    );
    let red = img
        .rgba
        .chunks_exact(4)
        .filter(|p| p[0] > 150 && p[1] < 90 && p[2] < 90)
        .count();
    let green = img
        .rgba
        .chunks_exact(4)
        .filter(|p| p[1] > 120 && p[0] < 90 && p[2] < 90)
        .count();
    assert!(red < 5, "{red} red (back-face) pixels");
    assert!(green > 50, "{green} green (front-face) pixels");
}

/// Renders a still with multisampling and with 2×2 supersampling (one job, so no other test's
/// render sees the strategy changed).
fn msaa_and_supersampled(
    scene: &Arc<Scene>,
    manifest: &Arc<Manifest>,
    resolution: MaterialResolution,
    params: ImageParams,
) -> (RenderedImage, RenderedImage) {
    let (scene, manifest) = (scene.clone(), manifest.clone());
    service()
        .run(move |r: &mut Renderer| {
            let mut one = |strategy| {
                r.set_msaa_strategy(strategy);
                let img = r.render_still(
                    &scene,
                    &manifest,
                    &resolution,
                    &LightingParams::default(),
                    &params,
                );
                r.set_msaa_strategy(MsaaStrategy::Auto);
                img
            };
            Ok::<_, workflow_engine::render::RenderError>((
                one(MsaaStrategy::Multisample)?,
                one(MsaaStrategy::Supersample)?,
            ))
        })
        .expect("service")
        .expect("render")
}

#[test]
fn supersampling_matches_msaa_x4_quality() {
    // The renderer supersamples 2×2 instead of multisampling on llvmpipe for scenes dense in
    // edges (much faster there): 2CylinderEngine, and thumbnails of tessellated STEP
    // assemblies. The image must stay of MSAA×4 quality (SSIM ≥ 0.99).
    for (name, size) in [
        ("2CylinderEngine.glb", 512),
        ("CesiumMilkTruck.glb", 384),
        ("BoxTextured.glb", 256),
        ("step/as1-oc-214.step", 512),
        ("step/abc-0000.step", 512),
        ("step/nist_mbe_pmi_1.step", 512),
    ] {
        let (scene, manifest) = match name.strip_prefix("step/") {
            Some(file) => with_manifest(common::load_step(file)),
            None => prepared(name),
        };
        let params = ImageParams {
            width: size,
            height: size,
            ..ImageParams::default()
        };
        let (msaa, ssaa) = msaa_and_supersampled(
            &scene,
            &manifest,
            MaterialResolution::file_preview(&manifest),
            params,
        );
        assert_eq!((ssaa.width, ssaa.height), (size, size));
        let s = size as usize;
        let ssim = ssim_interleaved(&msaa.rgba, &ssaa.rgba, s, s, 4, 3);
        assert!(ssim >= 0.99, "{name}: SSIM {ssim:.4} against MSAA×4");
        // Anti-aliased at all: edges carry colours between the object's and the background's
        // (an aliased render has far fewer distinct colours).
        let distinct = |img: &RenderedImage| {
            img.rgba
                .chunks_exact(4)
                .map(|p| [p[0], p[1], p[2], p[3]])
                .collect::<std::collections::HashSet<_>>()
                .len()
        };
        assert!(
            distinct(&ssaa) * 10 >= distinct(&msaa) * 8,
            "{name}: {} colours supersampled, {} with MSAA",
            distinct(&ssaa),
            distinct(&msaa)
        );
    }
}

#[test]
fn supersampling_keeps_a_transparent_background_and_transparent_parts() {
    // SimpleMeshes: two triangles side by side; one half-transparent red, one opaque blue.
    let (scene, manifest) = prepared("SimpleMeshes/SimpleMeshes.gltf");
    let mut lib = red_blue_library();
    for m in &mut lib.materials {
        if m.name == "test_red" {
            m.opacity = 0.5;
        }
    }
    let keys: Vec<String> = manifest.parts.iter().map(|p| p.part_key.clone()).collect();
    let mut map = MaterialMap::default();
    map.assignments.insert(keys[0].clone(), "test_red".into());
    map.assignments.insert(keys[1].clone(), "test_blue".into());
    let res =
        resolve_materials(&manifest, &lib, &map, &ResolveOptions::default()).expect("resolves");
    let mut params = small("#ffffff");
    params.camera = Some(CameraParams {
        preset: CameraPreset::Front,
        ..CameraParams::default()
    });
    params.transparent_background = true;
    let (msaa, ssaa) = msaa_and_supersampled(&scene, &manifest, res, params.clone());
    assert_eq!(ssaa.pixel(0, 0)[3], 0, "background stays transparent");
    let bounds = manifest.bounds.expect("bounds");
    for part in &manifest.parts[..2] {
        let p = inside_triangle(part);
        let (x, y) = project(&params, &bounds, p);
        // Inside a triangle both methods shade the same surface: the same colour (and the
        // half-transparent part is drawn blended, not skipped by the depth pre-pass).
        let (a, b) = (msaa.pixel(x, y), ssaa.pixel(x, y));
        assert!(
            a.iter().zip(b).all(|(p, q)| p.abs_diff(q) <= 3),
            "part {} at {x},{y}: MSAA {a:?}, supersampled {b:?}",
            part.part_key
        );
        if part.part_key == keys[0] {
            // Red over the (white, alpha 0) clear colour, half and half: neither.
            assert!(
                b[0] > 200 && (60..200).contains(&b[1]) && b[1] == b[2],
                "half-transparent red part drawn blended: {b:?}"
            );
        } else {
            assert!(b[2] > 2 * b[0].max(20) && b[3] == 255, "blue part: {b:?}");
        }
    }
}

/// A point inside the triangle (0,0)-(1,0)-(0,1) of a part instance: near its right angle.
fn inside_triangle(part: &workflow_engine::PartEntry) -> [f32; 3] {
    let b = part.bounds;
    [
        b.min[0] + 0.25 * (b.max[0] - b.min[0]),
        b.min[1] + 0.25 * (b.max[1] - b.min[1]),
        0.0,
    ]
}
