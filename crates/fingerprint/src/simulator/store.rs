use super::{ExtraSignal, Persona, RuleVerdict};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// A long benchmark issues events without end; past this many the oldest are forgotten
/// (and answer 404, as expired events do upstream).
pub(crate) const MAX_EVENTS: usize = 100_000;

/// The facts of one issued event. The JSON shapes are rendered from it on demand, which keeps
/// a full store small.
#[derive(Clone, Debug)]
pub(crate) struct IssuedEvent {
    pub event_id: String,
    pub visitor_id: String,
    pub persona: Persona,
    pub timestamp_ms: i64,
    pub url: String,
    pub ip: String,
    pub linked_id: Option<String>,
    pub high_recall_id: Option<String>,
    pub asn: Option<String>,
    pub extras: Vec<ExtraSignal>,
    pub rule_action: Option<RuleVerdict>,
    pub visitor_found: bool,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    /// Events of this visitor the simulator still remembers, this one included.
    pub visitor_events: i64,
}

/// What the store remembers about one visitor, so repeat visits look like repeat visits.
#[derive(Clone, Copy, Debug)]
pub(crate) struct VisitorHistory {
    pub events: i64,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
}

/// Issued events by id, bounded, oldest evicted first.
#[derive(Default)]
pub(crate) struct EventStore {
    events: HashMap<String, Arc<IssuedEvent>>,
    order: VecDeque<String>,
    visitors: HashMap<String, VisitorHistory>,
    last_visitor_id: Option<String>,
}

impl EventStore {
    pub fn get(&self, event_id: &str) -> Option<Arc<IssuedEvent>> {
        self.events.get(event_id).cloned()
    }

    pub fn visitor(&self, visitor_id: &str) -> Option<VisitorHistory> {
        self.visitors.get(visitor_id).copied()
    }

    pub fn last_visitor_id(&self) -> Option<&str> {
        self.last_visitor_id.as_deref()
    }

    pub fn insert(&mut self, event: IssuedEvent) -> Arc<IssuedEvent> {
        while self.order.len() >= MAX_EVENTS {
            self.evict_oldest();
        }
        let history = self
            .visitors
            .entry(event.visitor_id.clone())
            .or_insert(VisitorHistory {
                events: 0,
                first_seen_ms: event.first_seen_ms,
                last_seen_ms: event.timestamp_ms,
            });
        history.events += 1;
        history.first_seen_ms = history.first_seen_ms.min(event.first_seen_ms);
        history.last_seen_ms = history.last_seen_ms.max(event.timestamp_ms);
        self.last_visitor_id = Some(event.visitor_id.clone());
        let event = Arc::new(event);
        self.order.push_back(event.event_id.clone());
        self.events
            .insert(event.event_id.clone(), Arc::clone(&event));
        event
    }

    fn evict_oldest(&mut self) {
        let Some(id) = self.order.pop_front() else {
            return;
        };
        let Some(event) = self.events.remove(&id) else {
            return;
        };
        // The visitor map must shrink with the events, or it would grow without bound too.
        if let Some(history) = self.visitors.get_mut(&event.visitor_id) {
            history.events -= 1;
            if history.events <= 0 {
                self.visitors.remove(&event.visitor_id);
            }
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.events.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, visitor: &str) -> IssuedEvent {
        IssuedEvent {
            event_id: id.into(),
            visitor_id: visitor.into(),
            persona: Persona::NewDevice,
            timestamp_ms: 1,
            url: String::new(),
            ip: String::new(),
            linked_id: None,
            high_recall_id: None,
            asn: None,
            extras: Vec::new(),
            rule_action: None,
            visitor_found: false,
            first_seen_ms: 1,
            last_seen_ms: 1,
            visitor_events: 1,
        }
    }

    #[test]
    fn evicts_oldest_beyond_capacity_and_forgets_its_visitor() {
        let mut store = EventStore::default();
        store.insert(event("first", "lonely"));
        for i in 0..MAX_EVENTS {
            store.insert(event(&format!("e{i}"), "busy"));
        }
        assert_eq!(store.len(), MAX_EVENTS);
        assert!(store.get("first").is_none());
        assert!(store.visitor("lonely").is_none());
        assert_eq!(
            store.visitor("busy").map(|h| h.events),
            Some(MAX_EVENTS as i64)
        );
        assert!(store.get("e0").is_some());
    }
}
