//! The built-in node catalog. Every node here is backed by an engine module (`module_key`);
//! `render.thumbnail` and `render.still` share the `render.image` module.

use crate::family::Family::{self, CadFile, OrderLine};
use crate::node::{ArtifactRole as A, ExecutionRole as R, NodeDefinition};
use crate::param::ParamSpec as P;
use crate::port::{PortSpec, PortType as T};
use crate::registry::{MemberRename, Registry, TypeRename};

/// Bump when any definition changes shape.
pub const REGISTRY_VERSION: &str = "2026.11.1";

const CAMERA_PRESETS: &[&str] = &[
    "three_quarter",
    "front",
    "back",
    "left",
    "right",
    "top",
    "bottom",
    "custom",
];

/// Placeholders a deliverable file-name template may use.
const NAMING_PLACEHOLDERS: &[&str] = &[
    "product",
    "order_line",
    "output_type",
    "frame",
    "width",
    "height",
    "date",
    "ext",
];

struct Def(NodeDefinition);

impl Def {
    fn new(node_type: &str, label: &str, role: R, module: &str, families: &[Family]) -> Self {
        Def(NodeDefinition {
            node_type: node_type.to_owned(),
            label: label.to_owned(),
            description: String::new(),
            families: families.to_vec(),
            module_key: module.to_owned(),
            execution_role: role,
            input_contract: Vec::new(),
            output_contract: Vec::new(),
            artifact_roles_in: Vec::new(),
            artifact_roles_out: Vec::new(),
            legacy_source: None,
            params: Vec::new(),
        })
    }
    fn describe(mut self, text: &str) -> Self {
        self.0.description = text.to_owned();
        self
    }
    fn input(mut self, port: PortSpec) -> Self {
        self.0.input_contract.push(port);
        self
    }
    fn output(mut self, name: &str, t: T, label: &str, desc: &str) -> Self {
        self.0
            .output_contract
            .push(PortSpec::output(name, t, label, desc));
        self
    }
    fn artifacts(mut self, roles_in: &[A], roles_out: &[A]) -> Self {
        self.0.artifact_roles_in = roles_in.to_vec();
        self.0.artifact_roles_out = roles_out.to_vec();
        self
    }
    fn legacy(mut self, step: &str) -> Self {
        self.0.legacy_source = Some(step.to_owned());
        self
    }
    fn params(mut self, params: Vec<P>) -> Self {
        self.0.params = params;
        self
    }
}

fn image_params(width: i64, height: i64, camera: bool) -> Vec<P> {
    let mut params = vec![
        P::int("width", "Width", width, 16, 16384, "Output width.")
            .unit("px")
            .step(16.0),
        P::int("height", "Height", height, 16, 16384, "Output height.")
            .unit("px")
            .step(16.0),
        P::int(
            "samples",
            "Samples",
            4,
            1,
            16,
            "Anti-aliasing samples per pixel (multisampling).",
        ),
        P::color(
            "background",
            "Background",
            "#ffffff",
            "Background colour behind the product.",
        ),
        P::bool(
            "transparent_background",
            "Transparent background",
            false,
            "Write an alpha channel instead of the background colour (PNG only).",
        ),
    ];
    if camera {
        params.extend(camera_params());
    }
    params
}

fn camera_params() -> Vec<P> {
    vec![
        P::choice(
            "camera_preset",
            "Camera preset",
            "three_quarter",
            CAMERA_PRESETS,
            "Viewing direction; `custom` uses azimuth and elevation.",
        ),
        P::float(
            "camera_margin",
            "Framing margin",
            0.05,
            0.0,
            0.9,
            "Empty border around the product as a fraction of the frame.",
        )
        .step(0.01),
        P::float(
            "azimuth",
            "Azimuth",
            35.0,
            -180.0,
            180.0,
            "Horizontal camera angle (custom preset).",
        )
        .unit("deg"),
        P::float(
            "elevation",
            "Elevation",
            25.0,
            -89.0,
            89.0,
            "Vertical camera angle (custom preset).",
        )
        .unit("deg"),
        P::float(
            "fov",
            "Field of view",
            30.0,
            5.0,
            120.0,
            "Vertical field of view.",
        )
        .unit("deg"),
    ]
}

fn naming(default: &str) -> P {
    P::string(
        "naming_template",
        "File naming",
        default,
        "File name of the published deliverable.",
    )
    .placeholders(NAMING_PLACEHOLDERS)
}

fn cad_nodes() -> Vec<NodeDefinition> {
    vec![
        Def::new("cad.source", "CAD source", R::Source, "cad.source", &[CadFile])
            .describe("The uploaded CAD file this run processes (glTF, GLB, STEP).")
            .output("cad_file", T::CadFile, "CAD file", "The uploaded source file.")
            .artifacts(&[A::CadSource], &[])
            .legacy("cad.store_upload")
            .params(vec![
                P::int("max_file_size", "Maximum file size", 512, 1, 8192, "Uploads above this size are refused.").unit("MB"),
                P::choice("source_unit", "Source unit", "auto", &["auto", "mm", "cm", "m", "in"], "Length unit of the source file when it does not state one; the imported scene is always in metres. glTF is metres by specification: auto keeps it, another unit rescales it (mm: 1000× smaller). STEP files state their unit and are converted from it (auto); an explicit unit applies only to a STEP file that states none (auto reads that as mm)."),
            ])
            .0,
        Def::new("cad.import", "Import CAD", R::Transform, "cad.import", &[CadFile])
            .describe("Reads glTF/GLB directly and tessellates STEP through OpenCASCADE into a scene.")
            .input(PortSpec::input("cad_file", T::CadFile, "CAD file", "File to import."))
            .output("scene", T::Scene, "Scene", "Imported geometry and hierarchy.")
            .legacy("cad.convert")
            .params(vec![
                P::float("linear_tolerance", "Linear tolerance", 0.1, 0.001, 10.0, "STEP tessellation chord tolerance.").unit("mm").step(0.01),
                P::float("angular_tolerance", "Angular tolerance", 0.5, 0.05, 1.5, "STEP tessellation angle tolerance.").unit("rad").step(0.05),
                P::choice("up_axis", "Up axis", "auto", &["auto", "y", "z"], "Axis that points up in the source file. auto follows the format: glTF is Y-up, STEP Z-up; y or z overrides it (a STEP file exported Y-up)."),
                P::bool("merge_vertices", "Merge coincident vertices", true, "Weld vertices shared by adjacent faces."),
                P::int("timeout", "Timeout", 120, 5, 3600, "Conversion is stopped after this time.").unit("s"),
                P::int("memory_limit", "Memory limit", 4096, 256, 65536, "Conversion is stopped above this memory use.").unit("MB"),
            ])
            .0,
        Def::new("cad.extract_metadata", "Extract part manifest", R::Transform, "cad.extract_metadata", &[CadFile])
            .describe("Lists every part instance with a stable, instance-aware part key, its mesh, material slots, world bounds and triangle count.")
            .input(PortSpec::input("scene", T::Scene, "Scene", "Imported scene."))
            .output("scene", T::Scene, "Scene", "The scene with part keys attached.")
            .output("manifest", T::PartManifest, "Part manifest", "Every part instance.")
            .artifacts(&[], &[A::PartManifest])
            .legacy("cad.extract_parts")
            .params(vec![
                P::string("key_separator", "Key separator", "/", "Separator between node-path segments in part keys."),
                P::bool("include_hidden", "Include hidden parts", false, "List parts hidden in the source file."),
                P::int("min_triangles", "Minimum triangles", 0, 0, 1_000_000, "Parts with fewer triangles are left out (0 keeps all)."),
            ])
            .0,
        Def::new("cad.export_glb", "Export preview GLB", R::Export, "cad.export_glb", &[CadFile])
            .describe("Writes the scene as a GLB with part keys in node extras, for the viewer and later stages.")
            .input(PortSpec::input("scene", T::Scene, "Scene", "Scene with part keys."))
            .input(PortSpec::input("manifest", T::PartManifest, "Part manifest", "Part keys to embed."))
            .output("glb", T::SceneFile, "GLB", "The preview GLB.")
            .artifacts(&[], &[A::PreviewGlb])
            .legacy("cad.write_glb")
            .params(vec![
                P::bool("embed_part_keys", "Embed part keys", true, "Write each part key into its node's extras."),
                P::bool("include_normals", "Include normals", true, "Write vertex normals."),
                P::bool("include_textures", "Include textures", true, "Embed the file's own textures."),
            ])
            .0,
        Def::new("render.thumbnail", "Render thumbnail", R::Render, "render.image", &[CadFile])
            .describe("Renders a small preview image of the imported product with the headless renderer.")
            .input(PortSpec::input("scene", T::Scene, "Scene", "Scene to render."))
            .output("image", T::Image, "Thumbnail", "Rendered thumbnail.")
            .artifacts(&[], &[A::Thumbnail])
            .legacy("cad.thumbnail")
            .params(image_params(512, 512, true))
            .0,
        Def::new("cad.publish", "Publish CAD preview", R::Sink, "cad.publish", &[CadFile])
            .describe("Stores the preview GLB, manifest and thumbnail on the product and marks it processed.")
            .input(PortSpec::input("glb", T::SceneFile, "GLB", "Preview GLB."))
            .input(PortSpec::input("thumbnail", T::Image, "Thumbnail", "Product thumbnail.").optional())
            .input(PortSpec::input("manifest", T::PartManifest, "Part manifest", "Manifest to store.").optional())
            .artifacts(&[A::PreviewGlb, A::Thumbnail, A::PartManifest], &[A::PreviewGlb, A::Thumbnail, A::PartManifest])
            .legacy("cad.publish")
            .params(vec![
                P::bool("replace_existing", "Replace existing", true, "Replace the results of an earlier processing of the product (preview GLB, manifest, thumbnail); when off and there are some, the node fails with already_published."),
                P::bool("mark_processed", "Mark product processed", true, "Make the product available to order lines."),
            ])
            .0,
    ]
}

fn order_nodes() -> Vec<NodeDefinition> {
    vec![
        Def::new("order.source", "Order line", R::Source, "order.source", &[OrderLine])
            .describe("The order line this run renders: product, output type and per-line overrides.")
            .output("order_line", T::OrderLine, "Order line", "The order line.")
            .legacy("order.load")
            .params(vec![
                P::bool("apply_line_overrides", "Apply per-line overrides", true, "Apply the order line's own overrides on top of the output type's; when off, runs of an order line get the output type's overrides only."),
                P::choice("priority", "Queue priority", "normal", &["low", "normal", "high"], "Queue priority of runs of this workflow: queued runs of a higher priority start first, in dispatch order within a priority."),
            ])
            .0,
        Def::new("order.load_product_scene", "Load product scene", R::Transform, "order.load_product_scene", &[OrderLine])
            .describe("Loads the processed preview GLB and part manifest of the order line's product.")
            .input(PortSpec::input("order_line", T::OrderLine, "Order line", "Order line whose product to load."))
            .output("scene", T::Scene, "Scene", "The product scene.")
            .output("manifest", T::PartManifest, "Part manifest", "The product's part manifest.")
            .artifacts(&[A::PreviewGlb, A::PartManifest], &[])
            .legacy("order.load_scene")
            .params(vec![
                P::bool("require_processed", "Require processed CAD", true, "Fail when the product's CAD file is not processed yet."),
                P::choice("up_axis", "Up axis", "y", &["y", "z"], "Axis that points up in the product scene."),
            ])
            .0,
        Def::new("material.resolve", "Resolve materials", R::Transform, "material.resolve", &[OrderLine])
            .describe("Applies the material library and the product's material map to every part instance and reports parts without a material.")
            .input(PortSpec::input("scene", T::Scene, "Scene", "Scene to assign materials to."))
            .input(PortSpec::input("manifest", T::PartManifest, "Part manifest", "Part keys to resolve.").optional())
            .output("scene", T::Scene, "Scene", "Scene with materials applied.")
            .output("report", T::MaterialReport, "Material report", "Resolved and missing materials.")
            .artifacts(&[], &[A::MaterialReport])
            .legacy("order.apply_materials")
            .params(vec![
                P::choice("missing_policy", "Missing material policy", "fail", &["fail", "placeholder"], "What happens to parts without a material: fail the run, or render them with the placeholder."),
                P::color("placeholder_color", "Placeholder colour", "#ff00ff", "Colour of parts without a material when the policy is placeholder."),
                P::bool("use_file_materials", "Use file materials", true, "Fall back to the CAD file's own materials before reporting a part missing."),
            ])
            .0,
        Def::new("scene.camera", "Camera", R::Transform, "scene.camera", &[OrderLine])
            .describe("Places the camera that frames the product.")
            .input(PortSpec::input("scene", T::Scene, "Scene", "Scene to frame."))
            .output("scene", T::Scene, "Scene", "Scene with camera.")
            .legacy("order.camera")
            .params({
                let mut p = camera_params();
                p.push(P::choice("projection", "Projection", "perspective", &["perspective", "orthographic"], "Camera projection."));
                p
            })
            .0,
        Def::new("scene.lighting", "Lighting", R::Transform, "scene.lighting", &[OrderLine])
            .describe("Sets up key light, environment light and shadows.")
            .input(PortSpec::input("scene", T::Scene, "Scene", "Scene to light."))
            .output("scene", T::Scene, "Scene", "Lit scene.")
            .legacy("order.lighting")
            .params(vec![
                P::choice("preset", "Preset", "studio", &["studio", "soft", "hard", "outdoor"], "Lighting rig."),
                P::float("intensity", "Intensity", 1.0, 0.0, 10.0, "Multiplier on every light.").step(0.05),
                P::bool("environment", "Environment light", true, "Image-based ambient light (needed for metals)."),
                P::bool("shadows", "Shadows", true, "Cast shadows from the key light."),
                P::vec3("key_direction", "Key light direction", [-1.0, -2.0, -1.5], "Direction the key light shines in, in world space."),
            ])
            .0,
        Def::new("render.still", "Render still", R::Render, "render.image", &[OrderLine])
            .describe("Renders one still image of the scene with the headless renderer.")
            .input(PortSpec::input("scene", T::Scene, "Scene", "Lit scene with camera."))
            .output("image", T::Image, "Image", "Rendered still.")
            .artifacts(&[], &[A::Still])
            .legacy("order.render_still")
            .params({
                let mut p = image_params(2048, 2048, false);
                p.push(P::choice("file_format", "File format", "png", &["png", "jpeg"], "Encoding of the still."));
                p.extend(engine_params());
                p
            })
            .0,
        Def::new("render.turntable", "Render turntable", R::Render, "render.turntable", &[OrderLine])
            .describe("Renders frames while the product turns about its up axis, written as an animated GIF plus one PNG per frame.")
            .input(PortSpec::input("scene", T::Scene, "Scene", "Lit scene with camera."))
            .output("frames", T::Frames, "Frames", "Rendered frames in order.")
            .artifacts(&[], &[A::Turntable, A::TurntableFrame])
            .legacy("order.render_turntable")
            .params({
                let mut p = image_params(1024, 1024, false);
                p.extend([
                    P::int("frame_count", "Frames", 36, 2, 720, "Number of frames."),
                    P::float("degrees", "Rotation", 360.0, 1.0, 360.0, "Total rotation over all frames.").unit("deg"),
                    P::float("start_angle", "Start angle", 0.0, -180.0, 180.0, "Rotation of the first frame.").unit("deg"),
                    P::choice("direction", "Direction", "counterclockwise", &["counterclockwise", "clockwise"], "Turning direction seen from above."),
                    P::bool("png_frames", "Write PNG frames", true, "Store every frame as a PNG beside the animated GIF (off for quick previews)."),
                ]);
                p.extend(engine_params());
                p
            })
            .0,
        Def::new("export.scene", "Export scene", R::Export, "export.scene", &[OrderLine])
            .describe("The scene-export deliverable (the legacy \"blend export\"): the product scene with materials, camera and lights applied, written as a file.")
            .input(PortSpec::input("scene", T::Scene, "Scene", "Scene with materials applied."))
            .output("scene_file", T::SceneFile, "Scene file", "The exported scene.")
            .artifacts(&[], &[A::SceneExport])
            .legacy("order.export_scene")
            .params(vec![
                P::choice("format", "Format", "glb", &["glb", "gltf", "blend", "usd"], "File format of the export: glTF (binary or JSON), a Blender .blend (through headless Blender) or USD (through OpenUSD). Part instances stay shared in every format."),
                P::bool("include_camera", "Include camera", true, "Export the framed camera."),
                P::bool("include_lights", "Include lights", true, "Export the lighting rig."),
                P::bool("embed_textures", "Embed textures", true, "Embed textures in the file instead of writing them beside it."),
            ])
            .0,
        Def::new("output.publish", "Publish deliverables", R::Sink, "output.publish", &[OrderLine])
            .describe("Names and stores the deliverables on the order line.")
            .input(PortSpec::input("image", T::Image, "Images", "Stills to publish.").optional().many())
            .input(PortSpec::input("frames", T::Frames, "Frames", "Turntable frames to publish.").optional())
            .input(PortSpec::input("scene_file", T::SceneFile, "Scene file", "Scene export to publish.").optional())
            .input(PortSpec::input("report", T::MaterialReport, "Material report", "Report to attach.").optional())
            .artifacts(&[A::Still, A::Turntable, A::TurntableFrame, A::SceneExport, A::MaterialReport], &[A::Still, A::Turntable, A::TurntableFrame, A::SceneExport, A::MaterialReport])
            .legacy("order.publish")
            .params(vec![
                naming("{product}_{output_type}_{order_line}{frame}.{ext}"),
                P::bool("overwrite", "Overwrite", false, "Replace the product's deliverable of the same name; when off, a name the product already has fails the node with deliverable_exists."),
                P::bool("notify", "Notify", true, "Record a notification of the published deliverables in the outbox a mail or webhook sender reads (GET /api/notifications)."),
            ])
            .0,
    ]
}

/// `engine` and `cycles_samples` of `render.still` and `render.turntable`.
fn engine_params() -> Vec<P> {
    vec![
        P::choice("engine", "Render engine", "builtin", &["builtin", "cycles"], "builtin: the headless rasteriser (fast; what the viewer shows). cycles: Blender's path tracer through the Blender bridge with the same camera, lights and materials (slow; needs Blender installed)."),
        P::int("cycles_samples", "Cycles samples", 32, 1, 1024, "Path-tracing samples per pixel when the engine is cycles (no denoiser: Debian's Blender is built without OpenImageDenoise)."),
    ]
}

/// The built-in registry with its rename history.
pub fn builtin_registry() -> Registry {
    let mut nodes = cad_nodes();
    nodes.extend(order_nodes());
    let mut registry = Registry::new(REGISTRY_VERSION, nodes);
    let types = [
        ("cad.thumbnail", "render.thumbnail"),
        ("render.blend_export", "export.scene"),
        ("order.load_scene", "order.load_product_scene"),
        ("material.apply", "material.resolve"),
        ("output.save", "output.publish"),
        ("cad.metadata", "cad.extract_metadata"),
    ];
    registry.renamed_types = types
        .iter()
        .map(|(from, to)| TypeRename {
            from: (*from).to_owned(),
            to: (*to).to_owned(),
        })
        .collect();
    let member = |node_type: &str, from: &str, to: &str| MemberRename {
        node_type: node_type.to_owned(),
        from: from.to_owned(),
        to: to.to_owned(),
    };
    registry.renamed_params = vec![
        member("render.turntable", "frames", "frame_count"),
        member("material.resolve", "policy", "missing_policy"),
        member("output.publish", "file_template", "naming_template"),
        member("render.still", "bg_color", "background"),
    ];
    registry.renamed_ports = vec![
        member("output.publish", "still", "image"),
        member("cad.publish", "preview", "glb"),
    ];
    registry
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::ExecutionRole;
    use crate::param::ParamType;
    use std::collections::HashSet;

    /// Every editor-visible node must carry a complete, machine-usable contract.
    #[test]
    fn every_node_has_a_complete_contract() {
        let registry = builtin_registry();
        let mut types = HashSet::new();
        for def in &registry.nodes {
            let t = &def.node_type;
            assert!(types.insert(t.clone()), "{t} defined twice");
            assert!(!def.label.is_empty(), "{t}: label");
            assert!(def.description.len() > 20, "{t}: description too thin");
            assert!(!def.families.is_empty(), "{t}: families");
            assert!(!def.module_key.is_empty(), "{t}: module_key");
            assert!(
                def.legacy_source.is_some(),
                "{t}: every built-in node mirrors a legacy step"
            );
            match def.execution_role {
                ExecutionRole::Source => {
                    assert!(def.input_contract.is_empty(), "{t}: source with inputs")
                }
                _ => assert!(!def.input_contract.is_empty(), "{t}: no inputs"),
            }
            match def.execution_role {
                ExecutionRole::Sink => {
                    assert!(def.output_contract.is_empty(), "{t}: sink with outputs")
                }
                _ => assert!(!def.output_contract.is_empty(), "{t}: no outputs"),
            }
            for ports in [&def.input_contract, &def.output_contract] {
                let mut names = HashSet::new();
                for p in ports.iter() {
                    assert!(names.insert(&p.name), "{t}: port {} twice", p.name);
                    assert!(
                        !p.label.is_empty() && !p.description.is_empty(),
                        "{t}.{}",
                        p.name
                    );
                }
            }
            for p in &def.output_contract {
                assert!(
                    !p.required && !p.multiple,
                    "{t}.{}: flags are for inputs",
                    p.name
                );
            }
            assert!(!def.params.is_empty(), "{t}: no parameters");
            let mut names = HashSet::new();
            for p in &def.params {
                let where_ = format!("{t}.{}", p.name);
                assert!(names.insert(&p.name), "{where_} twice");
                assert!(!p.label.is_empty() && !p.description.is_empty(), "{where_}");
                assert!(
                    p.check(&p.default).is_none(),
                    "{where_}: default fails its own schema"
                );
                if matches!(p.param_type, ParamType::Int | ParamType::Float) {
                    assert!(
                        p.min.is_some() && p.max.is_some(),
                        "{where_}: numeric without range"
                    );
                }
                if p.param_type == ParamType::Enum {
                    assert!(p.options.len() >= 2, "{where_}: enum needs options");
                }
            }
        }
    }

    #[test]
    fn required_nodes_and_port_types_are_present() {
        let registry = builtin_registry();
        for t in [
            "cad.source",
            "cad.import",
            "cad.extract_metadata",
            "cad.export_glb",
            "render.thumbnail",
            "cad.publish",
            "order.source",
            "order.load_product_scene",
            "material.resolve",
            "scene.camera",
            "scene.lighting",
            "render.still",
            "render.turntable",
            "export.scene",
            "output.publish",
        ] {
            assert!(registry.get(t).is_some(), "{t} missing");
        }
        let used: HashSet<_> = registry
            .nodes
            .iter()
            .flat_map(|d| d.input_contract.iter().chain(&d.output_contract))
            .map(|p| p.port_type)
            .collect();
        for t in crate::port::PortType::ALL {
            assert!(used.contains(&t), "port type {t} unused");
        }
    }

    #[test]
    fn one_module_backs_thumbnail_and_still() {
        let registry = builtin_registry();
        let module = |t: &str| registry.get(t).map(|d| d.module_key.clone());
        assert_eq!(module("render.thumbnail"), Some("render.image".into()));
        assert_eq!(module("render.thumbnail"), module("render.still"));
    }

    #[test]
    fn renames_point_at_existing_definitions() {
        let registry = builtin_registry();
        for r in &registry.renamed_types {
            assert!(registry.get(&r.to).is_some(), "{} -> {}", r.from, r.to);
            assert!(registry.get(&r.from).is_none(), "{} still defined", r.from);
        }
        for r in &registry.renamed_params {
            let def = registry.get(&r.node_type).expect("node exists");
            assert!(
                def.param(&r.to).is_some() && def.param(&r.from).is_none(),
                "{r:?}"
            );
        }
        for r in &registry.renamed_ports {
            let def = registry.get(&r.node_type).expect("node exists");
            assert!(
                def.input(&r.to).is_some() || def.output(&r.to).is_some(),
                "{r:?}"
            );
        }
    }

    #[test]
    fn registry_round_trips_through_json() {
        let registry = builtin_registry();
        let json = serde_json::to_string(&registry).expect("serializes");
        let mut back: Registry = serde_json::from_str(&json).expect("parses");
        back.reindex();
        assert_eq!(back, registry);
        assert_eq!(back.fingerprint(), registry.fingerprint());
    }
}
