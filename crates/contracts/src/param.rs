use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// The value type of a node parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamType {
    Int,
    Float,
    Bool,
    String,
    /// One of `options`.
    Enum,
    /// `#rrggbb` or `#rrggbbaa`.
    Color,
    /// Three finite numbers.
    Vec3,
}

impl ParamType {
    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::Int => "int",
            ParamType::Float => "float",
            ParamType::Bool => "bool",
            ParamType::String => "string",
            ParamType::Enum => "enum",
            ParamType::Color => "color",
            ParamType::Vec3 => "vec3",
        }
    }
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The schema of one node parameter: enough for an inspector to draw the right widget and for
/// the validator to say exactly what is wrong with a value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamSpec {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub param_type: ParamType,
    pub default: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Increment for sliders and drag values; a hint, not a constraint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
    /// Enum parameters: the allowed values, in display order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// String templates: the `{placeholder}` names the template may use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placeholders: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    pub description: String,
    /// A required parameter must have a non-empty value (its default counts when absent).
    pub required: bool,
}

/// Why a parameter value was refused: what the schema expects and what it got.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamProblem {
    pub expected: String,
    pub got: String,
    pub message: String,
}

impl ParamSpec {
    fn base(name: &str, label: &str, param_type: ParamType, default: Value, desc: &str) -> Self {
        ParamSpec {
            name: name.to_owned(),
            label: label.to_owned(),
            param_type,
            default,
            min: None,
            max: None,
            step: None,
            options: Vec::new(),
            placeholders: Vec::new(),
            unit: None,
            description: desc.to_owned(),
            required: true,
        }
    }

    pub fn int(name: &str, label: &str, default: i64, min: i64, max: i64, desc: &str) -> Self {
        let mut p = Self::base(name, label, ParamType::Int, Value::from(default), desc);
        p.min = Some(min as f64);
        p.max = Some(max as f64);
        p.step = Some(1.0);
        p
    }

    pub fn float(name: &str, label: &str, default: f64, min: f64, max: f64, desc: &str) -> Self {
        let mut p = Self::base(name, label, ParamType::Float, Value::from(default), desc);
        p.min = Some(min);
        p.max = Some(max);
        p
    }

    pub fn bool(name: &str, label: &str, default: bool, desc: &str) -> Self {
        Self::base(name, label, ParamType::Bool, Value::from(default), desc)
    }

    pub fn string(name: &str, label: &str, default: &str, desc: &str) -> Self {
        Self::base(name, label, ParamType::String, Value::from(default), desc)
    }

    pub fn choice(name: &str, label: &str, default: &str, options: &[&str], desc: &str) -> Self {
        let mut p = Self::base(name, label, ParamType::Enum, Value::from(default), desc);
        p.options = options.iter().map(|s| (*s).to_owned()).collect();
        p
    }

    pub fn color(name: &str, label: &str, default: &str, desc: &str) -> Self {
        Self::base(name, label, ParamType::Color, Value::from(default), desc)
    }

    pub fn vec3(name: &str, label: &str, default: [f64; 3], desc: &str) -> Self {
        Self::base(
            name,
            label,
            ParamType::Vec3,
            Value::from(default.to_vec()),
            desc,
        )
    }

    pub fn unit(mut self, unit: &str) -> Self {
        self.unit = Some(unit.to_owned());
        self
    }

    pub fn step(mut self, step: f64) -> Self {
        self.step = Some(step);
        self
    }

    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }

    pub fn placeholders(mut self, names: &[&str]) -> Self {
        self.placeholders = names.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// True when the value counts as "not given" for a required parameter.
    pub fn is_blank(value: &Value) -> bool {
        match value {
            Value::Null => true,
            Value::String(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    /// Checks `value` against this schema; `None` when it is acceptable.
    pub fn check(&self, value: &Value) -> Option<ParamProblem> {
        // Rendering the value is the costly part; only do it for a problem.
        let got = || short_json(value);
        let problem = |expected: String, message: String| {
            Some(ParamProblem {
                expected,
                got: got(),
                message,
            })
        };
        let name = &self.name;
        match self.param_type {
            ParamType::Int => {
                let n = match value.as_f64() {
                    Some(n) if n.fract() == 0.0 && n.is_finite() => n,
                    _ => {
                        return problem(
                            "an integer".into(),
                            format!("{name} must be an integer, got {got}", got = got()),
                        )
                    }
                };
                self.check_range(n, value)
            }
            ParamType::Float => match value.as_f64() {
                Some(n) if n.is_finite() => self.check_range(n, value),
                _ => problem(
                    "a number".into(),
                    format!("{name} must be a number, got {got}", got = got()),
                ),
            },
            ParamType::Bool => match value {
                Value::Bool(_) => None,
                _ => problem(
                    "true or false".into(),
                    format!("{name} must be true or false, got {got}", got = got()),
                ),
            },
            ParamType::String => match value.as_str() {
                Some(s) => self.check_placeholders(s, value),
                None => problem(
                    "a string".into(),
                    format!("{name} must be a string, got {got}", got = got()),
                ),
            },
            ParamType::Enum => match value.as_str() {
                Some(s) if self.options.iter().any(|o| o == s) => None,
                _ => problem(
                    format!("one of {}", self.options.join(", ")),
                    format!(
                        "{name} {got} is not one of the allowed values: {}",
                        self.options.join(", ")
                    , got = got()),
                ),
            },
            ParamType::Color => match value.as_str() {
                Some(s) if is_hex_color(s) => None,
                _ => problem(
                    "a colour as #rrggbb or #rrggbbaa".into(),
                    format!("{name} {got} is not a colour; write it as #rrggbb or #rrggbbaa, e.g. #ffffff", got = got()),
                ),
            },
            ParamType::Vec3 => match value.as_array() {
                Some(a) if a.len() == 3 && a.iter().all(|v| v.as_f64().is_some_and(f64::is_finite)) => None,
                _ => problem(
                    "three numbers [x, y, z]".into(),
                    format!("{name} must be three numbers [x, y, z], got {got}", got = got()),
                ),
            },
        }
    }

    fn check_range(&self, n: f64, value: &Value) -> Option<ParamProblem> {
        let (bound, word, sign) = match (self.min, self.max) {
            (Some(min), _) if n < min => (min, "below minimum", ">="),
            (_, Some(max)) if n > max => (max, "above maximum", "<="),
            _ => return None,
        };
        // Formatted only for a problem: most values are in range (a 10k-node graph checks
        // tens of thousands).
        let unit = self
            .unit
            .as_deref()
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        let got = short_json(value);
        let bound = fmt_num(bound);
        Some(ParamProblem {
            expected: format!("{sign} {bound}"),
            message: format!("{} {got}{unit} is {word} {bound}{unit}", self.name),
            got,
        })
    }

    fn check_placeholders(&self, s: &str, value: &Value) -> Option<ParamProblem> {
        if self.placeholders.is_empty() {
            return None;
        }
        let unknown: Vec<&str> = template_placeholders(s)
            .filter(|p| !self.placeholders.iter().any(|k| k == p))
            .collect();
        if unknown.is_empty() {
            return None;
        }
        let allowed = self
            .placeholders
            .iter()
            .map(|p| format!("{{{p}}}"))
            .collect::<Vec<_>>()
            .join(", ");
        Some(ParamProblem {
            expected: format!("placeholders among {allowed}"),
            got: short_json(value),
            message: format!(
                "{} uses unknown placeholder(s) {}; allowed: {allowed}",
                self.name,
                unknown
                    .iter()
                    .map(|p| format!("{{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }
}

/// The `{name}` placeholders of a naming template, in order.
pub fn template_placeholders(s: &str) -> impl Iterator<Item = &str> {
    s.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

fn is_hex_color(s: &str) -> bool {
    let Some(hex) = s.strip_prefix('#') else {
        return false;
    };
    (hex.len() == 6 || hex.len() == 8) && hex.chars().all(|c| c.is_ascii_hexdigit())
}

/// Prints whole numbers without a trailing `.0` so messages read "below minimum 16".
pub fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn short_json(value: &Value) -> String {
    let s = value.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn int_range_messages_name_value_and_bound() {
        let p = ParamSpec::int("width", "Width", 2048, 16, 16384, "").unit("px");
        let problem = p.check(&json!(0)).expect("0 is out of range");
        assert_eq!(problem.message, "width 0 px is below minimum 16 px");
        assert_eq!(problem.expected, ">= 16");
        assert!(p.check(&json!(20000)).is_some());
        assert!(p.check(&json!(512.5)).is_some());
        assert!(p.check(&json!("512")).is_some());
        assert!(p.check(&json!(512)).is_none());
        assert!(p.check(&json!(512.0)).is_none());
    }

    #[test]
    fn enum_color_vec3_bool() {
        let e = ParamSpec::choice("policy", "Policy", "fail", &["fail", "placeholder"], "");
        assert!(e.check(&json!("fail")).is_none());
        assert!(e
            .check(&json!("ignore"))
            .expect("not an option")
            .message
            .contains("fail, placeholder"));
        let c = ParamSpec::color("background", "Background", "#ffffff", "");
        assert!(c.check(&json!("#00FF00")).is_none());
        assert!(c.check(&json!("#00ff0080")).is_none());
        assert!(c.check(&json!("white")).is_some());
        assert!(c.check(&json!("#fff")).is_some());
        let v = ParamSpec::vec3("dir", "Direction", [0.0, -1.0, 0.0], "");
        assert!(v.check(&json!([1, 2, 3.5])).is_none());
        assert!(v.check(&json!([1, 2])).is_some());
        assert!(v.check(&json!([1, "a", 2])).is_some());
        let b = ParamSpec::bool("shadows", "Shadows", true, "");
        assert!(b.check(&json!(1)).is_some());
    }

    #[test]
    fn template_placeholders_are_checked() {
        let t = ParamSpec::string("naming", "Naming", "{product}.png", "")
            .placeholders(&["product", "frame"]);
        assert!(t.check(&json!("{product}_{frame}.png")).is_none());
        let problem = t.check(&json!("{prodcut}.png")).expect("typo");
        assert!(problem.message.contains("{prodcut}"), "{}", problem.message);
    }
}
