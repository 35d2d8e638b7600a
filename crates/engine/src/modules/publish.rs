//! `output.publish`: names the deliverables (the renderers already stored their bytes as
//! artifacts) and records them, with a notification when asked, through the
//! [`DeliverableSink`].

use std::sync::Arc;

use serde_json::{json, Map, Value};
use workflow_contracts::ArtifactRole;

use super::values::{FileValue, FramesValue, ImageValue, MaterialReportValue};
use super::{
    param_error, reader, Deliverable, DeliverableError, DeliverablePublication, DeliverableSink,
    DELIVERABLE_EXISTS, DELIVERABLE_STORE_FAILED,
};
use crate::file_name::file_part;
use crate::params::output_publish_params;
use crate::runtime::{Module, ModuleError, NodeContext, NodeInputs, NodeOutputs};

/// `output.publish`.
pub struct OutputPublish {
    /// `None`: the names are only logged and returned (no deliverable store).
    pub sink: Option<Arc<dyn DeliverableSink>>,
}

impl Module for OutputPublish {
    fn run(
        &self,
        ctx: &NodeContext,
        inputs: &NodeInputs,
        params: &Map<String, Value>,
    ) -> Result<NodeOutputs, ModuleError> {
        let p = output_publish_params(&reader(ctx, params)?).map_err(param_error)?;
        let product = ctx
            .run_input("product_id")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty());
        let line = ctx
            .run_input("order_line_id")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty());
        let date = crate::calendar::today_utc();
        // Ids and the output type's name may hold spaces or slashes: reduced to file-name
        // characters so a deliverable name never becomes a path.
        let product_part = file_part(product.unwrap_or("product"));
        let line_part = line.map(file_part).unwrap_or_default();
        let output_type_part = file_part(
            ctx.run_input("output_type")
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .unwrap_or("output"),
        );
        // A run without an order line drops the placeholder with its separator, so the
        // default names read `<product>_<output type>.png`, not `<product>_<output type>_.png`.
        let template = if line_part.is_empty() {
            p.naming_template
                .replace("_{order_line}", "")
                .replace("{order_line}_", "")
        } else {
            p.naming_template.clone()
        };
        let name = |ext: &str, frame: &str, w: u32, h: u32| {
            template
                .replace("{product}", &product_part)
                .replace("{order_line}", &line_part)
                .replace("{output_type}", &output_type_part)
                .replace("{frame}", frame)
                .replace("{width}", &w.to_string())
                .replace("{height}", &h.to_string())
                .replace("{date}", &date)
                .replace("{ext}", ext)
        };
        let mut deliverables = Vec::new();
        let images = inputs.all("image");
        for (i, v) in images.iter().enumerate() {
            if let Some(img) = v.downcast_ref::<ImageValue>() {
                let frame = if images.len() > 1 {
                    format!("_{i}")
                } else {
                    String::new()
                };
                deliverables.push(Deliverable {
                    name: name(img.ext, &frame, img.width, img.height),
                    role: ArtifactRole::Still,
                    artifact_id: img.artifact_id.clone(),
                });
            }
        }
        if let Some(f) = inputs
            .get("frames")
            .and_then(|v| v.downcast_ref::<FramesValue>())
        {
            deliverables.push(Deliverable {
                name: name("gif", "", f.width, f.height),
                role: ArtifactRole::Turntable,
                artifact_id: f.artifact_id.clone(),
            });
            for (i, id) in f.frame_artifact_ids.iter().enumerate() {
                deliverables.push(Deliverable {
                    name: name("png", &format!("_{i:03}"), f.width, f.height),
                    role: ArtifactRole::TurntableFrame,
                    artifact_id: Some(id.clone()),
                });
            }
        }
        if let Some(f) = inputs
            .get("scene_file")
            .and_then(|v| v.downcast_ref::<FileValue>())
        {
            let ext = f.name.rsplit('.').next().unwrap_or("glb");
            deliverables.push(Deliverable {
                name: name(ext, "", 0, 0),
                role: ArtifactRole::SceneExport,
                artifact_id: f.artifact_id.clone(),
            });
        }
        if let Some(report) = inputs.get("report") {
            deliverables.push(Deliverable {
                name: name("json", "_materials", 0, 0),
                role: ArtifactRole::MaterialReport,
                artifact_id: report
                    .downcast_ref::<MaterialReportValue>()
                    .and_then(|r| r.artifact_id.clone()),
            });
        }
        for d in &deliverables {
            ctx.log(format!("deliverable {}", d.name));
        }
        let (Some(sink), Some(product_id)) = (&self.sink, product) else {
            if self.sink.is_some() {
                ctx.warn("no product_id in the run inputs: the deliverables are not recorded");
            }
            return Ok(NodeOutputs::new());
        };
        if deliverables.is_empty() {
            ctx.warn("nothing to publish: no deliverable reached this node");
            return Ok(NodeOutputs::new());
        }
        let receipt = sink
            .publish(DeliverablePublication {
                run_id: ctx.run_id(),
                node_id: ctx.node_id(),
                product_id,
                order_line_id: line,
                deliverables: &deliverables,
                overwrite: p.overwrite,
                notify: p.notify,
            })
            .map_err(|e| match &e {
                DeliverableError::Exists { product_id, names } => {
                    ModuleError::new(DELIVERABLE_EXISTS, format!("{e}; set overwrite to replace it, or name deliverables apart (e.g. {{order_line}} or {{date}} in naming_template)"))
                        .with_details(json!({"product_id": product_id, "name": names.first(),
                                             "names": names}))
                }
                DeliverableError::Store(m) => ModuleError::new(
                    DELIVERABLE_STORE_FAILED,
                    format!("cannot record the deliverables: {m}"),
                ),
            })?;
        if !receipt.recorded {
            ctx.log(format!(
                "deliverables not recorded: {}",
                receipt
                    .note
                    .as_deref()
                    .unwrap_or("the deliverable store declined")
            ));
        }
        for n in &receipt.replaced {
            ctx.log(format!("replaced the earlier deliverable {n}"));
        }
        if let Some(id) = &receipt.notification_id {
            ctx.log(format!("notification {id} recorded"));
        }
        Ok(NodeOutputs::new())
    }
}
