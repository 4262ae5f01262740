//! The open connections: which to shed when the cap is reached, and when each has gone without
//! a request for longer than its limit.
//!
//! The hot path stays on atomics: a request marks its connection busy and then idle again, and
//! the lock over the set is taken only to add a connection, to remove one, and at the cap to
//! pick the ones to shed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The limits on connections, as `serve` applies them.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// From a connection's opening to its first request's headers.
    pub header_timeout: Duration,
    /// From an answer to the next request's headers.
    pub keep_alive_timeout: Duration,
    /// Open client connections at most.
    pub max_connections: usize,
}

/// Every open connection.
pub(super) struct Registry {
    limits: Limits,
    epoch: Instant,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    slots: HashMap<u64, Arc<Slot>>,
    /// Slots asked to close that have not yet: room already made, not to be made twice.
    shedding: usize,
    next_id: u64,
    /// Set at the cap, cleared once half of it is free again: one warning an overload, not one
    /// a connection.
    overloaded: bool,
}

/// One connection's state, shared by its task, its requests and the registry.
pub(super) struct Slot {
    id: u64,
    epoch: Instant,
    in_flight: AtomicU32,
    /// Milliseconds from the epoch to when the connection last had no request in flight: its
    /// opening, then each answer. Only read while `in_flight` is 0.
    idle_since: AtomicU64,
    answered: AtomicBool,
    /// Asked to close by the accept loop, to make room; once its requests in flight (begun
    /// after it was picked) are answered, if any.
    shed: AtomicBool,
    wake: Notify,
}

/// A connection's place in the registry, given up when dropped.
pub(super) struct Admitted {
    slot: Arc<Slot>,
    registry: Arc<Registry>,
}

/// A request in flight on a connection: while one is, the connection is neither shed nor timed
/// out.
pub(super) struct Busy(Arc<Slot>);

impl Registry {
    pub(super) fn new(limits: Limits) -> Self {
        Self {
            limits,
            epoch: Instant::now(),
            open: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now_ms(epoch: Instant) -> u64 {
        u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Takes a new connection in; at the cap, first sheds the connections idle the longest.
    /// `None` when every open connection has a request in flight: none may be cut to make room.
    pub(super) fn admit(self: &Arc<Self>) -> Option<Admitted> {
        let mut open = self.lock();
        if open.slots.len() - open.shedding >= self.limits.max_connections {
            if !open.overloaded {
                open.overloaded = true;
                tracing::warn!(
                    max_connections = self.limits.max_connections,
                    "connection cap reached: closing the connections idle the longest to make room"
                );
            }
            if self.shed(&mut open) == 0 {
                return None;
            }
        }
        open.next_id += 1;
        let slot = Arc::new(Slot {
            id: open.next_id,
            epoch: self.epoch,
            in_flight: AtomicU32::new(0),
            idle_since: AtomicU64::new(Self::now_ms(self.epoch)),
            answered: AtomicBool::new(false),
            shed: AtomicBool::new(false),
            wake: Notify::new(),
        });
        open.slots.insert(slot.id, slot.clone());
        Some(Admitted {
            slot,
            registry: self.clone(),
        })
    }

    /// Sheds the connections idle the longest, as when the cap is reached; for an `accept` that
    /// failed, out of descriptors most often.
    pub(super) fn shed_idlest(&self) -> usize {
        self.shed(&mut self.lock())
    }

    /// Asks the connections idle the longest to close, a small share of the cap at once (as
    /// nginx drains its idle keep-alive connections) so that the scan over every connection
    /// is not paid for each newcomer in a flood. Returns how many were asked.
    fn shed(&self, open: &mut Open) -> usize {
        let batch = (self.limits.max_connections / 64).clamp(1, 256);
        let mut idle: Vec<(u64, u64, &Arc<Slot>)> = open
            .slots
            .values()
            .filter(|slot| slot.is_idle() && !slot.shed.load(Ordering::Relaxed))
            .map(|slot| (slot.idle_since.load(Ordering::Relaxed), slot.id, slot))
            .collect();
        if idle.len() > batch {
            idle.select_nth_unstable_by_key(batch - 1, |(since, id, _)| (*since, *id));
            idle.truncate(batch);
        }
        for (_, _, slot) in &idle {
            slot.shed.store(true, Ordering::Release);
            slot.wake.notify_one();
        }
        let shed = idle.len();
        open.shedding += shed;
        shed
    }

    fn remove(&self, id: u64) {
        let mut open = self.lock();
        if let Some(slot) = open.slots.remove(&id) {
            if slot.shed.load(Ordering::Relaxed) {
                open.shedding -= 1;
            }
        }
        if open.overloaded && open.slots.len() <= self.limits.max_connections / 2 {
            open.overloaded = false;
            tracing::info!(
                open = open.slots.len(),
                "connections back under half the cap"
            );
        }
    }
}

impl Admitted {
    /// What the connection's requests hold to mark it busy.
    pub(super) fn handle(&self) -> Handle {
        Handle(self.slot.clone())
    }

    /// Resolves once the connection should close: shed to make room, or without a request in
    /// flight for longer than its limit (the header time until its first answer, the
    /// keep-alive time after). Never while a request is in flight.
    pub(super) async fn closable(&self) {
        let limits = self.registry.limits;
        let slot = &self.slot;
        loop {
            // Registered before the state is read, so that a shed asked in between still wakes.
            let woken = slot.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let wake_at = if slot.is_idle() {
                if slot.shed.load(Ordering::Acquire) {
                    return;
                }
                let limit = if slot.answered.load(Ordering::Relaxed) {
                    limits.keep_alive_timeout
                } else {
                    limits.header_timeout
                };
                let since = Duration::from_millis(slot.idle_since.load(Ordering::Relaxed));
                let deadline = slot.epoch + since + limit;
                if deadline <= Instant::now() {
                    return;
                }
                deadline
            } else {
                // Shed or not, a request in flight is answered first. The soonest the
                // connection can run out (or be closed, if shed) is one idle limit after its
                // requests end.
                Instant::now() + limits.keep_alive_timeout.min(limits.header_timeout)
            };
            tokio::select! {
                () = tokio::time::sleep_until(wake_at) => {}
                () = &mut woken => {}
            }
        }
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.registry.remove(self.slot.id);
    }
}

/// What a connection's requests hold to mark it busy.
#[derive(Clone)]
pub(super) struct Handle(Arc<Slot>);

impl Handle {
    /// Marks a request in flight until the guard is dropped.
    pub(super) fn busy(&self) -> Busy {
        self.0.in_flight.fetch_add(1, Ordering::Relaxed);
        Busy(self.0.clone())
    }
}

impl Slot {
    fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let slot = &self.0;
        // Written before the count drops, so whoever sees it at 0 reads this answer's time.
        slot.idle_since
            .store(Registry::now_ms(slot.epoch), Ordering::Relaxed);
        let first = !slot.answered.load(Ordering::Relaxed);
        if first {
            slot.answered.store(true, Ordering::Relaxed);
        }
        slot.in_flight.fetch_sub(1, Ordering::Release);
        // The timer may be asleep until the header time, past this first answer's keep-alive
        // deadline, or the connection was shed while busy and may close now. Later answers
        // only move the deadline on, which the timer finds when it wakes.
        if first || slot.shed.load(Ordering::Relaxed) {
            slot.wake.notify_one();
        }
    }
}
