//! Rate limits on signups. Every signup with a well-formed requestId costs a Fingerprint API
//! call, so a flood must not spend the workspace's quota: one limit per client IP, checked by
//! the HTTP layer before any work, and one per visitor, checked by the signup flow once the
//! event names the device (a device that hops between addresses keeps its budget).
//!
//! A limit counts in this instance's memory, or, with `RATE_LIMIT_URL`, in Redis, where every
//! instance shares one budget per key. Both count the same way (GCRA: a budget of `n` signups
//! a minute, earned back one every `60 / n` seconds, up to `n` at once): in memory with
//! governor, in Redis with one Lua script per check ([`shared`]). Both limits are off by default,
//! because behind a proxy the client IP is only known once `trusted_proxy_hops` is set.

mod local;
mod shared;

use crate::metrics::Metrics;
use anyhow::Context as _;
use local::Local;
use shared::Shared;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

/// The limits' settings, as `settings::rate_limit` validates them. No `Debug`: the URL may
/// carry a password.
#[derive(Clone)]
pub struct Settings {
    /// Signups per minute per client IP (0 = off).
    pub per_ip_per_minute: u32,
    /// Signups per minute per visitor id (0 = off).
    pub per_visitor_per_minute: u32,
    /// Redis, shared by every instance; `None` counts in memory, per instance.
    pub redis_url: Option<String>,
    /// What a check does when Redis does not answer in time.
    pub failure_mode: FailureMode,
    /// How long a check waits for Redis, connecting included.
    pub timeout: Duration,
}

/// A Redis answer takes well under a millisecond on the same network; past this the store is
/// treated as down, so that a hung Redis delays a signup by no more than this.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(100);

impl Default for Settings {
    fn default() -> Self {
        Self {
            per_ip_per_minute: 0,
            per_visitor_per_minute: 0,
            redis_url: None,
            failure_mode: FailureMode::default(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// What a check does when the shared store cannot answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FailureMode {
    /// Let the signup through unchecked, with a warning in the log and a metric.
    #[default]
    Open,
    /// Refuse the signup with 503 `rate_limit_unavailable`.
    Closed,
}

/// What a limit counts by; it names the keys, the log lines and the metric's label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The client IP (an IPv6 client's /64).
    Ip,
    /// The device's visitor id.
    Visitor,
}

impl Scope {
    /// The scope's name in keys and labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ip => "ip",
            Self::Visitor => "visitor",
        }
    }
}

/// A signup a limit does not let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    /// Over the limit: the budget has room again after this long.
    Limited(Duration),
    /// The shared store did not answer, and the limits fail closed.
    Unavailable,
}

/// One limit: a budget of signups per minute for each key of its scope.
#[derive(Debug, Clone)]
pub struct Limit {
    scope: Scope,
    per_minute: NonZeroU32,
    counter: Counter,
}

#[derive(Debug, Clone)]
enum Counter {
    Local(Local),
    Shared(Shared),
}

impl Limit {
    /// Counts one signup against `key`'s budget.
    pub async fn check(&self, key: &str) -> Result<(), Exceeded> {
        match &self.counter {
            Counter::Local(local) => local.check(key).map_err(Exceeded::Limited),
            Counter::Shared(shared) => shared.check(self.scope, key, self.per_minute).await,
        }
    }

    /// Counts one signup against the budget of `ip`'s address (or /64).
    pub async fn check_ip(&self, ip: IpAddr) -> Result<(), Exceeded> {
        self.check(&budget_key(ip).to_string()).await
    }

    /// What it counts by.
    pub fn scope(&self) -> Scope {
        self.scope
    }
}

/// An application's limits, and the store they share when there is one.
#[derive(Debug, Clone, Default)]
pub struct RateLimits {
    /// Per client IP, when configured.
    pub per_ip: Option<Limit>,
    /// Per visitor id, when configured.
    pub per_visitor: Option<Limit>,
    shared: Option<Shared>,
}

/// The shared store's state, as `/health` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreStatus {
    /// Redis answered.
    Ok,
    /// Redis did not answer in time.
    Unavailable,
}

impl RateLimits {
    /// Builds the configured limits. With a Redis URL, a Redis that cannot be reached yet is
    /// only a warning (the checks then fail open or closed until it answers), but one that
    /// refuses our credentials stops startup: that needs the operator, not a retry.
    pub async fn start(settings: &Settings, metrics: Metrics) -> anyhow::Result<Self> {
        let per_ip = NonZeroU32::new(settings.per_ip_per_minute);
        let per_visitor = NonZeroU32::new(settings.per_visitor_per_minute);
        let shared = match &settings.redis_url {
            Some(_) if per_ip.is_none() && per_visitor.is_none() => {
                tracing::warn!(
                    "RATE_LIMIT_URL is set but no rate limit is: set SIGNUP_RATE_LIMIT_PER_MINUTE or SIGNUP_RATE_LIMIT_PER_VISITOR_PER_MINUTE"
                );
                None
            }
            Some(url) => Some(
                Shared::connect(url, settings.timeout, settings.failure_mode, metrics)
                    .await
                    .context("cannot use RATE_LIMIT_URL")?,
            ),
            None => None,
        };
        let limit = |scope, per_minute: Option<NonZeroU32>| {
            per_minute.map(|per_minute| Limit {
                scope,
                per_minute,
                counter: match &shared {
                    Some(shared) => Counter::Shared(shared.clone()),
                    None => Counter::Local(Local::new(per_minute)),
                },
            })
        };
        Ok(Self {
            per_ip: limit(Scope::Ip, per_ip),
            per_visitor: limit(Scope::Visitor, per_visitor),
            shared,
        })
    }

    /// Whether the shared store answers; `None` without one.
    pub async fn store_status(&self) -> Option<StoreStatus> {
        let shared = self.shared.as_ref()?;
        Some(if shared.ping().await {
            StoreStatus::Ok
        } else {
            StoreStatus::Unavailable
        })
    }
}

/// One budget per IPv4 address, and per IPv6 /64: a single IPv6 client usually holds a whole
/// /64 and could otherwise take a fresh budget with every address in it.
fn budget_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(per_minute: u32) -> Settings {
        Settings {
            per_ip_per_minute: per_minute,
            ..Settings::default()
        }
    }

    #[tokio::test]
    async fn each_address_has_its_own_budget() {
        let off = RateLimits::start(&local(0), Metrics::new()).await.unwrap();
        assert!(off.per_ip.is_none(), "0 turns the limit off");
        let limits = RateLimits::start(&local(3), Metrics::new()).await.unwrap();
        let limit = limits.per_ip.unwrap();
        let (a, b): (IpAddr, IpAddr) = (
            "203.0.113.1".parse().unwrap(),
            "203.0.113.2".parse().unwrap(),
        );
        for _ in 0..3 {
            assert_eq!(limit.check_ip(a).await, Ok(()));
        }
        let Err(Exceeded::Limited(wait)) = limit.check_ip(a).await else {
            panic!("the fourth is over the limit");
        };
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert_eq!(
            limit.check_ip(b).await,
            Ok(()),
            "another address is not affected"
        );
    }

    #[tokio::test]
    async fn an_ipv6_client_has_one_budget_for_its_whole_64() {
        let limit = RateLimits::start(&local(1), Metrics::new())
            .await
            .unwrap()
            .per_ip
            .unwrap();
        let first: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        let mapped: IpAddr = "::ffff:203.0.113.9".parse().unwrap();
        assert_eq!(limit.check_ip(first).await, Ok(()));
        assert!(
            limit.check_ip(same_64).await.is_err(),
            "same /64, same budget"
        );
        assert_eq!(limit.check_ip(other_64).await, Ok(()));
        assert_eq!(budget_key(mapped), "203.0.113.9".parse::<IpAddr>().unwrap());
    }
}
