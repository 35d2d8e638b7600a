//! Two runs side by side — the legacy and graph halves of a shadow run, or a run before and
//! after a change: per-node statuses and durations, the parameters and overrides that
//! differ, and image artifacts compared side by side, with a swipe, or as a difference image
//! with numeric metrics.

use super::artifacts::{decode_frames, run_artifacts, ArtifactItem, ArtifactView, Entry};
use super::run_detail::duration_ms;
use super::runs::{enum_str, run_color, short};
use super::timeline::{fmt_ms, status_color};
use super::StudioApp;
use crate::backend::BackendEvent;
use crate::command::Command;
use crate::editor::style::{ERROR, WARNING};
use egui::{pos2, Color32, ColorImage, Rect, RichText, Sense, TextureHandle, Ui};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};
use workflow_contracts::Registry;
use workflow_engine::compare::thresholds::{ImageThresholds, Verdict};
use workflow_engine::compare::{compare_images, ImageComparison};
use workflow_engine::runtime::NodeRun;
use workflow_wire::RunRecord;

/// How a pair of images is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImageMode {
    #[default]
    SideBySide,
    Swipe,
    Difference,
}

/// The engine's comparison of one image pair (the same judgement parity uses) and its
/// heat map as a texture.
pub struct PairComparison {
    pub comparison: ImageComparison,
    pub heat_map: Option<TextureHandle>,
}

fn to_rgba(image: &ColorImage) -> Option<image::RgbaImage> {
    let bytes: Vec<u8> = image.pixels.iter().flat_map(|c| c.to_array()).collect();
    image::RgbaImage::from_raw(image.size[0] as u32, image.size[1] as u32, bytes)
}

/// Compares two decoded frames with the parity thresholds for their kind.
fn compare_frames(
    ctx: &egui::Context,
    name: &str,
    left: &ColorImage,
    right: &ColorImage,
    turntable: bool,
) -> Result<PairComparison, String> {
    let (Some(a), Some(b)) = (to_rgba(left), to_rgba(right)) else {
        return Err("image buffer of the wrong size".to_owned());
    };
    let thresholds = if turntable {
        ImageThresholds::turntable()
    } else {
        ImageThresholds::default()
    };
    let outcome = compare_images(&a, &b, &thresholds).map_err(|e| e.to_string())?;
    let heat_map = match &outcome.diff_png {
        Some(png) => decode_frames(png, "image/png")?
            .into_iter()
            .next()
            .map(|f| ctx.load_texture(name, f.image, egui::TextureOptions::NEAREST)),
        None => None,
    };
    Ok(PairComparison {
        comparison: outcome.comparison,
        heat_map,
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

/// One value that differs between the two runs (`None`: not set in that run).
#[derive(Debug, Clone, PartialEq)]
pub struct ValueDiff {
    /// `override <key>` or `<node id>.<param>`.
    pub what: String,
    pub left: Option<Value>,
    pub right: Option<Value>,
}

fn map_diffs(
    prefix: &str,
    left: &Map<String, Value>,
    right: &Map<String, Value>,
) -> Vec<ValueDiff> {
    let keys: BTreeSet<&String> = left.keys().chain(right.keys()).collect();
    keys.into_iter()
        .filter(|k| left.get(*k) != right.get(*k))
        .map(|k| ValueDiff {
            what: format!("{prefix}{k}"),
            left: left.get(k).cloned(),
            right: right.get(k).cloned(),
        })
        .collect()
}

/// The invocation overrides that differ, then the effective parameters (what each module was
/// called with) that differ on the nodes both runs ran. Nodes only one run has are the node
/// table's business; a node that recorded no parameters (skipped) is left out.
pub fn value_diffs(left: &RunRecord, right: &RunRecord) -> Vec<ValueDiff> {
    let mut out = map_diffs("override ", &left.overrides, &right.overrides);
    for l in &left.nodes {
        let Some(r) = right.nodes.iter().find(|r| r.node_id == l.node_id) else {
            continue;
        };
        if l.params.is_empty() || r.params.is_empty() {
            continue;
        }
        out.extend(map_diffs(&format!("{}.", l.node_id), &l.params, &r.params));
    }
    out
}

/// A value as one short line.
fn short_value(v: Option<&Value>) -> String {
    let Some(v) = v else {
        return "—".to_owned();
    };
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    const MAX: usize = 60;
    if text.chars().count() > MAX {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    } else {
        text
    }
}

/// The parameters a run was dispatched with beyond its graph: per node id, param → (the
/// graph's value, the run's override), resolved as the engine resolved them.
pub fn run_overrides(
    run: &RunRecord,
    registry: &Registry,
) -> Vec<(String, String, Option<Value>, Value)> {
    let Some(graph) = run.graph.as_ref() else {
        return Vec::new();
    };
    let (by_node, _) =
        workflow_engine::runtime::params::resolve_overrides(graph, registry, &run.overrides);
    let mut out: Vec<_> = by_node
        .into_iter()
        .flat_map(|(node, params)| {
            let saved = graph
                .node(&node)
                .map(|n| n.params.clone())
                .unwrap_or_default();
            params
                .into_iter()
                .map(move |(p, v)| (node.clone(), p.clone(), saved.get(&p).cloned(), v))
        })
        .collect();
    out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    out
}

/// What to say when no image pair can be shown: which run has none, or that their roles
/// differ.
pub fn no_pairs_message(
    left_id: &str,
    right_id: &str,
    left: &[ArtifactItem],
    right: &[ArtifactItem],
) -> String {
    let images = |items: &[ArtifactItem]| -> Vec<String> {
        let roles: BTreeSet<String> = items
            .iter()
            .filter(|a| a.media_type.starts_with("image/"))
            .map(|a| a.role.clone())
            .collect();
        roles.into_iter().collect()
    };
    let (l, r) = (images(left), images(right));
    let (ls, rs) = (short(left_id), short(right_id));
    match (l.is_empty(), r.is_empty()) {
        (true, true) => "Neither run has image artifacts.".to_owned(),
        (true, false) => format!(
            "Run {ls} (left) has no image artifacts; run {rs} has {}.",
            r.join(", ")
        ),
        (false, true) => format!(
            "Run {rs} (right) has no image artifacts; run {ls} has {}.",
            l.join(", ")
        ),
        (false, false) => format!(
            "No image artifacts of the same role: run {ls} has {}, run {rs} has {}.",
            l.join(", "),
            r.join(", ")
        ),
    }
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
    diffs: HashMap<DiffKey, Result<PairComparison, String>>,
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
                    if let Some(v) = run.workflow_version {
                        ui.weak(format!("workflow version {v}"));
                    }
                }
            });
            ui.separator();
            ui.label(RichText::new("Nodes").strong());
            node_compare_ui(ui, &left.nodes, &right.nodes);
            ui.separator();
            ui.label(RichText::new("Parameters").strong());
            values_ui(ui, &left, &right);
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

fn values_ui(ui: &mut Ui, left: &RunRecord, right: &RunRecord) {
    let diffs = value_diffs(left, right);
    if diffs.is_empty() {
        ui.weak("Same parameters and overrides in both runs.");
        return;
    }
    ui.weak(format!(
        "{} difference(s): invocation overrides, then the parameters each module was called with",
        diffs.len()
    ));
    egui::Grid::new("value_compare")
        .striped(true)
        .num_columns(3)
        .show(ui, |ui| {
            for h in ["parameter", short(&left.id), short(&right.id)] {
                ui.strong(h);
            }
            ui.end_row();
            for d in &diffs {
                ui.label(&d.what);
                for v in [&d.left, &d.right] {
                    let text = short_value(v.as_ref());
                    let r = ui.label(RichText::new(&text).monospace());
                    if let Some(v) = v {
                        r.on_hover_text(v.to_string());
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
    let (left_items, right_items) = (run_artifacts(&left.nodes), run_artifacts(&right.nodes));
    let pairs = image_pairs(&left_items, &right_items);
    if pairs.is_empty() {
        ui.weak(no_pairs_message(
            &left.id,
            &right.id,
            &left_items,
            &right_items,
        ));
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
                            (Some(fa), Some(fb)) => compare_frames(
                                ui.ctx(),
                                &format!("diff-{}-{}-{}", key.0, key.1, key.2),
                                &fa.image,
                                &fb.image,
                                frames > 1,
                            ),
                            _ => Err("frame missing".to_owned()),
                        }
                    }
                    _ => Err("not loaded".to_owned()),
                };
                cmp.diffs.insert(key.clone(), result);
            }
            match cmp.diffs.get(&key) {
                Some(Ok(pair)) => comparison_ui(ui, pair),
                Some(Err(e)) => {
                    ui.colored_label(ERROR, e);
                }
                None => {}
            }
        }
    }
}

fn comparison_ui(ui: &mut Ui, pair: &PairComparison) {
    let c = &pair.comparison;
    let color = match c.verdict {
        Verdict::Pass => crate::editor::style::ONLINE,
        Verdict::Warn => WARNING,
        Verdict::Fail => ERROR,
    };
    ui.horizontal(|ui| {
        ui.label(RichText::new(c.verdict.as_str()).strong().color(color));
        if let Some(m) = &c.metrics {
            let psnr = m.psnr_db.map_or("∞".to_owned(), |p| format!("{p:.2} dB"));
            ui.label(format!("PSNR {psnr} · SSIM {:.4}", m.ssim));
        }
        if let Some(s) = &c.shares {
            ui.label(format!(
                "{:.3} % of pixels over {:.0} % (warn), {:.3} % over {:.0} % (fail)",
                s.over_warn.percent,
                s.over_warn.tolerance * 100.0,
                s.over_fail.percent,
                s.over_fail.tolerance * 100.0
            ));
        }
    });
    for f in &c.findings {
        ui.weak(format!("{}: {}", f.code, f.message));
    }
    if let Some(t) = &pair.heat_map {
        ui.add(egui::Image::new(t).shrink_to_fit()).on_hover_text(
            "grey: same · yellow: over warn · red: over fail · magenta: over hard fail",
        );
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
    fn no_pairs_message_names_the_run_without_images() {
        let still = [item("render", "still")];
        let thumb = [item("thumb", "thumbnail")];
        let none: [ArtifactItem; 0] = [];
        assert_eq!(
            no_pairs_message("aaaaaaaa1", "bbbbbbbb2", &none, &none),
            "Neither run has image artifacts."
        );
        assert_eq!(
            no_pairs_message("aaaaaaaa1", "bbbbbbbb2", &still, &none),
            "Run bbbbbbbb (right) has no image artifacts; run aaaaaaaa has still."
        );
        assert_eq!(
            no_pairs_message("aaaaaaaa1", "bbbbbbbb2", &none, &still),
            "Run aaaaaaaa (left) has no image artifacts; run bbbbbbbb has still."
        );
        assert!(no_pairs_message("a", "b", &still, &thumb).contains("same role"));
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
