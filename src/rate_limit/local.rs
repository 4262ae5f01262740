//! A limit counted in this instance's memory: each instance of a fleet has its own budgets.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// `per_minute` signups a minute per key, with bursts up to the same number.
#[derive(Debug, Clone)]
pub(super) struct Local {
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
}

impl Local {
    /// Needs a Tokio runtime, for the task that forgets idle keys.
    pub(super) fn new(per_minute: NonZeroU32) -> Self {
        let limiter = Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute)));
        // Forget keys whose budget is full again, so memory follows recent traffic only.
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
        Self { limiter }
    }

    /// `Err(wait)` when `key` has used its budget.
    pub(super) fn check(&self, key: &str) -> Result<(), Duration> {
        self.limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}
