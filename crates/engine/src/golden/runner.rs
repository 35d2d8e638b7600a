//! Running a golden case: the product processed once, then the legacy pipeline and the
//! workflow graph run on it (and legacy a second time for the noise baseline), both through
//! the production modules, compared with [`crate::compare`] and checked against the case's
//! expectation.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;
use workflow_contracts::output_type::{ArtifactKind, OutputTypeSpec, Rollout};
use workflow_contracts::{ArtifactRole, Family, Registry};

use super::case::{Expectation, LoadedCase};
use crate::compare::{
    attribute, compare_runs, judge_with_noise, ComparisonReport, NoiseRule, RunOutputs,
    ThresholdConfig, Thresholds, Verdict,
};
use crate::local::{self, LocalProduct};
use crate::modules::{production_modules, LazyRenderService, ProductionContext};
use crate::runtime::{
    MemoryArtifacts, ModuleRegistry, NodeError, NodeRun, NodeStatus, RunReport, RunRequest,
    RunStatus, Runtime, RuntimeError,
};

/// The order-line id golden order-line runs get.
pub const ORDER_LINE_ID: &str = "golden";

/// How a case came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// The expectation holds.
    Pass,
    /// The comparison warns where the case expects a pass: a person must review it.
    Warn,
    /// The expectation does not hold (a parity regression, or a failure case that no
    /// longer fails the same way in both paths).
    Fail,
    /// The case could not be run (its product could not be processed, bad thresholds).
    Error,
}

impl CaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Pass => "pass",
            CaseStatus::Warn => "warn",
            CaseStatus::Fail => "fail",
            CaseStatus::Error => "error",
        }
    }
}

/// The first failing node of a run (or the runtime's refusal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFailure {
    pub node: String,
    pub node_type: String,
    pub code: String,
    pub message: String,
}

/// One path of a case, summarised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: String,
    pub status: RunStatus,
    pub duration_ms: i64,
    /// Whether the runtime refused the run before any node ran.
    pub refused: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<RunFailure>,
    /// Per node (or legacy step): id, type, status, duration, error code.
    pub nodes: Vec<Value>,
}

/// A file of a case kept with the report (`path` is relative to the report directory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseFile {
    /// `legacy`, `graph` or `difference`.
    pub side: String,
    pub role: String,
    pub media_type: String,
    pub path: String,
    /// The artifact id in the run (for a difference image: the blob's name).
    pub artifact: String,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// The outcome of one case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    pub name: String,
    pub description: String,
    pub file: String,
    pub product: String,
    pub family: Family,
    pub artifact_kind: ArtifactKind,
    pub status: CaseStatus,
    /// Why the status is not `pass`, one line each.
    pub problems: Vec<String>,
    pub expected: Expectation,
    /// The comparison's verdict (after the noise baseline, when the case has one).
    pub verdict: Option<Verdict>,
    pub duration_ms: u64,
    pub processing_ms: Option<u64>,
    pub legacy: Option<RunSummary>,
    pub graph: Option<RunSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<RunSummary>,
    pub comparison: Option<ComparisonReport>,
    pub files: Vec<CaseFile>,
}

impl CaseResult {
    fn new(loaded: &LoadedCase) -> Self {
        let case = &loaded.case;
        CaseResult {
            name: case.name.clone(),
            description: case.description.clone(),
            file: loaded.file.display().to_string(),
            product: case.product.clone(),
            family: case.output_type.family,
            artifact_kind: case.output_type.artifact_kind,
            status: CaseStatus::Error,
            problems: Vec::new(),
            expected: case.expect.clone(),
            verdict: None,
            duration_ms: 0,
            processing_ms: None,
            legacy: None,
            graph: None,
            noise: None,
            comparison: None,
            files: Vec::new(),
        }
    }

    /// The attributed node, when the comparison named one.
    pub fn attributed_node(&self) -> Option<&str> {
        self.comparison
            .as_ref()
            .and_then(|c| c.attribution.as_ref())
            .and_then(|a| a.node_id.as_deref())
    }
}

/// Runs golden cases: one registry and one headless renderer for all of them.
pub struct GoldenRunner {
    registry: Arc<Registry>,
    renderer: Arc<LazyRenderService>,
}

impl GoldenRunner {
    pub fn new(registry: Arc<Registry>) -> Self {
        GoldenRunner {
            registry,
            renderer: Arc::new(LazyRenderService::default()),
        }
    }

    /// The renderer every case shares (start it early: its start-up takes seconds on
    /// llvmpipe, and a process must not exit while it is starting).
    pub fn renderer(&self) -> Arc<LazyRenderService> {
        self.renderer.clone()
    }

    fn modules(&self, product: Arc<LocalProduct>) -> Arc<ModuleRegistry> {
        let mut ctx = ProductionContext::new(product);
        ctx.renderer = self.renderer.clone();
        Arc::new(production_modules(ctx))
    }

    /// Runs one case; never panics on the case's data (problems become its status).
    pub async fn run_case(&self, loaded: &LoadedCase) -> CaseResult {
        let started = Instant::now();
        let mut result = CaseResult::new(loaded);
        if let Err(message) = self.run_paths(loaded, &mut result).await {
            result.status = CaseStatus::Error;
            result.problems.push(message);
        }
        result.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        result
    }

    async fn run_paths(&self, loaded: &LoadedCase, result: &mut CaseResult) -> Result<(), String> {
        let case = &loaded.case;
        let kind = case.output_type.artifact_kind;
        let thresholds = thresholds_for(&case.name, kind, case.thresholds.as_ref())?;
        let tmp = tempfile::Builder::new()
            .prefix("workflow-golden-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let store = Arc::new(MemoryArtifacts::default());
        let product_id = LocalProduct::id_for(&loaded.product);
        let product = |sub: &str| -> Result<Arc<LocalProduct>, String> {
            let dir = tmp.path().join(sub);
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            Ok(Arc::new(LocalProduct::new(
                &product_id,
                &loaded.product,
                &dir,
                case.material_map.clone(),
            )))
        };
        let mut inputs = Map::new();
        inputs.insert("product_id".into(), json!(product_id));
        // Order lines render one processed product; a cad_file path processes the upload
        // itself, so each path gets a product of its own.
        let (legacy_modules, graph_modules) = match case.output_type.family {
            Family::OrderLine => {
                inputs.insert("order_line_id".into(), json!(ORDER_LINE_ID));
                let modules = self.modules(product("product")?);
                let t = Instant::now();
                local::process(
                    &self.registry,
                    &modules,
                    &product_id,
                    &loaded.product,
                    CancellationToken::new(),
                )
                .await
                .map_err(|e| format!("the product could not be processed: {e}"))?;
                result.processing_ms = Some(u64::try_from(t.elapsed().as_millis()).unwrap_or(0));
                (modules.clone(), modules)
            }
            Family::CadFile => (
                self.modules(product("legacy")?),
                self.modules(product("graph")?),
            ),
        };
        let runtime = |modules: Arc<ModuleRegistry>| {
            Runtime::new(self.registry.clone(), modules, store.clone())
        };
        let spec = OutputTypeSpec {
            name: case.name.clone(),
            workflow_family: case.output_type.family,
            artifact_kind: kind,
            workflow_id: None,
            invocation_overrides: case.output_type.invocation_overrides.clone(),
            legacy_settings: Value::Object(case.output_type.legacy_settings.clone()),
            rollout: Rollout::Shadow,
            fallback_to_legacy: false,
        };
        let mut graph_overrides = case.output_type.invocation_overrides.clone();
        graph_overrides.extend(case.overrides.clone());
        let legacy_runtime = runtime(legacy_modules);
        let graph_runtime = runtime(graph_modules);
        let legacy_run = |run_id: &'static str| {
            let (runtime, spec, inputs) = (&legacy_runtime, &spec, inputs.clone());
            let overrides = case.overrides.clone();
            async move {
                let out = runtime
                    .run_legacy(
                        spec,
                        run_id,
                        inputs,
                        overrides,
                        None,
                        CancellationToken::new(),
                    )
                    .await;
                settle(run_id, out)
            }
        };
        let graph_run = async {
            let request = RunRequest {
                run_id: "graph".into(),
                graph: loaded.graph.clone(),
                overrides: graph_overrides,
                inputs: inputs.clone(),
            };
            let out = graph_runtime
                .run_graph(request, None, CancellationToken::new())
                .await;
            settle("graph", out)
        };
        let noise_run = async {
            if case.noise_baseline {
                Some(legacy_run("legacy-noise").await)
            } else {
                None
            }
        };
        let ((legacy, legacy_refused), (graph, graph_refused), noise) =
            tokio::join!(legacy_run("legacy"), graph_run, noise_run);
        result.legacy = Some(summary(&legacy, legacy_refused));
        result.graph = Some(summary(&graph, graph_refused));
        let outputs = |report| RunOutputs {
            report,
            artifacts: store.as_ref(),
        };
        let mut report = compare_runs(kind, outputs(&legacy), outputs(&graph), &thresholds);
        if let Some((noise, refused)) = &noise {
            result.noise = Some(summary(noise, *refused));
            let baseline = compare_runs(kind, outputs(&legacy), outputs(noise), &thresholds);
            report = judge_with_noise(&report, &baseline, &NoiseRule::default());
        }
        let report =
            report.with_attribution(attribute(&loaded.graph, &self.registry, &graph, &legacy));
        let (status, problems) = evaluate(&case.expect, &legacy, &graph, &report);
        result.status = status;
        result.problems = problems;
        result.verdict = Some(report.verdict);
        result.files = case_files(&case.name, &legacy, &graph, &report, &store);
        result.comparison = Some(report);
        Ok(())
    }
}

/// The thresholds of a case: the built-in configuration with the case's patch on top.
pub fn thresholds_for(
    name: &str,
    kind: ArtifactKind,
    patch: Option<&Value>,
) -> Result<Thresholds, String> {
    let mut config = ThresholdConfig::default();
    if let Some(patch) = patch {
        config.output_types.insert(name.to_owned(), patch.clone());
    }
    config
        .resolve(kind, Some(name))
        .map_err(|e| format!("thresholds: {e}"))
}

/// A run's report; a run the runtime refused becomes a failed report with one pseudo node
/// `run` carrying the refusal's code, so both paths compare alike.
fn settle(run_id: &str, out: Result<RunReport, RuntimeError>) -> (RunReport, bool) {
    match out {
        Ok(report) => (report, false),
        Err(e) => {
            let now = crate::runtime::now_ms();
            let node = NodeRun {
                node_id: "run".into(),
                node_type: "run".into(),
                module_key: "run".into(),
                status: NodeStatus::Failed,
                queued_at: now,
                started_at: None,
                finished_at: Some(now),
                params: Map::new(),
                outputs: Default::default(),
                output_digests: Default::default(),
                artifacts: Vec::new(),
                logs: Vec::new(),
                error: Some(NodeError {
                    code: e.code().to_owned(),
                    message: e.to_string(),
                    details: e.details(),
                    root_cause_node: None,
                }),
            };
            let report = RunReport {
                run_id: run_id.to_owned(),
                status: RunStatus::Failed,
                started_at: now,
                finished_at: now,
                nodes: vec![node],
            };
            (report, true)
        }
    }
}

/// The first failed node of a run (the root cause; skipped nodes only point at it).
pub fn first_failure(report: &RunReport) -> Option<RunFailure> {
    report
        .nodes
        .iter()
        .find(|n| n.status == NodeStatus::Failed)
        .map(|n| {
            let (code, message) = n
                .error
                .as_ref()
                .map(|e| (e.code.clone(), e.message.clone()))
                .unwrap_or_default();
            RunFailure {
                node: n.node_id.clone(),
                node_type: n.node_type.clone(),
                code,
                message,
            }
        })
}

fn summary(report: &RunReport, refused: bool) -> RunSummary {
    RunSummary {
        run_id: report.run_id.clone(),
        status: report.status,
        duration_ms: report.finished_at.saturating_sub(report.started_at),
        refused,
        failure: first_failure(report),
        nodes: report
            .nodes
            .iter()
            .map(|n| {
                json!({
                    "node_id": n.node_id,
                    "node_type": n.node_type,
                    "status": n.status,
                    "duration_ms": match (n.started_at, n.finished_at) {
                        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
                        _ => None,
                    },
                    "error": n.error.as_ref().map(|e| &e.code),
                })
            })
            .collect(),
    }
}

/// Checks a case's expectation against its runs and comparison.
pub fn evaluate(
    expect: &Expectation,
    legacy: &RunReport,
    graph: &RunReport,
    report: &ComparisonReport,
) -> (CaseStatus, Vec<String>) {
    let mut problems = Vec::new();
    let runs = [("legacy", legacy), ("graph", graph)];
    match &expect.failure {
        Some(expected) => {
            for (side, run) in runs {
                let wanted_node = match side {
                    "legacy" => expected.legacy_step.as_deref(),
                    _ => expected.node.as_deref(),
                };
                match first_failure(run) {
                    None => problems.push(format!(
                        "the {side} path {} but must fail with {}",
                        run.status.as_str(),
                        expected.code
                    )),
                    Some(f) if f.code != expected.code => problems.push(format!(
                        "the {side} path failed with {} at '{}', expected {}",
                        f.code, f.node, expected.code
                    )),
                    Some(f) => {
                        if let Some(node) = wanted_node.filter(|n| *n != f.node) {
                            problems.push(format!(
                                "the {side} path failed at '{}', expected at '{node}'",
                                f.node
                            ));
                        }
                    }
                }
            }
        }
        None => {
            if legacy.status != RunStatus::Succeeded && graph.status != RunStatus::Succeeded {
                let why = |r: &RunReport| {
                    first_failure(r)
                        .map(|f| format!("{} at '{}': {}", f.code, f.node, f.message))
                        .unwrap_or_else(|| r.status.as_str().to_owned())
                };
                problems.push(format!(
                    "both paths failed (legacy: {}; graph: {}), the case expects them to succeed",
                    why(legacy),
                    why(graph)
                ));
            }
        }
    }
    if let Some(node) = &expect.attributed_node {
        let got = report.attribution.as_ref().and_then(|a| a.node_id.clone());
        if got.as_deref() != Some(node.as_str()) {
            problems.push(format!(
                "the difference is attributed to {}, expected node '{node}'",
                got.map_or("no node".to_owned(), |g| format!("'{g}'"))
            ));
        }
    }
    let mut warn = false;
    if report.verdict != expect.verdict {
        if expect.verdict == Verdict::Pass && report.verdict == Verdict::Warn {
            warn = true;
        } else {
            let findings = worst_findings(report);
            problems.push(format!(
                "verdict {}, expected {}{}",
                report.verdict,
                expect.verdict,
                if findings.is_empty() {
                    String::new()
                } else {
                    format!(": {}", findings.join("; "))
                }
            ));
            if let Some(a) = report.attribution.as_ref().filter(|a| a.node_id.is_some()) {
                problems.push(a.message.clone());
            }
        }
    }
    let status = if !problems.is_empty() {
        CaseStatus::Fail
    } else if warn {
        CaseStatus::Warn
    } else {
        CaseStatus::Pass
    };
    if warn {
        problems.push(format!(
            "needs review: {}",
            worst_findings(report).join("; ")
        ));
    }
    (status, problems)
}

/// The run-level, artifact and side-effect findings at the report's own verdict.
fn worst_findings(report: &ComparisonReport) -> Vec<String> {
    let mut out: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.verdict == report.verdict)
        .map(|f| format!("{}: {}", f.code, f.message))
        .collect();
    for a in &report.artifacts {
        out.extend(
            a.findings
                .iter()
                .filter(|f| f.verdict == report.verdict)
                .map(|f| format!("{} #{} {}: {}", a.role, a.index, f.code, f.message)),
        );
    }
    out.extend(
        report
            .side_effects
            .findings
            .iter()
            .filter(|f| f.verdict == report.verdict)
            .map(|f| format!("side effect {}: {}", f.code, f.message)),
    );
    out.truncate(6);
    out
}

const KEPT_ROLES: [ArtifactRole; 5] = [
    ArtifactRole::Still,
    ArtifactRole::Thumbnail,
    ArtifactRole::Turntable,
    ArtifactRole::SceneExport,
    ArtifactRole::PreviewGlb,
];

/// The visual artifacts of both runs and the difference images, named for the report
/// folder `<case>/`.
fn case_files(
    case: &str,
    legacy: &RunReport,
    graph: &RunReport,
    report: &ComparisonReport,
    store: &MemoryArtifacts,
) -> Vec<CaseFile> {
    let mut files = Vec::new();
    for (side, run) in [("legacy", legacy), ("graph", graph)] {
        let mut seen: Vec<ArtifactRole> = Vec::new();
        for (_, artifact) in run.artifacts() {
            if !KEPT_ROLES.contains(&artifact.role) {
                continue;
            }
            let index = seen.iter().filter(|r| **r == artifact.role).count();
            seen.push(artifact.role);
            let Some((_, bytes)) = store.get(&artifact.id) else {
                continue;
            };
            let ext = local::extension_for(&artifact.media_type);
            files.push(CaseFile {
                side: side.into(),
                role: artifact.role.to_string(),
                media_type: artifact.media_type.clone(),
                path: format!("{case}/{side}.{}-{index}.{ext}", artifact.role),
                artifact: artifact.id.clone(),
                bytes,
            });
        }
    }
    for blob in &report.blobs {
        files.push(CaseFile {
            side: "difference".into(),
            role: "difference_image".into(),
            media_type: blob.media_type.clone(),
            path: format!("{case}/{}", blob.name),
            artifact: blob.name.clone(),
            bytes: blob.bytes.clone(),
        });
    }
    files
}

/// Whether a path is inside `dir` once joined (report files never leave the report folder).
pub(crate) fn inside(dir: &Path, rel: &str) -> bool {
    let p = Path::new(rel);
    !p.is_absolute()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
        && !dir.as_os_str().is_empty()
}
