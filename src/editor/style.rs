//! Colours for port types and run/validation states, shared by canvas, palette and inspector.

use egui::Color32;
use workflow_contracts::PortType;

pub fn port_color(t: PortType) -> Color32 {
    match t {
        PortType::CadFile => Color32::from_rgb(0xe0, 0x8a, 0x3c),
        PortType::Scene => Color32::from_rgb(0x4c, 0x9b, 0xe8),
        PortType::PartManifest => Color32::from_rgb(0x9c, 0x7c, 0xe0),
        PortType::MaterialReport => Color32::from_rgb(0xd0, 0x6c, 0xb4),
        PortType::Image => Color32::from_rgb(0x5c, 0xc0, 0x7a),
        PortType::Frames => Color32::from_rgb(0x3c, 0xb0, 0xa8),
        PortType::SceneFile => Color32::from_rgb(0xc8, 0xb8, 0x4a),
        PortType::OrderLine => Color32::from_rgb(0xe0, 0x5c, 0x5c),
    }
}

pub const ERROR: Color32 = Color32::from_rgb(0xe8, 0x4c, 0x4c);
pub const WARNING: Color32 = Color32::from_rgb(0xe8, 0xb0, 0x3c);
pub const SELECTED: Color32 = Color32::from_rgb(0xff, 0xd0, 0x60);

/// A small filled circle (the UI font has no bullet glyph).
pub fn dot_ui(ui: &mut egui::Ui, color: Color32) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
    ui.painter().circle_filled(rect.center(), 4.0, color);
    response
}

/// A dot in a port type's colour, naming the type on hover.
pub fn port_dot_ui(ui: &mut egui::Ui, t: PortType) -> egui::Response {
    dot_ui(ui, port_color(t)).on_hover_text(t.as_str())
}

pub const ONLINE: Color32 = Color32::from_rgb(0x5c, 0xc0, 0x7a);

/// Colour of a node's status in a run (timeline bars, canvas tint after a run).
pub fn run_status_color(status: workflow_engine::runtime::NodeStatus) -> Color32 {
    use workflow_engine::runtime::NodeStatus;
    match status {
        NodeStatus::Pending => Color32::from_gray(110),
        NodeStatus::Running => Color32::from_rgb(0x4c, 0x9b, 0xe8),
        NodeStatus::Succeeded => Color32::from_rgb(0x5c, 0xc0, 0x7a),
        NodeStatus::Failed => Color32::from_rgb(0xe8, 0x4c, 0x4c),
        NodeStatus::Skipped => Color32::from_rgb(0x8a, 0x7a, 0x50),
        NodeStatus::Cancelled => Color32::from_rgb(0xb0, 0x80, 0xe0),
    }
}
