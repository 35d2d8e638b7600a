//! SQLite implementation of [`RolloutStore`]. Portable SQL like the rest (`$n`, TEXT JSON,
//! BIGINT unix milliseconds, `ON CONFLICT … DO NOTHING`); writers go through the write gate.

use super::rows::{enum_text, flag, from_json_text, parse_enum, select_list, to_json_text};
use super::SqlStore;
use crate::store::{
    new_id, now_ms, NewRolloutChange, NewShadowComparison, OutputTypeRecord, RolloutChange,
    RolloutStore, ShadowComparison, StoreResult,
};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::sync::LazyLock;
use workflow_contracts::output_type::OutputTypeSpec;

const CHANGE_COLUMNS: &str = "id, output_type_id, from_state, to_state, actor, reason, forced, \
    automatic, readiness, output_type_version, created_at";

/// [`CHANGE_COLUMNS`] as selected (booleans as integers).
static CHANGE_SELECT: LazyLock<String> =
    LazyLock::new(|| select_list(CHANGE_COLUMNS, &["forced", "automatic"]));

const COMPARISON_COLUMNS: &str = "shadow_run_id, legacy_run_id, output_type_id, workflow_id, \
    workflow_version, status, verdict, attributed_node, report_artifact_id, error, created_at, \
    finished_at";

fn change_from_row(row: &AnyRow) -> StoreResult<RolloutChange> {
    let from: Option<String> = row.try_get("from_state")?;
    let to: String = row.try_get("to_state")?;
    let actor: String = row.try_get("actor")?;
    let readiness: Option<String> = row.try_get("readiness")?;
    Ok(RolloutChange {
        id: row.try_get("id")?,
        output_type_id: row.try_get("output_type_id")?,
        from: from.as_deref().map(parse_enum).transpose()?,
        to: parse_enum(&to)?,
        actor: from_json_text(&actor)?,
        reason: row.try_get("reason")?,
        forced: flag(row, "forced")?,
        automatic: flag(row, "automatic")?,
        readiness: readiness.as_deref().map(from_json_text).transpose()?,
        output_type_version: row.try_get("output_type_version")?,
        created_at: row.try_get("created_at")?,
    })
}

fn comparison_from_row(row: &AnyRow) -> StoreResult<ShadowComparison> {
    let error: Option<String> = row.try_get("error")?;
    Ok(ShadowComparison {
        shadow_run_id: row.try_get("shadow_run_id")?,
        legacy_run_id: row.try_get("legacy_run_id")?,
        output_type_id: row.try_get("output_type_id")?,
        workflow_id: row.try_get("workflow_id")?,
        workflow_version: row.try_get("workflow_version")?,
        status: row.try_get("status")?,
        verdict: row.try_get("verdict")?,
        attributed_node: row.try_get("attributed_node")?,
        report_artifact_id: row.try_get("report_artifact_id")?,
        error: error.as_deref().map(from_json_text).transpose()?,
        created_at: row.try_get("created_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

async fn insert_change(
    conn: &mut sqlx::AnyConnection,
    output_type_id: &str,
    version: i64,
    change: &NewRolloutChange,
) -> StoreResult<RolloutChange> {
    let record = RolloutChange {
        id: new_id(),
        output_type_id: output_type_id.to_owned(),
        from: change.from,
        to: change.to,
        actor: change.actor.clone(),
        reason: change.reason.clone(),
        forced: change.forced,
        automatic: change.automatic,
        readiness: change.readiness.clone(),
        output_type_version: version,
        created_at: now_ms(),
    };
    let sql = format!(
        "INSERT INTO rollout_changes ({CHANGE_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    );
    sqlx::query(&sql)
        .bind(&record.id)
        .bind(&record.output_type_id)
        .bind(record.from.as_ref().map(enum_text).transpose()?)
        .bind(enum_text(&record.to)?)
        .bind(to_json_text(&record.actor)?)
        .bind(&record.reason)
        .bind(record.forced)
        .bind(record.automatic)
        .bind(record.readiness.as_ref().map(to_json_text).transpose()?)
        .bind(record.output_type_version)
        .bind(record.created_at)
        .execute(conn)
        .await?;
    Ok(record)
}

#[async_trait]
impl RolloutStore for SqlStore {
    async fn save_output_type_change(
        &self,
        id: &str,
        expected: i64,
        spec: &OutputTypeSpec,
        change: &NewRolloutChange,
    ) -> StoreResult<(OutputTypeRecord, RolloutChange)> {
        let _write = self.write_gate().await;
        let mut tx = self.pool.begin().await?;
        let record = super::update_output_type_in(&mut tx, id, expected, spec).await?;
        let change = insert_change(&mut tx, id, record.version, change).await?;
        tx.commit().await?;
        Ok((record, change))
    }

    async fn record_rollout_change(
        &self,
        output_type_id: &str,
        output_type_version: i64,
        change: &NewRolloutChange,
    ) -> StoreResult<RolloutChange> {
        let _write = self.write_gate().await;
        let mut conn = self.pool.acquire().await?;
        insert_change(&mut conn, output_type_id, output_type_version, change).await
    }

    async fn list_rollout_changes(
        &self,
        output_type_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<RolloutChange>> {
        let sql = format!(
            "SELECT {} FROM rollout_changes WHERE output_type_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2",
            *CHANGE_SELECT
        );
        let rows = sqlx::query(&sql)
            .bind(output_type_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(change_from_row).collect()
    }

    async fn claim_shadow_comparison(&self, claim: &NewShadowComparison) -> StoreResult<bool> {
        let _write = self.write_gate().await;
        let done = sqlx::query(
            "INSERT INTO shadow_comparisons (shadow_run_id, legacy_run_id, output_type_id, \
             workflow_id, workflow_version, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6) ON CONFLICT (shadow_run_id) DO NOTHING",
        )
        .bind(&claim.shadow_run_id)
        .bind(&claim.legacy_run_id)
        .bind(&claim.output_type_id)
        .bind(&claim.workflow_id)
        .bind(claim.workflow_version)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_pending_comparisons(&self, created_before: i64) -> StoreResult<u64> {
        let _write = self.write_gate().await;
        let done = sqlx::query(
            "DELETE FROM shadow_comparisons WHERE status = 'pending' AND created_at < $1",
        )
        .bind(created_before)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn finish_shadow_comparison(
        &self,
        shadow_run_id: &str,
        verdict: Option<&str>,
        attributed_node: Option<&str>,
        report_artifact_id: Option<&str>,
        error: Option<&Value>,
    ) -> StoreResult<()> {
        let _write = self.write_gate().await;
        let status = if error.is_some() { "error" } else { "done" };
        sqlx::query(
            "UPDATE shadow_comparisons SET status = $1, verdict = $2, attributed_node = $3, \
             report_artifact_id = $4, error = $5, finished_at = $6 WHERE shadow_run_id = $7",
        )
        .bind(status)
        .bind(verdict)
        .bind(attributed_node)
        .bind(report_artifact_id)
        .bind(error.map(to_json_text).transpose()?)
        .bind(now_ms())
        .bind(shadow_run_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get_shadow_comparison(
        &self,
        shadow_run_id: &str,
    ) -> StoreResult<Option<ShadowComparison>> {
        let sql =
            format!("SELECT {COMPARISON_COLUMNS} FROM shadow_comparisons WHERE shadow_run_id = $1");
        let row = sqlx::query(&sql)
            .bind(shadow_run_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(comparison_from_row).transpose()
    }

    async fn list_shadow_comparisons(
        &self,
        output_type_id: &str,
        since: i64,
        limit: i64,
    ) -> StoreResult<Vec<ShadowComparison>> {
        let sql = format!(
            "SELECT {COMPARISON_COLUMNS} FROM shadow_comparisons \
             WHERE output_type_id = $1 AND status = 'done' AND created_at >= $2 \
             ORDER BY created_at DESC, shadow_run_id DESC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(output_type_id)
            .bind(since)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(comparison_from_row).collect()
    }

    async fn shadow_runs_without_comparison(&self, limit: i64) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT r.id AS id FROM runs r LEFT JOIN shadow_comparisons c \
             ON c.shadow_run_id = r.id WHERE r.mode = 'shadow' AND c.shadow_run_id IS NULL \
             AND r.status IN ('succeeded', 'failed') ORDER BY r.created_at DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>("id")?))
            .collect()
    }

    async fn count_runs_by_trigger(
        &self,
        output_type_id: &str,
        trigger: &str,
        since: i64,
    ) -> StoreResult<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM runs WHERE output_type_id = $1 AND trigger = $2 \
             AND created_at >= $3",
        )
        .bind(output_type_id)
        .bind(trigger)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    async fn get_rollout_policy(&self, output_type_id: &str) -> StoreResult<Option<Value>> {
        let row = sqlx::query("SELECT policy FROM rollout_policies WHERE output_type_id = $1")
            .bind(output_type_id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => {
                let text: String = row.try_get("policy")?;
                Ok(Some(from_json_text(&text)?))
            }
            None => Ok(None),
        }
    }

    async fn set_rollout_policy(&self, output_type_id: &str, policy: &Value) -> StoreResult<()> {
        let _write = self.write_gate().await;
        sqlx::query(
            "INSERT INTO rollout_policies (output_type_id, policy, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (output_type_id) DO UPDATE SET policy = excluded.policy, \
             updated_at = excluded.updated_at",
        )
        .bind(output_type_id)
        .bind(to_json_text(policy)?)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
