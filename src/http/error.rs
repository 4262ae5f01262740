//! The one error type at the HTTP edge: it owns the status, the stable code, the JSON body and
//! `Retry-After`. The signup flow's refusals become answers here and nowhere else. Internal
//! details go to the log, never to the client.

use crate::signup::{PolicyRefusal, Refusal};
use crate::store::StoreError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// An answer other than success.
#[derive(Debug)]
pub enum ApiError {
    /// 400 `invalid_request`: the message says which field, parameter or rule.
    InvalidRequest(String),
    /// 400 `request_id_not_found`.
    RequestIdNotFound,
    /// 400 `invalid_sealed_result`.
    InvalidSealedResult(String),
    /// A refusal by the fraud policy: 403 (429 for the device limit and the velocity rules)
    /// with the rule's code.
    Refused(PolicyRefusal),
    /// 409 `username_taken`.
    UsernameTaken,
    /// 409 `request_id_used`: this event already created an account.
    RequestIdUsed,
    /// 429 `rate_limited` with `Retry-After` seconds: this client IP or device sent too many
    /// signups.
    RateLimited(u64),
    /// 503 `rate_limit_unavailable`: the rate limits' store did not answer, and they fail
    /// closed.
    RateLimitUnavailable,
    /// 413 `payload_too_large`.
    PayloadTooLarge(usize),
    /// 503 `fingerprint_unavailable` with `Retry-After` seconds.
    FingerprintUnavailable(u64),
    /// 500 `fingerprint_misconfigured`: the key, region or subscription was refused.
    FingerprintMisconfigured,
    /// 503 `database_unavailable`.
    DatabaseUnavailable,
    /// 503 `timeout`: the request took longer than the configured limit.
    Timeout,
    /// 401 `unauthorized`: no valid admin token.
    Unauthorized,
    /// 401 `unauthorized`: no valid decision-API token.
    ApiUnauthorized,
    /// 401 `unauthorized`: no valid metrics token.
    MetricsUnauthorized,
    /// 401 `invalid_signature`: a webhook without a valid `fpjs-event-signature`.
    InvalidSignature,
    /// 404 `not_found`.
    NotFound,
    /// 405 `method_not_allowed`.
    MethodNotAllowed,
    /// 500 `internal_error`; the cause is logged, not sent.
    Internal(anyhow::Error),
}

/// Handlers return this.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

impl ApiError {
    /// The stable machine code clients and the audit trail use.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::RequestIdNotFound => "request_id_not_found",
            Self::InvalidSealedResult(_) => "invalid_sealed_result",
            Self::Refused(refusal) => refusal.code,
            Self::UsernameTaken => "username_taken",
            Self::RequestIdUsed => "request_id_used",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::RateLimited(_) => "rate_limited",
            Self::RateLimitUnavailable => "rate_limit_unavailable",
            Self::FingerprintUnavailable(_) => "fingerprint_unavailable",
            Self::FingerprintMisconfigured => "fingerprint_misconfigured",
            Self::DatabaseUnavailable => "database_unavailable",
            Self::Timeout => "timeout",
            Self::Unauthorized | Self::ApiUnauthorized | Self::MetricsUnauthorized => {
                "unauthorized"
            }
            Self::InvalidSignature => "invalid_signature",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Internal(_) => "internal_error",
        }
    }

    /// The HTTP status this answer is sent with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_) | Self::RequestIdNotFound | Self::InvalidSealedResult(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::Refused(refusal)
                if refusal.code == "device_limit"
                    || crate::policy::is_velocity_code(refusal.code) =>
            {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::Refused(_) => StatusCode::FORBIDDEN,
            Self::UsernameTaken | Self::RequestIdUsed => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::FingerprintUnavailable(_)
            | Self::DatabaseUnavailable
            | Self::RateLimitUnavailable
            | Self::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            Self::FingerprintMisconfigured | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unauthorized
            | Self::ApiUnauthorized
            | Self::MetricsUnauthorized
            | Self::InvalidSignature => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    fn message(&self) -> String {
        match self {
            Self::InvalidRequest(why) => why.clone(),
            Self::RequestIdNotFound => "Fingerprint has no identification event with this requestId.".into(),
            Self::InvalidSealedResult(why) => format!("The sealed result cannot be unsealed: {why}."),
            Self::Refused(refusal) => match refusal.code {
                "device_limit" => "This device already has the allowed number of accounts. Failed to create account.".into(),
                "bot_detected" => "Bot detected. Failed to create account.".into(),
                "no_identification" => "The identification event carries no device identity.".into(),
                "velocity_ip" | "velocity_subnet" | "velocity_visitor" => "Too many signup attempts from this network or device. Please try again later.".into(),
                "velocity_email_domain" => "Too many accounts were created with this email domain recently. Failed to create account.".into(),
                "velocity_asn" => "Too many accounts were created from this network recently. Failed to create account.".into(),
                code => format!("Signup refused by the fraud policy ({code})."),
            },
            Self::UsernameTaken => "This username is already taken.".into(),
            Self::RequestIdUsed => "This requestId has already been used to create an account.".into(),
            Self::RateLimited(_) => "Too many signups from this address or device. Please try again later.".into(),
            Self::RateLimitUnavailable => {
                "Signups cannot be checked against their rate limit right now. Nothing was created; please try again.".into()
            }
            Self::PayloadTooLarge(limit) => format!("The request body is larger than {limit} bytes."),
            Self::FingerprintUnavailable(_) => {
                "Device verification is temporarily unavailable. Nothing was created; please try again.".into()
            }
            Self::FingerprintMisconfigured => {
                "The service cannot verify devices because of a configuration error.".into()
            }
            Self::DatabaseUnavailable => "The service is temporarily unavailable. Nothing was created; please try again.".into(),
            Self::Timeout => "The request took too long. Please try again.".into(),
            Self::Unauthorized => "A valid admin bearer token is required.".into(),
            Self::ApiUnauthorized => "A valid API bearer token (API_TOKENS) is required.".into(),
            Self::MetricsUnauthorized => "A valid metrics bearer token (METRICS_TOKEN) is required.".into(),
            Self::InvalidSignature => {
                "The fpjs-event-signature header is missing or does not sign this body.".into()
            }
            Self::NotFound => "Not found.".into(),
            Self::MethodNotAllowed => "This method is not allowed on this path.".into(),
            Self::Internal(_) => "Internal error.".into(),
        }
    }

    /// One answer of each kind, every policy code included: the OpenAPI document lists the codes
    /// of each status from here (`http::error_answers`).
    pub fn every_kind() -> Vec<ApiError> {
        let mut kinds = vec![
            Self::InvalidRequest(String::new()),
            Self::RequestIdNotFound,
            Self::InvalidSealedResult(String::new()),
            Self::UsernameTaken,
            Self::RequestIdUsed,
            Self::RateLimited(1),
            Self::RateLimitUnavailable,
            Self::PayloadTooLarge(0),
            Self::FingerprintUnavailable(1),
            Self::FingerprintMisconfigured,
            Self::DatabaseUnavailable,
            Self::Timeout,
            Self::Unauthorized,
            Self::ApiUnauthorized,
            Self::MetricsUnauthorized,
            Self::InvalidSignature,
            Self::NotFound,
            Self::MethodNotAllowed,
            Self::Internal(anyhow::anyhow!("an example")),
        ];
        kinds.extend(crate::policy::codes().into_iter().map(|code| {
            Self::Refused(PolicyRefusal {
                code,
                visitor_id: None,
                bot: None,
                identity: None,
                retry_after_secs: None,
            })
        }));
        // No wildcard: a new variant does not compile until it is matched here, and whoever
        // adds it is sent to the list above.
        for kind in &kinds {
            match kind {
                Self::InvalidRequest(_)
                | Self::RequestIdNotFound
                | Self::InvalidSealedResult(_)
                | Self::Refused(_)
                | Self::UsernameTaken
                | Self::RequestIdUsed
                | Self::RateLimited(_)
                | Self::RateLimitUnavailable
                | Self::PayloadTooLarge(_)
                | Self::FingerprintUnavailable(_)
                | Self::FingerprintMisconfigured
                | Self::DatabaseUnavailable
                | Self::Timeout
                | Self::Unauthorized
                | Self::ApiUnauthorized
                | Self::MetricsUnauthorized
                | Self::InvalidSignature
                | Self::NotFound
                | Self::MethodNotAllowed
                | Self::Internal(_) => {}
            }
        }
        kinds
    }

    /// The body: the fields beside `error` and `code` tell the client more about a refusal.
    fn body(&self) -> ErrorBody {
        let refusal = match self {
            Self::Refused(refusal) => Some(refusal),
            _ => None,
        };
        ErrorBody {
            error: self.message(),
            code: self.code(),
            visitor_id: refusal.and_then(|r| r.visitor_id.clone()),
            bot_result: refusal.and_then(|r| r.bot.clone()),
            identity: refusal.and_then(|r| r.identity),
        }
    }
}

/// The body of every answer other than success.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// What went wrong, for people; the wording may change.
    error: String,
    /// What went wrong, for code: stable.
    code: &'static str,
    /// With `device_limit`: the device that has its accounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    visitor_id: Option<String>,
    /// With `bot_detected`: Fingerprint's bot verdict (`bad`, `good`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    bot_result: Option<String>,
    /// With `device_limit`: the identity the device's accounts were found by.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "high_recall_id")]
    identity: Option<&'static str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(error) = &self {
            tracing::error!(error = %format!("{error:#}"), "internal error");
        }
        let mut response = (self.status(), Json(self.body())).into_response();
        let headers = response.headers_mut();
        match self {
            Self::FingerprintUnavailable(seconds) | Self::RateLimited(seconds) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
            }
            Self::Refused(PolicyRefusal {
                retry_after_secs: Some(seconds),
                ..
            }) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
            }
            Self::DatabaseUnavailable | Self::RateLimitUnavailable | Self::Timeout => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(1u64));
            }
            Self::Unauthorized | Self::ApiUnauthorized | Self::MetricsUnauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Invalid(why) => Self::InvalidRequest(why),
            Refusal::RequestIdNotFound => Self::RequestIdNotFound,
            Refusal::InvalidSealedResult(why) => Self::InvalidSealedResult(why),
            Refusal::PayloadTooLarge(limit) => Self::PayloadTooLarge(limit),
            Refusal::Policy(refusal) => Self::Refused(refusal),
            Refusal::UsernameTaken => Self::UsernameTaken,
            Refusal::RequestIdUsed => Self::RequestIdUsed,
            Refusal::RateLimited { retry_after_secs } => Self::RateLimited(retry_after_secs),
            Refusal::RateLimitUnavailable => Self::RateLimitUnavailable,
            Refusal::FingerprintUnavailable { retry_after_secs } => {
                Self::FingerprintUnavailable(retry_after_secs)
            }
            Refusal::FingerprintMisconfigured => Self::FingerprintMisconfigured,
            Refusal::DatabaseUnavailable => Self::DatabaseUnavailable,
            Refusal::Timeout => Self::Timeout,
            Refusal::Internal(error) => Self::Internal(error),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        Refusal::from(error).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flow records `Refusal::code`; the client reads `ApiError::code`. Every refusal must
    /// be answered with the code it was recorded under, and a new variant must be added here.
    #[test]
    fn every_refusal_is_answered_with_the_code_it_is_recorded_under() {
        let policy = |code| {
            Refusal::Policy(PolicyRefusal {
                code,
                visitor_id: Some("v".into()),
                bot: None,
                identity: None,
                retry_after_secs: None,
            })
        };
        let refusals = vec![
            (Refusal::Invalid("x".into()), 400),
            (Refusal::RequestIdNotFound, 400),
            (Refusal::InvalidSealedResult("x".into()), 400),
            (Refusal::PayloadTooLarge(1), 413),
            (policy("bot_detected"), 403),
            (policy("device_limit"), 429),
            (policy("velocity_ip"), 429),
            (policy("velocity_subnet"), 429),
            (policy("velocity_visitor"), 429),
            (policy("velocity_email_domain"), 429),
            (policy("velocity_asn"), 429),
            (policy("velocity_exceeded"), 403),
            (policy("no_identification"), 403),
            (Refusal::UsernameTaken, 409),
            (Refusal::RequestIdUsed, 409),
            (
                Refusal::RateLimited {
                    retry_after_secs: 7,
                },
                429,
            ),
            (Refusal::RateLimitUnavailable, 503),
            (
                Refusal::FingerprintUnavailable {
                    retry_after_secs: 3,
                },
                503,
            ),
            (Refusal::FingerprintMisconfigured, 500),
            (Refusal::DatabaseUnavailable, 503),
            (Refusal::Timeout, 503),
            (Refusal::Internal(anyhow::anyhow!("x")), 500),
        ];
        for (refusal, status) in refusals {
            // Matching here makes the compiler name any variant this list misses.
            match &refusal {
                Refusal::Invalid(_)
                | Refusal::RequestIdNotFound
                | Refusal::InvalidSealedResult(_)
                | Refusal::PayloadTooLarge(_)
                | Refusal::Policy(_)
                | Refusal::UsernameTaken
                | Refusal::RequestIdUsed
                | Refusal::RateLimited { .. }
                | Refusal::RateLimitUnavailable
                | Refusal::FingerprintUnavailable { .. }
                | Refusal::FingerprintMisconfigured
                | Refusal::DatabaseUnavailable
                | Refusal::Timeout
                | Refusal::Internal(_) => {}
            }
            let recorded = refusal.code();
            let answer = ApiError::from(refusal);
            assert_eq!(answer.code(), recorded);
            assert_eq!(answer.status().as_u16(), status, "{recorded}");
        }
    }
}
