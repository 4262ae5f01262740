//! The admin area: the bearer token of the admin endpoints.

use super::non_empty;
use anyhow::bail;
use clap::Args;
use fingerprint::SecretKey;

/// Short tokens can be guessed; 16 characters is the floor.
const MIN_ADMIN_TOKEN_LEN: usize = 16;

/// The admin endpoints (`serve`).
#[derive(Clone, Args)]
#[command(next_help_heading = "Admin")]
pub struct AdminArgs {
    /// Bearer token for the admin endpoints; without it they answer 404 (except in demo mode).
    #[arg(long, env = "ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
}

impl AdminArgs {
    /// The validated token, if any.
    pub fn token(&self) -> anyhow::Result<Option<SecretKey>> {
        let token = non_empty(self.admin_token.clone());
        if token
            .as_ref()
            .is_some_and(|t| t.len() < MIN_ADMIN_TOKEN_LEN)
        {
            bail!("ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_LEN} characters (e.g. openssl rand -hex 24)");
        }
        Ok(token.map(SecretKey::new))
    }
}
