//! `output.publish`: names the deliverables (the renderers already stored them as artifacts).

use serde_json::{Map, Value};

use super::values::{FileValue, FramesValue, ImageValue};
use super::{param_error, reader};
use crate::runtime::{Module, ModuleError, NodeContext, NodeInputs, NodeOutputs};

/// `output.publish`.
pub struct OutputPublish;

impl Module for OutputPublish {
    fn run(
        &self,
        ctx: &NodeContext,
        inputs: &NodeInputs,
        params: &Map<String, Value>,
    ) -> Result<NodeOutputs, ModuleError> {
        let template = reader(ctx, params)?
            .string("naming_template")
            .map_err(param_error)?;
        let product = ctx
            .run_input("product_id")
            .and_then(Value::as_str)
            .unwrap_or("product");
        let line = ctx
            .run_input("order_line_id")
            .and_then(Value::as_str)
            .unwrap_or("");
        let name = |ext: &str, frame: &str, w: u32, h: u32| {
            template
                .replace("{product}", product)
                .replace("{order_line}", line)
                .replace(
                    "{output_type}",
                    ctx.run_input("output_type")
                        .and_then(Value::as_str)
                        .unwrap_or("output"),
                )
                .replace("{frame}", frame)
                .replace("{width}", &w.to_string())
                .replace("{height}", &h.to_string())
                .replace("{ext}", ext)
        };
        let mut names = Vec::new();
        for (i, v) in inputs.all("image").iter().enumerate() {
            if let Some(img) = v.downcast_ref::<ImageValue>() {
                let frame = if inputs.all("image").len() > 1 {
                    format!("_{i}")
                } else {
                    String::new()
                };
                names.push(name(img.ext, &frame, img.width, img.height));
            }
        }
        if let Some(f) = inputs
            .get("frames")
            .and_then(|v| v.downcast_ref::<FramesValue>())
        {
            names.push(name("gif", "", f.width, f.height));
        }
        if let Some(f) = inputs
            .get("scene_file")
            .and_then(|v| v.downcast_ref::<FileValue>())
        {
            let ext = f.name.rsplit('.').next().unwrap_or("glb");
            names.push(name(ext, "", 0, 0));
        }
        if inputs.get("report").is_some() {
            names.push(name("json", "_materials", 0, 0));
        }
        for n in &names {
            ctx.log(format!("deliverable {n}"));
        }
        Ok(NodeOutputs::new())
    }
}
