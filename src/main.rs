use signup_guard::cli::{Cli, Command};
use signup_guard::{commands, telemetry};
use std::process::ExitCode;

// jemalloc, with its background thread purging freed pages: glibc's malloc kept what a flood
// and the Argon2 blocks had used, so RSS never came down after load (idle 60 MiB on PostgreSQL
// and 89 MiB on SQLite after bench/flood.sh; 40 and 67 with jemalloc, same run otherwise).
#[cfg(unix)]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    // Only ./.env, and real environment variables win: dotenvy never overwrites a set variable.
    // A broken file stops startup rather than leaving the service on half its settings.
    match dotenvy::from_path(".env") {
        Err(error) if !error.not_found() => {
            eprintln!("error: cannot read .env: {error}");
            return ExitCode::FAILURE;
        }
        _ => {}
    }
    // Without its background thread jemalloc purges only when the process allocates, so an
    // idle instance would keep its peak.
    #[cfg(unix)]
    if let Err(error) = tikv_jemalloc_ctl::background_thread::write(true) {
        eprintln!("warning: jemalloc cannot purge in the background: {error}");
    }
    let command = Cli::parse_args().into_command();
    telemetry::init(command.log_format());
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match command {
            Command::Serve(settings) => commands::serve(*settings).await,
            Command::Migrate(args) => commands::migrate(args).await,
            Command::Simulator(args) => commands::simulator(args).await,
            Command::Explain(args) => commands::explain(*args).await,
            Command::Backtest(args) => commands::backtest(args).await,
            Command::Lists(args) => commands::lists(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
