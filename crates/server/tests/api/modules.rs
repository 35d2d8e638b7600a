//! Test-only modules for the server tests: they produce every declared output, store an
//! artifact for every role their node produces, and obey per-run instructions given in the
//! dispatch inputs (`test_fail`, `test_hang`: a node id or legacy step), so a test can steer
//! one run without global state.
//!
//! With the input `test_images: true` the artifacts are comparable the way real ones are:
//! stills and thumbnails a grey 16×16 PNG, JSON documents `{}`, and outputs that depend on
//! the node type only, so a graph node and the legacy step it mirrors produce the same. The
//! node (or step) named by `test_dark` renders darker and marks its outputs: a shadow
//! comparison fails and is attributed to it.

use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;
use workflow_contracts::{ArtifactRole, Registry};
use workflow_engine::runtime::{
    Module, ModuleError, ModuleRegistry, NodeContext, NodeInputs, NodeOutputs, PortValue,
};

struct Scripted {
    registry: Registry,
}

impl Module for Scripted {
    fn run(
        &self,
        ctx: &NodeContext,
        _inputs: &NodeInputs,
        _params: &Map<String, Value>,
    ) -> Result<NodeOutputs, ModuleError> {
        let id = ctx.node_id();
        let told = |key: &str| ctx.run_input(key).and_then(Value::as_str) == Some(id);
        ctx.log(format!("{id} starts"));
        if told("test_hang") {
            while !ctx.is_cancelled() {
                std::thread::sleep(Duration::from_millis(5));
            }
            return Err(ModuleError::cancelled());
        }
        if told("test_fail") {
            return Err(ModuleError::new(
                "scripted_failure",
                format!("{id} was told to fail"),
            ));
        }
        let def = self
            .registry
            .get(ctx.node_type())
            .ok_or_else(|| ModuleError::new("unknown_type", "no definition"))?;
        let realistic = ctx.run_input("test_images").and_then(Value::as_bool) == Some(true);
        let dark = told("test_dark");
        for role in &def.artifact_roles_out {
            if def.artifact_roles_in.contains(role) {
                continue;
            }
            match (realistic, role) {
                (true, ArtifactRole::Still | ArtifactRole::Thumbnail) => {
                    ctx.store_artifact(*role, "image/png", &grey_png(if dark { 20 } else { 128 }))?
                }
                (true, ArtifactRole::MaterialReport | ArtifactRole::PartManifest) => {
                    ctx.store_artifact(*role, "application/json", b"{}")?
                }
                _ => {
                    ctx.store_artifact(*role, "text/plain", format!("{role} of {id}").as_bytes())?
                }
            };
        }
        let value = |port: &str| {
            if realistic {
                json!({"type": ctx.node_type(), "port": port, "dark": dark})
            } else {
                json!({"from": id})
            }
        };
        Ok(def
            .output_contract
            .iter()
            .fold(NodeOutputs::new(), |out, port| {
                out.with(
                    &port.name,
                    PortValue::json(port.port_type, value(&port.name)),
                )
            }))
    }
}

/// A 16×16 PNG of one grey.
fn grey_png(shade: u8) -> Vec<u8> {
    let img = image::RgbaImage::from_pixel(16, 16, image::Rgba([shade, shade, shade, 255]));
    let mut out = std::io::Cursor::new(Vec::new());
    match img.write_to(&mut out, image::ImageFormat::Png) {
        Ok(()) => out.into_inner(),
        Err(_) => Vec::new(),
    }
}

/// One scripted instance registered under every built-in module key.
pub fn scripted_modules() -> ModuleRegistry {
    let registry = Registry::builtin();
    let module: Arc<dyn Module> = Arc::new(Scripted {
        registry: registry.clone(),
    });
    let mut modules = ModuleRegistry::new();
    for def in &registry.nodes {
        modules.register_arc(&def.module_key, module.clone());
    }
    modules
}
