//! The command line: one binary, serving by default. Each subcommand takes the settings areas it
//! uses (see `settings`), so its `--help` lists only those.

use crate::settings::{
    DatabaseArgs, DemoArgs, FingerprintArgs, LogFormat, LoggingArgs, PolicyFileArgs, ServeArgs,
};
use clap::{Args, CommandFactory as _, Parser, Subcommand};
use std::ffi::OsString;

/// signup-guard: stops fake account creation with Fingerprint device intelligence.
///
/// Every setting can be given as a flag or as the environment variable shown; a `.env` file in
/// the working directory is read first, and real environment variables win over it. Without a
/// command it serves, taking `serve`'s options; each command's `--help` lists its own.
/// Options written before a command are read as that command's.
#[derive(Parser)]
#[command(
    name = "signup-guard",
    version,
    about,
    long_about,
    propagate_version = true,
    // The options are `serve`'s, listed by `serve --help`: here they would bury the commands.
    help_template = "{about-with-newline}\n{usage-heading} {usage}\n\nCommands:\n{subcommands}\n\nOptions: `signup-guard serve --help` lists serve's (the default command), \
`signup-guard COMMAND --help` another command's.\n  -h, --help     Print help\n  -V, --version  Print version\n"
)]
pub struct Cli {
    /// `serve`'s settings, for `signup-guard` without a subcommand.
    #[command(flatten)]
    pub serve: ServeArgs,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Serve the signup API (the default).
    Serve(Box<ServeArgs>),
    /// Create or update the database schema, then exit.
    Migrate(MigrateArgs),
    /// Run the offline Fingerprint Server API simulator alone, for developing any backend offline.
    Simulator(SimulatorArgs),
    /// Print every rule, its input and its outcome under the current policy, for a recorded
    /// event (from its recorded snapshot, without calling Fingerprint) or a fetched one.
    Explain(ExplainArgs),
    /// Replay recorded attempts against the policy given with --config and show what would change.
    Backtest(BacktestArgs),
    /// Add, list or remove allow, review and block list entries (the admin API's /api/lists,
    /// for scripts and for seeding a list before the first start).
    Lists(ListsArgs),
}

/// `migrate`'s arguments.
#[derive(Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub demo: DemoArgs,
    #[command(flatten)]
    pub logging: LoggingArgs,
}

/// `simulator`'s arguments.
#[derive(Args)]
pub struct SimulatorArgs {
    /// Address to listen on.
    #[arg(long, env = "SIMULATOR_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on.
    #[arg(long, env = "SIMULATOR_PORT", default_value_t = 9000)]
    pub port: u16,
    /// The secret key the simulator accepts (Bearer for v4, Auth-API-Key for v3).
    #[arg(
        long,
        env = "SIMULATOR_SECRET_KEY",
        default_value = "sim-secret-key",
        hide_env_values = true
    )]
    pub secret_key: String,
    /// Added latency for every event fetch, in milliseconds.
    #[arg(long, env = "SIMULATOR_LATENCY_MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Base64 AES-256 key: when given, /identify also returns a sealed result.
    #[arg(long, env = "SIMULATOR_ENCRYPTION_KEY", hide_env_values = true)]
    pub encryption_key: Option<String>,
}

/// `explain`'s arguments.
#[derive(Clone, Args)]
pub struct ExplainArgs {
    /// The requestId (event id) to explain.
    pub request_id: Option<String>,
    /// Fetch the event from Fingerprint even when it was recorded.
    #[arg(long, requires = "request_id")]
    pub fetch: bool,
    /// Explain a sealed result instead of fetching an event.
    #[arg(long, conflicts_with = "request_id")]
    pub sealed: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub fingerprint: FingerprintArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub policy_file: PolicyFileArgs,
    #[command(flatten)]
    pub demo: DemoArgs,
    #[command(flatten)]
    pub logging: LoggingArgs,
}

/// `backtest`'s arguments.
#[derive(Args)]
pub struct BacktestArgs {
    /// Only attempts at or after this time: RFC 3339 (2026-11-01T00:00:00Z), or an age such
    /// as 7d, 12h or 30m.
    #[arg(long)]
    pub since: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Score both policies against the analysts' labels: the confusion table, and the
    /// precision and recall of block, and of block or review.
    #[arg(long)]
    pub labels: bool,
    /// List each attempt whose verdict would change: id, event id, from -> to, label.
    #[arg(long)]
    pub changed: bool,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub policy_file: PolicyFileArgs,
    #[command(flatten)]
    pub demo: DemoArgs,
    #[command(flatten)]
    pub logging: LoggingArgs,
}

/// `lists`' arguments.
#[derive(Args)]
pub struct ListsArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: ListsCommand,
}

/// The settings every `lists` subcommand reads, taken after its name like its own flags.
#[derive(Args)]
pub struct ListsStore {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub demo: DemoArgs,
    #[command(flatten)]
    pub logging: LoggingArgs,
}

/// `lists`' subcommands.
#[derive(Subcommand)]
pub enum ListsCommand {
    /// Add an entry; every running instance applies it within a few seconds.
    Add(ListsAddArgs),
    /// Show entries, newest first.
    Ls(ListsLsArgs),
    /// Remove an entry.
    Rm(ListsRmArgs),
}

/// `lists add`'s arguments.
#[derive(Args)]
pub struct ListsAddArgs {
    /// visitor_id, ip (an address or a CIDR network), email_domain or email.
    #[arg(long)]
    pub kind: String,
    /// The value to match; it is stored normalised.
    #[arg(long)]
    pub value: String,
    /// allow, review or block.
    #[arg(long)]
    pub action: String,
    /// Why (required; recorded with the entry and in the analysts' actions).
    #[arg(long)]
    pub reason: String,
    /// When it stops applying: RFC 3339 (2027-01-31T00:00:00Z) or a duration such as 30d, 12h.
    #[arg(long)]
    pub expires: Option<String>,
    /// The name the action is recorded under.
    #[arg(
        long = "as",
        env = "SIGNUP_GUARD_ANALYST",
        default_value = "cli",
        help_heading = "Analyst"
    )]
    pub analyst: String,
    /// Print the entry as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: ListsStore,
}

/// `lists ls`' arguments.
#[derive(Args)]
pub struct ListsLsArgs {
    /// Only this kind.
    #[arg(long)]
    pub kind: Option<String>,
    /// Only this value (normalised as `add` does, when --kind is given).
    #[arg(long, requires = "kind")]
    pub value: Option<String>,
    /// Show at most this many (1 to 10000).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=10_000))]
    pub limit: i64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: ListsStore,
}

/// `lists rm`'s arguments.
#[derive(Args)]
pub struct ListsRmArgs {
    /// The entry's id (from `lists ls`).
    pub id: i64,
    /// Why (required; recorded in the analysts' actions).
    #[arg(long)]
    pub reason: String,
    /// The name the action is recorded under.
    #[arg(
        long = "as",
        env = "SIGNUP_GUARD_ANALYST",
        default_value = "cli",
        help_heading = "Analyst"
    )]
    pub analyst: String,
    #[command(flatten)]
    pub store: ListsStore,
}

impl Cli {
    /// Parses the process arguments (exiting with clap's message on error). Options written
    /// before the subcommand, as in `signup-guard --port 8080 serve`, are read as if written
    /// after it: they belong to the subcommand, which the top level only stands in for.
    pub fn parse_args() -> Cli {
        Cli::parse_from(subcommand_first(std::env::args_os().collect()))
    }

    /// What runs: the subcommand, or `serve` with the top-level options.
    pub fn into_command(self) -> Command {
        self.command
            .unwrap_or_else(|| Command::Serve(Box::new(self.serve)))
    }
}

impl Command {
    /// The log format this command was given (`simulator` logs as text).
    pub fn log_format(&self) -> LogFormat {
        match self {
            Command::Serve(args) => args.logging.log_format,
            Command::Migrate(args) => args.logging.log_format,
            Command::Explain(args) => args.logging.log_format,
            Command::Backtest(args) => args.logging.log_format,
            Command::Lists(args) => match &args.action {
                ListsCommand::Add(add) => add.store.logging.log_format,
                ListsCommand::Ls(ls) => ls.store.logging.log_format,
                ListsCommand::Rm(rm) => rm.store.logging.log_format,
            },
            Command::Simulator(_) => LogFormat::default(),
        }
    }
}

/// Moves the subcommand's name in front of the options written before it. The name is found
/// the way clap finds it (a word that is an option's value, as in `--config serve`, is not it),
/// by parsing each prefix that ends in a subcommand's name.
pub fn subcommand_first(mut args: Vec<OsString>) -> Vec<OsString> {
    let command = Cli::command();
    let names: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
    for at in 1..args.len() {
        let Some(word) = args[at].to_str() else {
            continue;
        };
        if !names.contains(&word) {
            continue;
        }
        let prefix = Cli::command().try_get_matches_from(&args[..=at]);
        if prefix.is_ok_and(|m| m.subcommand_name() == Some(word)) {
            let name = args.remove(at);
            args.insert(1, name);
            break;
        }
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn options_before_the_subcommand_are_moved_after_it() {
        let cases = vec![
            ("--port 8080 serve", "serve --port 8080", "the old order"),
            ("serve --port 8080", "serve --port 8080", "already in order"),
            (
                "--demo --port 8080",
                "--demo --port 8080",
                "no subcommand: serve",
            ),
            (
                "--database-url sqlite://x.db migrate",
                "migrate --database-url sqlite://x.db",
                "any subcommand",
            ),
            (
                "--config serve explain id",
                "explain --config serve id",
                "a value that is a subcommand's name is a value",
            ),
            (
                "explain serve",
                "explain serve",
                "a positional that is a name",
            ),
            ("--help serve", "--help serve", "help stays where it is"),
        ];
        for (given, expected, why) in cases {
            let args = std::iter::once("signup-guard")
                .chain(given.split(' '))
                .map(OsString::from)
                .collect();
            let moved: Vec<String> = subcommand_first(args)
                .into_iter()
                .skip(1)
                .map(|a| a.into_string().unwrap())
                .collect();
            assert_eq!(moved.join(" "), expected, "{why}");
        }
    }
}
