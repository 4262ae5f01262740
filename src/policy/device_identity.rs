//! The identities the device limit counts accounts by (`device_identity`): the visitor id
//! always, and optionally the high-recall visitor id (one device across browsers) and the
//! page's `linkedId`. Accounts sharing any of them count toward one device's limit.

use fingerprint::Event;
use serde::{Deserialize, Serialize};

/// One identity the device limit can count by. The order of the variants is the order they
/// are counted, locked and named in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    /// Fingerprint's visitor id: one browser on one device.
    VisitorId,
    /// The high-recall ("supplementary") visitor id: the device across its browsers, at the
    /// cost of some false matches.
    HighRecallId,
    /// The `linkedId` the signup page attached (your own session or user id, say). The page
    /// sets it, so count by it only when your page sets it from something the user cannot.
    LinkedId,
}

impl Identity {
    /// Every identity, in counting order.
    pub const ALL: [Identity; 3] = [
        Identity::VisitorId,
        Identity::HighRecallId,
        Identity::LinkedId,
    ];

    /// The name the policy file and the answers use.
    pub fn as_str(self) -> &'static str {
        match self {
            Identity::VisitorId => "visitor_id",
            Identity::HighRecallId => "high_recall_id",
            Identity::LinkedId => "linked_id",
        }
    }

    /// The event's value for this identity, when it has a usable one.
    pub fn of(self, event: &Event) -> Option<&str> {
        let value = match self {
            Identity::VisitorId => event.visitor_id.as_deref(),
            Identity::HighRecallId => event.high_recall_visitor_id.as_deref(),
            Identity::LinkedId => event.linked_id.as_deref(),
        };
        value.filter(|v| !v.trim().is_empty())
    }
}

/// The accounts sharing one identity's value, as counted for a signup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityAccounts {
    /// Which identity.
    pub identity: Identity,
    /// The event's value for it.
    pub value: String,
    /// Accounts with that value in the device window.
    pub accounts: i64,
}
