//! When and how long to wait before trying a failed call again.

use crate::FingerprintError;
use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::time::Duration;
use tokio::time::Instant;

/// Bounded retries with jittered exponential backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first try for 5xx, timeouts, refused connections and 429.
    pub max_retries: u32,
    /// The first backoff; each retry doubles it, up to `max_delay`, and a random share is taken.
    pub base_delay: Duration,
    /// The longest backoff between two tries.
    pub max_delay: Duration,
    /// The pause before the single retry of a 404 (events can lag behind identification).
    pub not_found_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            not_found_delay: Duration::from_millis(300),
        }
    }
}

/// The retry budget of one call.
pub(super) struct Attempts {
    policy: RetryPolicy,
    retries: u32,
    retried_not_found: bool,
}

impl Attempts {
    pub(super) fn new(policy: &RetryPolicy) -> Self {
        Self {
            policy: *policy,
            retries: 0,
            retried_not_found: false,
        }
    }

    /// How long to wait before the next try, or `None` to return `outcome` as it is.
    /// A wait that would end past the deadline is not taken: failing now leaves the caller time
    /// to answer its own client.
    pub(super) fn next_wait<T>(
        &mut self,
        outcome: &Result<T, FingerprintError>,
        deadline: Instant,
    ) -> Option<Duration> {
        let wait = match outcome {
            Ok(_) => return None,
            Err(FingerprintError::NotFound) if !self.retried_not_found => {
                self.retried_not_found = true;
                self.policy.not_found_delay
            }
            Err(FingerprintError::RateLimited { retry_after })
                if self.retries < self.policy.max_retries =>
            {
                self.retries += 1;
                retry_after.unwrap_or_else(|| self.backoff())
            }
            Err(FingerprintError::Unavailable(_)) if self.retries < self.policy.max_retries => {
                self.retries += 1;
                self.backoff()
            }
            Err(_) => return None,
        };
        (Instant::now() + wait < deadline).then_some(wait)
    }

    /// "Full jitter": a random wait up to the exponential cap, so many clients that failed together
    /// do not retry together.
    fn backoff(&self) -> Duration {
        let exp = self
            .policy
            .base_delay
            .saturating_mul(1 << self.retries.saturating_sub(1).min(16));
        let cap = exp.min(self.policy.max_delay);
        let millis = cap.as_millis().max(1) as u64;
        Duration::from_millis(rand::thread_rng().gen_range(millis / 2..=millis))
    }
}

/// Reads `Retry-After` given in seconds (the form Fingerprint sends).
pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[test]
    fn a_not_found_is_retried_once() {
        let mut attempts = Attempts::new(&RetryPolicy::default());
        let outcome: Result<(), _> = Err(FingerprintError::NotFound);
        assert_eq!(
            attempts.next_wait(&outcome, far()),
            Some(Duration::from_millis(300))
        );
        assert_eq!(attempts.next_wait(&outcome, far()), None);
    }

    #[test]
    fn transient_failures_are_retried_up_to_the_limit() {
        let mut attempts = Attempts::new(&RetryPolicy::default());
        let outcome: Result<(), _> = Err(FingerprintError::Unavailable("503".into()));
        let first = attempts.next_wait(&outcome, far()).unwrap();
        assert!(
            first >= Duration::from_millis(50) && first <= Duration::from_millis(100),
            "{first:?}"
        );
        let second = attempts.next_wait(&outcome, far()).unwrap();
        assert!(
            second >= Duration::from_millis(100) && second <= Duration::from_millis(200),
            "{second:?}"
        );
        assert_eq!(attempts.next_wait(&outcome, far()), None);
    }

    #[test]
    fn retry_after_is_honoured_only_inside_the_deadline() {
        let mut attempts = Attempts::new(&RetryPolicy::default());
        let outcome: Result<(), _> = Err(FingerprintError::RateLimited {
            retry_after: Some(Duration::from_secs(2)),
        });
        assert_eq!(
            attempts.next_wait(&outcome, far()),
            Some(Duration::from_secs(2))
        );
        let soon = Instant::now() + Duration::from_secs(1);
        assert_eq!(attempts.next_wait(&outcome, soon), None);
    }

    #[test]
    fn refusals_are_never_retried() {
        let mut attempts = Attempts::new(&RetryPolicy::default());
        let outcome: Result<(), _> = Err(FingerprintError::Forbidden {
            code: None,
            message: String::new(),
        });
        assert_eq!(attempts.next_wait(&outcome, far()), None);
        let outcome: Result<(), _> = Err(FingerprintError::BadRequest {
            code: None,
            message: String::new(),
        });
        assert_eq!(attempts.next_wait(&outcome, far()), None);
    }

    #[test]
    fn retry_after_reads_seconds() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }
}
