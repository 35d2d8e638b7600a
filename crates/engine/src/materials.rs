//! `material.resolve`: the ONE function that decides which material every part instance gets.
//! Preview, legacy pipeline and graph nodes all call [`resolve_materials`].
//!
//! Order per part: explicit part-key assignment → first matching name rule (in order) → the
//! file's own materials (when `use_file_materials`) → missing (fail, or placeholder).

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::manifest::Manifest;

/// A named metallic-roughness PBR material. Colours are linear (as in glTF).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PbrMaterial {
    pub name: String,
    /// Linear RGBA; alpha is multiplied by `opacity`.
    pub base_color: [f32; 4],
    pub metallic: f32,
    pub roughness: f32,
    /// Linear RGB emission.
    pub emissive: [f32; 3],
    /// 1 = opaque.
    pub opacity: f32,
}

impl PbrMaterial {
    pub fn effective_color(&self) -> [f32; 4] {
        let c = self.base_color;
        [c[0], c[1], c[2], (c[3] * self.opacity).clamp(0.0, 1.0)]
    }
}

/// A named set of materials.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MaterialLibrary {
    pub materials: Vec<PbrMaterial>,
}

impl MaterialLibrary {
    pub fn get(&self, name: &str) -> Option<&PbrMaterial> {
        self.materials.iter().find(|m| m.name == name)
    }
}

/// Name rule: `pattern` with `*` (any run) and `?` (one char) wildcards, case-insensitive,
/// matched against the whole part key (and the node path joined by `/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NameRule {
    pub pattern: String,
    pub material: String,
}

/// A product's material map.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MaterialMap {
    /// Part key → library material name.
    pub assignments: BTreeMap<String, String>,
    /// Tried in order; the first match wins.
    pub rules: Vec<NameRule>,
}

impl MaterialMap {
    /// The materials the map names (assignments, then rules) that `library` does not have,
    /// each once, in first-use order. A map is only stored or used when this is empty.
    pub fn unknown_materials<'a>(&'a self, library: &MaterialLibrary) -> Vec<&'a str> {
        let mut unknown: Vec<&str> = Vec::new();
        for name in self
            .assignments
            .values()
            .chain(self.rules.iter().map(|r| &r.material))
        {
            if library.get(name).is_none() && !unknown.contains(&name.as_str()) {
                unknown.push(name);
            }
        }
        unknown
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingPolicy {
    Fail,
    Placeholder,
}

/// `material.resolve` parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolveOptions {
    pub missing_policy: MissingPolicy,
    /// sRGB hex (`#ff00ff`) of the placeholder.
    pub placeholder_color: String,
    pub use_file_materials: bool,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions {
            missing_policy: MissingPolicy::Fail,
            placeholder_color: "#ff00ff".to_owned(),
            use_file_materials: true,
        }
    }
}

/// Where a part's material came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MaterialSource {
    Explicit,
    Rule {
        index: usize,
        pattern: String,
    },
    /// The file's own per-primitive materials (the scene's `materials`).
    File,
    /// Preview only ([`MaterialResolution::file_preview`]): neutral grey, nothing assigned.
    Default,
    Missing,
    Placeholder,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartMaterial {
    pub part_key: String,
    pub source: MaterialSource,
    /// The library (or placeholder/default) material; `None` when `source` is `File`.
    pub material: Option<PbrMaterial>,
}

/// Result of resolution, also the `material_report`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MaterialResolution {
    pub parts: Vec<PartMaterial>,
    /// Part keys with no material from any source.
    pub missing: Vec<String>,
    /// Explicit assignments naming part keys that are not in the manifest.
    pub stale_assignments: Vec<String>,
}

impl MaterialResolution {
    pub fn get(&self, part_key: &str) -> Option<&PartMaterial> {
        self.parts.iter().find(|p| p.part_key == part_key)
    }

    /// Thumbnail/preview resolution: the file's materials, neutral grey where there are none.
    pub fn file_preview(manifest: &Manifest) -> Self {
        let parts = manifest
            .parts
            .iter()
            .map(|p| {
                let has_file = p.material_slots.iter().any(|s| s.material_index.is_some());
                PartMaterial {
                    part_key: p.part_key.clone(),
                    source: if has_file {
                        MaterialSource::File
                    } else {
                        MaterialSource::Default
                    },
                    material: (!has_file).then(default_grey),
                }
            })
            .collect();
        MaterialResolution {
            parts,
            ..Default::default()
        }
    }
}

/// Neutral grey used where nothing is assigned in previews (and for file primitives without
/// a material).
pub fn default_grey() -> PbrMaterial {
    PbrMaterial {
        name: "default".into(),
        base_color: [0.6, 0.6, 0.6, 1.0],
        metallic: 0.0,
        roughness: 0.6,
        emissive: [0.0; 3],
        opacity: 1.0,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MaterialError {
    #[error("{} part(s) have no material: {}", .0.len(), .0.join(", "))]
    MissingMaterials(Vec<String>),
    #[error("{place} names material `{material}`, which is not in the material library")]
    UnknownMaterial { place: String, material: String },
    #[error("placeholder colour `{0}` is not a #rrggbb or #rrggbbaa colour")]
    InvalidColor(String),
}

impl MaterialError {
    pub fn code(&self) -> &'static str {
        match self {
            MaterialError::MissingMaterials(_) => "missing_materials",
            MaterialError::UnknownMaterial { .. } => "unknown_material",
            MaterialError::InvalidColor(_) => "invalid_param",
        }
    }
}

/// Case-insensitive glob with `*` and `?`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Parses `#rrggbb` / `#rrggbbaa` (sRGB) into linear RGBA.
pub fn parse_hex_color(hex: &str) -> Option<[f32; 4]> {
    let h = hex.trim().strip_prefix('#')?;
    if !(h.len() == 6 || h.len() == 8) || !h.is_ascii() {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
    let to_linear = |c: u8| {
        let s = c as f32 / 255.0;
        if s <= 0.04045 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    let a = if h.len() == 8 {
        byte(6)? as f32 / 255.0
    } else {
        1.0
    };
    Some([
        to_linear(byte(0)?),
        to_linear(byte(2)?),
        to_linear(byte(4)?),
        a,
    ])
}

/// `material.resolve`.
pub fn resolve_materials(
    manifest: &Manifest,
    library: &MaterialLibrary,
    map: &MaterialMap,
    options: &ResolveOptions,
) -> Result<MaterialResolution, MaterialError> {
    let lookup = |place: String, name: &str| -> Result<PbrMaterial, MaterialError> {
        library
            .get(name)
            .cloned()
            .ok_or_else(|| MaterialError::UnknownMaterial {
                place,
                material: name.to_owned(),
            })
    };
    let placeholder_color = parse_hex_color(&options.placeholder_color)
        .ok_or_else(|| MaterialError::InvalidColor(options.placeholder_color.clone()))?;
    let mut out = MaterialResolution::default();
    for part in &manifest.parts {
        let key = &part.part_key;
        let path = part.node_path.join("/");
        let (source, material) = if let Some(name) = map.assignments.get(key) {
            (
                MaterialSource::Explicit,
                Some(lookup(format!("assignment for `{key}`"), name)?),
            )
        } else if let Some((index, rule)) = map
            .rules
            .iter()
            .enumerate()
            .find(|(_, r)| glob_match(&r.pattern, key) || glob_match(&r.pattern, &path))
        {
            let m = lookup(format!("rule {index} (`{}`)", rule.pattern), &rule.material)?;
            (
                MaterialSource::Rule {
                    index,
                    pattern: rule.pattern.clone(),
                },
                Some(m),
            )
        } else if options.use_file_materials
            && part
                .material_slots
                .iter()
                .any(|s| s.material_index.is_some())
        {
            (MaterialSource::File, None)
        } else {
            out.missing.push(key.clone());
            let placeholder = PbrMaterial {
                name: "placeholder".into(),
                base_color: placeholder_color,
                metallic: 0.0,
                roughness: 1.0,
                emissive: [0.0; 3],
                opacity: 1.0,
            };
            match options.missing_policy {
                MissingPolicy::Placeholder => (MaterialSource::Placeholder, Some(placeholder)),
                MissingPolicy::Fail => (MaterialSource::Missing, None),
            }
        };
        out.parts.push(PartMaterial {
            part_key: key.clone(),
            source,
            material,
        });
    }
    // Rules must name real materials even when they match nothing (a typo is a bug).
    for (index, rule) in map.rules.iter().enumerate() {
        lookup(format!("rule {index} (`{}`)", rule.pattern), &rule.material)?;
    }
    let known: HashSet<&str> = manifest.parts.iter().map(|p| p.part_key.as_str()).collect();
    out.stale_assignments = map
        .assignments
        .keys()
        .filter(|k| !known.contains(k.as_str()))
        .cloned()
        .collect();
    if options.missing_policy == MissingPolicy::Fail && !out.missing.is_empty() {
        return Err(MaterialError::MissingMaterials(out.missing));
    }
    Ok(out)
}

/// (name, linear base colour, metallic, roughness, opacity)
type Entry = (&'static str, [f32; 3], f32, f32, f32);

/// The default material library as data.
pub const DEFAULT_LIBRARY: &[Entry] = &[
    ("steel_polished", [0.63, 0.62, 0.60], 1.0, 0.15, 1.0),
    ("steel_brushed", [0.55, 0.55, 0.55], 1.0, 0.35, 1.0),
    ("steel_galvanized", [0.48, 0.50, 0.52], 1.0, 0.45, 1.0),
    ("steel_black_oxide", [0.05, 0.05, 0.05], 1.0, 0.45, 1.0),
    ("stainless_steel", [0.65, 0.64, 0.62], 1.0, 0.25, 1.0),
    ("cast_iron", [0.25, 0.25, 0.25], 1.0, 0.7, 1.0),
    ("aluminium", [0.91, 0.92, 0.92], 1.0, 0.3, 1.0),
    ("aluminium_brushed", [0.85, 0.86, 0.87], 1.0, 0.45, 1.0),
    (
        "aluminium_anodized_black",
        [0.03, 0.03, 0.03],
        1.0,
        0.4,
        1.0,
    ),
    ("aluminium_anodized_blue", [0.05, 0.15, 0.55], 1.0, 0.4, 1.0),
    ("chrome", [0.55, 0.56, 0.55], 1.0, 0.05, 1.0),
    ("brass", [0.91, 0.78, 0.42], 1.0, 0.3, 1.0),
    ("copper", [0.95, 0.64, 0.54], 1.0, 0.3, 1.0),
    ("rubber_black", [0.02, 0.02, 0.02], 0.0, 0.9, 1.0),
    ("rubber_grey", [0.15, 0.15, 0.15], 0.0, 0.9, 1.0),
    ("plastic_black", [0.02, 0.02, 0.02], 0.0, 0.4, 1.0),
    ("plastic_white", [0.8, 0.8, 0.8], 0.0, 0.4, 1.0),
    ("plastic_grey", [0.2, 0.2, 0.2], 0.0, 0.45, 1.0),
    ("plastic_red", [0.7, 0.02, 0.02], 0.0, 0.4, 1.0),
    ("plastic_blue", [0.02, 0.1, 0.6], 0.0, 0.4, 1.0),
    ("plastic_green", [0.03, 0.4, 0.05], 0.0, 0.4, 1.0),
    ("plastic_yellow", [0.85, 0.6, 0.02], 0.0, 0.4, 1.0),
    ("plastic_orange", [0.9, 0.25, 0.01], 0.0, 0.4, 1.0),
    ("glass_clear", [0.95, 0.95, 0.95], 0.0, 0.05, 0.25),
    ("glass_tinted", [0.3, 0.4, 0.45], 0.0, 0.05, 0.5),
    ("paint_red", [0.6, 0.01, 0.01], 0.0, 0.3, 1.0),
    ("paint_blue", [0.01, 0.05, 0.4], 0.0, 0.3, 1.0),
    ("paint_green", [0.02, 0.25, 0.05], 0.0, 0.3, 1.0),
    ("paint_yellow", [0.8, 0.55, 0.01], 0.0, 0.3, 1.0),
    ("paint_white", [0.85, 0.85, 0.85], 0.0, 0.3, 1.0),
    ("paint_black", [0.01, 0.01, 0.01], 0.0, 0.3, 1.0),
    ("paint_metallic_silver", [0.6, 0.6, 0.62], 0.7, 0.35, 1.0),
];

/// [`DEFAULT_LIBRARY`] as a [`MaterialLibrary`].
pub fn default_library() -> MaterialLibrary {
    MaterialLibrary {
        materials: DEFAULT_LIBRARY
            .iter()
            .map(|(name, c, metallic, roughness, opacity)| PbrMaterial {
                name: (*name).to_owned(),
                base_color: [c[0], c[1], c[2], 1.0],
                metallic: *metallic,
                roughness: *roughness,
                emissive: [0.0; 3],
                opacity: *opacity,
            })
            .collect(),
    }
}
