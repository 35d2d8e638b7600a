//! Dispatch, rerun and cancel: preflight, then create the run records (linked as the rollout
//! plan says) with their jobs, and wake a worker.

use super::preflight::{
    preflight_output_type, preflight_workflow, product_problems, PreflightLimits, PreflightReport,
};
use super::service::RunService;
use super::worker::merged_overrides;
use crate::store::{NewRun, OutputTypeRecord, RunRecord, StoreError, StoreResult, Workflow};
use serde_json::{Map, Value};
use workflow_contracts::output_type::{OutputTypeSpec, WorkflowRef};
use workflow_contracts::Graph;
use workflow_engine::params::order_source_settings;
use workflow_engine::runtime::legacy::legacy_graph;
use workflow_engine::runtime::{plan_dispatch, RunMode, RunStatus};

/// What a dispatch carries: inputs for source nodes and extra parameter overrides.
#[derive(Debug, Clone, Default)]
pub struct DispatchInput {
    pub inputs: Map<String, Value>,
    pub overrides: Map<String, Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("preflight found problems")]
    Preflight(PreflightReport),
    #[error("run {0} already finished as {1}")]
    Finished(String, &'static str),
    #[error("{0}")]
    PreviewUnsupported(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn product_id(inputs: &Map<String, Value>) -> Option<String> {
    inputs
        .get("product_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

impl RunService {
    /// The legacy pipeline as a graph, recorded on legacy runs so a client can draw the steps
    /// (the worker rebuilds it from the output type; this copy is for display).
    pub(crate) fn legacy_plan(&self, spec: &OutputTypeSpec) -> Option<Graph> {
        legacy_graph(spec, &self.registry).ok()
    }

    /// Creates a queued run (and its job) with the queue priority its graph's `order.source`
    /// asks for (`priority`; the effective value, overrides included), and wakes a worker.
    pub(crate) async fn create_queued(&self, mut run: NewRun) -> StoreResult<RunRecord> {
        run.priority = self.queue_priority(&run);
        let created = self.store.create_run(&run, true).await?;
        self.wake();
        Ok(created)
    }

    /// The job-queue priority of `run`: its graph's `order.source` `priority` under the
    /// overrides it will run with (normal without an `order.source`).
    pub(crate) fn queue_priority(&self, run: &NewRun) -> i64 {
        let (Some(graph), Some(mode)) = (&run.graph, run.mode) else {
            return 0;
        };
        let overrides = merged_overrides(run.output_type.as_ref(), mode, &run.overrides);
        order_source_settings(graph, &self.registry, &overrides)
            .priority
            .rank()
    }

    /// The overrides a run in `mode` of `ot` gets: the dispatch's own, over the order line's
    /// when the graph that run executes lets them apply (`order.source`
    /// `apply_line_overrides`, decided under the output type's and the dispatch's overrides).
    fn line_overrides_for(
        &self,
        ot: &OutputTypeRecord,
        graph: Option<&Graph>,
        mode: RunMode,
        input: &DispatchInput,
        line_overrides: &Map<String, Value>,
    ) -> Map<String, Value> {
        if line_overrides.is_empty() {
            return input.overrides.clone();
        }
        let applies = graph.is_none_or(|g| {
            let base = merged_overrides(Some(&ot.spec), mode, &input.overrides);
            order_source_settings(g, &self.registry, &base).apply_line_overrides
        });
        if !applies {
            return input.overrides.clone();
        }
        let mut merged = line_overrides.clone();
        merged.extend(input.overrides.clone());
        merged
    }

    /// The workflow an output type runs, if it names one that still exists.
    async fn output_type_workflow(&self, ot: &OutputTypeRecord) -> StoreResult<Option<Workflow>> {
        match &ot.spec.workflow_id {
            Some(id) => match self.store.get_workflow(id).await {
                Ok(wf) => Ok(Some(wf)),
                Err(StoreError::NotFound(_)) => Ok(None),
                Err(e) => Err(e),
            },
            None => Ok(None),
        }
    }

    fn preflight_limits(&self) -> PreflightLimits<'_> {
        PreflightLimits {
            modules: self.modules(),
            render_budget: &self.runtime.options().render_budget,
            local_tools: self.renders_here(),
        }
    }

    pub async fn preflight_workflow(
        &self,
        wf: &Workflow,
        input: &DispatchInput,
    ) -> PreflightReport {
        let report = preflight_workflow(
            &wf.graph,
            &input.overrides,
            &input.inputs,
            &self.registry,
            self.preflight_limits(),
        );
        self.resolve_products(report, wf.graph.family, &input.inputs)
            .await
    }

    /// Adds the product resolver's problems (production wiring only).
    async fn resolve_products(
        &self,
        report: PreflightReport,
        family: Option<workflow_contracts::Family>,
        inputs: &Map<String, Value>,
    ) -> PreflightReport {
        match &self.products {
            Some(products) => {
                report.with_problems(product_problems(products, family, inputs).await)
            }
            None => report,
        }
    }

    pub async fn preflight_output_type(
        &self,
        ot: &OutputTypeRecord,
        input: &DispatchInput,
    ) -> Result<(PreflightReport, Option<Workflow>), StoreError> {
        let workflow = self.output_type_workflow(ot).await?;
        let wf_ref = workflow.as_ref().map(|wf| WorkflowRef {
            id: &wf.id,
            name: &wf.name,
            family: wf.family,
            graph: &wf.graph,
        });
        let report = preflight_output_type(
            &ot.spec,
            wf_ref,
            &input.overrides,
            &input.inputs,
            &self.registry,
            self.preflight_limits(),
        );
        let report = self
            .resolve_products(report, Some(ot.spec.workflow_family), &input.inputs)
            .await;
        Ok((report, workflow))
    }

    /// A graph run of a workflow.
    pub async fn dispatch_workflow(
        &self,
        wf: &Workflow,
        input: DispatchInput,
    ) -> Result<Vec<RunRecord>, DispatchError> {
        Ok(vec![self.queue_graph_run(wf, input, false).await?])
    }

    /// Preflights `wf` with `input` and queues its graph run (trigger `api`, or `preview`:
    /// then not authoritative).
    async fn queue_graph_run(
        &self,
        wf: &Workflow,
        input: DispatchInput,
        preview: bool,
    ) -> Result<RunRecord, DispatchError> {
        let report = self.preflight_workflow(wf, &input).await;
        if !report.ok {
            return Err(DispatchError::Preflight(report));
        }
        Ok(self
            .create_queued(NewRun {
                mode: Some(RunMode::Graph),
                trigger: if preview { "preview" } else { "api" }.into(),
                workflow_id: Some(wf.id.clone()),
                workflow_version: Some(wf.version),
                product_id: product_id(&input.inputs),
                inputs: input.inputs,
                overrides: input.overrides,
                graph: Some(wf.graph.clone()),
                preview,
                ..NewRun::default()
            })
            .await?)
    }

    /// A preview of a workflow (the viewer's "Render preview still"): a graph run like
    /// [`Self::dispatch_workflow`], trigger `preview`, recorded not authoritative, so its
    /// `output.publish` names the deliverables in its log but records none and queues no
    /// notification. Only order_line graphs: a cad_file graph's `cad.publish` writes the
    /// product's processing results, which a preview must not replace.
    pub async fn preview_workflow(
        &self,
        wf: &Workflow,
        input: DispatchInput,
    ) -> Result<RunRecord, DispatchError> {
        if wf.graph.family != Some(workflow_contracts::Family::OrderLine) {
            return Err(DispatchError::PreviewUnsupported(format!(
                "workflow '{}' is a {} workflow; only order_line workflows can be previewed",
                wf.name,
                wf.graph
                    .family
                    .map_or_else(|| "family-less".to_owned(), |f| f.to_string())
            )));
        }
        self.queue_graph_run(wf, input, true).await
    }

    /// The runs an output type's rollout asks for; the first is the primary.
    pub async fn dispatch_output_type(
        &self,
        ot: &OutputTypeRecord,
        input: DispatchInput,
    ) -> Result<Vec<RunRecord>, DispatchError> {
        self.dispatch_output_type_for_line(ot, input, &Map::new())
            .await
    }

    /// [`Self::dispatch_output_type`] for an order line: `line_overrides` (the line's own)
    /// go under the dispatch's overrides in each run whose graph's `order.source` has
    /// `apply_line_overrides` on (the legacy pipeline's `order.load` step included).
    pub async fn dispatch_output_type_for_line(
        &self,
        ot: &OutputTypeRecord,
        input: DispatchInput,
        line_overrides: &Map<String, Value>,
    ) -> Result<Vec<RunRecord>, DispatchError> {
        let plan = plan_dispatch(ot.spec.rollout, ot.spec.fallback_to_legacy);
        // `output.publish` names deliverables with `{output_type}`: without it two output
        // types of one product would publish under the same names.
        let mut input = input;
        input
            .inputs
            .entry("output_type")
            .or_insert_with(|| Value::String(ot.spec.name.clone()));
        let workflow = self.output_type_workflow(ot).await?;
        let graph_of = |mode: RunMode| {
            if mode.runs_graph() {
                workflow.as_ref().map(|w| w.graph.clone())
            } else {
                self.legacy_plan(&ot.spec)
            }
        };
        let mut modes = vec![plan.primary];
        if plan.shadow {
            modes.push(RunMode::Shadow);
        }
        let overrides: Vec<Map<String, Value>> = modes
            .iter()
            .map(|&mode| {
                self.line_overrides_for(ot, graph_of(mode).as_ref(), mode, &input, line_overrides)
            })
            .collect();
        // Preflight checks what any run applies.
        let mut checked = DispatchInput {
            inputs: input.inputs.clone(),
            overrides: Map::new(),
        };
        for o in &overrides {
            checked.overrides.extend(o.clone());
        }
        let (report, workflow) = self.preflight_output_type(ot, &checked).await?;
        if !report.ok {
            return Err(DispatchError::Preflight(report));
        }
        let new_run = |mode: RunMode, trigger: &str, overrides: &Map<String, Value>| NewRun {
            mode: Some(mode),
            trigger: trigger.into(),
            workflow_id: workflow.as_ref().map(|w| w.id.clone()),
            workflow_version: workflow.as_ref().map(|w| w.version),
            output_type_id: Some(ot.id.clone()),
            product_id: product_id(&input.inputs),
            inputs: input.inputs.clone(),
            overrides: overrides.clone(),
            graph: if mode.runs_graph() {
                workflow.as_ref().map(|w| w.graph.clone())
            } else {
                self.legacy_plan(&ot.spec)
            },
            output_type: Some(ot.spec.clone()),
            ..NewRun::default()
        };
        let primary = self
            .create_queued(new_run(plan.primary, "api", &overrides[0]))
            .await?;
        let mut runs = vec![primary];
        if let (true, Some(shadow_overrides)) = (plan.shadow, overrides.get(1)) {
            let mut shadow = new_run(RunMode::Shadow, "shadow", shadow_overrides);
            shadow.linked_run_id = Some(runs[0].id.clone());
            shadow.link = Some("shadow_of".into());
            let shadow = self.create_queued(shadow).await?;
            self.store
                .link_run(&runs[0].id, &shadow.id, "shadow")
                .await?;
            runs[0] = self.store.get_run(&runs[0].id).await?;
            runs.push(shadow);
        }
        Ok(runs)
    }

    /// Runs `run_id` again (same mode, current workflow and output type when they still
    /// exist, else the snapshots), with `overrides` over the original run's.
    pub async fn rerun(
        &self,
        run_id: &str,
        overrides: Map<String, Value>,
    ) -> Result<RunRecord, DispatchError> {
        let old = self.store.get_run(run_id).await?;
        let workflow = match &old.workflow_id {
            Some(id) => self.store.get_workflow(id).await.ok(),
            None => None,
        };
        let output_type = match &old.output_type_id {
            Some(id) => self
                .store
                .get_output_type(id)
                .await
                .ok()
                .map(|o| o.spec)
                .or(old.output_type.clone()),
            None => None,
        };
        // A preview's rerun is a preview too: it never delivers.
        let preview = old.is_preview();
        let mut merged = old.overrides.clone();
        merged.extend(overrides);
        let graph = if old.mode.runs_graph() {
            workflow.as_ref().map(|w| w.graph.clone()).or(old.graph)
        } else {
            output_type.as_ref().and_then(|spec| self.legacy_plan(spec))
        };
        let run = self
            .create_queued(NewRun {
                mode: Some(old.mode),
                trigger: "rerun".into(),
                workflow_id: old.workflow_id,
                workflow_version: workflow.map(|w| w.version).or(old.workflow_version),
                output_type_id: old.output_type_id,
                product_id: old.product_id,
                inputs: old.inputs,
                overrides: merged,
                graph,
                output_type,
                rerun_of: Some(old.id),
                preview,
                ..NewRun::default()
            })
            .await?;
        Ok(run)
    }

    /// Cancels a queued run at once, or signals a running one wherever it runs (it stops at
    /// its modules' next cancellation check and is recorded `cancelled`).
    pub async fn cancel(&self, run_id: &str) -> Result<RunRecord, DispatchError> {
        let run = self.store.get_run(run_id).await?;
        if run.status.is_final() {
            return Err(DispatchError::Finished(run.id, run.status.as_str()));
        }
        if self.store.cancel_queued_run(run_id).await? {
            super::worker::emit_final(self, run_id, RunStatus::Cancelled, None).await?;
            return Ok(self.store.get_run(run_id).await?);
        }
        // Recorded first: the worker running it, in this process or another, sees the request
        // at its next heartbeat (also one that claims the job a moment from now).
        self.store.request_cancel(run_id).await?;
        // Running here: at once.
        self.cancel_running(run_id);
        Ok(self.store.get_run(run_id).await?)
    }
}
