//! Group commit for the audit trail. During a bot flood nearly every signup is refused, and a
//! refusal writes one row: committed alone, each costs a transaction and (on SQLite) an fsync.
//! Here one task writes the refusals, every row waiting at that moment in one statement, so a
//! flood pays one commit per batch. Each caller waits for the commit that holds its row, so a
//! refusal is answered only once its record is durable.

use super::{Held, Linger, NewAttempt, Store, StoreError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The most rows one statement writes (12 parameters a row; well under both backends' limits).
const MAX_BATCH: usize = 256;
/// Rows waiting for the writer; a caller past this waits for room (backpressure, not loss).
const QUEUE: usize = 8192;

/// The handle callers record refused attempts through.
#[derive(Debug, Clone)]
pub struct AuditLog {
    jobs: mpsc::Sender<Job>,
    written: Arc<Written>,
}

/// What the writer has committed so far: rows per commit is the batch size a flood got.
#[derive(Debug, Default)]
struct Written {
    commits: AtomicU64,
    rows: AtomicU64,
}

#[derive(Debug)]
struct Job {
    attempt: NewAttempt,
    done: oneshot::Sender<Result<(), StoreError>>,
}

impl AuditLog {
    /// Starts the writer task. It runs until every handle is dropped, after writing what was
    /// queued. Each batch is committed as soon as it is taken.
    pub fn start(store: Store) -> AuditLog {
        Self::start_lingering(store, Linger::never())
    }

    /// Like [`AuditLog::start`], but a small batch may wait for more (see [`Linger`]).
    pub fn start_lingering(store: Store, linger: Linger) -> AuditLog {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let written = Arc::new(Written::default());
        let writer = Writer {
            store,
            linger,
            written: written.clone(),
        };
        tokio::spawn(writer.run(queue));
        AuditLog { jobs, written }
    }

    /// Records an attempt that created nothing; returns once its row is committed.
    pub async fn record(&self, attempt: NewAttempt) -> Result<(), StoreError> {
        let stopped = || StoreError::Unavailable("the audit writer has stopped".into());
        let (done, committed) = oneshot::channel();
        self.jobs
            .send(Job { attempt, done })
            .await
            .map_err(|_| stopped())?;
        committed.await.map_err(|_| stopped())?
    }

    /// Statements committed since the start, each holding one batch or one retried row.
    pub fn commits(&self) -> u64 {
        self.written.commits.load(Ordering::Relaxed)
    }

    /// Rows committed since the start.
    pub fn rows(&self) -> u64 {
        self.written.rows.load(Ordering::Relaxed)
    }
}

struct Writer {
    store: Store,
    linger: Linger,
    written: Arc<Written>,
}

impl Writer {
    async fn run(self, mut queue: mpsc::Receiver<Job>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut held = Held::new(self.store.clone());
        // Waits for the first row, then takes every row already waiting: batches grow with
        // load, and a lone refusal is written at once unless the CPU is crowded.
        while held.idle(queue.recv_many(&mut batch, MAX_BATCH)).await > 0 {
            self.linger.gather(&mut queue, &mut batch, MAX_BATCH).await;
            let attempts: Vec<&NewAttempt> = batch.iter().map(|job| &job.attempt).collect();
            match self.insert(&mut held, &attempts).await {
                Ok(()) => {
                    for job in batch.drain(..) {
                        let _ = job.done.send(Ok(()));
                    }
                }
                // One row the database refuses must not take the others with it: each is
                // tried alone, and only its own caller hears of the failure.
                Err(_) if batch.len() > 1 => {
                    for job in batch.drain(..) {
                        let result = self.insert(&mut held, &[&job.attempt]).await;
                        let _ = job.done.send(result);
                    }
                }
                Err(error) => {
                    for job in batch.drain(..) {
                        let _ = job.done.send(Err(error.clone()));
                    }
                }
            }
        }
    }

    async fn insert(&self, held: &mut Held, attempts: &[&NewAttempt]) -> Result<(), StoreError> {
        held.run(async |store, connection| store.insert_attempts_on(connection, attempts).await)
            .await?;
        self.written.commits.fetch_add(1, Ordering::Relaxed);
        self.written
            .rows
            .fetch_add(attempts.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}
