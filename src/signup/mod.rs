//! The signup flow: read the request, verify the device, decide, create the account, record it.
//!
//! The order is chosen so that cheap refusals come first and the costly password hash runs only
//! after every fraud check has passed.

mod in_flight;
mod refusal;
pub mod request;

pub use in_flight::InFlight;

use crate::http::{ApiError, AppState};
use crate::policy::{self, Action, Context};
use crate::store::{now_ms, DeviceQuota, NewAccount, NewAttempt, StoreError};
use fingerprint::Event;
use request::{EventRef, SignupRequest};
use serde_json::json;
use std::net::IpAddr;

/// Origins are short; a longer header is not one, and would bloat the audit trail.
const MAX_ORIGIN_BYTES: usize = 2048;

/// What the HTTP layer knows about the caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The client IP, derived with the trusted proxy hops.
    pub ip: IpAddr,
    /// The `Origin` header, if any.
    pub origin: Option<String>,
}

/// A created account.
#[derive(Debug, Clone)]
pub struct Created {
    /// Its id.
    pub account_id: i64,
    /// The device it was created from.
    pub visitor_id: String,
    /// Whether it awaits review, and the rules that asked for it.
    pub review_codes: Option<Vec<String>>,
}

/// Runs one signup and records it in the audit trail, whatever the outcome. Every check runs
/// before `deadline`; the account write, once begun, is never cut short (see below).
pub async fn signup(
    state: &AppState,
    caller: &Caller,
    body: &[u8],
    deadline: tokio::time::Instant,
) -> Result<Created, ApiError> {
    let mut record = new_record(state, caller);
    // The deadline lives here rather than in an outer layer, so a signup that runs out of time
    // still goes through this one exit and is recorded. It covers everything up to the account
    // write, never the write itself: cut short there, a COMMIT that had already reached the
    // database would be answered 503 with the account created. The write is bounded instead by
    // the pool's acquire and statement timeouts.
    let decided = tokio::time::timeout_at(deadline, decide(state, caller, body, &mut record));
    let outcome = match decided.await {
        Ok(Ok(prepared)) => create(state, prepared, &mut record).await,
        Ok(Err(error)) => Err(error),
        Err(_) => Err(ApiError::Timeout),
    };
    if let Err(error) = &outcome {
        record_refusal(state, &mut record, error).await;
    }
    tracing::info!(
        event_id = record.event_id.as_deref().unwrap_or("-"),
        visitor_id = record.visitor_id.as_deref().unwrap_or("-"),
        verdict = %record.verdict,
        code = %record.code,
        codes = ?record.codes,
        "signup decided"
    );
    outcome
}

/// Records a signup whose body could not be read (too large, cut off) and hands back its error.
pub async fn refuse_unread(state: &AppState, caller: &Caller, error: ApiError) -> ApiError {
    let mut record = new_record(state, caller);
    record_refusal(state, &mut record, &error).await;
    tracing::info!(verdict = %record.verdict, code = %record.code, "signup refused unread");
    error
}

/// A refusal's record is best effort: while the database is down, the log keeps it instead.
async fn record_refusal(state: &AppState, record: &mut NewAttempt, error: &ApiError) {
    record.code = error.code().to_owned();
    if let Err(store_error) = state.store.record_attempt(record).await {
        tracing::error!(error = %store_error, code = %record.code, "could not record a refused attempt");
    }
}

fn new_record(state: &AppState, caller: &Caller) -> NewAttempt {
    NewAttempt {
        ip: Some(caller.ip.to_string()),
        verdict: "error".into(),
        policy_hash: Some(state.policy_hash.clone()),
        shadow: state.policy.shadow,
        created_at: now_ms(),
        ..NewAttempt::default()
    }
}

/// An account ready to be written: every check passed and its password hashed.
struct Prepared {
    account: NewAccount,
    quota: DeviceQuota,
    review_codes: Option<Vec<String>>,
}

/// Everything before the write: the request, the event, the policy, and the password hash.
async fn decide(
    state: &AppState,
    caller: &Caller,
    body: &[u8],
    record: &mut NewAttempt,
) -> Result<Prepared, ApiError> {
    let SignupRequest {
        event,
        username,
        password,
    } = request::parse(body)?;
    record.username = Some(username.clone());
    if let EventRef::Id(id) = &event {
        record.event_id = Some(id.clone());
    }
    if caller
        .origin
        .as_ref()
        .is_some_and(|o| o.len() > MAX_ORIGIN_BYTES)
    {
        return Err(ApiError::InvalidRequest(
            "the Origin header is too long".into(),
        ));
    }
    state
        .password
        .check_off_runtime(&password, &username)
        .await
        .map_err(ApiError::Internal)?
        .map_err(ApiError::InvalidRequest)?;
    // A used requestId is refused before it costs a Fingerprint API call.
    if let EventRef::Id(id) = &event {
        if state.store.event_used(id).await? {
            return Err(ApiError::RequestIdUsed);
        }
    }

    let event = match event {
        EventRef::Id(id) => state.events.fetch(&id).await?,
        EventRef::Sealed(payload) => state.events.unseal(&payload)?,
    };
    record.event_id = Some(event.event_id.clone());
    record.visitor_id = event.visitor_id.clone();

    let quota = device_quota(&state.policy, record.created_at);
    let device_accounts = match &event.visitor_id {
        Some(visitor) => state.store.device_accounts(visitor, quota.since_ms).await?,
        None => 0,
    };
    let context = Context {
        client_ip: Some(caller.ip),
        origin: caller.origin.clone(),
        now_ms: record.created_at,
        device_accounts,
    };
    let decision = policy::evaluate(&state.policy, &event, &context);
    record.verdict = decision.would_be.as_str().to_owned();
    record.codes = decision.codes().iter().map(|c| c.to_string()).collect();
    record.signals = Some(snapshot(&event, &context));
    if decision.shadow && decision.would_be != Action::Allow {
        tracing::info!(would_be = decision.would_be.as_str(), codes = ?record.codes, "shadow mode: not refusing");
    }
    if decision.verdict == Action::Block {
        return Err(refusal::from_decision(&decision, &event));
    }
    let Some(visitor_id) = event.visitor_id.clone() else {
        return Err(refusal::no_identification());
    };

    let username_key = request::username_key(&username);
    if let Some(conflict) = state.store.conflict(&username_key, &event.event_id).await? {
        return Err(conflict.into());
    }
    let password_hash = state
        .hasher
        .hash(password)
        .await
        .map_err(ApiError::Internal)?;
    let review = decision.verdict == Action::Review;
    record.code = if review { "review" } else { "created" }.to_owned();
    let account = NewAccount {
        username,
        username_key,
        password_hash,
        visitor_id,
        event_id: event.event_id.clone(),
        review,
        created_at: record.created_at,
    };
    // Shadow mode never refuses, so the device quota is lifted there too.
    let quota = if state.policy.shadow {
        DeviceQuota {
            max_accounts: i64::MAX,
            ..quota
        }
    } else {
        quota
    };
    Ok(Prepared {
        account,
        quota,
        review_codes: review.then(|| review_codes(&decision)),
    })
}

/// The account write: the device limit, the unique indexes and the audit record, in one
/// transaction.
async fn create(
    state: &AppState,
    prepared: Prepared,
    record: &mut NewAttempt,
) -> Result<Created, ApiError> {
    let Prepared {
        account,
        quota,
        review_codes,
    } = prepared;
    let visitor_id = account.visitor_id.clone();
    match state.store.create_account(&account, quota, record).await {
        Ok(account_id) => Ok(Created {
            account_id,
            visitor_id,
            review_codes,
        }),
        Err(StoreError::DeviceLimit) => {
            // Another signup from this device won the race after our count: record the count the
            // database saw, so a backtest of the same policy reproduces this refusal.
            if let Some(signals) = record.signals.as_mut() {
                signals["context"]["deviceAccounts"] = json!(quota.max_accounts);
            }
            record.verdict = Action::Block.as_str().to_owned();
            if !record.codes.iter().any(|c| c == "device_limit") {
                record.codes.push("device_limit".into());
            }
            Err(refusal::device_limit(&visitor_id))
        }
        Err(other) => Err(other.into()),
    }
}

/// The rules that asked for review; allow-level findings stay in the record only.
fn review_codes(decision: &policy::Decision) -> Vec<String> {
    let codes = decision
        .findings
        .iter()
        .filter(|f| f.action == Action::Review);
    codes.map(|f| f.code.to_owned()).collect()
}

/// The policy's device limit as the store enforces it.
pub fn device_quota(policy: &policy::Policy, now_ms: i64) -> DeviceQuota {
    let window_ms = i64::from(policy.device_window_days) * 86_400_000;
    DeviceQuota {
        max_accounts: i64::from(policy.accounts_per_device),
        since_ms: if window_ms > 0 { now_ms - window_ms } else { 0 },
    }
}

/// What the decision saw, kept with the attempt so `backtest` can replay it exactly.
fn snapshot(event: &Event, context: &Context) -> serde_json::Value {
    json!({
        "event": event,
        "context": {
            "clientIp": context.client_ip.map(|ip| ip.to_string()),
            "origin": context.origin,
            "nowMs": context.now_ms,
            "deviceAccounts": context.device_accounts,
        }
    })
}
