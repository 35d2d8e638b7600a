//! Two runs side by side — the legacy and graph halves of a shadow run, or a run before and
//! after a change: per-node statuses and durations, and image artifacts compared side by
//! side, with a swipe, or as a difference image with numeric metrics.

use super::artifacts::{run_artifacts, ArtifactItem, ArtifactView, Entry};
use super::run_detail::duration_ms;
use super::runs::{enum_str, run_color, short};
use super::timeline::{fmt_ms, status_color};
use super::StudioApp;
use crate::backend::BackendEvent;
use crate::command::Command;
use crate::editor::style::{ERROR, WARNING};
use egui::{pos2, Color32, ColorImage, Rect, RichText, Sense, TextureHandle, Ui};
use std::collections::HashMap;
use std::sync::Arc;
use workflow_engine::runtime::NodeRun;
use workflow_server::store::RunRecord;

/// How a pair of images is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImageMode {
    #[default]
    SideBySide,
    Swipe,
    Difference,
}

/// Pixel difference of two images of one size.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageDiff {
    /// Peak signal-to-noise ratio in dB over RGB; infinite when identical.
    pub psnr_db: f64,
    /// Share of pixels whose largest channel difference exceeds the tolerance.
    pub differing_share: f64,
    pub max_channel_diff: u8,
    /// Channel tolerance the share was counted with.
    pub tolerance: u8,
    /// |a − b| amplified so small differences are visible.
    pub image: Arc<ColorImage>,
}

/// Channel difference below which a pixel counts as the same (8-bit), as idiff's `-fail`.
pub const TOLERANCE: u8 = 8;

/// Compares two images pixel by pixel; different sizes are an error naming both.
pub fn image_diff(a: &ColorImage, b: &ColorImage, tolerance: u8) -> Result<ImageDiff, String> {
    if a.size != b.size {
        return Err(format!(
            "sizes differ: {}×{} vs {}×{}",
            a.size[0], a.size[1], b.size[0], b.size[1]
        ));
    }
    let mut sq = 0f64;
    let mut differing = 0usize;
    let mut max = 0u8;
    let mut pixels = Vec::with_capacity(a.pixels.len());
    for (pa, pb) in a.pixels.iter().zip(&b.pixels) {
        let d = [
            pa.r().abs_diff(pb.r()),
            pa.g().abs_diff(pb.g()),
            pa.b().abs_diff(pb.b()),
        ];
        let m = d[0].max(d[1]).max(d[2]);
        max = max.max(m);
        if m > tolerance {
            differing += 1;
        }
        sq += d.iter().map(|&c| f64::from(c) * f64::from(c)).sum::<f64>();
        let amp = |c: u8| c.saturating_mul(8);
        pixels.push(Color32::from_rgb(amp(d[0]), amp(d[1]), amp(d[2])));
    }
    let n = a.pixels.len().max(1) as f64;
    let mse = sq / (n * 3.0);
    let psnr_db = if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    };
    Ok(ImageDiff {
        psnr_db,
        differing_share: differing as f64 / n,
        max_channel_diff: max,
        tolerance,
        image: Arc::new(ColorImage {
            size: a.size,
            source_size: a.source_size,
            pixels,
        }),
    })
}

/// Image artifacts of two runs paired by role (and order within a role), so a graph node and
/// the legacy step it mirrors line up even though their ids differ.
pub fn image_pairs(
    left: &[ArtifactItem],
    right: &[ArtifactItem],
) -> Vec<(ArtifactItem, ArtifactItem)> {
    let images = |items: &[ArtifactItem]| -> Vec<ArtifactItem> {
        items
            .iter()
            .filter(|a| a.media_type.starts_with("image/"))
            .cloned()
            .collect()
    };
    let (left, right) = (images(left), images(right));
    let mut used = vec![false; right.len()];
    let mut pairs = Vec::new();
    for a in left {
        let same_role = |b: &ArtifactItem| b.role == a.role;
        // Same node and role first; otherwise the first unused artifact of the role.
        let pick = right
            .iter()
            .enumerate()
            .position(|(i, b)| !used[i] && same_role(b) && b.node_id == a.node_id)
            .or_else(|| {
                right
                    .iter()
                    .enumerate()
                    .position(|(i, b)| !used[i] && same_role(b))
            });
        if let Some(i) = pick {
            used[i] = true;
            pairs.push((a, right[i].clone()));
        }
    }
    pairs
}

/// Left artifact, right artifact, frame.
type DiffKey = (String, String, usize);

pub struct Comparison {
    pub left_id: String,
    pub right_id: String,
    pub left: Option<RunRecord>,
    pub right: Option<RunRecord>,
    pub pair: usize,
    pub frame: usize,
    pub mode: ImageMode,
    /// Swipe position, 0 (all right) … 1 (all left).
    pub split: f32,
    diffs: HashMap<DiffKey, Result<(ImageDiff, TextureHandle), String>>,
}

impl Comparison {
    pub fn new(left_id: String, right_id: String) -> Self {
        Comparison {
            left_id,
            right_id,
            left: None,
            right: None,
            pair: 0,
            frame: 0,
            mode: ImageMode::default(),
            split: 0.5,
            diffs: HashMap::new(),
        }
    }
}

impl StudioApp {
    pub(super) fn compare_runs(&mut self, left: String, right: String) {
        self.runs.compare = Some(Comparison::new(left.clone(), right.clone()));
        let Some(c) = self.server.client.clone() else {
            return;
        };
        for id in [left, right] {
            let c = c.clone();
            self.spawn(async move {
                match c.run(&id).await {
                    Ok(run) => BackendEvent::CompareRun(Box::new(run)),
                    Err(e) => BackendEvent::Failed {
                        task: "load a run to compare",
                        message: e.to_string(),
                    },
                }
            });
        }
    }

    pub(super) fn on_compare_run(&mut self, run: RunRecord) {
        let Some(cmp) = self.runs.compare.as_mut() else {
            return;
        };
        if run.id == cmp.left_id {
            cmp.left = Some(run);
        } else if run.id == cmp.right_id {
            cmp.right = Some(run);
        }
    }
}

pub(super) fn compare_ui(
    ui: &mut Ui,
    cmp: &mut Comparison,
    artifacts: &mut ArtifactView,
    out: &mut Vec<Command>,
) {
    ui.horizontal(|ui| {
        ui.heading(format!(
            "Compare {} ↔ {}",
            short(&cmp.left_id),
            short(&cmp.right_id)
        ));
        if ui.button("Close compare").clicked() {
            out.push(Command::CloseCompare);
        }
    });
    let (Some(left), Some(right)) = (cmp.left.clone(), cmp.right.clone()) else {
        ui.spinner();
        return;
    };
    egui::ScrollArea::vertical()
        .id_salt("compare")
        .show(ui, |ui| {
            ui.columns(2, |cols| {
                for (ui, run) in cols.iter_mut().zip([&left, &right]) {
                    ui.horizontal(|ui| {
                        ui.label(RichText::new(short(&run.id)).strong());
                        ui.colored_label(run_color(run.status), enum_str(&run.status));
                        ui.weak(format!("{} · {}", enum_str(&run.mode), run.trigger));
                    });
                    if let (Some(s), Some(f)) = (run.started_at, run.finished_at) {
                        ui.label(format!("took {}", fmt_ms((f - s) as f64)));
                    }
                }
            });
            ui.separator();
            ui.label(RichText::new("Nodes").strong());
            node_compare_ui(ui, &left.nodes, &right.nodes);
            ui.separator();
            ui.label(RichText::new("Images").strong());
            images_ui(ui, cmp, artifacts, &left, &right, out);
        });
}

fn node_compare_ui(ui: &mut Ui, left: &[NodeRun], right: &[NodeRun]) {
    let mut ids: Vec<&str> = left.iter().map(|n| n.node_id.as_str()).collect();
    for n in right {
        if !ids.contains(&n.node_id.as_str()) {
            ids.push(&n.node_id);
        }
    }
    let find = |nodes: &'_ [NodeRun], id: &str| nodes.iter().find(|n| n.node_id == id).cloned();
    egui::Grid::new("node_compare")
        .striped(true)
        .num_columns(6)
        .show(ui, |ui| {
            for h in ["node", "left", "duration", "right", "duration", "Δ"] {
                ui.strong(h);
            }
            ui.end_row();
            for id in ids {
                let (l, r) = (find(left, id), find(right, id));
                ui.label(id);
                for n in [&l, &r] {
                    match n {
                        Some(n) => {
                            ui.colored_label(status_color(n.status), enum_str(&n.status));
                            ui.label(duration_ms(n).map_or("—".into(), |d| fmt_ms(d as f64)));
                        }
                        None => {
                            ui.weak("absent");
                            ui.weak("—");
                        }
                    }
                }
                let delta = l
                    .as_ref()
                    .and_then(duration_ms)
                    .zip(r.as_ref().and_then(duration_ms));
                match delta {
                    Some((a, b)) => {
                        let d = b - a;
                        let text = format!(
                            "{}{}",
                            if d >= 0 { "+" } else { "−" },
                            fmt_ms(d.abs() as f64)
                        );
                        ui.label(text);
                    }
                    None => {
                        ui.weak("—");
                    }
                }
                ui.end_row();
            }
        });
}

fn images_ui(
    ui: &mut Ui,
    cmp: &mut Comparison,
    artifacts: &mut ArtifactView,
    left: &RunRecord,
    right: &RunRecord,
    out: &mut Vec<Command>,
) {
    let pairs = image_pairs(&run_artifacts(&left.nodes), &run_artifacts(&right.nodes));
    if pairs.is_empty() {
        ui.weak("No image artifacts in both runs.");
        return;
    }
    cmp.pair = cmp.pair.min(pairs.len() - 1);
    ui.horizontal(|ui| {
        for (i, (a, b)) in pairs.iter().enumerate() {
            let label = if a.node_id == b.node_id {
                format!("{} · {}", a.node_id, a.role)
            } else {
                format!("{} ↔ {} · {}", a.node_id, b.node_id, a.role)
            };
            if ui.selectable_label(cmp.pair == i, label).clicked() {
                cmp.pair = i;
                cmp.frame = 0;
            }
        }
    });
    ui.horizontal(|ui| {
        ui.selectable_value(&mut cmp.mode, ImageMode::SideBySide, "Side by side");
        ui.selectable_value(&mut cmp.mode, ImageMode::Swipe, "Swipe");
        ui.selectable_value(&mut cmp.mode, ImageMode::Difference, "Difference");
    });
    let (a, b) = &pairs[cmp.pair];
    let mut ready = true;
    for item in [a, b] {
        match artifacts.entry(&item.id) {
            None => {
                out.push(Command::FetchArtifact(item.id.clone()));
                ready = false;
            }
            Some(Entry::Loading) => ready = false,
            Some(Entry::Failed(e)) => {
                ui.colored_label(ERROR, format!("{}: {e}", item.id));
                return;
            }
            Some(Entry::Ready(_)) => {}
        }
    }
    if !ready {
        ui.spinner();
        return;
    }
    let frames = artifacts
        .loaded(&a.id)
        .map_or(0, |x| x.frames.len())
        .min(artifacts.loaded(&b.id).map_or(0, |x| x.frames.len()));
    if frames == 0 {
        ui.weak("Nothing to show");
        return;
    }
    if frames > 1 {
        let mut shown = cmp.frame + 1;
        ui.add(egui::Slider::new(&mut shown, 1..=frames).text(format!("frame of {frames}")));
        cmp.frame = shown.saturating_sub(1);
    }
    cmp.frame = cmp.frame.min(frames - 1);
    let (Some(ta), Some(tb)) = (
        artifacts.texture(ui.ctx(), &a.id, cmp.frame),
        artifacts.texture(ui.ctx(), &b.id, cmp.frame),
    ) else {
        return;
    };
    match cmp.mode {
        ImageMode::SideBySide => {
            ui.columns(2, |cols| {
                cols[0].add(egui::Image::new(&ta).shrink_to_fit());
                cols[1].add(egui::Image::new(&tb).shrink_to_fit());
            });
        }
        ImageMode::Swipe => swipe_ui(ui, &ta, &tb, &mut cmp.split),
        ImageMode::Difference => {
            let key = (a.id.clone(), b.id.clone(), cmp.frame);
            if !cmp.diffs.contains_key(&key) {
                let result = match (artifacts.loaded(&a.id), artifacts.loaded(&b.id)) {
                    (Some(x), Some(y)) => {
                        match (x.frames.get(cmp.frame), y.frames.get(cmp.frame)) {
                            (Some(fa), Some(fb)) => image_diff(&fa.image, &fb.image, TOLERANCE),
                            _ => Err("frame missing".to_owned()),
                        }
                    }
                    _ => Err("not loaded".to_owned()),
                }
                .map(|d| {
                    let t = ui.ctx().load_texture(
                        format!("diff-{}-{}-{}", key.0, key.1, key.2),
                        d.image.clone(),
                        egui::TextureOptions::NEAREST,
                    );
                    (d, t)
                });
                cmp.diffs.insert(key.clone(), result);
            }
            match cmp.diffs.get(&key) {
                Some(Ok((d, t))) => {
                    let verdict = if d.differing_share == 0.0 {
                        RichText::new("identical within tolerance")
                            .color(crate::editor::style::ONLINE)
                    } else {
                        RichText::new("differs").color(WARNING)
                    };
                    ui.horizontal(|ui| {
                        ui.label(verdict);
                        ui.label(format!(
                            "PSNR {} · {:.3} % of pixels differ by more than {} · max channel difference {}",
                            if d.psnr_db.is_finite() {
                                format!("{:.2} dB", d.psnr_db)
                            } else {
                                "∞".to_owned()
                            },
                            d.differing_share * 100.0,
                            d.tolerance,
                            d.max_channel_diff
                        ));
                    });
                    ui.add(egui::Image::new(t).shrink_to_fit());
                }
                Some(Err(e)) => {
                    ui.colored_label(ERROR, e);
                }
                None => {}
            }
        }
    }
}

/// The left image with the right one revealed past a draggable split line.
fn swipe_ui(ui: &mut Ui, left: &TextureHandle, right: &TextureHandle, split: &mut f32) {
    let size = left.size_vec2();
    let scale = (ui.available_width() / size.x).min(1.0);
    let (rect, response) = ui.allocate_exact_size(size * scale, Sense::click_and_drag());
    if let Some(p) = response.interact_pointer_pos() {
        *split = ((p.x - rect.left()) / rect.width()).clamp(0.0, 1.0);
    }
    let uv = Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0));
    let painter = ui.painter_at(rect);
    painter.image(left.id(), rect, uv, Color32::WHITE);
    let x = rect.left() + rect.width() * *split;
    let right_rect = Rect::from_min_max(pos2(x, rect.top()), rect.max);
    let right_uv = Rect::from_min_max(pos2(*split, 0.0), pos2(1.0, 1.0));
    painter.image(right.id(), right_rect, right_uv, Color32::WHITE);
    painter.line_segment(
        [pos2(x, rect.top()), pos2(x, rect.bottom())],
        egui::Stroke::new(2.0, Color32::WHITE),
    );
    response.on_hover_text("Drag to move the split: left run on the left, right run on the right");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(w: usize, h: usize, c: Color32) -> ColorImage {
        ColorImage::new([w, h], vec![c; w * h])
    }

    #[test]
    fn identical_images_have_infinite_psnr_and_no_differing_pixels() {
        let a = image(8, 8, Color32::from_rgb(10, 20, 30));
        let d = image_diff(&a, &a.clone(), TOLERANCE).expect("same size");
        assert!(d.psnr_db.is_infinite());
        assert_eq!(d.differing_share, 0.0);
        assert_eq!(d.max_channel_diff, 0);
    }

    #[test]
    fn a_changed_block_is_counted_and_sizes_must_match() {
        let a = image(10, 10, Color32::BLACK);
        let mut b = a.clone();
        for y in 0..5 {
            for x in 0..5 {
                b.pixels[y * 10 + x] = Color32::WHITE;
            }
        }
        // A faint change everywhere else stays under the tolerance.
        for p in b.pixels.iter_mut().filter(|p| **p == Color32::BLACK) {
            *p = Color32::from_rgb(3, 3, 3);
        }
        let d = image_diff(&a, &b, TOLERANCE).expect("same size");
        assert!(
            (d.differing_share - 0.25).abs() < 1e-9,
            "{}",
            d.differing_share
        );
        assert_eq!(d.max_channel_diff, 255);
        assert!(d.psnr_db < 10.0, "{}", d.psnr_db);
        assert!(image_diff(&a, &image(10, 9, Color32::BLACK), TOLERANCE)
            .expect_err("size mismatch")
            .contains("10×10 vs 10×9"));
    }

    fn item(node: &str, role: &str) -> ArtifactItem {
        ArtifactItem {
            id: format!("{node}-{role}"),
            node_id: node.into(),
            role: role.into(),
            media_type: "image/png".into(),
            size: 1,
        }
    }

    #[test]
    fn images_pair_by_node_and_role_then_by_role_alone() {
        let left = [item("render", "still"), item("thumb", "thumbnail")];
        let right = [item("legacy_still", "still"), item("thumb", "thumbnail")];
        let pairs = image_pairs(&left, &right);
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[0].1.node_id, "legacy_still");
        assert_eq!(pairs[1].1.node_id, "thumb");
    }
}
