//! `render.image` (thumbnail and still) and `render.turntable` on one shared, lazily started
//! [`RenderService`].

use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use serde_json::{json, Map, Value};
use workflow_contracts::{ArtifactRole, PortType};

use super::values::{FramesValue, ImageValue};
use super::{engine_error, param_error, reader, RENDERER_UNAVAILABLE};
use crate::cycles::{render_still_cycles, render_turntable_cycles};
use crate::digest::bytes_digest;
use crate::params::{image_params, render_engine, turntable_node_params, RenderEngine};
use crate::pipeline::{render_frames, render_image, SceneValue};
use crate::render::{OutputFormat, RenderError, RenderService, RenderedImage, TurntableEncoder};
use crate::runtime::{Module, ModuleError, NodeContext, NodeInputs, NodeOutputs, PortValue};

type Params = Map<String, Value>;

/// A [`RenderService`] started on first use, so a process that never renders never opens an
/// EGL context. A failed start is reported to that node (`renderer_unavailable`) and retried
/// by the next one.
#[derive(Default)]
pub struct LazyRenderService {
    service: Mutex<Option<Arc<RenderService>>>,
}

impl LazyRenderService {
    pub fn get(&self) -> Result<Arc<RenderService>, ModuleError> {
        let mut slot = self
            .service
            .lock()
            .map_err(|_| ModuleError::new(RENDERER_UNAVAILABLE, "the renderer lock is poisoned"))?;
        if let Some(service) = slot.as_ref() {
            return Ok(service.clone());
        }
        let service = Arc::new(RenderService::start().map_err(|e| {
            ModuleError::new(RENDERER_UNAVAILABLE, e.to_string())
                .with_details(json!({"cause": e.code()}))
        })?);
        *slot = Some(service.clone());
        Ok(service)
    }

    /// Whether the renderer was started.
    pub fn is_started(&self) -> bool {
        self.service.lock().map(|s| s.is_some()).unwrap_or(false)
    }
}

/// `render.image`: serves `render.thumbnail` (role `thumbnail`) and `render.still` (`still`).
pub struct RenderImage(pub Arc<LazyRenderService>);

impl Module for RenderImage {
    fn run(
        &self,
        ctx: &NodeContext,
        inputs: &NodeInputs,
        params: &Params,
    ) -> Result<NodeOutputs, ModuleError> {
        let p = image_params(&reader(ctx, params)?).map_err(param_error)?;
        let value = inputs.require_as::<SceneValue>("scene")?.clone();
        let role = if ctx.node_type() == "render.thumbnail" {
            ArtifactRole::Thumbnail
        } else {
            ArtifactRole::Still
        };
        let engine = render_engine(&reader(ctx, params)?).map_err(param_error)?;
        let format = p.format;
        let image = match engine {
            RenderEngine::Builtin => {
                let service = self.0.get()?;
                ctx.check_cancelled()?;
                ctx.log(format!("rendering {}×{}", p.width, p.height));
                service
                    .run(move |r| render_image(r, &value, &p))
                    .map_err(|e| engine_error(e.code(), &e))?
                    .map_err(|e| engine_error(e.code(), &e))?
            }
            RenderEngine::Cycles { samples } => {
                ctx.check_cancelled()?;
                ctx.log(format!(
                    "rendering {}×{} with Cycles, {samples} samples",
                    p.width, p.height
                ));
                let mut log = Vec::new();
                let cancel = ctx.cancellation();
                let image = render_still_cycles(&value, &p, samples, &mut log, Some(&cancel));
                for line in log {
                    ctx.log(line);
                }
                image.map_err(|e| engine_error(e.code(), &e))?
            }
        };
        let bytes = image
            .encode(format)
            .map_err(|e| engine_error(e.code(), &e))?;
        let (media_type, ext) = match format {
            OutputFormat::Png => ("image/png", "png"),
            OutputFormat::Jpeg => ("image/jpeg", "jpg"),
        };
        let artifact = ctx.store_artifact(role, media_type, &bytes)?;
        let summary = json!({"width": image.width, "height": image.height, "media_type": media_type, "size": bytes.len()});
        let digest = bytes_digest("image", &bytes);
        let out = ImageValue {
            bytes: Arc::new(bytes),
            media_type,
            ext,
            width: image.width,
            height: image.height,
            artifact_id: Some(artifact.id),
        };
        Ok(NodeOutputs::new().with(
            "image",
            PortValue::new(PortType::Image, out)
                .with_summary(summary)
                .with_digest(digest),
        ))
    }
}

/// `render.turntable`: the frames as one animated GIF artifact (`turntable`) and, unless
/// `png_frames` is off, one PNG artifact per frame (`turntable_frame`, in turning order).
///
/// Frames are encoded while the turntable renders: the render thread hands each frame over a
/// channel of one encoder batch, the node's thread feeds a [`TurntableEncoder`] and stores each
/// PNG as its batch is encoded, so about two batches of raw frames are held however many
/// frames there are. The GIF artifact is stored last, once complete.
pub struct RenderTurntable(pub Arc<LazyRenderService>);

impl Module for RenderTurntable {
    fn run(
        &self,
        ctx: &NodeContext,
        inputs: &NodeInputs,
        params: &Params,
    ) -> Result<NodeOutputs, ModuleError> {
        let node = turntable_node_params(&reader(ctx, params)?).map_err(param_error)?;
        let (p, png_frames) = (node.turntable, node.png_frames);
        let value = inputs.require_as::<SceneValue>("scene")?.clone();
        if let RenderEngine::Cycles { samples } =
            render_engine(&reader(ctx, params)?).map_err(param_error)?
        {
            return cycles_turntable(ctx, &value, &p, samples, png_frames);
        }
        let service = self.0.get()?;
        ctx.check_cancelled()?;
        ctx.log(format!(
            "rendering {} frames of {}×{}",
            p.frame_count, p.image.width, p.image.height
        ));
        let size = (p.image.width, p.image.height);
        let mut encoder = TurntableEncoder::new(1000 / 12, png_frames);
        let (tx, rx) = mpsc::sync_channel::<RenderedImage>(encoder.batch());
        let cancel = ctx.cancellation();
        let mut frame_artifact_ids = Vec::new();
        let (encoded, rendered) = std::thread::scope(|s| {
            let render = s.spawn(|| {
                service.run(move |r| {
                    render_frames(r, &value, &p, &mut |_, frame| {
                        hand_over(&tx, frame, &cancel)
                    })
                })
            });
            // Ends when the render job drops its sender (done or failed); returning early
            // drops the receiver, which stops the render job at its next frame.
            let encoded = (|| -> Result<(), ModuleError> {
                for frame in rx {
                    ctx.check_cancelled()?;
                    let pngs = encoder
                        .push(frame)
                        .map_err(|e| engine_error(e.code(), &e))?;
                    for png in pngs {
                        let a =
                            ctx.store_artifact(ArtifactRole::TurntableFrame, "image/png", &png)?;
                        frame_artifact_ids.push(a.id);
                    }
                }
                Ok(())
            })();
            (encoded, render.join())
        });
        encoded?;
        ctx.check_cancelled()?;
        rendered
            .map_err(|_| engine_error("render_failed", "the turntable render thread panicked"))?
            .map_err(|e| engine_error(e.code(), &e))?
            .map_err(|e| engine_error(e.code(), &e))?;
        finish_turntable(ctx, encoder, frame_artifact_ids, size)
    }
}

/// `render.turntable` with `engine = cycles`: one Blender run renders every frame; they are
/// encoded and stored exactly as the built-in renderer's.
fn cycles_turntable(
    ctx: &NodeContext,
    value: &SceneValue,
    p: &crate::turntable::TurntableParams,
    samples: u32,
    png_frames: bool,
) -> Result<NodeOutputs, ModuleError> {
    ctx.check_cancelled()?;
    ctx.log(format!(
        "rendering {} frames of {}×{} with Cycles, {samples} samples",
        p.frame_count, p.image.width, p.image.height
    ));
    let size = (p.image.width, p.image.height);
    let mut encoder = TurntableEncoder::new(1000 / 12, png_frames);
    let mut frame_artifact_ids = Vec::new();
    let mut log = Vec::new();
    let mut stored: Result<(), ModuleError> = Ok(());
    let cancel = ctx.cancellation();
    let rendered = render_turntable_cycles(
        value,
        p,
        samples,
        &mut log,
        Some(&cancel),
        &mut |_, frame| {
            let step = (|| -> Result<(), ModuleError> {
                ctx.check_cancelled()?;
                for png in encoder
                    .push(frame)
                    .map_err(|e| engine_error(e.code(), &e))?
                {
                    let a = ctx.store_artifact(ArtifactRole::TurntableFrame, "image/png", &png)?;
                    frame_artifact_ids.push(a.id);
                }
                Ok(())
            })();
            step.map_err(|e| {
                let message = e.to_string();
                stored = Err(e);
                crate::cycles::CyclesError::Stopped(message)
            })
        },
    );
    for line in log {
        ctx.log(line);
    }
    stored?;
    rendered.map_err(|e| engine_error(e.code(), &e))?;
    finish_turntable(ctx, encoder, frame_artifact_ids, size)
}

/// Encodes what is left, stores the GIF and answers the `frames` output.
fn finish_turntable(
    ctx: &NodeContext,
    encoder: TurntableEncoder,
    mut frame_artifact_ids: Vec<String>,
    size: (u32, u32),
) -> Result<NodeOutputs, ModuleError> {
    let frame_count = encoder.frames();
    let held = encoder.max_held();
    let (gif, pngs) = encoder.finish().map_err(|e| engine_error(e.code(), &e))?;
    for png in pngs {
        ctx.check_cancelled()?;
        let a = ctx.store_artifact(ArtifactRole::TurntableFrame, "image/png", &png)?;
        frame_artifact_ids.push(a.id);
    }
    let artifact = ctx.store_artifact(ArtifactRole::Turntable, "image/gif", &gif)?;
    if !frame_artifact_ids.is_empty() {
        ctx.log(format!("stored {} PNG frames", frame_artifact_ids.len()));
    }
    ctx.log(format!(
        "encoded {frame_count} frames as they came, at most {held} held at once"
    ));
    let (width, height) = if frame_count == 0 { (0, 0) } else { size };
    let summary = json!({
        "frames": frame_count,
        "width": width,
        "height": height,
        "size": gif.len(),
        "png_frames": frame_artifact_ids.len(),
    });
    let digest = bytes_digest("frames", &gif);
    let out = FramesValue {
        gif: Arc::new(gif),
        frame_count,
        width,
        height,
        artifact_id: Some(artifact.id),
        frame_artifact_ids,
    };
    Ok(NodeOutputs::new().with(
        "frames",
        PortValue::new(PortType::Frames, out)
            .with_summary(summary)
            .with_digest(digest),
    ))
}

/// Hands a rendered frame to the encoding thread. Waits while the encoder is a batch behind,
/// but never past a cancel: a blocked send would keep the render thread busy after the node
/// stopped.
fn hand_over(
    tx: &mpsc::SyncSender<RenderedImage>,
    mut frame: RenderedImage,
    cancel: &CancellationToken,
) -> Result<(), RenderError> {
    loop {
        if cancel.is_cancelled() {
            return Err(RenderError::Cancelled);
        }
        match tx.try_send(frame) {
            Ok(()) => return Ok(()),
            Err(mpsc::TrySendError::Full(f)) => {
                frame = f;
                std::thread::sleep(Duration::from_millis(2));
            }
            // The node stopped consuming (cancelled, or an artifact could not be stored).
            Err(mpsc::TrySendError::Disconnected(_)) => return Err(RenderError::Cancelled),
        }
    }
}
