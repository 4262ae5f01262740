//! Why a signup created nothing, in the flow's own terms. Each refusal carries its stable code;
//! the HTTP layer alone decides the status, the body and `Retry-After` (`http::error`).

use crate::events::EventError;
use crate::policy::{Decision, Policy, Snapshot};
use crate::rate_limit::Exceeded;
use crate::store::StoreError;

/// A signup that created no account.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The body broke a rule; the message names the field.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// Fingerprint has no event with this requestId.
    #[error("request id not found")]
    RequestIdNotFound,
    /// The sealed result cannot be opened; the message says why.
    #[error("invalid sealed result: {0}")]
    InvalidSealedResult(String),
    /// The body was larger than the limit (bytes).
    #[error("body over {0} bytes")]
    PayloadTooLarge(usize),
    /// The fraud policy refused it.
    #[error("refused by the policy: {}", .0.code)]
    Policy(PolicyRefusal),
    /// The username (case-insensitive) already has an account.
    #[error("username taken")]
    UsernameTaken,
    /// This event already created an account.
    #[error("request id already used")]
    RequestIdUsed,
    /// The client IP or the device went over its signup rate limit; its budget has room
    /// again after the given seconds.
    #[error("rate limited")]
    RateLimited {
        /// Seconds to wait before trying again.
        retry_after_secs: u64,
    },
    /// The rate limits could not be checked (their store did not answer) and they fail closed.
    #[error("rate limit unavailable")]
    RateLimitUnavailable,
    /// Fingerprint could not be reached in time; worth retrying after the given seconds.
    #[error("fingerprint unavailable")]
    FingerprintUnavailable {
        /// Seconds to wait before trying again.
        retry_after_secs: u64,
    },
    /// Fingerprint refused our key, region or subscription: the operator must act.
    #[error("fingerprint misconfigured")]
    FingerprintMisconfigured,
    /// The database could not be reached or was overloaded.
    #[error("database unavailable")]
    DatabaseUnavailable,
    /// The signup ran out of time before its account write.
    #[error("timed out")]
    Timeout,
    /// A fault of ours; the cause is logged, never answered.
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

/// A refusal by the fraud policy, with what the client may be told about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRefusal {
    /// The rule's stable code (`bot_detected`, `device_limit`, ...): the primary finding.
    pub code: &'static str,
    /// The device, for `device_limit`.
    pub visitor_id: Option<String>,
    /// Fingerprint's bot verdict, for `bot_detected`.
    pub bot: Option<String>,
    /// The identity the device's accounts were found by (`visitor_id`, `high_recall_id`,
    /// `linked_id`), for `device_limit`.
    pub identity: Option<&'static str>,
    /// Seconds until the velocity window that refused it ends, for the attempt velocity rules.
    pub retry_after_secs: Option<u64>,
}

/// The code of a refusal that no rule but the device limit names.
pub const DEVICE_LIMIT: &str = "device_limit";

impl Refusal {
    /// The stable machine code clients and the audit trail use.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid_request",
            Self::RequestIdNotFound => "request_id_not_found",
            Self::InvalidSealedResult(_) => "invalid_sealed_result",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::Policy(refusal) => refusal.code,
            Self::UsernameTaken => "username_taken",
            Self::RequestIdUsed => "request_id_used",
            Self::RateLimited { .. } => "rate_limited",
            Self::RateLimitUnavailable => "rate_limit_unavailable",
            Self::FingerprintUnavailable { .. } => "fingerprint_unavailable",
            Self::FingerprintMisconfigured => "fingerprint_misconfigured",
            Self::DatabaseUnavailable => "database_unavailable",
            Self::Timeout => "timeout",
            Self::Internal(_) => "internal_error",
        }
    }

    /// The refusal named by the decision's primary finding, on the snapshot it judged.
    pub(crate) fn from_decision(
        decision: &Decision,
        snapshot: &Snapshot,
        policy: &Policy,
    ) -> Refusal {
        let Some(primary) = decision.primary() else {
            return Refusal::Internal(anyhow::anyhow!("a block verdict without a finding"));
        };
        let (event, context) = (&snapshot.event, &snapshot.context);
        let device_limit = primary.code == DEVICE_LIMIT;
        Refusal::Policy(PolicyRefusal {
            code: primary.code,
            visitor_id: device_limit.then(|| event.visitor_id.clone()).flatten(),
            bot: (primary.code == "bot_detected").then(|| {
                let bot = event.bot.as_ref().map(|b| b.as_str());
                bot.unwrap_or("unknown").to_owned()
            }),
            identity: device_limit.then(|| context.matched_identity().as_str()),
            retry_after_secs: crate::policy::retry_after_secs(policy, primary.code, context.now_ms),
        })
    }

    /// An event that identifies no device.
    pub(crate) fn no_identification() -> Refusal {
        Refusal::Policy(PolicyRefusal {
            code: "no_identification",
            visitor_id: None,
            bot: None,
            identity: None,
            retry_after_secs: None,
        })
    }
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::UsernameTaken => Self::UsernameTaken,
            StoreError::EventAlreadyUsed => Self::RequestIdUsed,
            StoreError::Unavailable(why) => {
                tracing::warn!(error = %why, "database unavailable");
                Self::DatabaseUnavailable
            }
            other => Self::Internal(other.into()),
        }
    }
}

impl From<Exceeded> for Refusal {
    fn from(exceeded: Exceeded) -> Self {
        match exceeded {
            // Rounded up: a client that waits exactly Retry-After must find its budget back.
            Exceeded::Limited(wait) => Self::RateLimited {
                retry_after_secs: u64::try_from(wait.as_millis().div_ceil(1000))
                    .unwrap_or(u64::MAX)
                    .max(1),
            },
            Exceeded::Unavailable => Self::RateLimitUnavailable,
        }
    }
}

impl From<EventError> for Refusal {
    fn from(error: EventError) -> Self {
        match error {
            EventError::NotFound => Self::RequestIdNotFound,
            EventError::IllFormedId => Self::Invalid(
                "requestId is ill-formed: expected an id such as 1708102555327.NLOjmg".into(),
            ),
            EventError::Sealed(why) => Self::InvalidSealedResult(why),
            EventError::Misconfigured => Self::FingerprintMisconfigured,
            EventError::Unavailable { retry_after_secs } => {
                Self::FingerprintUnavailable { retry_after_secs }
            }
        }
    }
}
