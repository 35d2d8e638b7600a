//! `engine = cycles`: the same scene, camera, lights and materials path-traced by Blender's
//! Cycles through the bridge. Needs Blender (these fail without it). How close the two
//! renderers are per fixture is measured by `examples/cycles_vs_builtin.rs`
//! (docs/performance.md); here only that Cycles frames what the built-in renderer frames.

use crate::common;

use std::sync::OnceLock;

use workflow_engine::compare::images::compare_images;
use workflow_engine::compare::thresholds::ImageThresholds;
use workflow_engine::cycles::{render_still_cycles, render_turntable_cycles};
use workflow_engine::pipeline::{render_image, SceneValue};
use workflow_engine::render::{ImageParams, RenderService, RenderedImage};
use workflow_engine::turntable::TurntableParams;

fn service() -> &'static RenderService {
    static SERVICE: OnceLock<RenderService> = OnceLock::new();
    SERVICE.get_or_init(|| RenderService::start().expect("headless renderer starts"))
}

fn rgba(r: &RenderedImage) -> image::RgbaImage {
    image::RgbaImage::from_raw(r.width, r.height, r.rgba.clone()).expect("size")
}

/// Share of pixels that are not the background (white).
fn coverage(r: &RenderedImage) -> f64 {
    let covered = r
        .rgba
        .chunks_exact(4)
        .filter(|p| p[0] < 245 || p[1] < 245 || p[2] < 245)
        .count();
    covered as f64 / (r.width * r.height) as f64
}

#[test]
fn a_cycles_still_frames_the_product_as_the_builtin_renderer_does() {
    let value = SceneValue::new(common::load("Box.glb"));
    let image = ImageParams {
        width: 64,
        height: 48,
        ..ImageParams::default()
    };
    let mut log = Vec::new();
    let cycles = render_still_cycles(&value, &image, 8, &mut log, None).expect("Cycles renders");
    assert_eq!((cycles.width, cycles.height), (64, 48));
    // The background is composited: opaque, white corners.
    assert_eq!(cycles.pixel(0, 0), [255, 255, 255, 255]);
    let builtin = {
        let value = value.clone();
        let image = image.clone();
        service()
            .run(move |r| render_image(r, &value, &image))
            .expect("service")
            .expect("renders")
    };
    // Same camera: the box covers about as much of the frame in both.
    let (c, b) = (coverage(&cycles), coverage(&builtin));
    assert!(
        c > 0.05 && (c - b).abs() < 0.1,
        "coverage cycles {c:.3}, builtin {b:.3}"
    );
    let outcome = compare_images(&rgba(&builtin), &rgba(&cycles), &ImageThresholds::default())
        .expect("compares");
    let metrics = outcome.comparison.metrics.expect("same size");
    assert!(metrics.ssim > 0.5, "SSIM {}", metrics.ssim);
}

#[test]
fn a_cycles_turntable_renders_every_frame_turning() {
    let value = SceneValue::new(common::load("2CylinderEngine.glb"));
    let params = TurntableParams {
        image: ImageParams {
            width: 48,
            height: 48,
            ..ImageParams::default()
        },
        frame_count: 2,
        degrees: 180.0,
        ..TurntableParams::default()
    };
    let mut frames = Vec::new();
    render_turntable_cycles(&value, &params, 4, &mut Vec::new(), None, &mut |i, f| {
        frames.push((i, f));
        Ok(())
    })
    .expect("Cycles renders");
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].0, 0);
    assert!(frames.iter().all(|(_, f)| coverage(f) > 0.02));
    assert_ne!(frames[0].1.rgba, frames[1].1.rgba, "the product turned");
}

/// A cancel stops Blender mid-render: the render returns `cancelled` at once instead of
/// path-tracing to the end (minutes at these settings) or to its time limit.
#[test]
fn a_cancelled_cycles_render_stops_blender_at_once() {
    use std::time::{Duration, Instant};
    use tokio_util::sync::CancellationToken;
    let value = SceneValue::new(common::load("2CylinderEngine.glb"));
    let image = ImageParams {
        width: 1024,
        height: 1024,
        ..ImageParams::default()
    };
    let cancel = CancellationToken::new();
    let canceller = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            // Blender is started and path-tracing by then.
            std::thread::sleep(Duration::from_secs(3));
            cancel.cancel();
            Instant::now()
        })
    };
    let started = Instant::now();
    let err = render_still_cycles(&value, &image, 4096, &mut Vec::new(), Some(&cancel))
        .expect_err("cancelled");
    let returned = Instant::now();
    let cancelled_at = canceller.join().expect("canceller");
    assert_eq!(err.code(), "cancelled", "{err}");
    assert!(
        returned.duration_since(cancelled_at) < Duration::from_secs(2),
        "Blender ran on for {:?} after the cancel",
        returned.duration_since(cancelled_at)
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}
