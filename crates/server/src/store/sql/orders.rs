//! SQLite implementation of [`OrderStore`] and [`MaterialStore`]. Portable SQL like the rest
//! (`$n`, TEXT JSON, BIGINT unix milliseconds, DOUBLE PRECISION); writers go through the same
//! FIFO write gate.

use super::rows::{from_json_text, newest_page, to_json_text};
use super::SqlStore;
use crate::store::{
    new_id, now_ms, MaterialStore, NewOrderLine, OrderLine, OrderLineFilter, OrderStore,
    StoreError, StoreResult,
};
use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::Row;
use workflow_engine::materials::PbrMaterial;

const ORDER_LINE_COLUMNS: &str = "id, product_id, output_type_id, overrides, quantity, \
    reference, priority, last_run_id, created_at, updated_at";

fn order_line_from_row(row: &AnyRow) -> StoreResult<OrderLine> {
    let overrides: String = row.try_get("overrides")?;
    Ok(OrderLine {
        id: row.try_get("id")?,
        product_id: row.try_get("product_id")?,
        output_type_id: row.try_get("output_type_id")?,
        overrides: from_json_text(&overrides)?,
        quantity: row.try_get("quantity")?,
        reference: row.try_get("reference")?,
        priority: row.try_get("priority")?,
        last_run_id: row.try_get("last_run_id")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn material_from_row(row: &AnyRow) -> StoreResult<PbrMaterial> {
    let base_color: String = row.try_get("base_color")?;
    let emissive: String = row.try_get("emissive")?;
    // Stored as f64 (DOUBLE PRECISION); the engine works in f32.
    let factor = |column: &str| -> StoreResult<f32> { Ok(row.try_get::<f64, _>(column)? as f32) };
    Ok(PbrMaterial {
        name: row.try_get("name")?,
        base_color: from_json_text(&base_color)?,
        metallic: factor("metallic")?,
        roughness: factor("roughness")?,
        emissive: from_json_text(&emissive)?,
        opacity: factor("opacity")?,
    })
}

/// `WHERE` clause and its text binds for an order-line filter.
fn order_line_where(filter: &OrderLineFilter) -> (String, Vec<String>) {
    let mut clauses = Vec::new();
    let mut binds = Vec::new();
    for (column, value) in [
        ("product_id", &filter.product_id),
        ("output_type_id", &filter.output_type_id),
    ] {
        if let Some(v) = value {
            binds.push(v.clone());
            clauses.push(format!("{column} = ${}", binds.len()));
        }
    }
    let sql = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    (sql, binds)
}

#[async_trait]
impl OrderStore for SqlStore {
    async fn create_order_line(&self, line: &NewOrderLine) -> StoreResult<OrderLine> {
        let _write = self.write_gate().await;
        let now = now_ms();
        let record = OrderLine {
            id: new_id(),
            product_id: line.product_id.clone(),
            output_type_id: line.output_type_id.clone(),
            overrides: line.overrides.clone(),
            quantity: line.quantity,
            reference: line.reference.clone(),
            priority: line.priority,
            last_run_id: None,
            created_at: now,
            updated_at: now,
        };
        let sql = format!(
            "INSERT INTO order_lines ({ORDER_LINE_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $8)"
        );
        sqlx::query(&sql)
            .bind(&record.id)
            .bind(&record.product_id)
            .bind(&record.output_type_id)
            .bind(to_json_text(&record.overrides)?)
            .bind(record.quantity)
            .bind(&record.reference)
            .bind(record.priority)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(record)
    }

    async fn get_order_line(&self, id: &str) -> StoreResult<OrderLine> {
        let sql = format!("SELECT {ORDER_LINE_COLUMNS} FROM order_lines WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("order line '{id}'")))?;
        order_line_from_row(&row)
    }

    async fn list_order_lines(
        &self,
        filter: &OrderLineFilter,
    ) -> StoreResult<(Vec<OrderLine>, i64)> {
        let (clause, binds) = order_line_where(filter);
        let (rows, total) = newest_page(
            &self.pool,
            "order_lines",
            ORDER_LINE_COLUMNS,
            (&clause, &binds),
            filter.limit,
            filter.offset,
        )
        .await?;
        let lines = rows
            .iter()
            .map(order_line_from_row)
            .collect::<StoreResult<_>>()?;
        Ok((lines, total))
    }

    async fn set_order_line_run(&self, id: &str, run_id: &str) -> StoreResult<()> {
        let _write = self.write_gate().await;
        let done =
            sqlx::query("UPDATE order_lines SET last_run_id = $1, updated_at = $2 WHERE id = $3")
                .bind(run_id)
                .bind(now_ms())
                .bind(id)
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("order line '{id}'")));
        }
        Ok(())
    }
}

/// Binds a material's columns as `$1`–`$7` (name, colours, factors, time).
fn bind_material<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    m: &'q PbrMaterial,
    now: i64,
) -> StoreResult<sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>> {
    Ok(query
        .bind(&m.name)
        .bind(to_json_text(&m.base_color)?)
        .bind(f64::from(m.metallic))
        .bind(f64::from(m.roughness))
        .bind(to_json_text(&m.emissive)?)
        .bind(f64::from(m.opacity))
        .bind(now))
}

const INSERT_MATERIAL: &str = "INSERT INTO materials (name, base_color, metallic, roughness, \
     emissive, opacity, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)";

#[async_trait]
impl MaterialStore for SqlStore {
    async fn list_materials(&self) -> StoreResult<Vec<PbrMaterial>> {
        let rows = sqlx::query(
            "SELECT name, base_color, metallic, roughness, emissive, opacity FROM materials \
             ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(material_from_row).collect()
    }

    async fn create_material(&self, material: &PbrMaterial) -> StoreResult<()> {
        let _write = self.write_gate().await;
        // Portable "insert unless present": SQLite 3.24+ and PostgreSQL share ON CONFLICT.
        let sql = format!("{INSERT_MATERIAL} ON CONFLICT (name) DO NOTHING");
        let done = bind_material(sqlx::query(&sql), material, now_ms())?
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::AlreadyExists(format!(
                "material '{}'",
                material.name
            )));
        }
        Ok(())
    }

    async fn put_material(&self, material: &PbrMaterial) -> StoreResult<bool> {
        let _write = self.write_gate().await;
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE materials SET base_color = $2, metallic = $3, roughness = $4, emissive = $5, \
             opacity = $6, updated_at = $7 WHERE name = $1",
        );
        let updated = bind_material(updated, material, now)?
            .execute(&mut *tx)
            .await?;
        let created = updated.rows_affected() == 0;
        if created {
            bind_material(sqlx::query(INSERT_MATERIAL), material, now)?
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(created)
    }
}
