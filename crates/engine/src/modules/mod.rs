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
pub use values::{CadFileValue, FileValue, FramesValue, ImageValue, MaterialReportValue};

/// Code of a node that needed a product the [`ProductSource`] does not know or that is not
/// ready.
pub const PRODUCT_UNAVAILABLE: &str = "product_unavailable";
/// Code of a render node whose headless renderer could not be started.
pub const RENDERER_UNAVAILABLE: &str = "renderer_unavailable";
/// Code of a `cad.publish` with `replace_existing` off on a product that already has
/// processing results (details: `product_id`).
pub const ALREADY_PUBLISHED: &str = "already_published";
/// Code of an `output.publish` with `overwrite` off naming a deliverable the product already
/// has (details: `product_id`, `name`, `names`).
pub const DELIVERABLE_EXISTS: &str = "deliverable_exists";
/// Code of an `output.publish` whose deliverables the deliverable store refused.
pub const DELIVERABLE_STORE_FAILED: &str = "deliverable_store_failed";

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
    /// Replace processing results an earlier processing published; when false and there are
    /// some, [`ProductSource::publish_cad`] refuses with [`PublishError::AlreadyPublished`].
    pub replace_existing: bool,
}

/// Why [`ProductSource::publish_cad`] did not publish.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// `replace_existing` is off and the product already has published results.
    #[error("product {product_id} already has published processing results (preview GLB, manifest or thumbnail) and replace_existing is off")]
    AlreadyPublished { product_id: String },
    /// The product is unknown or its store failed.
    #[error("{0}")]
    Store(String),
}

impl From<String> for PublishError {
    fn from(message: String) -> Self {
        PublishError::Store(message)
    }
}

/// One deliverable `output.publish` names: the file name from its `naming_template`, the
/// artifact role it is and, when the producing module stored it, the artifact's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deliverable {
    pub name: String,
    pub role: workflow_contracts::ArtifactRole,
    pub artifact_id: Option<String>,
}

/// What `output.publish` hands to the [`DeliverableSink`].
#[derive(Debug, Clone, Copy)]
pub struct DeliverablePublication<'a> {
    pub run_id: &'a str,
    pub node_id: &'a str,
    pub product_id: &'a str,
    pub order_line_id: Option<&'a str>,
    pub deliverables: &'a [Deliverable],
    /// Replace deliverables of the same name (else [`DeliverableError::Exists`], nothing
    /// recorded).
    pub overwrite: bool,
    /// Record a notification (the outbox a mail/webhook sender reads) for these names.
    pub notify: bool,
}

/// What the sink did with a publication.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliverableReceipt {
    /// False when the sink deliberately records nothing (e.g. a shadow run's deliverables).
    pub recorded: bool,
    /// Names that replaced an earlier deliverable of the product.
    pub replaced: Vec<String>,
    /// The notification recorded, if any.
    pub notification_id: Option<String>,
    /// Why nothing was recorded, when `recorded` is false.
    pub note: Option<String>,
}

/// Why a [`DeliverableSink`] refused a publication.
#[derive(Debug, thiserror::Error)]
pub enum DeliverableError {
    /// `overwrite` is off and the product already has deliverables of these names.
    #[error("product {product_id} already has a deliverable named {}", names.join(", "))]
    Exists {
        product_id: String,
        names: Vec<String>,
    },
    #[error("{0}")]
    Store(String),
}

/// Where published deliverables are recorded (the server's database; [`MemoryDeliverables`]
/// in tests). Called synchronously from the module's blocking thread; all-or-nothing.
pub trait DeliverableSink: Send + Sync + 'static {
    fn publish(
        &self,
        publication: DeliverablePublication<'_>,
    ) -> Result<DeliverableReceipt, DeliverableError>;
}

/// A recorded deliverable of [`MemoryDeliverables`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedDeliverable {
    pub product_id: String,
    pub order_line_id: Option<String>,
    pub run_id: String,
    pub deliverable: Deliverable,
}

/// An in-memory [`DeliverableSink`] with the same overwrite rules as the server's.
#[derive(Debug, Default)]
pub struct MemoryDeliverables {
    state: std::sync::Mutex<(Vec<RecordedDeliverable>, Vec<Vec<String>>)>,
}

impl MemoryDeliverables {
    /// The current deliverables (one per product and name).
    pub fn deliverables(&self) -> Vec<RecordedDeliverable> {
        self.state.lock().map(|s| s.0.clone()).unwrap_or_default()
    }

    /// The notifications recorded: the deliverable names of each.
    pub fn notifications(&self) -> Vec<Vec<String>> {
        self.state.lock().map(|s| s.1.clone()).unwrap_or_default()
    }
}

impl DeliverableSink for MemoryDeliverables {
    fn publish(
        &self,
        p: DeliverablePublication<'_>,
    ) -> Result<DeliverableReceipt, DeliverableError> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| DeliverableError::Store("deliverable store poisoned".into()))?;
        let (items, notifications) = &mut *state;
        let existing: Vec<String> = deliverable_conflicts(p.deliverables, |name| {
            items
                .iter()
                .any(|d| d.product_id == p.product_id && d.deliverable.name == name)
        });
        if !p.overwrite && !existing.is_empty() {
            return Err(DeliverableError::Exists {
                product_id: p.product_id.to_owned(),
                names: existing,
            });
        }
        let mut receipt = DeliverableReceipt {
            recorded: true,
            ..DeliverableReceipt::default()
        };
        for d in p.deliverables {
            let before = items.len();
            items.retain(|x| !(x.product_id == p.product_id && x.deliverable.name == d.name));
            if items.len() != before {
                receipt.replaced.push(d.name.clone());
            }
            items.push(RecordedDeliverable {
                product_id: p.product_id.to_owned(),
                order_line_id: p.order_line_id.map(str::to_owned),
                run_id: p.run_id.to_owned(),
                deliverable: d.clone(),
            });
        }
        if p.notify {
            notifications.push(p.deliverables.iter().map(|d| d.name.clone()).collect());
            receipt.notification_id = Some(format!("{}", notifications.len()));
        }
        Ok(receipt)
    }
}

/// The names of `deliverables` that collide: with a stored one (`exists`) or with an earlier
/// one of the same publication. In order, each once.
pub fn deliverable_conflicts(
    deliverables: &[Deliverable],
    exists: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out: Vec<String> = Vec::new();
    for d in deliverables {
        let duplicate = !seen.insert(d.name.as_str());
        if (duplicate || exists(&d.name)) && !out.contains(&d.name) {
            out.push(d.name.clone());
        }
    }
    out
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
    /// With `replace_existing` off, a product that already has processing results is left
    /// alone: [`PublishError::AlreadyPublished`].
    fn publish_cad(&self, publication: CadPublication<'_>) -> Result<(), PublishError>;
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
    /// Where `output.publish` records deliverables (and notifications). `None`: it only names
    /// them in its log and outputs (command-line runs, comparisons).
    pub deliverables: Option<Arc<dyn DeliverableSink>>,
}

impl ProductionContext {
    pub fn new(products: Arc<dyn ProductSource>) -> Self {
        ProductionContext {
            products,
            renderer: Arc::new(LazyRenderService::default()),
            allow_cad_path: false,
            deliverables: None,
        }
    }

    /// With `output.publish` recording into `sink`.
    pub fn with_deliverables(mut self, sink: Arc<dyn DeliverableSink>) -> Self {
        self.deliverables = Some(sink);
        self
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
    m.register(
        "material.resolve",
        order::ResolveMaterials(ctx.products.clone()),
    );
    m.register("scene.camera", scene::Camera);
    m.register("scene.lighting", scene::Lighting);
    m.register("export.scene", scene::ExportScene);
    m.register("render.image", render::RenderImage(ctx.renderer.clone()));
    m.register("render.turntable", render::RenderTurntable(ctx.renderer));
    m.register(
        "output.publish",
        publish::OutputPublish {
            sink: ctx.deliverables,
        },
    );
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
