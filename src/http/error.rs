//! The one error type at the HTTP edge: it owns the status, the stable code and the JSON body.
//! Internal details go to the log, never to the client.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

/// An answer other than success.
#[derive(Debug)]
pub enum ApiError {
    /// 400 `invalid_request`: the message says which field or rule.
    InvalidRequest(String),
    /// 400 `request_id_not_found`.
    RequestIdNotFound,
    /// 400 `invalid_sealed_result`.
    InvalidSealedResult(String),
    /// A refusal by the fraud policy: 403 (or 429 for the device limit) with the rule's code.
    Refused {
        /// HTTP status.
        status: StatusCode,
        /// Stable code, e.g. `bot_detected`.
        code: &'static str,
        /// Human message.
        message: String,
        /// Extra fields, e.g. `botResult`, `visitorId`, `codes`.
        extra: Map<String, Value>,
    },
    /// 409 `username_taken`.
    UsernameTaken,
    /// 409 `request_id_used`: this event already created an account.
    RequestIdUsed,
    /// 429 `rate_limited` with `Retry-After` seconds: this client IP sent too many signups.
    RateLimited(u64),
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
    /// 401 `unauthorized`.
    Unauthorized,
    /// 404 `not_found`.
    NotFound,
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
            Self::Refused { code, .. } => code,
            Self::UsernameTaken => "username_taken",
            Self::RequestIdUsed => "request_id_used",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::RateLimited(_) => "rate_limited",
            Self::FingerprintUnavailable(_) => "fingerprint_unavailable",
            Self::FingerprintMisconfigured => "fingerprint_misconfigured",
            Self::DatabaseUnavailable => "database_unavailable",
            Self::Timeout => "timeout",
            Self::Unauthorized => "unauthorized",
            Self::NotFound => "not_found",
            Self::Internal(_) => "internal_error",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_) | Self::RequestIdNotFound | Self::InvalidSealedResult(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::Refused { status, .. } => *status,
            Self::UsernameTaken | Self::RequestIdUsed => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::FingerprintUnavailable(_) | Self::DatabaseUnavailable | Self::Timeout => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::FingerprintMisconfigured | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
        }
    }

    fn message(&self) -> String {
        match self {
            Self::InvalidRequest(why) => why.clone(),
            Self::RequestIdNotFound => "Fingerprint has no identification event with this requestId.".into(),
            Self::InvalidSealedResult(why) => format!("The sealed result cannot be unsealed: {why}."),
            Self::Refused { message, .. } => message.clone(),
            Self::UsernameTaken => "This username is already taken.".into(),
            Self::RequestIdUsed => "This requestId has already been used to create an account.".into(),
            Self::RateLimited(_) => "Too many signups from this address. Please try again later.".into(),
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
            Self::NotFound => "Not found.".into(),
            Self::Internal(_) => "Internal error.".into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(error) = &self {
            tracing::error!(error = %format!("{error:#}"), "internal error");
        }
        let mut body = Map::new();
        body.insert("error".into(), json!(self.message()));
        body.insert("code".into(), json!(self.code()));
        if let Self::Refused { extra, .. } = &self {
            body.extend(extra.clone());
        }
        let mut response = (self.status(), Json(Value::Object(body))).into_response();
        let headers = response.headers_mut();
        match self {
            Self::FingerprintUnavailable(seconds) | Self::RateLimited(seconds) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
            }
            Self::DatabaseUnavailable | Self::Timeout => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(1u64));
            }
            Self::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        use crate::store::StoreError as S;
        match error {
            S::UsernameTaken => Self::UsernameTaken,
            S::EventAlreadyUsed => Self::RequestIdUsed,
            S::DeviceLimit => Self::Internal(anyhow::anyhow!("device limit outside a signup")),
            S::Unavailable(why) => {
                tracing::warn!(error = %why, "database unavailable");
                Self::DatabaseUnavailable
            }
            other => Self::Internal(other.into()),
        }
    }
}
