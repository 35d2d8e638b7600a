//! Parameter widgets generated from a parameter's schema: shared by the inspector and the
//! output-type overrides form.

use egui::{Color32, RichText, Ui};
use serde_json::Value;
use workflow_contracts::param::fmt_num;
use workflow_contracts::{ParamSpec, ParamType};

/// What the user did to a parameter widget this frame.
#[derive(Debug, Default)]
pub struct ParamEdit {
    /// The new value, when it changed.
    pub changed: Option<Value>,
    /// A drag or text entry ended (closes an undo coalescing run).
    pub finished: bool,
}

/// The widget for one parameter value, chosen by its schema. `salt` keeps widget ids apart
/// when the same parameter shows for several nodes.
pub fn param_value_ui(
    ui: &mut Ui,
    salt: impl std::hash::Hash + std::fmt::Debug,
    spec: &ParamSpec,
    value: &Value,
) -> ParamEdit {
    let mut edit = ParamEdit::default();
    let mut send = |v: Value| edit.changed = Some(v);
    let unit = spec.unit.clone().unwrap_or_default();
    let range_hint = match (spec.min, spec.max) {
        (Some(a), Some(b)) => format!("{} … {} {unit}", fmt_num(a), fmt_num(b)),
        _ => unit.clone(),
    };
    // Ranges are hints, not clamps: an out-of-range value shows its validation error.
    let response = match spec.param_type {
        ParamType::Int => {
            let mut v = value.as_f64().unwrap_or(0.0).round() as i64;
            let r = ui.add(
                egui::DragValue::new(&mut v)
                    .speed(spec.step.unwrap_or(1.0))
                    .suffix(suffix(&unit)),
            );
            if r.changed() {
                send(Value::from(v));
            }
            r.on_hover_text(range_hint)
        }
        ParamType::Float => {
            let mut v = value.as_f64().unwrap_or(0.0);
            let speed = spec.step.unwrap_or(0.01);
            let r = ui.add(
                egui::DragValue::new(&mut v)
                    .speed(speed)
                    .max_decimals(3)
                    .suffix(suffix(&unit)),
            );
            if r.changed() {
                send(Value::from(v));
            }
            r.on_hover_text(range_hint)
        }
        ParamType::Bool => {
            let mut v = value.as_bool().unwrap_or(false);
            let r = ui.checkbox(&mut v, "");
            if r.changed() {
                send(Value::from(v));
            }
            r
        }
        ParamType::Enum => {
            let current = value.as_str().unwrap_or("").to_owned();
            let r = egui::ComboBox::from_id_salt(("enum", salt, &spec.name))
                .selected_text(&current)
                .show_ui(ui, |ui| {
                    for option in &spec.options {
                        if ui.selectable_label(*option == current, option).clicked() {
                            send(Value::from(option.clone()));
                        }
                    }
                });
            r.response
        }
        ParamType::Color => {
            let hex = value.as_str().unwrap_or("#000000");
            let mut color = parse_hex(hex).unwrap_or(Color32::BLACK);
            let r = ui
                .horizontal(|ui| {
                    let r = ui.color_edit_button_srgba(&mut color);
                    ui.label(RichText::new(hex).monospace().small());
                    r
                })
                .inner;
            if r.changed() {
                send(Value::from(to_hex(color)));
            }
            r
        }
        ParamType::Vec3 => {
            let mut v: Vec<f64> = value
                .as_array()
                .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(0.0)).collect())
                .unwrap_or_default();
            v.resize(3, 0.0);
            let r = ui.horizontal(|ui| {
                let mut changed = false;
                for (axis, c) in ["x", "y", "z"].iter().zip(v.iter_mut()) {
                    changed |= ui
                        .add(
                            egui::DragValue::new(c)
                                .speed(0.05)
                                .prefix(format!("{axis} ")),
                        )
                        .changed();
                }
                changed
            });
            if r.inner {
                send(Value::from(v));
            }
            r.response
        }
        ParamType::String => {
            let mut text = value.as_str().unwrap_or("").to_owned();
            let r = ui.text_edit_singleline(&mut text);
            if r.changed() {
                send(Value::from(text));
            }
            if spec.placeholders.is_empty() {
                r
            } else {
                let names: Vec<String> = spec
                    .placeholders
                    .iter()
                    .map(|p| format!("{{{p}}}"))
                    .collect();
                r.on_hover_text(format!("Placeholders: {}", names.join(" ")))
            }
        }
    };
    edit.finished = response.drag_stopped() || response.lost_focus();
    edit
}

fn suffix(unit: &str) -> String {
    if unit.is_empty() {
        String::new()
    } else {
        format!(" {unit}")
    }
}

fn parse_hex(s: &str) -> Option<Color32> {
    let hex = s.strip_prefix('#')?;
    let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    match hex.len() {
        6 => Some(Color32::from_rgb(byte(0)?, byte(2)?, byte(4)?)),
        8 => Some(Color32::from_rgba_unmultiplied(
            byte(0)?,
            byte(2)?,
            byte(4)?,
            byte(6)?,
        )),
        _ => None,
    }
}

fn to_hex(c: Color32) -> String {
    let [r, g, b, a] = c.to_srgba_unmultiplied();
    if a == 255 {
        format!("#{r:02x}{g:02x}{b:02x}")
    } else {
        format!("#{r:02x}{g:02x}{b:02x}{a:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_colours_round_trip() {
        for hex in ["#ffffff", "#00ff7f", "#12345680"] {
            assert_eq!(parse_hex(hex).map(to_hex).as_deref(), Some(hex));
        }
        assert_eq!(parse_hex("white"), None);
        assert_eq!(parse_hex("#12"), None);
    }
}
