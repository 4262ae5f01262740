//! Attempt counters for the velocity rules: one row per key (the rule, its window length and
//! the value counted) and fixed window. An attempt adds one to each of its keys in one
//! statement and reads back the new counts. The upsert locks each row it adds to (PostgreSQL's
//! row lock, SQLite's single writer), so concurrent attempts on any number of instances each
//! get a number of their own: with a threshold of 5, exactly five see a count of 5 or less.

use super::{Store, StoreError};
use sqlx::Row;

/// One counter to add an attempt to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    /// The key: the rule, its window length and the value counted.
    pub name: String,
    /// When the window began (ms since the epoch).
    pub window_start: i64,
    /// When it ends: the row can go then.
    pub expires_at: i64,
}

impl Store {
    /// Adds one attempt to each counter, in one statement, and answers each new count in the
    /// order given. The names must differ.
    pub async fn count_attempt(&self, counters: &[Counter]) -> Result<Vec<i64>, StoreError> {
        if counters.is_empty() {
            return Ok(Vec::new());
        }
        // Rows are locked in the order written: the same order everywhere, so two attempts
        // sharing keys wait for each other rather than deadlock.
        let mut sorted: Vec<&Counter> = counters.iter().collect();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        let values: Vec<String> = (0..sorted.len())
            .map(|i| format!("(${}, ${}, ${}, 1)", 3 * i + 1, 3 * i + 2, 3 * i + 3))
            .collect();
        let sql = format!(
            "INSERT INTO velocity_counters (name, window_start, expires_at, hits) VALUES {} \
             ON CONFLICT (name, window_start) DO UPDATE SET hits = velocity_counters.hits + 1 \
             RETURNING name, hits",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for counter in &sorted {
            query = query
                .bind(&counter.name)
                .bind(counter.window_start)
                .bind(counter.expires_at);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut counts = Vec::with_capacity(counters.len());
        for counter in counters {
            let row = rows
                .iter()
                .find(|r| r.try_get::<String, _>("name").ok().as_deref() == Some(&counter.name))
                .ok_or_else(|| StoreError::Other(format!("no count for {}", counter.name)))?;
            counts.push(row.try_get("hits")?);
        }
        Ok(counts)
    }

    /// Deletes the counters of windows ended by `now_ms`; answers how many.
    pub async fn prune_counters(&self, now_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM velocity_counters WHERE expires_at <= $1")
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Whether the pool was closed (the service is stopping): background tasks end then.
    pub fn is_closed(&self) -> bool {
        self.pool.is_closed()
    }
}
