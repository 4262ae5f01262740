//! The command line: one binary, serving by default.

use crate::config::Settings;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// signup-guard: stops fake account creation with Fingerprint device intelligence.
///
/// Every setting can be given as a flag or as the environment variable shown; a `.env` file in
/// the working directory is read first, and real environment variables win over it.
#[derive(Parser)]
#[command(
    name = "signup-guard",
    version,
    about,
    long_about,
    propagate_version = true
)]
pub struct Cli {
    /// Settings shared by every command.
    #[command(flatten)]
    pub settings: Settings,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Serve the signup API (the default).
    Serve,
    /// Create or update the database schema, then exit.
    Migrate,
    /// Run the offline Fingerprint Server API simulator alone, for developing any backend offline.
    Simulator {
        /// Address to listen on.
        #[arg(long, env = "SIMULATOR_HOST", default_value = "127.0.0.1")]
        host: String,
        /// Port to listen on.
        #[arg(long, env = "SIMULATOR_PORT", default_value_t = 9000)]
        port: u16,
        /// The secret key the simulator accepts (Bearer for v4, Auth-API-Key for v3).
        #[arg(
            long,
            env = "SIMULATOR_SECRET_KEY",
            default_value = "sim-secret-key",
            hide_env_values = true
        )]
        secret_key: String,
        /// Added latency for every event fetch, in milliseconds.
        #[arg(long, env = "SIMULATOR_LATENCY_MS", default_value_t = 0)]
        latency_ms: u64,
        /// Base64 AES-256 key: when given, /identify also returns a sealed result.
        #[arg(long, env = "SIMULATOR_ENCRYPTION_KEY", hide_env_values = true)]
        encryption_key: Option<String>,
    },
    /// Print every rule, its input and its outcome under the current policy, for a recorded
    /// event (from its recorded snapshot, without calling Fingerprint) or a fetched one.
    Explain {
        /// The requestId (event id) to explain.
        request_id: Option<String>,
        /// Fetch the event from Fingerprint even when it was recorded.
        #[arg(long, requires = "request_id")]
        fetch: bool,
        /// Explain a sealed result instead of fetching an event.
        #[arg(long, conflicts_with = "request_id")]
        sealed: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Replay recorded attempts against the policy given with --config and show what would change.
    Backtest {
        /// Only attempts at or after this time: RFC 3339 (2026-11-01T00:00:00Z), or an age such
        /// as 7d, 12h or 30m.
        #[arg(long)]
        since: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Where the policy file comes from: `--config`/`SIGNUP_GUARD_CONFIG`, else `signup-guard.toml`
/// in the working directory when present, else the built-in defaults.
pub fn policy_path(explicit: Option<&PathBuf>) -> Option<PathBuf> {
    explicit.cloned().or_else(|| {
        let local = PathBuf::from("signup-guard.toml");
        local.exists().then_some(local)
    })
}
