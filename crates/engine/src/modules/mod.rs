//! Production modules: one thin [`Module`] adapter per catalog `module_key`, each reading its
//! typed parameters ([`crate::params`]), downcasting its inputs to the engine's own types
//! ([`values`]), calling the engine function and storing its artifacts. The engine stays free
//! of storage: products, their CAD files and material maps come through [`ProductSource`],
//! which the server implements.

mod cad;
mod order;
mod publish;
mod render;
mod scene;
pub mod values;

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::manifest::Manifest;
use crate::materials::{MaterialLibrary, MaterialMap};
use crate::params::{ParamError, ParamReader};
use crate::runtime::{ModuleError, ModuleRegistry, NodeContext};

pub use render::LazyRenderService;
pub use values::{CadFileValue, FileValue, FramesValue, ImageValue};

/// Code of a node that needed a product the [`ProductSource`] does not know or that is not
/// ready.
pub const PRODUCT_UNAVAILABLE: &str = "product_unavailable";
/// Code of a render node whose headless renderer could not be started.
pub const RENDERER_UNAVAILABLE: &str = "renderer_unavailable";

/// A processed product's scene as stored by `cad.publish`.
#[derive(Debug, Clone)]
pub struct ProductScene {
    /// The preview GLB (part keys in node extras).
    pub glb_path: PathBuf,
    /// Whether the product's CAD processing finished (`order.load_product_scene`
    /// `require_processed`).
    pub processed: bool,
}

/// What `cad.publish` hands to the product store.
#[derive(Debug, Clone, Copy)]
pub struct CadPublication<'a> {
    pub product_id: &'a str,
    pub glb: &'a [u8],
    pub manifest: Option<&'a Manifest>,
    pub thumbnail_png: Option<&'a [u8]>,
    pub mark_processed: bool,
}

/// Where products live (the server's store; a test's directory). Errors are plain messages;
/// the modules turn them into `product_unavailable` node errors.
pub trait ProductSource: Send + Sync + 'static {
    /// The uploaded CAD file of `product_id`.
    fn cad_file(&self, product_id: &str) -> Result<PathBuf, String>;
    /// The processed scene of `product_id`.
    fn product_scene(&self, product_id: &str) -> Result<ProductScene, String>;
    /// The material library and the product's material map.
    fn materials(&self, product_id: &str) -> Result<(MaterialLibrary, MaterialMap), String>;
    /// Stores the processing results on the product (and marks it processed when asked).
    fn publish_cad(&self, publication: CadPublication<'_>) -> Result<(), String>;
}

/// What the production modules share.
#[derive(Clone)]
pub struct ProductionContext {
    pub products: Arc<dyn ProductSource>,
    /// One warm renderer for every render module (started on first use).
    pub renderer: Arc<LazyRenderService>,
    /// Whether `cad.source` may read a file path from the run input `cad_path` (CLI verbs and
    /// tests). Off by default: a server takes CAD files from its products only, so a dispatch
    /// cannot make it read an arbitrary file.
    pub allow_cad_path: bool,
}

impl ProductionContext {
    pub fn new(products: Arc<dyn ProductSource>) -> Self {
        ProductionContext {
            products,
            renderer: Arc::new(LazyRenderService::default()),
            allow_cad_path: false,
        }
    }
}

/// The registry with a module for every `module_key` of the built-in catalog.
pub fn production_modules(ctx: ProductionContext) -> ModuleRegistry {
    let mut m = ModuleRegistry::new();
    m.register(
        "cad.source",
        cad::CadSource {
            products: ctx.products.clone(),
            allow_cad_path: ctx.allow_cad_path,
        },
    );
    m.register("cad.import", cad::CadImport);
    m.register("cad.extract_metadata", cad::ExtractMetadata);
    m.register("cad.export_glb", cad::ExportGlb);
    m.register("cad.publish", cad::CadPublish(ctx.products.clone()));
    m.register("order.source", order::OrderSource);
    m.register(
        "order.load_product_scene",
        order::LoadProductScene(ctx.products.clone()),
    );
    m.register("material.resolve", order::ResolveMaterials(ctx.products));
    m.register("scene.camera", scene::Camera);
    m.register("scene.lighting", scene::Lighting);
    m.register("export.scene", scene::ExportScene);
    m.register("render.image", render::RenderImage(ctx.renderer.clone()));
    m.register("render.turntable", render::RenderTurntable(ctx.renderer));
    m.register("output.publish", publish::OutputPublish);
    m
}

/// An engine error as a node error: its stable code and message.
pub(crate) fn engine_error(code: &str, err: impl std::fmt::Display) -> ModuleError {
    ModuleError::new(code, err.to_string())
}

pub(crate) fn param_error(err: ParamError) -> ModuleError {
    engine_error(err.code(), &err)
}

/// The node's typed parameter reader.
pub(crate) fn reader<'a>(
    ctx: &NodeContext,
    params: &'a Map<String, Value>,
) -> Result<ParamReader<'a>, ModuleError> {
    ParamReader::builtin(ctx.node_type(), params).map_err(param_error)
}

/// A string run input (`product_id`, `order_line_id`), or `missing_input`.
pub(crate) fn run_input_str(ctx: &NodeContext, key: &str) -> Result<String, ModuleError> {
    match ctx.run_input(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        _ => Err(ModuleError::new(
            crate::runtime::codes::MISSING_INPUT,
            format!("node '{}' needs the run input '{key}'", ctx.node_id()),
        )),
    }
}

pub(crate) fn product_error(product_id: &str, message: String) -> ModuleError {
    ModuleError::new(PRODUCT_UNAVAILABLE, message).with_details(json!({"product_id": product_id}))
}
