//! What flows along `scene` edges between nodes, and the one place that decides how a render
//! combines the scene's camera, lighting and materials with the render node's parameters.
//! The graph runtime and the legacy pipeline both go through here.

use std::sync::{Arc, OnceLock};

use serde_json::Value;

use crate::camera::CameraParams;
use crate::lighting::LightingParams;
use crate::manifest::{extract_manifest, Manifest, ManifestError, ManifestParams};
use crate::materials::MaterialResolution;
use crate::render::{ImageParams, RenderError, RenderedImage, Renderer};
use crate::scene::Scene;
use crate::turntable::{render_turntable_each, TurntableParams};

/// A scene plus what later nodes attached to it.
#[derive(Debug, Clone)]
pub struct SceneValue {
    pub scene: Arc<Scene>,
    /// Set by `cad.extract_metadata` / `order.load_product_scene`.
    pub manifest: Option<Arc<Manifest>>,
    /// Set by `material.resolve`.
    pub resolution: Option<Arc<MaterialResolution>>,
    /// Set by `scene.camera`.
    pub camera: Option<CameraParams>,
    /// Set by `scene.lighting`.
    pub lighting: Option<LightingParams>,
    /// The geometry digest of `scene`, computed once and shared by clones (keyed by the
    /// scene's address, so a value whose scene was replaced recomputes it).
    geometry_digest: Arc<OnceLock<(usize, String)>>,
}

impl SceneValue {
    pub fn new(scene: Scene) -> Self {
        SceneValue {
            scene: Arc::new(scene),
            manifest: None,
            resolution: None,
            camera: None,
            lighting: None,
            geometry_digest: Arc::new(OnceLock::new()),
        }
    }

    /// Content digest of the value: the scene's geometry plus everything attached to it
    /// (manifest, resolved materials, camera, lighting). Recorded on each node run so a parity
    /// comparison can tell which node first changed the scene. The geometry part is computed
    /// once per scene and shared by every node downstream.
    pub fn digest(&self) -> String {
        let address = Arc::as_ptr(&self.scene) as usize;
        let geometry = match self.geometry_digest.get() {
            Some((a, d)) if *a == address => d.clone(),
            _ => {
                let d = crate::digest::scene_digest(&self.scene);
                // Only the first scene seen is cached; a replaced scene is recomputed each time.
                let _ = self.geometry_digest.set((address, d.clone()));
                d
            }
        };
        let mut d = crate::digest::Digest::new("scene_value");
        d.str(&geometry);
        let json = |v: Option<Value>| v.unwrap_or(Value::Null);
        d.json(&json(
            self.manifest
                .as_ref()
                .and_then(|m| serde_json::to_value(m.as_ref()).ok()),
        ));
        d.json(&json(
            self.resolution
                .as_ref()
                .and_then(|r| serde_json::to_value(r.as_ref()).ok()),
        ));
        // Plain parameter structs without serde: their Debug form is complete and stable.
        d.str(&format!("{:?}", self.camera));
        d.str(&format!("{:?}", self.lighting));
        d.finish()
    }

    /// The attached manifest, or one extracted with default parameters.
    pub fn manifest(&self) -> Result<Arc<Manifest>, ManifestError> {
        match &self.manifest {
            Some(m) => Ok(m.clone()),
            None => Ok(Arc::new(extract_manifest(
                &self.scene,
                &ManifestParams::default(),
            )?)),
        }
    }

    /// The resolved materials, or the file-material preview (`render.thumbnail`).
    pub fn resolution(&self, manifest: &Manifest) -> Arc<MaterialResolution> {
        self.resolution
            .clone()
            .unwrap_or_else(|| Arc::new(MaterialResolution::file_preview(manifest)))
    }

    /// Camera precedence: the render node's own camera parameters, else `scene.camera`'s,
    /// else the default three-quarter framing.
    pub fn image_params(&self, image: &ImageParams) -> ImageParams {
        let mut p = image.clone();
        if p.camera.is_none() {
            p.camera = Some(self.camera.clone().unwrap_or_default());
        }
        p
    }

    pub fn lighting(&self) -> LightingParams {
        self.lighting.clone().unwrap_or_default()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Render(#[from] RenderError),
}

impl PipelineError {
    pub fn code(&self) -> &'static str {
        match self {
            PipelineError::Manifest(e) => e.code(),
            PipelineError::Render(e) => e.code(),
        }
    }
}

/// `render.image` (thumbnail and still) on a scene value.
pub fn render_image(
    renderer: &mut Renderer,
    value: &SceneValue,
    image: &ImageParams,
) -> Result<RenderedImage, PipelineError> {
    let manifest = value.manifest()?;
    let resolution = value.resolution(&manifest);
    Ok(renderer.render_still(
        &value.scene,
        &manifest,
        &resolution,
        &value.lighting(),
        &value.image_params(image),
    )?)
}

/// `render.turntable` on a scene value: each frame goes to `on_frame` as it is rendered
/// (see [`render_turntable_each`]).
pub fn render_frames(
    renderer: &mut Renderer,
    value: &SceneValue,
    params: &TurntableParams,
    on_frame: &mut dyn FnMut(u32, RenderedImage) -> Result<(), RenderError>,
) -> Result<(), PipelineError> {
    let manifest = value.manifest()?;
    let resolution = value.resolution(&manifest);
    let params = TurntableParams {
        image: value.image_params(&params.image),
        ..params.clone()
    };
    Ok(render_turntable_each(
        renderer,
        &value.scene,
        &manifest,
        &resolution,
        &value.lighting(),
        &params,
        on_frame,
    )?)
}

/// `export.scene` on a scene value: geometry with the resolved materials (all textures), plus
/// the framed camera (square aspect) and the light rig when asked for.
pub fn export_scene_value(
    value: &SceneValue,
    params: &crate::params::SceneExportParams,
    stem: &str,
) -> Result<Vec<crate::export_glb::ExportedFile>, ExportPipelineError> {
    export_scene_value_logged(value, params, stem, &mut Vec::new(), None)
}

/// [`export_scene_value`], with what an external tool (Blender, OpenUSD) said appended to
/// `log` (the node's log) and the tool stopped when `cancel` fires. `glb`/`gltf` are written
/// here; `blend` goes through the Blender bridge and `usd` through OpenUSD, both starting from
/// [`scene_glb`].
pub fn export_scene_value_logged(
    value: &SceneValue,
    params: &crate::params::SceneExportParams,
    stem: &str,
    log: &mut Vec<String>,
    cancel: Option<&tokio_util::sync::CancellationToken>,
) -> Result<Vec<crate::export_glb::ExportedFile>, ExportPipelineError> {
    match params.format.as_str() {
        "blend" => {
            let (glb, manifest) = scene_glb(value, params)?;
            let parts = crate::blender::bridge_parts(&manifest, value.resolution.as_deref());
            let out = crate::blender::export_blend(
                &glb,
                &parts,
                &crate::blender::BlenderLimits {
                    cancel: cancel.cloned(),
                    ..crate::blender::BlenderLimits::default()
                },
            )?;
            log.extend(crate::blender::log_lines(&out.stderr));
            Ok(vec![crate::export_glb::ExportedFile {
                name: format!("{stem}.blend"),
                bytes: out.bytes,
            }])
        }
        "usd" => crate::usd::export_usd_scene(value, params, stem, log, cancel),
        format => Ok(export_scene_files(
            value,
            &*value.manifest()?,
            params,
            format,
            stem,
        )?),
    }
}

/// The scene as one GLB (resolved materials, textures embedded, camera and lights as asked):
/// what the Blender and OpenUSD bridges start from. Answers the manifest it was written with.
pub fn scene_glb(
    value: &SceneValue,
    params: &crate::params::SceneExportParams,
) -> Result<(Vec<u8>, Arc<Manifest>), ExportPipelineError> {
    let glb_params = crate::params::SceneExportParams {
        format: "glb".into(),
        embed_textures: true,
        ..params.clone()
    };
    let manifest = value.manifest()?;
    let files = export_scene_files(value, &manifest, &glb_params, "glb", "scene")?;
    let glb = files
        .into_iter()
        .next()
        .map(|f| f.bytes)
        .unwrap_or_default();
    Ok((glb, manifest))
}

/// The scene written as `format` with `manifest` (the value's, extracted once by the caller
/// when the value carries none).
fn export_scene_files(
    value: &SceneValue,
    manifest: &Manifest,
    params: &crate::params::SceneExportParams,
    format: &str,
    stem: &str,
) -> Result<Vec<crate::export_glb::ExportedFile>, ExportPipelineError> {
    use crate::export_glb::{export_scene, ExportParams, SceneAdditions};
    let camera = params.include_camera.then(|| {
        let bounds = manifest.bounds.unwrap_or(crate::scene::Aabb::EMPTY);
        crate::camera::frame_camera(&bounds, &value.camera.clone().unwrap_or_default(), 1.0)
    });
    let rig = params
        .include_lights
        .then(|| crate::lighting::light_rig(&value.lighting()));
    let additions = SceneAdditions {
        resolution: value.resolution.as_deref(),
        camera,
        lights: rig.as_ref(),
        external_textures: !params.embed_textures,
    };
    Ok(export_scene(
        &value.scene,
        manifest,
        &ExportParams::default(),
        &additions,
        format,
        stem,
    )?)
}

#[derive(Debug, thiserror::Error)]
pub enum ExportPipelineError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Export(#[from] crate::export_glb::ExportError),
    #[error(transparent)]
    Blender(#[from] crate::blender::BlenderError),
    #[error(transparent)]
    Usd(#[from] crate::export_usd::UsdError),
}

impl ExportPipelineError {
    pub fn code(&self) -> &'static str {
        match self {
            ExportPipelineError::Manifest(e) => e.code(),
            ExportPipelineError::Export(e) => e.code(),
            ExportPipelineError::Blender(e) => e.code(),
            ExportPipelineError::Usd(e) => e.code(),
        }
    }
}
