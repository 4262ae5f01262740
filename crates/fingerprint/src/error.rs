use std::time::Duration;

/// Why an event could not be fetched. Classified from the HTTP status, never from the body alone.
#[derive(Debug, thiserror::Error)]
pub enum FingerprintError {
    /// 404: Fingerprint has no event with this id (after one delayed retry).
    #[error("event not found")]
    NotFound,
    /// 400: the API rejected the request, e.g. an ill-formed event id. Other 4xx statuses are
    /// not this: see [`FingerprintError::Forbidden`] and [`FingerprintError::Unavailable`].
    #[error("bad request: {message}")]
    BadRequest {
        /// The API's error code, when it sent one.
        code: Option<String>,
        /// The API's message, or a description of the failure.
        message: String,
    },
    /// 401 or 403: the secret key, region or subscription was refused; or a redirect (code
    /// [`crate::REDIRECT_CODE`]), which means a wrong base URL; or a 4xx status the events
    /// endpoint never answers, such as 410 or 418 (code [`crate::UNEXPECTED_STATUS_CODE`]),
    /// which means a wrong base URL, a proxy in the way or a retired API version; or a ruleset id
    /// the workspace does not have (code [`crate::RULESET_NOT_FOUND_CODE`]). Not retryable; an
    /// operator must act.
    #[error("refused by the Fingerprint API ({}): {message}", code.as_deref().unwrap_or("no code"))]
    Forbidden {
        /// The API's error code, e.g. `TokenNotFound`, `WrongRegion`, `SubscriptionNotActive`.
        code: Option<String>,
        /// The API's message.
        message: String,
    },
    /// 429 after retries.
    #[error("rate limited by the Fingerprint API")]
    RateLimited {
        /// The `Retry-After` the API sent, if any.
        retry_after: Option<Duration>,
    },
    /// 5xx, 408, timeout, connection failure, or a body that is not an event (including one
    /// past the size limits of [`crate::event`]), after retries.
    #[error("Fingerprint API unavailable: {0}")]
    Unavailable(String),
    /// The caller passed an event id that cannot be valid (empty, too long, or unsafe characters).
    #[error("invalid event id")]
    InvalidEventId,
}

impl FingerprintError {
    /// Whether the same call may succeed later without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable(_))
    }
}
