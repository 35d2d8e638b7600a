//! Render benchmark (plain main, `harness = false`):
//! `cargo bench -p workflow-engine --bench render`
//! Prints best/median of a warm 1024² still per glTF fixture (scene already uploaded, and
//! including upload) and of a 36-frame 512² turntable.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use workflow_engine::compare::ssim::ssim_interleaved;
use workflow_engine::lighting::LightingParams;
use workflow_engine::render::{
    encode_gif, encode_png_frames, encode_turntable, AntiAliasing, ImageParams, MsaaStrategy,
    Renderer,
};
use workflow_engine::turntable::{render_turntable, TurntableParams};
use workflow_engine::{
    extract_manifest, import_file, ImportParams, ManifestParams, MaterialResolution,
};

fn fixtures() -> PathBuf {
    workflow_engine::golden::find_fixtures(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// CPU time of this process (all threads, llvmpipe's included) in ms, from /proc: a figure
/// that other builds on the same machine distort less than wall time.
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the full line (11 and 12 after the name).
    (ticks(11) + ticks(12)) * 10.0
}

fn stats(mut d: Vec<Duration>) -> String {
    d.sort();
    let ms = |x: Duration| x.as_secs_f64() * 1000.0;
    format!(
        "best {:8.1} ms  median {:8.1} ms",
        ms(d[0]),
        ms(d[d.len() / 2])
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let t = Instant::now();
    let mut renderer = Renderer::new()?;
    println!(
        "renderer: {} (context + environment precompute {:.0} ms)",
        renderer.gpu_name(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    let lighting = LightingParams::default();
    let still = ImageParams {
        width: 1024,
        height: 1024,
        ..ImageParams::default()
    };
    let names = [
        "Box.glb",
        "BoxTextured.glb",
        "SimpleMeshes/SimpleMeshes.gltf",
        "SimpleInstancing.glb",
        "NegativeScaleTest.glb",
        "CesiumMilkTruck.glb",
        "2CylinderEngine.glb",
    ];
    let filter = std::env::var("BENCH_FILTER").unwrap_or_default();
    for name in names.into_iter().filter(|n| n.contains(&filter)) {
        let scene = import_file(
            &fixtures().join("gltf").join(name),
            &ImportParams::default(),
        )?;
        let manifest = extract_manifest(&scene, &ManifestParams::default())?;
        let res = MaterialResolution::file_preview(&manifest);
        let built = renderer.prepare(&scene, &manifest, &res)?;
        let pose = Renderer::camera_pose(&built, &still);
        let t = Instant::now();
        renderer.render_built(&built, &lighting, &still, &pose)?; // first frame: shader compile
        let first = t.elapsed();
        let fxaa_params = ImageParams {
            antialiasing: AntiAliasing::Fxaa,
            ..still.clone()
        };
        renderer.render_built(&built, &lighting, &fxaa_params, &pose)?;
        let mut warm = Vec::new();
        let mut full = Vec::new();
        let mut fxaa = Vec::new();
        let mut cpu_warm = 0.0;
        for _ in 0..runs {
            let t = Instant::now();
            renderer.render_built(&built, &lighting, &fxaa_params, &pose)?;
            fxaa.push(t.elapsed());
            let c = cpu_ms();
            renderer.render_built(&built, &lighting, &still, &pose)?;
            cpu_warm += cpu_ms() - c;
            let t = Instant::now();
            renderer.render_built(&built, &lighting, &still, &pose)?;
            warm.push(t.elapsed());
            let t = Instant::now();
            renderer.render_still(&scene, &manifest, &res, &lighting, &still)?;
            full.push(t.elapsed());
        }
        // The image against the multisample target's (what MsaaStrategy::Auto may replace).
        let auto = renderer.render_built(&built, &lighting, &still, &pose)?;
        renderer.set_msaa_strategy(MsaaStrategy::Multisample);
        let reference = renderer.render_built(&built, &lighting, &still, &pose)?;
        renderer.set_msaa_strategy(MsaaStrategy::Auto);
        let ssim = ssim_interleaved(&auto.rgba, &reference.rgba, 1024, 1024, 4, 3);
        println!(
            "still 1024² {name:32} first {:7.1} ms | MSAA×4 warm {} (CPU {:.0} ms/frame) | MSAA×4 with upload {} | FXAA warm {} | SSIM vs multisample target {ssim:.4}",
            first.as_secs_f64() * 1000.0,
            stats(warm),
            cpu_warm / runs as f64,
            stats(full),
            stats(fxaa)
        );
    }
    // What the per-frame cost is made of, on the heaviest fixture.
    {
        let scene = import_file(
            &fixtures().join("gltf/2CylinderEngine.glb"),
            &ImportParams::default(),
        )?;
        let manifest = extract_manifest(&scene, &ManifestParams::default())?;
        let built = renderer.prepare(
            &scene,
            &manifest,
            &MaterialResolution::file_preview(&manifest),
        )?;
        for (label, light, samples, strategy) in [
            (
                "MSAA×4 multisample target",
                LightingParams::default(),
                4,
                MsaaStrategy::Multisample,
            ),
            (
                "no environment",
                LightingParams {
                    environment: false,
                    ..LightingParams::default()
                },
                4,
                MsaaStrategy::Auto,
            ),
            (
                "no shadows",
                LightingParams {
                    shadows: false,
                    ..LightingParams::default()
                },
                4,
                MsaaStrategy::Auto,
            ),
            (
                "hard preset (1 light)",
                LightingParams {
                    preset: workflow_engine::lighting::LightingPreset::Hard,
                    ..LightingParams::default()
                },
                4,
                MsaaStrategy::Auto,
            ),
            ("MSAA×2", LightingParams::default(), 2, MsaaStrategy::Auto),
            (
                "1 sample, no AA",
                LightingParams::default(),
                1,
                MsaaStrategy::Auto,
            ),
        ] {
            renderer.set_msaa_strategy(strategy);
            let params = ImageParams {
                samples,
                ..still.clone()
            };
            let pose = Renderer::camera_pose(&built, &params);
            renderer.render_built(&built, &light, &params, &pose)?;
            let mut times = Vec::new();
            for _ in 0..runs {
                let t = Instant::now();
                renderer.render_built(&built, &light, &params, &pose)?;
                times.push(t.elapsed());
            }
            renderer.set_msaa_strategy(MsaaStrategy::Auto);
            println!(
                "still 1024² 2CylinderEngine.glb, {label:26} {}",
                stats(times)
            );
        }
    }
    for name in ["CesiumMilkTruck.glb", "2CylinderEngine.glb"]
        .into_iter()
        .filter(|n| n.contains(&filter))
    {
        let scene = import_file(
            &fixtures().join("gltf").join(name),
            &ImportParams::default(),
        )?;
        let manifest = extract_manifest(&scene, &ManifestParams::default())?;
        let res = MaterialResolution::file_preview(&manifest);
        for aa in [AntiAliasing::Msaa, AntiAliasing::Fxaa] {
            let params = TurntableParams {
                image: ImageParams {
                    width: 512,
                    height: 512,
                    antialiasing: aa,
                    ..ImageParams::default()
                },
                frame_count: 36,
                ..TurntableParams::default()
            };
            let (mut times, mut encodes) = (Vec::new(), Vec::new());
            let (mut gifs, mut png_sets) = (Vec::new(), Vec::new());
            for _ in 0..runs.clamp(1, 3) {
                let t = Instant::now();
                let frames =
                    render_turntable(&mut renderer, &scene, &manifest, &res, &lighting, &params)?;
                times.push(t.elapsed());
                assert_eq!(frames.len(), 36);
                // What render.turntable adds after rendering: the GIF and one PNG per frame,
                // each alone and both as the module encodes them (at the same time).
                let t = Instant::now();
                let gif = encode_gif(&frames, 1000 / 12)?;
                gifs.push(t.elapsed());
                let t = Instant::now();
                let pngs = encode_png_frames(&frames)?;
                png_sets.push(t.elapsed());
                let t = Instant::now();
                let (gif2, pngs2) = encode_turntable(&frames, 1000 / 12, true)?;
                encodes.push(t.elapsed());
                assert!(gif == gif2 && pngs == pngs2 && pngs.len() == 36);
            }
            println!("turntable 36×512² {name:26} {aa:?} {}", stats(times));
            println!("  encode GIF only        {name:21} {aa:?} {}", stats(gifs));
            println!(
                "  encode 36 PNG only     {name:21} {aa:?} {}",
                stats(png_sets)
            );
            println!(
                "  encode GIF + 36 PNG    {name:21} {aa:?} {}",
                stats(encodes)
            );
        }
    }
    Ok(())
}
