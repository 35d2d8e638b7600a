//! Output types: invocation profiles that say which artifact to make for an order line or a
//! CAD file, with which workflow (if any), which parameter overrides, and how far the graph
//! path has been rolled out. The rules that decide whether a profile is acceptable live here so
//! the server, the app and the command line reject the same things with the same messages.
//!
//! ## Override keys
//! `invocation_overrides` maps `<target>.<param>` to a value. The param is the text after the
//! last `.`; the target is what precedes it and is resolved in this order:
//! 1. a **node id** of the output type's workflow graph (e.g. `render.width` when the graph has
//!    a node with id `render`),
//! 2. a **node type** from the registry (e.g. `render.still.width`); with a workflow the graph
//!    must contain a node of that type (the override then applies to every such node), without
//!    one (legacy output types) the type must be allowed in the output type's family.
//!
//! Values are checked with the target parameter's [`ParamSpec::check`](crate::ParamSpec::check).

use crate::family::Family;
use crate::graph::Graph;
use crate::node::{ArtifactRole, NodeDefinition};
use crate::registry::Registry;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// The deliverable an output type produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    Still,
    Turntable,
    SceneExport,
    PreviewGlb,
    Thumbnail,
}

impl ArtifactKind {
    pub const ALL: [ArtifactKind; 5] = [
        ArtifactKind::Still,
        ArtifactKind::Turntable,
        ArtifactKind::SceneExport,
        ArtifactKind::PreviewGlb,
        ArtifactKind::Thumbnail,
    ];

    /// The artifact role a graph node must publish for this kind.
    pub fn role(self) -> ArtifactRole {
        match self {
            ArtifactKind::Still => ArtifactRole::Still,
            ArtifactKind::Turntable => ArtifactRole::Turntable,
            ArtifactKind::SceneExport => ArtifactRole::SceneExport,
            ArtifactKind::PreviewGlb => ArtifactRole::PreviewGlb,
            ArtifactKind::Thumbnail => ArtifactRole::Thumbnail,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.role().as_str()
    }
}

impl fmt::Display for ArtifactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far an output type has moved from the legacy pipeline to its workflow graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Rollout {
    /// Only the legacy pipeline runs.
    #[default]
    Legacy,
    /// Legacy is authoritative; the graph runs beside it and is compared.
    Shadow,
    /// The graph is authoritative (with optional fallback to legacy on failure).
    Graph,
}

impl Rollout {
    pub fn as_str(self) -> &'static str {
        match self {
            Rollout::Legacy => "legacy",
            Rollout::Shadow => "shadow",
            Rollout::Graph => "graph",
        }
    }

    /// Whether this state runs the workflow graph at all.
    pub fn needs_workflow(self) -> bool {
        !matches!(self, Rollout::Legacy)
    }
}

impl fmt::Display for Rollout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The editable fields of an output type (what clients send on create and update).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputTypeSpec {
    pub name: String,
    pub workflow_family: Family,
    pub artifact_kind: ArtifactKind,
    #[serde(default)]
    pub workflow_id: Option<String>,
    #[serde(default)]
    pub invocation_overrides: Map<String, Value>,
    /// The legacy renderer preset, kept verbatim so the output type stays renderable without a
    /// workflow. Must be a JSON object (or null).
    #[serde(default)]
    pub legacy_settings: Value,
    #[serde(default)]
    pub rollout: Rollout,
    #[serde(default)]
    pub fallback_to_legacy: bool,
}

/// The workflow an output type points at, as far as the rules need it.
#[derive(Debug, Clone, Copy)]
pub struct WorkflowRef<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub family: Option<Family>,
    pub graph: &'a Graph,
}

/// Stable codes for output-type problems. Clients switch on these; never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputTypeCode {
    EmptyName,
    UnknownWorkflow,
    WorkflowFamilyMismatch,
    ArtifactNotProduced,
    ArtifactNotInFamily,
    RolloutNeedsWorkflow,
    InvalidOverrideKey,
    UnknownOverrideNode,
    UnknownOverrideParam,
    OverrideInvalid,
    LegacySettingsNotObject,
}

/// One reason an output type was refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputTypeProblem {
    pub code: OutputTypeCode,
    /// The field at fault (`workflow_id`, `invocation_overrides.<key>`, …).
    pub field: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub got: Option<String>,
}

impl OutputTypeProblem {
    fn new(code: OutputTypeCode, field: impl Into<String>, message: String) -> Self {
        OutputTypeProblem {
            code,
            field: field.into(),
            message,
            expected: None,
            got: None,
        }
    }
}

/// Nodes that *produce* `role`: they list it in `artifact_roles_out` without merely passing
/// it through (publish sinks list the roles they store both in and out; they produce nothing).
fn produces(def: &NodeDefinition, role: ArtifactRole) -> bool {
    def.artifact_roles_out.contains(&role) && !def.artifact_roles_in.contains(&role)
}

/// Artifact kinds some node of `family` can produce (what an output type without a workflow
/// may offer).
pub fn kinds_in_family(family: Family, registry: &Registry) -> Vec<ArtifactKind> {
    ArtifactKind::ALL
        .into_iter()
        .filter(|k| registry.for_family(family).any(|d| produces(d, k.role())))
        .collect()
}

/// Artifact kinds a node of `graph` produces (what an output type on this workflow may offer).
pub fn kinds_produced_by(graph: &Graph, registry: &Registry) -> Vec<ArtifactKind> {
    ArtifactKind::ALL
        .into_iter()
        .filter(|k| {
            graph
                .nodes
                .iter()
                .filter_map(|n| registry.get(&n.node_type))
                .any(|d| produces(d, k.role()))
        })
        .collect()
}

/// Every problem with `spec`, empty when it is acceptable. `workflow` is the workflow named by
/// `spec.workflow_id`, looked up by the caller (`None` when absent or not found).
pub fn validate_output_type(
    spec: &OutputTypeSpec,
    workflow: Option<WorkflowRef<'_>>,
    registry: &Registry,
) -> Vec<OutputTypeProblem> {
    use OutputTypeCode as C;
    let mut problems = Vec::new();
    if spec.name.trim().is_empty() {
        problems.push(OutputTypeProblem::new(
            C::EmptyName,
            "name",
            "name must not be empty".into(),
        ));
    }
    if !(spec.legacy_settings.is_object() || spec.legacy_settings.is_null()) {
        problems.push(OutputTypeProblem::new(
            C::LegacySettingsNotObject,
            "legacy_settings",
            "legacy_settings must be a JSON object (the legacy renderer preset) or null".into(),
        ));
    }
    let family = spec.workflow_family;
    let role = spec.artifact_kind.role();
    if !registry.for_family(family).any(|def| produces(def, role)) {
        problems.push(OutputTypeProblem::new(
            C::ArtifactNotInFamily,
            "artifact_kind",
            format!("no {family} node produces a {role}; choose an artifact kind the {family} family can make"),
        ));
    }
    match (&spec.workflow_id, workflow) {
        (Some(id), None) => problems.push(OutputTypeProblem::new(
            C::UnknownWorkflow,
            "workflow_id",
            format!("workflow '{id}' does not exist"),
        )),
        (None, _) if spec.rollout.needs_workflow() => problems.push(OutputTypeProblem::new(
            C::RolloutNeedsWorkflow,
            "rollout",
            format!(
                "rollout '{}' runs a workflow graph: set workflow_id or use rollout 'legacy'",
                spec.rollout.as_str()
            ),
        )),
        (Some(_), Some(wf)) => check_workflow(spec, wf, registry, &mut problems),
        (None, _) => {}
    }
    check_overrides(spec, workflow, registry, &mut problems);
    problems
}

fn check_workflow(
    spec: &OutputTypeSpec,
    wf: WorkflowRef<'_>,
    registry: &Registry,
    problems: &mut Vec<OutputTypeProblem>,
) {
    use OutputTypeCode as C;
    let family = spec.workflow_family;
    if wf.family != Some(family) {
        let got = wf.family.map_or("no family", Family::as_str);
        let mut p = OutputTypeProblem::new(
            C::WorkflowFamilyMismatch,
            "workflow_id",
            format!(
                "workflow '{}' ({}) is a {got} workflow; this output type needs a {family} workflow",
                wf.name, wf.id
            ),
        );
        p.expected = Some(family.to_string());
        p.got = Some(got.to_owned());
        problems.push(p);
    }
    let role = spec.artifact_kind.role();
    let producing = wf.graph.nodes.iter().any(|n| {
        registry
            .get(&n.node_type)
            .is_some_and(|d| produces(d, role))
    });
    if !producing {
        problems.push(OutputTypeProblem::new(
            C::ArtifactNotProduced,
            "workflow_id",
            format!(
                "workflow '{}' ({}) cannot produce a {role}: none of its nodes publishes that artifact; add one (e.g. {}) or pick another workflow",
                wf.name,
                wf.id,
                producer_hint(registry, family, role)
            ),
        ));
    }
}

fn producer_hint(registry: &Registry, family: Family, role: ArtifactRole) -> String {
    let names: Vec<&str> = registry
        .for_family(family)
        .filter(|d| produces(d, role))
        .map(|d| d.node_type.as_str())
        .collect();
    if names.is_empty() {
        "a node that produces it".to_owned()
    } else {
        names.join(" or ")
    }
}

fn check_overrides(
    spec: &OutputTypeSpec,
    workflow: Option<WorkflowRef<'_>>,
    registry: &Registry,
    problems: &mut Vec<OutputTypeProblem>,
) {
    use OutputTypeCode as C;
    for (key, value) in &spec.invocation_overrides {
        let field = format!("invocation_overrides.{key}");
        let Some((target, param)) = key
            .rsplit_once('.')
            .filter(|(t, p)| !t.is_empty() && !p.is_empty())
        else {
            problems.push(OutputTypeProblem::new(
                C::InvalidOverrideKey,
                field,
                format!("override key '{key}' must be '<node id or node type>.<param>', e.g. render.still.width"),
            ));
            continue;
        };
        let node_type = match resolve_target(target, spec.workflow_family, workflow, registry) {
            Ok(t) => t,
            Err(message) => {
                problems.push(OutputTypeProblem::new(
                    C::UnknownOverrideNode,
                    field,
                    message,
                ));
                continue;
            }
        };
        let Some(def) = registry.get(&node_type) else {
            problems.push(OutputTypeProblem::new(
                C::UnknownOverrideNode,
                field,
                format!("override '{key}' targets node type '{node_type}', which is not in the registry"),
            ));
            continue;
        };
        let Some(spec_param) = def.param(param) else {
            let known: Vec<&str> = def.params.iter().map(|p| p.name.as_str()).collect();
            problems.push(OutputTypeProblem::new(
                C::UnknownOverrideParam,
                field,
                format!(
                    "override '{key}': {node_type} has no parameter '{param}'; known: {}",
                    known.join(", ")
                ),
            ));
            continue;
        };
        if let Some(problem) = spec_param.check(value) {
            let mut p = OutputTypeProblem::new(
                C::OverrideInvalid,
                field,
                format!("override '{key}': {}", problem.message),
            );
            p.expected = Some(problem.expected);
            p.got = Some(problem.got);
            problems.push(p);
        }
    }
}

/// The node type an override target names (see the module docs for the order).
fn resolve_target(
    target: &str,
    family: Family,
    workflow: Option<WorkflowRef<'_>>,
    registry: &Registry,
) -> Result<String, String> {
    if let Some(wf) = workflow {
        if let Some(node) = wf.graph.node(target) {
            return Ok(node.node_type.clone());
        }
        if wf.graph.nodes.iter().any(|n| n.node_type == target) {
            return Ok(target.to_owned());
        }
        return Err(format!(
            "override target '{target}' is neither a node id nor a node type in workflow '{}'",
            wf.name
        ));
    }
    match registry.get(target) {
        Some(def) if def.allows(family) => Ok(target.to_owned()),
        Some(def) => Err(format!(
            "override target '{target}' is a {} node, not allowed in the {family} family",
            def.families_text()
        )),
        None => Err(format!(
            "override target '{target}' is not a known node type (without a workflow, overrides are keyed by node type, e.g. render.still.width)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::starter::starter_graph;
    use serde_json::json;

    fn spec(kind: ArtifactKind, family: Family) -> OutputTypeSpec {
        OutputTypeSpec {
            name: "x".into(),
            workflow_family: family,
            artifact_kind: kind,
            workflow_id: None,
            invocation_overrides: Map::new(),
            legacy_settings: json!({}),
            rollout: Rollout::Legacy,
            fallback_to_legacy: true,
        }
    }

    fn codes(p: &[OutputTypeProblem]) -> Vec<OutputTypeCode> {
        p.iter().map(|p| p.code).collect()
    }

    #[test]
    fn legacy_still_with_type_keyed_overrides_is_fine() {
        let registry = Registry::builtin();
        let mut s = spec(ArtifactKind::Still, Family::OrderLine);
        s.invocation_overrides
            .insert("render.still.width".into(), json!(2048));
        assert!(validate_output_type(&s, None, &registry).is_empty());
        s.invocation_overrides
            .insert("render.still.width".into(), json!(0));
        s.invocation_overrides
            .insert("render.still.nope".into(), json!(1));
        s.invocation_overrides
            .insert("cad.import.timeout".into(), json!(10));
        let p = validate_output_type(&s, None, &registry);
        assert_eq!(
            codes(&p),
            [
                OutputTypeCode::UnknownOverrideNode,
                OutputTypeCode::UnknownOverrideParam,
                OutputTypeCode::OverrideInvalid
            ]
        );
    }

    #[test]
    fn workflow_rules() {
        let registry = Registry::builtin();
        let order = &starter_graph(Family::OrderLine, &registry);
        let cad = &starter_graph(Family::CadFile, &registry);
        fn wf(graph: &Graph) -> WorkflowRef<'_> {
            WorkflowRef {
                id: "w",
                name: "W",
                family: graph.family,
                graph,
            }
        }
        let mut s = spec(ArtifactKind::Still, Family::OrderLine);
        s.rollout = Rollout::Graph;
        assert_eq!(
            codes(&validate_output_type(&s, None, &registry)),
            [OutputTypeCode::RolloutNeedsWorkflow]
        );
        s.workflow_id = Some("w".into());
        s.invocation_overrides
            .insert("render.width".into(), json!(1024));
        assert!(validate_output_type(&s, Some(wf(order)), &registry).is_empty());
        let p = validate_output_type(&s, Some(wf(cad)), &registry);
        assert!(p
            .iter()
            .any(|p| p.code == OutputTypeCode::WorkflowFamilyMismatch));
        s.artifact_kind = ArtifactKind::Turntable;
        let p = validate_output_type(&s, Some(wf(order)), &registry);
        assert_eq!(codes(&p), [OutputTypeCode::ArtifactNotProduced]);
        assert!(
            p[0].message.contains("render.turntable"),
            "{}",
            p[0].message
        );
    }
}

#[cfg(test)]
mod kind_tests {
    use super::*;
    use crate::starter::starter_graph;

    #[test]
    fn starters_produce_the_kinds_their_renderers_publish() {
        let registry = Registry::builtin();
        let order = starter_graph(Family::OrderLine, &registry);
        assert_eq!(kinds_produced_by(&order, &registry), [ArtifactKind::Still]);
        let cad = starter_graph(Family::CadFile, &registry);
        assert_eq!(
            kinds_produced_by(&cad, &registry),
            [ArtifactKind::PreviewGlb, ArtifactKind::Thumbnail]
        );
        assert_eq!(
            kinds_in_family(Family::OrderLine, &registry),
            [
                ArtifactKind::Still,
                ArtifactKind::Turntable,
                ArtifactKind::SceneExport
            ]
        );
    }
}
