//! Where the fraud policy comes from.

use crate::policy::{self, Policy};
use clap::Args;
use std::path::PathBuf;

/// The policy file read from the working directory when none is named.
pub const LOCAL_FILE: &str = "signup-guard.toml";

/// The policy file (`serve`, `explain`, `backtest`).
#[derive(Clone, Args)]
#[command(next_help_heading = "Policy")]
pub struct PolicyFileArgs {
    /// The policy file (TOML) [default: signup-guard.toml when present, else the built-in
    /// policy]. For `backtest`, the candidate policy to compare.
    #[arg(long, env = "SIGNUP_GUARD_CONFIG")]
    pub config: Option<PathBuf>,
}

impl PolicyFileArgs {
    /// Where the policy file comes from: `--config`/`SIGNUP_GUARD_CONFIG`, else
    /// `signup-guard.toml` in the working directory when present, else none (the defaults).
    pub fn path(&self) -> Option<PathBuf> {
        self.config.clone().or_else(|| {
            let local = PathBuf::from(LOCAL_FILE);
            local.exists().then_some(local)
        })
    }

    /// Loads the policy file, or the built-in policy when there is none (demo mode's own in
    /// demo mode: [`Policy::demo`]).
    pub fn load(&self, demo: bool) -> anyhow::Result<Policy> {
        match self.path() {
            Some(path) => {
                let policy = policy::load_file(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
                tracing::info!(path = %path.display(), hash = %policy.hash(), "policy loaded");
                Ok(policy)
            }
            None if demo => Ok(Policy::demo()),
            None => Ok(Policy::default()),
        }
    }
}
