//! The review queue and labels: an analyst approves or bans a held account, and labels
//! attempts fraud or legit. Each action is one transaction with its record and its label.

use super::accounts::{account_row, AccountRow};
use super::lists::insert_action;
use super::{Store, StoreError};
use crate::lists::NewEntry;
use sqlx::{Any, Row, Transaction};

/// An account waiting for review, with the rules that held it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// The account.
    pub account: AccountRow,
    /// The attempt that created it.
    pub attempt_id: Option<i64>,
    /// Every rule that fired on it.
    pub codes: Vec<String>,
}

/// An analyst's verdict on an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// It was an attack.
    Fraud,
    /// It was a real user.
    Legit,
}

impl Label {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fraud => "fraud",
            Self::Legit => "legit",
        }
    }

    /// The label named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "fraud" => Some(Self::Fraud),
            "legit" => Some(Self::Legit),
            _ => None,
        }
    }
}

/// What an approve or ban did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The account as it is now.
    pub account: AccountRow,
    /// The block entry a ban added for the device, if asked.
    pub list_entry_id: Option<i64>,
}

impl Store {
    /// Accounts in review, oldest first, `limit` at a time (`after` is the last id seen).
    pub async fn reviews(&self, limit: i64, after: Option<i64>) -> Result<Vec<Review>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.id, a.username, a.account_ref, a.visitor_id, a.review, a.status, a.created_at, \
               (SELECT t.id FROM attempts t WHERE t.account_id = a.id ORDER BY t.id LIMIT 1) AS attempt_id, \
               (SELECT t.codes FROM attempts t WHERE t.account_id = a.id ORDER BY t.id LIMIT 1) AS codes \
             FROM accounts a WHERE a.status = 'review' AND a.id > $1 ORDER BY a.id LIMIT $2",
        )
        .bind(after.unwrap_or(0))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let codes: Option<String> = row.try_get("codes")?;
                Ok(Review {
                    account: account_row(row)?,
                    attempt_id: row.try_get("attempt_id")?,
                    codes: codes
                        .and_then(|c| serde_json::from_str(&c).ok())
                        .unwrap_or_default(),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Clears an account's review (or lifts a ban), labels its attempt legit, and records it.
    /// `None` when there is no such account.
    pub async fn approve(
        &self,
        id: i64,
        actor: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<Option<Resolved>, StoreError> {
        let decision = Resolution {
            status: "active",
            label: Label::Legit,
            block: None,
            report: false,
        };
        self.resolve(id, decision, actor, reason, now_ms).await
    }

    /// Bans an account, labels its attempt fraud, adds `block` (the device's block entry) when
    /// given, queues the label for Fingerprint when `report`, and records it. `None` when there
    /// is no such account.
    pub async fn ban(
        &self,
        id: i64,
        actor: &str,
        reason: &str,
        block: Option<&NewEntry>,
        report: bool,
        now_ms: i64,
    ) -> Result<Option<Resolved>, StoreError> {
        let decision = Resolution {
            status: "banned",
            label: Label::Fraud,
            block,
            report,
        };
        self.resolve(id, decision, actor, reason, now_ms).await
    }

    async fn resolve(
        &self,
        id: i64,
        decision: Resolution<'_>,
        actor: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<Option<Resolved>, StoreError> {
        let Resolution {
            status,
            label,
            block,
            report,
        } = decision;
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE accounts SET status = $2, review = 0 WHERE id = $1 \
             RETURNING id, username, account_ref, visitor_id, review, status, created_at",
        )
        .bind(id)
        .bind(status)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = updated else {
            return Ok(None);
        };
        let account = account_row(&row)?;
        let attempt: Option<i64> =
            sqlx::query("SELECT id FROM attempts WHERE account_id = $1 ORDER BY id LIMIT 1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|row| row.try_get("id"))
                .transpose()?;
        if let Some(attempt_id) = attempt {
            insert_label(&mut tx, attempt_id, label, reason, actor, now_ms, report).await?;
        }
        let action = if status == "banned" { "ban" } else { "approve" };
        insert_action(
            &mut tx,
            actor,
            action,
            &format!("account:{id}"),
            reason,
            now_ms,
        )
        .await?;
        let list_entry_id = match block {
            Some(entry) => Some(
                self.insert_list_entry(&mut tx, entry, actor, now_ms)
                    .await?
                    .id,
            ),
            None => None,
        };
        tx.commit().await?;
        Ok(Some(Resolved {
            account,
            list_entry_id,
        }))
    }

    /// Labels an attempt; the latest label counts. `false` when there is no such attempt.
    pub async fn label_attempt(
        &self,
        attempt_id: i64,
        label: Label,
        reason: &str,
        actor: &str,
        report: bool,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let exists = sqlx::query("SELECT id FROM attempts WHERE id = $1")
            .bind(attempt_id)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !exists {
            return Ok(false);
        }
        insert_label(&mut tx, attempt_id, label, reason, actor, now_ms, report).await?;
        let target = format!("attempt:{attempt_id}");
        insert_action(&mut tx, actor, "label", &target, reason, now_ms).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The latest label of each labelled attempt at or after `since_ms`, by attempt id.
    pub async fn labels(
        &self,
        since_ms: i64,
    ) -> Result<std::collections::HashMap<i64, Label>, StoreError> {
        let rows = sqlx::query(
            "SELECT l.attempt_id, l.label FROM attempt_labels l \
             JOIN attempts a ON a.id = l.attempt_id \
             WHERE a.created_at >= $1 ORDER BY l.id",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        let mut labels = std::collections::HashMap::new();
        for row in rows {
            let label: String = row.try_get("label")?;
            if let Some(label) = Label::parse(&label) {
                // Later rows overwrite earlier ones: the latest label wins.
                labels.insert(row.try_get::<i64, _>("attempt_id")?, label);
            }
        }
        Ok(labels)
    }
}

/// What an approve or ban writes.
struct Resolution<'a> {
    status: &'static str,
    label: Label,
    block: Option<&'a NewEntry>,
    report: bool,
}

/// Writes a label; a fraud label with `report` also queues its event for Fingerprint, in the
/// same transaction.
async fn insert_label(
    tx: &mut Transaction<'static, Any>,
    attempt_id: i64,
    label: Label,
    reason: &str,
    actor: &str,
    now_ms: i64,
    report: bool,
) -> Result<(), StoreError> {
    if report && label == Label::Fraud {
        sqlx::query(
            "INSERT INTO label_reports (event_id, next_at, created_at) \
             SELECT event_id, $2, $2 FROM attempts WHERE id = $1 AND event_id IS NOT NULL",
        )
        .bind(attempt_id)
        .bind(now_ms)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO attempt_labels (attempt_id, label, reason, actor, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(attempt_id)
    .bind(label.as_str())
    .bind(reason)
    .bind(actor)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
