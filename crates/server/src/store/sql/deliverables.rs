//! SQLite implementation of [`DeliverableStore`]. Portable SQL like the rest; writers go
//! through the same FIFO write gate.

use super::rows::{enum_text, flag, from_json_text, parse_enum, select_list, to_json_text};
use super::SqlStore;
use crate::store::{
    new_id, now_ms, DeliverableRecord, DeliverableStore, NewPublication, NotificationFilter,
    NotificationRecord, PublishOutcome, StoreError, StoreResult,
};
use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::sync::LazyLock;
use workflow_engine::modules::{deliverable_conflicts, Deliverable};

const DELIVERABLE_COLUMNS: &str =
    "id, product_id, order_line_id, run_id, node_id, name, role, artifact_id, created_at";
const NOTIFICATION_COLUMNS: &str =
    "id, order_line_id, product_id, run_id, deliverables, created_at, delivered, delivered_at";

/// [`NOTIFICATION_COLUMNS`] as selected (booleans as integers).
static NOTIFICATION_SELECT: LazyLock<String> =
    LazyLock::new(|| select_list(NOTIFICATION_COLUMNS, &["delivered"]));

fn deliverable_from_row(row: &AnyRow) -> StoreResult<DeliverableRecord> {
    let role: String = row.try_get("role")?;
    Ok(DeliverableRecord {
        id: row.try_get("id")?,
        product_id: row.try_get("product_id")?,
        order_line_id: row.try_get("order_line_id")?,
        run_id: row.try_get("run_id")?,
        node_id: row.try_get("node_id")?,
        name: row.try_get("name")?,
        role: parse_enum(&role)?,
        artifact_id: row.try_get("artifact_id")?,
        created_at: row.try_get("created_at")?,
    })
}

fn notification_from_row(row: &AnyRow) -> StoreResult<NotificationRecord> {
    let names: String = row.try_get("deliverables")?;
    Ok(NotificationRecord {
        id: row.try_get("id")?,
        order_line_id: row.try_get("order_line_id")?,
        product_id: row.try_get("product_id")?,
        run_id: row.try_get("run_id")?,
        deliverables: from_json_text(&names)?,
        created_at: row.try_get("created_at")?,
        delivered: flag(row, "delivered")?,
        delivered_at: row.try_get("delivered_at")?,
    })
}

/// `WHERE` clause and binds for a notification filter (`delivered` is bound as a boolean).
fn notification_where(filter: &NotificationFilter) -> String {
    let mut clauses = Vec::new();
    let mut n = 0;
    if filter.delivered.is_some() {
        n += 1;
        clauses.push(format!("delivered = ${n}"));
    }
    if filter.order_line_id.is_some() {
        n += 1;
        clauses.push(format!("order_line_id = ${n}"));
    }
    if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    }
}

fn bind_filter<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    filter: &'q NotificationFilter,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    if let Some(d) = filter.delivered {
        query = query.bind(d);
    }
    if let Some(line) = &filter.order_line_id {
        query = query.bind(line);
    }
    query
}

#[async_trait]
impl DeliverableStore for SqlStore {
    async fn publish_deliverables(&self, p: &NewPublication) -> StoreResult<PublishOutcome> {
        let _write = self.write_gate().await;
        let mut tx = self.pool.begin().await?;
        let mut existing = Vec::new();
        for d in &p.deliverables {
            // The same order line delivering again (a re-run after a fix) replaces its own
            // deliverable; only another order line's (or a line-less run's) is a conflict.
            // The same run publishing again (its job re-run after its worker died) is never a
            // conflict either: publish is idempotent per run.
            let found = sqlx::query(
                "SELECT id FROM deliverables WHERE product_id = $1 AND name = $2 \
                 AND (order_line_id IS NULL OR $3 IS NULL OR order_line_id <> $3) \
                 AND run_id <> $4",
            )
            .bind(&p.product_id)
            .bind(&d.name)
            .bind(&p.order_line_id)
            .bind(&p.run_id)
            .fetch_optional(&mut *tx)
            .await?;
            if found.is_some() {
                existing.push(d.name.clone());
            }
        }
        let as_engine: Vec<Deliverable> = p
            .deliverables
            .iter()
            .map(|d| Deliverable {
                name: d.name.clone(),
                role: d.role,
                artifact_id: d.artifact_id.clone(),
            })
            .collect();
        let conflicts =
            deliverable_conflicts(&as_engine, |name| existing.iter().any(|e| e == name));
        if !p.overwrite && !conflicts.is_empty() {
            return Ok(PublishOutcome::Exists(conflicts));
        }
        let now = now_ms();
        let mut replaced = Vec::new();
        for d in &p.deliverables {
            // Already published by an earlier attempt of this run: the same record, now
            // naming this attempt's artifact.
            let own = sqlx::query(
                "UPDATE deliverables SET artifact_id = $1, role = $2, node_id = $3 \
                 WHERE product_id = $4 AND name = $5 AND run_id = $6",
            )
            .bind(&d.artifact_id)
            .bind(enum_text(&d.role)?)
            .bind(&p.node_id)
            .bind(&p.product_id)
            .bind(&d.name)
            .bind(&p.run_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if own > 0 {
                continue;
            }
            let gone = sqlx::query("DELETE FROM deliverables WHERE product_id = $1 AND name = $2")
                .bind(&p.product_id)
                .bind(&d.name)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if gone > 0 && !replaced.contains(&d.name) {
                replaced.push(d.name.clone());
            }
            let sql = format!(
                "INSERT INTO deliverables ({DELIVERABLE_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            );
            sqlx::query(&sql)
                .bind(new_id())
                .bind(&p.product_id)
                .bind(&p.order_line_id)
                .bind(&p.run_id)
                .bind(&p.node_id)
                .bind(&d.name)
                .bind(enum_text(&d.role)?)
                .bind(&d.artifact_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        // One notification per run: an earlier attempt's stands.
        let earlier = if p.notify {
            sqlx::query(
                "SELECT id FROM notifications WHERE run_id = $1 ORDER BY created_at LIMIT 1",
            )
            .bind(&p.run_id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get::<String, _>("id"))
            .transpose()?
        } else {
            None
        };
        let notification_id = if let Some(id) = earlier {
            Some(id)
        } else if p.notify {
            let id = new_id();
            let names: Vec<&str> = p.deliverables.iter().map(|d| d.name.as_str()).collect();
            let sql = format!(
                "INSERT INTO notifications ({NOTIFICATION_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)"
            );
            sqlx::query(&sql)
                .bind(&id)
                .bind(&p.order_line_id)
                .bind(&p.product_id)
                .bind(&p.run_id)
                .bind(to_json_text(&names)?)
                .bind(now)
                .bind(false)
                .execute(&mut *tx)
                .await?;
            Some(id)
        } else {
            None
        };
        tx.commit().await?;
        Ok(PublishOutcome::Published {
            replaced,
            notification_id,
        })
    }

    async fn list_deliverables(&self, product_id: &str) -> StoreResult<Vec<DeliverableRecord>> {
        let sql = format!(
            "SELECT {DELIVERABLE_COLUMNS} FROM deliverables WHERE product_id = $1 ORDER BY name"
        );
        let rows = sqlx::query(&sql)
            .bind(product_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(deliverable_from_row).collect()
    }

    async fn list_notifications(
        &self,
        filter: &NotificationFilter,
    ) -> StoreResult<(Vec<NotificationRecord>, i64)> {
        let clause = notification_where(filter);
        let count_sql = format!("SELECT COUNT(*) AS n FROM notifications{clause}");
        let total: i64 = bind_filter(sqlx::query(&count_sql), filter)
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        let n =
            usize::from(filter.delivered.is_some()) + usize::from(filter.order_line_id.is_some());
        let sql = format!(
            "SELECT {} FROM notifications{clause} \
             ORDER BY created_at, id LIMIT ${} OFFSET ${}",
            *NOTIFICATION_SELECT,
            n + 1,
            n + 2
        );
        let rows = bind_filter(sqlx::query(&sql), filter)
            .bind(filter.limit)
            .bind(filter.offset)
            .fetch_all(&self.pool)
            .await?;
        let items = rows
            .iter()
            .map(notification_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((items, total))
    }

    async fn mark_notification_delivered(&self, id: &str) -> StoreResult<NotificationRecord> {
        let _write = self.write_gate().await;
        sqlx::query(
            "UPDATE notifications SET delivered = $1, delivered_at = $2 \
             WHERE id = $3 AND delivered = $4",
        )
        .bind(true)
        .bind(now_ms())
        .bind(id)
        .bind(false)
        .execute(&self.pool)
        .await?;
        let sql = format!(
            "SELECT {} FROM notifications WHERE id = $1",
            *NOTIFICATION_SELECT
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("notification '{id}'")))?;
        notification_from_row(&row)
    }
}
