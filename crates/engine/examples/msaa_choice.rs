//! What `MsaaStrategy::Auto` decides from, against what each way of anti-aliasing costs:
//! `cargo run --release -p workflow-engine --example msaa_choice -- FILE... `
//! (`SIZES=512,1024`, `ROUNDS=7`). For each file and size it prints the scene's triangles and
//! edge length (in bounds diagonals), then warm default stills multisampled (MSAA×4) and
//! supersampled (2×2) alternating: medians in ms, which one `Auto` picks, and the SSIM of the
//! supersampled image against the multisampled one. A benchmark for docs/performance.md, not
//! a test.

use std::time::Instant;

use workflow_engine::compare::ssim::ssim_interleaved;
use workflow_engine::lighting::LightingParams;
use workflow_engine::render::{ImageParams, MsaaStrategy, Renderer};
use workflow_engine::{
    extract_manifest, import_file, ImportParams, ManifestParams, MaterialResolution,
};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sizes: Vec<u32> = std::env::var("SIZES")
        .unwrap_or_else(|_| "512,1024".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let mut renderer = Renderer::new()?;
    renderer.warm_up();
    println!(
        "| file | triangles | edge length | size | MSAA×4 ms | 2×2 SS ms | faster | Auto | SSIM |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|---|---:|");
    for file in std::env::args().skip(1) {
        let scene = import_file(std::path::Path::new(&file), &ImportParams::default())?;
        let manifest = extract_manifest(&scene, &ManifestParams::default())?;
        let resolution = MaterialResolution::file_preview(&manifest);
        let built = renderer.prepare(&scene, &manifest, &resolution)?;
        let lighting = LightingParams::default();
        for &size in &sizes {
            let params = ImageParams {
                width: size,
                height: size,
                ..ImageParams::default()
            };
            let pose = Renderer::camera_pose(&built, &params);
            let time =
                |renderer: &mut Renderer, strategy| -> Result<f64, Box<dyn std::error::Error>> {
                    renderer.set_msaa_strategy(strategy);
                    let t = Instant::now();
                    renderer.render_built(&built, &lighting, &params, &pose)?;
                    Ok(t.elapsed().as_secs_f64() * 1000.0)
                };
            // One untimed render of each makes its targets and compiles its variants.
            renderer.set_msaa_strategy(MsaaStrategy::Multisample);
            let msaa = renderer.render_built(&built, &lighting, &params, &pose)?;
            renderer.set_msaa_strategy(MsaaStrategy::Supersample);
            let ssaa = renderer.render_built(&built, &lighting, &params, &pose)?;
            let s = size as usize;
            let ssim = ssim_interleaved(&msaa.rgba, &ssaa.rgba, s, s, 4, 3);
            let (mut ms, mut ss) = (Vec::new(), Vec::new());
            for _ in 0..rounds {
                ms.push(time(&mut renderer, MsaaStrategy::Multisample)?);
                ss.push(time(&mut renderer, MsaaStrategy::Supersample)?);
            }
            renderer.set_msaa_strategy(MsaaStrategy::Auto);
            let (ms, ss) = (median(ms), median(ss));
            let name = std::path::Path::new(&file)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(file.clone());
            println!(
                "| {name} | {} | {:.0} | {size}² | {ms:.1} | {ss:.1} | {} | {} | {ssim:.4} |",
                built.triangle_count(),
                built.relative_edge_length(),
                if ss < ms { "SS" } else { "MS" },
                if renderer.supersamples(&built, &params) {
                    "SS"
                } else {
                    "MS"
                },
            );
        }
    }
    Ok(())
}
