//! [`compare_runs`]: two runs' outputs (a reference, normally legacy, and a candidate,
//! normally the graph) compared into one [`ComparisonReport`]: run outcome, every published
//! image / turntable / scene artifact, and the side effects, each with its verdict, the
//! thresholds used, and the difference images as separate blobs for the caller to store.

use serde::{Deserialize, Serialize};
use workflow_contracts::output_type::ArtifactKind;
use workflow_contracts::ArtifactRole;

use super::attribution::Attribution;
use super::images::{compare_image_bytes, ImageComparison};
use super::noise::NoiseBaselineApplied;
use super::scene::{compare_blend, compare_glb, SceneComparison};
use super::side_effects::{compare_document, compare_roles, SideEffectComparison};
use super::thresholds::{verdict_of, Finding, Thresholds, Verdict};
use super::turntable::{compare_turntable_bytes, TurntableComparison};
use crate::runtime::{ArtifactRef, MemoryArtifacts, NodeStatus, RunReport, RunStatus};

/// Where a run's artifact bytes are (the server's artifact store, [`MemoryArtifacts`]).
pub trait ArtifactSource {
    fn artifact_bytes(&self, artifact: &ArtifactRef) -> Result<Vec<u8>, String>;
}

impl ArtifactSource for MemoryArtifacts {
    fn artifact_bytes(&self, artifact: &ArtifactRef) -> Result<Vec<u8>, String> {
        self.get(&artifact.id)
            .map(|(_, bytes)| bytes)
            .ok_or_else(|| format!("artifact {} is not in the store", artifact.id))
    }
}

/// One run to compare: its record and where its artifacts are.
#[derive(Clone, Copy)]
pub struct RunOutputs<'a> {
    pub report: &'a RunReport,
    pub artifacts: &'a dyn ArtifactSource,
}

/// A difference image for the caller to store as an artifact; the report names it in
/// [`ArtifactComparison::diff_image`].
#[derive(Debug, Clone, PartialEq)]
pub struct DiffBlob {
    pub name: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// What was compared for one artifact pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ArtifactDetail {
    Image(ImageComparison),
    Turntable(TurntableComparison),
    Scene(SceneComparison),
    /// Neither an image nor a scene: compared byte for byte.
    Bytes {
        identical: bool,
    },
    /// The pair could not be compared (unreadable, different media types).
    Error {
        code: String,
        message: String,
    },
}

/// One artifact of the reference paired with the same role's artifact of the candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactComparison {
    pub role: ArtifactRole,
    /// Which one of that role (0 for the first), in node order.
    pub index: usize,
    pub reference_artifact: String,
    pub candidate_artifact: String,
    pub media_type: String,
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
    /// Name of the difference image in [`ComparisonReport::blobs`], if one was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff_image: Option<String>,
    pub comparison: ArtifactDetail,
}

impl ArtifactComparison {
    /// Sets verdict and findings from the detail.
    pub(crate) fn refresh(&mut self) {
        let (verdict, findings) = match &self.comparison {
            ArtifactDetail::Image(c) => (c.verdict, c.findings.clone()),
            ArtifactDetail::Turntable(c) => (c.verdict, c.findings.clone()),
            ArtifactDetail::Scene(c) => (c.verdict, c.findings.clone()),
            ArtifactDetail::Bytes { identical: true } => (Verdict::Pass, Vec::new()),
            ArtifactDetail::Bytes { identical: false } => {
                let f = Finding::new(
                    Verdict::Warn,
                    "bytes_differ",
                    format!(
                        "the {} artifacts ({}) differ and have no structural comparison",
                        self.role, self.media_type
                    ),
                );
                (Verdict::Warn, vec![f])
            }
            ArtifactDetail::Error { code, message } => (
                Verdict::Fail,
                vec![Finding::new(Verdict::Fail, code, message.clone())],
            ),
        };
        self.verdict = verdict;
        self.findings = findings;
    }
}

/// The whole comparison of two runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonReport {
    pub artifact_kind: ArtifactKind,
    pub reference_run: String,
    pub candidate_run: String,
    pub reference_status: RunStatus,
    pub candidate_status: RunStatus,
    /// The worst of everything below: `pass` only when every part passes.
    pub verdict: Verdict,
    /// Run-level findings (outcome, missing main artifact, noise baseline).
    pub findings: Vec<Finding>,
    pub thresholds: Thresholds,
    pub artifacts: Vec<ArtifactComparison>,
    pub side_effects: SideEffectComparison,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_baseline: Option<NoiseBaselineApplied>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<Attribution>,
    /// Difference images (not in the JSON; store them and keep their names).
    #[serde(skip)]
    pub blobs: Vec<DiffBlob>,
}

impl ComparisonReport {
    /// Recomputes the overall verdict from its parts.
    pub fn reassess(&mut self) {
        self.verdict = verdict_of(&self.findings)
            .worst(Verdict::worst_of(self.artifacts.iter().map(|a| a.verdict)))
            .worst(self.side_effects.verdict);
    }

    /// Attaches an attribution (see [`super::attribute`]).
    pub fn with_attribution(mut self, attribution: Attribution) -> Self {
        self.attribution = Some(attribution);
        self
    }

    /// The comparisons of one role.
    pub fn artifacts_of(&self, role: ArtifactRole) -> impl Iterator<Item = &ArtifactComparison> {
        self.artifacts.iter().filter(move |a| a.role == role)
    }

    /// The blob a comparison names.
    pub fn blob(&self, name: &str) -> Option<&DiffBlob> {
        self.blobs.iter().find(|b| b.name == name)
    }
}

/// The first failed node's error code (the root cause), if any.
fn failure_code(report: &RunReport) -> Option<(String, String)> {
    report
        .nodes
        .iter()
        .find(|n| n.status == NodeStatus::Failed)
        .and_then(|n| {
            n.error
                .as_ref()
                .map(|e| (n.node_id.clone(), e.code.clone()))
        })
}

fn outcome_findings(reference: &RunReport, candidate: &RunReport) -> Vec<Finding> {
    let ok = |s: RunStatus| s == RunStatus::Succeeded;
    match (ok(reference.status), ok(candidate.status)) {
        (true, true) => Vec::new(),
        (true, false) => {
            let why = failure_code(candidate)
                .map(|(node, code)| format!(" (node '{node}': {code})"))
                .unwrap_or_default();
            vec![Finding::new(
                Verdict::Fail,
                "candidate_failed",
                format!(
                    "the candidate run {}{why}; the reference succeeded",
                    candidate.status.as_str()
                ),
            )]
        }
        (false, true) => vec![Finding::new(
            Verdict::Fail,
            "reference_failed",
            format!(
                "the reference run {} but the candidate succeeded",
                reference.status.as_str()
            ),
        )],
        (false, false) => {
            let (a, b) = (failure_code(reference), failure_code(candidate));
            let code = |c: &Option<(String, String)>| c.as_ref().map(|c| c.1.clone());
            if reference.status == candidate.status && code(&a) == code(&b) {
                // A failure golden case: both fail the same way.
                Vec::new()
            } else {
                vec![Finding::new(
                    Verdict::Fail,
                    "different_failure",
                    format!(
                        "both runs did not succeed, differently: reference {} ({}), candidate {} ({})",
                        reference.status.as_str(),
                        code(&a).unwrap_or_else(|| "no error".into()),
                        candidate.status.as_str(),
                        code(&b).unwrap_or_else(|| "no error".into()),
                    ),
                )]
            }
        }
    }
}

fn of_role(report: &RunReport, role: ArtifactRole) -> Vec<&ArtifactRef> {
    report
        .artifacts()
        .map(|(_, a)| a)
        .filter(|a| a.role == role)
        .collect()
}

const VISUAL_ROLES: [ArtifactRole; 5] = [
    ArtifactRole::Still,
    ArtifactRole::Thumbnail,
    ArtifactRole::Turntable,
    ArtifactRole::SceneExport,
    ArtifactRole::PreviewGlb,
];

const DOCUMENT_ROLES: [ArtifactRole; 2] =
    [ArtifactRole::PartManifest, ArtifactRole::MaterialReport];

/// The artifact's bytes, or a message naming the side and the artifact.
fn fetch(side: &str, run: RunOutputs<'_>, artifact: &ArtifactRef) -> Result<Vec<u8>, String> {
    run.artifacts
        .artifact_bytes(artifact)
        .map_err(|e| format!("the {side} artifact {} cannot be read: {e}", artifact.id))
}

fn error_detail(e: super::CompareError) -> ArtifactDetail {
    ArtifactDetail::Error {
        code: e.code().to_owned(),
        message: e.to_string(),
    }
}

/// The two runs and the thresholds every pair is compared under.
struct Pairing<'a> {
    reference: RunOutputs<'a>,
    candidate: RunOutputs<'a>,
    thresholds: &'a Thresholds,
}

fn compare_pair(
    ctx: &Pairing<'_>,
    role: ArtifactRole,
    index: usize,
    a: &ArtifactRef,
    b: &ArtifactRef,
    blobs: &mut Vec<DiffBlob>,
) -> ArtifactComparison {
    let (reference, candidate, thresholds) = (ctx.reference, ctx.candidate, ctx.thresholds);
    let mut diff_image = None;
    let mut blob = |bytes: Option<Vec<u8>>, suffix: &str| {
        bytes.map(|bytes| {
            let name = format!("diff-{}-{index}{suffix}.png", role.as_str());
            blobs.push(DiffBlob {
                name: name.clone(),
                media_type: "image/png".into(),
                bytes,
            });
            name
        })
    };
    let detail = if a.media_type != b.media_type {
        ArtifactDetail::Error {
            code: "media_type_mismatch".into(),
            message: format!(
                "the candidate {role} is {}, the reference {}",
                b.media_type, a.media_type
            ),
        }
    } else {
        match (
            fetch("reference", reference, a),
            fetch("candidate", candidate, b),
        ) {
            (Err(message), _) | (_, Err(message)) => ArtifactDetail::Error {
                code: "artifact_unavailable".into(),
                message,
            },
            (Ok(x), Ok(y)) => {
                let media = a.media_type.as_str();
                if role == ArtifactRole::Turntable || media == "image/gif" {
                    match compare_turntable_bytes(&x, &y, &thresholds.turntable) {
                        Ok(out) => {
                            let suffix = out
                                .comparison
                                .worst_frame
                                .map(|f| format!("-frame-{f}"))
                                .unwrap_or_default();
                            diff_image = blob(out.worst_frame_diff_png, &suffix);
                            ArtifactDetail::Turntable(out.comparison)
                        }
                        Err(e) => error_detail(e),
                    }
                } else if media.starts_with("image/") {
                    match compare_image_bytes(&x, &y, &thresholds.image) {
                        Ok(out) => {
                            diff_image = blob(out.diff_png, "");
                            ArtifactDetail::Image(out.comparison)
                        }
                        Err(e) => error_detail(e),
                    }
                } else if media == "model/gltf-binary" {
                    match compare_glb(&x, &y, &thresholds.scene) {
                        Ok(c) => ArtifactDetail::Scene(c),
                        Err(e) => error_detail(e),
                    }
                } else if media == crate::export_usd::USD_MEDIA_TYPE {
                    match super::scene::compare_usd(&x, &y, &thresholds.scene) {
                        Ok(c) => ArtifactDetail::Scene(c),
                        Err(e) => error_detail(e),
                    }
                } else if media == "application/x-blender" {
                    // Blender writes memory addresses into a .blend: never byte-identical.
                    match compare_blend(&x, &y, &thresholds.scene) {
                        Ok(c) => ArtifactDetail::Scene(c),
                        Err(e) => error_detail(e),
                    }
                } else {
                    ArtifactDetail::Bytes { identical: x == y }
                }
            }
        }
    };
    let mut out = ArtifactComparison {
        role,
        index,
        reference_artifact: a.id.clone(),
        candidate_artifact: b.id.clone(),
        media_type: a.media_type.clone(),
        verdict: Verdict::Pass,
        findings: Vec::new(),
        diff_image,
        comparison: detail,
    };
    out.refresh();
    out
}

/// Compares a candidate run with a reference run of the same order line / product.
///
/// Every image, turntable and scene artifact the two runs both published is paired by role
/// and position and compared under `thresholds`; roles published by one run only, or a
/// different number of times, and the part manifest / material report contents are side
/// effects. Unreadable artifacts fail their comparison (nothing here panics or errors on the
/// runs' data). `kind` is the output type's artifact kind: when the reference published
/// that role and the candidate did not, the report fails with `main_artifact_missing`.
pub fn compare_runs(
    kind: ArtifactKind,
    reference: RunOutputs<'_>,
    candidate: RunOutputs<'_>,
    thresholds: &Thresholds,
) -> ComparisonReport {
    let (r, c) = (reference.report, candidate.report);
    let mut findings = outcome_findings(r, c);
    let main = kind.role();
    if !of_role(r, main).is_empty() && of_role(c, main).is_empty() {
        findings.push(Finding::new(
            Verdict::Fail,
            "main_artifact_missing",
            format!("the candidate published no {main}, the output type's artifact"),
        ));
    }
    let mut blobs = Vec::new();
    let mut artifacts = Vec::new();
    let ctx = Pairing {
        reference,
        candidate,
        thresholds,
    };
    for role in VISUAL_ROLES {
        for (i, (a, b)) in of_role(r, role)
            .into_iter()
            .zip(of_role(c, role))
            .enumerate()
        {
            artifacts.push(compare_pair(&ctx, role, i, a, b, &mut blobs));
        }
    }
    let t = &thresholds.side_effects;
    let roles = compare_roles(
        &r.artifacts().map(|(_, a)| a.role).collect::<Vec<_>>(),
        &c.artifacts().map(|(_, a)| a.role).collect::<Vec<_>>(),
        t,
    );
    let mut side_effects = SideEffectComparison {
        roles,
        ..SideEffectComparison::default()
    };
    for role in DOCUMENT_ROLES {
        for (i, (a, b)) in of_role(r, role)
            .into_iter()
            .zip(of_role(c, role))
            .enumerate()
        {
            let parse = |side: &str, run: RunOutputs<'_>, art: &ArtifactRef| {
                let bytes = fetch(side, run, art)?;
                serde_json::from_slice::<serde_json::Value>(&bytes)
                    .map_err(|e| format!("the {side} {role} is not JSON: {e}"))
            };
            match (
                parse("reference", reference, a),
                parse("candidate", candidate, b),
            ) {
                (Ok(x), Ok(y)) => side_effects
                    .documents
                    .push(compare_document(role, i, &x, &y, t)),
                (Err(e), _) | (_, Err(e)) => {
                    findings.push(Finding::new(Verdict::Fail, "document_unreadable", e))
                }
            }
        }
    }
    side_effects.reassess(t);
    let mut report = ComparisonReport {
        artifact_kind: kind,
        reference_run: r.run_id.clone(),
        candidate_run: c.run_id.clone(),
        reference_status: r.status,
        candidate_status: c.status,
        verdict: Verdict::Pass,
        findings,
        thresholds: thresholds.clone(),
        artifacts,
        side_effects,
        noise_baseline: None,
        attribution: None,
        blobs,
    };
    report.reassess();
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{ArtifactSink, NodeRun};
    use serde_json::Map;
    use std::collections::BTreeMap;

    fn png(shade: u8) -> Vec<u8> {
        let img = image::RgbaImage::from_pixel(16, 16, image::Rgba([shade, shade, shade, 255]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png)
            .expect("encode");
        out.into_inner()
    }

    fn run(
        id: &str,
        store: &MemoryArtifacts,
        status: RunStatus,
        artifacts: &[(ArtifactRole, &str, Vec<u8>)],
    ) -> RunReport {
        let stored = artifacts
            .iter()
            .map(|(role, media, bytes)| {
                store
                    .store(id, "render", *role, media, bytes)
                    .expect("stored")
            })
            .collect();
        let node_status = if status == RunStatus::Succeeded {
            NodeStatus::Succeeded
        } else {
            NodeStatus::Failed
        };
        RunReport {
            run_id: id.into(),
            status,
            started_at: 0,
            finished_at: 1,
            nodes: vec![NodeRun {
                node_id: "render".into(),
                node_type: "render.still".into(),
                module_key: "render.image".into(),
                status: node_status,
                queued_at: 0,
                started_at: Some(0),
                finished_at: Some(1),
                params: Map::new(),
                outputs: BTreeMap::new(),
                output_digests: BTreeMap::new(),
                artifacts: stored,
                logs: Vec::new(),
                error: (node_status == NodeStatus::Failed).then(|| crate::runtime::NodeError {
                    code: "render_failed".into(),
                    message: "no context".into(),
                    details: serde_json::Value::Null,
                    root_cause_node: None,
                }),
            }],
        }
    }

    #[test]
    fn unreadable_and_missing_artifacts_fail_without_panicking() {
        let store = MemoryArtifacts::default();
        let reference = run(
            "legacy",
            &store,
            RunStatus::Succeeded,
            &[
                (ArtifactRole::Still, "image/png", png(100)),
                (
                    ArtifactRole::MaterialReport,
                    "application/json",
                    b"{\"parts\":[]}".to_vec(),
                ),
            ],
        );
        let candidate = run(
            "graph",
            &store,
            RunStatus::Succeeded,
            &[(ArtifactRole::Still, "image/png", b"not a png".to_vec())],
        );
        let report = compare_runs(
            ArtifactKind::Still,
            RunOutputs {
                report: &reference,
                artifacts: &store,
            },
            RunOutputs {
                report: &candidate,
                artifacts: &store,
            },
            &Thresholds::default(),
        );
        assert_eq!(report.verdict, Verdict::Fail);
        let still = report
            .artifacts_of(ArtifactRole::Still)
            .next()
            .expect("still");
        assert_eq!(still.findings[0].code, "undecodable_artifact");
        assert!(report
            .side_effects
            .findings
            .iter()
            .any(|f| f.code == "role_missing" && f.message.contains("material_report")));
        let json = serde_json::to_value(&report).expect("json");
        assert_eq!(json["artifacts"][0]["comparison"]["type"], "error");
    }

    #[test]
    fn a_failed_candidate_and_a_shared_failure() {
        let store = MemoryArtifacts::default();
        let ok = run(
            "legacy",
            &store,
            RunStatus::Succeeded,
            &[(ArtifactRole::Still, "image/png", png(100))],
        );
        let failed = run("graph", &store, RunStatus::Failed, &[]);
        let outputs = |r| RunOutputs {
            report: r,
            artifacts: &store,
        };
        let report = compare_runs(
            ArtifactKind::Still,
            outputs(&ok),
            outputs(&failed),
            &Thresholds::default(),
        );
        assert_eq!(report.verdict, Verdict::Fail);
        let codes: Vec<&str> = report.findings.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, vec!["candidate_failed", "main_artifact_missing"]);
        assert!(report.findings[0].message.contains("render_failed"));
        // A failure golden case: both fail the same way.
        let legacy_failed = run("legacy-2", &store, RunStatus::Failed, &[]);
        let both = compare_runs(
            ArtifactKind::Still,
            outputs(&legacy_failed),
            outputs(&failed),
            &Thresholds::default(),
        );
        assert_eq!(both.verdict, Verdict::Pass, "{:?}", both.findings);
        // Different shades of grey: the still fails and a difference image is a blob.
        let darker = run(
            "graph-2",
            &store,
            RunStatus::Succeeded,
            &[(ArtifactRole::Still, "image/png", png(10))],
        );
        let report = compare_runs(
            ArtifactKind::Still,
            outputs(&ok),
            outputs(&darker),
            &Thresholds::default(),
        );
        let still = report
            .artifacts_of(ArtifactRole::Still)
            .next()
            .expect("still");
        assert_eq!(still.verdict, Verdict::Fail);
        let name = still.diff_image.as_deref().expect("diff");
        assert_eq!(name, "diff-still-0.png");
        assert!(report.blob(name).is_some());
    }
}
