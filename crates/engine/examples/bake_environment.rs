//! Recomputes the studio environment's lighting maps with three-d on this machine's GL and
//! writes them to `src/render/studio_environment.bin` (see `render::environment`):
//! `cargo run -p workflow-engine --example bake_environment`
use workflow_engine::render::{context::HeadlessContext, environment};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ctx = HeadlessContext::new()?;
    let bytes = environment::bake(ctx.gl());
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/render/studio_environment.bin");
    std::fs::write(&path, &bytes)?;
    println!(
        "{} bytes → {} (GL: {})",
        bytes.len(),
        path.display(),
        ctx.renderer_name()
    );
    Ok(())
}
