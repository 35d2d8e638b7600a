//! Shadow comparisons: when both halves of a shadow pair (the authoritative legacy run and
//! its shadow graph run) have finished, the engine's comparison module compares them. The
//! report (JSON, role `parity_report`) and the difference images (`difference_image`) become
//! artifacts of the shadow run, and the verdict is recorded for readiness. Nothing here can
//! change or fail the legacy run: errors are recorded on the comparison and logged.

use super::service::RunService;
use crate::store::{ArtifactMeta, NewShadowComparison, RunRecord, StoreError};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use workflow_contracts::{ArtifactRole, Registry};
use workflow_engine::compare::{
    attribute, compare_runs, ArtifactSource, ComparisonReport, RunOutputs, ThresholdConfig,
};
use workflow_engine::runtime::{ArtifactSink, RunMode, RunReport, RunStatus};

/// The node id the comparison's artifacts are recorded under on the shadow run.
pub const PARITY_NODE: &str = "parity";

/// The (legacy, shadow) pair `run` belongs to, if it is half of a shadow pair.
fn pair_ids(run: &RunRecord) -> Option<(String, String)> {
    let linked = run.linked_run_id.clone()?;
    match (run.mode, run.link.as_deref()) {
        (RunMode::Shadow, Some("shadow_of")) => Some((linked, run.id.clone())),
        (RunMode::Legacy, Some("shadow")) => Some((run.id.clone(), linked)),
        _ => None,
    }
}

fn report_of(run: &RunRecord) -> RunReport {
    RunReport {
        run_id: run.id.clone(),
        status: run.status,
        started_at: run.started_at.unwrap_or(run.created_at),
        finished_at: run.finished_at.unwrap_or(run.created_at),
        nodes: run.nodes.clone(),
    }
}

/// Called when `run` finished: compares its shadow pair once both halves are final (and
/// neither was cancelled). Only the caller that claims the pair compares it.
pub(crate) async fn after_run(service: &Arc<RunService>, run_id: &str) {
    if let Err(err) = compare_pair(service, run_id).await {
        tracing::error!(run = %run_id, %err, "shadow comparison could not be recorded");
    }
}

/// At start: compares the finished shadow pairs a stop left uncompared, including those whose
/// comparison was claimed but never recorded (in the background; a pair whose other half is
/// still queued is compared when that one finishes).
pub(crate) async fn recover(service: &Arc<RunService>) -> Result<(), StoreError> {
    let released = service
        .store
        .release_pending_comparisons(crate::store::now_ms())
        .await?;
    if released > 0 {
        tracing::info!(
            released,
            "comparisons a stop left pending are compared again"
        );
    }
    let ids = service.store.shadow_runs_without_comparison(200).await?;
    if ids.is_empty() {
        return Ok(());
    }
    tracing::info!(
        pairs = ids.len(),
        "comparing shadow pairs a stop left uncompared"
    );
    let service = service.clone();
    tokio::spawn(async move {
        for id in ids {
            after_run(&service, &id).await;
        }
    });
    Ok(())
}

async fn compare_pair(service: &Arc<RunService>, run_id: &str) -> Result<(), StoreError> {
    let store = &service.store;
    let run = store.get_run(run_id).await?;
    let Some((legacy_id, shadow_id)) = pair_ids(&run) else {
        return Ok(());
    };
    let legacy = store.get_run(&legacy_id).await?;
    let shadow = store.get_run(&shadow_id).await?;
    if !legacy.status.is_final() || !shadow.status.is_final() {
        return Ok(());
    }
    if legacy.status == RunStatus::Cancelled || shadow.status == RunStatus::Cancelled {
        // A cancelled half says nothing about parity.
        return Ok(());
    }
    let claim = NewShadowComparison {
        shadow_run_id: shadow.id.clone(),
        legacy_run_id: legacy.id.clone(),
        output_type_id: shadow.output_type_id.clone(),
        workflow_id: shadow.workflow_id.clone(),
        workflow_version: shadow.workflow_version,
    };
    if !store.claim_shadow_comparison(&claim).await? {
        return Ok(());
    }
    let registry = service.registry.clone();
    let artifacts = service.artifacts.clone();
    let thresholds = service.parity_thresholds.clone();
    let (legacy_for_compare, shadow_for_compare) = (legacy.clone(), shadow.clone());
    let outcome = tokio::task::spawn_blocking(move || {
        compare(
            &registry,
            artifacts.as_ref(),
            &thresholds,
            &legacy_for_compare,
            &shadow_for_compare,
        )
    })
    .await
    .unwrap_or_else(|e| Err(format!("the comparison panicked: {e}")));
    match outcome {
        Ok(report) => record(service, &shadow, &report).await,
        Err(message) => {
            let error = json!({"code": "comparison_failed", "message": message});
            store
                .finish_shadow_comparison(&shadow.id, None, None, None, Some(&error))
                .await
        }
    }
}

/// The comparison itself (CPU work: decoding, SSIM): legacy is the reference.
fn compare(
    registry: &Registry,
    artifacts: &dyn ArtifactSource,
    thresholds: &ThresholdConfig,
    legacy: &RunRecord,
    shadow: &RunRecord,
) -> Result<ComparisonReport, String> {
    let spec = shadow
        .output_type
        .as_ref()
        .or(legacy.output_type.as_ref())
        .ok_or("the shadow run has no output type to take the artifact kind from")?;
    let kind = spec.artifact_kind;
    let t = thresholds
        .resolve(kind, shadow.output_type_id.as_deref())
        .map_err(|e| e.to_string())?;
    let (reference, candidate) = (report_of(legacy), report_of(shadow));
    let report = compare_runs(
        kind,
        RunOutputs {
            report: &reference,
            artifacts,
        },
        RunOutputs {
            report: &candidate,
            artifacts,
        },
        &t,
    );
    Ok(match &shadow.graph {
        Some(graph) => report.with_attribution(attribute(graph, registry, &candidate, &reference)),
        None => report,
    })
}

async fn store_artifact(
    service: &RunService,
    run_id: &str,
    role: ArtifactRole,
    media_type: &str,
    bytes: Vec<u8>,
) -> Result<String, StoreError> {
    let artifacts = service.artifacts.clone();
    let (run, media) = (run_id.to_owned(), media_type.to_owned());
    let stored = tokio::task::spawn_blocking(move || {
        artifacts.store(&run, PARITY_NODE, role, &media, &bytes)
    })
    .await
    .map_err(|e| StoreError::Corrupt(e.to_string()))?
    .map_err(StoreError::Corrupt)?;
    service
        .store
        .insert_artifact(&ArtifactMeta {
            id: stored.id.clone(),
            run_id: run_id.to_owned(),
            node_id: PARITY_NODE.to_owned(),
            role,
            media_type: stored.media_type.clone(),
            size: i64::try_from(stored.size).unwrap_or(i64::MAX),
            created_at: workflow_engine::runtime::now_ms(),
        })
        .await?;
    Ok(stored.id)
}

/// Stores the difference images and the report (naming the images' artifact ids) on the
/// shadow run, then the verdict.
async fn record(
    service: &RunService,
    shadow: &RunRecord,
    report: &ComparisonReport,
) -> Result<(), StoreError> {
    let mut images = Map::new();
    for blob in &report.blobs {
        let id = store_artifact(
            service,
            &shadow.id,
            ArtifactRole::DifferenceImage,
            &blob.media_type,
            blob.bytes.clone(),
        )
        .await?;
        images.insert(blob.name.clone(), Value::String(id));
    }
    let mut json = serde_json::to_value(report).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if let Some(obj) = json.as_object_mut() {
        obj.insert("difference_images".into(), Value::Object(images));
    }
    let bytes = serde_json::to_vec_pretty(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let report_id = store_artifact(
        service,
        &shadow.id,
        ArtifactRole::ParityReport,
        "application/json",
        bytes,
    )
    .await?;
    let attributed = report
        .attribution
        .as_ref()
        .and_then(|a| a.node_id.as_deref());
    service
        .store
        .finish_shadow_comparison(
            &shadow.id,
            Some(report.verdict.as_str()),
            attributed,
            Some(&report_id),
            None,
        )
        .await
}
