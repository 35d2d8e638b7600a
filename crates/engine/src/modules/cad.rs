//! `cad.source`, `cad.import`, `cad.extract_metadata`, `cad.export_glb`, `cad.publish`.

use std::sync::Arc;

use serde_json::{json, Map, Value};
use workflow_contracts::{ArtifactRole, PortType};

use super::values::{CadFileValue, FileValue, ImageValue};
use super::{
    engine_error, param_error, product_error, reader, run_input_str, CadPublication, ProductSource,
    PublishError, ALREADY_PUBLISHED,
};
use crate::digest::{bytes_digest, serde_digest, Digest};
use crate::export_glb::{export_glb, SceneAdditions};
use crate::manifest::{extract_manifest, Manifest};
use crate::params::{
    cad_publish_params, cad_source_params, export_params, import_params, manifest_params,
};
use crate::pipeline::SceneValue;
use crate::runtime::{Module, ModuleError, NodeContext, NodeInputs, NodeOutputs, PortValue};

type Params = Map<String, Value>;

/// `cad.source`: the product's uploaded file (or the run input `cad_path`, when allowed).
pub struct CadSource {
    pub products: Arc<dyn ProductSource>,
    pub allow_cad_path: bool,
}

impl Module for CadSource {
    fn run(
        &self,
        ctx: &NodeContext,
        _: &NodeInputs,
        params: &Params,
    ) -> Result<NodeOutputs, ModuleError> {
        let p = cad_source_params(&reader(ctx, params)?).map_err(param_error)?;
        let max_mb = p.max_file_size_mb;
        let cad_path = ctx
            .run_input("cad_path")
            .and_then(Value::as_str)
            .filter(|_| self.allow_cad_path);
        let (path, product_id) = match cad_path {
            Some(p) => (std::path::PathBuf::from(p), None),
            None => {
                let id = run_input_str(ctx, "product_id")?;
                let path = self
                    .products
                    .cad_file(&id)
                    .map_err(|m| product_error(&id, m))?;
                (path, Some(id))
            }
        };
        let shown = match &product_id {
            Some(id) => format!(
                "`{}` of product {id}",
                path.file_name().map_or_else(
                    || "the uploaded file".into(),
                    |n| n.to_string_lossy().into_owned()
                )
            ),
            None => path.display().to_string(),
        };
        let size = std::fs::metadata(&path)
            .map_err(|e| engine_error("import_io", format!("cannot read {shown}: {e}")))?
            .len();
        if size > max_mb.saturating_mul(1024 * 1024) {
            return Err(ModuleError::new(
                "file_too_large",
                format!("{shown} is {size} bytes, above max_file_size {max_mb} MB"),
            ));
        }
        ctx.log(format!(
            "CAD file {shown} ({size} bytes, source unit {})",
            p.source_unit.as_str()
        ));
        let summary = json!({"file": path.file_name().map(|n| n.to_string_lossy()), "size": size,
                             "source_unit": p.source_unit.as_str()});
        // Identity, not content: hashing a large CAD file on every run is not cheap.
        let digest = Digest::new("cad_file")
            .str(&path.to_string_lossy())
            .u64(size)
            .str(p.source_unit.as_str())
            .finish();
        let value = CadFileValue {
            path,
            shown,
            product_id,
            source_unit: p.source_unit,
        };
        Ok(NodeOutputs::new().with(
            "cad_file",
            PortValue::new(PortType::CadFile, value)
                .with_summary(summary)
                .with_digest(digest),
        ))
    }
}

/// `cad.import`.
pub struct CadImport;

impl Module for CadImport {
    fn run(
        &self,
        ctx: &NodeContext,
        inputs: &NodeInputs,
        params: &Params,
    ) -> Result<NodeOutputs, ModuleError> {
        let mut p = import_params(&reader(ctx, params)?).map_err(param_error)?;
        let file = inputs.require_as::<CadFileValue>("cad_file")?;
        p.source_unit = file.source_unit;
        let scene = crate::import::import_file_as(&file.path, &file.shown, &p).map_err(|e| {
            let mut details = json!({"file": file.shown});
            if let Some(pointer) = e.pointer() {
                details["pointer"] = json!(pointer);
            }
            engine_error(e.code(), &e).with_details(details)
        })?;
        let summary = json!({"nodes": scene.nodes.len(), "meshes": scene.meshes.len()});
        ctx.log(format!("imported {summary}"));
        for w in &scene.warnings {
            // glTF defects that do not change the result (the validator's warnings) are
            // reported too, so the run shows what was ignored.
            if w.starts_with("source_unit") || w.starts_with("glTF") || w.starts_with("GLB") {
                ctx.warn(w.clone());
            }
        }
        let value = SceneValue::new(scene);
        let digest = value.digest();
        Ok(NodeOutputs::new().with(
            "scene",
            PortValue::new(PortType::Scene, value)
                .with_summary(summary)
                .with_digest(digest),
        ))
    }
}

pub(crate) fn manifest_value(manifest: Arc<Manifest>) -> PortValue {
    let summary = json!({"parts": manifest.parts.len(), "triangles": manifest.total_triangles});
    let digest = serde_digest("part_manifest", manifest.as_ref());
    let value = PortValue::new(PortType::PartManifest, manifest).with_summary(summary);
    match digest {
        Some(d) => value.with_digest(d),
        None => value,
    }
}

pub(crate) fn scene_value(value: SceneValue) -> PortValue {
    let summary = json!({
        "parts": value.manifest.as_ref().map(|m| m.parts.len()),
        "materials": value.resolution.is_some(),
        "camera": value.camera.is_some(),
        "lighting": value.lighting.is_some(),
    });
    let digest = value.digest();
    PortValue::new(PortType::Scene, value)
        .with_summary(summary)
        .with_digest(digest)
}

/// `cad.extract_metadata`.
pub struct ExtractMetadata;

impl Module for ExtractMetadata {
    fn run(
        &self,
        ctx: &NodeContext,
        inputs: &NodeInputs,
        params: &Params,
    ) -> Result<NodeOutputs, ModuleError> {
        let p = manifest_params(&reader(ctx, params)?).map_err(param_error)?;
        let scene = inputs.require_as::<SceneValue>("scene")?;
        let manifest =
            Arc::new(extract_manifest(&scene.scene, &p).map_err(|e| engine_error(e.code(), &e))?);
        let json = serde_json::to_vec_pretty(manifest.as_ref())
            .map_err(|e| engine_error("encode_failed", e))?;
        ctx.store_artifact(ArtifactRole::PartManifest, "application/json", &json)?;
        let mut out = scene.clone();
        out.manifest = Some(manifest.clone());
        Ok(NodeOutputs::new()
            .with("scene", scene_value(out))
            .with("manifest", manifest_value(manifest)))
    }
}

/// `cad.export_glb`.
pub struct ExportGlb;

impl Module for ExportGlb {
    fn run(
        &self,
        ctx: &NodeContext,
        inputs: &NodeInputs,
        params: &Params,
    ) -> Result<NodeOutputs, ModuleError> {
        let p = export_params(&reader(ctx, params)?).map_err(param_error)?;
        let scene = inputs.require_as::<SceneValue>("scene")?;
        let manifest = inputs.require_as::<Arc<Manifest>>("manifest")?;
        let glb = export_glb(&scene.scene, manifest, &p, &SceneAdditions::default())
            .map_err(|e| engine_error(e.code(), &e))?;
        let artifact = ctx.store_artifact(ArtifactRole::PreviewGlb, "model/gltf-binary", &glb)?;
        let summary = json!({"size": glb.len(), "parts": manifest.parts.len()});
        let digest = bytes_digest("scene_file", &glb);
        let file = FileValue {
            name: "preview.glb".into(),
            media_type: "model/gltf-binary",
            bytes: Arc::new(glb),
            artifact_id: Some(artifact.id),
        };
        Ok(NodeOutputs::new().with(
            "glb",
            PortValue::new(PortType::SceneFile, file)
                .with_summary(summary)
                .with_digest(digest),
        ))
    }
}

/// `cad.publish`: hands GLB, manifest and thumbnail to the product store.
pub struct CadPublish(pub Arc<dyn ProductSource>);

impl Module for CadPublish {
    fn run(
        &self,
        ctx: &NodeContext,
        inputs: &NodeInputs,
        params: &Params,
    ) -> Result<NodeOutputs, ModuleError> {
        let p = cad_publish_params(&reader(ctx, params)?).map_err(param_error)?;
        let glb = inputs.require_as::<FileValue>("glb")?;
        let manifest = match inputs.get("manifest") {
            Some(_) => Some(inputs.require_as::<Arc<Manifest>>("manifest")?.clone()),
            None => None,
        };
        let thumbnail = match inputs.get("thumbnail") {
            Some(_) => Some(inputs.require_as::<ImageValue>("thumbnail")?.clone()),
            None => None,
        };
        let Some(product_id) = ctx.run_input("product_id").and_then(Value::as_str) else {
            ctx.warn("no product_id in the run inputs: nothing to publish the preview on");
            return Ok(NodeOutputs::new());
        };
        self.0
            .publish_cad(CadPublication {
                product_id,
                glb: &glb.bytes,
                manifest: manifest.as_deref(),
                thumbnail_png: thumbnail.as_ref().map(|t| t.bytes.as_slice()),
                mark_processed: p.mark_processed,
                replace_existing: p.replace_existing,
            })
            .map_err(|e| match e {
                PublishError::AlreadyPublished { .. } => {
                    ModuleError::new(ALREADY_PUBLISHED, e.to_string())
                        .with_details(json!({"product_id": product_id, "replace_existing": false}))
                }
                PublishError::Store(m) => product_error(product_id, m),
            })?;
        ctx.log(format!("published the preview of product {product_id}"));
        Ok(NodeOutputs::new())
    }
}
