//! What a decision saw, kept with the attempt: the event and the request context. The signup
//! writes it; `explain` and `backtest` read it back and evaluate it again, so a replay sees
//! exactly what the live decision saw.

use super::{decide, evaluate, Context, Decision, Policy};
use fingerprint::Event;
use serde::{Deserialize, Serialize};

/// The inputs of one decision, as stored in the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The identification event.
    pub event: Event,
    /// The facts about the request.
    pub context: Context,
}

impl Snapshot {
    /// Decides on these inputs under `policy`, with every rule's input in words.
    pub fn evaluate(&self, policy: &Policy) -> Decision {
        evaluate(policy, &self.event, &self.context)
    }

    /// Decides on these inputs under `policy`, with the findings' inputs alone in words.
    pub fn decide(&self, policy: &Policy) -> Decision {
        decide(policy, &self.event, &self.context)
    }

    /// The stored form.
    pub fn to_json(&self) -> String {
        // Every field serializes to JSON (strings, numbers, options), so this cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| "null".into())
    }

    /// Reads the stored form; `None` for a snapshot this version cannot read.
    pub fn from_json(text: &str) -> Option<Snapshot> {
        serde_json::from_str(text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the event_v4 fuzz target: with serde_json's best-effort float parse, `1e-034`
    /// read as one ulp above 1e-34, and its stored form read back as 1e-34, so a replay judged
    /// another number than the live decision did.
    #[test]
    fn a_number_of_the_event_reads_back_exactly_from_the_stored_snapshot() {
        let body = br#"{"event_id":"e1","identification":{"confidence":{"score":1e-034}}}"#;
        let snapshot = Snapshot {
            event: Event::from_v4_json(body).unwrap(),
            context: Context::default(),
        };
        let stored = Snapshot::from_json(&snapshot.to_json()).unwrap();
        assert_eq!(stored.event.confidence, snapshot.event.confidence);
        assert_eq!(stored.event.confidence, Some(1e-34));
    }

    /// Rows recorded before the snapshot was typed were written as hand-built JSON of this
    /// shape; they must still read back, or backtests would silently skip them.
    #[test]
    fn a_snapshot_in_the_stored_shape_reads_back_and_round_trips() {
        let stored = r#"{"event":{"event_id":"1708102555327.NLOjmg","visitor_id":"v1","ip":"203.0.113.7"},
            "context":{"clientIp":"203.0.113.7","origin":"https://shop.example","nowMs":1708102556000,"deviceAccounts":2}}"#;
        let snapshot = Snapshot::from_json(stored).expect("the stored shape reads");
        assert_eq!(snapshot.event.event_id, "1708102555327.NLOjmg");
        assert_eq!(snapshot.event.visitor_id.as_deref(), Some("v1"));
        assert_eq!(snapshot.context.client_ip, Some([203, 0, 113, 7].into()));
        assert_eq!(
            snapshot.context.origin.as_deref(),
            Some("https://shop.example")
        );
        assert_eq!(snapshot.context.now_ms, 1_708_102_556_000);
        assert_eq!(snapshot.context.device_accounts, 2);

        let written: serde_json::Value = serde_json::from_str(&snapshot.to_json()).unwrap();
        for key in ["clientIp", "origin", "nowMs", "deviceAccounts"] {
            assert!(written["context"].get(key).is_some(), "{key}: {written}");
        }
        assert_eq!(Snapshot::from_json(&snapshot.to_json()), Some(snapshot));

        let older =
            r#"{"event":{"event_id":"1.a"},"context":{"clientIp":null,"origin":null,"nowMs":5}}"#;
        let older = Snapshot::from_json(older).expect("a missing device count reads as 0");
        assert_eq!(older.context.device_accounts, 0);
    }
}
