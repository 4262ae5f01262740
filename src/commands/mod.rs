//! What each subcommand does.

pub mod backtest;
mod explain;
mod lists;

pub use backtest::backtest;
pub use explain::explain;
pub use lists::lists;

use crate::cli::{MigrateArgs, SimulatorArgs};
use crate::connections::capacity;
use crate::settings::ServeArgs;
use crate::startup::{shutdown_signal, Application};
use crate::store::Store;
use anyhow::Context as _;
use fingerprint::simulator::{Simulator, SimulatorConfig};
use fingerprint::SecretKey;
use std::time::Duration;

/// `serve`: run until Ctrl-C or SIGTERM.
pub async fn serve(settings: ServeArgs) -> anyhow::Result<()> {
    let policy = settings.policy_file.load(settings.demo.demo)?;
    let built_in_policy = settings.policy_file.path().is_none();
    let config = settings.into_config(policy)?;
    let addr = config.http.addr;
    let demo = config.demo;
    if demo {
        print_demo_banner(
            addr.port(),
            !config.admin_tokens.is_empty(),
            built_in_policy,
        );
    }
    let max_connections = config.http.max_connections;
    let descriptors = capacity::descriptor_limit();
    warn_if_the_cap_exceeds_the_descriptors(
        max_connections,
        descriptors,
        config.pool.max_connections,
    );
    let app = Application::build(config).await?;
    tracing::info!(
        %addr,
        port = app.port(),
        demo,
        max_connections,
        descriptor_limit = %descriptors.map_or_else(|| "unlimited".to_owned(), |l| l.to_string()),
        "signup-guard listening"
    );
    app.run_until_stopped(shutdown_signal()).await
}

/// A cap past what the descriptors leave room for (set so, or the default's floor) lets `accept`
/// fail under load, for `/health` too: worth a word at startup.
fn warn_if_the_cap_exceeds_the_descriptors(
    max_connections: usize,
    descriptors: Option<u64>,
    database_connections: u32,
) {
    let Some(fitting) = capacity::fitting(descriptors, database_connections) else {
        return;
    };
    if max_connections > fitting {
        tracing::warn!(
            max_connections,
            descriptor_limit = descriptors.unwrap_or_default(),
            room_for = fitting,
            "the descriptor limit leaves room for fewer connections than MAX_CONNECTIONS: under load, \
             connections may fail with \"Too many open files\"; raise the limit (ulimit -n, \
             systemd's LimitNOFILE=) or lower MAX_CONNECTIONS or DATABASE_MAX_CONNECTIONS"
        );
    }
}

/// `migrate`: bring the schema up to date and exit.
pub async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let url = args.database.url(args.demo.demo);
    let store = Store::connect(&url, args.database.pool())
        .await
        .with_context(|| format!("cannot connect to {}", crate::startup::redact_url(&url)))?;
    let migrated = store.migrate().await?;
    let applied = &migrated.applied;
    let backend = format!("{:?}", store.backend()).to_lowercase();
    if applied.is_empty() {
        println!("no migrations to apply: the database schema is up to date ({backend})");
    }
    for migration in applied {
        println!("applied {migration} ({backend})");
    }
    if !applied.is_empty() {
        println!("database schema is up to date ({backend})");
    }
    print_rekeyed(&migrated.usernames);
    Ok(())
}

/// Usernames are quoted and escaped: one may hold characters that would garble a terminal.
fn print_rekeyed(usernames: &crate::store::Rekeyed) {
    if usernames.rekeyed > 0 {
        println!(
            "usernames re-keyed: {} (now compared by their Unicode key and skeleton)",
            usernames.rekeyed
        );
    }
    let kept_apart = &usernames.kept_apart;
    if kept_apart.is_empty() {
        return;
    }
    println!(
        "accounts kept apart: {} (each username looks the same as an older account's, which \
         keeps the name; see \"Lookalike usernames\" in docs/operations.md)",
        kept_apart.len()
    );
    for account in kept_apart {
        println!(
            "  account {} {:?} looks the same as account {} {:?}",
            account.id, account.username, account.holder_id, account.holder_username
        );
    }
}

/// `simulator`: the Fingerprint stand-in alone.
pub async fn simulator(args: SimulatorArgs) -> anyhow::Result<()> {
    let SimulatorArgs {
        host,
        port,
        secret_key,
        latency_ms,
        encryption_key,
    } = args;
    let encryption_key = encryption_key
        .map(|k| fingerprint::sealed::DecryptionKey::from_base64(&k))
        .transpose()
        .map_err(|e| anyhow::anyhow!("SIMULATOR_ENCRYPTION_KEY: {e}"))?;
    let simulator = Simulator::new(SimulatorConfig {
        secret_key: SecretKey::new(secret_key),
        latency: Duration::from_millis(latency_ms),
        encryption_key,
    });
    let addr = format!("{host}:{port}")
        .parse()
        .with_context(|| format!("invalid address {host}:{port}"))?;
    let handle = simulator
        .spawn(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    eprintln!(
        "Fingerprint simulator on {} (not the real API; for development and tests)",
        handle.base_url()
    );
    eprintln!("  POST /identify {{\"persona\":\"new_device\"}}  ->  requestId");
    eprintln!("  GET  /v4/events/{{id}} (Authorization: Bearer <key>), GET /events/{{id}} (Auth-API-Key: <key>)");
    shutdown_signal().await;
    Ok(())
}

fn print_demo_banner(port: u16, admin_token: bool, demo_policy: bool) {
    let line = "=".repeat(72);
    eprintln!("{line}");
    eprintln!("  DEMO MODE: NOT FOR PRODUCTION");
    eprintln!("  Events come from a built-in Fingerprint simulator; no key, no network.");
    if admin_token {
        eprintln!("  Admin endpoints need ADMIN_TOKEN (Authorization: Bearer <token>).");
    } else {
        eprintln!("  Admin endpoints are open without ADMIN_TOKEN.");
    }
    if demo_policy {
        eprintln!("  Demo policy: the defaults, but an allow entry also lifts the device limit.");
    }
    eprintln!("  Open http://localhost:{port}/ to try signups with different devices.");
    eprintln!("{line}");
}
