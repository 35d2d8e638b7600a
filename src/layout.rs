//! Layout helpers shared by the app's side panels.

use egui::{Rect, Sense, Ui, UiBuilder};

/// Lays `add` out in exactly the width `ui` has now and reports only that width to the
/// parent: a long name or value wraps or is clipped instead of widening a side panel, so
/// the panel keeps its width when the selection changes and the next click lands where the
/// user aimed. The panel's own resize handle still sets the width.
pub fn stable_width<R>(ui: &mut Ui, add: impl FnOnce(&mut Ui) -> R) -> R {
    let rect = ui.available_rect_before_wrap();
    // A child that is not placed in `ui`: what it grows to is not propagated, only the
    // rect allocated below.
    let mut child = ui.new_child(
        UiBuilder::new()
            .id_salt("stable_width")
            .max_rect(rect)
            .layout(*ui.layout()),
    );
    child.set_clip_rect(rect.intersect(ui.clip_rect()));
    child.set_max_width(rect.width());
    let result = add(&mut child);
    let height = child.min_rect().height().min(rect.height());
    ui.allocate_rect(
        Rect::from_min_size(rect.min, egui::vec2(rect.width(), height)),
        Sense::hover(),
    );
    result
}
