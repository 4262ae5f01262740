//! The outbox of fraud labels to report to Fingerprint. Rows are leased like decision
//! webhooks, so each report is sent by one instance at a time.

use super::{Backend, Store, StoreError};
use sqlx::Row;

/// A report due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelReport {
    /// Its row id.
    pub id: i64,
    /// The event to report suspect.
    pub event_id: String,
    /// Sends so far.
    pub tries: i64,
    /// When it was queued.
    pub created_at: i64,
}

/// A report not yet accepted by Fingerprint, as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsentLabelReport {
    /// Its row id.
    pub id: i64,
    /// The event reported suspect.
    pub event_id: String,
    /// `pending` (being retried) or `failed` (given up).
    pub status: String,
    /// Sends so far.
    pub tries: i64,
    /// The next try, while pending.
    pub next_at: i64,
    /// What the last try met.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: i64,
}

impl Store {
    /// The newest `limit` reports still pending or given up: the outbox's backlog, which stays
    /// short (read through the status index).
    pub async fn unsent_label_reports(
        &self,
        limit: i64,
    ) -> Result<Vec<UnsentLabelReport>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, event_id, status, tries, next_at, last_error, created_at FROM label_reports \
             WHERE status IN ('pending', 'failed') ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(UnsentLabelReport {
                    id: row.try_get("id")?,
                    event_id: row.try_get("event_id")?,
                    status: row.try_get("status")?,
                    tries: row.try_get("tries")?,
                    next_at: row.try_get("next_at")?,
                    last_error: row.try_get("last_error")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Takes up to `limit` due reports for `lease_ms`.
    pub async fn claim_label_reports(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<LabelReport>, StoreError> {
        let skip_locked = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let rows = sqlx::query(&format!(
            "UPDATE label_reports SET lease_until = $1 + $2 \
             WHERE id IN (SELECT id FROM label_reports \
                          WHERE status = 'pending' AND next_at <= $1 AND lease_until <= $1 \
                          ORDER BY next_at LIMIT $3{skip_locked}) \
             RETURNING id, event_id, tries, created_at"
        ))
        .bind(now_ms)
        .bind(lease_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(LabelReport {
                    id: row.try_get("id")?,
                    event_id: row.try_get("event_id")?,
                    tries: row.try_get("tries")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Records a try: `sent`, retried at `next_at`, or given up (`failed`).
    pub async fn label_report_tried(
        &self,
        id: i64,
        outcome: Result<(), (String, Option<i64>)>,
    ) -> Result<(), StoreError> {
        let (status, next_at, error) = match outcome {
            Ok(()) => ("sent", 0, None),
            Err((error, Some(at))) => ("pending", at, Some(error)),
            Err((error, None)) => ("failed", 0, Some(error)),
        };
        sqlx::query(
            "UPDATE label_reports SET status = $2, tries = tries + 1, next_at = $3, \
               lease_until = 0, last_error = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(status)
        .bind(next_at)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
