use super::{Backend, NewAttempt, Store, StoreError};
use sqlx::Row;

/// An account to create: by create-account, with a username and a hashed password, or by the
/// decision API, as a slot the app's own user holds (`account_ref`), without a password.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// The username as typed, trimmed.
    pub username: Option<String>,
    /// The username's uniqueness key ([`crate::username::key`]).
    pub username_key: Option<String>,
    /// Its confusable skeleton ([`crate::username::skeleton`]), unique too.
    pub username_skeleton: Option<String>,
    /// The Argon2id PHC string; none for a decision-API slot.
    pub password_hash: Option<String>,
    /// The app's own user id, for a decision-API slot.
    pub account_ref: Option<String>,
    /// The decision that reserved this slot, which can release it.
    pub decision_id: Option<String>,
    /// The email address the username stands for ([`crate::email::identity`]).
    pub email_key: Option<String>,
    /// The device this account was created from.
    pub visitor_id: String,
    /// The identification event that vouched for the signup.
    pub event_id: String,
    /// Created, but marked for a fraud analyst's review.
    pub review: bool,
    /// Creation time.
    pub created_at: i64,
}

/// An account as the admin API lists it: never any password material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// The account id.
    pub id: i64,
    /// The username as typed.
    pub username: Option<String>,
    /// The app's own user id, for an account made by the decision API.
    pub account_ref: Option<String>,
    /// The device it was created from.
    pub visitor_id: String,
    /// Whether it awaits review.
    pub review: bool,
    /// `active`, `review` or `banned`.
    pub status: String,
    /// Creation time.
    pub created_at: i64,
}

/// The device limit an insert must respect.
#[derive(Debug, Clone, Copy)]
pub struct DeviceQuota {
    /// How many accounts one device may hold.
    pub max_accounts: i64,
    /// Only accounts created at or after this time count (0 counts all).
    pub since_ms: i64,
}

impl Store {
    /// Creates the account and records its attempt in one transaction, unless the device already
    /// holds its quota of accounts in the window.
    ///
    /// The count and the insert are one statement, and concurrent signups from one device queue
    /// behind each other: SQLite has a single writer, and PostgreSQL takes a transaction-scoped
    /// advisory lock on the visitor id, which every instance sharing the database respects.
    pub async fn create_account(
        &self,
        account: &NewAccount,
        quota: DeviceQuota,
        attempt: &NewAttempt,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(&account.visitor_id)
                .execute(&mut *tx)
                .await?;
        }
        let inserted = sqlx::query(
            "INSERT INTO accounts \
               (username, username_key, username_skeleton, password_hash, visitor_id, event_id, \
                review, created_at, account_ref, decision_id, status, email_key) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $11, $12, $13, $14 \
             WHERE (SELECT COUNT(*) FROM accounts WHERE visitor_id = $5 AND created_at >= $9) < $10 \
             RETURNING id",
        )
        .bind(&account.username)
        .bind(&account.username_key)
        .bind(&account.username_skeleton)
        .bind(&account.password_hash)
        .bind(&account.visitor_id)
        .bind(&account.event_id)
        .bind(i64::from(account.review))
        .bind(account.created_at)
        .bind(quota.since_ms)
        .bind(quota.max_accounts)
        .bind(&account.account_ref)
        .bind(&account.decision_id)
        .bind(if account.review { "review" } else { "active" })
        .bind(&account.email_key)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = inserted else {
            return Err(StoreError::DeviceLimit);
        };
        let id: i64 = row.try_get("id")?;
        self.insert_attempt(&mut tx, attempt, Some(id)).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// How many accounts the device holds in the window: the early check before hashing a password.
    pub async fn device_accounts(
        &self,
        visitor_id: &str,
        since_ms: i64,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM accounts WHERE visitor_id = $1 AND created_at >= $2",
        )
        .bind(visitor_id)
        .bind(since_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    /// The accounts a device holds in the window, and those with an email address under
    /// another username (the same username is `username_taken`, answered after the policy):
    /// the counts the policy judges, in one query. A missing visitor id or address counts none.
    pub async fn account_counts(
        &self,
        visitor_id: Option<&str>,
        since_ms: i64,
        email_key: Option<&str>,
        username_key: &str,
    ) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query(
            "SELECT \
               (SELECT COUNT(*) FROM accounts WHERE visitor_id = $1 AND created_at >= $2) AS device, \
               (SELECT COUNT(*) FROM accounts WHERE email_key = $3 AND username_key <> $4) AS email",
        )
        .bind(visitor_id.unwrap_or_default())
        .bind(since_ms)
        .bind(email_key.unwrap_or_default())
        .bind(username_key)
        .fetch_one(&self.pool)
        .await?;
        let device = if visitor_id.is_some() {
            row.try_get("device")?
        } else {
            0
        };
        let email = if email_key.is_some() {
            row.try_get("email")?
        } else {
            0
        };
        Ok((device, email))
    }

    /// Whether a username (by its key or its skeleton) or an event id is already taken, checked
    /// before the costly hash. The unique indexes stay the guarantee; this only answers sooner.
    pub async fn conflict(
        &self,
        username_key: &str,
        username_skeleton: &str,
        event_id: &str,
    ) -> Result<Option<StoreError>, StoreError> {
        // Two counts rather than one with OR, so each reads its own index.
        let row = sqlx::query(
            "SELECT \
               (SELECT COUNT(*) FROM accounts WHERE event_id = $1) AS events, \
               (SELECT COUNT(*) FROM accounts WHERE username_key = $2) \
             + (SELECT COUNT(*) FROM accounts WHERE username_skeleton = $3) AS names",
        )
        .bind(event_id)
        .bind(username_key)
        .bind(username_skeleton)
        .fetch_one(&self.pool)
        .await?;
        if row.try_get::<i64, _>("events")? > 0 {
            Ok(Some(StoreError::EventAlreadyUsed))
        } else if row.try_get::<i64, _>("names")? > 0 {
            Ok(Some(StoreError::UsernameTaken))
        } else {
            Ok(None)
        }
    }

    /// Frees the slot a decision reserved. Whether there was one to free.
    pub async fn release(&self, decision_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM accounts WHERE decision_id = $1")
            .bind(decision_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Whether this event id already created an account.
    pub async fn event_used(&self, event_id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM accounts WHERE event_id = $1")
            .bind(event_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Accounts, newest first, `limit` at a time; pass the last id seen as `before` for the next
    /// page. `status` narrows it to `active`, `review` or `banned`.
    pub async fn list_accounts(
        &self,
        status: Option<&str>,
        limit: i64,
        before: Option<i64>,
    ) -> Result<Vec<AccountRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, username, account_ref, visitor_id, review, status, created_at FROM accounts \
             WHERE id < $1 AND ($3 = '' OR status = $3) ORDER BY id DESC LIMIT $2",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .bind(status.unwrap_or_default())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(account_row)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// One account.
    pub async fn account(&self, id: i64) -> Result<Option<AccountRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, username, account_ref, visitor_id, review, status, created_at \
             FROM accounts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(account_row).transpose()?)
    }

    /// Counts every account (for tests, health detail and benchmarks).
    pub async fn count_accounts(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM accounts")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }
}

pub(super) fn account_row(row: &sqlx::any::AnyRow) -> Result<AccountRow, sqlx::Error> {
    Ok(AccountRow {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        account_ref: row.try_get("account_ref")?,
        visitor_id: row.try_get("visitor_id")?,
        review: row.try_get::<i64, _>("review")? != 0,
        status: row.try_get("status")?,
        created_at: row.try_get("created_at")?,
    })
}
