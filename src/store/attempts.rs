use super::{Store, StoreError};
use crate::policy::Snapshot;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

/// One signup attempt for the audit trail, accepted or refused.
#[derive(Debug, Clone, Default)]
pub struct NewAttempt {
    /// The identification event, when the request named one.
    pub event_id: Option<String>,
    /// The device, once the event was fetched.
    pub visitor_id: Option<String>,
    /// The client IP the service derived.
    pub ip: Option<String>,
    /// The username as typed, trimmed (never the password).
    pub username: Option<String>,
    /// `allow`, `review`, `block` or `error`.
    pub verdict: String,
    /// The code answered to the client (`created`, `review`, or an error code).
    pub code: String,
    /// Every rule that fired, in policy order.
    pub codes: Vec<String>,
    /// What the decision saw: the event and the request context.
    pub signals: Option<Snapshot>,
    /// The policy version that decided.
    pub policy_hash: Option<String>,
    /// Whether shadow mode was on.
    pub shadow: bool,
    /// When it happened.
    pub created_at: i64,
    /// Which API was asked: `signup` (create-account) or `decision` (the decision API).
    pub endpoint: Endpoint,
    /// The decision API's id for this answer.
    pub decision_id: Option<String>,
    /// The app's own user id, from the decision API.
    pub account_ref: Option<String>,
    /// Its decision webhook, when one is to be sent: written with the attempt, in the same
    /// transaction.
    pub delivery_id: Option<String>,
}

/// Which API an attempt came through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /api/create-account`.
    #[default]
    Signup,
    /// `POST /api/v1/signup-decisions`.
    Decision,
}

impl Endpoint {
    /// The stored label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signup => "signup",
            Self::Decision => "decision",
        }
    }
}

/// A recorded attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRow {
    /// Row id, also the pagination cursor.
    pub id: i64,
    /// See [`NewAttempt`].
    pub event_id: Option<String>,
    /// See [`NewAttempt`].
    pub visitor_id: Option<String>,
    /// See [`NewAttempt`].
    pub ip: Option<String>,
    /// See [`NewAttempt`].
    pub username: Option<String>,
    /// See [`NewAttempt`].
    pub verdict: String,
    /// See [`NewAttempt`].
    pub code: String,
    /// See [`NewAttempt`].
    pub codes: Vec<String>,
    /// See [`NewAttempt`]; `None` also for a snapshot this version cannot read.
    pub signals: Option<Snapshot>,
    /// See [`NewAttempt`].
    pub policy_hash: Option<String>,
    /// See [`NewAttempt`].
    pub shadow: bool,
    /// The account it created, if any.
    pub account_id: Option<i64>,
    /// See [`NewAttempt`].
    pub created_at: i64,
    /// See [`NewAttempt`].
    pub endpoint: String,
    /// See [`NewAttempt`].
    pub decision_id: Option<String>,
    /// See [`NewAttempt`].
    pub account_ref: Option<String>,
    /// See [`NewAttempt`].
    pub delivery_id: Option<String>,
}

pub(super) const COLUMNS: &str =
    "id, event_id, visitor_id, ip, username, verdict, code, codes, signals, \
                       policy_hash, shadow, account_id, created_at, endpoint, decision_id, \
                       account_ref, delivery_id";

impl Store {
    /// Records an attempt that created nothing.
    pub async fn record_attempt(&self, attempt: &NewAttempt) -> Result<(), StoreError> {
        self.insert_attempts(&[attempt]).await
    }

    /// Records attempts that created nothing, all in one statement: all or none are written.
    pub async fn insert_attempts(&self, attempts: &[&NewAttempt]) -> Result<(), StoreError> {
        let mut connection = self.pool.acquire().await?;
        self.insert_attempts_on(&mut connection, attempts).await
    }

    /// [`Store::insert_attempts`] on the connection given.
    pub(super) async fn insert_attempts_on(
        &self,
        connection: &mut sqlx::AnyConnection,
        attempts: &[&NewAttempt],
    ) -> Result<(), StoreError> {
        if attempts.is_empty() {
            return Ok(());
        }
        let rows: Vec<String> = (0..attempts.len())
            .map(|row| {
                let first = row * ATTEMPT_FIELDS + 1;
                let params: Vec<String> = (first..first + ATTEMPT_FIELDS)
                    .map(|n| self.backend.placeholder(n))
                    .collect();
                format!("({})", params.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO attempts (event_id, visitor_id, ip, username, verdict, code, codes, \
               signals, policy_hash, shadow, account_id, created_at, endpoint, decision_id, \
               account_ref, delivery_id) VALUES {}",
            rows.join(", ")
        );
        // A batch's statement is not kept prepared: batches come in every size up to 256
        // rows, and each connection would cache a large program per size (tens of MiB in all)
        // for a parse that costs far less than the batch's commit.
        let mut query = sqlx::query(&sql).persistent(attempts.len() == 1);
        for attempt in attempts {
            query = bind_attempt(query, attempt, None);
        }
        let deliveries: Vec<&NewAttempt> = attempts
            .iter()
            .copied()
            .filter(|a| a.delivery_id.is_some())
            .collect();
        if deliveries.is_empty() {
            query.execute(&mut *connection).await?;
            return Ok(());
        }
        let mut tx = sqlx::Connection::begin(connection).await?;
        query.execute(&mut *tx).await?;
        self.insert_deliveries(&mut tx, &deliveries).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn insert_attempt(
        &self,
        tx: &mut Transaction<'static, Any>,
        attempt: &NewAttempt,
        account_id: Option<i64>,
    ) -> Result<(), StoreError> {
        let query = sqlx::query(
            "INSERT INTO attempts (event_id, visitor_id, ip, username, verdict, code, codes, \
               signals, policy_hash, shadow, account_id, created_at, endpoint, decision_id, \
               account_ref, delivery_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        );
        bind_attempt(query, attempt, account_id)
            .execute(&mut **tx)
            .await?;
        if attempt.delivery_id.is_some() {
            self.insert_deliveries(tx, &[attempt]).await?;
        }
        Ok(())
    }

    /// Attempts in recording order from `after_id`, a batch at a time (for backtests).
    pub async fn attempts_after(
        &self,
        after_id: i64,
        since_ms: i64,
        limit: i64,
    ) -> Result<Vec<AttemptRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM attempts WHERE id > $1 AND created_at >= $2 ORDER BY id LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(after_id)
            .bind(since_ms)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(attempt_row).collect()
    }
}

/// The columns one attempt row binds.
const ATTEMPT_FIELDS: usize = 16;

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

/// Binds one attempt's columns, in the order the INSERT statements name them.
fn bind_attempt<'q>(
    query: AnyQuery<'q>,
    attempt: &'q NewAttempt,
    account_id: Option<i64>,
) -> AnyQuery<'q> {
    let codes = serde_json::to_string(&attempt.codes).unwrap_or_else(|_| "[]".into());
    let signals = attempt.signals.as_ref().map(Snapshot::to_json);
    query
        .bind(&attempt.event_id)
        .bind(&attempt.visitor_id)
        .bind(&attempt.ip)
        .bind(&attempt.username)
        .bind(&attempt.verdict)
        .bind(&attempt.code)
        .bind(codes)
        .bind(signals)
        .bind(&attempt.policy_hash)
        .bind(i64::from(attempt.shadow))
        .bind(account_id)
        .bind(attempt.created_at)
        .bind(attempt.endpoint.as_str())
        .bind(&attempt.decision_id)
        .bind(&attempt.account_ref)
        .bind(&attempt.delivery_id)
}

pub(super) fn attempt_row(row: &AnyRow) -> Result<AttemptRow, StoreError> {
    let codes: String = row.try_get("codes")?;
    let signals: Option<String> = row.try_get("signals")?;
    Ok(AttemptRow {
        id: row.try_get("id")?,
        event_id: row.try_get("event_id")?,
        visitor_id: row.try_get("visitor_id")?,
        ip: row.try_get("ip")?,
        username: row.try_get("username")?,
        verdict: row.try_get("verdict")?,
        code: row.try_get("code")?,
        codes: serde_json::from_str(&codes).unwrap_or_default(),
        signals: signals.as_deref().and_then(Snapshot::from_json),
        policy_hash: row.try_get("policy_hash")?,
        shadow: row.try_get::<i64, _>("shadow")? != 0,
        account_id: row.try_get("account_id")?,
        created_at: row.try_get("created_at")?,
        endpoint: row.try_get("endpoint")?,
        decision_id: row.try_get("decision_id")?,
        account_ref: row.try_get("account_ref")?,
        delivery_id: row.try_get("delivery_id")?,
    })
}

impl Store {
    /// The most recent attempt that named this event, for `explain`.
    pub async fn latest_attempt_for_event(
        &self,
        event_id: &str,
    ) -> Result<Option<AttemptRow>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM attempts WHERE event_id = $1 ORDER BY id DESC LIMIT 1");
        let row = sqlx::query(&sql)
            .bind(event_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(attempt_row).transpose()
    }
}
