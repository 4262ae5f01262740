/// What can go wrong in the store, in the terms the HTTP layer needs.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The username, or one that looks the same, already has an account.
    #[error("username taken")]
    UsernameTaken,
    /// This event id already created an account.
    #[error("event already used")]
    EventAlreadyUsed,
    /// The device already has its allowed number of accounts.
    #[error("device limit reached")]
    DeviceLimit,
    /// The database cannot be reached or is overloaded; the same call may succeed later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database URL or settings are wrong.
    #[error("{0}")]
    Config(String),
    /// The schema could not be brought up to date.
    #[error("migration failed: {0}")]
    Migration(String),
    /// Anything else.
    #[error("database error: {0}")]
    Other(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        use sqlx::Error as E;
        match &error {
            E::Database(db) if db.is_unique_violation() => {
                // SQLite names the column in its message, PostgreSQL gives the index name.
                let what = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
                if what.contains("username_key") || what.contains("username_skeleton") {
                    StoreError::UsernameTaken
                } else if what.contains("event_id") {
                    StoreError::EventAlreadyUsed
                } else {
                    StoreError::Other(error.to_string())
                }
            }
            E::Database(db) if is_transient_code(db.code().as_deref()) => {
                StoreError::Unavailable(error.to_string())
            }
            E::Io(_) | E::Tls(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed => {
                StoreError::Unavailable(error.to_string())
            }
            _ => StoreError::Other(error.to_string()),
        }
    }
}

/// Codes that mean "try again later": SQLite busy/locked, PostgreSQL connection exceptions
/// (class 08), shutdowns (57P0x), serialization failures, deadlocks, a statement or lock wait
/// cut short by `statement_timeout` (57014, 55P03). PostgreSQL refuses a
/// new connection to a database closed to connections (`ALLOW_CONNECTIONS false`, as during
/// maintenance) with 55000; none of the store's queries can raise that code otherwise.
fn is_transient_code(code: Option<&str>) -> bool {
    match code {
        Some(code) => {
            matches!(
                code,
                "5" | "6"
                    | "261"
                    | "517"
                    | "40001"
                    | "40P01"
                    | "53300"
                    | "55000"
                    | "57014"
                    | "55P03"
            ) || code.starts_with("08")
                || code.starts_with("57P")
        }
        None => false,
    }
}
