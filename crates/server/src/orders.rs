//! Order lines: a product + an `order_line` output type (+ per-line parameter overrides) to
//! render. This module decides what may be stored (the product and output type exist, the
//! overrides apply to what the output type runs) and dispatches a line through the run
//! service like an output-type dispatch, with the line's id in the run inputs (what
//! `order.source` reads).

use crate::products::{ProductError, Products};
use crate::runs::dispatch::{DispatchError, DispatchInput};
use crate::runs::RunService;
use crate::store::{NewOrderLine, OrderLine, OutputTypeRecord, RunRecord, Store, StoreError};
use crate::validation::FieldProblem;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;
use workflow_contracts::output_type::{validate_output_type, OutputTypeCode, WorkflowRef};
use workflow_contracts::{Family, Graph, GraphNode};
use workflow_engine::runtime::legacy::legacy_graph;
use workflow_engine::runtime::{plan_dispatch, RunMode};

/// Allowed `quantity`.
pub const QUANTITY_RANGE: std::ops::RangeInclusive<i64> = 1..=100_000;
/// Allowed `priority` (higher is more urgent).
pub const PRIORITY_RANGE: std::ops::RangeInclusive<i64> = -100..=100;
/// Longest `reference`.
pub const REFERENCE_MAX: usize = 200;

/// What `POST /api/order-lines` carries.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderLineInput {
    /// A product (`POST /api/cad-files`).
    pub product_id: String,
    /// An `order_line` output type.
    pub output_type_id: String,
    /// `<node id or node type>.<param>` → value, over the output type's invocation overrides
    /// (keys as in `invocation_overrides`, e.g. `render.still.width`).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub overrides: Map<String, Value>,
    /// 1–100000, default 1. Any JSON number with an integral value (`3` or `3.0`).
    #[schema(minimum = 1, maximum = 100000)]
    pub quantity: Option<i64>,
    /// The customer's or order system's reference (up to 200 characters).
    pub reference: Option<String>,
    /// -100–100, default 0; higher is more urgent.
    #[schema(minimum = -100, maximum = 100)]
    pub priority: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// A record named by a body field does not exist.
    #[error("{what} not found")]
    NotFound { what: String, field: &'static str },
    #[error("the order line has {} problem(s)", .0.len())]
    Invalid(Vec<FieldProblem>),
    #[error(transparent)]
    Dispatch(#[from] DispatchError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Product(#[from] ProductError),
}

/// What order-line logic works with.
pub struct Orders<'a> {
    pub store: &'a dyn Store,
    pub products: &'a Products,
    pub runs: &'a RunService,
}

/// The inputs a run of `line` gets: what `order.source` and the product resolver read.
fn run_inputs(product_id: &str, order_line_id: &str) -> Map<String, Value> {
    let mut inputs = Map::new();
    inputs.insert("product_id".into(), json!(product_id));
    inputs.insert("order_line_id".into(), json!(order_line_id));
    inputs
}

impl Orders<'_> {
    /// Validates and stores a new order line: 404 `NotFound` for an unknown product or output
    /// type, `Invalid` with every problem otherwise.
    pub async fn create(&self, input: OrderLineInput) -> Result<OrderLine, OrderError> {
        match self.products.get(&input.product_id).await {
            Ok(_) => {}
            Err(ProductError::NotFound(_)) => {
                return Err(OrderError::NotFound {
                    what: format!("product '{}'", input.product_id),
                    field: "product_id",
                })
            }
            Err(e) => return Err(e.into()),
        }
        let ot = match self.store.get_output_type(&input.output_type_id).await {
            Ok(ot) => ot,
            Err(StoreError::NotFound(what)) => {
                return Err(OrderError::NotFound {
                    what,
                    field: "output_type_id",
                })
            }
            Err(e) => return Err(e.into()),
        };
        let mut problems = field_problems(&input);
        if ot.spec.workflow_family != Family::OrderLine {
            problems.push(
                FieldProblem::new(
                    "not_an_order_line_output_type",
                    "output_type_id",
                    format!(
                        "output type '{}' is a {} output type; order lines render order_line output types",
                        ot.spec.name, ot.spec.workflow_family
                    ),
                )
                .expected("order_line", ot.spec.workflow_family.to_string()),
            );
        } else {
            problems.extend(
                self.override_problems(&ot, &input.product_id, &input.overrides)
                    .await?,
            );
        }
        if !problems.is_empty() {
            return Err(OrderError::Invalid(problems));
        }
        let line = NewOrderLine {
            product_id: input.product_id,
            output_type_id: input.output_type_id,
            overrides: input.overrides,
            quantity: input.quantity.unwrap_or(1),
            reference: input
                .reference
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty()),
            priority: input.priority.unwrap_or(0),
        };
        Ok(self.store.create_order_line(&line).await?)
    }

    /// Problems of `overrides` against what `ot` runs: the contract rules for override keys and
    /// values (as for the output type's own `invocation_overrides`), then whatever preflight
    /// would refuse for those keys on the graphs the rollout runs (legacy pipeline, workflow).
    async fn override_problems(
        &self,
        ot: &OutputTypeRecord,
        product_id: &str,
        overrides: &Map<String, Value>,
    ) -> Result<Vec<FieldProblem>, OrderError> {
        if overrides.is_empty() {
            return Ok(Vec::new());
        }
        let workflow = match &ot.spec.workflow_id {
            Some(id) => match self.store.get_workflow(id).await {
                Ok(wf) => Some(wf),
                Err(StoreError::NotFound(_)) => None,
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        let wf_ref = workflow.as_ref().map(|wf| WorkflowRef {
            id: &wf.id,
            name: &wf.name,
            family: wf.family,
            graph: &wf.graph,
        });
        let mut spec = ot.spec.clone();
        spec.invocation_overrides = overrides.clone();
        // A legacy run's graph has the legacy steps as node ids (`order.render_still`); the
        // contract rules know only the workflow graph and node types, so keys naming a step
        // are checked against the legacy pipeline's graph instead.
        let plan = plan_dispatch(ot.spec.rollout, ot.spec.fallback_to_legacy);
        let legacy = (plan.primary == RunMode::Legacy || plan.fallback_to_legacy)
            .then(|| legacy_graph(&ot.spec, &self.runs.registry).ok())
            .flatten();
        let mut problems = Vec::new();
        for p in validate_output_type(&spec, wf_ref, &self.runs.registry) {
            let Some(key) = p.field.strip_prefix("invocation_overrides.") else {
                continue;
            };
            if p.code == OutputTypeCode::UnknownOverrideNode {
                let step = legacy.as_ref().and_then(|g| legacy_step(g, key));
                if let (Some(step), Some(value)) = (step, overrides.get(key)) {
                    problems.extend(self.step_problem(step, key, value));
                    continue;
                }
            }
            let code = serde_json::to_value(p.code)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            problems.push(FieldProblem {
                code,
                field: format!("overrides.{key}"),
                message: p.message,
                expected: p.expected,
                got: p.got,
            });
        }
        let input = DispatchInput {
            inputs: run_inputs(product_id, "new"),
            overrides: overrides.clone(),
        };
        let (report, _) = self.runs.preflight_output_type(ot, &input).await?;
        for p in report.problems {
            let Some(field) = p.field.filter(|_| p.scope == "overrides") else {
                continue;
            };
            let is_line_key = field
                .strip_prefix("overrides.")
                .is_some_and(|k| overrides.contains_key(k));
            if is_line_key && !problems.iter().any(|q| q.field == field) {
                problems.push(FieldProblem::new(&p.code, field, p.message));
            }
        }
        Ok(problems)
    }

    /// The problem of override `key` (`<legacy step>.<param>`) on legacy step `step`, if any.
    fn step_problem(&self, step: &GraphNode, key: &str, value: &Value) -> Option<FieldProblem> {
        let field = format!("overrides.{key}");
        let param = key.rsplit_once('.').map_or(key, |(_, p)| p);
        let def = self.runs.registry.get(&step.node_type)?;
        let Some(spec) = def.param(param) else {
            return Some(FieldProblem::new(
                "unknown_override_param",
                field,
                format!(
                    "override '{key}': legacy step '{}' ({}) has no parameter '{param}'",
                    step.id, step.node_type
                ),
            ));
        };
        spec.check(value).map(|p| {
            FieldProblem::new(
                "override_invalid",
                field,
                format!("override '{key}': {}", p.message),
            )
            .expected(p.expected, p.got)
        })
    }

    /// Dispatches the line's output type with the product as input and the line's overrides
    /// (applied in each run whose graph's `order.source` has `apply_line_overrides` on;
    /// preflight problems come back as `DispatchError::Preflight`); records the primary run on
    /// the line. The runs are those of an output-type dispatch, primary first.
    pub async fn dispatch(&self, id: &str) -> Result<Vec<RunRecord>, OrderError> {
        let line = self.store.get_order_line(id).await?;
        let ot = match self.store.get_output_type(&line.output_type_id).await {
            Ok(ot) => ot,
            Err(StoreError::NotFound(what)) => {
                return Err(OrderError::NotFound {
                    what,
                    field: "output_type_id",
                })
            }
            Err(e) => return Err(e.into()),
        };
        let input = DispatchInput {
            inputs: run_inputs(&line.product_id, &line.id),
            overrides: Map::new(),
        };
        let runs = self
            .runs
            .dispatch_output_type_for_line(&ot, input, &line.overrides)
            .await?;
        if let Some(primary) = runs.first() {
            self.store.set_order_line_run(&line.id, &primary.id).await?;
        }
        Ok(runs)
    }
}

/// The node of the legacy graph `key`'s target names by id, if any.
fn legacy_step<'g>(graph: &'g Graph, key: &str) -> Option<&'g GraphNode> {
    key.rsplit_once('.')
        .and_then(|(target, _)| graph.node(target))
}

/// Problems of the plain fields (quantity, priority, reference).
fn field_problems(input: &OrderLineInput) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    let mut range = |field: &str, value: Option<i64>, allowed: &std::ops::RangeInclusive<i64>| {
        if let Some(v) = value.filter(|v| !allowed.contains(v)) {
            let expected = format!("{}..{}", allowed.start(), allowed.end());
            problems.push(
                FieldProblem::new(
                    "out_of_range",
                    field,
                    format!("{field} must be in {expected}, got {v}"),
                )
                .expected(expected, v.to_string()),
            );
        }
    };
    range("quantity", input.quantity, &QUANTITY_RANGE);
    range("priority", input.priority, &PRIORITY_RANGE);
    if let Some(r) = &input.reference {
        if r.chars().count() > REFERENCE_MAX {
            problems.push(FieldProblem::new(
                "too_long",
                "reference",
                format!("reference is at most {REFERENCE_MAX} characters"),
            ));
        }
    }
    problems
}
