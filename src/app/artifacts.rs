//! A run's artifacts in the app: fetched and decoded in the background, shown as thumbnails
//! that open large; animated turntables play frame by frame; any artifact can be saved with
//! the platform's file dialog.

use super::file_dialogs::{DialogKind, DialogPurpose, DialogRequest};
use super::StudioApp;
use crate::backend::client::ApiClient;
use crate::backend::BackendEvent;
use crate::command::Command;
use egui::{ColorImage, TextureHandle, TextureOptions, Ui};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use workflow_engine::file_name::file_part;
use workflow_engine::runtime::NodeRun;

/// Thumbnail edge in points.
const THUMB: f32 = 112.0;

/// One decoded frame of an image artifact.
#[derive(Clone)]
pub struct Frame {
    pub image: Arc<ColorImage>,
    /// How long the frame shows when played (animated GIFs); 0 for stills.
    pub delay_ms: u32,
}

/// An artifact's bytes and, for images, its decoded frames.
pub struct LoadedArtifact {
    pub bytes: Arc<Vec<u8>>,
    pub media_type: String,
    pub frames: Vec<Frame>,
}

impl std::fmt::Debug for LoadedArtifact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedArtifact")
            .field("media_type", &self.media_type)
            .field("bytes", &self.bytes.len())
            .field("frames", &self.frames.len())
            .finish()
    }
}

pub enum Entry {
    Loading,
    Failed(String),
    Ready(Arc<LoadedArtifact>),
}

/// The artifact shown large, with its playback state.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenArtifact {
    pub id: String,
    pub title: String,
    pub frame: usize,
    pub playing: bool,
    /// When the current frame started showing (egui time, seconds).
    pub frame_started: f64,
}

#[derive(Default)]
pub struct ArtifactView {
    entries: HashMap<String, Entry>,
    /// GPU textures of decoded frames, made on first draw: `(artifact id, frame)`.
    textures: HashMap<(String, usize), TextureHandle>,
    pub open: Option<OpenArtifact>,
}

impl ArtifactView {
    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.entries.get(id)
    }

    pub fn loaded(&self, id: &str) -> Option<Arc<LoadedArtifact>> {
        match self.entries.get(id) {
            Some(Entry::Ready(a)) => Some(Arc::clone(a)),
            _ => None,
        }
    }

    /// The texture of one frame, uploaded on first use.
    pub fn texture(
        &mut self,
        ctx: &egui::Context,
        id: &str,
        frame: usize,
    ) -> Option<TextureHandle> {
        let key = (id.to_owned(), frame);
        if let Some(t) = self.textures.get(&key) {
            return Some(t.clone());
        }
        let Some(Entry::Ready(a)) = self.entries.get(id) else {
            return None;
        };
        let image = a.frames.get(frame)?.image.clone();
        let texture = ctx.load_texture(
            format!("artifact-{id}-{frame}"),
            image,
            TextureOptions::LINEAR,
        );
        self.textures.insert(key, texture.clone());
        Some(texture)
    }
}

/// Decodes an image artifact into frames (every frame of an animated GIF); other media types
/// have none.
pub fn decode_frames(bytes: &[u8], media_type: &str) -> Result<Vec<Frame>, String> {
    use image::AnimationDecoder;
    let to_color = |rgba: &image::RgbaImage| {
        Arc::new(ColorImage::from_rgba_unmultiplied(
            [rgba.width() as usize, rgba.height() as usize],
            rgba.as_raw(),
        ))
    };
    match media_type {
        "image/gif" => {
            let decoder = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(bytes))
                .map_err(|e| format!("GIF: {e}"))?;
            let mut frames = Vec::new();
            for frame in decoder.into_frames() {
                let frame = frame.map_err(|e| format!("GIF frame {}: {e}", frames.len()))?;
                let (num, den) = frame.delay().numer_denom_ms();
                frames.push(Frame {
                    delay_ms: num.checked_div(den).unwrap_or(100).max(20),
                    image: to_color(frame.buffer()),
                });
            }
            Ok(frames)
        }
        "image/png" | "image/jpeg" => {
            let image = image::load_from_memory(bytes).map_err(|e| e.to_string())?;
            Ok(vec![Frame {
                image: to_color(&image.to_rgba8()),
                delay_ms: 0,
            }])
        }
        _ => Ok(Vec::new()),
    }
}

/// An artifact as the run detail lists it: which node made it, in which role.
#[derive(Debug, Clone, PartialEq)]
pub struct ArtifactItem {
    pub id: String,
    pub node_id: String,
    pub role: String,
    pub media_type: String,
    pub size: u64,
}

/// Every artifact of a run's nodes, in node order.
pub fn run_artifacts(nodes: &[NodeRun]) -> Vec<ArtifactItem> {
    nodes
        .iter()
        .flat_map(|n| {
            n.artifacts.iter().map(|a| ArtifactItem {
                id: a.id.clone(),
                node_id: n.node_id.clone(),
                role: a.role.to_string(),
                media_type: a.media_type.clone(),
                size: a.size,
            })
        })
        .collect()
}

/// A short name for a file's kind.
fn kind_of(media_type: &str) -> &str {
    match media_type {
        "model/gltf-binary" => "GLB",
        "model/vnd.usd" => "USD",
        "application/x-blender" => "Blender",
        "application/json" => "JSON",
        "image/png" => "PNG",
        "image/gif" => "GIF",
        other => other,
    }
}

/// A file name for saving an artifact: node, role and short id, extension by media type. The
/// node id, role and id come from the server: each is reduced to file-name characters, so the
/// name is one plain file name whatever the server sent.
pub fn suggested_file_name(meta: &ArtifactItem) -> String {
    let ext = workflow_engine::local::extension_for(&meta.media_type);
    let short: String = meta.id.chars().take(8).collect();
    format!(
        "{}-{}-{}.{ext}",
        file_part(&meta.node_id),
        file_part(&meta.role),
        file_part(&short)
    )
}

/// `dir/name`, refused unless `name` is one plain file name (no separator, no `..`, not
/// absolute): the last guard before a name that came from the server is written to.
pub fn path_in(dir: &Path, name: &str) -> Result<PathBuf, String> {
    let mut parts = Path::new(name).components();
    match (parts.next(), parts.next()) {
        (Some(Component::Normal(_)), None) if !name.contains(['/', '\\']) => Ok(dir.join(name)),
        _ => Err(format!("refused to write {name:?}: not a plain file name")),
    }
}

/// Fetches `items` one by one and writes them into `dir` as `<node>-frame-<n>.png` (names
/// reduced to file-name characters, so every file lands inside `dir`); the first failure
/// stops and is returned. Answers the paths written.
pub async fn write_frames_into(
    client: &ApiClient,
    dir: &Path,
    items: &[ArtifactItem],
) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::with_capacity(items.len());
    for (i, meta) in items.iter().enumerate() {
        let path = path_in(dir, &frame_file_name(meta, i))?;
        let (bytes, _) = client
            .artifact(&meta.id)
            .await
            .map_err(|e| format!("frame {i}: {e}"))?;
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

impl StudioApp {
    /// Starts fetching and decoding an artifact unless it is loaded or on its way.
    pub(super) fn fetch_artifact(&mut self, id: String) {
        if self.artifacts.entries.contains_key(&id) {
            return;
        }
        let Some(c) = self.server.client.clone() else {
            return;
        };
        self.artifacts.entries.insert(id.clone(), Entry::Loading);
        self.spawn(async move {
            match c.artifact(&id).await {
                Ok((bytes, media_type)) => {
                    // Decoding a long turntable takes a while: off the async workers.
                    let decoded = tokio::task::spawn_blocking(move || {
                        let frames = decode_frames(&bytes, &media_type);
                        frames.map(|frames| LoadedArtifact {
                            bytes: Arc::new(bytes),
                            media_type,
                            frames,
                        })
                    })
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r);
                    BackendEvent::Artifact {
                        id,
                        result: decoded.map(Arc::new),
                    }
                }
                Err(e) => BackendEvent::Artifact {
                    id,
                    result: Err(e.to_string()),
                },
            }
        });
    }

    pub(super) fn on_artifact(&mut self, id: String, result: Result<Arc<LoadedArtifact>, String>) {
        let entry = match result {
            Ok(a) => Entry::Ready(a),
            Err(e) => Entry::Failed(e),
        };
        self.artifacts.textures.retain(|(a, _), _| *a != id);
        self.artifacts.entries.insert(id, entry);
    }

    /// Asks where to save an artifact, then writes it there (see `file_dialogs`).
    pub(super) fn save_artifact(
        &mut self,
        ctx: &egui::Context,
        meta: ArtifactItem,
    ) -> Result<(), String> {
        self.server.client.as_ref().ok_or("Not connected")?;
        let name = suggested_file_name(&meta);
        self.ask_for_files(
            ctx,
            DialogRequest {
                title: "Save artifact",
                filters: Vec::new(),
                kind: DialogKind::SaveFile { name },
                purpose: DialogPurpose::SaveArtifact(meta),
            },
        );
        Ok(())
    }

    /// Asks for a folder, then fetches the artifacts one by one and writes them there as
    /// `<node>-frame-<n>.png`; the first failure stops and is reported.
    pub(super) fn save_artifact_set(
        &mut self,
        ctx: &egui::Context,
        items: Vec<ArtifactItem>,
    ) -> Result<(), String> {
        self.server.client.as_ref().ok_or("Not connected")?;
        self.ask_for_files(
            ctx,
            DialogRequest {
                title: "Save turntable frames into",
                filters: Vec::new(),
                kind: DialogKind::PickFolder,
                purpose: DialogPurpose::SaveFrames(items),
            },
        );
        Ok(())
    }
}

/// What the artifact panel shows as one card: an artifact, or a node's turntable frames.
#[derive(Debug, PartialEq)]
enum Card<'a> {
    One(&'a ArtifactItem),
    Frames(&'a [ArtifactItem]),
}

/// Consecutive `turntable_frame` artifacts of one node become one card; 36 thumbnails of
/// nearly the same picture would bury the rest.
fn cards(artifacts: &[ArtifactItem]) -> Vec<Card<'_>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < artifacts.len() {
        let a = &artifacts[i];
        if a.role == FRAME_ROLE {
            let len = artifacts[i..]
                .iter()
                .take_while(|b| b.role == FRAME_ROLE && b.node_id == a.node_id)
                .count();
            out.push(Card::Frames(&artifacts[i..i + len]));
            i += len;
        } else {
            out.push(Card::One(a));
            i += 1;
        }
    }
    out
}

const FRAME_ROLE: &str = "turntable_frame";

/// The file name a frame of a set gets in the chosen folder (the node id is the server's:
/// reduced to file-name characters).
pub fn frame_file_name(meta: &ArtifactItem, index: usize) -> String {
    format!("{}-frame-{index:03}.png", file_part(&meta.node_id))
}

/// The artifacts of a run as thumbnails (images) or labelled chips (other files); each can be
/// opened large or saved. A turntable's PNG frames share one card.
pub(super) fn artifacts_ui(
    ui: &mut Ui,
    view: &mut ArtifactView,
    artifacts: &[ArtifactItem],
    out: &mut Vec<Command>,
) {
    if artifacts.is_empty() {
        ui.weak("No artifacts.");
        return;
    }
    ui.horizontal_wrapped(|ui| {
        for card in cards(artifacts) {
            let meta = match card {
                Card::One(meta) => meta,
                Card::Frames(frames) => {
                    frames_card_ui(ui, view, frames, out);
                    continue;
                }
            };
            ui.vertical(|ui| {
                ui.set_width(THUMB);
                thumbnail_ui(ui, view, meta, out);
                ui.label(format!("{} · {}", meta.node_id, meta.role))
                    .on_hover_text(format!(
                        "{} · {}",
                        meta.media_type,
                        super::run_detail::human_size(meta.size)
                    ));
                ui.horizontal(|ui| {
                    if ui.small_button("Save…").clicked() {
                        out.push(Command::SaveArtifact(meta.clone()));
                    }
                    if meta.media_type == "model/gltf-binary"
                        && ui
                            .small_button("Open in viewer")
                            .on_hover_text("Parts, materials and missing assignments in 3D")
                            .clicked()
                    {
                        out.push(Command::OpenGlbInViewer(
                            crate::viewer::GlbSource::Artifact {
                                id: meta.id.clone(),
                                title: format!("{} · {}", meta.node_id, meta.role),
                            },
                        ));
                    }
                });
            });
        }
    });
}

/// A node's turntable frames: the first frame as the thumbnail, the count, and one button
/// that saves them all into a folder.
fn frames_card_ui(
    ui: &mut Ui,
    view: &mut ArtifactView,
    frames: &[ArtifactItem],
    out: &mut Vec<Command>,
) {
    let Some(first) = frames.first() else {
        return;
    };
    ui.vertical(|ui| {
        ui.set_width(THUMB);
        thumbnail_ui(ui, view, first, out);
        let total: u64 = frames.iter().map(|f| f.size).sum();
        ui.label(format!("{} · {} PNG frames", first.node_id, frames.len()))
            .on_hover_text(format!(
                "one PNG per turntable frame, {} in all",
                super::run_detail::human_size(total)
            ));
        if ui
            .small_button("Save frames…")
            .on_hover_text("Write every frame into a folder")
            .clicked()
        {
            out.push(Command::SaveArtifactSet(frames.to_vec()));
        }
    });
}

fn thumbnail_ui(ui: &mut Ui, view: &mut ArtifactView, meta: &ArtifactItem, out: &mut Vec<Command>) {
    if !meta.media_type.starts_with("image/") {
        // Files that are not images get a card with their kind and size.
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.set_min_size(egui::vec2(THUMB - 14.0, THUMB - 14.0));
            ui.vertical_centered(|ui| {
                ui.add_space(THUMB * 0.25);
                ui.strong(kind_of(&meta.media_type));
                ui.weak(super::run_detail::human_size(meta.size));
            });
        });
        return;
    }
    match view.entry(&meta.id) {
        None => {
            out.push(Command::FetchArtifact(meta.id.clone()));
            ui.add_sized([THUMB, THUMB], egui::Spinner::new());
        }
        Some(Entry::Loading) => {
            ui.add_sized([THUMB, THUMB], egui::Spinner::new());
        }
        Some(Entry::Failed(e)) => {
            ui.colored_label(crate::editor::style::ERROR, e.clone());
        }
        Some(Entry::Ready(_)) => {
            let Some(texture) = view.texture(ui.ctx(), &meta.id, 0) else {
                ui.weak("no image");
                return;
            };
            let frames = view.loaded(&meta.id).map_or(0, |a| a.frames.len());
            let hover = if frames > 1 {
                format!("{frames} frames: click to play")
            } else {
                "Click to open large".to_owned()
            };
            let r = ui
                .add(
                    egui::Image::new(&texture)
                        .alt_text(format!("{} · {} image", meta.node_id, meta.role))
                        .max_size(egui::vec2(THUMB, THUMB))
                        .sense(egui::Sense::click()),
                )
                .on_hover_text(hover);
            if r.clicked() {
                out.push(Command::OpenArtifact {
                    id: meta.id.clone(),
                    title: format!("{} · {}", meta.node_id, meta.role),
                });
            }
        }
    }
}

/// The artifact opened large, in its own window; turntables play, pause and step.
pub(super) fn open_artifact_ui(
    ctx: &egui::Context,
    view: &mut ArtifactView,
    out: &mut Vec<Command>,
) {
    let Some(mut open) = view.open.clone() else {
        return;
    };
    let now = ctx.input(|i| i.time);
    let frames = view.loaded(&open.id).map_or(0, |a| a.frames.len());
    let mut keep_open = true;
    egui::Window::new(format!("Artifact {}", open.title))
        .id(egui::Id::new("open_artifact"))
        .open(&mut keep_open)
        .default_size([720.0, 720.0])
        .pivot(egui::Align2::CENTER_CENTER)
        .default_pos(ctx.content_rect().center())
        .resizable(true)
        .show(ctx, |ui| {
            if frames > 1 {
                ui.horizontal(|ui| {
                    if ui
                        .button(if open.playing {
                            "⏸ Pause"
                        } else {
                            "▶ Play"
                        })
                        .clicked()
                    {
                        open.playing = !open.playing;
                        open.frame_started = now;
                    }
                    if ui.button("◀").on_hover_text("Previous frame").clicked() {
                        open.playing = false;
                        open.frame = (open.frame + frames - 1) % frames;
                    }
                    if ui.button("▶|").on_hover_text("Next frame").clicked() {
                        open.playing = false;
                        open.frame = (open.frame + 1) % frames;
                    }
                    let mut shown = open.frame + 1;
                    if ui
                        .add(egui::Slider::new(&mut shown, 1..=frames).text(format!("of {frames}")))
                        .changed()
                    {
                        open.playing = false;
                        open.frame = shown.saturating_sub(1);
                    }
                });
            }
            if open.playing {
                let delay = view
                    .loaded(&open.id)
                    .and_then(|a| a.frames.get(open.frame).map(|f| f.delay_ms))
                    .unwrap_or(100) as f64
                    / 1e3;
                if now - open.frame_started >= delay {
                    open.frame = (open.frame + 1) % frames.max(1);
                    open.frame_started = now;
                }
                ctx.request_repaint_after(std::time::Duration::from_secs_f64(delay.max(0.01)));
            }
            match view.texture(ctx, &open.id, open.frame) {
                Some(texture) => {
                    let size = texture.size_vec2();
                    ui.weak(format!("{} × {} px", size.x, size.y));
                    ui.add(egui::Image::new(&texture).shrink_to_fit());
                }
                None => {
                    ui.spinner();
                }
            }
        });
    if keep_open {
        if view.open.as_ref() != Some(&open) {
            view.open = Some(open);
        }
    } else {
        out.push(Command::CloseArtifact);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32, rgba: [u8; 4]) -> Vec<u8> {
        let img = image::RgbaImage::from_pixel(w, h, image::Rgba(rgba));
        let mut out = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .expect("encode");
        out
    }

    fn item(node: &str, role: &str) -> ArtifactItem {
        ArtifactItem {
            id: format!("{node}-{role}"),
            node_id: node.into(),
            role: role.into(),
            media_type: "image/png".into(),
            size: 10,
        }
    }

    #[test]
    fn names_from_the_server_become_plain_file_names() {
        let dir = Path::new("/chosen/folder");
        for hostile in ["../../evil", "/etc/passwd", "..", "a/../../b", "c:\\x", ""] {
            let mut meta = item(hostile, "../still");
            meta.id = format!("{hostile}0123456789");
            for name in [suggested_file_name(&meta), frame_file_name(&meta, 3)] {
                let path = path_in(dir, &name).unwrap_or_else(|e| panic!("{hostile:?}: {e}"));
                assert_eq!(path.parent(), Some(dir), "{hostile:?} → {name}");
                assert!(!name.starts_with('.'), "{name}");
            }
        }
        let evil = item("../../evil", FRAME_ROLE);
        assert_eq!(frame_file_name(&evil, 1), "______evil-frame-001.png");
        assert_eq!(
            suggested_file_name(&evil),
            "______evil-turntable_frame-______ev.png"
        );
        for bad in ["../x.png", "..", ".", "a/b.png", "/abs.png", "", "a\\b.png"] {
            assert!(path_in(dir, bad).is_err(), "{bad:?} must be refused");
        }
        assert_eq!(
            path_in(dir, "still-frame-000.png"),
            Ok(dir.join("still-frame-000.png"))
        );
        // Scene exports are saved as .blend and .usd (OpenUSD opens text and binary stages
        // by that extension).
        for (media_type, ext, kind) in [
            ("application/x-blender", "blend", "Blender"),
            ("model/vnd.usd", "usd", "USD"),
        ] {
            let mut export = item("export", "scene_export");
            export.media_type = media_type.into();
            assert_eq!(
                suggested_file_name(&export),
                format!("export-scene_export-export-s.{ext}")
            );
            assert_eq!(kind_of(media_type), kind);
        }
    }

    #[test]
    fn a_nodes_turntable_frames_share_one_card() {
        let list = vec![
            item("still", "still"),
            item("turntable", "turntable"),
            item("turntable", FRAME_ROLE),
            item("turntable", FRAME_ROLE),
            item("turntable", FRAME_ROLE),
            item("second", FRAME_ROLE),
            item("export", "scene_export"),
        ];
        let cards = cards(&list);
        assert_eq!(cards.len(), 5, "{cards:?}");
        assert_eq!(cards[2], Card::Frames(&list[2..5]));
        assert_eq!(cards[3], Card::Frames(&list[5..6]));
        assert_eq!(cards[4], Card::One(&list[6]));
        assert_eq!(frame_file_name(&list[2], 7), "turntable-frame-007.png");
    }

    #[test]
    fn decodes_png_and_every_gif_frame() {
        let frames = decode_frames(&png(4, 3, [255, 0, 0, 255]), "image/png").expect("png");
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].image.size, [4, 3]);
        assert_eq!(frames[0].image.pixels[0], egui::Color32::RED);

        let mut gif = Vec::new();
        {
            let mut encoder = image::codecs::gif::GifEncoder::new(&mut gif);
            for c in [[255, 0, 0, 255], [0, 0, 255, 255], [0, 255, 0, 255]] {
                let frame = image::Frame::from_parts(
                    image::RgbaImage::from_pixel(2, 2, image::Rgba(c)),
                    0,
                    0,
                    image::Delay::from_numer_denom_ms(80, 1),
                );
                encoder.encode_frame(frame).expect("frame");
            }
        }
        let frames = decode_frames(&gif, "image/gif").expect("gif");
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[1].image.pixels[0], egui::Color32::BLUE);
        assert_eq!(frames[2].delay_ms, 80);
    }

    #[test]
    fn broken_images_are_errors_and_other_files_have_no_frames() {
        assert!(decode_frames(b"not a png", "image/png").is_err());
        assert!(decode_frames(b"glTF", "model/gltf-binary")
            .expect("no frames")
            .is_empty());
    }
}
