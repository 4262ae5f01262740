//! The logging area. `RUST_LOG` filters, read by the subscriber itself.

use clap::Args;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object a line, for log shippers.
    Json,
}

/// The log format (every command but `simulator`).
#[derive(Clone, Args)]
#[command(next_help_heading = "Logging")]
pub struct LoggingArgs {
    /// Log format. Filter with RUST_LOG.
    #[arg(long, env = "LOG_FORMAT", value_enum, ignore_case = true, default_value_t = LogFormat::default())]
    pub log_format: LogFormat,
}
