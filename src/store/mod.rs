//! Persistence: accounts, the audit trail of attempts, and received webhooks.
//!
//! One set of queries serves SQLite and PostgreSQL through sqlx's `Any` driver; the URL scheme
//! picks the backend once at startup, and each backend keeps its own embedded migrations.
//! Every time is milliseconds since the Unix epoch.

mod accounts;
mod attempt_pages;
mod attempts;
mod audit;
mod console;
mod count_batch;
mod count_reads;
mod deliveries;
mod error;
pub mod health;
mod held;
mod label_reports;
mod linger;
mod lists;
mod reviews;
mod usernames;
mod velocity;
mod webhooks;

pub use accounts::{AccountCounts, AccountRow, AccountScope, DeviceQuota, NewAccount, Written};
pub use attempt_pages::{AttemptFilter, AttemptPage, SEARCH_SCAN};
pub use attempts::{AttemptRow, Endpoint, NewAttempt};
pub use audit::AuditLog;
pub use console::{
    ConsoleSession, IpNeighbour, LabelRecord, VerdictCount, CONSOLE_SESSION_MS, MINUTE_MS,
};
pub use count_reads::{CountQuestion, CountReads};
pub use deliveries::{Delivery, DeliveryStatus};
pub use error::StoreError;
pub use health::DatabaseHealth;
use held::Held;
pub use label_reports::{LabelReport, UnsentLabelReport};
pub use linger::{Crowded, Linger};
pub use lists::{AnalystAction, ListEntry};
pub use reviews::{Label, Resolved, Review};
pub use usernames::{KeptApart, Rekeyed};
pub use velocity::Counter;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Executor};
use std::str::FromStr;
use std::time::Duration;

/// Which database engine a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file: one machine.
    Sqlite,
    /// A PostgreSQL server: any number of instances.
    Postgres,
}

impl Backend {
    /// The placeholder of the `n`th parameter (from 1) of a statement built at run time, whose
    /// placeholders each appear once, in binding order. SQLite gets an anonymous `?`: it looks a
    /// numbered one up by name in a list, so a statement of thousands (a batch of attempts)
    /// would take quadratic time to prepare and again to bind.
    pub(crate) fn placeholder(self, n: usize) -> String {
        match self {
            Backend::Sqlite => "?".to_owned(),
            Backend::Postgres => format!("${n}"),
        }
    }

    /// Reads the backend from a URL's scheme.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Config(
                "DATABASE_URL must start with sqlite:// or postgres://".into(),
            ))
        }
    }
}

/// Pool settings.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// The most connections this instance opens.
    pub max_connections: u32,
    /// How long a request waits for a free connection before the store reports itself unavailable.
    pub acquire_timeout: Duration,
    /// The longest one statement may run or wait for a lock (PostgreSQL `statement_timeout`,
    /// SQLite `busy_timeout`): with the acquire timeout it bounds a signup's account write.
    pub statement_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(5),
        }
    }
}

/// What [`Store::migrate`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Migrated {
    /// The migrations this run applied, oldest first (`0001_init`).
    pub applied: Vec<String>,
    /// What re-keying usernames did.
    pub usernames: Rekeyed,
}

/// Beyond this many, the log gives a count: `migrate` lists every one.
const MAX_LOGGED_KEPT_APART: usize = 100;

/// A pooled connection idle this long is pinged before it is lent out (one that was in use
/// more recently passed the ping sqlx makes when a connection is given back).
const PING_IDLE_AFTER: Duration = Duration::from_secs(1);

/// The batch tasks' own connections, beside the request pool: the audit writer's and one per
/// count reader.
pub const BATCH_CONNECTIONS: u32 = count_reads::READERS as u32 + 1;

/// A connection pool to one database, shared by every request.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// One connection of its own for the health probe, opened on first use: it must not
    /// queue behind a flood for the main pool's connections, or a load balancer would take a
    /// busy instance for a dead one.
    health: AnyPool,
    /// Connections of their own for the audit writer and the count readers, opened on first
    /// use: each task keeps one while its statements keep coming (see `Held`).
    batches: AnyPool,
    backend: Backend,
}

impl Store {
    /// A connection for a batch task, from the pool kept for them.
    async fn batch_connection(&self) -> Result<PoolConnection<Any>, StoreError> {
        Ok(self.batches.acquire().await?)
    }

    /// Connects (creating a SQLite file if it is missing) without running migrations.
    pub async fn connect(url: &str, settings: PoolSettings) -> Result<Self, StoreError> {
        Self::connect_in(url, settings, false).await
    }

    async fn connect_in(
        url: &str,
        settings: PoolSettings,
        read_only: bool,
    ) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite => {
                create_parent_dir(&sqlite_path(url))?;
                sqlite_url(url)
            }
            Backend::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| StoreError::Config(format!("invalid DATABASE_URL: {e}")))?;
        let health = AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(settings.acquire_timeout)
            .connect_lazy_with(options.clone());
        let pool = pool_options(backend, settings, read_only)
            .max_connections(settings.max_connections)
            .connect_with(options.clone())
            .await
            .map_err(StoreError::from)?;
        let batches = pool_options(backend, settings, read_only)
            .max_connections(BATCH_CONNECTIONS)
            .connect_lazy_with(options);
        Ok(Self {
            pool,
            health,
            batches,
            backend,
        })
    }

    /// Connects, read-only, to a database that must already exist: for `explain` and
    /// `backtest`, which promise to change nothing, and where creating an empty SQLite file
    /// would hide a mistyped path. Every connection refuses writes.
    pub async fn connect_existing(url: &str, settings: PoolSettings) -> Result<Self, StoreError> {
        if Backend::from_url(url)? == Backend::Sqlite {
            let path = sqlite_path(url);
            if !std::path::Path::new(&path).exists() {
                return Err(StoreError::Config(format!("no SQLite database at {path}")));
            }
        }
        Self::connect_in(url, settings, true).await
    }

    /// Connects and brings the schema up to date. Accounts kept apart by re-keying are logged,
    /// at every start until an operator settles them.
    pub async fn open(url: &str, settings: PoolSettings) -> Result<Self, StoreError> {
        let store = Self::connect(url, settings).await?;
        let migrated = store.migrate().await?;
        let kept_apart = &migrated.usernames.kept_apart;
        for account in kept_apart.iter().take(MAX_LOGGED_KEPT_APART) {
            tracing::warn!(
                id = account.id,
                username = ?account.username,
                holder_id = account.holder_id,
                holder_username = ?account.holder_username,
                "account kept apart: its username looks the same as an older account's"
            );
        }
        if kept_apart.len() > MAX_LOGGED_KEPT_APART {
            tracing::warn!(
                more = kept_apart.len() - MAX_LOGGED_KEPT_APART,
                "more accounts kept apart: `signup-guard migrate` lists them all"
            );
        }
        Ok(store)
    }

    /// Runs the embedded migrations of this backend, then re-keys the usernames that need it
    /// (see [`Rekeyed`]). Returns the migrations this run applied (`0001_init`), oldest first
    /// (none when the schema was up to date), and what re-keying did. Safe to run from several
    /// instances at once: the whole run, from creating sqlx's bookkeeping table to the last
    /// re-keyed account, holds the migration lock (an advisory lock on PostgreSQL).
    pub async fn migrate(&self) -> Result<Migrated, StoreError> {
        use sqlx::migrate::Migrate as _;
        let mut migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        // Taken below, before the bookkeeping table is made: the migrator must not take it again.
        migrator.set_locking(false);
        // On a connection of its own, out of the pool and without the statement timeout: an
        // instance waiting on another's migration lock, or a long index build, must not be
        // cancelled after a few seconds.
        let mut conn = self.pool.acquire().await?.detach();
        if self.backend == Backend::Postgres {
            conn.execute("SET statement_timeout = 0").await?;
        }
        let migration_error = |e: sqlx::migrate::MigrateError| StoreError::Migration(e.to_string());
        let result = async {
            // Before the table exists: two instances creating it at once on a fresh database
            // collide in PostgreSQL's catalog (a duplicate `pg_type` key), IF NOT EXISTS or not.
            conn.lock().await.map_err(migration_error)?;
            // The versions already applied, read before and after under the lock: what is new
            // was applied by this run.
            conn.ensure_migrations_table()
                .await
                .map_err(migration_error)?;
            let before = conn
                .list_applied_migrations()
                .await
                .map_err(migration_error)?;
            migrator
                .run_direct(&mut conn)
                .await
                .map_err(migration_error)?;
            let after = conn
                .list_applied_migrations()
                .await
                .map_err(migration_error)?;
            let usernames = usernames::rekey(&mut conn)
                .await
                .map_err(|e| StoreError::Migration(format!("re-keying usernames: {e}")))?;
            conn.unlock().await.map_err(migration_error)?;
            let applied = after
                .iter()
                .filter(|a| !before.iter().any(|b| b.version == a.version))
                .filter_map(|a| migrator.iter().find(|m| m.version == a.version))
                .map(|m| format!("{:04}_{}", m.version, m.description.replace(' ', "_")))
                .collect();
            Ok(Migrated { applied, usernames })
        }
        .await;
        let _ = sqlx::Connection::close(conn).await;
        result
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.health).await?;
        Ok(())
    }

    /// The pool's connections: (lent out, open and idle).
    pub fn connections(&self) -> (usize, usize) {
        let open = self.pool.size() as usize;
        let idle = self.pool.num_idle();
        (open.saturating_sub(idle), idle)
    }

    /// Which engine this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection, waiting for the ones in use.
    pub async fn close(&self) {
        self.pool.close().await;
        self.batches.close().await;
        self.health.close().await;
    }
}

/// The settings every read-write (or read-only) connection of one store gets, whichever pool
/// lends it: the size is the caller's.
fn pool_options(backend: Backend, settings: PoolSettings, read_only: bool) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .acquire_timeout(settings.acquire_timeout)
        // sqlx pings a connection on every checkout by default, on top of the ping it
        // makes when the connection comes back: a PostgreSQL round trip (a thread hop on
        // SQLite) per checkout, most of them for a connection that was checked a moment
        // before. Only a connection idle long enough to have been cut is pinged.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_IDLE_AFTER {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .after_connect(move |conn, _| {
            let timeout_ms = settings.statement_timeout.as_millis();
            Box::pin(async move {
                let setup = match (backend, read_only) {
                    // WAL lets readers run beside the one writer; busy_timeout makes writers
                    // queue instead of failing; FULL sync keeps an answered signup on disk.
                    (Backend::Sqlite, false) => format!(
                        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = {timeout_ms}; \
                         PRAGMA synchronous = FULL;"
                    ),
                    // Changing the journal mode writes to the file: a reader leaves it be.
                    (Backend::Sqlite, true) => {
                        format!("PRAGMA busy_timeout = {timeout_ms}; PRAGMA query_only = ON;")
                    }
                    // A stuck lock holder or a slow server must end in a clear 503, not a
                    // request that waits for ever holding a pool connection.
                    (Backend::Postgres, false) => {
                        format!("SET statement_timeout = {timeout_ms}")
                    }
                    (Backend::Postgres, true) => format!(
                        "SET statement_timeout = {timeout_ms}; \
                         SET default_transaction_read_only = on"
                    ),
                };
                conn.execute(setup.as_str()).await?;
                Ok(())
            })
        })
}

/// `sqlite://file.db` would fail when the file is missing; `mode=rwc` creates it.
fn sqlite_url(url: &str) -> String {
    if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// `mode=rwc` creates the file but not its folder: `sqlite://data/signup-guard.db` on a fresh
/// machine needs `data/` made first.
fn create_parent_dir(path: &str) -> Result<(), StoreError> {
    let parent = std::path::Path::new(path).parent();
    match parent {
        Some(dir) if !dir.as_os_str().is_empty() && !path.starts_with(':') && !dir.exists() => {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Config(format!("cannot create the folder {}: {e}", dir.display()))
            })
        }
        _ => Ok(()),
    }
}

/// The file path of a `sqlite:` URL (`sqlite://a.db` and `sqlite:a.db` are relative,
/// `sqlite:///a.db` absolute).
fn sqlite_path(url: &str) -> String {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    rest.split('?').next().unwrap_or_default().to_owned()
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map(|d| d.as_millis() as i64).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_relative_and_absolute_files() {
        assert_eq!(sqlite_path("sqlite://signup-guard.db"), "signup-guard.db");
        assert_eq!(
            sqlite_path("sqlite:///var/lib/sg.db?mode=rwc"),
            "/var/lib/sg.db"
        );
        assert_eq!(sqlite_path("sqlite:data/sg.db"), "data/sg.db");
        assert_eq!(sqlite_url("sqlite://a.db"), "sqlite://a.db?mode=rwc");
        assert_eq!(
            sqlite_url("sqlite://a.db?cache=shared"),
            "sqlite://a.db?cache=shared&mode=rwc"
        );
        assert_eq!(sqlite_url("sqlite://a.db?mode=ro"), "sqlite://a.db?mode=ro");
    }

    #[test]
    fn the_url_scheme_picks_the_backend() {
        assert_eq!(Backend::from_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::from_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert!(Backend::from_url("mysql://u@h/db").is_err());
    }
}
