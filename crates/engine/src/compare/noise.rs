//! Noise baseline: how much two legacy runs of the same input differ from each other
//! (run-to-run noise: driver, threads, GIF palettes) is not a graph regression. A parity
//! report (graph vs legacy) is judged again with its limits widened by that noise.
//!
//! Nothing is recomputed from pixels: image comparisons keep their difference histogram, so
//! the shares over any tolerance follow from the stored metrics.

use serde::{Deserialize, Serialize};

use super::images::{ImageComparison, ImageMetrics};
use super::report::{ArtifactDetail, ComparisonReport};
use super::scene::PartAspect;
use super::thresholds::{Finding, ImageThresholds, Verdict};
use super::turntable::TurntableComparison;

/// How far the noise widens the limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NoiseRule {
    /// Headroom over the measured noise (2 = the graph may differ from legacy twice as much
    /// as legacy differs from itself). At least 1.
    pub margin: f64,
}

impl Default for NoiseRule {
    fn default() -> Self {
        NoiseRule { margin: 2.0 }
    }
}

/// What the baseline changed, recorded on the judged report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoiseBaselineApplied {
    pub noise_reference_run: String,
    pub noise_candidate_run: String,
    /// The noise comparison's own verdict (under its own, unwidened thresholds).
    pub noise_verdict: Verdict,
    pub margin: f64,
    /// The legacy runs differ beyond their thresholds: no result of the judged report can be
    /// better than `warn`.
    pub unstable: bool,
    /// One line per widened limit or ignored difference.
    pub adjustments: Vec<String>,
}

/// The noise one image (or the worst of a turntable's frames) showed.
#[derive(Debug, Clone, Copy)]
struct NoiseLevel {
    max_difference: f64,
    percent_over_warn: f64,
    percent_over_fail: f64,
    ssim: f64,
    psnr_db: f64,
}

impl NoiseLevel {
    fn of(m: &ImageMetrics, t: &ImageThresholds) -> Self {
        NoiseLevel {
            max_difference: m.max_difference,
            percent_over_warn: m.percent_over(t.warn),
            percent_over_fail: m.percent_over(t.fail),
            ssim: m.ssim,
            psnr_db: m.psnr(),
        }
    }

    fn worst(self, o: NoiseLevel) -> Self {
        NoiseLevel {
            max_difference: self.max_difference.max(o.max_difference),
            percent_over_warn: self.percent_over_warn.max(o.percent_over_warn),
            percent_over_fail: self.percent_over_fail.max(o.percent_over_fail),
            ssim: self.ssim.min(o.ssim),
            psnr_db: self.psnr_db.min(o.psnr_db),
        }
    }

    fn of_image(c: &ImageComparison, t: &ImageThresholds) -> Option<Self> {
        c.metrics.as_ref().map(|m| NoiseLevel::of(m, t))
    }

    fn of_turntable(c: &TurntableComparison, t: &ImageThresholds) -> Option<Self> {
        c.frames
            .iter()
            .filter_map(|f| NoiseLevel::of_image(&f.comparison, t))
            .reduce(NoiseLevel::worst)
    }
}

/// The rule, per limit (`m` = margin, `N` = the noise measured between the legacy runs,
/// under the same tolerances):
///
/// - pixel shares: `warn_percent' = max(warn_percent, m × N.percent_over(warn))`, the same
///   for `fail_percent` (the per-channel tolerances themselves stay);
/// - hard limits: `hard_warn' = max(hard_warn, N.max_difference)`, same for `hard_fail`
///   (a pixel legacy itself moves that much is not over the limit);
/// - SSIM floors: `ssim' = min(ssim, 1 − m × (1 − N.ssim))`;
/// - PSNR floors: `psnr' = min(psnr, N.psnr − 10·log10(m))` (the graph may have m × the
///   legacy runs' mean squared error); nothing changes when the legacy runs were identical.
fn widen(t: &ImageThresholds, n: NoiseLevel, margin: f64) -> ImageThresholds {
    let floor_db = |limit: Option<f64>| {
        limit.map(|l| {
            if n.psnr_db.is_finite() {
                l.min(n.psnr_db - 10.0 * margin.log10())
            } else {
                l
            }
        })
    };
    ImageThresholds {
        warn_percent: t.warn_percent.max(margin * n.percent_over_warn).min(100.0),
        fail_percent: t.fail_percent.max(margin * n.percent_over_fail).min(100.0),
        hard_warn: t.hard_warn.map(|h| h.max(n.max_difference)),
        hard_fail: t.hard_fail.map(|h| h.max(n.max_difference)),
        warn_ssim: t.warn_ssim.map(|s| s.min(1.0 - margin * (1.0 - n.ssim))),
        fail_ssim: t.fail_ssim.map(|s| s.min(1.0 - margin * (1.0 - n.ssim))),
        warn_psnr_db: floor_db(t.warn_psnr_db),
        fail_psnr_db: floor_db(t.fail_psnr_db),
        ..t.clone()
    }
}

fn describe(label: &str, before: &ImageThresholds, after: &ImageThresholds) -> Option<String> {
    if before == after {
        return None;
    }
    let opt = |v: Option<f64>| v.map_or("off".to_owned(), |v| format!("{v:.4}"));
    Some(format!(
        "{label}: warn_percent {:.3}→{:.3}, fail_percent {:.3}→{:.3}, ssim floors {}/{}→{}/{}, psnr floors {}/{}→{}/{}",
        before.warn_percent,
        after.warn_percent,
        before.fail_percent,
        after.fail_percent,
        opt(before.warn_ssim),
        opt(before.fail_ssim),
        opt(after.warn_ssim),
        opt(after.fail_ssim),
        opt(before.warn_psnr_db),
        opt(before.fail_psnr_db),
        opt(after.warn_psnr_db),
        opt(after.fail_psnr_db),
    ))
}

/// Judges `parity` (graph vs legacy) against the run-to-run `noise` of two legacy runs of the
/// same input, and returns the judged copy (with [`ComparisonReport::noise_baseline`] set).
///
/// The rule:
/// 1. **Images and turntable frames** are judged again with limits widened by the noise `N`
///    the same artifact (same role and position) showed between the legacy runs (for a
///    turntable, the worst over its frames), with `m` = [`NoiseRule::margin`]:
///    - `warn_percent' = max(warn_percent, m × N.percent_over(warn))`, likewise
///      `fail_percent` with `fail`;
///    - `hard_warn' = max(hard_warn, N.max_difference)`, likewise `hard_fail`;
///    - `warn_ssim' = min(warn_ssim, 1 − m × (1 − N.ssim))`, likewise `fail_ssim`;
///    - `warn_psnr' = min(warn_psnr, N.psnr − 10·log10(m))` (m × the legacy runs' mean
///      squared error), likewise `fail_psnr`; unchanged when the legacy runs were identical.
///
///    The per-channel tolerances (`warn`, `fail`) and a size mismatch are never widened.
/// 2. **Scene parts**: a part difference (part key and aspect) that the legacy runs also
///    show is dropped; anything else stands.
/// 3. **JSON documents**: paths where the legacy runs' documents also differ are ignored.
/// 4. Run outcome, artifact presence and roles are never widened.
/// 5. If the noise comparison itself did not pass (legacy differs from itself beyond the
///    thresholds), the baseline is **unstable**: the judged report gets a `noise_unstable`
///    warning, so it can be at best `warn` — a person decides; it is never folded into pass.
pub fn judge_with_noise(
    parity: &ComparisonReport,
    noise: &ComparisonReport,
    rule: &NoiseRule,
) -> ComparisonReport {
    let margin = rule.margin.max(1.0);
    let mut out = parity.clone();
    let mut adjustments = Vec::new();
    for a in &mut out.artifacts {
        let Some(n) = noise
            .artifacts
            .iter()
            .find(|n| n.role == a.role && n.index == a.index)
        else {
            continue;
        };
        let label = format!("{} #{}", a.role, a.index);
        match (&mut a.comparison, &n.comparison) {
            (ArtifactDetail::Image(c), ArtifactDetail::Image(nc)) => {
                let t = &parity.thresholds.image;
                if let Some(level) = NoiseLevel::of_image(nc, t) {
                    let wide = widen(t, level, margin);
                    adjustments.extend(describe(&label, t, &wide));
                    *c = c.rejudge(&wide);
                }
            }
            (ArtifactDetail::Turntable(c), ArtifactDetail::Turntable(nc)) => {
                let t = &parity.thresholds.turntable;
                if let Some(level) = NoiseLevel::of_turntable(nc, t) {
                    let wide = widen(t, level, margin);
                    adjustments.extend(describe(&label, t, &wide));
                    *c = c.rejudge(&wide);
                }
            }
            (ArtifactDetail::Scene(c), ArtifactDetail::Scene(nc)) => {
                let noisy: Vec<(&str, PartAspect)> = nc
                    .parts
                    .iter()
                    .map(|p| (p.part_key.as_str(), p.aspect))
                    .collect();
                let before = c.parts.len();
                c.parts
                    .retain(|p| !noisy.contains(&(p.part_key.as_str(), p.aspect)));
                if c.parts.len() != before {
                    adjustments.push(format!(
                        "{label}: {} part difference(s) also between the legacy runs, dropped",
                        before - c.parts.len()
                    ));
                    c.reassess();
                }
            }
            _ => {}
        }
        a.refresh();
    }
    let t = &parity.thresholds.side_effects;
    for d in &mut out.side_effects.documents {
        let Some(n) = noise
            .side_effects
            .documents
            .iter()
            .find(|n| n.role == d.role && n.index == d.index)
        else {
            continue;
        };
        let noisy: Vec<&str> = n
            .differences
            .iter()
            .map(|x| x.path.as_str())
            .chain(n.ignored.iter().map(String::as_str))
            .collect();
        let before = d.differences.len();
        let (dropped, kept): (Vec<_>, Vec<_>) = d
            .differences
            .drain(..)
            .partition(|x| noisy.contains(&x.path.as_str()));
        d.differences = kept;
        d.total_differences -= before - d.differences.len();
        if !dropped.is_empty() {
            adjustments.push(format!(
                "{} #{}: {} path(s) also differ between the legacy runs, ignored",
                d.role,
                d.index,
                dropped.len()
            ));
        }
        d.ignored.extend(dropped.into_iter().map(|x| x.path));
    }
    // Differences past MAX_DIFFERENCES are not listed, so only listed ones can be dropped
    // (conservative: the count never falls below what remains).
    out.side_effects.reassess(t);
    let unstable = noise.verdict != Verdict::Pass;
    if unstable {
        out.findings.push(Finding::new(
            Verdict::Warn,
            "noise_unstable",
            format!(
                "the legacy runs {} and {} differ from each other beyond the thresholds ({}): this comparison needs a person's review",
                noise.reference_run, noise.candidate_run, noise.verdict
            ),
        ));
    }
    out.noise_baseline = Some(NoiseBaselineApplied {
        noise_reference_run: noise.reference_run.clone(),
        noise_candidate_run: noise.candidate_run.clone(),
        noise_verdict: noise.verdict,
        margin,
        unstable,
        adjustments,
    });
    out.reassess();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::images::compare_images;
    use crate::compare::report::ArtifactComparison;
    use crate::compare::side_effects::SideEffectComparison;
    use crate::compare::thresholds::Thresholds;
    use crate::runtime::RunStatus;
    use image::{Rgba, RgbaImage};
    use workflow_contracts::output_type::ArtifactKind;
    use workflow_contracts::ArtifactRole;

    fn base() -> RgbaImage {
        RgbaImage::from_fn(64, 64, |x, y| {
            Rgba([(x * 4) as u8, (y * 4) as u8, ((x + y) * 2) as u8, 255])
        })
    }

    /// `base` with a `side`×`side` block shifted by `delta` per channel.
    fn with_block(side: u32, delta: u8) -> RgbaImage {
        let mut img = base();
        for y in 0..side {
            for x in 0..side {
                let p = img.get_pixel_mut(x, y);
                for c in 0..3 {
                    p[c] = p[c].saturating_add(delta);
                }
            }
        }
        img
    }

    fn report(run: &str, img: &RgbaImage) -> ComparisonReport {
        let t = Thresholds::default();
        let out = compare_images(&base(), img, &t.image).expect("compares");
        let mut a = ArtifactComparison {
            role: ArtifactRole::Still,
            index: 0,
            reference_artifact: "r".into(),
            candidate_artifact: "c".into(),
            media_type: "image/png".into(),
            verdict: Verdict::Pass,
            findings: Vec::new(),
            diff_image: None,
            comparison: ArtifactDetail::Image(out.comparison),
        };
        a.refresh();
        let mut r = ComparisonReport {
            artifact_kind: ArtifactKind::Still,
            reference_run: "legacy-1".into(),
            candidate_run: run.into(),
            reference_status: RunStatus::Succeeded,
            candidate_status: RunStatus::Succeeded,
            verdict: Verdict::Pass,
            findings: Vec::new(),
            thresholds: t,
            artifacts: vec![a],
            side_effects: SideEffectComparison::default(),
            noise_baseline: None,
            attribution: None,
            blobs: Vec::new(),
        };
        r.reassess();
        r
    }

    #[test]
    fn noise_widens_pixel_shares_but_not_beyond_margin() {
        // Legacy vs legacy: a 4×4 block moves by 6 steps (0.39% of pixels over warn).
        let noise = report("legacy-2", &with_block(4, 6));
        assert_eq!(noise.verdict, Verdict::Warn);
        // Graph vs legacy: the same kind of noise, a 5×5 block (0.61%: under 2 × 0.39%).
        let parity = report("graph", &with_block(5, 6));
        assert_eq!(parity.verdict, Verdict::Warn);
        let judged = judge_with_noise(&parity, &noise, &NoiseRule::default());
        let applied = judged.noise_baseline.as_ref().expect("recorded");
        assert!(applied.unstable, "the noise itself warned");
        assert_eq!(
            judged.artifacts[0].verdict,
            Verdict::Pass,
            "{:?}",
            judged.artifacts[0].findings
        );
        assert_eq!(
            judged.verdict,
            Verdict::Warn,
            "unstable noise: at best warn"
        );
        assert!(judged.findings.iter().any(|f| f.code == "noise_unstable"));
        assert!(!applied.adjustments.is_empty());
        // A 10×10 block (2.4%) is beyond twice the noise: still a warning.
        let parity = report("graph", &with_block(10, 6));
        let judged = judge_with_noise(&parity, &noise, &NoiseRule::default());
        assert_eq!(judged.artifacts[0].verdict, Verdict::Warn);
    }

    #[test]
    fn identical_legacy_runs_change_nothing() {
        let noise = report("legacy-2", &base());
        assert_eq!(noise.verdict, Verdict::Pass);
        let parity = report("graph", &with_block(10, 80));
        let judged = judge_with_noise(&parity, &noise, &NoiseRule::default());
        assert_eq!(judged.verdict, Verdict::Fail);
        assert_eq!(judged.artifacts, parity.artifacts);
        let applied = judged.noise_baseline.expect("recorded");
        assert!(!applied.unstable && applied.adjustments.is_empty());
    }
}
