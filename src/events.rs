//! Where a signup's identification event comes from: the Server API by id, or a sealed result
//! unsealed locally with no API call.

use crate::http::ApiError;
use fingerprint::sealed::DecryptionKey;
use fingerprint::{Client, Event, FingerprintError};

/// The event sources a signup can name.
#[derive(Debug, Clone)]
pub struct EventSource {
    client: Client,
    keys: Vec<DecryptionKey>,
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

    /// Fetches an event, mapping each failure to the answer the client gets. Misconfiguration is
    /// logged with what to fix; the client only learns that it is a configuration problem.
    pub async fn fetch(&self, event_id: &str) -> Result<Event, ApiError> {
        self.client.get_event(event_id).await.map_err(|error| match error {
            FingerprintError::NotFound | FingerprintError::BadRequest { .. } => ApiError::RequestIdNotFound,
            FingerprintError::InvalidEventId => {
                ApiError::InvalidRequest("requestId is ill-formed: expected an id such as 1708102555327.NLOjmg".into())
            }
            FingerprintError::Forbidden { code, message }
                if code.as_deref() == Some(fingerprint::REDIRECT_CODE) =>
            {
                tracing::error!(
                    api_message = %message,
                    "the Fingerprint API answered with a redirect: FINGERPRINT_API_URL must be the \
                     API's origin (or a proxy's that does not redirect), or unset to use FINGERPRINT_REGION"
                );
                ApiError::FingerprintMisconfigured
            }
            FingerprintError::Forbidden { code, message } => {
                let api = self.client.config();
                tracing::error!(
                    api_code = code.as_deref().unwrap_or("none"),
                    api_message = %message,
                    region = ?api.region,
                    api_version = ?api.api_version,
                    "Fingerprint refused our secret key: check FINGERPRINT_API_KEY is a *secret* key of this \
                     workspace, FINGERPRINT_REGION matches the workspace's region, and the subscription is active"
                );
                ApiError::FingerprintMisconfigured
            }
            FingerprintError::RateLimited { retry_after } => {
                tracing::warn!(?retry_after, "Fingerprint API rate limit reached");
                ApiError::FingerprintUnavailable(retry_after.map(|d| d.as_secs()).unwrap_or(1))
            }
            FingerprintError::Unavailable(why) => {
                tracing::warn!(error = %why, "Fingerprint API unavailable");
                ApiError::FingerprintUnavailable(2)
            }
        })
    }

    /// Unseals a sealed result with the configured keys, newest first.
    pub fn unseal(&self, payload: &str) -> Result<Event, ApiError> {
        if self.keys.is_empty() {
            tracing::warn!("a sealed result arrived but FINGERPRINT_ENCRYPTION_KEYS is not set");
            return Err(ApiError::InvalidSealedResult(
                "sealed results are not enabled on this server".into(),
            ));
        }
        fingerprint::sealed::unseal(payload, &self.keys)
            .map_err(|e| ApiError::InvalidSealedResult(e.to_string()))
    }
}
