//! The decision-webhooks area: where decisions are announced, signed with which secret, and
//! which verdicts.

use super::non_empty;
use crate::delivery::DecisionWebhooks;
use anyhow::{bail, Context as _};
use clap::Args;
use fingerprint::SecretKey;
use std::time::Duration;

/// The verdicts announced unless `DECISION_WEBHOOK_VERDICTS` says otherwise.
pub const DEFAULT_VERDICTS: &str = "block,review";
/// A signing secret shorter than this can be guessed.
const MIN_SECRET_LEN: usize = 16;
/// The first retry waits this long; each later one doubles it.
pub const DEFAULT_RETRY_BASE_MS: u64 = 5_000;
/// Deliveries are retried for this long, then marked failed.
const RETRY_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Decision webhooks (`serve`).
#[derive(Clone, Args)]
#[command(next_help_heading = "Decision webhooks")]
pub struct DecisionWebhookArgs {
    /// Where each announced decision is POSTed (http or https); unset, none are sent.
    #[arg(long, env = "DECISION_WEBHOOK_URL")]
    pub decision_webhook_url: Option<String>,
    /// HMAC-SHA256 key of the `signup-guard-signature` header; required with the URL.
    #[arg(long, env = "DECISION_WEBHOOK_SECRET", hide_env_values = true)]
    pub decision_webhook_secret: Option<String>,
    /// The verdicts announced, comma-separated: allow, review, block.
    #[arg(long, env = "DECISION_WEBHOOK_VERDICTS", default_value = DEFAULT_VERDICTS)]
    pub decision_webhook_verdicts: String,
    /// The first retry's wait, 10 to 3600000 ms; each later one doubles it, to an hour at most.
    #[arg(long, env = "DECISION_WEBHOOK_RETRY_BASE_MS", default_value_t = DEFAULT_RETRY_BASE_MS)]
    pub decision_webhook_retry_base_ms: u64,
}

impl DecisionWebhookArgs {
    /// The validated settings, or `None` without a URL.
    pub fn config(&self) -> anyhow::Result<Option<DecisionWebhooks>> {
        let Some(url) = non_empty(self.decision_webhook_url.clone()) else {
            return Ok(None);
        };
        let url: url::Url = url.parse().context(
            "DECISION_WEBHOOK_URL is not a URL (e.g. https://hooks.example.com/signups)",
        )?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            bail!("DECISION_WEBHOOK_URL must be an http or https URL with a host");
        }
        let Some(secret) = non_empty(self.decision_webhook_secret.clone()) else {
            bail!("DECISION_WEBHOOK_SECRET is required with DECISION_WEBHOOK_URL: receivers check the signature");
        };
        if secret.len() < MIN_SECRET_LEN {
            bail!("DECISION_WEBHOOK_SECRET must be at least {MIN_SECRET_LEN} characters (e.g. openssl rand -hex 24)");
        }
        let mut verdicts = Vec::new();
        for verdict in self.decision_webhook_verdicts.split(',').map(str::trim) {
            if !matches!(verdict, "allow" | "review" | "block") {
                bail!("DECISION_WEBHOOK_VERDICTS: {verdict:?} is not a verdict; use allow, review and block, comma-separated");
            }
            verdicts.push(verdict.to_owned());
        }
        if !(10..=3_600_000).contains(&self.decision_webhook_retry_base_ms) {
            bail!(
                "DECISION_WEBHOOK_RETRY_BASE_MS must be between 10 and 3600000, got {}",
                self.decision_webhook_retry_base_ms
            );
        }
        Ok(Some(DecisionWebhooks {
            url,
            secret: SecretKey::new(secret),
            verdicts,
            retry_base: Duration::from_millis(self.decision_webhook_retry_base_ms),
            retry_window: RETRY_WINDOW,
        }))
    }
}
