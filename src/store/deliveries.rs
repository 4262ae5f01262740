//! The decision-webhook outbox: a row per delivery, written with its attempt. Instances claim
//! due rows with a lease, so each delivery is sent by one of them at a time.

use super::attempts::{attempt_row, AttemptRow, NewAttempt, COLUMNS};
use super::{Backend, Store, StoreError};
use sqlx::Row;

/// A delivery's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Not yet accepted by the receiver; retried until the window closes.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// The retry window closed first.
    Failed,
}

impl DeliveryStatus {
    /// The stored and listed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    /// The status named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A delivery and the attempt it announces.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The delivery id, sent as `signup-guard-delivery` for the receiver to dedupe on.
    pub id: String,
    /// See [`DeliveryStatus`].
    pub status: String,
    /// Sends so far.
    pub tries: i64,
    /// When the next send is due.
    pub next_at: i64,
    /// Why the last send failed.
    pub last_error: Option<String>,
    /// When it was written.
    pub created_at: i64,
    /// When the receiver accepted it.
    pub delivered_at: Option<i64>,
    /// The attempt.
    pub attempt: AttemptRow,
}

impl Store {
    pub(super) async fn insert_deliveries(
        &self,
        connection: &mut sqlx::AnyConnection,
        attempts: &[&NewAttempt],
    ) -> Result<(), StoreError> {
        for attempt in attempts {
            let Some(id) = &attempt.delivery_id else {
                continue;
            };
            sqlx::query(
                "INSERT INTO webhook_deliveries (id, status, next_at, created_at) \
                 VALUES ($1, 'pending', $2, $2)",
            )
            .bind(id)
            .bind(attempt.created_at)
            .execute(&mut *connection)
            .await?;
        }
        Ok(())
    }

    /// Takes up to `limit` due deliveries for `lease_ms`, oldest first. Rows another instance
    /// holds are skipped, not waited for.
    pub async fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError> {
        let skip_locked = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            // One writer at a time: the UPDATE below is the lock.
            Backend::Sqlite => "",
        };
        let claimed = sqlx::query(&format!(
            "UPDATE webhook_deliveries SET lease_until = $1 + $2 \
             WHERE id IN (SELECT id FROM webhook_deliveries \
                          WHERE status = 'pending' AND next_at <= $1 AND lease_until <= $1 \
                          ORDER BY next_at LIMIT $3{skip_locked}) \
             RETURNING id"
        ))
        .bind(now_ms)
        .bind(lease_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut deliveries = Vec::with_capacity(claimed.len());
        for row in claimed {
            let id: String = row.try_get("id")?;
            if let Some(delivery) = self.delivery(&id).await? {
                deliveries.push(delivery);
            }
        }
        Ok(deliveries)
    }

    /// One delivery with its attempt.
    pub async fn delivery(&self, id: &str) -> Result<Option<Delivery>, StoreError> {
        let sql = format!(
            "SELECT d.status AS d_status, d.tries AS d_tries, d.next_at AS d_next_at, \
               d.last_error AS d_last_error, d.created_at AS d_created_at, \
               d.delivered_at AS d_delivered_at, a.* \
             FROM webhook_deliveries d JOIN (SELECT {COLUMNS} FROM attempts) a \
               ON a.delivery_id = d.id WHERE d.id = $1"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| delivery_row(id.to_owned(), &row)).transpose()
    }

    /// The receiver took it.
    pub async fn delivered(&self, id: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE webhook_deliveries SET status = 'delivered', tries = tries + 1, \
               delivered_at = $2, lease_until = 0, last_error = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A send failed: try again at `next_at`, or give up (`failed`) when that is past the
    /// retry window.
    pub async fn delivery_failed(
        &self,
        id: &str,
        error: &str,
        next_at: Option<i64>,
    ) -> Result<(), StoreError> {
        let (status, next_at) = match next_at {
            Some(at) => (DeliveryStatus::Pending, at),
            None => (DeliveryStatus::Failed, 0),
        };
        sqlx::query(
            "UPDATE webhook_deliveries SET status = $2, tries = tries + 1, next_at = $3, \
               lease_until = 0, last_error = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(status.as_str())
        .bind(next_at)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deliveries in one status (or every one not delivered), newest first, `limit` at a time
    /// (`before` is the last attempt id seen: unique, unlike a time).
    pub async fn list_deliveries(
        &self,
        status: Option<DeliveryStatus>,
        limit: i64,
        before: Option<i64>,
    ) -> Result<Vec<Delivery>, StoreError> {
        // Driven from the deliveries by their status index (CROSS JOIN fixes SQLite's join
        // order; PostgreSQL plans it alike): joined the other way round, the newest-first
        // order walked every attempt, 0.2 s at 100,000 of them.
        let (first, second) = match status {
            Some(status) => (status.as_str(), status.as_str()),
            None => (
                DeliveryStatus::Pending.as_str(),
                DeliveryStatus::Failed.as_str(),
            ),
        };
        let rows = sqlx::query(
            "SELECT d.id FROM webhook_deliveries d CROSS JOIN attempts a \
             WHERE a.delivery_id = d.id AND d.status IN ($1, $4) AND a.id < $2 \
             ORDER BY a.id DESC LIMIT $3",
        )
        .bind(first)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .bind(second)
        .fetch_all(&self.pool)
        .await?;
        let mut deliveries = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get("id")?;
            if let Some(delivery) = self.delivery(&id).await? {
                deliveries.push(delivery);
            }
        }
        Ok(deliveries)
    }

    /// Deliveries not yet accepted nor given up: the outbox backlog.
    pub async fn pending_deliveries(&self) -> Result<i64, StoreError> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'pending'")
                .fetch_one(&self.pool)
                .await?;
        Ok(row.try_get("n")?)
    }
}

fn delivery_row(id: String, row: &sqlx::any::AnyRow) -> Result<Delivery, StoreError> {
    Ok(Delivery {
        id,
        status: row.try_get("d_status")?,
        tries: row.try_get("d_tries")?,
        next_at: row.try_get("d_next_at")?,
        last_error: row.try_get("d_last_error")?,
        created_at: row.try_get("d_created_at")?,
        delivered_at: row.try_get("d_delivered_at")?,
        attempt: attempt_row(row)?,
    })
}
