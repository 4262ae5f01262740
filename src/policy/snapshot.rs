//! What a decision saw, kept with the attempt: the event and the request context. The signup
//! writes it; `explain` and `backtest` read it back and evaluate it again, so a replay sees
//! exactly what the live decision saw.

use super::{evaluate, Context, Decision, Policy};
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
    /// Decides on these inputs under `policy`.
    pub fn evaluate(&self, policy: &Policy) -> Decision {
        evaluate(policy, &self.event, &self.context)
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
