//! The database area: where the data lives and how the pool waits.

use super::non_empty;
use crate::store::PoolSettings;
use clap::Args;
use std::time::Duration;

/// The database used when `DATABASE_URL` is unset.
pub const DEFAULT_URL: &str = "sqlite://signup-guard.db";
/// The database used in demo mode when `DATABASE_URL` is unset, so that demo accounts never mix
/// with real ones.
pub const DEMO_URL: &str = "sqlite://signup-guard-demo.db";

/// The database and its connection pool (`serve`, `migrate`, `explain`, `backtest`).
#[derive(Clone, Args)]
#[command(next_help_heading = "Database")]
pub struct DatabaseArgs {
    /// sqlite://path.db, sqlite:///absolute/path.db or postgres://user@host/db [default:
    /// sqlite://signup-guard.db, or sqlite://signup-guard-demo.db in demo mode].
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Most database connections per instance.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = PoolSettings::default().max_connections)]
    pub database_max_connections: u32,
    /// Wait for a free database connection before answering 503 (ms).
    #[arg(long, env = "DATABASE_ACQUIRE_TIMEOUT_MS", default_value_t = super::millis(PoolSettings::default().acquire_timeout))]
    pub database_acquire_timeout_ms: u64,
    /// Longest one database statement may run or wait for a lock before the signup answers 503
    /// (ms); it bounds the account write, which no request deadline cuts short.
    #[arg(long, env = "DATABASE_STATEMENT_TIMEOUT_MS", default_value_t = super::millis(PoolSettings::default().statement_timeout))]
    pub database_statement_timeout_ms: u64,
}

impl DatabaseArgs {
    /// The database URL; `demo` picks the demo file when none is set.
    pub fn url(&self, demo: bool) -> String {
        match non_empty(self.database_url.clone()) {
            Some(url) => url,
            None if demo => DEMO_URL.into(),
            None => DEFAULT_URL.into(),
        }
    }

    /// The pool settings.
    pub fn pool(&self) -> PoolSettings {
        PoolSettings {
            max_connections: self.database_max_connections.max(1),
            acquire_timeout: Duration::from_millis(self.database_acquire_timeout_ms.max(100)),
            statement_timeout: Duration::from_millis(self.database_statement_timeout_ms.max(100)),
        }
    }
}
