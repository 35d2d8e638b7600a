//! The SQL implementation of [`Store`], for SQLite and PostgreSQL alike through sqlx's `Any`
//! driver: one set of queries (`$n` placeholders, TEXT JSON, BIGINT unix milliseconds,
//! booleans read as integers), one migration folder per backend, and the few statements that
//! differ (the job queue's row locks) chosen by [`Backend`].
//!
//! SQLite is one file in WAL mode, so readers never wait for the single writer. PostgreSQL is
//! what several server and worker processes on several hosts share.

mod deliverables;
mod orders;
mod products;
mod rollout;
mod rows;
mod runs;
mod tokens;

use super::{
    new_id, now_ms, OutputTypeRecord, Revision, Store, StoreError, StoreResult, UsedBy, Workflow,
};
use crate::auth::Role;
use async_trait::async_trait;
use rows::{
    enum_text, family_text, output_type_conflict, output_type_from_row, parse_enum,
    revision_from_row, select_list, to_json_text, workflow_conflict, workflow_from_row,
};
use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use sqlx::{AnyConnection, Connection, Executor, Row};
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use tokio::sync::{Mutex, MutexGuard};
use workflow_contracts::output_type::OutputTypeSpec;
use workflow_contracts::{Family, Graph};

/// Which database a [`SqlStore`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names, if it is one we support.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time. Queuing this process's writers here (FIFO) avoids
    /// SQLite's sleep-and-retry busy handler, which put saves' p99 at tens of milliseconds
    /// under 16 concurrent savers. Other processes are still covered by `busy_timeout`.
    /// PostgreSQL has row locks and needs no gate (None).
    write_gate: Option<Arc<Mutex<()>>>,
}

const WORKFLOW_COLUMNS: &str = "id, name, family, version, graph, created_at, updated_at";
const OUTPUT_TYPE_COLUMNS: &str = "id, name, workflow_family, artifact_kind, workflow_id, \
     invocation_overrides, legacy_settings, rollout, fallback_to_legacy, version, created_at, updated_at";

/// [`OUTPUT_TYPE_COLUMNS`] as selected (booleans as integers).
static OUTPUT_TYPE_SELECT: LazyLock<String> =
    LazyLock::new(|| select_list(OUTPUT_TYPE_COLUMNS, &["fallback_to_legacy"]));

/// SQLite settings per connection: WAL (readers never wait for the writer), foreign keys, and
/// writers of other processes queue for up to 10 s instead of failing with SQLITE_BUSY.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;";

impl SqlStore {
    /// Opens the database at `url`: `sqlite://PATH` (created if missing) or
    /// `postgres://USER@HOST:PORT/DB` (the database must exist).
    pub async fn connect(url: &str) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)
            .ok_or_else(|| StoreError::Corrupt("unsupported database URL".into()))?;
        let url = match backend {
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_owned(),
        };
        // One connection first, so a wrong host or password is reported as such (the pool
        // retries until its timeout and then only says it timed out).
        AnyConnection::connect(&url).await?.close().await?;
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        let pool = match backend {
            Backend::Sqlite => {
                options
                    .max_connections(8)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute(SQLITE_PRAGMAS).await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?
            }
            Backend::Postgres => options.max_connections(16).connect(&url).await?,
        };
        let write_gate = (backend == Backend::Sqlite).then(Arc::default);
        Ok(SqlStore {
            pool,
            backend,
            write_gate,
        })
    }

    fn migrator(&self) -> sqlx::migrate::Migrator {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Waits for this process's turn to write (SQLite only).
    async fn write_gate(&self) -> Option<MutexGuard<'_, ()>> {
        match &self.write_gate {
            Some(gate) => Some(gate.lock().await),
            None => None,
        }
    }

    async fn output_types_using(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        workflow_id: &str,
    ) -> StoreResult<Vec<UsedBy>> {
        let rows =
            sqlx::query("SELECT id, name FROM output_types WHERE workflow_id = $1 ORDER BY name")
                .bind(workflow_id)
                .fetch_all(&mut **tx)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(UsedBy {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                })
            })
            .collect()
    }
}

async fn insert_revision(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    wf: &Workflow,
    note: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO workflow_revisions (workflow_id, revision, name, graph, note, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&wf.id)
    .bind(wf.version)
    .bind(&wf.name)
    .bind(to_json_text(&wf.graph)?)
    .bind(note)
    .bind(wf.updated_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn fetch_workflow(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
) -> StoreResult<Option<Workflow>> {
    let sql = format!("SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(&mut **tx).await?;
    row.as_ref().map(workflow_from_row).transpose()
}

pub(super) async fn fetch_output_type(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
) -> StoreResult<Option<OutputTypeRecord>> {
    let sql = format!(
        "SELECT {} FROM output_types WHERE id = $1",
        *OUTPUT_TYPE_SELECT
    );
    let row = sqlx::query(&sql).bind(id).fetch_optional(&mut **tx).await?;
    row.as_ref().map(output_type_from_row).transpose()
}

#[async_trait]
impl Store for SqlStore {
    async fn migrate(&self) -> StoreResult<()> {
        self.migrator()
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Db(e.into()))
    }

    async fn pending_migrations(&self) -> StoreResult<Vec<i64>> {
        // No migrations table yet: nothing applied (an error here is a real one, so it is
        // told apart by asking whether the table exists first).
        let exists = match self.backend {
            Backend::Sqlite => "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            Backend::Postgres => "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name = '_sqlx_migrations'",
        };
        let n: i64 = sqlx::query(exists)
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        let applied: Vec<i64> = if n == 0 {
            Vec::new()
        } else {
            sqlx::query("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| r.try_get::<i64, _>("version"))
                .collect::<Result<_, _>>()?
        };
        Ok(self
            .migrator()
            .iter()
            .map(|m| m.version)
            .filter(|v| !applied.contains(v))
            .collect())
    }

    async fn list_workflows(&self, family: Option<Family>) -> StoreResult<Vec<Workflow>> {
        let rows = match family {
            Some(f) => {
                let sql = format!(
                    "SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE family = $1 ORDER BY name, id"
                );
                sqlx::query(&sql)
                    .bind(enum_text(&f)?)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                let sql = format!("SELECT {WORKFLOW_COLUMNS} FROM workflows ORDER BY name, id");
                sqlx::query(&sql).fetch_all(&self.pool).await?
            }
        };
        rows.iter().map(workflow_from_row).collect()
    }

    async fn get_workflow(&self, id: &str) -> StoreResult<Workflow> {
        let sql = format!("SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => workflow_from_row(&row),
            None => Err(StoreError::NotFound(format!("workflow '{id}'"))),
        }
    }

    async fn create_workflow(
        &self,
        name: &str,
        graph: &Graph,
        note: &str,
    ) -> StoreResult<Workflow> {
        let _write = self.write_gate().await;
        let now = now_ms();
        let wf = Workflow {
            id: new_id(),
            name: name.to_owned(),
            family: graph.family,
            version: 1,
            graph: graph.clone(),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO workflows (id, name, family, version, graph, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&wf.id)
        .bind(&wf.name)
        .bind(family_text(graph)?)
        .bind(wf.version)
        .bind(to_json_text(graph)?)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        insert_revision(&mut tx, &wf, note).await?;
        tx.commit().await?;
        Ok(wf)
    }

    async fn update_workflow(
        &self,
        id: &str,
        expected: i64,
        name: &str,
        graph: &Graph,
        note: &str,
    ) -> StoreResult<Workflow> {
        let _write = self.write_gate().await;
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        // Write first: the conditional UPDATE takes SQLite's write lock before any read, so
        // concurrent savers queue instead of failing on a stale read snapshot.
        let done = sqlx::query(
            "UPDATE workflows SET name = $1, family = $2, graph = $3, version = version + 1, \
             updated_at = $4 WHERE id = $5 AND version = $6",
        )
        .bind(name)
        .bind(family_text(graph)?)
        .bind(to_json_text(graph)?)
        .bind(now)
        .bind(id)
        .bind(expected)
        .execute(&mut *tx)
        .await?;
        let current = fetch_workflow(&mut tx, id).await?;
        if done.rows_affected() == 0 {
            return Err(workflow_conflict(current, id));
        }
        let wf = current.ok_or_else(|| StoreError::NotFound(format!("workflow '{id}'")))?;
        insert_revision(&mut tx, &wf, note).await?;
        tx.commit().await?;
        Ok(wf)
    }

    async fn delete_workflow(&self, id: &str, expected: i64) -> StoreResult<()> {
        let _write = self.write_gate().await;
        let mut tx = self.pool.begin().await?;
        // A no-op write to take the write lock before reading (see update_workflow).
        sqlx::query("UPDATE workflows SET version = version WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let current = fetch_workflow(&mut tx, id).await?;
        match &current {
            Some(wf) if wf.version == expected => {}
            _ => return Err(workflow_conflict(current, id)),
        }
        let users = Self::output_types_using(&mut tx, id).await?;
        if !users.is_empty() {
            return Err(StoreError::InUse {
                what: format!("workflow '{id}'"),
                users,
            });
        }
        sqlx::query("DELETE FROM workflow_revisions WHERE workflow_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM workflows WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_revisions(&self, id: &str) -> StoreResult<Vec<Revision>> {
        self.get_workflow(id).await?;
        let rows = sqlx::query(
            "SELECT workflow_id, revision, name, graph, note, created_at FROM workflow_revisions \
             WHERE workflow_id = $1 ORDER BY revision DESC",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(revision_from_row).collect()
    }

    async fn get_revision(&self, id: &str, revision: i64) -> StoreResult<Revision> {
        let row = sqlx::query(
            "SELECT workflow_id, revision, name, graph, note, created_at FROM workflow_revisions \
             WHERE workflow_id = $1 AND revision = $2",
        )
        .bind(id)
        .bind(revision)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => revision_from_row(&row),
            None => Err(StoreError::NotFound(format!(
                "revision {revision} of workflow '{id}'"
            ))),
        }
    }

    async fn list_output_types(
        &self,
        family: Option<Family>,
    ) -> StoreResult<Vec<OutputTypeRecord>> {
        let rows = match family {
            Some(f) => {
                let sql = format!(
                    "SELECT {} FROM output_types WHERE workflow_family = $1 ORDER BY name, id",
                    *OUTPUT_TYPE_SELECT
                );
                sqlx::query(&sql)
                    .bind(enum_text(&f)?)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                let sql = format!(
                    "SELECT {} FROM output_types ORDER BY name, id",
                    *OUTPUT_TYPE_SELECT
                );
                sqlx::query(&sql).fetch_all(&self.pool).await?
            }
        };
        rows.iter().map(output_type_from_row).collect()
    }

    async fn get_output_type(&self, id: &str) -> StoreResult<OutputTypeRecord> {
        let sql = format!(
            "SELECT {} FROM output_types WHERE id = $1",
            *OUTPUT_TYPE_SELECT
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => output_type_from_row(&row),
            None => Err(StoreError::NotFound(format!("output type '{id}'"))),
        }
    }

    async fn create_output_type(&self, spec: &OutputTypeSpec) -> StoreResult<OutputTypeRecord> {
        let _write = self.write_gate().await;
        let now = now_ms();
        let record = OutputTypeRecord {
            id: new_id(),
            version: 1,
            spec: spec.clone(),
            created_at: now,
            updated_at: now,
        };
        let insert = sqlx::query(
            "INSERT INTO output_types (name, workflow_family, artifact_kind, workflow_id, \
             invocation_overrides, legacy_settings, rollout, fallback_to_legacy, id, version, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        );
        bind_spec(insert, spec)?
            .bind(&record.id)
            .bind(record.version)
            .bind(now)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(record)
    }

    async fn update_output_type(
        &self,
        id: &str,
        expected: i64,
        spec: &OutputTypeSpec,
    ) -> StoreResult<OutputTypeRecord> {
        let _write = self.write_gate().await;
        let mut tx = self.pool.begin().await?;
        let record = update_output_type_in(&mut tx, id, expected, spec).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn delete_output_type(&self, id: &str, expected: i64) -> StoreResult<()> {
        let _write = self.write_gate().await;
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM output_types WHERE id = $1 AND version = $2")
            .bind(id)
            .bind(expected)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            let current = fetch_output_type(&mut tx, id).await?;
            return Err(output_type_conflict(current, id));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn create_token(&self, token_hash: &str, role: Role, label: &str) -> StoreResult<()> {
        let _write = self.write_gate().await;
        sqlx::query(
            "INSERT INTO api_tokens (token_hash, role, label, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(role.as_str())
        .bind(label)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn token_role(&self, token_hash: &str) -> StoreResult<Option<Role>> {
        // Revoked and expired tokens grant nothing.
        let row = sqlx::query(
            "SELECT role FROM api_tokens WHERE token_hash = $1 \
             AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => {
                let role: String = row.try_get("role")?;
                Ok(Some(parse_enum(&role)?))
            }
            None => Ok(None),
        }
    }

    async fn token_label(&self, token_hash: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT label FROM api_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("label")).transpose()?)
    }

    async fn get_meta(&self, key: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("value")).transpose()?)
    }

    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        let _write = self.write_gate().await;
        // Portable upsert: SQLite 3.24+ and PostgreSQL share ON CONFLICT.
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Binds an output type's fields as `$1…$8` (name, workflow_family, artifact_kind,
/// workflow_id, invocation_overrides, legacy_settings, rollout, fallback_to_legacy).
fn bind_spec<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    spec: &'q OutputTypeSpec,
) -> StoreResult<sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>> {
    Ok(query
        .bind(&spec.name)
        .bind(enum_text(&spec.workflow_family)?)
        .bind(enum_text(&spec.artifact_kind)?)
        .bind(&spec.workflow_id)
        .bind(to_json_text(&spec.invocation_overrides)?)
        .bind(to_json_text(&spec.legacy_settings)?)
        .bind(enum_text(&spec.rollout)?)
        .bind(spec.fallback_to_legacy))
}

/// The versioned `UPDATE` of an output type inside `tx`: a stale `expected` is a conflict with
/// the current record. Plain updates and rollout changes share it.
pub(super) async fn update_output_type_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    expected: i64,
    spec: &OutputTypeSpec,
) -> StoreResult<OutputTypeRecord> {
    let update = sqlx::query(
        "UPDATE output_types SET name = $1, workflow_family = $2, artifact_kind = $3, \
         workflow_id = $4, invocation_overrides = $5, legacy_settings = $6, rollout = $7, \
         fallback_to_legacy = $8, version = version + 1, updated_at = $9 \
         WHERE id = $10 AND version = $11",
    );
    let done = bind_spec(update, spec)?
        .bind(now_ms())
        .bind(id)
        .bind(expected)
        .execute(&mut **tx)
        .await?;
    let current = fetch_output_type(tx, id).await?;
    if done.rows_affected() == 0 {
        return Err(output_type_conflict(current, id));
    }
    current.ok_or_else(|| StoreError::NotFound(format!("output type '{id}'")))
}
