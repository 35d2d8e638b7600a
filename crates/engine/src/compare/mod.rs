//! Golden-case parity: two runs' outputs compared (normally legacy = reference, graph =
//! candidate), judged `pass | warn | fail` by thresholds that are data, and a regression
//! attributed to the first graph node whose output differs from its legacy counterpart.
//!
//! | part | what |
//! |------|------|
//! | [`images`] | PSNR, SSIM ([`ssim`]: Wang et al. 2004), pixel shares over tolerances (idiff's `-fail/-failpercent/-hardfail/-warn`), heat-map PNG |
//! | [`turntable`] | frame-by-frame image comparison, worst frame named |
//! | [`scene`] | GLB structure by part key: presence, material, world bounds, triangles; cameras, lights |
//! | [`side_effects`] | artifact roles published, JSON documents (manifest, material report) diffed by path |
//! | [`thresholds`] | [`Thresholds`] per artifact kind and output type ([`ThresholdConfig`]), [`Verdict`] |
//! | [`noise`] | a legacy-vs-legacy comparison widens / judges a graph-vs-legacy one ([`judge_with_noise`]) |
//! | [`report`] | [`compare_runs`] → [`ComparisonReport`] (serde JSON) + difference images as blobs |
//! | [`attribution`] | [`attribute`]: the first differing node in dependency order |
//!
//! ```no_run
//! # use workflow_engine::compare::*;
//! # use workflow_engine::runtime::{MemoryArtifacts, RunReport};
//! # use workflow_contracts::{output_type::ArtifactKind, Graph, Registry};
//! # fn demo(legacy: &RunReport, graph_run: &RunReport, store: &MemoryArtifacts, graph: &Graph)
//! # -> Result<(), CompareError> {
//! let thresholds = ThresholdConfig::default().resolve(ArtifactKind::Still, Some("hero-still"))?;
//! let report = compare_runs(
//!     ArtifactKind::Still,
//!     RunOutputs { report: legacy, artifacts: store },
//!     RunOutputs { report: graph_run, artifacts: store },
//!     &thresholds,
//! )
//! .with_attribution(attribute(graph, &Registry::builtin(), graph_run, legacy));
//! let json = serde_json::to_string_pretty(&report).map_err(|e| CompareError::Encode(e.to_string()))?;
//! for blob in &report.blobs { /* store blob.bytes as an artifact named blob.name */ }
//! # let _ = json; Ok(()) }
//! ```

pub mod attribution;
pub mod images;
pub mod noise;
pub mod report;
pub mod scene;
pub mod side_effects;
pub mod ssim;
pub mod thresholds;
pub mod turntable;

pub use attribution::{attribute, Attribution, NodeParity, NodeParityState};
pub use images::{compare_image_bytes, compare_images, ImageComparison, ImageMetrics};
pub use noise::{judge_with_noise, NoiseBaselineApplied, NoiseRule};
pub use report::{
    compare_runs, ArtifactComparison, ArtifactDetail, ArtifactSource, ComparisonReport, DiffBlob,
    RunOutputs,
};
pub use scene::{
    compare_blend, compare_glb, compare_usd, PartAspect, PartDifference, SceneComparison,
};
pub use side_effects::{json_diff, JsonDifference, SideEffectComparison};
pub use thresholds::{
    Finding, ImageThresholds, SceneThresholds, SideEffectThresholds, ThresholdConfig, Thresholds,
    Verdict,
};
pub use turntable::{compare_turntable_bytes, compare_turntables, TurntableComparison};

/// Why a comparison could not be made (the runs' own differences are verdicts, not errors).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompareError {
    #[error("the {what} cannot be decoded: {reason}")]
    Decode { what: String, reason: String },
    #[error("invalid thresholds in {scope}: {reason}")]
    InvalidThresholds { scope: String, reason: String },
    #[error("metric computation failed: {0}")]
    Metric(String),
    #[error("encoding failed: {0}")]
    Encode(String),
    /// An external reader (OpenUSD for USD stages) failed; `code` is its own.
    #[error("the {what} cannot be read: {message}")]
    Reader {
        what: String,
        code: &'static str,
        message: String,
    },
}

impl CompareError {
    /// Stable code for API errors and report findings.
    pub fn code(&self) -> &'static str {
        match self {
            CompareError::Decode { .. } => "undecodable_artifact",
            CompareError::InvalidThresholds { .. } => "invalid_thresholds",
            CompareError::Metric(_) => "metric_failed",
            CompareError::Encode(_) => "encode_failed",
            CompareError::Reader { code, .. } => code,
        }
    }
}
