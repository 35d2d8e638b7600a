//! Turntables frame by frame: each frame pair is an [`ImageComparison`] under the turntable
//! thresholds; the turntable's verdict is the worst frame's, and the worst frame (worst
//! verdict, then most pixels over `fail`, then lowest SSIM) is named and gets the
//! difference image. A different frame count fails (`frame_count`); the frames both have
//! are still compared.

use image::codecs::gif::GifDecoder;
use image::{AnimationDecoder, RgbaImage};
use serde::{Deserialize, Serialize};

use super::images::{compare_images, ImageComparison};
use super::thresholds::{verdict_of, Finding, ImageThresholds, Verdict};
use super::CompareError;

/// Decodes every frame of an animated GIF (what `render.turntable` publishes) to RGBA8.
pub fn decode_frames(gif: &[u8], what: &str) -> Result<Vec<RgbaImage>, CompareError> {
    let err = |e: image::ImageError| CompareError::Decode {
        what: what.to_owned(),
        reason: e.to_string(),
    };
    let decoder = GifDecoder::new(std::io::Cursor::new(gif)).map_err(err)?;
    decoder
        .into_frames()
        .map(|f| f.map(|f| f.into_buffer()).map_err(err))
        .collect()
}

/// One frame pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameComparison {
    pub frame: usize,
    #[serde(flatten)]
    pub comparison: ImageComparison,
}

/// A turntable pair judged frame by frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurntableComparison {
    pub verdict: Verdict,
    /// Turntable-level findings (frame count) and the worst frame's.
    pub findings: Vec<Finding>,
    pub reference_frames: usize,
    pub candidate_frames: usize,
    /// The worst frame, if any frame was compared.
    pub worst_frame: Option<usize>,
    pub frames: Vec<FrameComparison>,
}

impl TurntableComparison {
    /// Judges every frame again with other thresholds.
    pub fn rejudge(&self, thresholds: &ImageThresholds) -> TurntableComparison {
        let frames: Vec<FrameComparison> = self
            .frames
            .iter()
            .map(|f| FrameComparison {
                frame: f.frame,
                comparison: f.comparison.rejudge(thresholds),
            })
            .collect();
        let count_findings: Vec<Finding> = self
            .findings
            .iter()
            .filter(|f| f.code == "frame_count")
            .cloned()
            .collect();
        assemble(
            self.reference_frames,
            self.candidate_frames,
            frames,
            count_findings,
        )
    }
}

/// A turntable comparison and the worst frame's difference image.
#[derive(Debug, Clone)]
pub struct TurntableOutcome {
    pub comparison: TurntableComparison,
    pub worst_frame_diff_png: Option<Vec<u8>>,
}

fn badness(c: &ImageComparison) -> (Verdict, u64, i64) {
    let over_fail = c.shares.as_ref().map_or(u64::MAX, |s| s.over_fail.pixels);
    let ssim = c.metrics.as_ref().map_or(-1.0, |m| m.ssim);
    // Lower SSIM is worse: negate (scaled to keep the order in an integer).
    (c.verdict, over_fail, (-ssim * 1e9) as i64)
}

fn assemble(
    reference_frames: usize,
    candidate_frames: usize,
    frames: Vec<FrameComparison>,
    mut findings: Vec<Finding>,
) -> TurntableComparison {
    let worst = frames
        .iter()
        .max_by_key(|f| badness(&f.comparison))
        .map(|f| f.frame);
    if let Some(w) = worst.and_then(|w| frames.iter().find(|f| f.frame == w)) {
        let failing = frames
            .iter()
            .filter(|f| f.comparison.verdict != Verdict::Pass)
            .count();
        for f in &w.comparison.findings {
            findings.push(Finding::new(
                f.verdict,
                &f.code,
                format!(
                    "frame {} (worst of {failing} not passing): {}",
                    w.frame, f.message
                ),
            ));
        }
    }
    let verdict = verdict_of(&findings).worst(Verdict::worst_of(
        frames.iter().map(|f| f.comparison.verdict),
    ));
    TurntableComparison {
        verdict,
        findings,
        reference_frames,
        candidate_frames,
        worst_frame: worst,
        frames,
    }
}

/// Compares two frame sequences.
pub fn compare_turntables(
    reference: &[RgbaImage],
    candidate: &[RgbaImage],
    thresholds: &ImageThresholds,
) -> Result<TurntableOutcome, CompareError> {
    let mut findings = Vec::new();
    if reference.len() != candidate.len() {
        findings.push(Finding::new(
            Verdict::Fail,
            "frame_count",
            format!(
                "the candidate has {} frames, the reference {}",
                candidate.len(),
                reference.len()
            ),
        ));
    }
    let mut frames = Vec::new();
    let mut diffs = Vec::new();
    for (i, (a, b)) in reference.iter().zip(candidate).enumerate() {
        let out = compare_images(a, b, thresholds)?;
        frames.push(FrameComparison {
            frame: i,
            comparison: out.comparison,
        });
        diffs.push(out.diff_png);
    }
    let comparison = assemble(reference.len(), candidate.len(), frames, findings);
    let worst_frame_diff_png = comparison
        .worst_frame
        .and_then(|w| diffs.get_mut(w))
        .and_then(Option::take);
    Ok(TurntableOutcome {
        comparison,
        worst_frame_diff_png,
    })
}

/// Compares two turntable GIFs.
pub fn compare_turntable_bytes(
    reference: &[u8],
    candidate: &[u8],
    thresholds: &ImageThresholds,
) -> Result<TurntableOutcome, CompareError> {
    let a = decode_frames(reference, "reference turntable")?;
    let b = decode_frames(candidate, "candidate turntable")?;
    compare_turntables(&a, &b, thresholds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{encode_gif, RenderedImage};
    use image::Rgba;

    fn frame(i: u32) -> RgbaImage {
        RgbaImage::from_fn(32, 32, |x, y| {
            let on = (x + i * 4) % 16 < 8 && y > 4 && y < 28;
            if on {
                Rgba([200, 60, 30, 255])
            } else {
                Rgba([20, 20, 20, 255])
            }
        })
    }

    fn gif(frames: &[RgbaImage]) -> Vec<u8> {
        let rendered: Vec<RenderedImage> = frames
            .iter()
            .map(|f| RenderedImage {
                width: f.width(),
                height: f.height(),
                rgba: f.as_raw().clone(),
            })
            .collect();
        encode_gif(&rendered, 80).expect("gif")
    }

    #[test]
    fn identical_turntables_pass_frame_by_frame() {
        let frames: Vec<RgbaImage> = (0..6).map(frame).collect();
        let bytes = gif(&frames);
        let out = compare_turntable_bytes(&bytes, &bytes, &ImageThresholds::turntable())
            .expect("compares");
        let c = &out.comparison;
        assert_eq!(c.verdict, Verdict::Pass, "{:?}", c.findings);
        assert_eq!(c.frames.len(), 6);
        assert_eq!((c.reference_frames, c.candidate_frames), (6, 6));
        assert!(c.frames.iter().all(|f| f
            .comparison
            .metrics
            .as_ref()
            .is_some_and(|m| m.psnr_db.is_none())));
    }

    #[test]
    fn one_changed_frame_is_named_worst() {
        let frames: Vec<RgbaImage> = (0..5).map(frame).collect();
        let mut changed = frames.clone();
        changed[3] = frame(1); // a different angle in frame 3
        let out =
            compare_turntables(&frames, &changed, &ImageThresholds::turntable()).expect("compares");
        let c = &out.comparison;
        assert_eq!(c.verdict, Verdict::Fail);
        assert_eq!(c.worst_frame, Some(3));
        assert!(c.findings.iter().any(|f| f.message.starts_with("frame 3")));
        for f in &c.frames {
            let expected = if f.frame == 3 {
                Verdict::Fail
            } else {
                Verdict::Pass
            };
            assert_eq!(f.comparison.verdict, expected, "frame {}", f.frame);
        }
        assert!(out.worst_frame_diff_png.is_some());
        let json = serde_json::to_value(c).expect("json");
        assert_eq!(json["frames"][3]["verdict"], "fail");
        assert!(json["frames"][3]["metrics"]["ssim"].is_number());
    }

    #[test]
    fn frame_count_mismatch_fails() {
        let frames: Vec<RgbaImage> = (0..4).map(frame).collect();
        let out = compare_turntables(&frames, &frames[..3], &ImageThresholds::turntable())
            .expect("compares");
        let c = &out.comparison;
        assert_eq!(c.verdict, Verdict::Fail);
        assert_eq!(c.findings[0].code, "frame_count");
        assert_eq!(c.frames.len(), 3);
        assert!(decode_frames(b"GIF89a-broken", "x").is_err());
    }
}
