//! `render.still` / `render.turntable` with `engine = cycles`: the same scene, camera, lights
//! and resolved materials as the built-in renderer, path-traced by Blender's Cycles through the
//! Blender bridge. The scene goes over as the scene GLB (`export.scene`'s writer, with the
//! camera framed exactly as the built-in renderer frames it); Cycles renders with a
//! transparent film and the background colour is composited here, as the built-in renderer
//! clears to it.

use crate::blender::{BlenderError, BlenderLimits, CyclesParams};
use crate::export_glb::{export_scene, ExportParams, SceneAdditions};
use crate::lighting::light_rig;
use crate::pipeline::SceneValue;
use crate::render::{ImageParams, RenderedImage};
use crate::turntable::TurntableParams;
use tokio_util::sync::CancellationToken;

/// Largest Cycles frame side (CPU path tracing; the built-in renderer's own cap is larger).
pub const MAX_SIDE: u32 = 8192;

#[derive(Debug, thiserror::Error)]
pub enum CyclesError {
    #[error(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),
    #[error(transparent)]
    Export(#[from] crate::export_glb::ExportError),
    #[error(transparent)]
    Blender(#[from] BlenderError),
    #[error("invalid parameter: {0}")]
    InvalidParam(String),
    #[error("Cycles wrote an unreadable image: {0}")]
    Decode(String),
    /// The caller stopped taking frames (cancelled, or a frame could not be stored).
    #[error("stopped: {0}")]
    Stopped(String),
}

impl CyclesError {
    pub fn code(&self) -> &'static str {
        match self {
            CyclesError::Manifest(e) => e.code(),
            CyclesError::Export(e) => e.code(),
            CyclesError::Blender(e) => e.code(),
            CyclesError::InvalidParam(_) => "invalid_param",
            CyclesError::Decode(_) => "render_failed",
            CyclesError::Stopped(_) => "cancelled",
        }
    }
}

/// What a Cycles run is given.
struct Prepared {
    /// The scene GLB, camera framed as the built-in renderer frames it.
    glb: Vec<u8>,
    parts: Vec<crate::blender::BridgePart>,
    params: CyclesParams,
    /// The bounds' centre (the turntable's pivot), Y-up.
    center: [f32; 3],
}

/// The scene GLB for a Cycles render framed at this image's aspect, plus the bridge's parts
/// and Cycles parameters.
fn prepare(
    value: &SceneValue,
    image: &ImageParams,
    samples: u32,
    turntable: bool,
) -> Result<Prepared, CyclesError> {
    for (what, v) in [("width", image.width), ("height", image.height)] {
        if !(1..=MAX_SIDE).contains(&v) {
            return Err(CyclesError::InvalidParam(format!(
                "{what} {v} is outside 1..{MAX_SIDE} for engine cycles"
            )));
        }
    }
    if crate::materials::parse_hex_color(&image.background).is_none() {
        return Err(CyclesError::InvalidParam(format!(
            "background `{}` is not #rrggbb",
            image.background
        )));
    }
    let manifest = value.manifest()?;
    let resolution = value.resolution(&manifest);
    let image = value.image_params(image);
    let bounds = manifest.bounds.unwrap_or(crate::scene::Aabb::EMPTY);
    // The built-in renderer frames the box a turntable sweeps, and the part bounds otherwise.
    let framed = if turntable {
        bounds.turntable_envelope()
    } else {
        bounds
    };
    let pose = crate::camera::frame_camera(
        &framed,
        &image.camera.clone().unwrap_or_default(),
        image.width as f32 / image.height.max(1) as f32,
    );
    let rig = light_rig(&value.lighting());
    let additions = SceneAdditions {
        resolution: Some(&resolution),
        camera: Some(pose),
        lights: Some(&rig),
        external_textures: false,
    };
    let files = export_scene(
        &value.scene,
        &manifest,
        &ExportParams::default(),
        &additions,
        "glb",
        "scene",
    )?;
    let glb = files
        .into_iter()
        .next()
        .map(|f| f.bytes)
        .unwrap_or_default();
    let parts = crate::blender::bridge_parts(&manifest, Some(&resolution));
    let params = CyclesParams {
        width: image.width,
        height: image.height,
        samples,
        ambient: rig.ambient_color,
        ambient_strength: rig.ambient_intensity,
    };
    let c = bounds.center();
    Ok(Prepared {
        glb,
        parts,
        params,
        center: [c.x, c.y, c.z],
    })
}

/// The sRGB bytes of `#rrggbb[aa]`.
fn srgb_bytes(hex: &str) -> [u8; 4] {
    let h = hex.trim().trim_start_matches('#');
    let byte = |i: usize| h.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok());
    [
        byte(0).unwrap_or(255),
        byte(2).unwrap_or(255),
        byte(4).unwrap_or(255),
        byte(6).unwrap_or(255),
    ]
}

/// Decodes Cycles' RGBA PNG and composites it over the background (unless transparent).
fn finish(png: &[u8], image: &ImageParams) -> Result<RenderedImage, CyclesError> {
    let decoded = image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .map_err(|e| CyclesError::Decode(e.to_string()))?
        .to_rgba8();
    let (width, height) = decoded.dimensions();
    let mut rgba = decoded.into_raw();
    if !image.transparent_background {
        let bg = srgb_bytes(&image.background);
        for px in rgba.chunks_exact_mut(4) {
            let a = px[3] as f32 / 255.0;
            for i in 0..3 {
                px[i] = (px[i] as f32 * a + bg[i] as f32 * (1.0 - a)).round() as u8;
            }
            px[3] = bg[3].max(px[3]);
        }
    }
    Ok(RenderedImage {
        width,
        height,
        rgba,
    })
}

/// A Cycles still of `value` as the built-in renderer would frame it; Blender's stderr lines go
/// to `log`. `cancel` stops Blender mid-render.
pub fn render_still_cycles(
    value: &SceneValue,
    image: &ImageParams,
    samples: u32,
    log: &mut Vec<String>,
    cancel: Option<&CancellationToken>,
) -> Result<RenderedImage, CyclesError> {
    let p = prepare(value, image, samples, false)?;
    let limits = BlenderLimits {
        cancel: cancel.cloned(),
        ..BlenderLimits::default()
    };
    let out = crate::blender::render_cycles(&p.glb, &p.parts, &p.params, &limits)?;
    log.extend(crate::blender::log_lines(&out.stderr));
    finish(&out.bytes, image)
}

/// A Cycles turntable: every frame rendered by one Blender run, handed to `on_frame` in order.
/// `cancel` stops Blender mid-render.
pub fn render_turntable_cycles(
    value: &SceneValue,
    params: &TurntableParams,
    samples: u32,
    log: &mut Vec<String>,
    cancel: Option<&CancellationToken>,
    on_frame: &mut dyn FnMut(u32, RenderedImage) -> Result<(), CyclesError>,
) -> Result<(), CyclesError> {
    if !(1..=720).contains(&params.frame_count) {
        return Err(CyclesError::InvalidParam(format!(
            "frame_count {} is outside 1..720",
            params.frame_count
        )));
    }
    let p = prepare(value, &params.image, samples, true)?;
    let angles: Vec<f32> = (0..params.frame_count).map(|i| params.angle(i)).collect();
    // A path-traced turntable is frames × a still: the time cap grows with the frames.
    let limits = BlenderLimits {
        time_limit: BlenderLimits::default().time_limit * params.frame_count.clamp(1, 20),
        cancel: cancel.cloned(),
        ..BlenderLimits::default()
    };
    let (frames, stderr) = crate::blender::render_cycles_turntable(
        &p.glb, &p.parts, &p.params, p.center, &angles, &limits,
    )?;
    log.extend(crate::blender::log_lines(&stderr));
    for (i, png) in frames.iter().enumerate() {
        on_frame(i as u32, finish(png, &params.image)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn background_bytes_are_srgb_as_written() {
        assert_eq!(srgb_bytes("#ff8000"), [255, 128, 0, 255]);
        assert_eq!(srgb_bytes("#10203040"), [16, 32, 48, 64]);
    }
}
