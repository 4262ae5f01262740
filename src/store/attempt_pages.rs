//! The audit trail read back a page at a time, for the console and the admin API.

use super::attempts::{attempt_row, AttemptRow, COLUMNS};
use super::{Store, StoreError};
use sqlx::Row;

/// Which attempts to list.
#[derive(Debug, Clone, Default)]
pub struct AttemptFilter {
    /// Only this verdict.
    pub verdict: Option<String>,
    /// Only attempts where this code fired or was answered.
    pub code: Option<String>,
    /// Only attempts at or after this time.
    pub since_ms: Option<i64>,
    /// Only attempts with a smaller id (the pagination cursor).
    pub before: Option<i64>,
    /// Only attempts from this device.
    pub visitor_id: Option<String>,
    /// Only attempts from this client IP.
    pub ip: Option<String>,
    /// Only attempts with this username, as typed.
    pub username: Option<String>,
    /// Only attempts that named this event.
    pub event_id: Option<String>,
    /// Only attempts before this time.
    pub until_ms: Option<i64>,
}

/// One page of attempts, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptPage {
    /// The attempts that matched, at most the page's limit.
    pub attempts: Vec<AttemptRow>,
    /// Where the next page starts (its `before`): the last attempt's id on a full page, or
    /// the lowest id of the window a bounded search read when it stopped short; `None` when
    /// nothing older can match.
    pub next_before: Option<i64>,
}

/// How many attempts one page of a verdict or code search reads at most. Neither column has
/// an index of its own (every refused row would pay for it), so a rare value after a flood
/// read every attempt: 0.4 s a page at 300,000 on either backend, and growing with the flood.
pub const SEARCH_SCAN: i64 = 20_000;

#[derive(Clone)]
enum Value {
    Int(i64),
    Text(String),
}

/// A filter as SQL conditions over bound values: those an index can serve (`base`), and the
/// verdict and code, which only a read of each row can check (`sparse`).
struct Conditions {
    base: Vec<String>,
    sparse: Vec<String>,
    values: Vec<Value>,
    /// The values of `base` come first, then those of `sparse`.
    base_values: usize,
}

impl Conditions {
    fn of(filter: &AttemptFilter) -> Self {
        // Only the conditions given are written, so each filter can use its index (a
        // `$n = '' OR column = $n` form would hide the column from the planner, and a
        // `created_at >= 0` tempts SQLite onto the time index and a sort of the whole table).
        // Values are always bound, never spliced.
        let mut c = Conditions {
            base: Vec::new(),
            sparse: Vec::new(),
            values: Vec::new(),
            base_values: 0,
        };
        c.base("id < ?", Value::Int(filter.before.unwrap_or(i64::MAX)));
        if let Some(since) = filter.since_ms {
            c.base("created_at >= ?", Value::Int(since));
        }
        if let Some(until) = filter.until_ms {
            c.base("created_at < ?", Value::Int(until));
        }
        for (column, value) in [
            ("visitor_id", &filter.visitor_id),
            ("ip", &filter.ip),
            ("username", &filter.username),
            ("event_id", &filter.event_id),
        ] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                c.base(&format!("{column} = ?"), Value::Text(value.to_owned()));
            }
        }
        c.base_values = c.values.len();
        if let Some(verdict) = filter.verdict.as_deref().filter(|v| !v.is_empty()) {
            let sql = c.bind("verdict = ?", Value::Text(verdict.to_owned()));
            c.sparse.push(sql);
        }
        // Codes are lower-case: a filter in any case means the same code on both backends
        // (SQLite's LIKE ignores ASCII case, PostgreSQL's does not).
        let code = filter.code.clone().unwrap_or_default().to_lowercase();
        if !code.is_empty() {
            let eq = c.bind("code = ?", Value::Text(code.clone()));
            let pattern = format!("%\"{}\"%", escape_like(&code));
            let like = c.bind("codes LIKE ? ESCAPE '\\'", Value::Text(pattern));
            c.sparse.push(format!("({eq} OR {like})"));
        }
        c
    }

    fn bind(&mut self, sql: &str, value: Value) -> String {
        self.values.push(value);
        sql.replace('?', &format!("${}", self.values.len()))
    }

    /// The indexed conditions alone, with only their values bound.
    fn base_only(&self) -> Conditions {
        Conditions {
            base: self.base.clone(),
            sparse: Vec::new(),
            values: self.values[..self.base_values].to_vec(),
            base_values: self.base_values,
        }
    }

    fn base(&mut self, sql: &str, value: Value) {
        let sql = self.bind(sql, value);
        self.base.push(sql);
    }

    fn query<'q>(
        &'q self,
        sql: &'q str,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        let mut query = sqlx::query(sql);
        for value in &self.values {
            query = match value {
                Value::Int(n) => query.bind(*n),
                Value::Text(text) => query.bind(text.as_str()),
            };
        }
        query
    }
}

impl Store {
    /// Every attempt matching the filter, newest first, up to `limit`, however many rows
    /// that reads: for filters an index serves (the device page's) and for tests. Pages that
    /// take a verdict or code use [`Store::attempts_page`] with a bound.
    pub async fn list_attempts(
        &self,
        filter: &AttemptFilter,
        limit: i64,
    ) -> Result<Vec<AttemptRow>, StoreError> {
        Ok(self.attempts_page(filter, limit, None).await?.attempts)
    }

    /// A page of the attempts matching the filter, newest first. With `scan`, a verdict or
    /// code filter reads at most that many of the attempts the other conditions select, and
    /// a page that found fewer than `limit` names where the search goes on.
    pub async fn attempts_page(
        &self,
        filter: &AttemptFilter,
        limit: i64,
        scan: Option<i64>,
    ) -> Result<AttemptPage, StoreError> {
        let mut c = Conditions::of(filter);
        let mut stopped_at = None;
        let mut window = None;
        if let (Some(scan), false) = (scan, c.sparse.is_empty()) {
            let Some((low, more)) = self.search_window(&c, scan).await? else {
                return Ok(AttemptPage {
                    attempts: Vec::new(),
                    next_before: None,
                });
            };
            if more {
                stopped_at = Some(low);
            }
            window = Some(c.bind("id >= ?", Value::Int(low)));
        }
        // Ids first, then their rows: a sort by id (SQLite's, for a time window) then orders
        // narrow index entries instead of whole rows with their snapshots.
        let limit_mark = c.bind("?", Value::Int(limit));
        let conditions: Vec<&str> = c
            .base
            .iter()
            .chain(&c.sparse)
            .chain(&window)
            .map(String::as_str)
            .collect();
        let sql = format!(
            "SELECT {COLUMNS} FROM attempts WHERE id IN (SELECT id FROM attempts WHERE {} \
             ORDER BY id DESC LIMIT {limit_mark}) ORDER BY id DESC",
            conditions.join(" AND ")
        );
        let rows = c.query(&sql).fetch_all(&self.pool).await?;
        let attempts = rows
            .iter()
            .map(attempt_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next_before = match attempts.last() {
            Some(last) if attempts.len() as i64 >= limit => Some(last.id),
            _ => stopped_at,
        };
        Ok(AttemptPage {
            attempts,
            next_before,
        })
    }

    /// The window a verdict or code search reads this page: the lowest id it may read, and
    /// whether older attempts the other conditions select lie below it; `None` when there is
    /// nothing to read.
    async fn search_window(
        &self,
        c: &Conditions,
        scan: i64,
    ) -> Result<Option<(i64, bool)>, StoreError> {
        // A window of none would name the same cursor again, for ever.
        let scan = scan.max(1);
        if c.base.len() == 1 {
            // Only the cursor: the window is the `scan` ids below it, found from the primary
            // key's two ends. Counting them would walk the table itself, whose rows carry
            // their snapshots: 30 ms a page on SQLite, even where the page fills at once.
            let ends = c.base_only();
            let sql = format!(
                "SELECT (SELECT id FROM attempts WHERE {} ORDER BY id DESC LIMIT 1) AS high, \
                   (SELECT id FROM attempts ORDER BY id LIMIT 1) AS first",
                c.base[0]
            );
            let row = ends.query(&sql).fetch_one(&self.pool).await?;
            let high: Option<i64> = row.try_get("high")?;
            let first: Option<i64> = row.try_get("first")?;
            return Ok(match (high, first) {
                (Some(high), Some(first)) => {
                    let low = high.saturating_sub(scan - 1);
                    Some((low, low > first))
                }
                _ => None,
            });
        }
        // An index narrows the attempts (a device, an address, a time window): the window is
        // the newest `scan` of them, counted on that index.
        let mut window = c.base_only();
        let scan_mark = window.bind("?", Value::Int(scan));
        let sql = format!(
            "SELECT MIN(id) AS low, COUNT(*) AS n FROM (SELECT id FROM attempts WHERE {} \
             ORDER BY id DESC LIMIT {scan_mark}) w",
            window.base.join(" AND ")
        );
        let row = window.query(&sql).fetch_one(&self.pool).await?;
        let low: Option<i64> = row.try_get("low")?;
        let n: i64 = row.try_get("n")?;
        Ok(low.map(|low| (low, n >= scan)))
    }
}

/// Codes are matched inside the JSON array text; `_` and `%` must match only themselves.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
