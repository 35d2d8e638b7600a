//! How far the built-in renderer is from a path tracer: a Cycles still (through the Blender
//! bridge) and a built-in still of each fixture, same camera, lights and materials, compared
//! with the parity comparison module (SSIM, PSNR, pixels over 10 %).
//!
//! `cargo run -p workflow-engine --example cycles_vs_builtin -- [SIZE] [SAMPLES] [OUT_DIR]`
//! (defaults 256, 64, none). Needs Blender. Figures go into docs/performance.md by hand.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use workflow_engine::compare::images::compare_images;
use workflow_engine::compare::thresholds::ImageThresholds;
use workflow_engine::materials::{default_library, MaterialMap, NameRule, ResolveOptions};
use workflow_engine::pipeline::{render_image, SceneValue};
use workflow_engine::render::{ImageParams, Renderer};
use workflow_engine::{extract_manifest, import_file, resolve_materials, ImportParams};

fn fixtures() -> PathBuf {
    workflow_engine::golden::find_fixtures(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let size: u32 = args.first().and_then(|a| a.parse().ok()).unwrap_or(256);
    let samples: u32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(64);
    let out_dir = args.get(2).map(PathBuf::from);
    if let Some(dir) = &out_dir {
        std::fs::create_dir_all(dir)?;
    }
    let mut renderer = Renderer::new()?;
    println!("| fixture | material | SSIM | PSNR (dB) | pixels > 10 % | Cycles time |");
    println!("|---|---|---|---|---|---|");
    for (name, material) in [
        ("gltf/Box.glb", None),
        ("gltf/BoxTextured.glb", None),
        ("gltf/2CylinderEngine.glb", Some("steel_brushed")),
        ("gltf/CesiumMilkTruck.glb", None),
        ("gltf/NegativeScaleTest.glb", Some("paint_red")),
        ("step/as1-oc-214.step", Some("aluminium")),
        ("step/abc-0000.step", Some("plastic_black")),
    ] {
        let scene = import_file(&fixtures().join(name), &ImportParams::default())?;
        let manifest = extract_manifest(&scene, &Default::default())?;
        let mut value = SceneValue::new(scene);
        if let Some(m) = material {
            let map = MaterialMap {
                rules: vec![NameRule {
                    pattern: "*".into(),
                    material: m.into(),
                }],
                ..Default::default()
            };
            value.resolution = Some(Arc::new(resolve_materials(
                &manifest,
                &default_library(),
                &map,
                &ResolveOptions::default(),
            )?));
        }
        value.manifest = Some(Arc::new(manifest));
        let image = ImageParams {
            width: size,
            height: size,
            samples: 4,
            ..ImageParams::default()
        };
        let builtin = render_image(&mut renderer, &value, &image)?;
        let started = Instant::now();
        let mut log = Vec::new();
        let cycles =
            workflow_engine::cycles::render_still_cycles(&value, &image, samples, &mut log, None)?;
        let cycles_time = started.elapsed();
        let to_image = |r: &workflow_engine::render::RenderedImage| {
            image::RgbaImage::from_raw(r.width, r.height, r.rgba.clone())
                .ok_or("image size mismatch")
        };
        let outcome = compare_images(
            &to_image(&builtin)?,
            &to_image(&cycles)?,
            &ImageThresholds::default(),
        )?;
        let metrics = outcome
            .comparison
            .metrics
            .ok_or("the two renders differ in size")?;
        if let Some(dir) = &out_dir {
            let stem = name.replace('/', "_");
            std::fs::write(dir.join(format!("{stem}.builtin.png")), builtin.to_png()?)?;
            std::fs::write(dir.join(format!("{stem}.cycles.png")), cycles.to_png()?)?;
        }
        println!(
            "| {name} | {} | {:.3} | {:.1} | {:.1} % | {:.1} s |",
            material.unwrap_or("file"),
            metrics.ssim,
            metrics.psnr(),
            metrics.percent_over(0.1),
            cycles_time.as_secs_f64()
        );
    }
    Ok(())
}
