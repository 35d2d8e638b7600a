//! Golden cases as data: one JSON file per case in a cases directory (`tests/golden/`), read
//! and checked before anything runs.
//!
//! ```json
//! {
//!   "name": "still-as1-step",
//!   "description": "CAD-derived assembly with a material map",
//!   "product": "step/as1-oc-214.step",
//!   "output_type": {
//!     "family": "order_line",
//!     "artifact_kind": "still",
//!     "legacy_settings": {"width": 96, "height": 96},
//!     "graph": "starter",
//!     "invocation_overrides": {"render.width": 96, "render.height": 96}
//!   },
//!   "material_map": {"assignments": {}, "rules": [{"pattern": "*", "material": "aluminium"}]},
//!   "overrides": {},
//!   "noise_baseline": true,
//!   "thresholds": {"image": {"fail_percent": 1.0}},
//!   "expect": {"verdict": "pass"}
//! }
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use workflow_contracts::output_type::ArtifactKind;
use workflow_contracts::{starter_graph, validate, Family, Graph, Registry, Severity};

use super::GoldenError;
use crate::compare::Verdict;
use crate::materials::{default_library, MaterialMap};

/// The graph a case runs: `"starter"` (the family's starter graph), a path to a graph JSON
/// file (relative to the case file), or the graph itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum GraphSource {
    Named(String),
    Inline(Box<Graph>),
}

impl Default for GraphSource {
    fn default() -> Self {
        GraphSource::Named("starter".into())
    }
}

/// The output type a case renders: both halves of an invocation profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseOutputType {
    #[serde(default = "order_line")]
    pub family: Family,
    pub artifact_kind: ArtifactKind,
    /// The legacy renderer preset (legacy path).
    #[serde(default)]
    pub legacy_settings: Map<String, Value>,
    /// The workflow graph (graph path).
    #[serde(default)]
    pub graph: GraphSource,
    /// The output type's invocation overrides (graph path only).
    #[serde(default)]
    pub invocation_overrides: Map<String, Value>,
}

fn order_line() -> Family {
    Family::OrderLine
}

/// The failure both paths must end with (a failure golden case).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedFailure {
    /// The failing node's error code, e.g. `missing_materials`, `malformed_gltf`.
    pub code: String,
    /// The legacy step that fails (e.g. `order.apply_materials`), when it matters.
    #[serde(default)]
    pub legacy_step: Option<String>,
    /// The graph node id that fails (e.g. `materials`), when it matters.
    #[serde(default)]
    pub node: Option<String>,
}

/// What the case must come to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The comparison's verdict (default `pass`). A failure case passes when both paths fail
    /// the same way.
    #[serde(default)]
    pub verdict: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<ExpectedFailure>,
    /// For a known regression: the graph node id the difference must be attributed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributed_node: Option<String>,
}

impl Default for Expectation {
    fn default() -> Self {
        Expectation {
            verdict: Verdict::Pass,
            failure: None,
            attributed_node: None,
        }
    }
}

/// One case file as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoldenCase {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The product's CAD file, relative to the fixtures directory (`gltf/Box.glb`).
    pub product: String,
    pub output_type: CaseOutputType,
    /// The product's material map (as `PUT /api/products/{id}/material-map` takes it).
    #[serde(default)]
    pub material_map: MaterialMap,
    /// Dispatch overrides applied to both paths (key them by node type so both resolve).
    #[serde(default)]
    pub overrides: Map<String, Value>,
    /// Run legacy twice and widen the limits by its run-to-run noise.
    #[serde(default)]
    pub noise_baseline: bool,
    /// A threshold patch for this case (as `ThresholdConfig.output_types` holds one).
    #[serde(default)]
    pub thresholds: Option<Value>,
    #[serde(default)]
    pub expect: Expectation,
}

/// A case read from its file, with its paths resolved and its graph loaded and validated.
#[derive(Debug, Clone)]
pub struct LoadedCase {
    pub case: GoldenCase,
    /// The case file.
    pub file: PathBuf,
    /// The product's CAD file.
    pub product: PathBuf,
    pub graph: Graph,
}

/// The family whose legacy pipeline produces `kind`.
pub fn family_of(kind: ArtifactKind) -> Family {
    match kind {
        ArtifactKind::Still | ArtifactKind::Turntable | ArtifactKind::SceneExport => {
            Family::OrderLine
        }
        ArtifactKind::PreviewGlb | ArtifactKind::Thumbnail => Family::CadFile,
    }
}

/// Case names become directory names in the report: letters, digits, `-`, `_`, `.`.
fn check_name(name: &str, file: &Path) -> Result<(), GoldenError> {
    let ok = !name.is_empty()
        && name.len() <= 80
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(GoldenError::InvalidCase {
            file: file.display().to_string(),
            message: format!(
                "name '{name}' must be 1-80 letters, digits, '-', '_' or '.' (it names the case's report folder)"
            ),
        })
    }
}

fn invalid(file: &Path, message: impl Into<String>) -> GoldenError {
    GoldenError::InvalidCase {
        file: file.display().to_string(),
        message: message.into(),
    }
}

/// Reads one case file and resolves it: the product under `fixtures`, the graph (validated
/// against `registry`, family checked), the material map against the default library.
pub fn load_case(
    file: &Path,
    fixtures: &Path,
    registry: &Registry,
) -> Result<LoadedCase, GoldenError> {
    let text = std::fs::read_to_string(file).map_err(|e| GoldenError::Unreadable {
        path: file.display().to_string(),
        message: e.to_string(),
    })?;
    let case: GoldenCase = serde_json::from_str(&text).map_err(|e| GoldenError::MalformedCase {
        file: file.display().to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    check_name(&case.name, file)?;
    let rel = Path::new(&case.product);
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| c == std::path::Component::ParentDir)
    {
        return Err(invalid(
            file,
            format!(
                "product '{}' must be a path inside the fixtures directory",
                case.product
            ),
        ));
    }
    let product = fixtures.join(rel);
    if !product.is_file() {
        return Err(GoldenError::MissingFixture {
            case: case.name.clone(),
            path: product.display().to_string(),
        });
    }
    let unknown = case.material_map.unknown_materials(&default_library());
    if !unknown.is_empty() {
        return Err(invalid(
            file,
            format!(
                "material_map names materials outside the library: {}",
                unknown.join(", ")
            ),
        ));
    }
    let family = case.output_type.family;
    if family != family_of(case.output_type.artifact_kind) {
        return Err(invalid(
            file,
            format!(
                "artifact kind {} does not belong to the {family} family",
                case.output_type.artifact_kind
            ),
        ));
    }
    let graph = match &case.output_type.graph {
        GraphSource::Named(name) if name == "starter" => starter_graph(family, registry),
        GraphSource::Named(path) => {
            let base = file.parent().unwrap_or_else(|| Path::new("."));
            let path = base.join(path);
            let text = std::fs::read_to_string(&path).map_err(|e| GoldenError::Unreadable {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            Graph::from_json(&text).map_err(|e| GoldenError::MalformedCase {
                file: path.display().to_string(),
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            })?
        }
        GraphSource::Inline(graph) => (**graph).clone(),
    };
    if graph.family != Some(family) {
        return Err(invalid(
            file,
            format!("the graph's family is not the output type's ({family})"),
        ));
    }
    let report = validate(&graph, registry);
    let errors: Vec<String> = report
        .errors
        .iter()
        .filter(|e| e.severity == Severity::Error)
        .map(|e| e.message.clone())
        .collect();
    if !report.valid || !errors.is_empty() {
        return Err(invalid(
            file,
            format!("the graph is invalid: {}", errors.join("; ")),
        ));
    }
    Ok(LoadedCase {
        case,
        file: file.to_path_buf(),
        product,
        graph,
    })
}

/// Every `*.json` case file directly in `dir`, by file name. Graph files a case points at
/// live in sub-folders (e.g. `graphs/`), so they are not taken for cases.
pub fn case_files(dir: &Path) -> Result<Vec<PathBuf>, GoldenError> {
    let entries = std::fs::read_dir(dir).map_err(|e| GoldenError::Unreadable {
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    Ok(files)
}

/// Loads every case in `dir` (all problems of one file at a time; the first bad file stops
/// the load, since a broken suite definition should be fixed before anything runs). Names
/// must be unique. `only` keeps the named cases (every name must exist).
pub fn load_cases(
    dir: &Path,
    fixtures: &Path,
    registry: &Registry,
    only: &[String],
) -> Result<Vec<LoadedCase>, GoldenError> {
    let mut cases = Vec::new();
    for file in case_files(dir)? {
        let case = load_case(&file, fixtures, registry)?;
        if cases
            .iter()
            .any(|c: &LoadedCase| c.case.name == case.case.name)
        {
            return Err(invalid(
                &file,
                format!("a second case is named '{}'", case.case.name),
            ));
        }
        cases.push(case);
    }
    if cases.is_empty() {
        return Err(GoldenError::NoCases(dir.display().to_string()));
    }
    if !only.is_empty() {
        let unknown: Vec<&String> = only
            .iter()
            .filter(|n| !cases.iter().any(|c| &c.case.name == *n))
            .collect();
        if !unknown.is_empty() {
            return Err(GoldenError::UnknownCase {
                names: unknown.into_iter().cloned().collect(),
                available: cases.iter().map(|c| c.case.name.clone()).collect(),
            });
        }
        cases.retain(|c| only.contains(&c.case.name));
    }
    Ok(cases)
}

/// The fixtures directory: `WORKFLOW_FIXTURES`, else `shared/fixtures` in or beside an
/// ancestor of `start` (the checkout's `../shared/fixtures`), else `/work/shared/fixtures`.
pub fn find_fixtures(start: &Path) -> PathBuf {
    if let Ok(dir) = std::env::var("WORKFLOW_FIXTURES") {
        return PathBuf::from(dir);
    }
    let start = std::fs::canonicalize(start).unwrap_or_else(|_| start.to_path_buf());
    for ancestor in start.ancestors() {
        let candidate = ancestor.join("shared").join("fixtures");
        if candidate.is_dir() {
            return candidate;
        }
    }
    PathBuf::from("/work/shared/fixtures")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(dir: &Path, name: &str, value: &Value) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, serde_json::to_vec(value).expect("json")).expect("write");
        path
    }

    #[test]
    fn cases_load_with_defaults_and_bad_ones_name_their_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fixtures = dir.path().join("fixtures");
        std::fs::create_dir_all(fixtures.join("gltf")).expect("dirs");
        std::fs::write(fixtures.join("gltf/Box.glb"), b"glb").expect("fixture");
        let cases = dir.path().join("cases");
        std::fs::create_dir_all(&cases).expect("dirs");
        let registry = Registry::builtin();
        write(
            &cases,
            "a.json",
            &json!({"name": "box-still", "product": "gltf/Box.glb",
                    "output_type": {"artifact_kind": "still"}}),
        );
        let loaded = load_cases(&cases, &fixtures, &registry, &[]).expect("loads");
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].case.expect.verdict, Verdict::Pass);
        assert_eq!(loaded[0].graph.family, Some(Family::OrderLine));

        write(
            &cases,
            "b.json",
            &json!({"name": "missing", "product": "gltf/Nope.glb",
                    "output_type": {"artifact_kind": "still"}}),
        );
        let err = load_cases(&cases, &fixtures, &registry, &[]).expect_err("missing fixture");
        assert_eq!(err.code(), "missing_fixture");
        assert!(err.to_string().contains("Nope.glb"), "{err}");
        std::fs::remove_file(cases.join("b.json")).expect("rm");

        write(
            &cases,
            "c.json",
            &json!({"name": "typo", "product": "gltf/Box.glb", "prodcut": 1,
                    "output_type": {"artifact_kind": "still"}}),
        );
        let err = load_cases(&cases, &fixtures, &registry, &[]).expect_err("unknown field");
        assert_eq!(err.code(), "malformed_case");
        assert!(err.to_string().contains("c.json"), "{err}");
        std::fs::remove_file(cases.join("c.json")).expect("rm");

        write(
            &cases,
            "d.json",
            &json!({"name": "../escape", "product": "gltf/Box.glb",
                    "output_type": {"artifact_kind": "still"}}),
        );
        let err = load_cases(&cases, &fixtures, &registry, &[]).expect_err("bad name");
        assert_eq!(err.code(), "invalid_case");
        std::fs::remove_file(cases.join("d.json")).expect("rm");

        write(
            &cases,
            "e.json",
            &json!({"name": "wrong-family", "product": "gltf/Box.glb",
                    "output_type": {"family": "cad_file", "artifact_kind": "still"}}),
        );
        let err = load_cases(&cases, &fixtures, &registry, &[]).expect_err("family");
        assert!(err.to_string().contains("family"), "{err}");
        std::fs::remove_file(cases.join("e.json")).expect("rm");

        let err =
            load_cases(&cases, &fixtures, &registry, &["nope".into()]).expect_err("unknown case");
        assert_eq!(err.code(), "unknown_case");
        assert!(err.to_string().contains("box-still"), "{err}");
    }
}
