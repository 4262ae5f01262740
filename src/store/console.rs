//! What the analyst console reads and keeps beyond the admin API's queries: its sign-in
//! sessions, one attempt with its label history, the overview's counts and a device's links.
//! Every query is bounded by a limit or a time on an index.

use super::attempts::{attempt_row, COLUMNS};
use super::{AttemptRow, Store, StoreError};
use sqlx::Row;

/// A signed-in analyst, as the console's session table keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// The admin token's name the analyst signed in with.
    pub analyst: String,
    /// The token every form of this session carries.
    pub csrf: String,
    /// When it ends.
    pub expires_at: i64,
}

/// One label given to an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRecord {
    /// `fraud` or `legit`.
    pub label: String,
    /// Why.
    pub reason: String,
    /// Who.
    pub actor: String,
    /// When.
    pub created_at: i64,
}

/// Attempts in one time bucket with one verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerdictCount {
    /// The bucket's index from `since` (0 is the oldest).
    pub bucket: i64,
    /// The verdict.
    pub verdict: String,
    /// How many.
    pub count: i64,
}

/// Another device seen from one of this device's IPs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpNeighbour {
    /// The other device.
    pub visitor_id: String,
    /// The IP they share.
    pub ip: String,
    /// Its attempts among the latest ones from that IP in the window.
    pub attempts: i64,
}

/// The overview's unit of time: the database counts attempts by the minute.
pub const MINUTE_MS: i64 = 60_000;

/// Sessions last at most this long after sign-in.
pub const CONSOLE_SESSION_MS: i64 = 12 * 3600 * 1000;

impl Store {
    /// Records a sign-in; `id` is the SHA-256 of the cookie's token. Expired sessions are
    /// swept at the same time, so the table holds only live ones.
    pub async fn create_console_session(
        &self,
        id: &str,
        analyst: &str,
        csrf: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO console_sessions (id, analyst, csrf, created_at, expires_at, last_seen) \
             VALUES ($1, $2, $3, $4, $5, $4)",
        )
        .bind(id)
        .bind(analyst)
        .bind(csrf)
        .bind(now_ms)
        .bind(now_ms + CONSOLE_SESSION_MS)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The live session with this id, noting that it was seen (at most once a minute, so
    /// reading pages does not write on every request).
    pub async fn console_session(
        &self,
        id: &str,
        now_ms: i64,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        let row = sqlx::query(
            "SELECT analyst, csrf, expires_at, last_seen FROM console_sessions \
             WHERE id = $1 AND expires_at > $2",
        )
        .bind(id)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let last_seen: i64 = row.try_get("last_seen")?;
        if now_ms - last_seen > 60_000 {
            sqlx::query("UPDATE console_sessions SET last_seen = $2 WHERE id = $1")
                .bind(id)
                .bind(now_ms)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(ConsoleSession {
            analyst: row.try_get("analyst")?,
            csrf: row.try_get("csrf")?,
            expires_at: row.try_get("expires_at")?,
        }))
    }

    /// Ends a session (sign-out).
    pub async fn delete_console_session(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM console_sessions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One attempt.
    pub async fn attempt(&self, id: i64) -> Result<Option<AttemptRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM attempts WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(attempt_row).transpose()
    }

    /// Every label an attempt was given, oldest first (the last one counts).
    pub async fn attempt_labels(&self, attempt_id: i64) -> Result<Vec<LabelRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT label, reason, actor, created_at FROM attempt_labels \
             WHERE attempt_id = $1 ORDER BY id LIMIT 100",
        )
        .bind(attempt_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(LabelRecord {
                    label: row.try_get("label")?,
                    reason: row.try_get("reason")?,
                    actor: row.try_get("actor")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Attempts since `since_ms`: counted by bucket of `bucket_ms` and verdict, and how often
    /// each rule fired, most frequent first. Both are whole minutes: the counts are read from
    /// `attempt_minutes`, which the database keeps by minute as it writes each attempt, so the
    /// cost follows the minutes in range, not the attempts (a flood's day is 1,440 minutes,
    /// not 86 million rows). Grouped by distinct set of codes (few), so the JSON arrays are
    /// parsed once per group.
    pub async fn overview_counts(
        &self,
        since_ms: i64,
        bucket_ms: i64,
    ) -> Result<(Vec<VerdictCount>, Vec<(String, i64)>), StoreError> {
        if since_ms % MINUTE_MS != 0 || bucket_ms <= 0 || bucket_ms % MINUTE_MS != 0 {
            return Err(StoreError::Other(format!(
                "the overview counts whole minutes: since {since_ms} and bucket {bucket_ms} ms"
            )));
        }
        let rows = sqlx::query(
            "SELECT (minute - $1) / $2 AS bucket, verdict, codes, CAST(SUM(n) AS BIGINT) AS n \
             FROM attempt_minutes WHERE minute >= $1 \
             GROUP BY (minute - $1) / $2, verdict, codes",
        )
        .bind(since_ms)
        .bind(bucket_ms)
        .fetch_all(&self.pool)
        .await?;
        let mut verdicts = std::collections::BTreeMap::<(i64, String), i64>::new();
        let mut codes = std::collections::HashMap::<String, i64>::new();
        let mut parsed = std::collections::HashMap::<String, Vec<String>>::new();
        for row in &rows {
            let bucket: i64 = row.try_get("bucket")?;
            let verdict: String = row.try_get("verdict")?;
            let set: String = row.try_get("codes")?;
            let n: i64 = row.try_get("n")?;
            *verdicts.entry((bucket, verdict)).or_default() += n;
            let fired = parsed
                .entry(set)
                .or_insert_with_key(|set| serde_json::from_str(set).unwrap_or_default());
            for code in fired.iter() {
                *codes.entry(code.clone()).or_default() += n;
            }
        }
        let verdicts = verdicts
            .into_iter()
            .map(|((bucket, verdict), count)| VerdictCount {
                bucket,
                verdict,
                count,
            })
            .collect();
        let mut codes: Vec<_> = codes.into_iter().collect();
        codes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok((verdicts, codes))
    }

    /// The accounts created from one device, newest first.
    pub async fn device_accounts_list(
        &self,
        visitor_id: &str,
        limit: i64,
    ) -> Result<Vec<super::AccountRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, username, account_ref, visitor_id, review, status, created_at FROM accounts \
             WHERE visitor_id = $1 ORDER BY created_at DESC LIMIT $2",
        )
        .bind(visitor_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(super::accounts::account_row)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Other devices seen from these IPs since `since_ms`, among the latest `scan` attempts
    /// from each, most attempts first. The bound keeps the device page fast after a flood from
    /// one address: counting all of its attempts in the window read every one of them (0.7 s
    /// on SQLite, 0.3 s on PostgreSQL at 300,000), and grew with the flood.
    pub async fn ip_neighbours(
        &self,
        ips: &[String],
        visitor_id: &str,
        since_ms: i64,
        scan: i64,
        limit: i64,
    ) -> Result<Vec<IpNeighbour>, StoreError> {
        let mut found = Vec::new();
        for ip in ips {
            let rows = sqlx::query(
                "SELECT visitor_id, COUNT(*) AS n FROM (SELECT visitor_id FROM attempts \
                   WHERE ip = $1 AND created_at >= $2 ORDER BY created_at DESC, id DESC \
                   LIMIT $5) recent \
                 WHERE visitor_id IS NOT NULL AND visitor_id <> $3 \
                 GROUP BY visitor_id ORDER BY COUNT(*) DESC, visitor_id LIMIT $4",
            )
            .bind(ip)
            .bind(since_ms)
            .bind(visitor_id)
            .bind(limit)
            .bind(scan)
            .fetch_all(&self.pool)
            .await?;
            for row in rows {
                found.push(IpNeighbour {
                    visitor_id: row.try_get("visitor_id")?,
                    ip: ip.clone(),
                    attempts: row.try_get("n")?,
                });
            }
        }
        found.sort_by_key(|n| std::cmp::Reverse(n.attempts));
        found.truncate(limit as usize);
        Ok(found)
    }

    /// Devices other than `visitor_id` among the latest `scan` attempts whose recorded
    /// snapshot names this high-recall id. The id lives inside the snapshot's JSON, which has
    /// no index, so the search reads a bounded window of recent attempts.
    pub async fn high_recall_neighbours(
        &self,
        high_recall_id: &str,
        visitor_id: &str,
        scan: i64,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT visitor_id FROM (SELECT visitor_id, signals FROM attempts \
               ORDER BY id DESC LIMIT $1) recent \
             WHERE visitor_id IS NOT NULL AND visitor_id <> $2 AND signals LIKE $3 LIMIT 20",
        )
        .bind(scan)
        .bind(visitor_id)
        .bind(format!(
            "%{}%",
            high_recall_id.replace(['%', '_', '\\'], "")
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok(row.try_get("visitor_id")?))
            .collect()
    }

    /// Expires a list entry now, recording who and why. Whether there was one still in force.
    pub async fn expire_list_entry(
        &self,
        id: i64,
        actor: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let expired = sqlx::query(
            "UPDATE list_entries SET expires_at = $2 \
             WHERE id = $1 AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if expired {
            super::lists::lists_changed(&mut tx).await?;
            let target = format!("list:{id}");
            super::lists::insert_action(&mut tx, actor, "list_expire", &target, reason, now_ms)
                .await?;
        }
        tx.commit().await?;
        Ok(expired)
    }
}
