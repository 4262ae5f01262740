//! The event ids this instance has seen create an account, or learned had: a replay of one is
//! refused before it costs a Fingerprint API call. The database stays the guarantee (the early
//! count, and the accounts' unique index on the event id); this only spares the call, without a
//! database round trip of its own on the path every refused bot takes. An id used through
//! another instance, or forgotten here, costs one call, then its refusal teaches this instance.

use std::collections::hash_map::RandomState;
use std::collections::{HashSet, VecDeque};
use std::hash::BuildHasher;
use std::sync::Mutex;

/// How many ids are remembered: 16 bytes each (a keyed hash in a set and in the eviction
/// order), about 2 MiB in all.
const REMEMBERED: usize = 65_536;

/// A bounded set of used event ids, the oldest forgotten first.
#[derive(Debug, Default)]
pub struct UsedEvents {
    // A keyed 64-bit hash rather than the id: a quarter of the memory, and the random key
    // keeps anyone from choosing an id that collides with a used one.
    hasher: RandomState,
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    set: HashSet<u64>,
    order: VecDeque<u64>,
}

impl UsedEvents {
    /// Whether `event_id` is known to have created an account.
    pub fn contains(&self, event_id: &str) -> bool {
        let key = self.hasher.hash_one(event_id);
        self.lock().set.contains(&key)
    }

    /// Remembers that `event_id` created an account.
    pub fn insert(&self, event_id: &str) {
        let key = self.hasher.hash_one(event_id);
        let mut seen = self.lock();
        if !seen.set.insert(key) {
            return;
        }
        seen.order.push_back(key);
        if seen.order.len() > REMEMBERED {
            if let Some(oldest) = seen.order.pop_front() {
                seen.set.remove(&oldest);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Seen> {
        // A panic while holding the lock leaves a consistent set: at worst one id short.
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_ids_and_forgets_the_oldest_past_its_bound() {
        let used = UsedEvents::default();
        assert!(!used.contains("e1"));
        used.insert("e1");
        used.insert("e1");
        assert!(used.contains("e1") && !used.contains("e2"));
        for i in 0..REMEMBERED {
            used.insert(&format!("later-{i}"));
        }
        assert!(!used.contains("e1"), "the oldest is forgotten first");
        assert!(used.contains("later-0") && used.contains(&format!("later-{}", REMEMBERED - 1)));
        assert_eq!(used.lock().order.len(), REMEMBERED);
    }
}
