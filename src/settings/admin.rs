//! The admin area: the analysts' bearer tokens, each with a name their actions are recorded
//! under.

use super::non_empty;
use anyhow::bail;
use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args};
use fingerprint::SecretKey;

/// Short tokens can be guessed; 16 characters is the floor.
const MIN_ADMIN_TOKEN_LEN: usize = 16;
/// The name `ADMIN_TOKEN` alone is recorded under.
pub const DEFAULT_ADMIN_NAME: &str = "admin";

/// The admin endpoints (`serve`).
#[derive(Clone, Args)]
#[command(next_help_heading = "Admin")]
pub struct AdminArgs {
    /// Bearer token for the admin endpoints, recorded as `admin`; without any admin token they
    /// answer 404 (except in demo mode).
    #[arg(long, env = "ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Named analyst tokens, `alice:<token>,bob:<token>`: each can be revoked alone, and every
    /// action is recorded under its name.
    #[arg(long, env = "ADMIN_TOKENS", hide_env_values = true)]
    pub admin_tokens: Option<String>,
    /// Report fraud labels to Fingerprint (PATCH /v4/events/{id} {"suspect": true}), which
    /// tunes its Suspect Score; sent in the background and retried. 1/0, true/false, yes/no.
    #[arg(
        long,
        env = "FINGERPRINT_REPORT_LABELS",
        action = ArgAction::SetTrue,
        value_parser = BoolishValueParser::new()
    )]
    pub fingerprint_report_labels: bool,
}

impl AdminArgs {
    /// The validated tokens with their names.
    pub fn tokens(&self) -> anyhow::Result<Vec<(String, SecretKey)>> {
        let mut tokens = Vec::new();
        if let Some(token) = non_empty(self.admin_token.clone()) {
            if token.len() < MIN_ADMIN_TOKEN_LEN {
                bail!("ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_LEN} characters (e.g. openssl rand -hex 24)");
            }
            tokens.push((DEFAULT_ADMIN_NAME.to_owned(), SecretKey::new(token)));
        }
        let named = non_empty(self.admin_tokens.clone()).unwrap_or_default();
        for (position, pair) in named.split(',').map(str::trim).enumerate() {
            if pair.is_empty() {
                continue;
            }
            let Some((name, token)) = pair.split_once(':') else {
                bail!("ADMIN_TOKENS: entry {} must be name:token", position + 1);
            };
            let name = name.trim();
            let valid_name = !name.is_empty()
                && name.len() <= 32
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !valid_name {
                bail!(
                    "ADMIN_TOKENS: entry {}: a name is 1 to 32 letters, digits, '-', '_' or '.'",
                    position + 1
                );
            }
            if token.trim().len() < MIN_ADMIN_TOKEN_LEN {
                bail!("ADMIN_TOKENS: the token of {name} must be at least {MIN_ADMIN_TOKEN_LEN} characters");
            }
            if tokens.iter().any(|(n, _)| n == name) {
                bail!("ADMIN_TOKENS: {name} is named twice");
            }
            if tokens
                .iter()
                .any(|(_, t): &(String, SecretKey)| t.expose() == token.trim())
            {
                bail!("ADMIN_TOKENS: the token of {name} is also another's; give each analyst their own");
            }
            tokens.push((name.to_owned(), SecretKey::new(token.trim())));
        }
        Ok(tokens)
    }
}
