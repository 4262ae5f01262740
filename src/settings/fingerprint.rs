//! The Fingerprint area: the Server API client, sealed results and webhooks.

use super::non_empty;
use anyhow::{bail, Context as _};
use clap::Args;
use fingerprint::sealed::DecryptionKey;
use fingerprint::{ApiVersion, ClientBuildError, ClientConfig, Region, SecretKey};
use std::time::Duration;

/// The client's own defaults, so that the flags show and use the values the client would.
fn client_defaults() -> ClientConfig {
    ClientConfig::new(SecretKey::new(String::new()))
}

fn region_name(region: Region) -> String {
    match region {
        Region::Us => "us",
        Region::Eu => "eu",
        Region::Ap => "ap",
    }
    .into()
}

fn version_name(version: ApiVersion) -> String {
    match version {
        ApiVersion::V4 => "4",
        ApiVersion::V3 => "3",
    }
    .into()
}

/// Fetching and unsealing events (`serve`, `explain`).
#[derive(Clone, Args)]
#[command(next_help_heading = "Fingerprint")]
pub struct FingerprintArgs {
    /// Fingerprint secret API key. Required except in demo mode.
    #[arg(long, env = "FINGERPRINT_API_KEY", hide_env_values = true)]
    pub fingerprint_api_key: Option<String>,
    /// Fingerprint region: us, eu or ap.
    #[arg(long, env = "FINGERPRINT_REGION", default_value_t = region_name(client_defaults().region))]
    pub fingerprint_region: String,
    /// Server API version: 4 (current) or 3 (shuts down 2027-01-07).
    #[arg(long, env = "FINGERPRINT_API_VERSION", default_value_t = version_name(client_defaults().api_version))]
    pub fingerprint_api_version: String,
    /// Origin that replaces the region's API host, e.g. http://127.0.0.1:9000 for the simulator.
    #[arg(long, env = "FINGERPRINT_API_URL")]
    pub fingerprint_api_url: Option<String>,
    /// Comma-separated base64 keys for Sealed Client Results, newest first.
    #[arg(long, env = "FINGERPRINT_ENCRYPTION_KEYS", hide_env_values = true)]
    pub fingerprint_encryption_keys: Option<String>,
    /// Total time for one event fetch, retries included (ms).
    #[arg(long, env = "FINGERPRINT_TIMEOUT_MS", default_value_t = super::millis(client_defaults().deadline))]
    pub fingerprint_timeout_ms: u64,
    /// After this long without an answer, race a second try beside the first (ms) [default:
    /// half of FINGERPRINT_TIMEOUT_MS, so a hung connection leaves time for a second try].
    #[arg(long, env = "FINGERPRINT_ATTEMPT_TIMEOUT_MS")]
    pub fingerprint_attempt_timeout_ms: Option<u64>,
    /// Time to connect to the Fingerprint API (ms).
    #[arg(long, env = "FINGERPRINT_CONNECT_TIMEOUT_MS", default_value_t = super::millis(client_defaults().connect_timeout))]
    pub fingerprint_connect_timeout_ms: u64,
    /// Retries of a transient Fingerprint failure (5xx, timeout, 429).
    #[arg(long, env = "FINGERPRINT_MAX_RETRIES", default_value_t = client_defaults().retry.max_retries)]
    pub fingerprint_max_retries: u32,
    /// Rules Engine ruleset evaluated with every event fetch; its action feeds the policy rule
    /// fingerprint_rule. Server API v4 only.
    #[arg(long, env = "FINGERPRINT_RULESET_ID")]
    pub fingerprint_ruleset_id: Option<String>,
}

/// Verifying Fingerprint webhooks (`serve`).
#[derive(Clone, Args)]
#[command(next_help_heading = "Webhooks")]
pub struct WebhookArgs {
    /// Secret for the `fpjs-event-signature` of webhooks; without it the webhook endpoint is off.
    #[arg(long, env = "FINGERPRINT_WEBHOOK_SECRET", hide_env_values = true)]
    pub fingerprint_webhook_secret: Option<String>,
}

impl WebhookArgs {
    /// The webhook signing secret, if any.
    pub fn secret(&self) -> Option<SecretKey> {
        non_empty(self.fingerprint_webhook_secret.clone()).map(SecretKey::new)
    }
}

impl FingerprintArgs {
    /// The keys for Sealed Client Results, newest first (none when unset).
    pub fn encryption_keys(&self) -> anyhow::Result<Vec<DecryptionKey>> {
        match self.fingerprint_encryption_keys.as_deref() {
            Some(keys) if !keys.trim().is_empty() => DecryptionKey::parse_list(keys).map_err(|e| {
                anyhow::anyhow!(
                    "FINGERPRINT_ENCRYPTION_KEYS: {e} (expected comma-separated base64 32-byte keys)"
                )
            }),
            _ => Ok(Vec::new()),
        }
    }

    /// The Fingerprint client settings (for `serve` and `explain`).
    pub fn client_config(&self) -> anyhow::Result<ClientConfig> {
        let Some(key) = non_empty(self.fingerprint_api_key.clone()) else {
            bail!("FINGERPRINT_API_KEY is required: create a secret key in the Fingerprint dashboard (API keys), or run with --demo");
        };
        let region = Region::parse(&self.fingerprint_region).with_context(|| {
            format!(
                "FINGERPRINT_REGION must be us, eu or ap, got {:?}",
                self.fingerprint_region
            )
        })?;
        let api_version = match self.fingerprint_api_version.trim() {
            "4" | "v4" => ApiVersion::V4,
            "3" | "v3" => ApiVersion::V3,
            other => bail!("FINGERPRINT_API_VERSION must be 4 or 3, got {other:?}"),
        };
        let mut config = ClientConfig::new(SecretKey::new(key));
        config.region = region;
        config.api_version = api_version;
        config.base_url = non_empty(self.fingerprint_api_url.clone());
        config.deadline = Duration::from_millis(self.fingerprint_timeout_ms.clamp(100, 60_000));
        config.attempt_timeout = self
            .fingerprint_attempt_timeout_ms
            .map(|ms| Duration::from_millis(ms.clamp(50, 60_000)));
        config.connect_timeout =
            Duration::from_millis(self.fingerprint_connect_timeout_ms.clamp(50, 30_000));
        config.retry.max_retries = self.fingerprint_max_retries.min(10);
        config.ruleset_id = non_empty(self.fingerprint_ruleset_id.clone());
        fingerprint::Client::new(config.clone()).map_err(|e| match e {
            // Refused rather than ignored: a ruleset the operator set up to block must not
            // silently stop blocking because the API version was changed.
            ClientBuildError::RulesetNeedsV4 => anyhow::anyhow!(
                "FINGERPRINT_RULESET_ID needs FINGERPRINT_API_VERSION=4: Server API v3 has no Rules Engine"
            ),
            ClientBuildError::InvalidRulesetId(_) => anyhow::anyhow!("FINGERPRINT_RULESET_ID: {e}"),
            other => anyhow::anyhow!("FINGERPRINT_API_URL: {other}"),
        })?;
        if let Some(url) = config
            .base_url
            .as_deref()
            .and_then(|u| url::Url::parse(u).ok())
        {
            let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
            if url.scheme() == "http" && !local {
                tracing::warn!(url = %url, "FINGERPRINT_API_URL is plain http to another host: the secret key crosses the network unencrypted");
            }
        }
        Ok(config)
    }
}
