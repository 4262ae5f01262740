//! The metrics area: the bearer token Prometheus scrapes `/metrics` with.

use super::non_empty;
use anyhow::bail;
use clap::Args;
use fingerprint::SecretKey;

/// Short tokens can be guessed; 16 characters is the floor, as for the other tokens.
const MIN_METRICS_TOKEN_LEN: usize = 16;

/// Prometheus metrics (`serve`).
#[derive(Clone, Args)]
#[command(next_help_heading = "Metrics")]
pub struct MetricsArgs {
    /// Bearer token for `GET /metrics`; without it the route answers 404.
    #[arg(long, env = "METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

impl MetricsArgs {
    /// The validated token, if any.
    pub fn token(&self) -> anyhow::Result<Option<SecretKey>> {
        let token = non_empty(self.metrics_token.clone());
        if token
            .as_ref()
            .is_some_and(|t| t.len() < MIN_METRICS_TOKEN_LEN)
        {
            bail!("METRICS_TOKEN must be at least {MIN_METRICS_TOKEN_LEN} characters (e.g. openssl rand -hex 24)");
        }
        Ok(token.map(SecretKey::new))
    }
}
