//! The viewport widget: orbit (drag), pan (Shift-drag, right or middle drag), zoom (scroll),
//! click to pick a part (id-buffer pass on the GPU side, see [`super::gl`]); hands the frame's
//! camera, toggles, selection and rule preview to the paint callback.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::gl::{paint_callback, Restyle};
use super::model::{SourceKind, ViewerDoc};
use super::tree_panel::MISSING_COLOR;
use super::{cmd, SelectMode, ViewerCommand, ViewerState};
use crate::command::Command;

/// Per-part data the GPU side needs, rebuilt only when the model or its resolution changes.
#[derive(Debug, Default)]
pub struct FrameCache {
    key: Option<(u64, u64)>,
    missing: Arc<Vec<bool>>,
    false_colours: Arc<Vec<[u8; 4]>>,
    selected: Arc<BTreeSet<usize>>,
    previewed: Arc<BTreeSet<usize>>,
    /// Selection mode of the pick in flight.
    pick_mode: Option<SelectMode>,
}

/// One distinct colour per resolved material (golden-ratio hues over the sorted material
/// names); parts without one get the loud placeholder magenta.
pub fn false_colours(doc: &ViewerDoc) -> Vec<[u8; 4]> {
    let names: std::collections::BTreeSet<&str> = doc
        .views
        .iter()
        .filter(|v| v.source != SourceKind::Missing)
        .map(|v| v.material.as_str())
        .collect();
    let index: std::collections::HashMap<&str, usize> =
        names.into_iter().enumerate().map(|(i, n)| (n, i)).collect();
    doc.views
        .iter()
        .map(|v| {
            if v.source == SourceKind::Missing {
                return [255, 0, 255, 255];
            }
            let i = index.get(v.material.as_str()).copied().unwrap_or(0);
            // Skip the magenta band so no material looks missing.
            let hue = (0.13 + i as f32 * 0.618_034).fract() * 0.8;
            let c = egui::Color32::from(egui::ecolor::Hsva::new(hue, 0.8, 0.9, 1.0));
            [c.r(), c.g(), c.b(), 255]
        })
        .collect()
}

impl FrameCache {
    fn refresh(&mut self, doc: &ViewerDoc, doc_id: u64) -> bool {
        let key = (doc_id, doc.generation);
        if self.key == Some(key) {
            return false;
        }
        self.key = Some(key);
        self.missing = Arc::new(
            doc.views
                .iter()
                .map(|v| v.source == SourceKind::Missing)
                .collect(),
        );
        self.false_colours = Arc::new(false_colours(doc));
        true
    }
}

fn navigate(
    camera: &mut super::camera::OrbitCamera,
    ui: &egui::Ui,
    response: &egui::Response,
    height: f32,
) {
    let delta = response.drag_delta();
    let shift = ui.input(|i| i.modifiers.shift);
    if response.dragged_by(egui::PointerButton::Primary) && !shift {
        camera.orbit(delta.x, delta.y);
    } else if response.dragged_by(egui::PointerButton::Secondary)
        || response.dragged_by(egui::PointerButton::Middle)
        || (response.dragged_by(egui::PointerButton::Primary) && shift)
    {
        camera.pan(delta.x, delta.y, height);
    }
    if response.hovered() {
        let scroll = ui.input(|i| i.smooth_scroll_delta.y);
        if scroll != 0.0 {
            camera.zoom(scroll / 60.0);
        }
    }
}

pub fn viewport_ui(ui: &mut egui::Ui, v: &mut ViewerState, out: &mut Vec<Command>) {
    let Some(doc) = v.doc.as_ref() else {
        return;
    };
    // A pick from the last frame.
    let (picked, gl_error, has_scene, draw_ms) = match v.gl.lock() {
        Ok(mut gl) => (
            gl.pick_result.take(),
            gl.error.take(),
            gl.has_scene,
            gl.last_draw_ms,
        ),
        Err(_) => (
            None,
            Some("the viewport's GL state is poisoned".into()),
            false,
            0.0,
        ),
    };
    if let Some(result) = picked {
        let mode = v
            .viewport_cache
            .pick_mode
            .take()
            .unwrap_or(SelectMode::Replace);
        match result {
            Some(part) => {
                v.tree.scroll_to_part = Some(part);
                out.push(cmd(ViewerCommand::Select {
                    parts: vec![part],
                    mode,
                }));
            }
            None if mode == SelectMode::Replace => out.push(cmd(ViewerCommand::ClearSelection)),
            None => {}
        }
    }
    if let Some(e) = gl_error {
        v.error = Some(format!("Viewport: {e}"));
    }

    let rect = ui.available_rect_before_wrap();
    let response = ui.allocate_rect(rect, egui::Sense::click_and_drag());
    navigate(&mut v.camera, ui, &response, rect.height());
    if response.clicked() {
        if let Some(pos) = response.interact_pointer_pos() {
            let ppp = ui.ctx().pixels_per_point();
            let px = ((pos.x - rect.left()) * ppp).max(0.0) as u32;
            let py = ((pos.y - rect.top()) * ppp).max(0.0) as u32;
            let toggle = ui.input(|i| i.modifiers.command || i.modifiers.shift);
            v.viewport_cache.pick_mode = Some(if toggle {
                SelectMode::Toggle
            } else {
                SelectMode::Replace
            });
            if let Ok(mut gl) = v.gl.lock() {
                gl.pick_request = Some((px, py));
            }
            ui.ctx().request_repaint();
        }
    }
    if rect.width() > 1.0 && rect.height() > 1.0 {
        v.aspect = rect.width() / rect.height();
        if v.fit_pending {
            v.camera.preset(
                workflow_engine::camera::CameraPreset::ThreeQuarter,
                &doc.bounds(),
                v.aspect,
            );
            v.fit_pending = false;
            v.refit_pending = false;
        } else if v.refit_pending {
            v.camera.fit(&doc.bounds(), v.aspect);
            v.refit_pending = false;
        }
    }

    // What the callback draws.
    let resolution_changed = v.viewport_cache.refresh(doc, v.doc_id);
    if *v.viewport_cache.selected != doc.selection {
        v.viewport_cache.selected = Arc::new(doc.selection.clone());
    }
    let previewed: BTreeSet<usize> = v
        .rule
        .current()
        .map(|p| p.caught.iter().copied().collect())
        .unwrap_or_default();
    if *v.viewport_cache.previewed != previewed {
        v.viewport_cache.previewed = Arc::new(previewed);
    }
    let dark = ui.visuals().dark_mode;
    if let Ok(mut gl) = v.gl.lock() {
        if resolution_changed && doc.generation > 0 {
            gl.restyle = Some(Restyle {
                doc_id: v.doc_id,
                generation: doc.generation,
                resolution: Arc::new(doc.resolved.resolution.clone()),
            });
        }
        gl.frame.pose = Some(v.camera.pose());
        gl.frame.toggles = v.toggles;
        gl.frame.missing = v.viewport_cache.missing.clone();
        gl.frame.false_colours = v.viewport_cache.false_colours.clone();
        gl.frame.selected = v.viewport_cache.selected.clone();
        gl.frame.previewed = v.viewport_cache.previewed.clone();
        gl.frame.background = if dark { [44, 46, 52] } else { [205, 208, 214] };
    }
    ui.painter().add(egui::PaintCallback {
        rect,
        callback: paint_callback(v.gl.clone()),
    });

    // Overlays.
    let painter = ui.painter_at(rect);
    let missing = doc.missing_count();
    if missing > 0 {
        let text = format!("⚠ {missing} part(s) without a material");
        let galley =
            painter.layout_no_wrap(text, egui::FontId::proportional(15.0), egui::Color32::WHITE);
        let pos = rect.left_top() + egui::vec2(10.0, 10.0);
        let bg = egui::Rect::from_min_size(pos, galley.size()).expand(5.0);
        painter.rect_filled(bg, 4.0, MISSING_COLOR);
        painter.galley(pos, galley, egui::Color32::WHITE);
    }
    if !has_scene {
        painter.text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            "Preparing the viewport…",
            egui::FontId::proportional(16.0),
            ui.visuals().weak_text_color(),
        );
    }
    if has_scene {
        painter.text(
            rect.right_bottom() + egui::vec2(-10.0, -8.0),
            egui::Align2::RIGHT_BOTTOM,
            format!("GL {draw_ms:.0} ms"),
            egui::FontId::proportional(11.0),
            ui.visuals().weak_text_color(),
        );
    }
    painter.text(
        rect.left_bottom() + egui::vec2(10.0, -8.0),
        egui::Align2::LEFT_BOTTOM,
        "Drag: orbit · Shift/right-drag: pan · Scroll: zoom · Click: select",
        egui::FontId::proportional(12.0),
        ui.visuals().weak_text_color(),
    );
}
