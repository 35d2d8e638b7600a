//! Maintenance over stored data, shared by the admin API and (later) command-line verbs.

use crate::store::{note, Store, StoreResult};
use serde::Serialize;
use utoipa::ToSchema;
use workflow_contracts::{normalize, validate, NormalizeChange, Registry, ValidationError};

/// What normalize did (or would do) to one workflow.
#[derive(Debug, Serialize, ToSchema)]
pub struct NormalizedWorkflow {
    pub id: String,
    pub name: String,
    pub version_before: i64,
    /// The new version when the repaired graph was saved (apply mode, something changed).
    pub version_after: Option<i64>,
    pub changed: bool,
    #[schema(value_type = Vec<Object>)]
    pub changes: Vec<NormalizeChange>,
    /// Whether the repaired graph validates; normalize cannot fix everything (unknown types).
    pub valid_after: bool,
    #[schema(value_type = Vec<Object>)]
    pub errors_after: Vec<ValidationError>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NormalizeSummary {
    pub dry_run: bool,
    pub examined: usize,
    pub changed: usize,
    pub workflows: Vec<NormalizedWorkflow>,
}

/// Runs contracts' normalize over every stored workflow; unless `dry_run`, saves each changed
/// graph as a new revision. A workflow saved concurrently is reported with its conflict
/// rather than overwritten (the store's version check).
pub async fn normalize_all(
    store: &dyn Store,
    registry: &Registry,
    dry_run: bool,
) -> StoreResult<NormalizeSummary> {
    let mut workflows = Vec::new();
    for wf in store.list_workflows(None).await? {
        let (graph, report) = normalize(&wf.graph, registry);
        let after = validate(&graph, registry);
        let changed = report.changed();
        let version_after = if changed && !dry_run {
            let saved = store
                .update_workflow(&wf.id, wf.version, &wf.name, &graph, note::NORMALIZE)
                .await?;
            Some(saved.version)
        } else {
            None
        };
        workflows.push(NormalizedWorkflow {
            id: wf.id,
            name: wf.name,
            version_before: wf.version,
            version_after,
            changed,
            changes: report.changes,
            valid_after: after.valid,
            errors_after: after.errors,
        });
    }
    Ok(NormalizeSummary {
        dry_run,
        examined: workflows.len(),
        changed: workflows.iter().filter(|w| w.changed).count(),
        workflows,
    })
}
