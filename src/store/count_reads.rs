//! Coalesced reads of the early account counts. Every verified signup, refused bot included,
//! asks how many accounts its device (and email, domain, ASN) already holds and whether its
//! requestId was used. Asked one statement each, a flood pays a database round trip per
//! attempt, and on SQLite a hand-off to the connection's thread and back. Here the questions
//! waiting at one moment go out as one statement (a row per question, see `count_batch`), so
//! a flood pays one round trip per batch. A lone question is asked at once, unless passwords
//! are being hashed (see `Linger`). The counts are as exact as before: each is a read of
//! committed rows, and the account write counts again under its locks.

use super::accounts::{bind_all, count_parts, read_counts, Param};
use super::{count_batch, AccountCounts, AccountScope, Held, Linger, Store, StoreError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Mutex};

/// The most questions one statement asks: up to 8 columns and 17 parameters each, well under
/// SQLite's 2,000 result columns and both backends' parameter limits (32,766 and 65,535).
const MAX_BATCH: usize = 64;
/// Questions waiting for a reader; a caller past this waits for room.
const QUEUE: usize = 4096;
/// Statements in flight at once: the next batch gathers while one runs, and a slow statement
/// does not hold up every signup.
pub(super) const READERS: usize = 2;

/// What one signup asks.
#[derive(Debug, Clone)]
pub struct CountQuestion {
    /// What the account would count toward.
    pub scope: AccountScope,
    /// The email identity and the username's key, when the username is an email address.
    pub email: Option<(String, String)>,
    /// The requestId to check for an earlier account.
    pub event_id: Option<String>,
}

/// The handle signups ask their counts through.
#[derive(Debug, Clone)]
pub struct CountReads {
    jobs: mpsc::Sender<Job>,
}

#[derive(Debug)]
struct Job {
    question: CountQuestion,
    done: oneshot::Sender<Result<AccountCounts, StoreError>>,
}

impl CountReads {
    /// Starts the readers. They run until every handle is dropped.
    pub fn start(store: Store) -> CountReads {
        Self::start_lingering(store, Linger::never())
    }

    /// Like [`CountReads::start`], but a small batch may wait for more (see [`Linger`]).
    pub fn start_lingering(store: Store, linger: Linger) -> CountReads {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..READERS {
            tokio::spawn(read_batches(
                store.clone(),
                Arc::clone(&queue),
                linger.clone(),
            ));
        }
        CountReads { jobs }
    }

    /// The counts, read with whatever other questions are waiting.
    pub async fn count(&self, question: CountQuestion) -> Result<AccountCounts, StoreError> {
        let stopped = || StoreError::Unavailable("the count readers have stopped".into());
        let (done, answer) = oneshot::channel();
        self.jobs
            .send(Job { question, done })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn read_batches(store: Store, queue: Arc<Mutex<mpsc::Receiver<Job>>>, linger: Linger) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut held = Held::new(store);
    loop {
        // One reader waits on the queue at a time; it lets go as soon as it holds a batch (or,
        // while the CPU is crowded, once the batch has waited its moment), so the other
        // gathers the next while this one's statement runs.
        let taken = held
            .idle(async {
                let mut queue = queue.lock().await;
                let taken = queue.recv_many(&mut batch, MAX_BATCH).await;
                linger.gather(&mut queue, &mut batch, MAX_BATCH).await;
                taken
            })
            .await;
        if taken == 0 {
            return;
        }
        while !batch.is_empty() {
            // Statements of 1, 2, 4 … 64 questions only: each connection caches a prepared
            // statement per text, and a text per batch size would hold tens of MiB of them.
            let size = 1 << batch.len().ilog2();
            let chunk: Vec<Job> = batch.drain(..size).collect();
            let questions: Vec<&CountQuestion> = chunk.iter().map(|job| &job.question).collect();
            let counts = held
                .run(async |store, connection| store.count_many_on(connection, &questions).await)
                .await;
            match counts {
                Ok(counts) => {
                    for (job, counts) in chunk.into_iter().zip(counts) {
                        let _ = job.done.send(Ok(counts));
                    }
                }
                Err(error) => {
                    for job in chunk {
                        let _ = job.done.send(Err(error.clone()));
                    }
                }
            }
        }
    }
}

impl Store {
    /// Answers every question in one statement, in order.
    pub async fn count_many(
        &self,
        questions: &[&CountQuestion],
    ) -> Result<Vec<AccountCounts>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        self.count_many_on(&mut connection, questions).await
    }

    /// [`Store::count_many`] on the connection given.
    pub(super) async fn count_many_on(
        &self,
        connection: &mut sqlx::AnyConnection,
        questions: &[&CountQuestion],
    ) -> Result<Vec<AccountCounts>, StoreError> {
        if let Some((sql, params)) = count_batch::batch_query(self.backend, questions) {
            let rows = bind_all(sqlx::query(&sql), params)
                .fetch_all(&mut *connection)
                .await?;
            return count_batch::read_answers(&rows, questions);
        }
        self.count_each_on(connection, questions).await
    }

    /// The per-question form, one column per count: for a batch [`count_batch`] cannot shape.
    async fn count_each_on(
        &self,
        connection: &mut sqlx::AnyConnection,
        questions: &[&CountQuestion],
    ) -> Result<Vec<AccountCounts>, StoreError> {
        let mut parts: Vec<String> = Vec::new();
        let mut params: Vec<Param<'_>> = Vec::new();
        for (k, q) in questions.iter().enumerate() {
            count_parts(
                self.backend,
                &q.scope,
                q.email.as_ref().map(|(e, u)| (e.as_str(), u.as_str())),
                q.event_id.as_deref(),
                &format!("q{k}_"),
                &mut parts,
                &mut params,
            );
        }
        if parts.is_empty() {
            return Ok(vec![AccountCounts::default(); questions.len()]);
        }
        let sql = format!("SELECT {}", parts.join(", "));
        let row = bind_all(sqlx::query(&sql), params)
            .fetch_one(&mut *connection)
            .await?;
        let mut answers = Vec::with_capacity(questions.len());
        for (k, q) in questions.iter().enumerate() {
            answers.push(read_counts(
                &row,
                &format!("q{k}_"),
                &q.scope,
                q.email.is_some(),
                q.event_id.is_some(),
            )?);
        }
        Ok(answers)
    }
}
