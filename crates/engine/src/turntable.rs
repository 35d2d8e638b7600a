//! `render.turntable`: frames of the product turning about its up axis (+Y). The product
//! turns, camera and lights stay: highlights and shadows move over the product as on a real
//! turntable.

use crate::lighting::LightingParams;
use crate::manifest::Manifest;
use crate::materials::MaterialResolution;
use crate::render::{rotation_about, ImageParams, RenderError, RenderedImage, Renderer};
use crate::scene::Scene;

#[derive(Debug, Clone, PartialEq)]
pub struct TurntableParams {
    pub image: ImageParams,
    pub frame_count: u32,
    /// Total rotation over all frames.
    pub degrees: f32,
    pub start_angle: f32,
    /// Counterclockwise seen from above (+Y) when true.
    pub counterclockwise: bool,
}

impl Default for TurntableParams {
    fn default() -> Self {
        TurntableParams {
            image: ImageParams::default(),
            frame_count: 36,
            degrees: 360.0,
            start_angle: 0.0,
            counterclockwise: true,
        }
    }
}

impl TurntableParams {
    /// Angle of frame `i` in degrees. A full turn does not repeat the first frame.
    pub fn angle(&self, i: u32) -> f32 {
        let n = self.frame_count.max(1) as f32;
        let step = if (self.degrees - 360.0).abs() < 1e-3 || self.frame_count < 2 {
            self.degrees / n
        } else {
            self.degrees / (n - 1.0)
        };
        let sign = if self.counterclockwise { 1.0 } else { -1.0 };
        self.start_angle + sign * step * i as f32
    }
}

/// Renders all frames (scene uploaded once, camera fixed on the unrotated bounds) and keeps
/// them: for tests and benchmarks. The `render.turntable` module streams them instead
/// ([`render_turntable_each`]).
pub fn render_turntable(
    renderer: &mut Renderer,
    scene: &Scene,
    manifest: &Manifest,
    resolution: &MaterialResolution,
    lighting: &LightingParams,
    params: &TurntableParams,
) -> Result<Vec<RenderedImage>, RenderError> {
    let mut frames = Vec::with_capacity(params.frame_count.min(720) as usize);
    render_turntable_each(
        renderer,
        scene,
        manifest,
        resolution,
        lighting,
        params,
        &mut |_, frame| {
            frames.push(frame);
            Ok(())
        },
    )?;
    Ok(frames)
}

/// Renders the frames one at a time and hands each to `on_frame` (frame index, image) as soon
/// as it is rendered; nothing is kept here. An error from `on_frame` (a cancelled node, an
/// encoder that gave up) stops the turntable before the next frame, so the render thread is
/// free again within one frame.
pub fn render_turntable_each(
    renderer: &mut Renderer,
    scene: &Scene,
    manifest: &Manifest,
    resolution: &MaterialResolution,
    lighting: &LightingParams,
    params: &TurntableParams,
    on_frame: &mut dyn FnMut(u32, RenderedImage) -> Result<(), RenderError>,
) -> Result<(), RenderError> {
    if !(1..=720).contains(&params.frame_count) {
        return Err(RenderError::InvalidParam(format!(
            "frame_count {} is outside 1..720",
            params.frame_count
        )));
    }
    let mut built = renderer.prepare(scene, manifest, resolution)?;
    // Frame the box the product sweeps while turning, so it stays inside at every angle.
    let pose = crate::camera::frame_camera(
        &built.bounds.turntable_envelope(),
        &params.image.camera.clone().unwrap_or_default(),
        params.image.width as f32 / params.image.height.max(1) as f32,
    );
    let center = built.bounds.center();
    for i in 0..params.frame_count {
        built.set_transformation(rotation_about(center, params.angle(i)));
        let frame = renderer.render_built(&built, lighting, &params.image, &pose)?;
        on_frame(i, frame)?;
    }
    Ok(())
}
