use super::{Backend, NewAttempt, Store, StoreError};
use crate::policy::Identity;
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
    /// That address's domain, which `velocity_email_domain` counts by.
    pub email_domain: Option<String>,
    /// The device's high-recall visitor id, which the device limit can count by.
    pub high_recall_id: Option<String>,
    /// The event's `linkedId`, which the device limit can count by.
    pub linked_id: Option<String>,
    /// The autonomous system of the event's IP, which `velocity_asn` counts by.
    pub asn: Option<String>,
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

/// What a new account counts toward: the device limit, by every identity the policy names, and
/// the velocity rules on email domains and autonomous systems.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountScope {
    /// Each identity the device limit counts by, with the signup's value: accounts sharing any
    /// of them are the device's.
    pub identities: Vec<(Identity, String)>,
    /// Only accounts created at or after this time count toward the device limit.
    pub device_since_ms: i64,
    /// The email address's domain, and the time from which its accounts count.
    pub email_domain: Option<(String, i64)>,
    /// The autonomous system, and the time from which its accounts count.
    pub asn: Option<(String, i64)>,
}

impl AccountScope {
    /// The device limit alone, by visitor id.
    pub fn device(visitor_id: &str, since_ms: i64) -> AccountScope {
        AccountScope {
            identities: vec![(Identity::VisitorId, visitor_id.to_owned())],
            device_since_ms: since_ms,
            ..AccountScope::default()
        }
    }

    /// The advisory lock keys of an account write on PostgreSQL, sorted: every writer takes its
    /// locks in one order, so two that share keys queue instead of deadlocking. The visitor id
    /// is its own key, as it was before the other keys existed, so an instance of an older
    /// release still excludes this one; the others are prefixed, and a visitor id (letters and
    /// digits) can never equal them.
    fn lock_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .identities
            .iter()
            .map(|(identity, value)| match identity {
                Identity::VisitorId => value.clone(),
                other => format!("{}:{value}", other.as_str()),
            })
            .chain(
                self.email_domain
                    .iter()
                    .map(|(d, _)| format!("email_domain:{d}")),
            )
            .chain(self.asn.iter().map(|(a, _)| format!("asn:{a}")))
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }
}

/// The accounts a signup's scope counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountCounts {
    /// Accounts sharing any identity in the device window (0 without identities).
    pub device: i64,
    /// Accounts sharing each identity, in the scope's order (empty with a single identity).
    pub by_identity: Vec<i64>,
    /// Accounts at the email domain in its window, when the scope names one.
    pub email_domain: Option<i64>,
    /// Accounts from the autonomous system in its window, when the scope names one.
    pub asn: Option<i64>,
    /// Accounts with the signup's email address under another username (early count only).
    pub email: i64,
    /// Whether the event id asked about already created an account (early count only).
    pub event_used: bool,
}

/// Whether an account write created the account, or the judge refused it.
#[derive(Debug)]
pub enum Written<R> {
    /// The account's id.
    Created(i64),
    /// The judge's refusal: nothing was written.
    Refused(R),
}

/// A query parameter of a query built at run time.
#[derive(Clone, Copy)]
pub(super) enum Param<'a> {
    Text(&'a str),
    Int(i64),
    NullText,
    NullInt,
}

/// The one query that counts a scope, and its parameters. Every part is a count over an index
/// of `accounts` (visitor, high-recall and linked ids, email domain and ASN each with the
/// creation time, and the email address); parts the scope does not name are left out.
fn counts_query<'a>(
    backend: Backend,
    scope: &'a AccountScope,
    email: Option<(&'a str, &'a str)>,
    event_id: Option<&'a str>,
) -> Option<(String, Vec<Param<'a>>)> {
    let mut parts: Vec<String> = Vec::new();
    let mut params: Vec<Param<'a>> = Vec::new();
    count_parts(backend, scope, email, event_id, "", &mut parts, &mut params);
    (!parts.is_empty()).then(|| (format!("SELECT {}", parts.join(", ")), params))
}

/// Appends the counts of one scope to a SELECT list, each column named with `prefix`, its
/// parameters numbered after those already in `params`: one statement can count many scopes.
/// Each placeholder is its own parameter, in order (see [`Backend::placeholder`]).
pub(super) fn count_parts<'a>(
    backend: Backend,
    scope: &'a AccountScope,
    email: Option<(&'a str, &'a str)>,
    event_id: Option<&'a str>,
    prefix: &str,
    parts: &mut Vec<String>,
    params: &mut Vec<Param<'a>>,
) {
    let param = |p: Param<'a>, params: &mut Vec<Param<'a>>| {
        params.push(p);
        backend.placeholder(params.len())
    };
    if !scope.identities.is_empty() {
        let since = Param::Int(scope.device_since_ms);
        let matches = |params: &mut Vec<Param<'a>>, identities: &'a [(Identity, String)]| {
            identities
                .iter()
                .map(|(identity, value)| {
                    format!(
                        "{} = {}",
                        column(*identity),
                        param(Param::Text(value), params)
                    )
                })
                .collect::<Vec<String>>()
                .join(" OR ")
        };
        let any = matches(params, &scope.identities);
        let since_p = param(since, params);
        parts.push(format!(
            "(SELECT COUNT(*) FROM accounts WHERE ({any}) AND created_at >= {since_p}) AS {prefix}device"
        ));
        if scope.identities.len() > 1 {
            for i in 0..scope.identities.len() {
                let one = matches(params, &scope.identities[i..=i]);
                let since_p = param(since, params);
                parts.push(format!(
                    "(SELECT COUNT(*) FROM accounts WHERE {one} AND created_at >= {since_p}) AS {prefix}identity_{i}"
                ));
            }
        }
    }
    if let Some((email_key, username_key)) = email {
        let (e, u) = (
            param(Param::Text(email_key), params),
            param(Param::Text(username_key), params),
        );
        parts.push(format!(
            "(SELECT COUNT(*) FROM accounts WHERE email_key = {e} AND username_key <> {u}) AS {prefix}email"
        ));
    }
    for (column, value) in [("email_domain", &scope.email_domain), ("asn", &scope.asn)] {
        if let Some((value, since)) = value {
            let (v, s) = (
                param(Param::Text(value), params),
                param(Param::Int(*since), params),
            );
            parts.push(format!(
                "(SELECT COUNT(*) FROM accounts WHERE {column} = {v} AND created_at >= {s}) AS {prefix}{column}"
            ));
        }
    }
    if let Some(event_id) = event_id {
        let e = param(Param::Text(event_id), params);
        parts.push(format!(
            "(SELECT COUNT(*) FROM accounts WHERE event_id = {e}) AS {prefix}used"
        ));
    }
}

/// Reads back the counts [`count_parts`] asked for under `prefix`.
pub(super) fn read_counts(
    row: &sqlx::any::AnyRow,
    prefix: &str,
    scope: &AccountScope,
    email: bool,
    event_id: bool,
) -> Result<AccountCounts, sqlx::Error> {
    let get = |name: &str| row.try_get::<i64, _>(format!("{prefix}{name}").as_str());
    let mut counts = AccountCounts::default();
    if !scope.identities.is_empty() {
        counts.device = get("device")?;
        if scope.identities.len() > 1 {
            for i in 0..scope.identities.len() {
                counts.by_identity.push(get(&format!("identity_{i}"))?);
            }
        }
    }
    if email {
        counts.email = get("email")?;
    }
    if scope.email_domain.is_some() {
        counts.email_domain = Some(get("email_domain")?);
    }
    if scope.asn.is_some() {
        counts.asn = Some(get("asn")?);
    }
    if event_id {
        counts.event_used = get("used")? > 0;
    }
    Ok(counts)
}

/// Binds a built query's parameters in order.
pub(super) fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    params: Vec<Param<'_>>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for p in params {
        query = match p {
            Param::Text(text) => query.bind(text.to_owned()),
            Param::Int(n) => query.bind(n),
            Param::NullText => query.bind(None::<String>),
            Param::NullInt => query.bind(None::<i64>),
        };
    }
    query
}

/// The column an identity is kept in; never text from outside.
pub(super) fn column(identity: Identity) -> &'static str {
    match identity {
        Identity::VisitorId => "visitor_id",
        Identity::HighRecallId => "high_recall_id",
        Identity::LinkedId => "linked_id",
    }
}

/// Runs [`counts_query`] on the pool or in a transaction.
async fn count<'e, E>(
    backend: Backend,
    executor: E,
    scope: &AccountScope,
    email: Option<(&str, &str)>,
    event_id: Option<&str>,
) -> Result<AccountCounts, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let Some((sql, params)) = counts_query(backend, scope, email, event_id) else {
        return Ok(AccountCounts::default());
    };
    let row = bind_all(sqlx::query(&sql), params)
        .fetch_one(executor)
        .await?;
    Ok(read_counts(
        &row,
        "",
        scope,
        email.is_some(),
        event_id.is_some(),
    )?)
}

impl Store {
    /// Creates the account and records its attempt in one transaction, unless the device
    /// already holds its quota of accounts in the window: [`Store::write_account`] with the
    /// visitor id alone.
    pub async fn create_account(
        &self,
        account: &NewAccount,
        quota: DeviceQuota,
        attempt: &NewAttempt,
    ) -> Result<i64, StoreError> {
        let scope = AccountScope::device(&account.visitor_id, quota.since_ms);
        let mut attempt = attempt.clone();
        let judged = self
            .write_account(account, &scope, &mut attempt, |counts, _| {
                if counts.device >= quota.max_accounts {
                    Err(StoreError::DeviceLimit)
                } else {
                    Ok(account.review)
                }
            })
            .await?;
        match judged {
            Written::Created(id) => Ok(id),
            Written::Refused(error) => Err(error),
        }
    }

    /// Counts the scope's accounts, lets `judge` decide on the counts, and, unless it refuses,
    /// creates the account (held for review when it answers `true`) and records `attempt`, all
    /// in one transaction.
    ///
    /// The counts are exact across instances: no other write of an account sharing a key of the
    /// scope can happen between the count and the insert. On PostgreSQL each key (every identity,
    /// the email domain, the ASN) takes a transaction-scoped advisory lock first, which every
    /// instance sharing the database respects; SQLite's transaction takes the single write lock
    /// when it begins. `judge` may update the attempt it records (verdict, codes, snapshot).
    pub async fn write_account<R>(
        &self,
        account: &NewAccount,
        scope: &AccountScope,
        attempt: &mut NewAttempt,
        judge: impl FnOnce(&AccountCounts, &mut NewAttempt) -> Result<bool, R>,
    ) -> Result<Written<R>, StoreError> {
        let mut tx = match self.backend {
            // Deferred, the count would read a snapshot that another writer could overtake
            // before this one's insert, which SQLite then refuses as busy.
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        if self.backend == Backend::Postgres {
            let keys = scope.lock_keys();
            let locks: Vec<String> = (1..=keys.len())
                .map(|n| format!("pg_advisory_xact_lock(hashtextextended(${n}, 0))"))
                .collect();
            if !locks.is_empty() {
                // PostgreSQL evaluates a select list left to right: the locks are taken in order.
                let sql = format!("SELECT {}", locks.join(", "));
                let mut query = sqlx::query(&sql);
                for key in &keys {
                    query = query.bind(key);
                }
                query.execute(&mut *tx).await?;
            }
        }
        let counts = count(self.backend, &mut *tx, scope, None, None).await?;
        let review = match judge(&counts, attempt) {
            Ok(review) => review,
            Err(refusal) => return Ok(Written::Refused(refusal)),
        };
        let row = sqlx::query(
            "INSERT INTO accounts \
               (username, username_key, username_skeleton, password_hash, visitor_id, event_id, \
                review, created_at, account_ref, decision_id, status, email_key, high_recall_id, \
                linked_id, email_domain, asn) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
             RETURNING id",
        )
        .bind(&account.username)
        .bind(&account.username_key)
        .bind(&account.username_skeleton)
        .bind(&account.password_hash)
        .bind(&account.visitor_id)
        .bind(&account.event_id)
        .bind(i64::from(review))
        .bind(account.created_at)
        .bind(&account.account_ref)
        .bind(&account.decision_id)
        .bind(if review { "review" } else { "active" })
        .bind(&account.email_key)
        .bind(&account.high_recall_id)
        .bind(&account.linked_id)
        .bind(&account.email_domain)
        .bind(&account.asn)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        self.insert_attempt(&mut tx, attempt, Some(id)).await?;
        tx.commit().await?;
        Ok(Written::Created(id))
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

    /// The counts the policy judges, in one query: the scope's (the device's accounts, by each
    /// identity, and those at its email domain and ASN) and, given the signup's email address
    /// and username key, the accounts with that address under another username (the same
    /// username is `username_taken`, answered after the policy), and whether `event_id`
    /// already created an account. Runs for every refused bot too, so nothing the policy does
    /// not count is asked.
    pub async fn account_counts(
        &self,
        scope: &AccountScope,
        email: Option<(&str, &str)>,
        event_id: Option<&str>,
    ) -> Result<AccountCounts, StoreError> {
        count(self.backend, &self.pool, scope, email, event_id).await
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
