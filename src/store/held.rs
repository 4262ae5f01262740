//! A connection a batch task keeps between its statements.
//!
//! sqlx checks a connection whenever it goes back to its pool: a round trip to the PostgreSQL
//! server, or a hand-off to the connection's thread and back on SQLite. A bot flood gives the
//! audit writer and the count readers a statement every millisecond or two, so each statement
//! paid for that check, and a refused bot for two of them. With the connections kept, bots alone
//! at 1,000/s cost the service about a sixth less CPU on SQLite, and the PostgreSQL server about
//! a quarter less of its own (see `docs/performance.md`). The tasks draw from a pool of their
//! own, so keeping one starves no request.

use super::{Any, PoolConnection, Store, StoreError, PING_IDLE_AFTER};
use std::future::Future;
use std::time::Duration;

/// A task's connection, kept while its statements keep coming.
pub(super) struct Held {
    store: Store,
    connection: Option<PoolConnection<Any>>,
}

impl Held {
    /// How long a kept connection may wait for the next statement before it goes back. Under
    /// the pool's ping-after-idle, so that one idle long enough to have been cut by the server
    /// is checked before its next statement, as any pooled connection would be.
    pub const IDLE: Duration = Duration::from_millis(500);

    pub fn new(store: Store) -> Self {
        Self {
            store,
            connection: None,
        }
    }

    /// Waits for `work` (the task's next batch); past [`Held::IDLE`] without it, the connection
    /// goes back to the pool. `work` itself is never cut short.
    pub async fn idle<F: Future>(&mut self, work: F) -> F::Output {
        let mut work = std::pin::pin!(work);
        if self.connection.is_some() {
            match tokio::time::timeout(Self::IDLE, &mut work).await {
                Ok(done) => return done,
                Err(_) => self.connection = None,
            }
        }
        work.await
    }

    /// Runs `statement` on the kept connection, or on one from the batch tasks' pool when none
    /// is kept. After a failure the connection goes back (the pool's check closes it if it is
    /// broken) and the next statement takes another.
    pub async fn run<T>(
        &mut self,
        statement: impl AsyncFnOnce(&Store, &mut sqlx::AnyConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let connection = match self.connection.take() {
            Some(connection) => connection,
            None => self.store.batch_connection().await?,
        };
        let connection = self.connection.insert(connection);
        let result = statement(&self.store, &mut **connection).await;
        if result.is_err() {
            self.connection = None;
        }
        result
    }
}

const _: () = assert!(Held::IDLE.as_millis() < PING_IDLE_AFTER.as_millis());

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::PoolSettings;

    /// Far longer than any step here, so no outcome depends on the machine's speed.
    const LONG: Duration = Duration::from_secs(30);

    async fn store(dir: &tempfile::TempDir) -> Store {
        let url = format!("sqlite://{}", dir.path().join("held.db").display());
        Store::connect(&url, PoolSettings::default()).await.unwrap()
    }

    async fn select_one(held: &mut Held) -> Result<(), StoreError> {
        held.run(async |_, connection| {
            sqlx::query("SELECT 1").execute(connection).await?;
            Ok(())
        })
        .await
    }

    /// Waits until the batch pool has `idle` connections idle (a connection let go goes back
    /// through sqlx's check, a task of its own).
    async fn idle_in_pool(store: &Store, idle: usize) {
        let waited = tokio::time::timeout(LONG, async {
            while store.batches.num_idle() != idle {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        waited.await.unwrap_or_else(|_| {
            panic!("{} idle, not {idle}", store.batches.num_idle());
        });
    }

    #[tokio::test]
    async fn a_connection_is_kept_while_statements_come_and_given_back_once_they_stop() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        let mut held = Held::new(store.clone());
        assert_eq!(store.batches.size(), 0, "opened on first use");
        select_one(&mut held).await.unwrap();
        select_one(&mut held).await.unwrap();
        assert_eq!(store.batches.size(), 1, "one connection for both");
        assert_eq!(store.batches.num_idle(), 0, "kept between them");
        assert_eq!(held.idle(async { 7 }).await, 7);
        assert_eq!(store.batches.num_idle(), 0, "a prompt batch keeps it");

        held.idle(tokio::time::sleep(Held::IDLE * 2)).await;
        assert!(held.connection.is_none(), "given back past the idle time");
        idle_in_pool(&store, 1).await;
        assert_eq!(store.pool.num_idle(), store.pool.size() as usize);
        select_one(&mut held).await.unwrap();
        assert_eq!(store.batches.size(), 1, "taken again from the pool");
    }

    #[tokio::test]
    async fn a_failed_statement_gives_its_connection_back_and_the_next_takes_one_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        let mut held = Held::new(store.clone());
        select_one(&mut held).await.unwrap();
        let failed = held
            .run(async |_, connection| {
                sqlx::query("SELECT * FROM no_such_table")
                    .execute(connection)
                    .await?;
                Ok(())
            })
            .await;
        assert!(failed.is_err());
        assert!(held.connection.is_none(), "not kept after a failure");
        idle_in_pool(&store, 1).await;
        select_one(&mut held).await.unwrap();
        assert_eq!(store.batches.num_idle(), 0);
    }

    #[tokio::test]
    async fn a_batch_waiting_past_the_idle_time_is_not_cut_short() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        let mut held = Held::new(store);
        select_one(&mut held).await.unwrap();
        let (send, receive) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            tokio::time::sleep(Held::IDLE * 2).await;
            send.send("late").unwrap();
        });
        let late = tokio::time::timeout(LONG, held.idle(receive)).await;
        assert_eq!(late.unwrap().unwrap(), "late");
    }
}
