//! `order.source`, `order.load_product_scene`, `material.resolve`.

use std::sync::Arc;

use serde_json::{json, Map, Value};
use workflow_contracts::{ArtifactRole, PortType};

use super::cad::{manifest_value, scene_value};
use super::values::MaterialReportValue;
use super::{engine_error, param_error, product_error, reader, run_input_str, ProductSource};
use crate::digest::serde_digest;
use crate::import::{import_file_as, ImportParams};
use crate::manifest::{extract_manifest, Manifest, ManifestParams};
use crate::materials::resolve_materials;
use crate::params::resolve_options;
use crate::pipeline::SceneValue;
use crate::runtime::{Module, ModuleError, NodeContext, NodeInputs, NodeOutputs, PortValue};

type Params = Map<String, Value>;

/// `order.source`: the order line from the run inputs (`order_line_id`, `product_id`).
pub struct OrderSource;

impl Module for OrderSource {
    fn run(
        &self,
        ctx: &NodeContext,
        _: &NodeInputs,
        _: &Params,
    ) -> Result<NodeOutputs, ModuleError> {
        let line = json!({
            "order_line_id": run_input_str(ctx, "order_line_id")?,
            "product_id": run_input_str(ctx, "product_id")?,
        });
        Ok(NodeOutputs::new().with("order_line", PortValue::json(PortType::OrderLine, line)))
    }
}

/// `order.load_product_scene`: the product's processed preview GLB, re-imported (part keys come
/// back from the node extras), and its manifest.
pub struct LoadProductScene(pub Arc<dyn ProductSource>);

impl Module for LoadProductScene {
    fn run(
        &self,
        ctx: &NodeContext,
        inputs: &NodeInputs,
        params: &Params,
    ) -> Result<NodeOutputs, ModuleError> {
        let r = reader(ctx, params)?;
        let require_processed = r.bool("require_processed").map_err(param_error)?;
        let up_axis = r.string("up_axis").map_err(param_error)?;
        let line = inputs.require("order_line")?;
        let product_id = match line
            .as_json()
            .and_then(|l| l.get("product_id"))
            .and_then(Value::as_str)
        {
            Some(id) => id.to_owned(),
            None => run_input_str(ctx, "product_id")?,
        };
        let stored = self
            .0
            .product_scene(&product_id)
            .map_err(|m| product_error(&product_id, m))?;
        if require_processed && !stored.processed {
            return Err(product_error(
                &product_id,
                format!("product {product_id} is not processed yet"),
            ));
        }
        let params = ImportParams {
            up_axis,
            ..ImportParams::default()
        };
        let shown = format!("the preview GLB of product {product_id}");
        let scene = import_file_as(&stored.glb_path, &shown, &params)
            .map_err(|e| engine_error(e.code(), &e))?;
        let manifest = Arc::new(
            extract_manifest(&scene, &ManifestParams::default())
                .map_err(|e| engine_error(e.code(), &e))?,
        );
        ctx.log(format!(
            "product {product_id}: {} parts",
            manifest.parts.len()
        ));
        let mut value = SceneValue::new(scene);
        value.manifest = Some(manifest.clone());
        Ok(NodeOutputs::new()
            .with("scene", scene_value(value))
            .with("manifest", manifest_value(manifest)))
    }
}

/// `material.resolve`: the product's material map over the library.
pub struct ResolveMaterials(pub Arc<dyn ProductSource>);

impl Module for ResolveMaterials {
    fn run(
        &self,
        ctx: &NodeContext,
        inputs: &NodeInputs,
        params: &Params,
    ) -> Result<NodeOutputs, ModuleError> {
        let options = resolve_options(&reader(ctx, params)?).map_err(param_error)?;
        let scene = inputs.require_as::<SceneValue>("scene")?;
        let manifest: Arc<Manifest> = match inputs.get("manifest") {
            Some(_) => inputs.require_as::<Arc<Manifest>>("manifest")?.clone(),
            None => scene.manifest().map_err(|e| engine_error(e.code(), &e))?,
        };
        let product_id = run_input_str(ctx, "product_id")?;
        let (library, map) = self
            .0
            .materials(&product_id)
            .map_err(|m| product_error(&product_id, m))?;
        let resolution = resolve_materials(&manifest, &library, &map, &options).map_err(|e| {
            let details = match &e {
                crate::materials::MaterialError::MissingMaterials(parts) => json!({"parts": parts}),
                _ => Value::Null,
            };
            engine_error(e.code(), &e).with_details(details)
        })?;
        let report =
            serde_json::to_vec_pretty(&resolution).map_err(|e| engine_error("encode_failed", e))?;
        let artifact =
            ctx.store_artifact(ArtifactRole::MaterialReport, "application/json", &report)?;
        let summary = json!({
            "parts": resolution.parts.len(),
            "missing": resolution.missing.len(),
            "stale_assignments": resolution.stale_assignments.len(),
        });
        let digest = serde_digest("material_report", &resolution);
        let resolution = Arc::new(resolution);
        let mut value = scene.clone();
        value.manifest = Some(manifest);
        value.resolution = Some(resolution.clone());
        let report_value = MaterialReportValue {
            resolution,
            artifact_id: Some(artifact.id),
        };
        let mut report =
            PortValue::new(PortType::MaterialReport, report_value).with_summary(summary);
        if let Some(d) = digest {
            report = report.with_digest(d);
        }
        Ok(NodeOutputs::new()
            .with("scene", scene_value(value))
            .with("report", report))
    }
}
