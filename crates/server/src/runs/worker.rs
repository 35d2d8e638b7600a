//! What a worker does with a claimed job: run it through the engine, persist every event as
//! it comes (then broadcast it), record the outcome, and start a legacy fallback when the
//! rollout asks for one. Also the start-up recovery of runs a stop interrupted.

use super::service::{HubEvent, RunService};
use crate::store::{ArtifactMeta, Job, NewRun, RunRecord, StoreResult};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio_util::sync::CancellationToken;
use workflow_contracts::output_type::OutputTypeSpec;
use workflow_engine::runtime::{
    now_ms, plan_dispatch, should_fall_back, NodeStatus, RunEvent, RunEventKind, RunMode,
    RunRequest, RunStatus, RuntimeError,
};

/// The overrides a run executes with: a graph run of an output type gets the output type's
/// invocation overrides under the dispatch's own.
pub(crate) fn effective_overrides(run: &RunRecord) -> Map<String, Value> {
    merged_overrides(run.output_type.as_ref(), run.mode, &run.overrides)
}

/// [`effective_overrides`] before the run exists: `overrides` of a run in `mode` of an
/// output type `spec` (if any).
pub(crate) fn merged_overrides(
    spec: Option<&OutputTypeSpec>,
    mode: RunMode,
    overrides: &Map<String, Value>,
) -> Map<String, Value> {
    match (spec, mode.runs_graph()) {
        (Some(spec), true) => {
            let mut merged = spec.invocation_overrides.clone();
            merged.extend(overrides.clone());
            merged
        }
        _ => overrides.clone(),
    }
}

/// How a run's heartbeat ended.
#[derive(Default)]
struct HeartbeatEnd {
    /// The lease ran out or another worker took the job: this attempt records nothing more.
    lost: AtomicBool,
}

pub(crate) async fn execute(service: &Arc<RunService>, job: &Job, owner: &str) -> StoreResult<()> {
    let store = &service.store;
    let run = store.get_run(&job.run_id).await?;
    if run.status.is_final() {
        // Cancelled while queued, between claim and here.
        return store.set_job_status(&job.id, "done").await;
    }
    if job.attempts > service.queue.max_attempts {
        return fail_lost(service, job, run).await;
    }
    // The material library may have changed in another process since this one last read it.
    if let Err(err) = crate::materials::reload(store.as_ref(), &service.library).await {
        tracing::warn!(run = %run.id, %err, "cannot reload the material library; using the last one read");
    }
    let cancel = service.register_cancel(&run.id);
    // An earlier attempt (its worker died) left events: this attempt's are numbered after them.
    let base = u64::try_from(store.last_event_seq(&run.id).await?).unwrap_or(0);
    store.mark_run_started(&run.id, now_ms()).await?;
    let end = Arc::new(HeartbeatEnd::default());
    let beat_stop = CancellationToken::new();
    let beat = tokio::spawn(heartbeat(
        service.clone(),
        job.clone(),
        owner.to_owned(),
        cancel.clone(),
        end.clone(),
        beat_stop.clone(),
    ));
    let (tx, rx) = unbounded_channel();
    let persist = tokio::spawn(persist_events(service.clone(), run.id.clone(), base, rx));
    let result = run_engine(service, &run, tx, cancel).await;
    let held_final = persist.await.unwrap_or_else(|err| {
        tracing::error!(%err, "event persistence task failed");
        None
    });
    beat_stop.cancel();
    let _ = beat.await;
    service.unregister_cancel(&run.id);
    if end.lost.load(Ordering::SeqCst) {
        tracing::warn!(run = %run.id, job = %job.id, "lost the job's lease: another worker runs it; this attempt records nothing more");
        return Ok(());
    }
    let (status, error, nodes) = match result {
        Ok(report) => (report.status, None, report.nodes),
        Err(e) => (
            RunStatus::Failed,
            Some(json!({"code": e.code(), "message": e.to_string(), "details": e.details()})),
            Vec::new(),
        ),
    };
    if status == RunStatus::Cancelled && service.handing_back.load(Ordering::SeqCst) {
        // Stopping worker, grace over: the job goes back to the queue for another worker
        // (its cancel was ours, not a user's; a user's cancel stays a cancel).
        let asked = store
            .renew_lease(job, owner, 0)
            .await
            .map(|l| l.cancel_requested);
        if !asked.unwrap_or(false) && store.release_job(&job.id, owner).await? {
            tracing::warn!(run = %run.id, "stopping: run handed back to the queue");
            return Ok(());
        }
    }
    store
        .finish_run(&run.id, status, error.as_ref(), &nodes)
        .await?;
    // The final status event goes out only once the record says so, so a client that saw it
    // and reads the run finds it finished.
    match held_final {
        Some(mut event) => {
            // A module thread can still report after the engine's final status (it stops at its
            // next cancellation check): the final event is numbered last, so a log reader that
            // has seen a later number still gets it.
            let last = u64::try_from(store.last_event_seq(&run.id).await?).unwrap_or(0);
            event.seq = event.seq.max(last + 1);
            persist_one(service, &event).await?
        }
        None => emit_final(service, &run.id, status, error).await?,
    }
    store.set_job_status(&job.id, "done").await?;
    if let Some(spec) = &run.output_type {
        let plan = plan_dispatch(spec.rollout, spec.fallback_to_legacy);
        if run.trigger == "api" && should_fall_back(&plan, run.mode, status) {
            start_fallback(service, &run).await?;
        }
    }
    // Half of a shadow pair: compare once both are final (never affects this run).
    super::parity::after_run(service, &run.id).await;
    Ok(())
}

/// Renews the job's lease every heartbeat while the run executes, and cancels the run when
/// its cancel was asked through any API server, or when the lease is lost: another worker
/// took the job, or the database was unreachable until the lease ran out (a worker cut off
/// from the database must not keep running a job someone else will take).
async fn heartbeat(
    service: Arc<RunService>,
    job: Job,
    owner: String,
    cancel: CancellationToken,
    end: Arc<HeartbeatEnd>,
    stop: CancellationToken,
) {
    let lease = service.queue.lease;
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    let mut renewed = tokio::time::Instant::now();
    let mut ticks = tokio::time::interval(service.queue.heartbeat);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match service.store.renew_lease(&job, &owner, lease_ms).await {
            Ok(state) => {
                if !state.held {
                    end.lost.store(true, Ordering::SeqCst);
                    cancel.cancel();
                    return;
                }
                renewed = tokio::time::Instant::now();
                if state.cancel_requested {
                    cancel.cancel();
                }
            }
            Err(err) => {
                tracing::warn!(run = %job.run_id, %err, "cannot renew the job's lease; retrying");
                if renewed.elapsed() >= lease {
                    end.lost.store(true, Ordering::SeqCst);
                    cancel.cancel();
                    return;
                }
            }
        }
    }
}

async fn run_engine(
    service: &Arc<RunService>,
    run: &RunRecord,
    events: UnboundedSender<RunEvent>,
    cancel: CancellationToken,
) -> Result<workflow_engine::runtime::RunReport, RuntimeError> {
    let runtime = &service.runtime;
    match run.mode {
        RunMode::Legacy => {
            let Some(spec) = &run.output_type else {
                return Err(RuntimeError::NoLegacyPipeline(
                    "this legacy run has no output type to take its pipeline from".into(),
                ));
            };
            runtime
                .run_legacy(
                    spec,
                    &run.id,
                    run.inputs.clone(),
                    run.overrides.clone(),
                    Some(events),
                    cancel,
                )
                .await
        }
        RunMode::Graph | RunMode::Shadow => {
            let Some(graph) = run.graph.clone() else {
                return Err(RuntimeError::InvalidGraph(Vec::new()));
            };
            let request = RunRequest {
                run_id: run.id.clone(),
                graph,
                overrides: effective_overrides(run),
                inputs: run.inputs.clone(),
            };
            runtime.run_graph(request, Some(events), cancel).await
        }
    }
}

fn kind_of(event: &RunEvent) -> &'static str {
    match event.kind {
        RunEventKind::RunStatus { .. } => "run_status",
        RunEventKind::NodeStatus { .. } => "node_status",
        RunEventKind::Log { .. } => "log",
        RunEventKind::Artifact { .. } => "artifact",
    }
}

/// Persists the engine's events in order (node records, artifact metadata, the event log)
/// and broadcasts each after it is stored. The run's final status event is returned, not
/// stored: the caller stores it after the run record is final.
async fn persist_events(
    service: Arc<RunService>,
    run_id: String,
    base: u64,
    mut rx: UnboundedReceiver<RunEvent>,
) -> Option<RunEvent> {
    let mut positions: HashMap<String, i64> = HashMap::new();
    let mut held = None;
    while let Some(mut event) = rx.recv().await {
        event.seq += base;
        if matches!(event.kind, RunEventKind::RunStatus { status } if status.is_final()) {
            held = Some(event);
            continue;
        }
        let stored = async {
            match &event.kind {
                RunEventKind::NodeStatus { node } => {
                    let next = i64::try_from(positions.len()).unwrap_or(i64::MAX);
                    let position = *positions.entry(node.node_id.clone()).or_insert(next);
                    service.store.save_node_run(&run_id, position, node).await?;
                }
                RunEventKind::Artifact { node_id, artifact } => {
                    let meta = ArtifactMeta {
                        id: artifact.id.clone(),
                        run_id: run_id.clone(),
                        node_id: node_id.clone(),
                        role: artifact.role,
                        media_type: artifact.media_type.clone(),
                        size: i64::try_from(artifact.size).unwrap_or(i64::MAX),
                        created_at: event.at,
                    };
                    service.store.insert_artifact(&meta).await?;
                }
                _ => {}
            }
            persist_one(&service, &event).await
        };
        if let Err(err) = stored.await {
            tracing::error!(run = %run_id, %err, "cannot persist a run event");
        }
    }
    held
}

async fn persist_one(service: &RunService, event: &RunEvent) -> StoreResult<()> {
    let payload = serde_json::to_value(event).unwrap_or(Value::Null);
    let seq = i64::try_from(event.seq).unwrap_or(i64::MAX);
    let kind = kind_of(event);
    service
        .store
        .append_event(&event.run_id, seq, event.at, kind, &payload)
        .await?;
    service.publish(HubEvent {
        run_id: event.run_id.clone(),
        seq,
        kind: kind.to_owned(),
        payload,
    });
    Ok(())
}

/// A final `run_status` event the server itself emits (run refused, cancelled while queued,
/// interrupted), numbered after the run's last event.
pub(crate) async fn emit_final(
    service: &RunService,
    run_id: &str,
    status: RunStatus,
    error: Option<Value>,
) -> StoreResult<()> {
    let seq = service.store.last_event_seq(run_id).await? + 1;
    let at = now_ms();
    let mut payload =
        json!({"run_id": run_id, "seq": seq, "at": at, "kind": "run_status", "status": status});
    if let (Some(error), Some(obj)) = (error, payload.as_object_mut()) {
        obj.insert("error".into(), error);
    }
    service
        .store
        .append_event(run_id, seq, at, "run_status", &payload)
        .await?;
    service.publish(HubEvent {
        run_id: run_id.to_owned(),
        seq,
        kind: "run_status".into(),
        payload,
    });
    Ok(())
}

/// Best effort after the store failed mid-run: record the run failed (`internal`) and the job
/// done, so it is not left "running" until the next restart.
pub(crate) async fn abandon(service: &RunService, job: &Job, err: &crate::store::StoreError) {
    service.unregister_cancel(&job.run_id);
    let error =
        json!({"code": "internal", "message": format!("the run could not be recorded: {err}")});
    let nodes = match service.store.get_run(&job.run_id).await {
        Ok(run) if run.status.is_final() => None,
        Ok(run) => Some(run.nodes),
        Err(_) => Some(Vec::new()),
    };
    if let Some(nodes) = nodes {
        let recorded = async {
            service
                .store
                .finish_run(&job.run_id, RunStatus::Failed, Some(&error), &nodes)
                .await?;
            emit_final(service, &job.run_id, RunStatus::Failed, Some(error.clone())).await
        };
        if let Err(e) = recorded.await {
            tracing::error!(run = %job.run_id, %e, "cannot record the failure either; a restart will mark it interrupted");
            return;
        }
    }
    if let Err(e) = service.store.set_job_status(&job.id, "done").await {
        tracing::error!(job = %job.id, %e, "cannot close the job");
    }
}

/// Rollout `graph` with fallback: the failed graph run gets a linked legacy run.
async fn start_fallback(service: &Arc<RunService>, run: &RunRecord) -> StoreResult<()> {
    let fallback = service
        .create_queued(NewRun {
            mode: Some(RunMode::Legacy),
            trigger: "fallback".into(),
            workflow_id: run.workflow_id.clone(),
            workflow_version: run.workflow_version,
            output_type_id: run.output_type_id.clone(),
            product_id: run.product_id.clone(),
            inputs: run.inputs.clone(),
            overrides: run.overrides.clone(),
            graph: run
                .output_type
                .as_ref()
                .and_then(|spec| service.legacy_plan(spec)),
            output_type: run.output_type.clone(),
            linked_run_id: Some(run.id.clone()),
            link: Some("fallback_of".into()),
            rerun_of: None,
            priority: 0,
            preview: run.is_preview(),
        })
        .await?;
    service
        .store
        .link_run(&run.id, &fallback.id, "fallback")
        .await?;
    service.wake();
    if let Some(ot) = &run.output_type_id {
        match crate::rollout::note_fallback(service.store.as_ref(), &service.rollout_policy, ot)
            .await
        {
            Ok(Some(change)) => tracing::warn!(
                output_type = %ot,
                reason = change.reason.as_deref().unwrap_or(""),
                "output type rolled back to legacy automatically"
            ),
            Ok(None) => {}
            Err(err) => {
                tracing::error!(output_type = %ot, %err, "cannot check for an automatic rollback")
            }
        }
    }
    Ok(())
}

/// At start: jobs whose worker died (lease expired; this server's own, if it was killed) go
/// back to the queue and run again, until attempts run out. A job still under a live lease
/// belongs to a worker elsewhere and is left alone. Queued jobs stay queued and run now.
pub(crate) async fn recover_interrupted(service: &Arc<RunService>) -> StoreResult<()> {
    let requeued = service.store.requeue_expired_jobs(now_ms()).await?;
    if requeued > 0 {
        tracing::warn!(jobs = requeued, "requeued jobs whose worker stopped");
    }
    Ok(())
}

/// A job claimed more than `max_attempts` times: its workers keep dying (or losing the
/// database). The run fails `worker_lost`, its unfinished nodes failed or cancelled, never
/// left "running".
async fn fail_lost(service: &Arc<RunService>, job: &Job, run: RunRecord) -> StoreResult<()> {
    let store = &service.store;
    let attempts = job.attempts - 1;
    let error = json!({
        "code": "worker_lost",
        "message": format!("the worker running this run stopped or lost its lease {attempts} times; its results are incomplete: rerun it"),
        "details": {"attempts": attempts},
    });
    let now = now_ms();
    let mut changed = Vec::new();
    let nodes: Vec<_> = run
        .nodes
        .into_iter()
        .map(|mut n| {
            match n.status {
                NodeStatus::Running => {
                    n.status = NodeStatus::Failed;
                    n.finished_at = Some(now);
                    n.error = Some(workflow_engine::runtime::NodeError {
                        code: "worker_lost".into(),
                        message: "the worker running this node stopped".into(),
                        details: Value::Null,
                        root_cause_node: None,
                    });
                    changed.push(n.clone());
                }
                NodeStatus::Pending => {
                    n.status = NodeStatus::Cancelled;
                    changed.push(n.clone());
                }
                _ => {}
            }
            n
        })
        .collect();
    store
        .finish_run(&run.id, RunStatus::Failed, Some(&error), &nodes)
        .await?;
    // Each node cut short gets its own node_status event before the run's final one, so an
    // event-log reader (the app's live view, a replay) sees it end too.
    let mut seq = u64::try_from(store.last_event_seq(&run.id).await?).unwrap_or(0);
    for node in changed {
        seq += 1;
        let event = RunEvent {
            run_id: run.id.clone(),
            seq,
            at: now,
            kind: RunEventKind::NodeStatus {
                node: Box::new(node),
            },
        };
        persist_one(service, &event).await?;
    }
    emit_final(service, &run.id, RunStatus::Failed, Some(error)).await?;
    store.set_job_status(&job.id, "interrupted").await?;
    tracing::warn!(run = %run.id, attempts, "run failed: its workers kept stopping");
    Ok(())
}
