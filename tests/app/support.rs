//! What the app's integration tests share: stepping the app until its state says something
//! happened, and scripted modules for a server whose modules are not under test.

use egui_kittest::Harness;
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use workflow_contracts::Registry;
use workflow_engine::runtime::{
    Module, ModuleError, ModuleRegistry, NodeContext, NodeInputs, NodeOutputs, PortValue,
};
use workflow_studio::app::StudioApp;
use workflow_studio::backend::{Backend, ServerChoice};

/// The shared fixtures: `WORKFLOW_FIXTURES`, else `../shared/fixtures` beside the checkout,
/// else `/work/shared/fixtures`.
pub fn fixtures() -> PathBuf {
    if let Ok(dir) = std::env::var("WORKFLOW_FIXTURES") {
        return PathBuf::from(dir);
    }
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    [
        here.join("../shared/fixtures"),
        PathBuf::from("/work/shared/fixtures"),
    ]
    .into_iter()
    .find(|d| d.exists())
    .unwrap_or_else(|| here.join("../shared/fixtures"))
}

/// The bytes of a glTF fixture (`fixtures()/gltf/<name>`).
pub fn gltf_bytes(name: &str) -> Vec<u8> {
    let path = fixtures().join("gltf").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The app as `main` builds it, talking to `choice` (catalog cache in `cache_dir`, if any),
/// in a window of `size` points.
pub fn app_with_server(
    choice: ServerChoice,
    cache_dir: Option<PathBuf>,
    size: egui::Vec2,
) -> Harness<'static, StudioApp> {
    Harness::builder()
        .with_size(size)
        .with_max_steps(64)
        .build_eframe(move |cc| {
            let backend = Backend::new(cache_dir).expect("backend runtime");
            StudioApp::connecting().with_server(backend, choice, &cc.egui_ctx)
        })
}

/// [`app_with_server`] for a running server at `url`, 1500×1000.
pub fn remote_app(url: &str, token: &str) -> Harness<'static, StudioApp> {
    let choice = ServerChoice::Remote {
        url: url.to_owned(),
        token: token.to_owned(),
        ca_cert: None,
    };
    app_with_server(choice, None, egui::vec2(1500.0, 1000.0))
}

/// [`wait_for`], then lets the UI settle as far as it does.
pub fn until(
    h: &mut Harness<'static, StudioApp>,
    what: &str,
    limit: Duration,
    done: impl Fn(&StudioApp) -> bool,
) {
    wait_for(h, what, limit, done);
    // run_ok: a live run keeps asking for repaints, so the UI never "settles".
    h.run_ok();
}

/// Steps the UI until `done` holds (background tasks report through channels meanwhile),
/// failing after `limit` with the app's status line, rollout message and viewer error.
pub fn wait_for(
    h: &mut Harness<'static, StudioApp>,
    what: &str,
    limit: Duration,
    done: impl Fn(&StudioApp) -> bool,
) {
    let deadline = Instant::now() + limit;
    while !done(h.state()) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting until {what}; status: {}; rollout message: {:?}; viewer error: {:?}",
            h.state().status,
            h.state().rollout.message,
            h.state().viewer.error
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Produces every declared output, the same for a graph node and the legacy step it mirrors
/// (so shadow comparisons pass); hangs until cancelled on the node the run's `test_hang`
/// input names and fails the one `test_fail` names with `missing_materials`.
struct Scripted(Registry);

impl Module for Scripted {
    fn run(
        &self,
        ctx: &NodeContext,
        _: &NodeInputs,
        _: &Map<String, Value>,
    ) -> Result<NodeOutputs, ModuleError> {
        let id = ctx.node_id();
        ctx.log(format!("{id} starts"));
        if ctx.run_input("test_hang").and_then(Value::as_str) == Some(id) {
            while !ctx.is_cancelled() {
                std::thread::sleep(Duration::from_millis(5));
            }
            return Err(ModuleError::cancelled());
        }
        if ctx.run_input("test_fail").and_then(Value::as_str) == Some(id) {
            return Err(ModuleError::new(
                "missing_materials",
                format!("{id}: 3 parts have no material"),
            ));
        }
        let def = self
            .0
            .get(ctx.node_type())
            .ok_or_else(|| ModuleError::new("unknown_type", "no definition"))?;
        Ok(def
            .output_contract
            .iter()
            .fold(NodeOutputs::new(), |out, port| {
                out.with(
                    &port.name,
                    PortValue::json(port.port_type, json!({"type": ctx.node_type()})),
                )
            }))
    }
}

/// [`Scripted`] registered under every module key of the built-in catalog.
pub fn scripted_modules() -> ModuleRegistry {
    let registry = Registry::builtin();
    let mut modules = ModuleRegistry::new();
    let mut keys: Vec<String> = registry
        .nodes
        .iter()
        .map(|d| d.module_key.clone())
        .collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        modules.register(&key, Scripted(Registry::builtin()));
    }
    modules
}
