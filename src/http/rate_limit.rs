//! Per-client-IP rate limiting of signups: every signup with a well-formed requestId costs a
//! Fingerprint API call, so a flood from one address must not spend the workspace's quota.
//!
//! The limit is per instance (in memory); off by default, because behind a proxy the client IP is
//! only known once `trusted_proxy_hops` is set, and until then every request shares the proxy's.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// Signups per minute per client IP, with bursts up to the same number.
#[derive(Debug, Clone)]
pub struct SignupLimiter {
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl SignupLimiter {
    /// `None` when `per_minute` is 0 (off).
    pub fn new(per_minute: u32) -> Option<Self> {
        let quota = Quota::per_minute(NonZeroU32::new(per_minute)?);
        let limiter = Arc::new(RateLimiter::keyed(quota));
        // Forget addresses whose budget is full again, so memory follows recent traffic only.
        let weak = Arc::downgrade(&limiter);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                match weak.upgrade() {
                    Some(limiter) => limiter.retain_recent(),
                    None => break,
                }
            }
        });
        Some(Self { limiter })
    }

    /// `Err(wait)` when this address has used its budget.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.limiter
            .check_key(&budget_key(ip))
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
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

    #[tokio::test]
    async fn each_address_has_its_own_budget() {
        assert!(SignupLimiter::new(0).is_none(), "0 turns the limit off");
        let limiter = SignupLimiter::new(3).unwrap();
        let (a, b): (IpAddr, IpAddr) = (
            "203.0.113.1".parse().unwrap(),
            "203.0.113.2".parse().unwrap(),
        );
        for _ in 0..3 {
            assert!(limiter.check(a).is_ok());
        }
        let wait = limiter.check(a).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(limiter.check(b).is_ok(), "another address is not affected");
    }

    #[tokio::test]
    async fn an_ipv6_client_has_one_budget_for_its_whole_64() {
        let limiter = SignupLimiter::new(1).unwrap();
        let first: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(limiter.check(first).is_ok());
        assert!(limiter.check(same_64).is_err(), "same /64, same budget");
        assert!(limiter.check(other_64).is_ok());
    }
}
