//! A limit counted in Redis, so that every instance pointed at the same Redis shares one budget
//! per key. Each check is one round trip: the GCRA script (`gcra.lua`) reads, decides and
//! writes atomically, so two instances checking the same key at once cannot both take its last
//! signup.
//!
//! Redis is bounded by one timeout, connecting included (`RATE_LIMIT_TIMEOUT_MS`): a Redis
//! that is down or hung costs a signup at most that, and then the check fails open or closed
//! (`RATE_LIMIT_FAILURE_MODE`). Failures are counted in
//! `signup_guard_rate_limit_backend_errors_total` and logged at most once a minute, so an
//! outage under a flood does not flood the log.

use super::{Exceeded, FailureMode, Scope};
use crate::metrics::Metrics;
use anyhow::anyhow;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Every key this service writes starts with it, so a Redis shared with other services can
/// tell them apart: `sg:rl:ip:203.0.113.7`, `sg:rl:visitor:<visitor id>`.
const KEY_PREFIX: &str = "sg:rl";

/// An outage is reported once this often while it lasts.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// A handle on the Redis the limits share; clones share the connection.
#[derive(Clone)]
pub(super) struct Shared {
    inner: Arc<Inner>,
}

struct Inner {
    /// Multiplexed, and reconnects by itself after a failure.
    connection: ConnectionManager,
    script: redis::Script,
    timeout: Duration,
    failure_mode: FailureMode,
    metrics: Metrics,
    /// The URL without its password, for the log.
    location: String,
    /// Set by the first failed check, cleared by the next answer: the answer path reads only it.
    failing: AtomicBool,
    outage: Mutex<Outage>,
}

/// The log's view of an outage in progress.
#[derive(Default)]
struct Outage {
    warned_at: Option<Instant>,
    /// Failed checks since the last warning.
    unlogged: u64,
    /// Failed checks since the outage began.
    failed: u64,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("store", &self.inner.location)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Prepares the connection and tries it once. Unreachable is only a warning, so that
    /// instances start (and fail open or closed) while Redis is down; a Redis that answers
    /// with an error (a wrong password, say) stops startup.
    pub(super) async fn connect(
        url: &str,
        timeout: Duration,
        failure_mode: FailureMode,
        metrics: Metrics,
    ) -> anyhow::Result<Self> {
        let location = crate::redact::url(url);
        let client =
            redis::Client::open(url).map_err(|e| anyhow!("{location} is not a Redis URL: {e}"))?;
        // No retries inside the manager: a check waits for at most one attempt, and the next
        // check after a failure starts the next attempt.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(0);
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| anyhow!("cannot use Redis at {location}: {e}"))?;
        let shared = Self {
            inner: Arc::new(Inner {
                connection,
                script: redis::Script::new(include_str!("gcra.lua")),
                timeout,
                failure_mode,
                metrics,
                location,
                failing: AtomicBool::new(false),
                outage: Mutex::new(Outage::default()),
            }),
        };
        let location = &shared.inner.location;
        match shared.ping_once().await {
            Ok(()) => tracing::info!(store = %location, "rate limits shared through Redis"),
            Err(Some(e)) if !e.is_io_error() => {
                return Err(anyhow!("Redis at {location} refused us: {e}"));
            }
            Err(Some(e)) => shared.warn_unreachable_at_start(&e.to_string()),
            Err(None) => shared.warn_unreachable_at_start(&shared.no_answer()),
        }
        Ok(shared)
    }

    fn warn_unreachable_at_start(&self, error: &str) {
        tracing::warn!(
            store = %self.inner.location,
            error,
            "Redis does not answer yet; until it does, {}",
            self.consequence()
        );
    }

    /// Counts one signup against `key`'s budget of `per_minute`.
    pub(super) async fn check(
        &self,
        scope: Scope,
        key: &str,
        per_minute: NonZeroU32,
    ) -> Result<(), Exceeded> {
        let inner = &*self.inner;
        let burst = u64::from(per_minute.get());
        let interval_us = (60_000_000 / burst).max(1);
        let mut connection = inner.connection.clone();
        let mut call = inner
            .script
            .key(format!("{KEY_PREFIX}:{}:{key}", scope.as_str()));
        call.arg(interval_us).arg(burst);
        let answer = call.invoke_async::<(i64, i64)>(&mut connection);
        match tokio::time::timeout(inner.timeout, answer).await {
            Ok(Ok((allowed, wait_us))) => {
                self.answered();
                if allowed == 1 {
                    Ok(())
                } else {
                    let wait_us = u64::try_from(wait_us).unwrap_or(0).max(1);
                    Err(Exceeded::Limited(Duration::from_micros(wait_us)))
                }
            }
            Ok(Err(error)) => self.failed(scope, &error.to_string()),
            Err(_) => self.failed(scope, &self.no_answer()),
        }
    }

    /// Whether Redis answers a PING within the timeout.
    pub(super) async fn ping(&self) -> bool {
        self.ping_once().await.is_ok()
    }

    /// One PING; `Err(None)` when no answer came within the timeout.
    async fn ping_once(&self) -> Result<(), Option<redis::RedisError>> {
        let mut connection = self.inner.connection.clone();
        let ping = redis::cmd("PING");
        let answer = ping.query_async::<String>(&mut connection);
        match tokio::time::timeout(self.inner.timeout, answer).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(Some(e)),
            Err(_) => Err(None),
        }
    }

    fn no_answer(&self) -> String {
        format!(
            "no answer within {} ms (RATE_LIMIT_TIMEOUT_MS)",
            self.inner.timeout.as_millis()
        )
    }

    fn consequence(&self) -> &'static str {
        match self.inner.failure_mode {
            FailureMode::Open => "signups pass without a rate limit (RATE_LIMIT_FAILURE_MODE=open)",
            FailureMode::Closed => {
                "signups are refused with 503 rate_limit_unavailable (RATE_LIMIT_FAILURE_MODE=closed)"
            }
        }
    }

    fn failed(&self, scope: Scope, error: &str) -> Result<(), Exceeded> {
        let inner = &*self.inner;
        inner.metrics.rate_limit_backend_error(scope.as_str());
        inner.failing.store(true, Ordering::Relaxed);
        let mut outage = inner.outage.lock().unwrap_or_else(PoisonError::into_inner);
        outage.failed += 1;
        if outage.warned_at.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
            let unlogged = std::mem::take(&mut outage.unlogged);
            outage.warned_at = Some(Instant::now());
            drop(outage);
            tracing::warn!(
                store = %inner.location,
                error,
                limit = scope.as_str(),
                failed_since_last_warning = unlogged,
                "rate limit store unavailable: {}",
                self.consequence()
            );
        } else {
            outage.unlogged += 1;
        }
        match inner.failure_mode {
            FailureMode::Open => Ok(()),
            FailureMode::Closed => Err(Exceeded::Unavailable),
        }
    }

    fn answered(&self) {
        if !self.inner.failing.swap(false, Ordering::Relaxed) {
            return;
        }
        let outage = std::mem::take(
            &mut *self
                .inner
                .outage
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        tracing::info!(
            store = %self.inner.location,
            failed_checks = outage.failed,
            "rate limit store answers again"
        );
    }
}
