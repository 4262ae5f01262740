//! The decision API area: the bearer tokens of the apps that ask for decisions.

use super::non_empty;
use anyhow::bail;
use clap::Args;
use fingerprint::SecretKey;

/// Short tokens can be guessed; 16 characters is the floor, as for the admin token.
const MIN_API_TOKEN_LEN: usize = 16;

/// The decision API (`serve`).
#[derive(Clone, Args)]
#[command(next_help_heading = "Decision API")]
pub struct ApiArgs {
    /// Bearer tokens of the apps that may call the decision API, comma-separated; without any,
    /// its routes answer 404.
    #[arg(long, env = "API_TOKENS", hide_env_values = true)]
    pub api_tokens: Option<String>,
}

impl ApiArgs {
    /// The validated tokens. An admin token is never also an API token: each credential opens
    /// one door, so a leaked app token cannot read the audit trail.
    pub fn tokens(&self, admin_tokens: &[(String, SecretKey)]) -> anyhow::Result<Vec<SecretKey>> {
        let Some(list) = non_empty(self.api_tokens.clone()) else {
            return Ok(Vec::new());
        };
        let mut tokens = Vec::new();
        for (position, token) in list.split(',').map(str::trim).enumerate() {
            if token.len() < MIN_API_TOKEN_LEN {
                bail!(
                    "API_TOKENS: token {} must be at least {MIN_API_TOKEN_LEN} characters (e.g. openssl rand -hex 24)",
                    position + 1
                );
            }
            if admin_tokens
                .iter()
                .any(|(_, admin)| admin.expose() == token)
            {
                bail!(
                    "API_TOKENS: token {} is an admin token; give apps their own",
                    position + 1
                );
            }
            tokens.push(SecretKey::new(token.to_owned()));
        }
        Ok(tokens)
    }
}
