//! `scene.camera`, `scene.lighting`, `export.scene`.

use std::sync::Arc;

use serde_json::{json, Map, Value};
use workflow_contracts::{ArtifactRole, PortType};

use super::cad::scene_value;
use super::values::FileValue;
use super::{engine_error, param_error, reader};
use crate::params::{camera_params, lighting_params, scene_export_params};
use crate::pipeline::{export_scene_value_logged, SceneValue};
use crate::runtime::{Module, ModuleError, NodeContext, NodeInputs, NodeOutputs, PortValue};

type Params = Map<String, Value>;

/// `scene.camera`: attaches the camera parameters (framed at render time).
pub struct Camera;

impl Module for Camera {
    fn run(
        &self,
        ctx: &NodeContext,
        inputs: &NodeInputs,
        params: &Params,
    ) -> Result<NodeOutputs, ModuleError> {
        let camera = camera_params(&reader(ctx, params)?).map_err(param_error)?;
        let mut value = inputs.require_as::<SceneValue>("scene")?.clone();
        value.camera = Some(camera);
        Ok(NodeOutputs::new().with("scene", scene_value(value)))
    }
}

/// `scene.lighting`: attaches the light rig parameters.
pub struct Lighting;

impl Module for Lighting {
    fn run(
        &self,
        ctx: &NodeContext,
        inputs: &NodeInputs,
        params: &Params,
    ) -> Result<NodeOutputs, ModuleError> {
        let lighting = lighting_params(&reader(ctx, params)?).map_err(param_error)?;
        let mut value = inputs.require_as::<SceneValue>("scene")?.clone();
        value.lighting = Some(lighting);
        Ok(NodeOutputs::new().with("scene", scene_value(value)))
    }
}

/// `export.scene`: the scene with materials, camera and lights as GLB (or glTF).
pub struct ExportScene;

impl Module for ExportScene {
    fn run(
        &self,
        ctx: &NodeContext,
        inputs: &NodeInputs,
        params: &Params,
    ) -> Result<NodeOutputs, ModuleError> {
        let p = scene_export_params(&reader(ctx, params)?).map_err(param_error)?;
        let value = inputs.require_as::<SceneValue>("scene")?;
        let mut log = Vec::new();
        let cancel = ctx.cancellation();
        let exported = export_scene_value_logged(value, &p, "scene", &mut log, Some(&cancel));
        // What Blender or OpenUSD said belongs in the node's log, failed or not.
        for line in log {
            ctx.log(line);
        }
        let files = exported.map_err(|e| engine_error(e.code(), &e))?;
        let mut main = None;
        for file in files {
            let media_type = media_type_of(&file.name);
            let artifact =
                ctx.store_artifact(ArtifactRole::SceneExport, media_type, &file.bytes)?;
            if main.is_none() && is_scene_file(&file.name) {
                main = Some(FileValue {
                    name: file.name,
                    media_type,
                    bytes: Arc::new(file.bytes),
                    artifact_id: Some(artifact.id),
                });
            }
        }
        let main =
            main.ok_or_else(|| engine_error("export_failed", "the export wrote no scene file"))?;
        let summary = json!({"name": main.name, "size": main.bytes.len()});
        let digest = crate::digest::bytes_digest("scene_file", &main.bytes);
        Ok(NodeOutputs::new().with(
            "scene_file",
            PortValue::new(PortType::SceneFile, main)
                .with_summary(summary)
                .with_digest(digest),
        ))
    }
}

/// The scene file of an export (beside it: textures, a .bin).
fn is_scene_file(name: &str) -> bool {
    matches!(
        name.rsplit('.').next(),
        Some("glb" | "gltf" | "blend" | "usd" | "usda" | "usdc" | "usdz")
    )
}

fn media_type_of(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("glb") => "model/gltf-binary",
        Some("gltf") => "model/gltf+json",
        Some("blend") => "application/x-blender",
        Some("usd" | "usda" | "usdc") => "model/vnd.usd",
        Some("usdz") => "model/vnd.usdz+zip",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        _ => "application/octet-stream",
    }
}
