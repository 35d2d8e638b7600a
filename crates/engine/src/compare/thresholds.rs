//! Comparison thresholds as data, and the verdict they produce.
//!
//! [`ThresholdConfig`] (serde) holds the built-in defaults, per-artifact-kind patches and
//! per-output-type patches; [`ThresholdConfig::resolve`] merges them into the [`Thresholds`]
//! one comparison uses (and the report records). A patch is a JSON object deep-merged over
//! the defaults: objects merge key by key, any other value (including `null`, which turns an
//! optional limit off) replaces. Unknown keys and out-of-range values are rejected with the
//! scope (`kinds.still`, `output_types.<name>`) named.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use workflow_contracts::output_type::ArtifactKind;

use super::CompareError;

/// The outcome of a comparison. `Warn` means a person must review it: it is never folded into
/// `Pass` (a report passes only when every part of it passes).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    #[default]
    Pass,
    Warn,
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
        }
    }

    /// The worse of two verdicts (fail > warn > pass).
    pub fn worst(self, other: Verdict) -> Verdict {
        self.max(other)
    }

    /// The worst verdict of many (`Pass` for none).
    pub fn worst_of(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
        verdicts.into_iter().fold(Verdict::Pass, Verdict::worst)
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reason a comparison did not pass (or, with `Pass`, a note), with a stable code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub verdict: Verdict,
    /// Stable code: `size_mismatch`, `hard_fail`, `fail_percent`, `psnr`, `ssim`,
    /// `frame_count`, `part_missing`, `material`, `role_missing`, `json_difference`, …
    pub code: String,
    pub message: String,
}

impl Finding {
    pub fn new(verdict: Verdict, code: &str, message: impl Into<String>) -> Self {
        Finding {
            verdict,
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// The verdict of a list of findings.
pub fn verdict_of(findings: &[Finding]) -> Verdict {
    Verdict::worst_of(findings.iter().map(|f| f.verdict))
}

/// Image limits in the manner of OpenImageIO `idiff`. Differences are per channel, as a
/// fraction of full scale (0..1; 1/255 ≈ 0.0039 is one 8-bit step), on premultiplied RGBA
/// (so the colour under a fully transparent pixel does not count). A pixel's difference is
/// its largest channel difference.
///
/// - a pixel over `hard_fail` fails the image outright (`-hardfail`);
/// - more than `fail_percent` % of pixels over `fail` fails it (`-fail`, `-failpercent`);
/// - the same with `hard_warn`, `warn`, `warn_percent` warns (`-hardwarn`, `-warn`,
///   `-warnpercent`);
/// - PSNR below `fail_psnr_db` / SSIM below `fail_ssim` fails, below the `warn_` ones warns.
///
/// "Over" is strictly greater; `None` turns a limit off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImageThresholds {
    pub fail: f64,
    pub fail_percent: f64,
    pub hard_fail: Option<f64>,
    pub warn: f64,
    pub warn_percent: f64,
    pub hard_warn: Option<f64>,
    pub fail_psnr_db: Option<f64>,
    pub warn_psnr_db: Option<f64>,
    pub fail_ssim: Option<f64>,
    pub warn_ssim: Option<f64>,
}

impl Default for ImageThresholds {
    /// Stills and thumbnails: the graph renders through the same modules as legacy, so on one
    /// machine the images should be identical; a handful of 8-bit steps on a few pixels is
    /// driver noise (warn), visible change fails.
    fn default() -> Self {
        ImageThresholds {
            fail: 0.1,
            fail_percent: 0.5,
            hard_fail: None,
            warn: 0.01,
            warn_percent: 0.1,
            hard_warn: None,
            fail_psnr_db: Some(30.0),
            warn_psnr_db: Some(40.0),
            fail_ssim: Some(0.95),
            warn_ssim: Some(0.99),
        }
    }
}

impl ImageThresholds {
    /// Turntable frames: GIF palettes (256 colours, dithered) turn small render differences
    /// into larger per-pixel ones, so the per-pixel limits are wider.
    pub fn turntable() -> Self {
        ImageThresholds {
            fail: 0.15,
            fail_percent: 1.0,
            warn: 0.04,
            warn_percent: 0.5,
            fail_psnr_db: Some(25.0),
            warn_psnr_db: Some(35.0),
            fail_ssim: Some(0.9),
            warn_ssim: Some(0.98),
            ..ImageThresholds::default()
        }
    }

    fn check(&self, scope: &str) -> Result<(), CompareError> {
        let bad = |field: &str, why: &str| {
            Err(CompareError::InvalidThresholds {
                scope: scope.to_owned(),
                reason: format!("{field} {why}"),
            })
        };
        for (field, v) in [("fail", self.fail), ("warn", self.warn)] {
            if !(0.0..=1.0).contains(&v) {
                return bad(field, "must be within 0..1 (fraction of full scale)");
            }
        }
        for (field, v) in [("hard_fail", self.hard_fail), ("hard_warn", self.hard_warn)] {
            if v.is_some_and(|v| !(0.0..=1.0).contains(&v)) {
                return bad(field, "must be within 0..1 (fraction of full scale)");
            }
        }
        for (field, v) in [
            ("fail_percent", self.fail_percent),
            ("warn_percent", self.warn_percent),
        ] {
            if !(0.0..=100.0).contains(&v) {
                return bad(field, "must be within 0..100");
            }
        }
        for (field, v) in [("fail_ssim", self.fail_ssim), ("warn_ssim", self.warn_ssim)] {
            if v.is_some_and(|v| !(-1.0..=1.0).contains(&v)) {
                return bad(field, "must be within -1..1");
            }
        }
        for (field, v) in [
            ("fail_psnr_db", self.fail_psnr_db),
            ("warn_psnr_db", self.warn_psnr_db),
        ] {
            if v.is_some_and(|v| !v.is_finite() || v < 0.0) {
                return bad(field, "must be a non-negative number of dB");
            }
        }
        Ok(())
    }
}

/// Structural limits for scene files (GLB). Missing or extra part keys and a different
/// material on a part always fail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SceneThresholds {
    /// A part's world bounds: the largest corner coordinate difference as a fraction of the
    /// reference scene's diagonal, over which the part warns / fails.
    pub bounds_warn: f64,
    pub bounds_fail: f64,
    /// A part's triangle count: relative difference over which it warns / fails.
    pub triangles_warn: f64,
    pub triangles_fail: f64,
    /// Material colour, metallic and roughness: absolute difference still counted as the
    /// same material (names must match exactly).
    pub material_tolerance: f64,
}

impl Default for SceneThresholds {
    fn default() -> Self {
        SceneThresholds {
            bounds_warn: 1e-5,
            bounds_fail: 1e-3,
            triangles_warn: 0.0,
            triangles_fail: 0.01,
            material_tolerance: 1e-4,
        }
    }
}

impl SceneThresholds {
    fn check(&self, scope: &str) -> Result<(), CompareError> {
        for (field, v) in [
            ("bounds_warn", self.bounds_warn),
            ("bounds_fail", self.bounds_fail),
            ("triangles_warn", self.triangles_warn),
            ("triangles_fail", self.triangles_fail),
            ("material_tolerance", self.material_tolerance),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(CompareError::InvalidThresholds {
                    scope: scope.to_owned(),
                    reason: format!("{field} must be a non-negative number"),
                });
            }
        }
        Ok(())
    }
}

/// Limits for what a run published besides its main artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SideEffectThresholds {
    /// A role the reference published and the candidate did not.
    pub missing_role: Verdict,
    /// A role only the candidate published.
    pub extra_role: Verdict,
    /// Both published a role, a different number of times.
    pub count_mismatch: Verdict,
    /// A difference inside a JSON document (part manifest, material report).
    pub json_difference: Verdict,
    /// Numbers within `float_tolerance × max(1, |a|, |b|)` are equal.
    pub float_tolerance: f64,
    /// JSON paths (as reported, e.g. `parts["a/b"].bounds`) whose differences are ignored,
    /// with everything under them.
    pub ignore_paths: Vec<String>,
}

impl Default for SideEffectThresholds {
    fn default() -> Self {
        SideEffectThresholds {
            missing_role: Verdict::Fail,
            extra_role: Verdict::Warn,
            count_mismatch: Verdict::Fail,
            json_difference: Verdict::Fail,
            float_tolerance: 1e-5,
            ignore_paths: Vec::new(),
        }
    }
}

/// Everything one comparison is judged by (recorded in the report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// Stills, thumbnails and other single images.
    pub image: ImageThresholds,
    /// Each frame of a turntable.
    pub turntable: ImageThresholds,
    pub scene: SceneThresholds,
    pub side_effects: SideEffectThresholds,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            image: ImageThresholds::default(),
            turntable: ImageThresholds::turntable(),
            scene: SceneThresholds::default(),
            side_effects: SideEffectThresholds::default(),
        }
    }
}

impl Thresholds {
    /// Rejects out-of-range values, naming `scope` and the field.
    pub fn check(&self, scope: &str) -> Result<(), CompareError> {
        self.image.check(&format!("{scope}.image"))?;
        self.turntable.check(&format!("{scope}.turntable"))?;
        self.scene.check(&format!("{scope}.scene"))?;
        let f = self.side_effects.float_tolerance;
        if !f.is_finite() || f < 0.0 {
            return Err(CompareError::InvalidThresholds {
                scope: format!("{scope}.side_effects"),
                reason: "float_tolerance must be a non-negative number".into(),
            });
        }
        Ok(())
    }
}

/// Threshold data: defaults for every kind, patches per artifact kind (keyed `still`,
/// `turntable`, `scene_export`, `preview_glb`, `thumbnail`) and per output type (keyed by the
/// output type's id or name, as the caller passes it to [`ThresholdConfig::resolve`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThresholdConfig {
    pub defaults: Thresholds,
    pub kinds: BTreeMap<String, Value>,
    pub output_types: BTreeMap<String, Value>,
}

impl Default for ThresholdConfig {
    /// Built-in: thumbnails are small (256² or less), where 8×8-window SSIM reacts to a few
    /// anti-aliased edge pixels, so their SSIM limits are looser.
    fn default() -> Self {
        let mut kinds = BTreeMap::new();
        kinds.insert(
            ArtifactKind::Thumbnail.as_str().to_owned(),
            serde_json::json!({"image": {"fail_ssim": 0.9, "warn_ssim": 0.98}}),
        );
        ThresholdConfig {
            defaults: Thresholds::default(),
            kinds,
            output_types: BTreeMap::new(),
        }
    }
}

impl ThresholdConfig {
    /// The thresholds for one comparison: defaults, then the kind's patch, then the output
    /// type's patch (when `output_type` is given and has one).
    pub fn resolve(
        &self,
        kind: ArtifactKind,
        output_type: Option<&str>,
    ) -> Result<Thresholds, CompareError> {
        let mut value =
            serde_json::to_value(&self.defaults).map_err(|e| CompareError::InvalidThresholds {
                scope: "defaults".into(),
                reason: e.to_string(),
            })?;
        let mut scope = "defaults".to_owned();
        if let Some(patch) = self.kinds.get(kind.as_str()) {
            scope = format!("kinds.{}", kind.as_str());
            merge(&mut value, patch, &scope)?;
        }
        if let Some(patch) = output_type.and_then(|o| self.output_types.get(o)) {
            scope = format!("output_types.{}", output_type.unwrap_or_default());
            merge(&mut value, patch, &scope)?;
        }
        let thresholds: Thresholds =
            serde_json::from_value(value).map_err(|e| CompareError::InvalidThresholds {
                scope: scope.clone(),
                reason: e.to_string(),
            })?;
        thresholds.check(&scope)?;
        Ok(thresholds)
    }

    /// Checks every patch (for a server accepting a configuration).
    pub fn validate(&self) -> Result<(), CompareError> {
        for kind in ArtifactKind::ALL {
            self.resolve(kind, None)?;
            for name in self.output_types.keys() {
                self.resolve(kind, Some(name))?;
            }
        }
        Ok(())
    }
}

/// Deep merge: objects key by key, anything else replaces.
fn merge(base: &mut Value, patch: &Value, scope: &str) -> Result<(), CompareError> {
    let Value::Object(patch) = patch else {
        return Err(CompareError::InvalidThresholds {
            scope: scope.to_owned(),
            reason: "a threshold patch must be a JSON object".into(),
        });
    };
    fn go(base: &mut Value, patch: &serde_json::Map<String, Value>) {
        let Value::Object(target) = base else {
            *base = Value::Object(patch.clone());
            return;
        };
        for (k, v) in patch {
            match (target.get_mut(k), v) {
                (Some(existing @ Value::Object(_)), Value::Object(p)) => go(existing, p),
                _ => {
                    target.insert(k.clone(), v.clone());
                }
            }
        }
    }
    go(base, patch);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn verdicts_order_and_warn_is_not_pass() {
        assert_eq!(Verdict::Pass.worst(Verdict::Warn), Verdict::Warn);
        assert_eq!(Verdict::Fail.worst(Verdict::Warn), Verdict::Fail);
        assert_eq!(Verdict::worst_of([]), Verdict::Pass);
        assert_eq!(
            serde_json::to_value(Verdict::Warn).expect("json"),
            json!("warn")
        );
    }

    #[test]
    fn output_type_patch_overrides_kind_patch_overrides_defaults() {
        let mut config = ThresholdConfig::default();
        config.output_types.insert(
            "hero-still".into(),
            json!({"image": {"fail_percent": 2.0, "hard_fail": 0.5}}),
        );
        let base = config.resolve(ArtifactKind::Still, None).expect("resolves");
        assert_eq!(base, Thresholds::default());
        let hero = config
            .resolve(ArtifactKind::Still, Some("hero-still"))
            .expect("resolves");
        assert_eq!(hero.image.fail_percent, 2.0);
        assert_eq!(hero.image.hard_fail, Some(0.5));
        assert_eq!(hero.image.fail, base.image.fail);
        let thumb = config
            .resolve(ArtifactKind::Thumbnail, Some("hero-still"))
            .expect("resolves");
        assert_eq!(thumb.image.fail_ssim, Some(0.9));
        assert_eq!(thumb.image.fail_percent, 2.0);
        // null turns an optional limit off
        config
            .output_types
            .insert("no-psnr".into(), json!({"image": {"fail_psnr_db": null}}));
        let t = config
            .resolve(ArtifactKind::Still, Some("no-psnr"))
            .expect("resolves");
        assert_eq!(t.image.fail_psnr_db, None);
    }

    #[test]
    fn bad_patches_name_their_scope() {
        let mut config = ThresholdConfig::default();
        config
            .output_types
            .insert("typo".into(), json!({"image": {"fial": 0.1}}));
        let err = config
            .resolve(ArtifactKind::Still, Some("typo"))
            .expect_err("unknown field");
        assert!(err.to_string().contains("output_types.typo"), "{err}");
        assert!(err.to_string().contains("fial"), "{err}");
        config
            .output_types
            .insert("range".into(), json!({"image": {"fail_percent": 150.0}}));
        let err = config
            .resolve(ArtifactKind::Still, Some("range"))
            .expect_err("out of range");
        assert!(err.to_string().contains("fail_percent"), "{err}");
        assert!(config.validate().is_err());
    }

    #[test]
    fn config_round_trips_through_json() {
        let config = ThresholdConfig::default();
        let text = serde_json::to_string(&config).expect("json");
        let back: ThresholdConfig = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, config);
        let partial: ThresholdConfig =
            serde_json::from_value(json!({"output_types": {"x": {"scene": {"bounds_fail": 0.1}}}}))
                .expect("partial config");
        assert_eq!(partial.defaults, Thresholds::default());
    }
}
