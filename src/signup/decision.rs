//! The decision API's flow, for an app that keeps its own users: the same verification and
//! policy as create-account, answered as a decision. With an `accountRef` an allow or review
//! also takes the device slot, with create-account's guarantees; without one it is a dry check.
//! A password is never taken.

use super::assess::{Assessment, MAX_ORIGIN_BYTES};
use super::request::{self, checked_username, event_ref, invalid, text, EventRef};
use super::{Refusal, Signups};
use crate::policy::Action;
use crate::store::{now_ms, AccountScope, Endpoint, NewAccount, NewAttempt, StoreError, Written};
use serde_json::Value;
use std::net::IpAddr;

/// The longest `accountRef`, in characters.
pub const MAX_ACCOUNT_REF_CHARS: usize = 128;

/// A well-formed decision request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRequest {
    /// The event.
    pub event: EventRef,
    /// A username to keep unique, if the app wants that.
    pub username: Option<String>,
    /// The app's own user id: present, an allow reserves the device slot.
    pub account_ref: Option<String>,
    /// The end user's address as the app saw it.
    pub client_ip: Option<IpAddr>,
    /// The end user's `Origin` as the app saw it.
    pub origin: Option<String>,
}

/// The fields a decision reads. Unknown fields are refused: a misspelt `accountRef` would
/// otherwise turn a reservation into a dry check without a word.
///
/// Its schema is the request body of `POST /api/v1/signup-decisions` in the OpenAPI document.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(
    as = DecisionRequest,
    description = "The identification event (`requestId` or `sealedResult`) and what your \
        server knows of the signup. Unknown fields are refused, and so is a `password`."
)]
pub struct DecisionFields {
    /// The identification event's id, from the JS agent. Send it or `sealedResult`.
    #[serde(rename = "requestId")]
    #[schema(value_type = Option<String>, max_length = 128, example = "1708102555327.NLOjmg")]
    request_id: Option<Value>,
    /// Another name for `requestId` (Fingerprint's v4 name); never both.
    #[serde(rename = "eventId")]
    #[schema(value_type = Option<String>, max_length = 128)]
    event_id: Option<Value>,
    /// The agent's sealed result (base64), instead of `requestId`.
    #[serde(rename = "sealedResult")]
    #[schema(value_type = Option<String>, max_length = 16384, content_encoding = "base64")]
    sealed_result: Option<Value>,
    /// A username to keep unique, as create-account does.
    #[schema(value_type = Option<String>, max_length = 254)]
    username: Option<Value>,
    /// Your own user id: with it, an allow or review reserves the device's slot; without it,
    /// the decision is a dry check. Printable, without spaces.
    #[serde(rename = "accountRef")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 128, example = "user-8812")]
    account_ref: Option<Value>,
    /// The end user's IP address as your server saw it: it feeds `ip_binding`.
    #[serde(rename = "clientIp")]
    #[schema(value_type = Option<String>, example = "203.0.113.7")]
    client_ip: Option<Value>,
    /// The end user's `Origin` as your server saw it: it feeds `allowed_origins`.
    #[schema(value_type = Option<String>, max_length = 2048, example = "https://app.example.com")]
    origin: Option<Value>,
    /// Named so that its refusal can say why, instead of "unknown field".
    #[schema(ignore)]
    password: Option<serde::de::IgnoredAny>,
}

/// Parses and checks a decision body; each refusal names the field.
pub fn parse(body: &[u8]) -> Result<DecisionRequest, Refusal> {
    let fields: DecisionFields = match serde_json::from_slice(body) {
        Ok(fields) => fields,
        Err(error) => return Err(invalid(request::body_problem(body, &error))),
    };
    if fields.password.is_some() {
        return Err(invalid(
            "the decision API never takes a password: keep it in your own system".into(),
        ));
    }
    let event = event_ref(fields.request_id, fields.event_id, fields.sealed_result)?;
    let username = checked_username(text("username", fields.username)?)?;
    let account_ref = match text("accountRef", fields.account_ref)? {
        None => None,
        Some(r) if r.is_empty() || r.chars().count() > MAX_ACCOUNT_REF_CHARS => {
            return Err(invalid(format!(
                "accountRef must be 1 to {MAX_ACCOUNT_REF_CHARS} characters"
            )))
        }
        Some(r) if r.chars().any(|c| c.is_control() || c.is_whitespace()) => {
            return Err(invalid(
                "accountRef must be printable, without spaces or control characters".into(),
            ))
        }
        Some(r) => Some(r),
    };
    let client_ip = match text("clientIp", fields.client_ip)? {
        None => None,
        Some(ip) => Some(ip.trim().parse::<IpAddr>().map_err(|_| {
            invalid("clientIp must be an IPv4 or IPv6 address, such as 203.0.113.7".into())
        })?),
    };
    let origin = match text("origin", fields.origin)? {
        None => None,
        Some(o) if o.len() > MAX_ORIGIN_BYTES || o.chars().any(char::is_control) => {
            return Err(invalid(format!(
                "origin must be at most {MAX_ORIGIN_BYTES} bytes, without control characters"
            )))
        }
        Some(o) => Some(o),
    };
    Ok(DecisionRequest {
        event,
        username,
        account_ref,
        client_ip,
        origin,
    })
}

/// The answer to a decision request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    /// This decision's id: it names the reserved slot to release.
    pub decision_id: String,
    /// `allow`, `review` or `block`.
    pub verdict: Action,
    /// Every rule that fired, in policy order (the device limit included).
    pub codes: Vec<String>,
    /// The device, when the event identified one.
    pub visitor_id: Option<String>,
    /// The event.
    pub event_id: Option<String>,
    /// The app's user id, echoed.
    pub account_ref: Option<String>,
    /// The slot's account, when one was reserved.
    pub account_id: Option<i64>,
    /// With `device_limit`: the identity the device's accounts were found by.
    pub identity: Option<&'static str>,
}

/// A fresh decision id: unguessable, since it can release a slot.
pub fn new_decision_id() -> String {
    format!("dec_{}", hex::encode(rand::random::<[u8; 16]>()))
}

/// Whether `id` has the shape [`new_decision_id`] gives.
pub fn is_decision_id(id: &str) -> bool {
    id.strip_prefix("dec_")
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl Signups {
    /// Decides on one signup for an app, and records it whatever the outcome. A block is a
    /// decision; only a request that cannot be decided is an error.
    pub async fn decide_for_app(
        &self,
        peer: IpAddr,
        body: &[u8],
        deadline: tokio::time::Instant,
    ) -> Result<Decided, Refusal> {
        let started = std::time::Instant::now();
        let decision_id = new_decision_id();
        let mut record = NewAttempt {
            ip: Some(peer.to_string()),
            verdict: "error".into(),
            policy_hash: Some(self.policy_hash.clone()),
            shadow: self.policy.shadow,
            created_at: now_ms(),
            endpoint: Endpoint::Decision,
            decision_id: Some(decision_id.clone()),
            ..NewAttempt::default()
        };
        let decided = tokio::time::timeout_at(deadline, self.judge_for_app(body, &mut record));
        let outcome = match decided.await {
            Ok(Ok(Judged::Final)) => Ok(None),
            Ok(Ok(Judged::Reserve(account))) => self.reserve(*account, &mut record).await,
            Ok(Err(refusal)) => Err(refusal),
            Err(_) => Err(Refusal::Timeout),
        };
        if let Err(refusal) = &outcome {
            record.code = refusal.code().to_owned();
        }
        tracing::info!(
            decision_id = %decision_id,
            event_id = record.event_id.as_deref().unwrap_or("-"),
            visitor_id = record.visitor_id.as_deref().unwrap_or("-"),
            verdict = %record.verdict,
            code = %record.code,
            codes = ?record.codes,
            "signup decision answered"
        );
        self.metrics
            .attempt(record.endpoint.as_str(), &record.verdict, &record.code);
        self.metrics
            .decided(record.endpoint.as_str(), started.elapsed());
        let account_id = match outcome {
            Ok(account_id) => account_id,
            Err(refusal) => {
                self.record_refusal(record).await;
                return Err(refusal);
            }
        };
        let decided = Decided {
            decision_id,
            verdict: answered_verdict(&record),
            codes: record.codes.clone(),
            visitor_id: record.visitor_id.clone(),
            event_id: record.event_id.clone(),
            account_ref: record.account_ref.clone(),
            account_id,
            identity: record
                .codes
                .iter()
                .any(|c| c == super::refusal::DEVICE_LIMIT)
                .then_some(record.signals.as_ref())
                .flatten()
                .map(|s| s.context.matched_identity().as_str()),
        };
        if account_id.is_none() {
            // Nothing was reserved: the record goes through the group commit, and the answer
            // waits for it.
            self.record_refusal(record).await;
        }
        Ok(decided)
    }

    /// Frees the device slot a decision reserved, if it still holds one.
    pub async fn release(&self, decision_id: &str) -> Result<bool, Refusal> {
        let released = self.store.release(decision_id).await?;
        if released {
            tracing::info!(decision_id, "reserved slot released");
        }
        Ok(released)
    }

    async fn judge_for_app(&self, body: &[u8], record: &mut NewAttempt) -> Result<Judged, Refusal> {
        let DecisionRequest {
            event,
            username,
            account_ref,
            client_ip,
            origin,
        } = parse(body)?;
        record.username = username.clone();
        record.account_ref = account_ref.clone();
        if let Some(ip) = client_ip {
            record.ip = Some(ip.to_string());
        }
        let Assessment {
            decision,
            scope,
            block,
        } = self
            .assess(client_ip, origin.as_deref(), event, record)
            .await?;
        if let Some(refusal) = block {
            // A block is a decision: the answer names it, and so does the record.
            record.code = refusal.code().to_owned();
            return Ok(Judged::Final);
        }
        let (Some(visitor_id), Some(event_id)) =
            (record.visitor_id.clone(), record.event_id.clone())
        else {
            return Err(Refusal::no_identification());
        };
        let username_key = username.as_deref().map(crate::username::key);
        let username_skeleton = username_key.as_deref().map(crate::username::skeleton);
        let conflict = match (&username_key, &username_skeleton) {
            (Some(key), Some(skeleton)) => self.store.conflict(key, skeleton, &event_id).await?,
            _ => None,
        };
        match conflict {
            // A dry check does not use the requestId up, so only the username matters there.
            Some(StoreError::EventAlreadyUsed) if account_ref.is_none() => {}
            Some(conflict) => return Err(conflict.into()),
            None => {}
        }
        let review = decision.verdict == Action::Review;
        record.code = if review { "review" } else { "allow" }.to_owned();
        let Some(account_ref) = account_ref else {
            return Ok(Judged::Final);
        };
        Ok(Judged::Reserve(Box::new(Reservation {
            account: NewAccount {
                username,
                username_key,
                username_skeleton,
                account_ref: Some(account_ref),
                decision_id: record.decision_id.clone(),
                review,
                ..super::new_account(record, visitor_id, event_id)
            },
            scope,
        })))
    }

    /// Takes the device slot, recording the attempt in the same transaction, after judging the
    /// counts again under the write's locks. A device at its limit (or an email domain or ASN
    /// at its velocity threshold) is a block decision, not an error.
    async fn reserve(
        &self,
        reservation: Reservation,
        record: &mut NewAttempt,
    ) -> Result<Option<i64>, Refusal> {
        let Reservation { account, scope } = reservation;
        let written = self
            .store
            .write_account(&account, &scope, record, |counts, record| {
                let decision = self.rejudge(counts, &scope, record)?;
                let review = decision.verdict == Action::Review;
                record.code = if review { "review" } else { "allow" }.to_owned();
                self.mark_delivery(record);
                Ok(review)
            })
            .await?;
        match written {
            Written::Created(account_id) => {
                self.delivery_committed(record);
                self.used_events.insert(&account.event_id);
                Ok(Some(account_id))
            }
            Written::Refused(Refusal::Policy(refusal)) => {
                record.code = refusal.code.to_owned();
                Ok(None)
            }
            Written::Refused(other) => Err(other),
        }
    }
}

/// What the judgement leaves to do.
enum Judged {
    /// The decision is made; nothing to reserve.
    Final,
    /// An allow or review with an `accountRef`: take the slot.
    Reserve(Box<Reservation>),
}

struct Reservation {
    account: NewAccount,
    scope: AccountScope,
}

/// The verdict the app is told: what the policy enforces (shadow mode never blocks), or a
/// block when the store found the device at its limit.
fn answered_verdict(record: &NewAttempt) -> Action {
    match record.code.as_str() {
        "allow" => Action::Allow,
        "review" => Action::Review,
        _ => Action::Block,
    }
}
