use clap::Parser;
use signup_guard::cli::{Cli, Command};
use signup_guard::{commands, telemetry};
use std::process::ExitCode;

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
    let cli = Cli::parse();
    telemetry::init(cli.settings.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let settings = cli.settings;
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => commands::serve(settings).await,
            Command::Migrate => commands::migrate(settings).await,
            Command::Simulator {
                host,
                port,
                secret_key,
                latency_ms,
                encryption_key,
            } => commands::simulator(&host, port, secret_key, latency_ms, encryption_key).await,
            Command::Explain {
                request_id,
                fetch,
                sealed,
                json,
            } => {
                let subject = match (request_id, sealed) {
                    (Some(id), _) => commands::ExplainSubject::Event { id, fetch },
                    (None, Some(payload)) => commands::ExplainSubject::Sealed(payload),
                    (None, None) => {
                        return Err(anyhow::anyhow!("give a requestId, or --sealed <payload>"))
                    }
                };
                commands::explain(settings, subject, json).await
            }
            Command::Backtest { since, json } => commands::backtest(settings, since, json).await,
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
