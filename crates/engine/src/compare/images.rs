//! Image comparison: PSNR, SSIM ([`super::ssim`]: Wang et al., the mean over R, G and B),
//! and the share of pixels over per-channel tolerances judged like OpenImageIO
//! `idiff` (see [`ImageThresholds`]), plus a difference heat map as PNG.
//!
//! Pixels are compared premultiplied (RGB × alpha, and alpha), so the colour under a fully
//! transparent background does not count. A pixel's difference is its largest channel
//! difference in 8-bit steps; the report keeps the full 256-bin histogram of those, so the
//! share over any tolerance can be recomputed later (other thresholds, a noise baseline)
//! without the pixels.

use std::io::Cursor;

use image::{Rgb, RgbImage, RgbaImage};
use serde::{Deserialize, Serialize};

use super::thresholds::{verdict_of, Finding, ImageThresholds, Verdict};
use super::CompareError;

/// Decodes PNG/JPEG/GIF (first frame) bytes to RGBA8.
pub fn decode_image(bytes: &[u8], what: &str) -> Result<RgbaImage, CompareError> {
    image::load_from_memory(bytes)
        .map(|i| i.to_rgba8())
        .map_err(|e| CompareError::Decode {
            what: what.to_owned(),
            reason: e.to_string(),
        })
}

/// What was measured between two images of the same size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageMetrics {
    pub width: u32,
    pub height: u32,
    pub pixels: u64,
    /// Mean squared error over premultiplied RGB, in 8-bit units².
    pub mse: f64,
    /// Peak signal-to-noise ratio in dB over premultiplied RGB; `None` when the images are
    /// identical (infinite PSNR).
    pub psnr_db: Option<f64>,
    /// Mean SSIM (1 = identical; Wang et al. 2004, 11×11 Gaussian window), the mean of the
    /// premultiplied R, G and B channels' SSIM.
    pub ssim: f64,
    /// The largest per-channel difference of any pixel (0..1).
    pub max_difference: f64,
    /// The mean of the pixels' differences (0..1).
    pub mean_difference: f64,
    /// `histogram[d]` = pixels whose largest channel difference is `d` 8-bit steps (256 bins).
    pub histogram: Vec<u64>,
    /// The smallest rectangle `[x0, y0, x1, y1]` (inclusive) holding every differing pixel.
    pub differing_region: Option<[u32; 4]>,
}

impl ImageMetrics {
    /// Pixels whose difference is over `tolerance` (0..1; strictly greater).
    pub fn pixels_over(&self, tolerance: f64) -> u64 {
        self.histogram
            .iter()
            .enumerate()
            .filter(|(d, _)| *d as f64 / 255.0 > tolerance + 1e-9)
            .map(|(_, n)| n)
            .sum()
    }

    /// Percentage of pixels over `tolerance`.
    pub fn percent_over(&self, tolerance: f64) -> f64 {
        if self.pixels == 0 {
            0.0
        } else {
            self.pixels_over(tolerance) as f64 * 100.0 / self.pixels as f64
        }
    }

    /// PSNR with identical images as +∞.
    pub fn psnr(&self) -> f64 {
        self.psnr_db.unwrap_or(f64::INFINITY)
    }
}

/// How many pixels are over one tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PixelShare {
    pub tolerance: f64,
    pub pixels: u64,
    pub percent: f64,
}

/// The shares over the warn and fail tolerances (and the hard ones, when set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PixelShares {
    pub over_warn: PixelShare,
    pub over_fail: PixelShare,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over_hard_warn: Option<PixelShare>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over_hard_fail: Option<PixelShare>,
}

/// One image pair judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageComparison {
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
    /// `[width, height]`.
    pub reference_size: [u32; 2],
    pub candidate_size: [u32; 2],
    /// `None` when the sizes differ (nothing to compare pixel by pixel).
    pub metrics: Option<ImageMetrics>,
    pub shares: Option<PixelShares>,
}

impl ImageComparison {
    /// Judges again with other thresholds (same metrics: nothing is recomputed).
    pub fn rejudge(&self, thresholds: &ImageThresholds) -> ImageComparison {
        match &self.metrics {
            Some(m) => {
                let (shares, findings) = judge(m, thresholds);
                ImageComparison {
                    verdict: verdict_of(&findings),
                    findings,
                    shares: Some(shares),
                    ..self.clone()
                }
            }
            None => self.clone(),
        }
    }
}

/// A comparison and its difference image.
#[derive(Debug, Clone)]
pub struct ImageOutcome {
    pub comparison: ImageComparison,
    /// Heat map PNG (see [`difference_image`]); `None` when the sizes differ or the images
    /// are empty.
    pub diff_png: Option<Vec<u8>>,
}

fn share(m: &ImageMetrics, tolerance: f64) -> PixelShare {
    PixelShare {
        tolerance,
        pixels: m.pixels_over(tolerance),
        percent: m.percent_over(tolerance),
    }
}

/// Applies `t` to measured metrics: the pixel shares and every finding (empty = pass).
pub fn judge(m: &ImageMetrics, t: &ImageThresholds) -> (PixelShares, Vec<Finding>) {
    let shares = PixelShares {
        over_warn: share(m, t.warn),
        over_fail: share(m, t.fail),
        over_hard_warn: t.hard_warn.map(|h| share(m, h)),
        over_hard_fail: t.hard_fail.map(|h| share(m, h)),
    };
    let mut findings = Vec::new();
    let steps = |v: f64| format!("{v:.4} (≈{:.0}/255)", v * 255.0);
    if let Some(s) = shares.over_hard_fail.filter(|s| s.pixels > 0) {
        findings.push(Finding::new(
            Verdict::Fail,
            "hard_fail",
            format!(
                "{} pixel(s) differ by more than the hard limit {}; the largest difference is {}",
                s.pixels,
                steps(s.tolerance),
                steps(m.max_difference)
            ),
        ));
    }
    if shares.over_fail.pixels > 0 && shares.over_fail.percent > t.fail_percent {
        findings.push(Finding::new(
            Verdict::Fail,
            "fail_percent",
            format!(
                "{:.3}% of pixels ({}) differ by more than {}, above the {}% limit",
                shares.over_fail.percent,
                shares.over_fail.pixels,
                steps(t.fail),
                t.fail_percent
            ),
        ));
    }
    if let (Some(limit), Some(psnr)) = (t.fail_psnr_db, m.psnr_db) {
        if psnr < limit {
            findings.push(Finding::new(
                Verdict::Fail,
                "psnr",
                format!("PSNR {psnr:.2} dB is below the {limit} dB limit"),
            ));
        }
    }
    if let Some(limit) = t.fail_ssim.filter(|&l| m.ssim < l) {
        findings.push(Finding::new(
            Verdict::Fail,
            "ssim",
            format!("SSIM {:.5} is below the {limit} limit", m.ssim),
        ));
    }
    if findings.is_empty() {
        if let Some(s) = shares.over_hard_warn.filter(|s| s.pixels > 0) {
            findings.push(Finding::new(
                Verdict::Warn,
                "hard_warn",
                format!(
                    "{} pixel(s) differ by more than {}",
                    s.pixels,
                    steps(s.tolerance)
                ),
            ));
        }
        if shares.over_warn.pixels > 0 && shares.over_warn.percent > t.warn_percent {
            findings.push(Finding::new(
                Verdict::Warn,
                "warn_percent",
                format!(
                    "{:.3}% of pixels ({}) differ by more than {}, above the {}% warning level",
                    shares.over_warn.percent,
                    shares.over_warn.pixels,
                    steps(t.warn),
                    t.warn_percent
                ),
            ));
        }
        if let (Some(limit), Some(psnr)) = (t.warn_psnr_db, m.psnr_db) {
            if psnr < limit {
                findings.push(Finding::new(
                    Verdict::Warn,
                    "psnr",
                    format!("PSNR {psnr:.2} dB is below the {limit} dB warning level"),
                ));
            }
        }
        if let Some(limit) = t.warn_ssim.filter(|&l| m.ssim < l) {
            findings.push(Finding::new(
                Verdict::Warn,
                "ssim",
                format!("SSIM {:.5} is below the {limit} warning level", m.ssim),
            ));
        }
    }
    (shares, findings)
}

/// `c × a / 255`, rounded.
fn premultiply(p: &image::Rgba<u8>) -> [u8; 4] {
    let a = u32::from(p[3]);
    let m = |c: u8| ((u32::from(c) * a + 127) / 255) as u8;
    [m(p[0]), m(p[1]), m(p[2]), p[3]]
}

/// Per-pixel largest channel difference (8-bit steps), premultiplied.
fn differences(a: &RgbaImage, b: &RgbaImage) -> Vec<u8> {
    a.pixels()
        .zip(b.pixels())
        .map(|(p, q)| {
            let (p, q) = (premultiply(p), premultiply(q));
            (0..4).map(|c| p[c].abs_diff(q[c])).max().unwrap_or(0)
        })
        .collect()
}

/// Measures two images of the same size.
pub fn measure(reference: &RgbaImage, candidate: &RgbaImage) -> ImageMetrics {
    let (w, h) = reference.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    let diffs = differences(reference, candidate);
    let mut histogram = vec![0u64; 256];
    let mut region: Option<[u32; 4]> = None;
    for (i, &d) in diffs.iter().enumerate() {
        histogram[usize::from(d)] += 1;
        if d > 0 {
            let (x, y) = (
                (i as u64 % u64::from(w)) as u32,
                (i as u64 / u64::from(w)) as u32,
            );
            region = Some(match region {
                None => [x, y, x, y],
                Some([x0, y0, x1, y1]) => [x0.min(x), y0.min(y), x1.max(x), y1.max(y)],
            });
        }
    }
    let mut sq = 0f64;
    for (p, q) in reference.pixels().zip(candidate.pixels()) {
        let (p, q) = (premultiply(p), premultiply(q));
        for c in 0..3 {
            let d = f64::from(p[c]) - f64::from(q[c]);
            sq += d * d;
        }
    }
    let mse = if pixels == 0 {
        0.0
    } else {
        sq / (pixels as f64 * 3.0)
    };
    let psnr_db = (mse > 0.0).then(|| 10.0 * (255.0f64 * 255.0 / mse).log10());
    let ssim = if pixels == 0 || region.is_none() {
        1.0
    } else {
        let flat = |img: &RgbaImage| -> Vec<u8> { img.pixels().flat_map(premultiply).collect() };
        super::ssim::ssim_interleaved(
            &flat(reference),
            &flat(candidate),
            w as usize,
            h as usize,
            4,
            3,
        )
    };
    let max = histogram.iter().rposition(|&n| n > 0).unwrap_or(0);
    let sum: u64 = diffs.iter().map(|&d| u64::from(d)).sum();
    ImageMetrics {
        width: w,
        height: h,
        pixels,
        mse,
        psnr_db,
        ssim,
        max_difference: max as f64 / 255.0,
        mean_difference: if pixels == 0 {
            0.0
        } else {
            sum as f64 / 255.0 / pixels as f64
        },
        histogram,
        differing_region: region,
    }
}

/// Compares two images: different sizes fail with `size_mismatch` (no panic, no metrics).
pub fn compare_images(
    reference: &RgbaImage,
    candidate: &RgbaImage,
    thresholds: &ImageThresholds,
) -> Result<ImageOutcome, CompareError> {
    let reference_size = [reference.width(), reference.height()];
    let candidate_size = [candidate.width(), candidate.height()];
    if reference_size != candidate_size {
        let finding = Finding::new(
            Verdict::Fail,
            "size_mismatch",
            format!(
                "the candidate is {}×{}, the reference {}×{}",
                candidate_size[0], candidate_size[1], reference_size[0], reference_size[1]
            ),
        );
        return Ok(ImageOutcome {
            comparison: ImageComparison {
                verdict: Verdict::Fail,
                findings: vec![finding],
                reference_size,
                candidate_size,
                metrics: None,
                shares: None,
            },
            diff_png: None,
        });
    }
    let metrics = measure(reference, candidate);
    let (shares, findings) = judge(&metrics, thresholds);
    let diff_png = if metrics.pixels == 0 {
        None
    } else {
        Some(difference_image(reference, candidate, thresholds)?)
    };
    Ok(ImageOutcome {
        comparison: ImageComparison {
            verdict: verdict_of(&findings),
            findings,
            reference_size,
            candidate_size,
            metrics: Some(metrics),
            shares: Some(shares),
        },
        diff_png,
    })
}

/// Compares encoded images (PNG, JPEG, GIF first frame).
pub fn compare_image_bytes(
    reference: &[u8],
    candidate: &[u8],
    thresholds: &ImageThresholds,
) -> Result<ImageOutcome, CompareError> {
    let a = decode_image(reference, "reference image")?;
    let b = decode_image(candidate, "candidate image")?;
    compare_images(&a, &b, thresholds)
}

/// The difference heat map (PNG, opaque, same size): the reference as dim grey where the
/// pixel is within `warn`; yellow over `warn`; red over `fail`, brighter the larger the
/// difference; magenta over `hard_fail`. The images must have the same size.
pub fn difference_image(
    reference: &RgbaImage,
    candidate: &RgbaImage,
    t: &ImageThresholds,
) -> Result<Vec<u8>, CompareError> {
    let (w, h) = reference.dimensions();
    if candidate.dimensions() != (w, h) {
        return Err(CompareError::Metric(
            "difference image of images of different sizes".into(),
        ));
    }
    let diffs = differences(reference, candidate);
    let mut out = RgbImage::new(w, h);
    for ((i, px), &d) in out.pixels_mut().enumerate().zip(&diffs) {
        let d = f64::from(d) / 255.0;
        let x = (i as u64 % u64::from(w.max(1))) as u32;
        let y = (i as u64 / u64::from(w.max(1))) as u32;
        let p = premultiply(reference.get_pixel(x, y));
        let luma = 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]);
        let grey = (40.0 + luma * 0.3) as u8;
        *px = if t.hard_fail.is_some_and(|hf| d > hf) {
            Rgb([255, 0, 255])
        } else if d > t.fail {
            let k = ((d - t.fail) / (1.0 - t.fail).max(1e-6)).clamp(0.0, 1.0);
            Rgb([(150.0 + 105.0 * k) as u8, 0, 0])
        } else if d > t.warn {
            Rgb([230, 200, 0])
        } else {
            Rgb([grey, grey, grey])
        };
    }
    let mut bytes = Cursor::new(Vec::new());
    out.write_to(&mut bytes, image::ImageFormat::Png)
        .map_err(|e| CompareError::Encode(format!("difference PNG: {e}")))?;
    Ok(bytes.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    /// A test picture: gradients and a few shapes (structure for SSIM to see).
    fn picture(w: u32, h: u32) -> RgbaImage {
        RgbaImage::from_fn(w, h, |x, y| {
            let r = (x * 255 / w.max(1)) as u8;
            let g = (y * 255 / h.max(1)) as u8;
            let b = if (x / 8 + y / 8) % 2 == 0 { 40 } else { 200 };
            Rgba([r, g, b, 255])
        })
    }

    /// Deterministic pseudo-random ±amplitude noise on every channel.
    fn noisy(img: &RgbaImage, amplitude: i32) -> RgbaImage {
        let mut state: u32 = 0x1234_5678;
        let mut out = img.clone();
        for p in out.pixels_mut() {
            for c in 0..3 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let n = (state % (2 * amplitude as u32 + 1)) as i32 - amplitude;
                p[c] = (i32::from(p[c]) + n).clamp(0, 255) as u8;
            }
        }
        out
    }

    #[test]
    fn identical_images_pass_with_infinite_psnr_and_ssim_one() {
        let a = picture(64, 48);
        let out = compare_images(&a, &a.clone(), &ImageThresholds::default()).expect("compares");
        let c = &out.comparison;
        assert_eq!(c.verdict, Verdict::Pass, "{:?}", c.findings);
        let m = c.metrics.as_ref().expect("metrics");
        assert_eq!(m.psnr_db, None);
        assert_eq!(m.psnr(), f64::INFINITY);
        assert_eq!(m.ssim, 1.0);
        assert_eq!(m.max_difference, 0.0);
        assert_eq!(m.histogram[0], 64 * 48);
        assert_eq!(m.differing_region, None);
        let diff = decode_image(out.diff_png.as_deref().expect("diff"), "diff").expect("PNG");
        assert_eq!(diff.dimensions(), (64, 48));
        // serialises (no NaN/∞ in the JSON)
        let json = serde_json::to_value(c).expect("json");
        assert!(json["metrics"]["psnr_db"].is_null());
    }

    #[test]
    fn one_changed_block_fails_with_its_pixel_share() {
        let a = picture(100, 100);
        let mut b = a.clone();
        // 10×10 block = 1% of the pixels, changed well beyond `fail`.
        for y in 20..30 {
            for x in 50..60 {
                b.put_pixel(x, y, Rgba([255, 255, 255, 255]));
            }
        }
        let changed = (20..30)
            .flat_map(|y| (50..60).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let p = a.get_pixel(x, y);
                (0..3).map(|c| 255 - p[c]).max().unwrap_or(0) > 25
            })
            .count() as u64;
        let out = compare_images(&a, &b, &ImageThresholds::default()).expect("compares");
        let c = &out.comparison;
        assert_eq!(c.verdict, Verdict::Fail);
        let shares = c.shares.as_ref().expect("shares");
        assert_eq!(shares.over_fail.pixels, changed);
        assert!((shares.over_fail.percent - changed as f64 / 100.0).abs() < 1e-9);
        assert!(c.findings.iter().any(|f| f.code == "fail_percent"), "{c:?}");
        let m = c.metrics.as_ref().expect("metrics");
        assert_eq!(m.differing_region, Some([50, 20, 59, 29]));
        assert!(m.ssim < 1.0);
        // The heat map marks exactly the block.
        let diff = decode_image(out.diff_png.as_deref().expect("diff"), "diff").expect("PNG");
        assert_eq!(diff.get_pixel(55, 25)[1], 0, "red inside the block");
        let outside = diff.get_pixel(5, 5);
        assert_eq!(outside[0], outside[1], "grey outside the block");
    }

    #[test]
    fn a_hard_fail_pixel_fails_outright() {
        let a = picture(50, 50);
        let mut b = a.clone();
        let p = *a.get_pixel(10, 10);
        b.put_pixel(10, 10, Rgba([255 - p[0], 255 - p[1], p[2], 255]));
        let lenient = ImageThresholds {
            fail_percent: 5.0,
            warn_percent: 5.0,
            fail_psnr_db: None,
            warn_psnr_db: None,
            fail_ssim: None,
            warn_ssim: None,
            ..ImageThresholds::default()
        };
        let out = compare_images(&a, &b, &lenient).expect("compares");
        assert_eq!(out.comparison.verdict, Verdict::Pass, "one pixel of 2500");
        let hard = ImageThresholds {
            hard_fail: Some(0.3),
            ..lenient
        };
        let out = compare_images(&a, &b, &hard).expect("compares");
        assert_eq!(out.comparison.verdict, Verdict::Fail);
        assert_eq!(out.comparison.findings[0].code, "hard_fail");
    }

    #[test]
    fn small_noise_passes_or_warns_per_thresholds() {
        let a = picture(96, 96);
        let b = noisy(&a, 1); // at most one 8-bit step per channel
        let t = ImageThresholds::default(); // warn 0.01 ≈ 2.55/255
        let out = compare_images(&a, &b, &t).expect("compares");
        let c = &out.comparison;
        let m = c.metrics.as_ref().expect("m");
        assert_eq!(m.max_difference, 1.0 / 255.0);
        assert!(m.ssim > 0.99 && m.ssim < 1.0, "{}", m.ssim);
        assert!(m.psnr() > 45.0, "{}", m.psnr());
        assert_eq!(c.verdict, Verdict::Pass, "{:?}", c.findings);
        // A stricter warn level turns the same noise into a warning, never a failure.
        let strict = ImageThresholds {
            warn: 0.5 / 255.0,
            ..t.clone()
        };
        let out = compare_images(&a, &b, &strict).expect("compares");
        assert_eq!(out.comparison.verdict, Verdict::Warn);
        assert!(out
            .comparison
            .findings
            .iter()
            .all(|f| f.verdict == Verdict::Warn));
        // Re-judging the stored metrics gives the same answer without the pixels.
        let again = c.rejudge(&strict);
        assert_eq!(again.verdict, Verdict::Warn);
        assert_eq!(again.shares, out.comparison.shares);
    }

    #[test]
    fn different_sizes_fail_structurally() {
        let out = compare_images(
            &picture(10, 10),
            &picture(12, 10),
            &ImageThresholds::default(),
        )
        .expect("no error");
        let c = &out.comparison;
        assert_eq!(c.verdict, Verdict::Fail);
        assert_eq!(c.findings[0].code, "size_mismatch");
        assert_eq!(c.reference_size, [10, 10]);
        assert_eq!(c.candidate_size, [12, 10]);
        assert!(c.metrics.is_none() && out.diff_png.is_none());
    }

    #[test]
    fn transparent_pixels_compare_by_alpha_only() {
        let a = RgbaImage::from_pixel(8, 8, Rgba([255, 0, 0, 0]));
        let b = RgbaImage::from_pixel(8, 8, Rgba([0, 255, 0, 0]));
        let out = compare_images(&a, &b, &ImageThresholds::default()).expect("compares");
        assert_eq!(out.comparison.verdict, Verdict::Pass);
        let c = RgbaImage::from_pixel(8, 8, Rgba([0, 255, 0, 255]));
        let out = compare_images(&b, &c, &ImageThresholds::default()).expect("compares");
        assert_eq!(out.comparison.verdict, Verdict::Fail);
    }

    #[test]
    fn empty_and_undecodable_inputs_do_not_panic() {
        let e = RgbaImage::new(0, 0);
        let out = compare_images(&e, &e.clone(), &ImageThresholds::default()).expect("compares");
        assert_eq!(out.comparison.verdict, Verdict::Pass);
        let err = compare_image_bytes(b"not a png", b"nor this", &ImageThresholds::default())
            .expect_err("undecodable");
        assert_eq!(err.code(), "undecodable_artifact");
    }
}
