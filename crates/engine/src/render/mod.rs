//! Headless renderer (`render.thumbnail`, `render.still`) on three-d 0.19 + surfaceless EGL.
//!
//! A [`Renderer`] keeps its GL context, three-d's compiled-program cache and the
//! environment-light precompute (the slow part of a start) warm between renders. It is bound to
//! one thread at a time; [`RenderService`] owns one on a dedicated thread for callers on any
//! thread (server workers, tests).

pub mod context;
pub mod draw_material;
pub mod environment;
pub mod id_pass;
pub mod image;
pub mod scene_builder;
mod warm_up;

use std::sync::mpsc;
use std::sync::Mutex;

use three_d::{
    AmbientLight, ClearState, DepthMaterial, DepthTexture2D, Geometry, Interpolation, Light, Mat4,
    Material, MaterialType, Object, RenderStates, RenderTarget, RenderTargetMultisample, Texture2D,
    Wrapping, WriteMask,
};

pub use self::image::{
    encode_gif, encode_png_frames, encode_turntable, RenderedImage, TurntableEncoder,
};
use crate::camera::{frame_camera, CameraParams, CameraPose};
use crate::lighting::{light_rig, LightingParams};
use crate::manifest::Manifest;
use crate::materials::{parse_hex_color, MaterialResolution};
use crate::scene::Scene;
use context::HeadlessContext;
use draw_material::{AfterDepthPrepass, Downsample2x2};
pub use id_pass::{render_id_buffer, IdBuffer};
pub use scene_builder::{build_scene, prepare_scene, upload_scene, BuiltScene, Grouping};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot create the headless OpenGL context: {0} (needs libegl1, libegl-mesa0, libgl1-mesa-dri)")]
    Context(String),
    #[error("invalid render parameter: {0}")]
    InvalidParam(String),
    #[error("rendering failed: {0}")]
    Render(String),
    #[error("image encoding failed: {0}")]
    Encode(String),
    #[error("render thread is gone")]
    ServiceGone,
    /// The node was cancelled or timed out; the turntable stopped between frames.
    #[error("the render was cancelled")]
    Cancelled,
}

impl RenderError {
    pub fn code(&self) -> &'static str {
        match self {
            RenderError::Context(_) => "render_context",
            RenderError::InvalidParam(_) => "invalid_param",
            RenderError::Render(_) => "render_failed",
            RenderError::Encode(_) => "encode_failed",
            RenderError::ServiceGone => "render_service_gone",
            // The runtime's own code, so the node is recorded cancelled, not failed.
            RenderError::Cancelled => "cancelled",
        }
    }
}

/// `render.image` parameters (thumbnail and still).
#[derive(Debug, Clone, PartialEq)]
pub struct ImageParams {
    pub width: u32,
    pub height: u32,
    /// Multisampling samples per pixel (rounded down to a power of two the GPU supports).
    pub samples: u32,
    /// sRGB `#rrggbb` / `#rrggbbaa`.
    pub background: String,
    pub transparent_background: bool,
    /// The render node's own camera (`render.thumbnail`); `None` uses the scene's camera
    /// (`scene.camera`, see [`crate::pipeline::SceneValue`]) or the default framing.
    pub camera: Option<CameraParams>,
    pub antialiasing: AntiAliasing,
    /// Encoding of the delivered file (`render.still` `file_format`).
    pub format: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    #[default]
    Png,
    /// No alpha: transparent backgrounds come out as the background colour.
    Jpeg,
}

/// How edges are smoothed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AntiAliasing {
    /// Multisampling with `samples` per pixel (the catalog's meaning of `samples`).
    #[default]
    Msaa,
    /// One sample + FXAA post-process: much faster on llvmpipe, which shades every sample
    /// (`samples` is ignored). For previews where speed matters more than crisp edges.
    Fxaa,
}

impl Default for ImageParams {
    fn default() -> Self {
        ImageParams {
            width: 512,
            height: 512,
            samples: 4,
            background: "#ffffff".into(),
            transparent_background: false,
            camera: None,
            antialiasing: AntiAliasing::Msaa,
            format: OutputFormat::Png,
        }
    }
}

/// How a multisampled (`AntiAliasing::Msaa`, `samples` ≥ 2) image is produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MsaaStrategy {
    /// [`MsaaStrategy::Supersample`] on a software renderer (llvmpipe, softpipe) where the
    /// scene's triangle edges, as drawn, are at least as many pixels as the image has, else
    /// [`MsaaStrategy::Multisample`]. llvmpipe shades in 4×4 blocks; its multisampling costs
    /// little where triangles cover whole blocks, but shades sample by sample along every
    /// edge, while supersampling costs about the same per pixel whatever the scene. So the
    /// edge length decides, not the triangle count: tessellated CAD (long thin triangles) is
    /// faster supersampled with fewer triangles than a glTF model of small ones
    /// (`examples/msaa_choice.rs`, docs/performance.md).
    #[default]
    Auto,
    /// The GL multisample render target, resolved.
    Multisample,
    /// One sample per pixel at twice the width and height, averaged 2×2: four samples per
    /// pixel like MSAA×4, each shaded. On llvmpipe this costs about half of its MSAA×4
    /// (which shades every sample anyway, through a slower rasteriser path); SSIM against
    /// the MSAA×4 image ≥ 0.99 (tests/engine/render.rs, bench output).
    Supersample,
}

/// How one frame is sampled (decided per render from the parameters and the renderer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sampling {
    Single,
    Multisample(u32),
    /// 2×2 supersampling, averaged into the output size.
    Supersample2,
}

impl Sampling {
    fn choose(
        samples: u32,
        strategy: MsaaStrategy,
        software: bool,
        relative_edge_length: f64,
        (w, h): (u32, u32),
        max_size: u32,
    ) -> Self {
        if samples < 2 {
            return Sampling::Single;
        }
        let supersample = match strategy {
            // A framed image spans the bounds' diagonal across about its longer side.
            MsaaStrategy::Auto => {
                software
                    && relative_edge_length * f64::from(w.max(h)) >= f64::from(w) * f64::from(h)
            }
            MsaaStrategy::Multisample => false,
            MsaaStrategy::Supersample => true,
        };
        // Twice the size must fit the GL limit; larger images keep multisampling.
        if supersample && w.saturating_mul(2) <= max_size && h.saturating_mul(2) <= max_size {
            Sampling::Supersample2
        } else {
            Sampling::Multisample(samples)
        }
    }
}

/// A warm headless renderer.
pub struct Renderer {
    ctx: HeadlessContext,
    /// Render targets of the last size used (turntables and repeated stills reuse them).
    targets: Option<Targets>,
    environment: Option<AmbientLight>,
    max_samples: u32,
    max_size: u32,
    /// llvmpipe or another CPU rasteriser (see [`MsaaStrategy::Auto`]).
    software: bool,
    msaa_strategy: MsaaStrategy,
}

struct Targets {
    key: (u32, u32, Sampling),
    /// The output size: the single-sample frame, or what the multisample target is
    /// resolved into / the supersampled frame is averaged into.
    color: Texture2D,
    depth: DepthTexture2D,
    multisample: Option<RenderTargetMultisample<[u8; 4], f32>>,
    /// Twice the output size ([`Sampling::Supersample2`]).
    supersample: Option<(Texture2D, DepthTexture2D)>,
    /// FXAA output.
    post: Option<Texture2D>,
}

/// An RGBA8 texture to render into (nearest filtering, clamped).
pub(crate) fn new_color_texture(ctx: &three_d::Context, w: u32, h: u32) -> Texture2D {
    Texture2D::new_empty::<[u8; 4]>(
        ctx,
        w,
        h,
        Interpolation::Nearest,
        Interpolation::Nearest,
        None,
        Wrapping::ClampToEdge,
        Wrapping::ClampToEdge,
    )
}

fn new_depth_texture(ctx: &three_d::Context, w: u32, h: u32) -> DepthTexture2D {
    DepthTexture2D::new::<f32>(ctx, w, h, Wrapping::ClampToEdge, Wrapping::ClampToEdge)
}

/// Renders the scene into the supersampled target with a depth pre-pass: the opaque drawables'
/// depth first (a trivial shader), then their colour where the depth matches, then the
/// transparent ones as three-d orders them (after the opaque, back to front). The lit shader
/// is what costs on llvmpipe, and the 2CylinderEngine's material batches overlap several
/// times over; the image is the same as without the pre-pass (the vertex shader is the same
/// program text for both passes, so the depths are bit-identical).
fn render_with_depth_prepass(
    target: &RenderTarget<'_>,
    camera: &three_d::Camera,
    built: &BuiltScene,
    lights: &[&dyn Light],
) {
    let frustum = three_d::Frustum::new(camera.projection() * camera.view());
    let mut visible: Vec<&scene_builder::Drawable> = built
        .drawables
        .iter()
        .filter(|d| frustum.contains(d.mesh().aabb()))
        .collect();
    visible.sort_by(|a, b| three_d::cmp_render_order(camera, a.object(), b.object()));
    let opaque =
        |d: &scene_builder::Drawable| d.gm.material.material_type() == MaterialType::Opaque;
    let _ = target.write::<RenderError>(|| {
        for d in visible.iter().filter(|d| opaque(d)) {
            let depth_only = DepthMaterial {
                render_states: RenderStates {
                    write_mask: WriteMask::DEPTH,
                    cull: d.gm.material.render_states().cull,
                    ..Default::default()
                },
                ..Default::default()
            };
            d.mesh().render_with_material(&depth_only, camera, &[]);
        }
        for d in &visible {
            if opaque(d) {
                d.mesh()
                    .render_with_material(&AfterDepthPrepass(&d.gm.material), camera, lights);
            } else {
                d.gm.render(camera, lights);
            }
        }
        Ok(())
    });
}

impl Renderer {
    /// Creates the context and uploads the environment light (do it once: the context is
    /// the slow part).
    pub fn new() -> Result<Self, RenderError> {
        let ctx = HeadlessContext::new()?;
        let (max_samples, max_size) = ctx.limits();
        let name = ctx.renderer_name().to_ascii_lowercase();
        let software = ["llvmpipe", "softpipe", "swrast"]
            .iter()
            .any(|s| name.contains(s));
        let environment = Some(scene_builder::environment_light(ctx.gl()));
        Ok(Renderer {
            ctx,
            targets: None,
            environment,
            max_samples,
            max_size,
            software,
            msaa_strategy: MsaaStrategy::Auto,
        })
    }

    /// Chooses how multisampled images are made (quality comparisons; the default,
    /// [`MsaaStrategy::Auto`], is the fast one for the renderer).
    pub fn set_msaa_strategy(&mut self, strategy: MsaaStrategy) {
        self.msaa_strategy = strategy;
    }

    /// The three-d context (for [`build_scene`]).
    pub fn context(&self) -> &three_d::Context {
        self.ctx.gl()
    }

    /// The GL renderer's name (e.g. llvmpipe).
    pub fn gpu_name(&self) -> String {
        self.ctx.renderer_name()
    }

    /// Uploads a scene for one or more renders.
    pub fn prepare(
        &self,
        scene: &Scene,
        manifest: &Manifest,
        resolution: &MaterialResolution,
    ) -> Result<BuiltScene, RenderError> {
        self.ctx.make_current()?;
        Ok(build_scene(
            self.ctx.gl(),
            scene,
            manifest,
            resolution,
            Grouping::ByMaterial,
        ))
    }

    /// Camera pose that `render_built` uses for these parameters.
    pub fn camera_pose(built: &BuiltScene, params: &ImageParams) -> CameraPose {
        frame_camera(
            &built.bounds,
            &params.camera.clone().unwrap_or_default(),
            params.width as f32 / params.height.max(1) as f32,
        )
    }

    fn check(&self, params: &ImageParams) -> Result<(u32, [f32; 4]), RenderError> {
        for (what, v) in [("width", params.width), ("height", params.height)] {
            if v < 1 || v > self.max_size.min(16384) {
                return Err(RenderError::InvalidParam(format!(
                    "{what} {v} is outside 1..{}",
                    self.max_size.min(16384)
                )));
            }
        }
        let mut bg = parse_hex_color(&params.background).ok_or_else(|| {
            RenderError::InvalidParam(format!("background `{}` is not #rrggbb", params.background))
        })?;
        // Clear colours are written as-is into the sRGB-encoded target: use sRGB values.
        let srgb = scene_builder::linear_to_srgba(bg);
        bg = [
            srgb.r as f32 / 255.0,
            srgb.g as f32 / 255.0,
            srgb.b as f32 / 255.0,
            bg[3],
        ];
        if params.transparent_background {
            bg[3] = 0.0;
        }
        let wanted = params.samples.clamp(1, 16).min(self.max_samples);
        let samples = 1u32 << (31 - wanted.leading_zeros());
        Ok((samples, bg))
    }

    /// How a still of `built` with `params` is sampled (`samples`: what [`Self::check`] allows).
    fn sampling(&self, built: &BuiltScene, params: &ImageParams, samples: u32) -> Sampling {
        if params.antialiasing == AntiAliasing::Fxaa {
            return Sampling::Single;
        }
        Sampling::choose(
            samples,
            self.msaa_strategy,
            self.software,
            built.relative_edge_length(),
            (params.width, params.height),
            self.max_size.min(16384),
        )
    }

    /// Whether a still of `built` with `params` would be supersampled (benchmarks).
    pub fn supersamples(&self, built: &BuiltScene, params: &ImageParams) -> bool {
        self.check(params).is_ok_and(|(samples, _)| {
            self.sampling(built, params, samples) == Sampling::Supersample2
        })
    }

    /// Renders an already built scene with an explicit camera pose.
    pub fn render_built(
        &mut self,
        built: &BuiltScene,
        lighting: &LightingParams,
        params: &ImageParams,
        pose: &CameraPose,
    ) -> Result<RenderedImage, RenderError> {
        self.ctx.make_current()?;
        let (samples, bg) = self.check(params)?;
        let fxaa = params.antialiasing == AntiAliasing::Fxaa;
        let (w, h) = (params.width, params.height);
        let sampling = self.sampling(built, params, samples);
        let ctx = self.ctx.gl().clone();
        let camera = scene_builder::camera(pose, w, h);
        let rig = light_rig(lighting);
        let directional = scene_builder::directional_lights(&ctx, &rig, built)?;
        let plain_ambient;
        let ambient: &AmbientLight = match (&mut self.environment, rig.environment) {
            (Some(env), true) => {
                scene_builder::apply_ambient(env, &rig);
                env
            }
            _ => {
                plain_ambient = scene_builder::plain_ambient(&ctx, &rig);
                &plain_ambient
            }
        };
        let mut lights: Vec<&dyn Light> = directional.iter().map(|l| l as &dyn Light).collect();
        lights.push(ambient);
        let clear = ClearState::color_and_depth(bg[0], bg[1], bg[2], bg[3], 1.0);
        if self.targets.as_ref().map(|t| t.key) != Some((w, h, sampling)) {
            self.targets = Some(Targets {
                key: (w, h, sampling),
                color: new_color_texture(&ctx, w, h),
                post: None,
                depth: new_depth_texture(&ctx, w, h),
                multisample: match sampling {
                    Sampling::Multisample(n) => {
                        Some(RenderTargetMultisample::<[u8; 4], f32>::new(&ctx, w, h, n))
                    }
                    _ => None,
                },
                supersample: (sampling == Sampling::Supersample2).then(|| {
                    (
                        new_color_texture(&ctx, 2 * w, 2 * h),
                        new_depth_texture(&ctx, 2 * w, 2 * h),
                    )
                }),
            });
        }
        let Some(targets) = self.targets.as_mut() else {
            return Err(RenderError::Render("render targets missing".into()));
        };
        if fxaa && targets.post.is_none() {
            targets.post = Some(new_color_texture(&ctx, w, h));
        }
        let target = RenderTarget::new(
            targets.color.as_color_target(None),
            targets.depth.as_depth_target(),
        );
        match (&targets.multisample, &targets.supersample) {
            (Some(ms), _) => {
                ms.clear(clear).render(&camera, built.objects(), &lights);
                // Colour only: nothing reads the resolved depth.
                ms.resolve_color_to(&targets.color.as_color_target(None));
            }
            (None, Some((big_color, big_depth))) => {
                let big =
                    RenderTarget::new(big_color.as_color_target(None), big_depth.as_depth_target());
                let big_camera = scene_builder::camera(pose, 2 * w, 2 * h);
                big.clear(clear);
                render_with_depth_prepass(&big, &big_camera, built, &lights);
                targets.color.as_color_target(None).apply_screen_effect(
                    &Downsample2x2,
                    &camera,
                    &[],
                    Some(three_d::ColorTexture::Single(big_color)),
                    None,
                );
            }
            (None, None) => {
                // No pre-pass at one sample: measured no faster (FXAA turntable), the
                // pre-pass pays off at the supersampled size.
                target
                    .clear(clear)
                    .render(&camera, built.objects(), &lights);
            }
        }
        let pixels: Vec<[u8; 4]> = match (&targets.post, fxaa) {
            (Some(post), true) => post
                .as_color_target(None)
                .clear(clear)
                .apply_screen_effect(
                    &three_d::FxaaEffect {},
                    &camera,
                    &[],
                    Some(three_d::ColorTexture::Single(&targets.color)),
                    None,
                )
                .read(),
            _ => targets.color.as_color_target(None).read(),
        };
        Ok(RenderedImage {
            width: w,
            height: h,
            rgba: pixels.into_iter().flatten().collect(),
        })
    }

    /// `render.thumbnail` / `render.still`: builds, frames and renders one image.
    pub fn render_still(
        &mut self,
        scene: &Scene,
        manifest: &Manifest,
        resolution: &MaterialResolution,
        lighting: &LightingParams,
        params: &ImageParams,
    ) -> Result<RenderedImage, RenderError> {
        let built = self.prepare(scene, manifest, resolution)?;
        let pose = Self::camera_pose(&built, params);
        self.render_built(&built, lighting, params, &pose)
    }
}

/// Rotation of `angle_deg` about the +Y axis through `center`.
pub fn rotation_about(center: three_d::Vec3, angle_deg: f32) -> Mat4 {
    Mat4::from_translation(center)
        * Mat4::from_angle_y(three_d::degrees(angle_deg))
        * Mat4::from_translation(-center)
}

type Job = Box<dyn FnOnce(&mut Renderer) + Send>;

/// A [`Renderer`] on its own thread; callable from any thread (`Send + Sync`). Dropping it
/// stops the thread and waits for it, so the GL context is torn down before the process
/// exits (Mesa's exit-time clean-up racing a live context crashed command-line runs now and
/// then, after their work was done).
pub struct RenderService {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for RenderService {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop once the job in hand is done.
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl RenderService {
    /// Starts the render thread and waits until its renderer is ready.
    pub fn start() -> Result<Self, RenderError> {
        let (tx, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), RenderError>>();
        let thread = std::thread::Builder::new()
            .name("workflow-render".into())
            .spawn(move || {
                let mut renderer = match Renderer::new() {
                    Ok(mut r) => {
                        // Compiles the shaders of a typical still before anyone waits for one.
                        let _ =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| r.warm_up()));
                        let _ = ready_tx.send(Ok(()));
                        r
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while let Ok(job) = rx.recv() {
                    // A panicking job (a three-d assertion, say) fails that job only; the
                    // caller sees `render_failed` and the service keeps running.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        job(&mut renderer)
                    }));
                }
            })
            .map_err(|e| RenderError::Context(format!("cannot spawn render thread: {e}")))?;
        ready_rx.recv().map_err(|_| RenderError::ServiceGone)??;
        Ok(RenderService {
            jobs: Mutex::new(Some(tx)),
            thread: Some(thread),
        })
    }

    /// Runs `f` on the render thread and waits for its result.
    pub fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Renderer) -> R + Send + 'static,
    ) -> Result<R, RenderError> {
        let (tx, rx) = mpsc::channel();
        let job: Job = Box::new(move |r| {
            let _ = tx.send(f(r));
        });
        self.jobs
            .lock()
            .map_err(|_| RenderError::ServiceGone)?
            .as_ref()
            .ok_or(RenderError::ServiceGone)?
            .send(job)
            .map_err(|_| RenderError::ServiceGone)?;
        rx.recv()
            .map_err(|_| RenderError::Render("the render job panicked".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::{MsaaStrategy, Sampling};

    #[test]
    fn supersampling_is_chosen_for_edge_dense_scenes_on_software_renderers_only() {
        let auto = |samples, software, edge_length, size| {
            Sampling::choose(
                samples,
                MsaaStrategy::Auto,
                software,
                edge_length,
                size,
                16384,
            )
        };
        // Edge lengths (in bounds diagonals) of the fixtures measured by
        // examples/msaa_choice.rs, and the faster way there.
        // 2CylinderEngine: 121 k triangles, supersampled at both sizes.
        assert_eq!(auto(4, true, 4008.0, (1024, 1024)), Sampling::Supersample2);
        assert_eq!(auto(4, true, 4008.0, (512, 512)), Sampling::Supersample2);
        // as1-oc-214 (STEP, 5 k long thin triangles): supersampled for a 512² thumbnail…
        assert_eq!(auto(4, true, 807.0, (512, 512)), Sampling::Supersample2);
        // …while CesiumMilkTruck (3.6 k small triangles) stays multisampled.
        assert_eq!(auto(4, true, 433.0, (512, 512)), Sampling::Multisample(4));
        assert_eq!(auto(4, true, 433.0, (1024, 1024)), Sampling::Multisample(4));
        assert_eq!(auto(4, true, 24.0, (64, 64)), Sampling::Multisample(4));
        // A wide image: the edges span its longer side.
        assert_eq!(auto(4, true, 600.0, (1024, 512)), Sampling::Supersample2);
        assert_eq!(auto(4, true, 400.0, (1024, 512)), Sampling::Multisample(4));
        // A GPU multisamples whatever the scene.
        assert_eq!(auto(4, false, 4008.0, (512, 512)), Sampling::Multisample(4));
        // One sample stays one sample.
        assert_eq!(auto(1, true, 4008.0, (512, 512)), Sampling::Single);
        // Twice the size must fit the GL limit.
        let forced =
            |size, max| Sampling::choose(4, MsaaStrategy::Supersample, true, 0.0, size, max);
        assert_eq!(forced((8192, 100), 16384), Sampling::Supersample2);
        assert_eq!(forced((8193, 100), 16384), Sampling::Multisample(4));
        assert_eq!(
            Sampling::choose(
                4,
                MsaaStrategy::Multisample,
                true,
                4008.0,
                (512, 512),
                16384
            ),
            Sampling::Multisample(4)
        );
    }
}
