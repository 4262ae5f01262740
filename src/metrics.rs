//! What operators graph and alert on, in the Prometheus text format: attempts by endpoint,
//! verdict and code; Fingerprint fetches by outcome and their latency; decision latency; the
//! hashing queue; the database pool; rate-limit checks the shared store failed. One registry per application, so that several in one
//! process (tests, embedding) do not mix their counts.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::time::Duration;

/// Latency buckets in seconds: a refusal answers in about a millisecond, a new account waits
/// for Argon2 (tens of milliseconds), a slow Fingerprint API takes seconds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The application's metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    attempts: IntCounterVec,
    fingerprint: IntCounterVec,
    fingerprint_seconds: Histogram,
    decision_seconds: HistogramVec,
    hash_queue: IntGauge,
    audit_commits: IntCounter,
    audit_rows: IntCounter,
    pool: IntGaugeVec,
    webhook_backlog: IntGauge,
    rate_limit_errors: IntCounterVec,
}

/// Readings taken when the metrics are scraped rather than counted as they happen.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    /// Passwords waiting for a hashing thread, or being hashed.
    pub hash_queue: usize,
    /// Group commits of refused attempts since the start, and the rows they held.
    pub audit_commits: u64,
    pub audit_rows: u64,
    /// Database connections lent out.
    pub pool_in_use: usize,
    /// Database connections open and idle.
    pub pool_idle: usize,
    /// Decision webhooks not yet delivered nor given up, when the database answered.
    pub webhook_backlog: Option<i64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric; `build_info` carries the version.
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("signup_guard".into()), None)
            .expect("the prefix is a valid metric name");
        let attempts = IntCounterVec::new(
            Opts::new(
                "attempts_total",
                "Signup attempts answered, by endpoint, verdict and answered code; all are in the audit trail but the per-IP rate limit's refusals.",
            ),
            &["endpoint", "verdict", "code"],
        )
        .expect("valid metric");
        let fingerprint = IntCounterVec::new(
            Opts::new(
                "fingerprint_requests_total",
                "Fingerprint Server API event fetches, by outcome.",
            ),
            &["outcome"],
        )
        .expect("valid metric");
        let fingerprint_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "fingerprint_request_duration_seconds",
                "Time to fetch one event from the Fingerprint Server API, retries included.",
            )
            .buckets(BUCKETS.to_vec()),
        )
        .expect("valid metric");
        let decision_seconds = HistogramVec::new(
            HistogramOpts::new(
                "decision_duration_seconds",
                "Time from a signup's or decision's body to its answer, by endpoint.",
            )
            .buckets(BUCKETS.to_vec()),
            &["endpoint"],
        )
        .expect("valid metric");
        let hash_queue = IntGauge::new(
            "hash_queue_depth",
            "Passwords waiting for a hashing thread or being hashed.",
        )
        .expect("valid metric");
        let audit_commits = IntCounter::new(
            "audit_commits_total",
            "Group commits of refused attempts to the audit trail; rows over commits is the batch size.",
        )
        .expect("valid metric");
        let audit_rows = IntCounter::new(
            "audit_rows_total",
            "Refused attempts written to the audit trail by group commit.",
        )
        .expect("valid metric");
        let pool = IntGaugeVec::new(
            Opts::new(
                "db_pool_connections",
                "Database pool connections, by state (in_use, idle).",
            ),
            &["state"],
        )
        .expect("valid metric");
        let webhook_backlog = IntGauge::new(
            "webhook_outbox_backlog",
            "Decision webhooks not yet delivered nor given up.",
        )
        .expect("valid metric");
        let rate_limit_errors = IntCounterVec::new(
            Opts::new(
                "rate_limit_backend_errors_total",
                "Rate-limit checks the shared store (Redis) did not answer in time or answered with an error, by limit (ip, visitor); each was failed open or closed as RATE_LIMIT_FAILURE_MODE says.",
            ),
            &["limit"],
        )
        .expect("valid metric");
        // Present from the start, at 0, so an alert on its rate has a series to read.
        for limit in ["ip", "visitor"] {
            rate_limit_errors.with_label_values(&[limit]);
        }
        let build = IntGaugeVec::new(
            Opts::new("build_info", "Always 1; the labels name the build."),
            &["version"],
        )
        .expect("valid metric");
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        for collector in [
            Box::new(attempts.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(fingerprint.clone()),
            Box::new(fingerprint_seconds.clone()),
            Box::new(decision_seconds.clone()),
            Box::new(hash_queue.clone()),
            Box::new(audit_commits.clone()),
            Box::new(audit_rows.clone()),
            Box::new(pool.clone()),
            Box::new(webhook_backlog.clone()),
            Box::new(rate_limit_errors.clone()),
            Box::new(build),
        ] {
            registry
                .register(collector)
                .expect("each metric is registered once");
        }
        Self {
            registry,
            attempts,
            fingerprint,
            fingerprint_seconds,
            decision_seconds,
            hash_queue,
            audit_commits,
            audit_rows,
            pool,
            webhook_backlog,
            rate_limit_errors,
        }
    }

    /// One recorded attempt.
    pub fn attempt(&self, endpoint: &str, verdict: &str, code: &str) {
        self.attempts
            .with_label_values(&[endpoint, verdict, code])
            .inc();
    }

    /// One event fetch and how it ended (`ok`, `not_found`, `unavailable`, ...).
    pub fn fingerprint_fetch(&self, outcome: &str, took: Duration) {
        self.fingerprint.with_label_values(&[outcome]).inc();
        self.fingerprint_seconds.observe(took.as_secs_f64());
    }

    /// One rate-limit check the shared store failed, for the limit named (`ip`, `visitor`).
    pub fn rate_limit_backend_error(&self, limit: &str) {
        self.rate_limit_errors.with_label_values(&[limit]).inc();
    }

    /// One answered signup or decision.
    pub fn decided(&self, endpoint: &str, took: Duration) {
        self.decision_seconds
            .with_label_values(&[endpoint])
            .observe(took.as_secs_f64());
    }

    /// The exposition, with the scrape-time readings.
    pub fn render(&self, gauges: Gauges) -> String {
        let as_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.hash_queue.set(as_i64(gauges.hash_queue));
        // Counted by the writer; brought up to its reading (never down) at each scrape.
        for (counter, now) in [
            (&self.audit_commits, gauges.audit_commits),
            (&self.audit_rows, gauges.audit_rows),
        ] {
            counter.inc_by(now.saturating_sub(counter.get()));
        }
        self.pool
            .with_label_values(&["in_use"])
            .set(as_i64(gauges.pool_in_use));
        self.pool
            .with_label_values(&["idle"])
            .set(as_i64(gauges.pool_idle));
        if let Some(backlog) = gauges.webhook_backlog {
            self.webhook_backlog.set(backlog);
        }
        let mut text = Vec::new();
        // Encoding into a Vec only fails on an invalid metric, which `new` rules out.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut text);
        String::from_utf8(text).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_show_in_the_exposition_with_their_labels() {
        let metrics = Metrics::new();
        metrics.attempt("signup", "block", "bot_detected");
        metrics.attempt("signup", "block", "bot_detected");
        metrics.fingerprint_fetch("ok", Duration::from_millis(3));
        metrics.rate_limit_backend_error("visitor");
        let text = metrics.render(Gauges {
            hash_queue: 2,
            audit_commits: 5,
            audit_rows: 40,
            pool_in_use: 1,
            pool_idle: 4,
            webhook_backlog: Some(3),
        });
        assert!(
            text.contains(
                r#"signup_guard_attempts_total{code="bot_detected",endpoint="signup",verdict="block"} 2"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"signup_guard_fingerprint_requests_total{outcome="ok"} 1"#));
        assert!(text.contains("signup_guard_fingerprint_request_duration_seconds_count 1"));
        assert!(text.contains("signup_guard_hash_queue_depth 2"));
        assert!(text.contains(r#"signup_guard_db_pool_connections{state="idle"} 4"#));
        assert!(text.contains("signup_guard_webhook_outbox_backlog 3"));
        assert!(text.contains(r#"signup_guard_rate_limit_backend_errors_total{limit="visitor"} 1"#));
        assert!(text.contains("signup_guard_build_info{version="));
        assert!(
            text.contains("signup_guard_audit_commits_total 5"),
            "{text}"
        );
        assert!(text.contains("signup_guard_audit_rows_total 40"));
        // The writer's counts only grow; a later scrape shows the later reading.
        let gauges = Gauges {
            audit_commits: 7,
            audit_rows: 41,
            ..Gauges::default()
        };
        let text = metrics.render(gauges);
        assert!(
            text.contains("signup_guard_audit_commits_total 7"),
            "{text}"
        );
        assert!(text.contains("signup_guard_audit_rows_total 41"));
    }
}
