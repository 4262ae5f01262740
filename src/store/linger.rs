//! Waiting a moment for company before a statement, while the CPU is crowded.
//!
//! The audit writer and the count readers send whatever is waiting as one statement. Under a
//! paced flood that is a few rows each time, and every statement costs CPU of its own (a
//! transaction, an fsync, a thread woken on SQLite). Beside real users that CPU is taken from
//! their password hashes, so while hashes are waiting the batch waits a moment for more rows.
//! With nothing else wanting the CPU, a statement goes out at once: in a closed loop (clients
//! that send again when answered) a wait only adds latency, and the rate falls with it.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Whether other work wants the CPU at this moment.
pub type Crowded = Arc<dyn Fn() -> bool + Send + Sync>;

/// When and how long a small batch waits for more.
#[derive(Clone)]
pub struct Linger {
    crowded: Crowded,
    wait: Duration,
}

impl std::fmt::Debug for Linger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Linger").field("wait", &self.wait).finish()
    }
}

impl Linger {
    /// The wait the service uses: small beside a signup's wait for its password hash under a
    /// flood. Each statement saved is an execution the database server need not set up and,
    /// for the audit writer, a commit, whose flush costs it a notification of the (virtual)
    /// disk beside its fsync.
    /// Beside a flood of 1,000 bots a second on two PostgreSQL instances, 25 ms against 6 took
    /// an eighth off the database server's CPU and gave the hashes about 8 points more of the
    /// cores (docs/performance.md). A refusal may wait twice this, for its count and its
    /// record, so while hashes queue it is answered up to 50 ms later.
    pub const WAIT: Duration = Duration::from_millis(25);
    /// A batch this large goes out without waiting.
    pub const ENOUGH: usize = 16;

    /// Never waits: every batch goes out as soon as it is taken.
    pub fn never() -> Self {
        Self::while_crowded(Arc::new(|| false), Duration::ZERO)
    }

    /// Waits up to `wait` while `crowded` says so.
    pub fn while_crowded(crowded: Crowded, wait: Duration) -> Self {
        Self { crowded, wait }
    }

    /// Adds to `batch` what `queue` brings within the wait, while the CPU is crowded and the
    /// batch is smaller than [`Linger::ENOUGH`]; never past `max` rows.
    pub async fn gather<T>(&self, queue: &mut mpsc::Receiver<T>, batch: &mut Vec<T>, max: usize) {
        if batch.len() >= Self::ENOUGH || self.wait.is_zero() || !(self.crowded)() {
            return;
        }
        let until = tokio::time::Instant::now() + self.wait;
        while batch.len() < Self::ENOUGH.min(max) {
            let room = max - batch.len();
            match tokio::time::timeout_at(until, queue.recv_many(batch, room)).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Far longer than any test step, so no outcome below depends on the machine's speed.
    const LONG: Duration = Duration::from_secs(30);

    fn crowded(yes: bool) -> Linger {
        Linger::while_crowded(Arc::new(move || yes), LONG)
    }

    #[tokio::test]
    async fn a_calm_cpu_sends_what_was_taken_at_once() {
        let (tx, mut queue) = mpsc::channel(16);
        tx.send(2).await.unwrap();
        let mut batch = vec![1];
        let linger = crowded(false);
        let gathered = linger.gather(&mut queue, &mut batch, 64);
        tokio::time::timeout(Duration::from_secs(10), gathered)
            .await
            .expect("no wait");
        assert_eq!(batch, [1], "nothing more is taken");
    }

    #[tokio::test]
    async fn a_crowded_cpu_waits_until_the_batch_is_big_enough() {
        let (tx, mut queue) = mpsc::channel(64);
        let sender = tokio::spawn(async move {
            for n in 2..=Linger::ENOUGH + 4 {
                tx.send(n).await.unwrap();
                tokio::task::yield_now().await;
            }
        });
        let mut batch = vec![1];
        let linger = crowded(true);
        let gathered = linger.gather(&mut queue, &mut batch, 64);
        tokio::time::timeout(Duration::from_secs(10), gathered)
            .await
            .expect("a batch of ENOUGH ends the wait");
        assert!(batch.len() >= Linger::ENOUGH, "{batch:?}");
        let first: Vec<usize> = (1..=Linger::ENOUGH).collect();
        assert_eq!(batch[..Linger::ENOUGH], first[..]);
        sender.await.unwrap();
    }

    #[tokio::test]
    async fn the_wait_never_takes_past_the_batch_limit_and_ends_when_the_queue_closes() {
        let (tx, mut queue) = mpsc::channel(16);
        for n in 2..=6 {
            tx.send(n).await.unwrap();
        }
        let mut batch = vec![1];
        crowded(true).gather(&mut queue, &mut batch, 3).await;
        assert_eq!(batch, [1, 2, 3]);
        drop(tx);
        let mut batch = vec![];
        let linger = crowded(true);
        let gathered = linger.gather(&mut queue, &mut batch, 64);
        tokio::time::timeout(Duration::from_secs(10), gathered)
            .await
            .expect("a closed queue ends the wait");
        assert_eq!(batch, [4, 5, 6]);
    }
}
