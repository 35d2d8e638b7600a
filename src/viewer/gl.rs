//! The viewport's GPU side: three-d on eframe's own glow context, inside an egui paint
//! callback. Geometry comes from the engine's scene builder ([`upload_scene`] of batches the
//! loader prepared off the UI thread); material map edits restyle the drawables in place
//! ([`BuiltScene::restyle`]); lights are the renderer's rig. Picking renders the engine's
//! id-buffer pass ([`render_id_buffer`]).
//!
//! Everything GL lives in [`GlState`] behind a mutex shared with the callback; the UI thread
//! only writes the next frame's parameters and reads pick results.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use eframe::egui_glow;
use three_d::{
    AmbientLight, Blend, ClearState, ColorMaterial, Context, CpuMaterial, DepthTest,
    DirectionalLight, Light, Object, PhysicalMaterial, RenderStates, RenderTarget, RendererError,
    ScissorBox, Srgba, Viewport, Wireframe, WriteMask,
};
use workflow_engine::camera::CameraPose;
use workflow_engine::lighting::{light_rig, LightingParams};
use workflow_engine::manifest::Manifest;
use workflow_engine::materials::MaterialResolution;
use workflow_engine::render::scene_builder::{self, upload_scene, BuiltScene, PreparedScene};
use workflow_engine::render::{render_id_buffer, IdBuffer};
use workflow_engine::scene::Scene;

/// Display toggles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ViewToggles {
    pub wireframe: bool,
    /// One flat colour per resolved material instead of the materials.
    pub false_colour: bool,
    /// Only parts without a material, the rest as a faint ghost.
    pub missing_only: bool,
}

/// What the next frame draws (written by the UI thread).
#[derive(Debug, Clone, Default)]
pub struct FrameParams {
    pub pose: Option<CameraPose>,
    pub toggles: ViewToggles,
    /// Selected parts (manifest indices) and their version (changes re-index).
    pub selected: Arc<BTreeSet<usize>>,
    /// Parts the rule being typed would catch.
    pub previewed: Arc<BTreeSet<usize>>,
    /// Per part: missing material.
    pub missing: Arc<Vec<bool>>,
    /// Per part: false colour (sRGB).
    pub false_colours: Arc<Vec<[u8; 4]>>,
    pub background: [u8; 3],
}

/// A model handed to the GPU side.
pub struct Upload {
    pub doc_id: u64,
    pub scene: Arc<Scene>,
    pub manifest: Arc<Manifest>,
    pub prepared: PreparedScene,
}

/// A material resolution to restyle with.
pub struct Restyle {
    pub doc_id: u64,
    pub generation: u64,
    pub resolution: Arc<MaterialResolution>,
}

/// Shared between the UI thread and the paint callback.
#[derive(Default)]
pub struct GlShared {
    pub frame: FrameParams,
    pub upload: Option<Upload>,
    pub restyle: Option<Restyle>,
    /// Pixel (from the viewport's top-left, physical pixels) to pick at the next paint.
    pub pick_request: Option<(u32, u32)>,
    /// `Some(part or None for background)` once a pick ran.
    pub pick_result: Option<Option<usize>>,
    /// The last GL problem (shown over the viewport).
    pub error: Option<String>,
    /// Milliseconds the last frame's GL work took.
    pub last_draw_ms: f64,
    /// Whether a model is on the GPU.
    pub has_scene: bool,
    state: Option<GlState>,
}

impl std::fmt::Debug for GlShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlShared")
            .field("has_scene", &self.has_scene)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

struct GlState {
    ctx: Context,
    scene: Option<GpuScene>,
    environment: Option<AmbientLight>,
    /// Frames drawn without the environment light (it is computed on the second).
    frames: u64,
}

struct GpuScene {
    doc_id: u64,
    generation: u64,
    source: Arc<Scene>,
    manifest: Arc<Manifest>,
    built: BuiltScene,
    /// Part (manifest index) per drawable.
    drawable_part: Vec<Option<usize>>,
    directional: Vec<DirectionalLight>,
    wireframes: Option<Vec<Wireframe>>,
    false_materials: HashMap<[u8; 4], PhysicalMaterial>,
}

/// Creates the callback that draws the viewport. `shared` carries everything between frames.
pub fn paint_callback(shared: Arc<Mutex<GlShared>>) -> Arc<egui_glow::CallbackFn> {
    Arc::new(egui_glow::CallbackFn::new(move |info, painter| {
        let Ok(mut shared) = shared.lock() else {
            return;
        };
        let started = std::time::Instant::now();
        if let Err(message) = paint(&mut shared, &info, painter) {
            shared.error = Some(message);
        }
        shared.last_draw_ms = started.elapsed().as_secs_f64() * 1e3;
    }))
}

fn paint(
    shared: &mut GlShared,
    info: &egui::PaintCallbackInfo,
    painter: &egui_glow::Painter,
) -> Result<(), String> {
    if shared.state.is_none() {
        let ctx = Context::from_gl_context(painter.gl().clone())
            .map_err(|e| format!("cannot use the window's OpenGL context: {e}"))?;
        shared.state = Some(GlState {
            ctx,
            scene: None,
            environment: None,
            frames: 0,
        });
    }
    let upload = shared.upload.take();
    let restyle = shared.restyle.take();
    let frame = shared.frame.clone();
    let pick = shared.pick_request.take();
    let Some(state) = shared.state.as_mut() else {
        return Ok(());
    };
    let ctx = state.ctx.clone();
    if let Some(up) = upload {
        state.scene = Some(GpuScene::upload(&ctx, up)?);
    }
    if let (Some(r), Some(gpu)) = (restyle, state.scene.as_mut()) {
        if r.doc_id == gpu.doc_id && r.generation != gpu.generation {
            gpu.built.restyle(&ctx, &gpu.source, &r.resolution);
            gpu.generation = r.generation;
        }
    }
    shared.has_scene = state.scene.is_some();
    let vp = info.viewport_in_pixels();
    let clip = info.clip_rect_in_pixels();
    let (w, h) = (vp.width_px.max(1) as u32, vp.height_px.max(1) as u32);
    // Clear only the part of the panel that is visible.
    let x0 = vp.left_px.max(clip.left_px);
    let y0 = vp.from_bottom_px.max(clip.from_bottom_px);
    let x1 = (vp.left_px + vp.width_px).min(clip.left_px + clip.width_px);
    let y1 = (vp.from_bottom_px + vp.height_px).min(clip.from_bottom_px + clip.height_px);
    if x1 <= x0 || y1 <= y0 {
        return Ok(());
    }
    let scissor = ScissorBox {
        x: x0,
        y: y0,
        width: (x1 - x0) as u32,
        height: (y1 - y0) as u32,
    };
    let screen = RenderTarget::screen(&ctx, info.screen_size_px[0], info.screen_size_px[1]);
    let bg = frame.background;
    screen.clear_partially(
        scissor,
        ClearState::color_and_depth(
            bg[0] as f32 / 255.0,
            bg[1] as f32 / 255.0,
            bg[2] as f32 / 255.0,
            1.0,
            1.0,
        ),
    );
    let (Some(gpu), Some(pose)) = (state.scene.as_mut(), frame.pose) else {
        return Ok(());
    };
    let mut camera = scene_builder::camera(&pose, w, h);
    camera.set_viewport(Viewport {
        x: vp.left_px,
        y: vp.from_bottom_px,
        width: w,
        height: h,
    });
    // The environment light takes a while on software GL: draw once without it first.
    state.frames += 1;
    if state.environment.is_none() && state.frames > 1 {
        state.environment = Some(scene_builder::environment_light(&ctx));
    }
    let rig = light_rig(&LightingParams::default());
    let plain;
    let ambient: &AmbientLight = match state.environment.as_mut() {
        Some(env) => {
            scene_builder::apply_ambient(env, &rig);
            env
        }
        None => {
            plain = scene_builder::plain_ambient(&ctx, &rig);
            &plain
        }
    };
    gpu.prepare(&ctx, &frame);
    let mut lights: Vec<&dyn Light> = gpu.directional.iter().map(|l| l as &dyn Light).collect();
    lights.push(ambient);
    gpu.draw(&ctx, &screen, scissor, &camera, &lights, &frame)?;
    if let Some((px, py)) = pick {
        let ids = gpu.id_buffer(&ctx, &camera, &frame)?;
        let part = ids
            .drawable_at(px, py)
            .and_then(|d| gpu.drawable_part.get(d).copied().flatten());
        shared.pick_result = Some(part);
    }
    Ok(())
}

fn tint(ctx: &Context, color: Srgba) -> ColorMaterial {
    let mut m = ColorMaterial::new_transparent(
        ctx,
        &CpuMaterial {
            albedo: color,
            ..Default::default()
        },
    );
    m.render_states = RenderStates {
        write_mask: WriteMask::COLOR,
        blend: Blend::TRANSPARENCY,
        depth_test: DepthTest::LessOrEqual,
        cull: three_d::Cull::None,
    };
    m
}

impl GpuScene {
    fn upload(ctx: &Context, up: Upload) -> Result<GpuScene, String> {
        let built = upload_scene(ctx, &up.scene, up.prepared);
        let index: HashMap<&str, usize> = up
            .manifest
            .parts
            .iter()
            .enumerate()
            .map(|(i, p)| (p.part_key.as_str(), i))
            .collect();
        let drawable_part = built
            .part_keys
            .iter()
            .map(|keys| keys.first().and_then(|k| index.get(k.as_str()).copied()))
            .collect();
        let rig = light_rig(&LightingParams::default());
        let directional =
            scene_builder::directional_lights(ctx, &rig, &built).map_err(|e| e.to_string())?;
        Ok(GpuScene {
            doc_id: up.doc_id,
            generation: 0,
            source: up.scene,
            manifest: up.manifest,
            built,
            drawable_part,
            directional,
            wireframes: None,
            false_materials: HashMap::new(),
        })
    }

    fn part_of(&self, drawable: usize) -> Option<usize> {
        self.drawable_part.get(drawable).copied().flatten()
    }

    fn is_missing(&self, drawable: usize, frame: &FrameParams) -> bool {
        self.part_of(drawable)
            .and_then(|p| frame.missing.get(p).copied())
            .unwrap_or(false)
    }

    /// Creates what this frame's toggles need (false-colour materials, wireframes).
    fn prepare(&mut self, ctx: &Context, frame: &FrameParams) {
        if frame.toggles.false_colour {
            for c in frame.false_colours.iter() {
                self.false_materials.entry(*c).or_insert_with(|| {
                    let mut m = PhysicalMaterial::new_opaque(
                        ctx,
                        &CpuMaterial {
                            albedo: Srgba::new(c[0], c[1], c[2], 255),
                            metallic: 0.0,
                            roughness: 0.7,
                            ..Default::default()
                        },
                    );
                    m.render_states.cull = three_d::Cull::None;
                    m
                });
            }
        }
        if frame.toggles.wireframe && self.wireframes.is_none() {
            self.wireframes = Some(self.build_wireframes(ctx));
        }
    }

    fn draw(
        &self,
        ctx: &Context,
        screen: &RenderTarget<'_>,
        scissor: ScissorBox,
        camera: &three_d::Camera,
        lights: &[&dyn Light],
        frame: &FrameParams,
    ) -> Result<(), String> {
        let toggles = frame.toggles;
        let shown = |i: usize| !toggles.missing_only || self.is_missing(i, frame);
        if toggles.false_colour {
            let grey = [150, 150, 150, 255];
            screen
                .write_partially::<RendererError>(scissor, || {
                    for (i, d) in self.built.drawables.iter().enumerate() {
                        if !shown(i) {
                            continue;
                        }
                        let colour = self
                            .part_of(i)
                            .and_then(|p| frame.false_colours.get(p))
                            .unwrap_or(&grey);
                        match self.false_materials.get(colour) {
                            Some(m) => {
                                three_d::render_with_material(ctx, camera, d.mesh(), m, lights)?
                            }
                            None => d.object().render(camera, lights),
                        }
                    }
                    Ok(())
                })
                .map_err(|e| e.to_string())?;
        } else {
            let objects: Vec<&dyn Object> = self
                .built
                .drawables
                .iter()
                .enumerate()
                .filter(|(i, _)| shown(*i))
                .map(|(_, d)| d.object())
                .collect();
            screen.render_partially(scissor, camera, objects, lights);
        }
        // Overlays: ghosts of hidden parts, wireframe, rule preview, selection.
        let mut overlays: Vec<(ColorMaterial, Vec<usize>)> = Vec::new();
        if toggles.missing_only {
            let ghosts = (0..self.built.drawables.len())
                .filter(|&i| !shown(i))
                .collect();
            overlays.push((tint(ctx, Srgba::new(160, 160, 170, 28)), ghosts));
        }
        let pick = |set: &BTreeSet<usize>| -> Vec<usize> {
            if set.is_empty() {
                return Vec::new();
            }
            (0..self.built.drawables.len())
                .filter(|&i| self.part_of(i).is_some_and(|p| set.contains(&p)))
                .collect()
        };
        overlays.push((
            tint(ctx, Srgba::new(0, 200, 255, 120)),
            pick(&frame.previewed),
        ));
        overlays.push((
            tint(ctx, Srgba::new(255, 170, 0, 140)),
            pick(&frame.selected),
        ));
        screen
            .write_partially::<RendererError>(scissor, || {
                if toggles.wireframe {
                    for w in self.wireframes.iter().flatten() {
                        w.render(camera, &[]);
                    }
                }
                for (material, drawables) in &overlays {
                    for &i in drawables {
                        if let Some(d) = self.built.drawables.get(i) {
                            three_d::render_with_material(ctx, camera, d.mesh(), material, &[])?;
                        }
                    }
                }
                Ok(())
            })
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Screen-space wireframes of every part (built the first time they are shown).
    fn build_wireframes(&self, ctx: &Context) -> Vec<Wireframe> {
        let mut out = Vec::new();
        for entry in &self.manifest.parts {
            let Some(part) = entry.part_instance(&self.source) else {
                continue;
            };
            let mut positions = Vec::new();
            for prim in self.source.world_primitives(&part) {
                positions.extend(
                    prim.indices
                        .iter()
                        .filter_map(|&i| prim.positions.get(i as usize))
                        .map(|p| three_d::Vec3::from(*p)),
                );
            }
            if !positions.is_empty() {
                out.push(Wireframe::new(
                    ctx,
                    &positions,
                    1.0,
                    Srgba::new(20, 20, 24, 200),
                ));
            }
        }
        out
    }

    fn id_buffer(
        &self,
        ctx: &Context,
        camera: &three_d::Camera,
        frame: &FrameParams,
    ) -> Result<IdBuffer, String> {
        let toggles = frame.toggles;
        render_id_buffer(ctx, &self.built, camera, &|i| {
            !toggles.missing_only || self.is_missing(i, frame)
        })
        .map_err(|e| e.to_string())
    }
}
