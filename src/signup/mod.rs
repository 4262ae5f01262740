//! The signup flow: read the request, verify the device, decide, create the account, record it.
//!
//! The order is chosen so that cheap refusals come first and the costly password hash runs only
//! after every fraud check has passed. The flow speaks in its own terms ([`Created`],
//! [`Refusal`]); the HTTP layer turns those into answers.

mod assess;
mod counts;
mod decision;
mod flow;
mod in_flight;
mod refusal;
pub mod request;
mod used_events;

pub use counts::{account_scope, apply_account_counts};
pub use decision::{is_decision_id, Decided, DecisionFields, DecisionRequest};
pub use in_flight::{InFlight, Running};
pub use refusal::{PolicyRefusal, Refusal};

use crate::delivery::Announcer;
use crate::events::EventSource;
use crate::lists::Lists;
use crate::metrics::Metrics;
use crate::password::{Hasher, PasswordPolicy};
use crate::policy::{self, Policy};
use crate::rate_limit::Limit;
use crate::store::{AuditLog, CountReads, DeviceQuota, Linger, NewAccount, NewAttempt, Store};
use std::net::IpAddr;
use std::sync::Arc;

/// Everything a signup needs, and nothing else.
#[derive(Debug)]
pub struct Signups {
    /// Accounts and the audit trail.
    pub store: Store,
    /// Refused attempts, written in group commits.
    pub audit: AuditLog,
    /// The early account counts, asked in coalesced statements.
    pub counts: CountReads,
    /// Where events come from.
    pub events: EventSource,
    /// The fraud policy.
    pub policy: Policy,
    /// `policy.hash()`, computed once, recorded with every attempt.
    pub policy_hash: String,
    /// Password hashing.
    pub hasher: Hasher,
    /// Password rules.
    pub password: PasswordPolicy,
    /// Signups still running, which shutdown waits for.
    pub in_flight: InFlight,
    /// Counts and latencies for `/metrics`.
    pub metrics: Metrics,
    /// Decision webhooks, when configured.
    pub announcer: Option<Announcer>,
    /// The analysts' allow, review and block lists.
    pub lists: Lists,
    /// Signups per minute per device, when configured.
    pub per_visitor_limit: Option<Limit>,
    /// Event ids known to have created an account, refused without an API call.
    pub used_events: used_events::UsedEvents,
}

/// What the signup knows about the caller, from the connection rather than the body.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The client IP, derived with the trusted proxy hops.
    pub ip: IpAddr,
    /// The `Origin` header, if any.
    pub origin: Option<String>,
}

/// A created account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// Its id.
    pub account_id: i64,
    /// The device it was created from.
    pub visitor_id: String,
    /// Whether it awaits review, and the rules that asked for it.
    pub review_codes: Option<Vec<String>>,
}

impl Signups {
    /// Builds the flow's dependencies, and starts the audit writer and the count readers (and, when a velocity rule
    /// counts attempts, the task that deletes ended counters); the policy hash is computed here,
    /// once. Needs a Tokio runtime.
    pub fn new(
        store: Store,
        events: EventSource,
        policy: Policy,
        hasher: Hasher,
        password: PasswordPolicy,
    ) -> Self {
        counts::start_pruning(store.clone(), &policy);
        // Bots' statements wait a moment to share a batch only while passwords are being
        // hashed: then their CPU is taken from real users.
        let linger = Linger::while_crowded(Arc::new(hasher.busy_probe()), Linger::WAIT);
        Self {
            policy_hash: policy.hash(),
            audit: AuditLog::start_lingering(store.clone(), linger.clone()),
            counts: CountReads::start_lingering(store.clone(), linger),
            store,
            events,
            policy,
            hasher,
            password,
            in_flight: InFlight::default(),
            metrics: Metrics::new(),
            announcer: None,
            lists: Lists::default(),
            per_visitor_limit: None,
            used_events: used_events::UsedEvents::default(),
        }
    }

    /// Marks `record` for a decision webhook when its verdict is announced. Called just
    /// before each write, as the verdict can change up to then (a device limit found at the
    /// write turns an allow into a block).
    fn mark_delivery(&self, record: &mut NewAttempt) {
        record.delivery_id = self
            .announcer
            .as_ref()
            .and_then(|a| a.delivery_for(&record.verdict));
    }

    /// A marked record was committed: its delivery can go now.
    fn delivery_committed(&self, record: &NewAttempt) {
        if let (Some(announcer), Some(_)) = (&self.announcer, &record.delivery_id) {
            announcer.wake();
        }
    }
}

/// The policy's device limit as the store enforces it.
pub fn device_quota(policy: &Policy, now_ms: i64) -> DeviceQuota {
    let window_ms = i64::from(policy.device_window_days) * 86_400_000;
    DeviceQuota {
        max_accounts: i64::from(policy.accounts_per_device),
        since_ms: if window_ms > 0 { now_ms - window_ms } else { 0 },
    }
}

/// The account a judged signup stands for: its device, event, and what it counts by (email
/// address and domain, the device's other identities, the ASN), read from the snapshot. The
/// caller adds the username and password, or the app's slot.
fn new_account(record: &NewAttempt, visitor_id: String, event_id: String) -> NewAccount {
    let snapshot = record.signals.as_ref();
    let event = snapshot.map(|s| &s.event);
    let email = snapshot.and_then(|s| s.context.email.clone());
    NewAccount {
        username: None,
        username_key: None,
        username_skeleton: None,
        password_hash: None,
        account_ref: None,
        decision_id: None,
        email_domain: email.as_deref().map(|e| crate::email::domain(e).to_owned()),
        email_key: email,
        high_recall_id: event.and_then(|e| policy::Identity::HighRecallId.of(e).map(str::to_owned)),
        linked_id: event.and_then(|e| policy::Identity::LinkedId.of(e).map(str::to_owned)),
        asn: event.and_then(|e| counts::asn(e).map(str::to_owned)),
        visitor_id,
        event_id,
        review: false,
        created_at: record.created_at,
    }
}

/// The rules that asked for review; allow-level findings stay in the record only.
fn review_codes(decision: &policy::Decision) -> Vec<String> {
    let codes = decision
        .findings
        .iter()
        .filter(|f| f.action == policy::Action::Review);
    codes.map(|f| f.code.to_owned()).collect()
}
