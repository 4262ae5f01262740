//! How many client connections the process's file descriptors leave room for: the default of
//! `MAX_CONNECTIONS`.
//!
//! Every client connection takes a descriptor, and so does what the service needs to answer
//! one. The default leaves room for those, so that a flood of connections meets the cap, where
//! the idlest connection is shed, rather than the descriptor limit, where `accept` fails for
//! every newcomer, `/health` included ("Too many open files"):
//!
//! ```text
//! (soft RLIMIT_NOFILE − 32 − 3 × (DATABASE_MAX_CONNECTIONS + 3)) / 2, within 8 to 16384
//! ```
//!
//! - 32: the standard streams, the runtime's poller and wakers, the signal pipe, the listener
//!   (the process idles at about a dozen), DNS lookups, and connections shed but not yet closed;
//! - 3 per database connection: a SQLite connection keeps the database, its WAL and its
//!   shared-memory file open (a PostgreSQL one, a single socket). The pool's, and 3 more that
//!   the audit writer and the count readers keep for themselves;
//! - halved: a connection with a signup in flight holds a second descriptor for its call to
//!   Fingerprint, and the client keeps those open for the next call;
//! - at least 8, so that a service started under a tiny limit still serves (and warns); at most
//!   16384, so that memory too stays bounded when the descriptor limit is in the millions.

/// Descriptors kept for everything but client and database connections.
pub const RESERVED_DESCRIPTORS: u64 = 32;
/// Descriptors one database connection may hold (SQLite's three files).
pub const DESCRIPTORS_PER_DATABASE_CONNECTION: u64 = 3;
/// The smallest default cap.
pub const MIN_DEFAULT_CONNECTIONS: usize = 8;
/// The largest default cap.
pub const MAX_DEFAULT_CONNECTIONS: usize = 16_384;

/// The soft limit on this process's open descriptors; `None` when unlimited or unknown.
#[cfg(unix)]
pub fn descriptor_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// The soft limit on this process's open descriptors; `None` when unlimited or unknown.
#[cfg(not(unix))]
pub fn descriptor_limit() -> Option<u64> {
    None
}

/// How many client connections fit beside what the service needs, before the default's bounds;
/// `None` without a limit.
pub fn fitting(descriptor_limit: Option<u64>, database_connections: u32) -> Option<usize> {
    let reserved = RESERVED_DESCRIPTORS
        + DESCRIPTORS_PER_DATABASE_CONNECTION
            * (u64::from(database_connections) + u64::from(crate::store::BATCH_CONNECTIONS));
    let fitting = descriptor_limit?.saturating_sub(reserved) / 2;
    Some(usize::try_from(fitting).unwrap_or(usize::MAX))
}

/// The default cap for a pool of `database_connections`.
pub fn default_max_connections(descriptor_limit: Option<u64>, database_connections: u32) -> usize {
    fitting(descriptor_limit, database_connections)
        .unwrap_or(MAX_DEFAULT_CONNECTIONS)
        .clamp(MIN_DEFAULT_CONNECTIONS, MAX_DEFAULT_CONNECTIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_follows_the_descriptor_limit_and_leaves_room_for_the_pool() {
        let cases: Vec<(Option<u64>, u32, usize, &str)> = vec![
            (Some(1024), 10, 476, "a common soft limit, the default pool"),
            (Some(1024), 100, 341, "a larger pool leaves fewer"),
            (Some(72), 2, 12, "the limit the slowloris test runs under"),
            (
                Some(128),
                2,
                40,
                "twice the limit, more than twice the connections",
            ),
            (
                Some(64),
                10,
                8,
                "too few descriptors: the floor (and a warning)",
            ),
            (Some(10), 10, 8, "fewer descriptors than the reserve"),
            (
                Some(1 << 20),
                10,
                16_384,
                "a container's million: the ceiling",
            ),
            (None, 10, 16_384, "no limit: the ceiling"),
        ];
        for (limit, pool, expected, why) in cases {
            assert_eq!(default_max_connections(limit, pool), expected, "{why}");
        }
    }

    #[test]
    fn what_fits_is_reported_before_the_bounds_so_startup_can_warn() {
        assert_eq!(fitting(Some(80), 10), Some(4));
        assert_eq!(fitting(Some(20), 10), Some(0));
        assert_eq!(fitting(None, 10), None);
    }
}
