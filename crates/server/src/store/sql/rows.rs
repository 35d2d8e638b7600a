//! Mapping between rows and domain records: JSON and enum columns as text, and the conflict
//! errors that carry the current record back to the client.

use crate::store::{OutputTypeRecord, Revision, StoreError, StoreResult, Workflow};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use workflow_contracts::output_type::OutputTypeSpec;
use workflow_contracts::Graph;

pub(super) fn to_json_text(value: &impl Serialize) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn from_json_text<T: DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A unit enum's wire name (`order_line`), for text columns.
pub(super) fn enum_text(value: &impl Serialize) -> StoreResult<String> {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => Ok(s),
        Ok(other) => Err(StoreError::Corrupt(format!("not a unit enum: {other}"))),
        Err(e) => Err(StoreError::Corrupt(e.to_string())),
    }
}

/// A SELECT list for `columns` with each boolean column read as an integer: sqlx's `Any`
/// driver cannot map SQLite's BOOLEAN columns, and both databases cast booleans to integers.
pub(super) fn select_list(columns: &str, flags: &[&str]) -> String {
    columns
        .split(',')
        .map(str::trim)
        .map(|c| {
            if flags.contains(&c) {
                format!("CAST({c} AS INTEGER) AS {c}")
            } else {
                c.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One page of `SELECT {columns} FROM {table}{clause}`, newest first (`created_at`, then `id`),
/// with the count of every matching row. `clause` is a `WHERE` over `$1…$n` text binds.
pub(super) async fn newest_page(
    pool: &AnyPool,
    table: &str,
    columns: &str,
    (clause, binds): (&str, &[String]),
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<AnyRow>, i64)> {
    let count_sql = format!("SELECT COUNT(*) AS n FROM {table}{clause}");
    let mut count = sqlx::query(&count_sql);
    for b in binds {
        count = count.bind(b);
    }
    let total: i64 = count.fetch_one(pool).await?.try_get("n")?;
    let n = binds.len();
    let sql = format!(
        "SELECT {columns} FROM {table}{clause} \
         ORDER BY created_at DESC, id DESC LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let mut query = sqlx::query(&sql);
    for b in binds {
        query = query.bind(b);
    }
    let rows = query.bind(limit).bind(offset).fetch_all(pool).await?;
    Ok((rows, total))
}

/// A boolean column selected through [`select_list`].
pub(super) fn flag(row: &AnyRow, column: &str) -> StoreResult<bool> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

pub(super) fn parse_enum<T: DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_value(Value::String(text.to_owned()))
        .map_err(|e| StoreError::Corrupt(format!("{text}: {e}")))
}

pub(super) fn workflow_from_row(row: &AnyRow) -> StoreResult<Workflow> {
    let family: Option<String> = row.try_get("family")?;
    Ok(Workflow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        family: family.as_deref().map(parse_enum).transpose()?,
        version: row.try_get("version")?,
        graph: from_json_text(row.try_get("graph")?)?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) fn revision_from_row(row: &AnyRow) -> StoreResult<Revision> {
    Ok(Revision {
        workflow_id: row.try_get("workflow_id")?,
        revision: row.try_get("revision")?,
        name: row.try_get("name")?,
        graph: from_json_text(row.try_get("graph")?)?,
        note: row.try_get("note")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) fn output_type_from_row(row: &AnyRow) -> StoreResult<OutputTypeRecord> {
    let spec = OutputTypeSpec {
        name: row.try_get("name")?,
        workflow_family: parse_enum(row.try_get("workflow_family")?)?,
        artifact_kind: parse_enum(row.try_get("artifact_kind")?)?,
        workflow_id: row.try_get("workflow_id")?,
        invocation_overrides: from_json_text(row.try_get("invocation_overrides")?)?,
        legacy_settings: from_json_text(row.try_get("legacy_settings")?)?,
        rollout: parse_enum(row.try_get("rollout")?)?,
        fallback_to_legacy: flag(row, "fallback_to_legacy")?,
    };
    Ok(OutputTypeRecord {
        id: row.try_get("id")?,
        version: row.try_get("version")?,
        spec,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) fn family_text(graph: &Graph) -> StoreResult<Option<String>> {
    graph.family.as_ref().map(enum_text).transpose()
}

pub(super) fn workflow_conflict(current: Option<Workflow>, id: &str) -> StoreError {
    match current {
        None => StoreError::NotFound(format!("workflow '{id}'")),
        Some(wf) => StoreError::Conflict {
            what: format!("workflow '{id}'"),
            current_version: wf.version,
            current: serde_json::to_value(&wf).unwrap_or(Value::Null),
        },
    }
}

pub(super) fn output_type_conflict(current: Option<OutputTypeRecord>, id: &str) -> StoreError {
    match current {
        None => StoreError::NotFound(format!("output type '{id}'")),
        Some(ot) => StoreError::Conflict {
            what: format!("output type '{id}'"),
            current_version: ot.version,
            current: serde_json::to_value(&ot).unwrap_or(Value::Null),
        },
    }
}
