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
    /// Only attempts listed after this one, in the page's order (the pagination cursor).
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

impl AttemptFilter {
    /// The equality conditions given, each served by its column's index: the device's, the
    /// address's and the username's hold each attempt's time after the column; the event's,
    /// a handful of attempts at most, holds only the id.
    fn narrowing(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("visitor_id", &self.visitor_id),
            ("ip", &self.ip),
            ("username", &self.username),
            ("event_id", &self.event_id),
        ]
        .into_iter()
        .filter_map(|(column, value)| Some((column, value.as_deref().filter(|v| !v.is_empty())?)))
    }
}

/// One page of attempts, newest first (see `Order`).
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptPage {
    /// The attempts that matched, at most the page's limit.
    pub attempts: Vec<AttemptRow>,
    /// Where the next page starts (its `before`): the last attempt's id on a full page, or
    /// the oldest of the window a bounded search read when it stopped short; `None` when
    /// nothing older can match.
    pub next_before: Option<i64>,
}

/// How many attempts one page of a verdict or code search reads at most. Neither column has
/// an index of its own (every refused row would pay for it), so a rare value after a flood
/// read every attempt: 0.4 s a page at 300,000 on either backend, and growing with the flood.
pub const SEARCH_SCAN: i64 = 20_000;

/// The order of a page, newest first either way.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Order {
    /// By id: the order the attempts were written in and the primary key's, for a page with
    /// no filter but a verdict, a code or an event (whose few attempts are sorted either way).
    Id,
    /// By time, then id: the order of the time index and of the indexes by device, address
    /// and username, which hold each attempt's time after their column. A time window is read
    /// in that order, so a page costs its own rows; by id it would sort every id in the window
    /// (about 1 s on PostgreSQL for half an hour of a 1,000/s flood) or walk every later
    /// attempt. Ids follow time only roughly: an attempt is timed when it arrives and
    /// numbered when it is written, on PostgreSQL by any of several instances.
    Time,
}

impl Order {
    fn of(filter: &AttemptFilter) -> Order {
        let timed = filter.since_ms.is_some() || filter.until_ms.is_some();
        let by_time_index = filter.narrowing().any(|(column, _)| column != "event_id");
        if timed || by_time_index {
            Order::Time
        } else {
            Order::Id
        }
    }

    /// The SQL `ORDER BY` terms, newest first.
    fn newest_first(self) -> &'static str {
        match self {
            Order::Id => "id DESC",
            Order::Time => "created_at DESC, id DESC",
        }
    }
}

/// An attempt's place in a page's order: its id, and in time order its time (`None` for an id
/// no attempt has, which keeps its id alone).
#[derive(Debug, Clone, Copy)]
struct Place {
    at: Option<i64>,
    id: i64,
}

/// Which side of a place a time bound keeps.
#[derive(Clone, Copy)]
enum Side {
    Below,
    From,
}

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
    /// `cursor` is the attempt the page starts below, and `floor` the oldest attempt a
    /// search's window reads, both in `order`.
    fn of(
        filter: &AttemptFilter,
        order: Order,
        cursor: Option<Place>,
        floor: Option<Place>,
    ) -> Self {
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
        let (mut since, mut until) = (filter.since_ms, filter.until_ms);
        if order == Order::Id {
            let below = cursor.map_or(i64::MAX, |place| place.id);
            c.base("id < ?", Value::Int(below));
            if let Some(floor) = floor {
                c.base("id >= ?", Value::Int(floor.id));
            }
        } else {
            // In time order the cursor and the floor are bounds on the time index. Each
            // replaces the filter's bound on its side where it is tighter: of two bounds on
            // one side SQLite takes one for the index, and with the looser it would walk every
            // attempt between them.
            match cursor {
                Some(Place { at: Some(at), id }) if until.is_none_or(|u| at < u) => {
                    until = None;
                    c.time_bound(at, id, Side::Below);
                }
                Some(Place { at: None, id }) => c.base("id < ?", Value::Int(id)),
                // The first page, or a cursor past `until`, which `until` implies.
                _ => {}
            }
            match floor {
                Some(Place { at: Some(at), id }) if since.is_none_or(|s| at >= s) => {
                    since = None;
                    c.time_bound(at, id, Side::From);
                }
                Some(Place { at: None, id }) => c.base("id >= ?", Value::Int(id)),
                _ => {}
            }
        }
        if let Some(since) = since {
            c.base("created_at >= ?", Value::Int(since));
        }
        if let Some(until) = until {
            c.base("created_at < ?", Value::Int(until));
        }
        for (column, value) in filter.narrowing() {
            c.base(&format!("{column} = ?"), Value::Text(value.to_owned()));
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

    /// `(created_at, id) < (at, id)` (below the place) or `>= (at, id)` (from it), written
    /// so that the time index can start or stop at `at`.
    fn time_bound(&mut self, at: i64, id: i64, side: Side) {
        let at = self.bind("?", Value::Int(at));
        let id = self.bind("?", Value::Int(id));
        let (time, strict, by_id) = match side {
            Side::Below => ("<=", "<", "<"),
            Side::From => (">=", ">", ">="),
        };
        self.base.push(format!("created_at {time} {at}"));
        self.base
            .push(format!("(created_at {strict} {at} OR id {by_id} {id})"));
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

    /// A page of the attempts matching the filter, newest first: by time then id for a time
    /// window, a device, an address or a username, by id otherwise (see [`Order`]). With
    /// `scan`, a verdict or code filter reads at most that many of the attempts the other
    /// conditions select, and a page that found fewer than `limit` names where the search goes
    /// on.
    pub async fn attempts_page(
        &self,
        filter: &AttemptFilter,
        limit: i64,
        scan: Option<i64>,
    ) -> Result<AttemptPage, StoreError> {
        let order = Order::of(filter);
        let cursor = self.cursor(order, filter.before).await?;
        let mut c = Conditions::of(filter, order, cursor, None);
        let mut stopped_at = None;
        if let (Some(scan), false) = (scan, c.sparse.is_empty()) {
            let Some((floor, more)) = self.search_window(&c, order, scan).await? else {
                return Ok(AttemptPage {
                    attempts: Vec::new(),
                    next_before: None,
                });
            };
            if more {
                stopped_at = Some(floor.id);
            }
            c = Conditions::of(filter, order, cursor, Some(floor));
        }
        // Ids first, then their rows: a sort by id (SQLite's, for a time window) then orders
        // narrow index entries instead of whole rows with their snapshots.
        let limit_mark = c.bind("?", Value::Int(limit));
        let conditions: Vec<&str> = c.base.iter().chain(&c.sparse).map(String::as_str).collect();
        let newest_first = order.newest_first();
        let sql = format!(
            "SELECT {COLUMNS} FROM attempts WHERE id IN (SELECT id FROM attempts WHERE {} \
             ORDER BY {newest_first} LIMIT {limit_mark}) ORDER BY {newest_first}",
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

    /// The attempt a page below `before` starts below: in time order, with its time.
    async fn cursor(&self, order: Order, before: Option<i64>) -> Result<Option<Place>, StoreError> {
        let Some(id) = before else { return Ok(None) };
        let at = match order {
            Order::Id => None,
            Order::Time => {
                sqlx::query_scalar("SELECT created_at FROM attempts WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
            }
        };
        Ok(Some(Place { at, id }))
    }

    /// The window a verdict or code search reads this page: its oldest attempt, in the page's
    /// order, and whether older attempts the other conditions select lie below it; `None` when
    /// there is nothing to read.
    async fn search_window(
        &self,
        c: &Conditions,
        order: Order,
        scan: i64,
    ) -> Result<Option<(Place, bool)>, StoreError> {
        // A window of none would name the same cursor again, for ever.
        let scan = scan.max(1);
        if order == Order::Id && c.base.len() == 1 {
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
                    Some((Place { at: None, id: low }, low > first))
                }
                _ => None,
            });
        }
        // An index narrows the attempts (a device, an address, a time window): the window is
        // the newest `scan` of them, read on that index alone, in the page's order.
        let mut window = c.base_only();
        let scan_mark = window.bind("?", Value::Int(scan));
        let base = window.base.join(" AND ");
        let sql = match order {
            Order::Id => format!(
                "SELECT MIN(id) AS id, COUNT(*) AS n FROM (SELECT id FROM attempts WHERE {base} \
                 ORDER BY id DESC LIMIT {scan_mark}) w"
            ),
            // The `scan`-th newest if there is one (the window is full), else the oldest: two
            // walks of the index that stop where they are, where gathering the window to
            // count and sort it took as long again as reading it.
            Order::Time => format!(
                "SELECT created_at, id, n FROM (\
                   SELECT * FROM (SELECT created_at, id, {scan_mark} AS n FROM attempts \
                     WHERE {base} ORDER BY created_at DESC, id DESC \
                     LIMIT 1 OFFSET {scan_mark} - 1) full_window \
                   UNION ALL \
                   SELECT * FROM (SELECT created_at, id, 0 AS n FROM attempts WHERE {base} \
                     ORDER BY created_at, id LIMIT 1) oldest\
                 ) w ORDER BY n DESC LIMIT 1"
            ),
        };
        let Some(row) = window.query(&sql).fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        let id: Option<i64> = row.try_get("id")?;
        let n: i64 = row.try_get("n")?;
        let Some(id) = id else { return Ok(None) };
        let at = match order {
            Order::Id => None,
            Order::Time => Some(row.try_get("created_at")?),
        };
        Ok(Some((Place { at, id }, n >= scan)))
    }
}

/// Codes are matched inside the JSON array text; `_` and `%` must match only themselves.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
