//! Where a cold one-shot still goes, stage by stage, in a fresh process:
//! `cargo run --release -p workflow-engine --example cold_stages -- FILE.glb [SIZE]`
//! (run it several times: the first run on a machine also fills Mesa's shader cache).
//! Stages run one after the other here; `workflow-server run` overlaps the renderer's start
//! with the import. `VARIANTS=1` adds warm renders with one setting changed each (no
//! shadows, no environment, 1 sample, FXAA, supersampling): what each costs.

use std::time::Instant;

use workflow_engine::lighting::LightingParams;
use workflow_engine::render::{context::HeadlessContext, scene_builder, ImageParams, Renderer};
use workflow_engine::{
    extract_manifest, import_file, ImportParams, ManifestParams, MaterialResolution,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let t0 = Instant::now();
    let mut args = std::env::args().skip(1);
    let file = args.next().ok_or("usage: cold_stages FILE.glb [SIZE]")?;
    let size: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1024);
    let mut last = Instant::now();
    let mut stage = |name: &str| {
        let now = Instant::now();
        println!("{name:<28} {:7.1} ms", (now - last).as_secs_f64() * 1000.0);
        last = now;
    };
    stage("process start → main");
    {
        let ctx = HeadlessContext::new()?;
        stage("EGL context (throwaway)");
        let _env = scene_builder::environment_light(ctx.gl());
        stage("environment precompute");
    }
    let mut renderer = Renderer::new()?;
    stage("Renderer::new (again)");
    if std::env::var_os("NO_WARM_UP").is_none() {
        renderer.warm_up();
        stage("warm-up still (compiles)");
    }
    let scene = import_file(std::path::Path::new(&file), &ImportParams::default())?;
    stage("import");
    let manifest = extract_manifest(&scene, &ManifestParams::default())?;
    let resolution = MaterialResolution::file_preview(&manifest);
    stage("manifest + materials");
    let built = renderer.prepare(&scene, &manifest, &resolution)?;
    stage("upload (prepare)");
    let params = ImageParams {
        width: size,
        height: size,
        ..ImageParams::default()
    };
    let pose = Renderer::camera_pose(&built, &params);
    let lighting = LightingParams::default();
    let image = renderer.render_built(&built, &lighting, &params, &pose)?;
    stage("first render (+ compile)");
    let _ = renderer.render_built(&built, &lighting, &params, &pose)?;
    stage("second render");
    if std::env::var_os("VARIANTS").is_some() {
        use workflow_engine::render::{AntiAliasing, MsaaStrategy};
        for _ in 0..2 {
            let _ = renderer.render_built(&built, &lighting, &params, &pose)?;
            stage("again (default)");
            let no_shadow = LightingParams {
                shadows: false,
                ..LightingParams::default()
            };
            let _ = renderer.render_built(&built, &no_shadow, &params, &pose)?;
            stage("no shadows");
            let no_env = LightingParams {
                environment: false,
                ..LightingParams::default()
            };
            let _ = renderer.render_built(&built, &no_env, &params, &pose)?;
            stage("no environment");
            let one = ImageParams {
                samples: 1,
                ..params.clone()
            };
            let _ = renderer.render_built(&built, &lighting, &one, &pose)?;
            stage("1 sample");
            let fx = ImageParams {
                antialiasing: AntiAliasing::Fxaa,
                ..params.clone()
            };
            let _ = renderer.render_built(&built, &lighting, &fx, &pose)?;
            stage("fxaa");
            renderer.set_msaa_strategy(MsaaStrategy::Supersample);
            let _ = renderer.render_built(&built, &lighting, &params, &pose)?;
            stage("supersample");
            renderer.set_msaa_strategy(MsaaStrategy::Auto);
        }
    }
    let png = image.encode(workflow_engine::render::OutputFormat::Png)?;
    stage("PNG encode");
    println!(
        "PNG {} bytes; total {:.1} ms",
        png.len(),
        t0.elapsed().as_secs_f64() * 1000.0
    );
    Ok(())
}
