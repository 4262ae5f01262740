//! List entries and the record of analysts' actions. Every change bumps the shared list
//! version and records its action in the same transaction.

use super::{Store, StoreError};
use crate::lists::NewEntry;
use crate::policy::Action;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

/// A stored list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// Its id.
    pub id: i64,
    /// `visitor_id`, `ip`, `email_domain` or `email`.
    pub kind: String,
    /// The normalised value.
    pub value: String,
    /// What it asks for.
    pub action: Action,
    /// Why.
    pub reason: String,
    /// When it stops applying.
    pub expires_at: Option<i64>,
    /// The analyst who added it.
    pub created_by: String,
    /// When.
    pub created_at: i64,
}

/// Something an analyst did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalystAction {
    /// Its id, also the pagination cursor.
    pub id: i64,
    /// Who: the admin token's name.
    pub actor: String,
    /// What: `list_add`, `list_remove`, ...
    pub action: String,
    /// On what: `list:<id>`, `account:<id>`, ...
    pub target: String,
    /// Why.
    pub reason: String,
    /// When.
    pub created_at: i64,
}

const ENTRY_COLUMNS: &str = "id, kind, value, action, reason, expires_at, created_by, created_at";

impl Store {
    /// Adds an entry, recording who and why.
    pub async fn add_list_entry(
        &self,
        entry: &NewEntry,
        actor: &str,
        now_ms: i64,
    ) -> Result<ListEntry, StoreError> {
        let mut tx = self.pool.begin().await?;
        let added = self
            .insert_list_entry(&mut tx, entry, actor, now_ms)
            .await?;
        let target = format!("list:{}", added.id);
        insert_action(&mut tx, actor, "list_add", &target, &entry.reason, now_ms).await?;
        tx.commit().await?;
        Ok(added)
    }

    /// Inserts an entry and bumps the lists' version, inside the caller's transaction.
    pub(super) async fn insert_list_entry(
        &self,
        tx: &mut Transaction<'static, Any>,
        entry: &NewEntry,
        actor: &str,
        now_ms: i64,
    ) -> Result<ListEntry, StoreError> {
        let row = sqlx::query(&format!(
            "INSERT INTO list_entries (kind, value, action, reason, expires_at, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {ENTRY_COLUMNS}"
        ))
        .bind(entry.kind.as_str())
        .bind(&entry.value)
        .bind(entry.action.as_str())
        .bind(&entry.reason)
        .bind(entry.expires_at)
        .bind(actor)
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?;
        lists_changed(tx).await?;
        entry_row(&row)
    }

    /// Removes an entry, recording who and why. Whether there was one.
    pub async fn remove_list_entry(
        &self,
        id: i64,
        actor: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let removed = sqlx::query("DELETE FROM list_entries WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if removed {
            lists_changed(&mut tx).await?;
            insert_action(
                &mut tx,
                actor,
                "list_remove",
                &format!("list:{id}"),
                reason,
                now_ms,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    /// Entries, newest first, optionally of one kind and value.
    pub async fn list_entries(
        &self,
        kind: Option<&str>,
        value: Option<&str>,
        limit: i64,
        before: Option<i64>,
    ) -> Result<Vec<ListEntry>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ENTRY_COLUMNS} FROM list_entries \
             WHERE ($1 = '' OR kind = $1) AND ($2 = '' OR value = $2) AND id < $3 \
             ORDER BY id DESC LIMIT $4"
        ))
        .bind(kind.unwrap_or_default())
        .bind(value.unwrap_or_default())
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_row).collect()
    }

    /// Every entry not expired at `now_ms`, for an instance's in-memory copy.
    pub async fn active_list_entries(&self, now_ms: i64) -> Result<Vec<ListEntry>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ENTRY_COLUMNS} FROM list_entries WHERE expires_at IS NULL OR expires_at > $1"
        ))
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_row).collect()
    }

    /// The lists' version: it moves with every change.
    pub async fn list_version(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT version FROM list_version WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("version")?)
    }

    /// Analysts' actions, newest first.
    pub async fn list_actions(
        &self,
        limit: i64,
        before: Option<i64>,
    ) -> Result<Vec<AnalystAction>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, actor, action, target, reason, created_at FROM analyst_actions \
             WHERE id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AnalystAction {
                    id: row.try_get("id")?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    target: row.try_get("target")?,
                    reason: row.try_get("reason")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }
}

pub(super) async fn lists_changed(tx: &mut Transaction<'static, Any>) -> Result<(), StoreError> {
    sqlx::query("UPDATE list_version SET version = version + 1 WHERE id = 1")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub(super) async fn insert_action(
    tx: &mut Transaction<'static, Any>,
    actor: &str,
    action: &str,
    target: &str,
    reason: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO analyst_actions (actor, action, target, reason, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(actor)
    .bind(action)
    .bind(target)
    .bind(reason)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn entry_row(row: &AnyRow) -> Result<ListEntry, StoreError> {
    let action: String = row.try_get("action")?;
    Ok(ListEntry {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        value: row.try_get("value")?,
        action: match action.as_str() {
            "allow" => Action::Allow,
            "review" => Action::Review,
            _ => Action::Block,
        },
        reason: row.try_get("reason")?,
        expires_at: row.try_get("expires_at")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
    })
}
