//! The rate-limit area: the per-IP and per-visitor signup limits, and the Redis that lets every
//! instance share them.

use super::non_empty;
use crate::rate_limit::{FailureMode, Settings, DEFAULT_TIMEOUT};
use anyhow::bail;
use clap::{Args, ValueEnum};
use std::time::Duration;

/// The shortest and longest Redis timeout: under 10 ms a busy network already fails checks;
/// over a second a hung Redis would hold every signup that long.
const TIMEOUT_RANGE_MS: std::ops::RangeInclusive<u64> = 10..=1000;

/// Signup rate limits (`serve`).
#[derive(Clone, Args)]
#[command(next_help_heading = "Rate limits")]
pub struct RateLimitArgs {
    /// Signups per minute from one client IP (an IPv6 client's /64), bursts up to the same
    /// number; 0 turns the limit off. Set `trusted_proxy_hops` first when behind a proxy, or
    /// every client shares the proxy's budget.
    #[arg(long, env = "SIGNUP_RATE_LIMIT_PER_MINUTE", default_value_t = 0)]
    pub signup_rate_limit_per_minute: u32,
    /// Signups per minute from one device (Fingerprint visitor id), create-account and the
    /// decision API together, bursts up to the same number; 0 turns the limit off.
    #[arg(
        long,
        env = "SIGNUP_RATE_LIMIT_PER_VISITOR_PER_MINUTE",
        default_value_t = 0
    )]
    pub signup_rate_limit_per_visitor_per_minute: u32,
    /// Redis (redis://[:password@]host:6379[/db], rediss:// for TLS) where every instance
    /// counts the limits together; unset, each instance counts its own in memory.
    #[arg(long, env = "RATE_LIMIT_URL", hide_env_values = true)]
    pub rate_limit_url: Option<String>,
    /// When Redis does not answer: `open` lets signups through unchecked (with a warning and
    /// a metric), `closed` refuses them with 503 rate_limit_unavailable.
    #[arg(long, env = "RATE_LIMIT_FAILURE_MODE", value_enum, default_value_t = FailureModeArg::Open)]
    pub rate_limit_failure_mode: FailureModeArg,
    /// How long a check waits for Redis, connecting included (ms, 10 to 1000); past it Redis
    /// counts as down for that check.
    #[arg(long, env = "RATE_LIMIT_TIMEOUT_MS", default_value_t = super::millis(DEFAULT_TIMEOUT))]
    pub rate_limit_timeout_ms: u64,
}

/// `RATE_LIMIT_FAILURE_MODE`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailureModeArg {
    /// Fail open: signups pass without a limit while Redis is down.
    Open,
    /// Fail closed: signups get 503 while Redis is down.
    Closed,
}

impl RateLimitArgs {
    /// Validates the rate-limit settings.
    pub fn validate(&self) -> anyhow::Result<Settings> {
        if !TIMEOUT_RANGE_MS.contains(&self.rate_limit_timeout_ms) {
            bail!(
                "RATE_LIMIT_TIMEOUT_MS must be between {} and {}, got {}",
                TIMEOUT_RANGE_MS.start(),
                TIMEOUT_RANGE_MS.end(),
                self.rate_limit_timeout_ms
            );
        }
        let redis_url = non_empty(self.rate_limit_url.clone());
        if let Some(url) = &redis_url {
            let scheme = url.split_once("://").map(|(scheme, _)| scheme);
            let known = ["redis", "rediss", "redis+unix", "unix", "valkey", "valkeys"];
            if !scheme.is_some_and(|s| known.contains(&s)) {
                bail!(
                    "RATE_LIMIT_URL must be a Redis URL such as redis://:password@host:6379/0 (rediss:// for TLS, redis+unix:///path for a socket), got {}",
                    crate::redact::url(url)
                );
            }
        }
        Ok(Settings {
            per_ip_per_minute: self.signup_rate_limit_per_minute,
            per_visitor_per_minute: self.signup_rate_limit_per_visitor_per_minute,
            redis_url,
            failure_mode: match self.rate_limit_failure_mode {
                FailureModeArg::Open => FailureMode::Open,
                FailureModeArg::Closed => FailureMode::Closed,
            },
            timeout: Duration::from_millis(self.rate_limit_timeout_ms),
        })
    }
}
