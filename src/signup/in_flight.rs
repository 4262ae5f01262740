//! Signups that outlive their connection. A signup runs on its own task so that a client who
//! hangs up cannot cut it short; shutdown must then wait for those tasks too, or a signup
//! already half-way through would be dropped at exit, unrecorded.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// Counts running signups; [`InFlight::idle`] resolves once there are none.
#[derive(Debug, Clone, Default)]
pub struct InFlight {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    running: AtomicUsize,
    done: Notify,
}

/// Held by one running signup; dropping it marks the signup finished.
#[derive(Debug)]
pub struct Running {
    inner: Arc<Inner>,
}

impl InFlight {
    /// Marks a signup as started.
    pub fn start(&self) -> Running {
        self.inner.running.fetch_add(1, Ordering::SeqCst);
        Running {
            inner: self.inner.clone(),
        }
    }

    /// How many signups are running.
    pub fn count(&self) -> usize {
        self.inner.running.load(Ordering::SeqCst)
    }

    /// Resolves when no signup is running.
    pub async fn idle(&self) {
        loop {
            // Registered before the check, so a signup that ends in between still wakes us.
            let done = self.inner.done.notified();
            if self.count() == 0 {
                return;
            }
            done.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.inner.running.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.inner.done.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn idle_waits_for_every_running_signup() {
        let in_flight = InFlight::default();
        in_flight.idle().await; // nothing running: at once
        let (a, b) = (in_flight.start(), in_flight.start());
        let waiter = tokio::spawn({
            let in_flight = in_flight.clone();
            async move { in_flight.idle().await }
        });
        drop(a);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "one signup still runs");
        drop(b);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("idle once the last one ends")
            .unwrap();
    }
}
