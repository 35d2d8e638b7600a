//! Scene files (GLB) compared by structure, through the engine's own reader: the part keys
//! `export_glb` writes into node `extras.part_key` come back from the importer, and the part
//! manifest gives each part's world bounds, triangle count and material slots.
//!
//! Per part key: missing or extra parts fail; a different material (name, base colour,
//! metallic, roughness beyond `material_tolerance`) fails; bounds and triangle counts warn /
//! fail beyond [`SceneThresholds`]. The scene's cameras and `KHR_lights_punctual` lights are
//! counted from the GLB's JSON; a different count fails.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::thresholds::{verdict_of, Finding, SceneThresholds, Verdict};
use super::CompareError;
use crate::import::gltf::import_gltf_slice;
use crate::manifest::{extract_manifest, ManifestParams, PartEntry};
use crate::scene::{Aabb, Scene};

/// The material on one slot (primitive) of a part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotMaterial {
    pub name: Option<String>,
    pub base_color: [f32; 4],
    pub metallic: f32,
    pub roughness: f32,
}

/// What the structural comparison reads from one part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartShape {
    pub bounds: Aabb,
    pub triangles: usize,
    /// One per material slot; `None` for a primitive without a material.
    pub materials: Vec<Option<SlotMaterial>>,
}

/// A scene file read for comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SceneStructure {
    pub parts: BTreeMap<String, PartShape>,
    pub triangles: usize,
    pub bounds: Option<Aabb>,
    pub cameras: usize,
    pub lights: usize,
}

/// Reads a GLB's structure (part keys, bounds, triangles, materials, cameras, lights).
pub fn read_glb(bytes: &[u8], what: &str) -> Result<SceneStructure, CompareError> {
    let decode = |reason: String| CompareError::Decode {
        what: what.to_owned(),
        reason,
    };
    let glb = gltf::binary::Glb::from_slice(bytes).map_err(|e| decode(e.to_string()))?;
    let doc: Value = serde_json::from_slice(&glb.json).map_err(|e| decode(e.to_string()))?;
    let cameras = doc["cameras"].as_array().map_or(0, Vec::len);
    let lights = doc["extensions"]["KHR_lights_punctual"]["lights"]
        .as_array()
        .map_or(0, Vec::len);
    let scene = import_gltf_slice(bytes, None).map_err(|e| decode(e.to_string()))?;
    let params = ManifestParams {
        include_hidden: true,
        ..ManifestParams::default()
    };
    let manifest = extract_manifest(&scene, &params).map_err(|e| decode(e.to_string()))?;
    let parts = manifest
        .parts
        .iter()
        .map(|p| (p.part_key.clone(), shape(&scene, p)))
        .collect();
    Ok(SceneStructure {
        parts,
        triangles: manifest.total_triangles,
        bounds: manifest.bounds,
        cameras,
        lights,
    })
}

fn shape(scene: &Scene, part: &PartEntry) -> PartShape {
    PartShape {
        bounds: part.bounds,
        triangles: part.triangle_count,
        materials: part
            .material_slots
            .iter()
            .map(|slot| {
                slot.material_index
                    .and_then(|i| scene.materials.get(i))
                    .map(|m| SlotMaterial {
                        name: m.name.clone(),
                        base_color: m.base_color,
                        metallic: m.metallic,
                        roughness: m.roughness,
                    })
            })
            .collect(),
    }
}

/// Which aspect of a part differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartAspect {
    /// In the reference, not in the candidate.
    Missing,
    /// In the candidate, not in the reference.
    Extra,
    Material,
    Bounds,
    Triangles,
}

/// One difference on one part, by part key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartDifference {
    pub part_key: String,
    pub aspect: PartAspect,
    pub verdict: Verdict,
    pub message: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub reference: Value,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub candidate: Value,
}

/// Scene-level counts of each side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SceneSummary {
    pub parts: usize,
    pub triangles: usize,
    pub bounds: Option<Aabb>,
    pub cameras: usize,
    pub lights: usize,
}

impl From<&SceneStructure> for SceneSummary {
    fn from(s: &SceneStructure) -> Self {
        SceneSummary {
            parts: s.parts.len(),
            triangles: s.triangles,
            bounds: s.bounds,
            cameras: s.cameras,
            lights: s.lights,
        }
    }
}

/// Two scene files compared by structure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SceneComparison {
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
    pub reference: SceneSummary,
    pub candidate: SceneSummary,
    /// Every differing part aspect, by part key (in key order).
    pub parts: Vec<PartDifference>,
}

impl SceneComparison {
    /// The part keys with a failing difference.
    pub fn failing_parts(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self
            .parts
            .iter()
            .filter(|p| p.verdict == Verdict::Fail)
            .map(|p| p.part_key.as_str())
            .collect();
        keys.dedup();
        keys
    }

    /// Recomputes the verdict and the summary findings from `parts` (after a noise
    /// baseline removed some) and the scene-level findings.
    pub(crate) fn reassess(&mut self) {
        let mut findings: Vec<Finding> = self
            .findings
            .iter()
            .filter(|f| !f.code.starts_with("part_"))
            .cloned()
            .collect();
        findings.extend(part_findings(&self.parts));
        self.verdict = verdict_of(&findings);
        self.findings = findings;
    }
}

fn part_findings(parts: &[PartDifference]) -> Vec<Finding> {
    let mut by_aspect: BTreeMap<PartAspect, (Verdict, Vec<&str>)> = BTreeMap::new();
    for p in parts {
        let e = by_aspect
            .entry(p.aspect)
            .or_insert((Verdict::Pass, Vec::new()));
        e.0 = e.0.worst(p.verdict);
        e.1.push(&p.part_key);
    }
    by_aspect
        .into_iter()
        .filter(|(_, (v, _))| *v != Verdict::Pass)
        .map(|(aspect, (verdict, keys))| {
            let (code, what) = match aspect {
                PartAspect::Missing => ("part_missing", "missing from the candidate"),
                PartAspect::Extra => ("part_extra", "only in the candidate"),
                PartAspect::Material => ("part_material", "with a different material"),
                PartAspect::Bounds => ("part_bounds", "with different bounds"),
                PartAspect::Triangles => ("part_triangles", "with a different triangle count"),
            };
            const SHOWN: usize = 10;
            let mut list = keys
                .iter()
                .take(SHOWN)
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ");
            if keys.len() > SHOWN {
                list.push_str(&format!(" and {} more", keys.len() - SHOWN));
            }
            Finding::new(
                verdict,
                code,
                format!("{} part(s) {what}: {list}", keys.len()),
            )
        })
        .collect()
}

fn material_json(m: &[Option<SlotMaterial>]) -> Value {
    serde_json::to_value(m).unwrap_or(Value::Null)
}

fn same_material(a: &[Option<SlotMaterial>], b: &[Option<SlotMaterial>], tol: f64) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (None, None) => true,
            (Some(x), Some(y)) => {
                let close = |p: f32, q: f32| f64::from((p - q).abs()) <= tol;
                x.name == y.name
                    && x.base_color
                        .iter()
                        .zip(&y.base_color)
                        .all(|(p, q)| close(*p, *q))
                    && close(x.metallic, y.metallic)
                    && close(x.roughness, y.roughness)
            }
            _ => false,
        })
}

fn material_names(m: &[Option<SlotMaterial>]) -> String {
    m.iter()
        .map(|s| match s {
            Some(s) => s.name.clone().unwrap_or_else(|| "(unnamed)".into()),
            None => "(none)".into(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn corner_difference(a: &Aabb, b: &Aabb) -> f64 {
    (0..3)
        .flat_map(|i| [(a.min[i] - b.min[i]).abs(), (a.max[i] - b.max[i]).abs()])
        .fold(0.0f32, f32::max)
        .into()
}

/// Compares two read scenes.
pub fn compare_structures(
    reference: &SceneStructure,
    candidate: &SceneStructure,
    t: &SceneThresholds,
) -> SceneComparison {
    let scale = reference
        .bounds
        .map(|b| f64::from(b.size().x.hypot(b.size().y).hypot(b.size().z)))
        .filter(|d| d.is_finite() && *d > 0.0)
        .unwrap_or(1.0);
    let mut parts = Vec::new();
    for (key, a) in &reference.parts {
        let Some(b) = candidate.parts.get(key) else {
            parts.push(PartDifference {
                part_key: key.clone(),
                aspect: PartAspect::Missing,
                verdict: Verdict::Fail,
                message: format!("part `{key}` is missing from the candidate"),
                reference: json!({"triangles": a.triangles}),
                candidate: Value::Null,
            });
            continue;
        };
        if !same_material(&a.materials, &b.materials, t.material_tolerance) {
            parts.push(PartDifference {
                part_key: key.clone(),
                aspect: PartAspect::Material,
                verdict: Verdict::Fail,
                message: format!(
                    "part `{key}` has material [{}] in the candidate, [{}] in the reference",
                    material_names(&b.materials),
                    material_names(&a.materials)
                ),
                reference: material_json(&a.materials),
                candidate: material_json(&b.materials),
            });
        }
        let d = corner_difference(&a.bounds, &b.bounds) / scale;
        let verdict = if d > t.bounds_fail {
            Verdict::Fail
        } else if d > t.bounds_warn {
            Verdict::Warn
        } else {
            Verdict::Pass
        };
        if verdict != Verdict::Pass {
            parts.push(PartDifference {
                part_key: key.clone(),
                aspect: PartAspect::Bounds,
                verdict,
                message: format!(
                    "part `{key}` bounds differ by {:.3e} of the scene diagonal",
                    d
                ),
                reference: json!(a.bounds),
                candidate: json!(b.bounds),
            });
        }
        if a.triangles != b.triangles {
            let rel = a.triangles.abs_diff(b.triangles) as f64 / a.triangles.max(1) as f64;
            let verdict = if rel > t.triangles_fail {
                Verdict::Fail
            } else if rel > t.triangles_warn {
                Verdict::Warn
            } else {
                Verdict::Pass
            };
            if verdict != Verdict::Pass {
                parts.push(PartDifference {
                    part_key: key.clone(),
                    aspect: PartAspect::Triangles,
                    verdict,
                    message: format!(
                        "part `{key}` has {} triangles in the candidate, {} in the reference",
                        b.triangles, a.triangles
                    ),
                    reference: json!(a.triangles),
                    candidate: json!(b.triangles),
                });
            }
        }
    }
    for (key, b) in &candidate.parts {
        if !reference.parts.contains_key(key) {
            parts.push(PartDifference {
                part_key: key.clone(),
                aspect: PartAspect::Extra,
                verdict: Verdict::Fail,
                message: format!("part `{key}` is only in the candidate"),
                reference: Value::Null,
                candidate: json!({"triangles": b.triangles}),
            });
        }
    }
    parts.sort_by(|x, y| (&x.part_key, x.aspect).cmp(&(&y.part_key, y.aspect)));
    let mut findings = Vec::new();
    if reference.cameras != candidate.cameras {
        findings.push(Finding::new(
            Verdict::Fail,
            "cameras",
            format!(
                "the candidate has {} camera(s), the reference {}",
                candidate.cameras, reference.cameras
            ),
        ));
    }
    if reference.lights != candidate.lights {
        findings.push(Finding::new(
            Verdict::Fail,
            "lights",
            format!(
                "the candidate has {} light(s), the reference {}",
                candidate.lights, reference.lights
            ),
        ));
    }
    let mut comparison = SceneComparison {
        verdict: Verdict::Pass,
        findings,
        reference: reference.into(),
        candidate: candidate.into(),
        parts,
    };
    comparison.reassess();
    comparison
}

/// Reads a `.blend`'s structure through headless Blender (the bridge's `inspect` mode): the
/// objects carrying a `part_key` with their world bounds (Blender's Z-up frame), triangles and
/// Principled BSDF materials; cameras and lights counted.
pub fn read_blend(bytes: &[u8], what: &str) -> Result<SceneStructure, CompareError> {
    let inspection =
        crate::blender::inspect_blend(bytes, &crate::blender::BlenderLimits::default()).map_err(
            // The reader's own code: a missing Blender is not an undecodable artifact.
            |e| CompareError::Reader {
                what: what.to_owned(),
                code: e.code(),
                message: e.to_string(),
            },
        )?;
    let mut parts = BTreeMap::new();
    let mut bounds: Option<Aabb> = None;
    let mut triangles = 0;
    for o in &inspection.objects {
        let Some(key) = &o.part_key else { continue };
        let b = o.bounds.unwrap_or(Aabb::EMPTY);
        bounds = Some(match bounds {
            Some(mut all) => {
                all.merge(&b);
                all
            }
            None => b,
        });
        triangles += o.triangles;
        let materials = o
            .materials
            .iter()
            .zip(
                o.material_values
                    .iter()
                    .map(Some)
                    .chain(std::iter::repeat(None)),
            )
            .map(|(name, values)| {
                let v = values.and_then(Option::as_ref)?;
                Some(SlotMaterial {
                    name: v.library_material.clone().or_else(|| name.clone()),
                    base_color: v.base_color,
                    metallic: v.metallic,
                    roughness: v.roughness,
                })
            })
            .collect();
        parts.insert(
            key.clone(),
            PartShape {
                bounds: b,
                triangles: o.triangles,
                materials,
            },
        );
    }
    let cameras = inspection
        .objects
        .iter()
        .filter(|o| o.kind == "CAMERA")
        .count();
    Ok(SceneStructure {
        parts,
        triangles,
        bounds,
        cameras,
        lights: inspection.lights,
    })
}

/// Compares two `.blend` files by structure (part and material tables, bounds, triangles,
/// cameras and lights), read through headless Blender.
pub fn compare_blend(
    reference: &[u8],
    candidate: &[u8],
    thresholds: &SceneThresholds,
) -> Result<SceneComparison, CompareError> {
    let a = read_blend(reference, "reference .blend")?;
    let b = read_blend(candidate, "candidate .blend")?;
    Ok(compare_structures(&a, &b, thresholds))
}

/// Compares two GLB files by structure.
pub fn compare_glb(
    reference: &[u8],
    candidate: &[u8],
    thresholds: &SceneThresholds,
) -> Result<SceneComparison, CompareError> {
    let a = read_glb(reference, "reference scene")?;
    let b = read_glb(candidate, "candidate scene")?;
    Ok(compare_structures(&a, &b, thresholds))
}

/// Compares two USD stages by the same structure, each read back by OpenUSD out of process
/// ([`crate::export_usd::read_usd`]): part keys from the prims' `part_key`, exact world
/// bounds, triangles, the bound UsdPreviewSurface materials, cameras and lights.
pub fn compare_usd(
    reference: &[u8],
    candidate: &[u8],
    thresholds: &SceneThresholds,
) -> Result<SceneComparison, CompareError> {
    use crate::export_usd::{read_usd, usd_python, UsdLimits};
    let python = usd_python();
    let read = |bytes: &[u8], what: &str| {
        read_usd(bytes, &python, UsdLimits::default())
            .map(|s| s.to_scene_structure())
            .map_err(|e| CompareError::Reader {
                what: what.to_owned(),
                code: e.code(),
                message: e.to_string(),
            })
    };
    let a = read(reference, "reference scene")?;
    let b = read(candidate, "candidate scene")?;
    Ok(compare_structures(&a, &b, thresholds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(x: f32, tris: usize, material: &str) -> PartShape {
        PartShape {
            bounds: Aabb {
                min: [x, 0.0, 0.0],
                max: [x + 1.0, 1.0, 1.0],
            },
            triangles: tris,
            materials: vec![Some(SlotMaterial {
                name: Some(material.into()),
                base_color: [0.5, 0.5, 0.5, 1.0],
                metallic: 1.0,
                roughness: 0.3,
            })],
        }
    }

    fn structure(parts: &[(&str, PartShape)]) -> SceneStructure {
        let mut bounds = Aabb::EMPTY;
        for (_, p) in parts {
            bounds.merge(&p.bounds);
        }
        SceneStructure {
            parts: parts
                .iter()
                .map(|(k, p)| ((*k).to_owned(), p.clone()))
                .collect(),
            triangles: parts.iter().map(|(_, p)| p.triangles).sum(),
            bounds: Some(bounds),
            cameras: 0,
            lights: 0,
        }
    }

    #[test]
    fn same_structure_passes() {
        let s = structure(&[("a", part(0.0, 12, "steel")), ("b", part(2.0, 12, "steel"))]);
        let c = compare_structures(&s, &s.clone(), &SceneThresholds::default());
        assert_eq!(c.verdict, Verdict::Pass, "{:?}", c.findings);
        assert!(c.parts.is_empty());
    }

    #[test]
    fn each_aspect_is_reported_by_part_key() {
        let a = structure(&[
            ("a", part(0.0, 12, "steel")),
            ("b", part(2.0, 12, "steel")),
            ("c", part(4.0, 100, "steel")),
            ("gone", part(6.0, 12, "steel")),
        ]);
        let mut moved = part(2.0, 12, "steel");
        moved.bounds.max[0] += 0.5;
        let b = structure(&[
            ("a", part(0.0, 12, "rubber")),
            ("b", moved),
            ("c", part(4.0, 100, "steel")),
            ("new", part(6.0, 12, "steel")),
        ]);
        let c = compare_structures(&a, &b, &SceneThresholds::default());
        assert_eq!(c.verdict, Verdict::Fail);
        let got: Vec<(&str, PartAspect)> = c
            .parts
            .iter()
            .map(|p| (p.part_key.as_str(), p.aspect))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", PartAspect::Material),
                ("b", PartAspect::Bounds),
                ("gone", PartAspect::Missing),
                ("new", PartAspect::Extra),
            ]
        );
        assert!(c.parts[0].message.contains("rubber"));
        assert_eq!(c.failing_parts(), vec!["a", "b", "gone", "new"]);
    }

    #[test]
    fn triangle_counts_warn_then_fail() {
        let a = structure(&[("a", part(0.0, 1000, "steel"))]);
        let b = structure(&[("a", part(0.0, 1005, "steel"))]);
        let c = compare_structures(&a, &b, &SceneThresholds::default());
        assert_eq!(c.verdict, Verdict::Warn, "0.5% is under triangles_fail");
        let b = structure(&[("a", part(0.0, 1100, "steel"))]);
        let c = compare_structures(&a, &b, &SceneThresholds::default());
        assert_eq!(c.verdict, Verdict::Fail);
        assert_eq!(c.findings[0].code, "part_triangles");
    }

    #[test]
    fn unreadable_glb_is_an_error_not_a_panic() {
        let err =
            compare_glb(b"glTF garbage", b"", &SceneThresholds::default()).expect_err("not a GLB");
        assert_eq!(err.code(), "undecodable_artifact");
    }
}
