//! SQLite implementation of [`RunStore`]. Portable SQL like the rest (`$n`, TEXT JSON, BIGINT
//! unix milliseconds); writers go through the same FIFO write gate.

use super::rows::{
    enum_text, flag, from_json_text, newest_page, parse_enum, select_list, to_json_text,
};
use super::{Backend, SqlStore};
use crate::store::{
    new_id, now_ms, ArtifactMeta, Job, LeaseState, NewRun, RunFilter, RunRecord, RunStore,
    StoreError, StoreResult, StoredEvent,
};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::sync::LazyLock;
use workflow_engine::runtime::{NodeRun, RunStatus};

const RUN_COLUMNS: &str = "id, mode, trigger, status, workflow_id, workflow_version, \
    output_type_id, product_id, inputs, overrides, graph, output_type, authoritative, \
    linked_run_id, link, rerun_of, error, created_at, started_at, finished_at";

/// [`RUN_COLUMNS`] as selected (booleans as integers).
static RUN_SELECT: LazyLock<String> =
    LazyLock::new(|| select_list(RUN_COLUMNS, &["authoritative"]));

fn opt_json<T: serde::de::DeserializeOwned>(text: Option<String>) -> StoreResult<Option<T>> {
    text.as_deref().map(from_json_text).transpose()
}

fn run_from_row(row: &AnyRow) -> StoreResult<RunRecord> {
    let mode: String = row.try_get("mode")?;
    let status: String = row.try_get("status")?;
    let inputs: String = row.try_get("inputs")?;
    let overrides: String = row.try_get("overrides")?;
    Ok(RunRecord {
        id: row.try_get("id")?,
        mode: parse_enum(&mode)?,
        trigger: row.try_get("trigger")?,
        status: parse_enum(&status)?,
        workflow_id: row.try_get("workflow_id")?,
        workflow_version: row.try_get("workflow_version")?,
        output_type_id: row.try_get("output_type_id")?,
        product_id: row.try_get("product_id")?,
        inputs: from_json_text(&inputs)?,
        overrides: from_json_text(&overrides)?,
        graph: opt_json(row.try_get("graph")?)?,
        output_type: opt_json(row.try_get("output_type")?)?,
        authoritative: flag(row, "authoritative")?,
        linked_run_id: row.try_get("linked_run_id")?,
        link: row.try_get("link")?,
        rerun_of: row.try_get("rerun_of")?,
        error: opt_json(row.try_get("error")?)?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        nodes: Vec::new(),
    })
}

fn artifact_from_row(row: &AnyRow) -> StoreResult<ArtifactMeta> {
    let role: String = row.try_get("role")?;
    Ok(ArtifactMeta {
        id: row.try_get("id")?,
        run_id: row.try_get("run_id")?,
        node_id: row.try_get("node_id")?,
        role: parse_enum(&role)?,
        media_type: row.try_get("media_type")?,
        size: row.try_get("size")?,
        created_at: row.try_get("created_at")?,
    })
}

fn job_from_row(row: &AnyRow) -> StoreResult<Job> {
    Ok(Job {
        id: row.try_get("id")?,
        run_id: row.try_get("run_id")?,
        attempts: row.try_get("attempts")?,
    })
}

/// The claim: one statement, so the job is chosen and taken atomically. PostgreSQL locks the
/// chosen row and skips rows other claimers hold; SQLite has one writer at a time, so the same
/// statement without the lock clause is already exclusive (also across processes).
fn claim_sql(backend: Backend) -> String {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = $1, \
         lease_expires_at = $2, updated_at = $3 \
         WHERE id = (SELECT id FROM jobs WHERE status = 'queued' OR (status = 'running' \
         AND (lease_expires_at IS NULL OR lease_expires_at <= $3)) \
         ORDER BY priority DESC, created_at, seq, id LIMIT 1{lock}) \
         RETURNING id, run_id, attempts"
    )
}

/// `WHERE` clause and its text binds for a run filter.
fn run_where(filter: &RunFilter) -> StoreResult<(String, Vec<String>)> {
    let mut clauses = Vec::new();
    let mut binds = Vec::new();
    let mut add = |column: &str, value: String| {
        binds.push(value);
        clauses.push(format!("{column} = ${}", binds.len()));
    };
    if let Some(s) = filter.status {
        add("status", enum_text(&s)?);
    }
    if let Some(m) = filter.mode {
        add("mode", enum_text(&m)?);
    }
    if let Some(v) = &filter.workflow_id {
        add("workflow_id", v.clone());
    }
    if let Some(v) = &filter.output_type_id {
        add("output_type_id", v.clone());
    }
    if let Some(v) = &filter.product_id {
        add("product_id", v.clone());
    }
    // Binds are text; the cast keeps the comparison numeric on SQLite and PostgreSQL alike.
    if let Some(v) = filter.created_from {
        binds.push(v.to_string());
        clauses.push(format!("created_at >= CAST(${} AS BIGINT)", binds.len()));
    }
    if let Some(v) = filter.created_until {
        binds.push(v.to_string());
        clauses.push(format!("created_at < CAST(${} AS BIGINT)", binds.len()));
    }
    let sql = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    Ok((sql, binds))
}

async fn write_node_run(
    conn: &mut sqlx::AnyConnection,
    run_id: &str,
    position: i64,
    node: &NodeRun,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO node_runs (run_id, node_id, position, status, record) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (run_id, node_id) DO UPDATE SET position = excluded.position, \
         status = excluded.status, record = excluded.record",
    )
    .bind(run_id)
    .bind(&node.node_id)
    .bind(position)
    .bind(enum_text(&node.status)?)
    .bind(to_json_text(node)?)
    .execute(conn)
    .await?;
    Ok(())
}

#[async_trait]
impl RunStore for SqlStore {
    async fn create_run(&self, run: &NewRun, enqueue: bool) -> StoreResult<RunRecord> {
        let mode = run
            .mode
            .ok_or_else(|| StoreError::Corrupt("a run needs a mode".into()))?;
        let _write = self.write_gate().await;
        let id = new_id();
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "INSERT INTO runs ({RUN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14, $15, $16, NULL, $17, NULL, NULL)"
        );
        sqlx::query(&sql)
            .bind(&id)
            .bind(enum_text(&mode)?)
            .bind(&run.trigger)
            .bind(enum_text(&RunStatus::Queued)?)
            .bind(&run.workflow_id)
            .bind(run.workflow_version)
            .bind(&run.output_type_id)
            .bind(&run.product_id)
            .bind(to_json_text(&run.inputs)?)
            .bind(to_json_text(&run.overrides)?)
            .bind(run.graph.as_ref().map(to_json_text).transpose()?)
            .bind(run.output_type.as_ref().map(to_json_text).transpose()?)
            .bind(mode.authoritative() && !run.preview)
            .bind(&run.linked_run_id)
            .bind(&run.link)
            .bind(&run.rerun_of)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if enqueue {
            sqlx::query(
                "INSERT INTO jobs (id, run_id, status, attempts, created_at, updated_at, priority, seq) \
                 VALUES ($1, $2, 'queued', 0, $3, $3, $4, \
                 (SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs))",
            )
            .bind(new_id())
            .bind(&id)
            .bind(now)
            .bind(run.priority)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        drop(_write);
        self.get_run(&id).await
    }

    async fn get_run(&self, id: &str) -> StoreResult<RunRecord> {
        let sql = format!("SELECT {} FROM runs WHERE id = $1", *RUN_SELECT);
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("run '{id}'")))?;
        let mut run = run_from_row(&row)?;
        let rows = sqlx::query(
            "SELECT record FROM node_runs WHERE run_id = $1 ORDER BY position, node_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        run.nodes = rows
            .iter()
            .map(|r| from_json_text::<NodeRun>(&r.try_get::<String, _>("record")?))
            .collect::<StoreResult<_>>()?;
        Ok(run)
    }

    async fn list_runs(&self, filter: &RunFilter) -> StoreResult<(Vec<RunRecord>, i64)> {
        let (clause, binds) = run_where(filter)?;
        let (rows, total) = newest_page(
            &self.pool,
            "runs",
            &RUN_SELECT,
            (&clause, &binds),
            filter.limit,
            filter.offset,
        )
        .await?;
        let runs = rows.iter().map(run_from_row).collect::<StoreResult<_>>()?;
        Ok((runs, total))
    }

    async fn mark_run_started(&self, id: &str, at: i64) -> StoreResult<()> {
        let _write = self.write_gate().await;
        sqlx::query("UPDATE runs SET status = $1, started_at = $2 WHERE id = $3")
            .bind(enum_text(&RunStatus::Running)?)
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn finish_run(
        &self,
        id: &str,
        status: RunStatus,
        error: Option<&Value>,
        nodes: &[NodeRun],
    ) -> StoreResult<()> {
        let _write = self.write_gate().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE runs SET status = $1, error = $2, finished_at = $3 WHERE id = $4")
            .bind(enum_text(&status)?)
            .bind(error.map(to_json_text).transpose()?)
            .bind(now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for (position, node) in nodes.iter().enumerate() {
            let position = i64::try_from(position).unwrap_or(i64::MAX);
            write_node_run(&mut tx, id, position, node).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn link_run(&self, id: &str, linked_run_id: &str, link: &str) -> StoreResult<()> {
        let _write = self.write_gate().await;
        sqlx::query("UPDATE runs SET linked_run_id = $1, link = $2 WHERE id = $3")
            .bind(linked_run_id)
            .bind(link)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn save_node_run(&self, run_id: &str, position: i64, node: &NodeRun) -> StoreResult<()> {
        let _write = self.write_gate().await;
        let mut conn = self.pool.acquire().await?;
        write_node_run(&mut conn, run_id, position, node).await
    }

    async fn append_event(
        &self,
        run_id: &str,
        seq: i64,
        at: i64,
        kind: &str,
        payload: &Value,
    ) -> StoreResult<()> {
        let _write = self.write_gate().await;
        sqlx::query(
            "INSERT INTO run_events (run_id, seq, at, kind, payload) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(run_id)
        .bind(seq)
        .bind(at)
        .bind(kind)
        .bind(to_json_text(payload)?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_events(&self, run_id: &str, after: i64) -> StoreResult<Vec<StoredEvent>> {
        let rows = sqlx::query(
            "SELECT seq, kind, payload FROM run_events WHERE run_id = $1 AND seq > $2 ORDER BY seq",
        )
        .bind(run_id)
        .bind(after)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredEvent {
                    seq: r.try_get("seq")?,
                    kind: r.try_get("kind")?,
                    payload: from_json_text(&r.try_get::<String, _>("payload")?)?,
                })
            })
            .collect()
    }

    async fn last_event_seq(&self, run_id: &str) -> StoreResult<i64> {
        let row =
            sqlx::query("SELECT COALESCE(MAX(seq), 0) AS n FROM run_events WHERE run_id = $1")
                .bind(run_id)
                .fetch_one(&self.pool)
                .await?;
        Ok(row.try_get("n")?)
    }

    async fn insert_artifact(&self, meta: &ArtifactMeta) -> StoreResult<()> {
        let _write = self.write_gate().await;
        sqlx::query(
            "INSERT INTO artifacts (id, run_id, node_id, role, media_type, size, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&meta.id)
        .bind(&meta.run_id)
        .bind(&meta.node_id)
        .bind(enum_text(&meta.role)?)
        .bind(&meta.media_type)
        .bind(meta.size)
        .bind(meta.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get_artifact(&self, id: &str) -> StoreResult<ArtifactMeta> {
        let row = sqlx::query(
            "SELECT id, run_id, node_id, role, media_type, size, created_at FROM artifacts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("artifact '{id}'")))?;
        artifact_from_row(&row)
    }

    async fn list_artifacts(&self, run_id: &str) -> StoreResult<Vec<ArtifactMeta>> {
        let rows = sqlx::query(
            "SELECT id, run_id, node_id, role, media_type, size, created_at FROM artifacts \
             WHERE run_id = $1 ORDER BY created_at, id",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(artifact_from_row).collect()
    }

    async fn claim_job(&self, owner: &str, lease_ms: i64) -> StoreResult<Option<Job>> {
        let _write = self.write_gate().await;
        let now = now_ms();
        let row = sqlx::query(&claim_sql(self.backend))
            .bind(owner)
            .bind(now.saturating_add(lease_ms))
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn renew_lease(&self, job: &Job, owner: &str, lease_ms: i64) -> StoreResult<LeaseState> {
        let held = {
            let _write = self.write_gate().await;
            let now = now_ms();
            sqlx::query(
                "UPDATE jobs SET lease_expires_at = $1, updated_at = $2 \
                 WHERE id = $3 AND lease_owner = $4 AND status = 'running'",
            )
            .bind(now.saturating_add(lease_ms))
            .bind(now)
            .bind(&job.id)
            .bind(owner)
            .execute(&self.pool)
            .await?
            .rows_affected()
                == 1
        };
        let row = sqlx::query("SELECT cancel_requested_at FROM runs WHERE id = $1")
            .bind(&job.run_id)
            .fetch_optional(&self.pool)
            .await?;
        let cancel_requested = match row {
            Some(row) => row
                .try_get::<Option<i64>, _>("cancel_requested_at")?
                .is_some(),
            None => false,
        };
        Ok(LeaseState {
            held,
            cancel_requested,
        })
    }

    async fn release_job(&self, job_id: &str, owner: &str) -> StoreResult<bool> {
        let _write = self.write_gate().await;
        let released = sqlx::query(
            "UPDATE jobs SET status = 'queued', attempts = attempts - 1, lease_owner = NULL, \
             lease_expires_at = NULL, updated_at = $1 \
             WHERE id = $2 AND lease_owner = $3 AND status = 'running'",
        )
        .bind(now_ms())
        .bind(job_id)
        .bind(owner)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(released == 1)
    }

    async fn requeue_expired_jobs(&self, now: i64) -> StoreResult<u64> {
        let _write = self.write_gate().await;
        let requeued = sqlx::query(
            "UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, \
             updated_at = $1 WHERE status = 'running' \
             AND (lease_expires_at IS NULL OR lease_expires_at <= $1)",
        )
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(requeued)
    }

    async fn set_job_status(&self, job_id: &str, status: &str) -> StoreResult<()> {
        let _write = self.write_gate().await;
        sqlx::query(
            "UPDATE jobs SET status = $1, lease_owner = NULL, lease_expires_at = NULL, \
             updated_at = $2 WHERE id = $3",
        )
        .bind(status)
        .bind(now_ms())
        .bind(job_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn request_cancel(&self, run_id: &str) -> StoreResult<()> {
        let _write = self.write_gate().await;
        sqlx::query(
            "UPDATE runs SET cancel_requested_at = $1 WHERE id = $2 AND cancel_requested_at IS NULL",
        )
        .bind(now_ms())
        .bind(run_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn cancel_queued_run(&self, run_id: &str) -> StoreResult<bool> {
        let _write = self.write_gate().await;
        let mut tx = self.pool.begin().await?;
        let taken = sqlx::query(
            "UPDATE jobs SET status = 'done', updated_at = $1 WHERE run_id = $2 AND status = 'queued'",
        )
        .bind(now_ms())
        .bind(run_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if taken > 0 {
            sqlx::query("UPDATE runs SET status = $1, finished_at = $2 WHERE id = $3")
                .bind(enum_text(&RunStatus::Cancelled)?)
                .bind(now_ms())
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(taken > 0)
    }
}
