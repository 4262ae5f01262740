//! The passwords area: what a password must satisfy, and how many are hashed at once.

use crate::password::PasswordPolicy;
use anyhow::bail;
use clap::Args;

/// The longest password limit allowed (characters).
const MAX_MAX_LENGTH: usize = 1024;
/// Hash concurrency by default: one per CPU.
pub const DEFAULT_HASH_CONCURRENCY: usize = 0;

/// The password policy and the hashing pool (`serve`).
#[derive(Clone, Args)]
#[command(next_help_heading = "Passwords")]
pub struct PasswordArgs {
    /// Shortest password (characters).
    #[arg(long, env = "PASSWORD_MIN_LENGTH", default_value_t = PasswordPolicy::default().min_length)]
    pub password_min_length: usize,
    /// Longest password (characters).
    #[arg(long, env = "PASSWORD_MAX_LENGTH", default_value_t = PasswordPolicy::default().max_length)]
    pub password_max_length: usize,
    /// Lowest zxcvbn strength score, 0 to 4.
    #[arg(long, env = "PASSWORD_MIN_SCORE", default_value_t = PasswordPolicy::default().min_score)]
    pub password_min_score: u8,
    /// Password hashes computed at once (each takes 19 MiB); 0 = one per CPU.
    #[arg(long, env = "HASH_CONCURRENCY", default_value_t = DEFAULT_HASH_CONCURRENCY)]
    pub hash_concurrency: usize,
}

/// The validated password settings.
#[derive(Debug, Clone, Copy)]
pub struct Passwords {
    /// What a password must satisfy.
    pub policy: PasswordPolicy,
    /// Hashes computed at once.
    pub hash_concurrency: usize,
}

impl Default for Passwords {
    fn default() -> Self {
        Self {
            policy: PasswordPolicy::default(),
            hash_concurrency: hash_concurrency(DEFAULT_HASH_CONCURRENCY),
        }
    }
}

/// How many hashes run at once for a setting of `n` (0 = one per CPU).
pub fn hash_concurrency(n: usize) -> usize {
    match n {
        0 => crate::password::cpus(),
        n => n,
    }
}

impl PasswordArgs {
    /// The validated password settings.
    pub fn validate(&self) -> anyhow::Result<Passwords> {
        let floor = PasswordPolicy::default().min_length;
        if self.password_min_length < floor
            || self.password_max_length < self.password_min_length
            || self.password_max_length > MAX_MAX_LENGTH
        {
            bail!("PASSWORD_MIN_LENGTH must be at least {floor} and PASSWORD_MAX_LENGTH between it and {MAX_MAX_LENGTH}");
        }
        if self.password_min_score > 4 {
            bail!(
                "PASSWORD_MIN_SCORE must be 0 to 4, got {}",
                self.password_min_score
            );
        }
        Ok(Passwords {
            policy: PasswordPolicy {
                min_length: self.password_min_length,
                max_length: self.password_max_length,
                min_score: self.password_min_score,
            },
            hash_concurrency: hash_concurrency(self.hash_concurrency),
        })
    }
}
