//! Where a signup's identification event comes from: the Server API by id, or a sealed result
//! unsealed locally with no API call.

use fingerprint::sealed::DecryptionKey;
use fingerprint::{Client, Event, FingerprintError};

/// The event sources a signup can name.
#[derive(Debug, Clone)]
pub struct EventSource {
    client: Client,
    keys: Vec<DecryptionKey>,
}

/// Why no event could be had, in the terms a caller acts on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Fingerprint has no such event.
    #[error("no such event")]
    NotFound,
    /// The id cannot be an event id.
    #[error("ill-formed event id")]
    IllFormedId,
    /// The sealed result cannot be opened; the text says why.
    #[error("cannot unseal: {0}")]
    Sealed(String),
    /// Our key, region or subscription was refused (logged with what to fix).
    #[error("Fingerprint refused our configuration")]
    Misconfigured,
    /// Fingerprint could not answer in time; worth a retry after the given seconds.
    #[error("Fingerprint unavailable")]
    Unavailable {
        /// Seconds to wait before trying again.
        retry_after_secs: u64,
    },
}

impl EventError {
    /// A short, stable label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::IllFormedId => "ill_formed_id",
            Self::Sealed(_) => "unsealable",
            Self::Misconfigured => "misconfigured",
            Self::Unavailable { .. } => "unavailable",
        }
    }
}

impl EventSource {
    /// Wraps the process's one client and the sealed-result keys.
    pub fn new(client: Client, keys: Vec<DecryptionKey>) -> Self {
        Self { client, keys }
    }

    /// The client, for `explain`.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Fetches an event. Misconfiguration is logged with what to fix; the caller only learns
    /// that it is a configuration problem.
    pub async fn fetch(&self, event_id: &str) -> Result<Event, EventError> {
        self.client.get_event(event_id).await.map_err(|error| match error {
            FingerprintError::NotFound | FingerprintError::BadRequest { .. } => EventError::NotFound,
            FingerprintError::InvalidEventId => EventError::IllFormedId,
            FingerprintError::Forbidden { code, message }
                if code.as_deref() == Some(fingerprint::REDIRECT_CODE) =>
            {
                tracing::error!(
                    api_message = ?message,
                    "the Fingerprint API answered with a redirect: FINGERPRINT_API_URL must be the \
                     API's origin (or a proxy's that does not redirect), or unset to use FINGERPRINT_REGION"
                );
                EventError::Misconfigured
            }
            // A status the events endpoint never answers (410, 418, ...): the event may exist,
            // but what answered is not the API as configured. Not the user's fault.
            FingerprintError::Forbidden { code, message }
                if code.as_deref() == Some(fingerprint::UNEXPECTED_STATUS_CODE) =>
            {
                let api = self.client.config();
                tracing::error!(
                    api_message = ?message,
                    api_version = ?api.api_version,
                    "the Fingerprint API answered a status it never sends: check FINGERPRINT_API_URL \
                     (or any proxy in front of the API) and the API version"
                );
                EventError::Misconfigured
            }
            FingerprintError::Forbidden { code, message }
                if code.as_deref() == Some(fingerprint::RULESET_NOT_FOUND_CODE) =>
            {
                tracing::error!(
                    api_message = ?message,
                    ruleset_id = self.client.config().ruleset_id.as_deref().unwrap_or("none"),
                    "Fingerprint has no such ruleset: FINGERPRINT_RULESET_ID must be the id of a \
                     ruleset of this workspace (Rules Engine in the dashboard), or unset"
                );
                EventError::Misconfigured
            }
            FingerprintError::Forbidden { code, message } => {
                let api = self.client.config();
                tracing::error!(
                    api_code = code.as_deref().unwrap_or("none"),
                    api_message = ?message,
                    region = ?api.region,
                    api_version = ?api.api_version,
                    "Fingerprint refused our secret key: check FINGERPRINT_API_KEY is a *secret* key of this \
                     workspace, FINGERPRINT_REGION matches the workspace's region, and the subscription is active"
                );
                EventError::Misconfigured
            }
            FingerprintError::RateLimited { retry_after } => {
                tracing::warn!(?retry_after, "Fingerprint API rate limit reached");
                let retry_after_secs = retry_after.map(|d| d.as_secs()).unwrap_or(1);
                EventError::Unavailable { retry_after_secs }
            }
            FingerprintError::Unavailable(why) => {
                tracing::warn!(error = ?why, "Fingerprint API unavailable");
                EventError::Unavailable { retry_after_secs: 2 }
            }
        })
    }

    /// Unseals a sealed result with the configured keys, newest first.
    pub fn unseal(&self, payload: &str) -> Result<Event, EventError> {
        if self.keys.is_empty() {
            tracing::warn!("a sealed result arrived but FINGERPRINT_ENCRYPTION_KEYS is not set");
            return Err(EventError::Sealed(
                "sealed results are not enabled on this server".into(),
            ));
        }
        fingerprint::sealed::unseal(payload, &self.keys)
            .map_err(|e| EventError::Sealed(e.to_string()))
    }
}
