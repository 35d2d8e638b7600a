//! Preflight: every problem that would stop a dispatch, found at once, without running
//! anything. The checks themselves are the contracts' and the engine's; this gathers them per
//! path the rollout will run (graph, legacy) and adds module availability.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use workflow_contracts::output_type::{validate_output_type, OutputTypeSpec, WorkflowRef};
use workflow_contracts::{validate, Graph, Registry, Severity};
use workflow_engine::runtime::inputs::check_inputs;
use workflow_engine::runtime::legacy::legacy_graph;
use workflow_engine::runtime::params::resolve_overrides;
use workflow_engine::runtime::tools::check_external_tools;
use workflow_engine::runtime::{
    check_render_budget, plan_dispatch, DispatchPlan, ModuleRegistry, RenderBudget, RunMode,
};

/// One problem. `scope` says which part is at fault: `graph`, `legacy`, `overrides`,
/// `inputs`, `modules` or `output_type`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PreflightProblem {
    pub scope: String,
    pub code: String,
    /// `error` blocks dispatch; `warning` does not.
    pub severity: String,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The preflight answer: `ok` when nothing blocks dispatch.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreflightReport {
    pub ok: bool,
    /// The runs a dispatch would start (`graph`, `legacy`, `shadow`).
    #[schema(value_type = Vec<String>)]
    pub runs: Vec<RunMode>,
    /// Whether a failed graph run would fall back to legacy.
    pub fallback_to_legacy: bool,
    pub problems: Vec<PreflightProblem>,
}

fn problem(scope: &str, code: &str, message: String) -> PreflightProblem {
    PreflightProblem {
        scope: scope.into(),
        code: code.into(),
        severity: "error".into(),
        message,
        nodes: Vec::new(),
        field: None,
    }
}

impl PreflightReport {
    /// Adds problems found outside the graph checks (the product resolver).
    pub(crate) fn with_problems(mut self, extra: Vec<PreflightProblem>) -> Self {
        self.problems.extend(extra);
        self.ok = !self.problems.iter().any(|p| p.severity == "error");
        self
    }

    fn new(runs: Vec<RunMode>, fallback: bool, problems: Vec<PreflightProblem>) -> Self {
        PreflightReport {
            ok: !problems.iter().any(|p| p.severity == "error"),
            runs,
            fallback_to_legacy: fallback,
            problems,
        }
    }
}

/// What the graphs are checked against besides the registry: the server's modules and its
/// render budget.
#[derive(Clone, Copy)]
pub struct PreflightLimits<'a> {
    pub modules: &'a ModuleRegistry,
    pub render_budget: &'a RenderBudget,
    /// Whether to check the external tools (Blender, OpenUSD) on this host: true where this
    /// process renders; an API server that renders nothing cannot know the workers' hosts.
    pub local_tools: bool,
}

/// Checks one graph as it would run: validity, overrides, render budget, inputs, modules.
/// `scope` is `graph` for a workflow graph and `legacy` for the legacy pipeline's graph.
fn check_graph(
    scope: &str,
    graph: &Graph,
    overrides: &Map<String, Value>,
    inputs: &Map<String, Value>,
    registry: &Registry,
    limits: PreflightLimits<'_>,
    out: &mut Vec<PreflightProblem>,
) {
    let modules = limits.modules;
    for e in validate(graph, registry).errors {
        let mut p = problem(scope, e.code.as_str(), e.message);
        if e.severity == Severity::Warning {
            p.severity = "warning".into();
        }
        p.nodes = e.nodes;
        p.field = e.param.map(|param| format!("params.{param}"));
        out.push(p);
    }
    let (resolved, override_problems) = resolve_overrides(graph, registry, overrides);
    for o in override_problems {
        let mut p = problem("overrides", o.code, o.message);
        p.field = Some(format!("overrides.{}", o.key));
        out.push(p);
    }
    for b in check_render_budget(graph, registry, &resolved, inputs, limits.render_budget) {
        let mut p = problem(scope, b.code, b.message);
        p.nodes = vec![b.node];
        p.field = b.param.map(|param| format!("params.{param}"));
        out.push(p);
    }
    // Blender (a .blend export, a Cycles render) must be installed where the run would go.
    let tools_ok = |available: fn() -> bool| !limits.local_tools || available();
    for t in check_external_tools(
        graph,
        registry,
        &resolved,
        tools_ok(workflow_engine::blender::blender_available),
    ) {
        let mut p = problem("modules", t.code, t.message);
        p.nodes = vec![t.node];
        p.field = Some(format!("params.{}", t.param));
        out.push(p);
    }
    // OpenUSD's Python (a .usd export) likewise; asked only when a node writes USD.
    let usd_reason = || {
        if limits.local_tools {
            workflow_engine::usd::usd_unavailable_reason()
        } else {
            None
        }
    };
    for t in workflow_engine::usd::check_usd_tool(graph, registry, &resolved, usd_reason) {
        let mut p = problem("modules", t.code, t.message);
        p.nodes = vec![t.node];
        p.field = Some(format!("params.{}", t.param));
        out.push(p);
    }
    for i in check_inputs(graph, inputs) {
        let mut p = problem("inputs", i.code, i.message);
        p.nodes = vec![i.node];
        p.field = Some(format!("inputs.{}", i.key));
        out.push(p);
    }
    for node in &graph.nodes {
        let Some(def) = registry.get(&node.node_type) else {
            continue; // reported by validation
        };
        if !modules.contains(&def.module_key) {
            let mut p = problem(
                "modules",
                "module_unavailable",
                format!(
                    "no module is registered for module_key '{}' (node '{}', type {}): this server cannot run it",
                    def.module_key, node.id, node.node_type
                ),
            );
            p.nodes = vec![node.id.clone()];
            out.push(p);
        }
    }
    // The same input is reported once even when several paths need it.
    out.dedup();
}

/// Preflight of a workflow dispatched directly (a graph run).
pub fn preflight_workflow(
    graph: &Graph,
    overrides: &Map<String, Value>,
    inputs: &Map<String, Value>,
    registry: &Registry,
    limits: PreflightLimits<'_>,
) -> PreflightReport {
    let mut problems = Vec::new();
    check_graph(
        "graph",
        graph,
        overrides,
        inputs,
        registry,
        limits,
        &mut problems,
    );
    PreflightReport::new(vec![RunMode::Graph], false, problems)
}

/// Preflight of an output type: its own rules, then every path its rollout runs.
pub fn preflight_output_type(
    spec: &OutputTypeSpec,
    workflow: Option<WorkflowRef<'_>>,
    overrides: &Map<String, Value>,
    inputs: &Map<String, Value>,
    registry: &Registry,
    limits: PreflightLimits<'_>,
) -> PreflightReport {
    let plan: DispatchPlan = plan_dispatch(spec.rollout, spec.fallback_to_legacy);
    let mut problems: Vec<PreflightProblem> = validate_output_type(spec, workflow, registry)
        .into_iter()
        .map(|p| {
            let code = serde_json::to_value(p.code)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let mut out = problem("output_type", &code, p.message);
            out.field = Some(p.field);
            out
        })
        .collect();
    let mut runs = vec![plan.primary];
    if plan.shadow {
        runs.push(RunMode::Shadow);
    }
    let runs_legacy = plan.primary == RunMode::Legacy || plan.fallback_to_legacy;
    let runs_graph = plan.primary == RunMode::Graph || plan.shadow;
    if runs_legacy {
        match legacy_graph(spec, registry) {
            Ok(graph) => check_graph(
                "legacy",
                &graph,
                overrides,
                inputs,
                registry,
                limits,
                &mut problems,
            ),
            Err(e) => problems.push(problem("legacy", e.code(), e.to_string())),
        }
    }
    if runs_graph {
        if let Some(wf) = workflow {
            let mut merged = spec.invocation_overrides.clone();
            merged.extend(overrides.clone());
            check_graph(
                "graph",
                wf.graph,
                &merged,
                inputs,
                registry,
                limits,
                &mut problems,
            );
        }
    }
    PreflightReport::new(runs, plan.fallback_to_legacy, problems)
}

/// The product resolver: `inputs.product_id` must name a stored product, and an order-line run
/// needs it processed (its preview GLB and manifest exist).
pub(crate) async fn product_problems(
    products: &crate::products::Products,
    family: Option<workflow_contracts::Family>,
    inputs: &Map<String, Value>,
) -> Vec<PreflightProblem> {
    let Some(id) = inputs.get("product_id").and_then(Value::as_str) else {
        return Vec::new(); // check_inputs reports a missing id
    };
    let mut p = match products.get(id).await {
        Err(_) => problem(
            "inputs",
            "unknown_product",
            format!("inputs.product_id: no product '{id}' (upload it with POST /api/cad-files)"),
        ),
        Ok(product)
            if family == Some(workflow_contracts::Family::OrderLine)
                && product.status != "processed" =>
        {
            problem(
                "inputs",
                "product_not_processed",
                format!(
                    "product '{id}' is {}: its CAD file must be processed before order lines render it",
                    product.status
                ),
            )
        }
        Ok(_) => return Vec::new(),
    };
    p.field = Some("inputs.product_id".into());
    vec![p]
}
