//! The material library: the engine's default library with the user materials (stored in the
//! database) merged over it. This module decides what a material write may store, persists it,
//! and keeps the mirror in [`Products`] current: material-map checks, preflight and the
//! modules of a run (`material.resolve`, through `ProductSource::materials`) all read the
//! library from there, so a material created here can be assigned and rendered at once.

use crate::products::Products;
use crate::store::{Store, StoreError, StoreResult};
use crate::validation::FieldProblem;
use serde::Serialize;
use serde_json::{Map, Value};
use workflow_engine::materials::{default_library, parse_hex_color, PbrMaterial};

/// Longest material name.
pub const NAME_MAX: usize = 64;

/// Fields a material write may carry. `source` is what a read returns; it is accepted (and
/// ignored) so a client can send back what it read.
const FIELDS: &[&str] = &[
    "name",
    "base_color",
    "metallic",
    "roughness",
    "emissive",
    "opacity",
    "source",
];

/// A library material as the API shows it: the material plus where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LibraryMaterial {
    #[serde(flatten)]
    pub material: PbrMaterial,
    /// `default` (the engine's library) or `user` (stored; may replace a default by name).
    pub source: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum MaterialWriteError {
    #[error("the material has {} problem(s)", .0.len())]
    Invalid(Vec<FieldProblem>),
    #[error("material '{0}' already exists")]
    Exists(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Loads the user materials from the store into the mirror the runs read.
pub async fn reload(store: &dyn Store, products: &Products) -> StoreResult<()> {
    products.set_user_materials(store.list_materials().await?);
    Ok(())
}

/// The merged library with each material's source, in library order.
pub fn library(products: &Products) -> Vec<LibraryMaterial> {
    let user: Vec<String> = products
        .user_materials()
        .into_iter()
        .map(|m| m.name)
        .collect();
    products
        .library()
        .materials
        .into_iter()
        .map(|m| LibraryMaterial {
            source: if user.contains(&m.name) {
                "user"
            } else {
                "default"
            },
            material: m,
        })
        .collect()
}

/// One material of the merged library.
pub fn get(products: &Products, name: &str) -> Option<LibraryMaterial> {
    library(products)
        .into_iter()
        .find(|m| m.material.name == name)
}

/// Creates a user material; a name already in the library (default or user) is refused.
pub async fn create(
    store: &dyn Store,
    products: &Products,
    body: &Map<String, Value>,
) -> Result<LibraryMaterial, MaterialWriteError> {
    let material = parse(None, body).map_err(MaterialWriteError::Invalid)?;
    if products.library().get(&material.name).is_some() {
        return Err(MaterialWriteError::Exists(material.name));
    }
    match store.create_material(&material).await {
        Ok(()) => {}
        Err(StoreError::AlreadyExists(_)) => return Err(MaterialWriteError::Exists(material.name)),
        Err(e) => return Err(e.into()),
    }
    reload(store, products).await?;
    Ok(LibraryMaterial {
        material,
        source: "user",
    })
}

/// Creates or replaces the user material `name` (a default of that name is replaced by it).
/// Returns the material and whether the name is new to the library.
pub async fn put(
    store: &dyn Store,
    products: &Products,
    name: &str,
    body: &Map<String, Value>,
) -> Result<(LibraryMaterial, bool), MaterialWriteError> {
    let material = parse(Some(name), body).map_err(MaterialWriteError::Invalid)?;
    let is_default = default_library().get(name).is_some();
    let created = store.put_material(&material).await? && !is_default;
    reload(store, products).await?;
    Ok((
        LibraryMaterial {
            material,
            source: "user",
        },
        created,
    ))
}

/// Validates a material write. `path_name` is the name from the URL (`PUT`); the body's
/// `name` is then optional but must match. Every problem is reported at once.
pub fn parse(
    path_name: Option<&str>,
    body: &Map<String, Value>,
) -> Result<PbrMaterial, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    for key in body.keys() {
        if !FIELDS.contains(&key.as_str()) {
            problems.push(FieldProblem::new(
                "unknown_field",
                key.clone(),
                format!(
                    "unknown field '{key}'; a material has {}",
                    FIELDS[..6].join(", ")
                ),
            ));
        }
    }
    let name = match (path_name, body.get("name")) {
        (Some(path), None) => Some(path.to_owned()),
        (Some(path), Some(Value::String(s))) if s == path => Some(path.to_owned()),
        (Some(path), Some(other)) => {
            problems.push(
                FieldProblem::new(
                    "name_mismatch",
                    "name",
                    format!("name must match the URL's material name '{path}' (or be left out)"),
                )
                .expected(path, other.to_string()),
            );
            None
        }
        (None, None) => {
            problems.push(FieldProblem::new(
                "missing_field",
                "name",
                "name is required",
            ));
            None
        }
        (None, Some(Value::String(s))) => Some(s.clone()),
        (None, Some(other)) => {
            problems.push(
                FieldProblem::new("invalid_type", "name", "name must be a string")
                    .expected("string", other.to_string()),
            );
            None
        }
    };
    if let Some(n) = &name {
        if let Some(p) = name_problem(n) {
            problems.push(p);
        }
    }
    let base_color = required(body, "base_color", &mut problems)
        .and_then(|v| push_err(color(v, "base_color", true), &mut problems));
    let metallic = required(body, "metallic", &mut problems)
        .and_then(|v| push_err(unit(v, "metallic"), &mut problems));
    let roughness = required(body, "roughness", &mut problems)
        .and_then(|v| push_err(unit(v, "roughness"), &mut problems));
    let emissive = match body.get("emissive") {
        None | Some(Value::Null) => Some([0.0; 4]),
        Some(v) => push_err(color(v, "emissive", false), &mut problems),
    };
    let opacity = match body.get("opacity") {
        None | Some(Value::Null) => Some(1.0),
        Some(v) => push_err(unit(v, "opacity"), &mut problems),
    };
    match (name, base_color, metallic, roughness, emissive, opacity) {
        (Some(name), Some(base_color), Some(metallic), Some(roughness), Some(e), Some(opacity))
            if problems.is_empty() =>
        {
            Ok(PbrMaterial {
                name,
                base_color,
                metallic,
                roughness,
                emissive: [e[0], e[1], e[2]],
                opacity,
            })
        }
        _ => Err(problems),
    }
}

fn push_err<T>(result: Result<T, FieldProblem>, problems: &mut Vec<FieldProblem>) -> Option<T> {
    result.map_err(|p| problems.push(p)).ok()
}

fn required<'a>(
    body: &'a Map<String, Value>,
    field: &str,
    problems: &mut Vec<FieldProblem>,
) -> Option<&'a Value> {
    match body.get(field) {
        None | Some(Value::Null) => {
            problems.push(FieldProblem::new(
                "missing_field",
                field,
                format!("{field} is required"),
            ));
            None
        }
        Some(v) => Some(v),
    }
}

fn name_problem(name: &str) -> Option<FieldProblem> {
    let ok = !name.is_empty()
        && name.chars().count() <= NAME_MAX
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    (!ok).then(|| {
        FieldProblem::new(
            "invalid_name",
            "name",
            format!(
                "a material name is 1–{NAME_MAX} characters: letters, digits, '_', '-' and '.', starting with a letter or digit (e.g. paint_signal_red)"
            ),
        )
        .expected("[A-Za-z0-9][A-Za-z0-9_.-]*", name)
    })
}

/// A factor in 0..=1.
fn unit(value: &Value, field: &str) -> Result<f32, FieldProblem> {
    let Some(x) = value.as_f64() else {
        return Err(
            FieldProblem::new("invalid_type", field, format!("{field} must be a number"))
                .expected("number in 0..1", value.to_string()),
        );
    };
    if !(0.0..=1.0).contains(&x) {
        return Err(FieldProblem::new(
            "out_of_range",
            field,
            format!("{field} must be between 0 and 1, got {x}"),
        )
        .expected("0..1", x.to_string()));
    }
    Ok(x as f32)
}

/// A colour: `#rrggbb` (`#rrggbbaa` where alpha is allowed) in sRGB, or an array of linear
/// components in 0..=1 (`[r, g, b]`, or `[r, g, b, a]` where alpha is allowed). Returns RGBA.
fn color(value: &Value, field: &str, alpha: bool) -> Result<[f32; 4], FieldProblem> {
    let formats = if alpha {
        "\"#rrggbb\" or \"#rrggbbaa\" (sRGB), or [r, g, b] / [r, g, b, a] (linear, each 0..1)"
    } else {
        "\"#rrggbb\" (sRGB) or [r, g, b] (linear, each 0..1)"
    };
    let bad = |why: String| {
        FieldProblem::new(
            "invalid_color",
            field,
            format!("{field} {why}; expected {formats}"),
        )
        .expected(formats, value.to_string())
    };
    match value {
        Value::String(s) => {
            let digits = s.trim().strip_prefix('#').unwrap_or("");
            let lengths: &[usize] = if alpha { &[6, 8] } else { &[6] };
            if !lengths.contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(bad(format!("'{s}' is not a valid colour")));
            }
            parse_hex_color(s).ok_or_else(|| bad(format!("'{s}' is not a valid colour")))
        }
        Value::Array(items) => {
            let lengths: &[usize] = if alpha { &[3, 4] } else { &[3] };
            if !lengths.contains(&items.len()) {
                return Err(bad(format!("has {} components", items.len())));
            }
            let mut out = [0.0, 0.0, 0.0, 1.0];
            for (i, item) in items.iter().enumerate() {
                match item.as_f64() {
                    Some(x) if (0.0..=1.0).contains(&x) => out[i] = x as f32,
                    _ => {
                        return Err(bad(format!(
                            "component {i} ({item}) is not a number in 0..1"
                        )))
                    }
                }
            }
            Ok(out)
        }
        _ => Err(bad("is neither a hex string nor an array".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_valid_material_parses_with_defaults() {
        let m = parse(
            None,
            &body(json!({"name": "signal_red", "base_color": "#ff0000", "metallic": 0, "roughness": 0.4})),
        )
        .expect("valid");
        assert_eq!(m.base_color, [1.0, 0.0, 0.0, 1.0]);
        assert_eq!((m.metallic, m.roughness, m.opacity), (0.0, 0.4, 1.0));
        assert_eq!(m.emissive, [0.0; 3]);
        let m = parse(
            Some("glow"),
            &body(
                json!({"base_color": [0.1, 0.2, 0.3], "metallic": 1, "roughness": 0,
                         "emissive": [1, 0.5, 0], "opacity": 0.5}),
            ),
        )
        .expect("valid");
        assert_eq!(m.name, "glow");
        assert_eq!(m.base_color, [0.1, 0.2, 0.3, 1.0]);
        assert_eq!(m.emissive, [1.0, 0.5, 0.0]);
    }

    #[test]
    fn every_bad_field_is_named() {
        let problems = parse(
            Some("a"),
            &body(
                json!({"name": "b", "base_color": "#ff00", "roughness": 1.5, "metallic": "x",
                         "emissive": "#ff000080", "opacity": -1, "shiny": true}),
            ),
        )
        .expect_err("invalid");
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        for f in [
            "shiny",
            "name",
            "base_color",
            "metallic",
            "roughness",
            "emissive",
            "opacity",
        ] {
            assert!(fields.contains(&f), "{f}: {problems:#?}");
        }
        let problems = parse(None, &body(json!({"name": "../x"}))).expect_err("invalid");
        let codes: Vec<&str> = problems.iter().map(|p| p.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "invalid_name",
                "missing_field",
                "missing_field",
                "missing_field"
            ]
        );
    }
}
