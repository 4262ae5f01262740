//! Building and running the application: `main` and every test go through here.

use crate::events::EventSource;
use crate::http::{self, AdminAuth, AppState};
use crate::password::Hasher;
use crate::settings::{Config, FingerprintSource};
use crate::signup::Signups;
use crate::store::{DatabaseHealth, Store};
use anyhow::Context as _;
use fingerprint::sealed::DecryptionKey;
use fingerprint::simulator::{Simulator, SimulatorConfig, SimulatorHandle};
use fingerprint::SecretKey;
use rand::RngCore;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// A bound, ready-to-serve application.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    state: Arc<AppState>,
    drain_limit: Duration,
    _simulator: Option<SimulatorHandle>,
}

/// How long a graceful shutdown waits for requests in flight: as long as one signup can take,
/// so that none is dropped part-way at exit. Its checks end at the request deadline; the
/// account write and, when it fails, the refusal's record are each bounded by the pool's
/// acquire timeout and a few statements (at most four) of the statement timeout. With the
/// defaults: 10 s + 2 × (3 s + 4 × 5 s) + 1 s = 57 s.
pub fn drain_limit(config: &Config) -> Duration {
    let write = config.pool.acquire_timeout + 4 * config.pool.statement_timeout;
    config.http.request_timeout + 2 * write + Duration::from_secs(1)
}

impl Application {
    /// Opens the database (running migrations), prepares the Fingerprint source and binds the
    /// listener. Fails with a message that says what to fix.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let store = Store::open(&config.database_url, config.pool)
            .await
            .with_context(|| {
                format!(
                    "cannot open the database at {}",
                    redact_url(&config.database_url)
                )
            })?;
        let mut keys = config.encryption_keys.clone();
        let (client_config, demo, simulator_handle) = match config.fingerprint.clone() {
            FingerprintSource::Api(client) => (client, None, None),
            FingerprintSource::Demo => {
                let (simulator, handle, client, key) = start_demo_simulator().await?;
                keys.insert(0, key);
                (client, Some(simulator), Some(handle))
            }
        };
        let client = fingerprint::Client::new(client_config)?;
        if config.report_labels {
            crate::label_reports::start(store.clone(), client.clone(), config.label_report_retry);
        }
        let mut signups = Signups::new(
            store.clone(),
            EventSource::new(client, keys),
            config.policy.clone(),
            Hasher::new(config.passwords.hash_concurrency),
            config.passwords.policy,
        );
        signups.lists = crate::lists::Lists::start(store.clone()).await?;
        if let Some(webhooks) = config.decision_webhooks.clone() {
            signups.announcer = Some(crate::delivery::start(store.clone(), webhooks)?);
        }
        let rate_limits =
            crate::rate_limit::RateLimits::start(&config.rate_limits, signups.metrics.clone())
                .await?;
        signups.per_visitor_limit = rate_limits.per_visitor.clone();
        let state = Arc::new(AppState {
            signups: Arc::new(signups),
            database_health: DatabaseHealth::start(
                store.clone(),
                crate::store::health::PROBE_EVERY,
                crate::store::health::FRESH_FOR,
            ),
            store,
            admin: AdminAuth::new(config.admin_tokens.clone(), demo.is_some()),
            api_tokens: config.api_tokens.clone(),
            metrics_token: config.metrics_token.clone(),
            report_labels: config.report_labels,
            webhook_secret: config.webhook_secret.clone(),
            rate_limits,
            limits: config.http.clone(),
            demo,
        });
        let router = http::router(state.clone());
        let listener = TcpListener::bind(config.http.addr).await.with_context(|| {
            format!(
                "cannot listen on {} (is the port in use? set PORT)",
                config.http.addr
            )
        })?;
        Ok(Self {
            listener,
            router,
            state,
            drain_limit: drain_limit(&config),
            _simulator: simulator_handle,
        })
    }

    /// The bound port (useful with port 0).
    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    /// The shared state, for tests that inspect the store.
    pub fn state(&self) -> Arc<AppState> {
        self.state.clone()
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish (for at most
    /// [`drain_limit`], so a stuck client cannot hold the process) and closes the pool.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let stopping = Arc::new(tokio::sync::Notify::new());
        let signal = {
            let stopping = stopping.clone();
            async move {
                shutdown.await;
                stopping.notify_one();
            }
        };
        let serve = crate::connections::serve(
            self.listener,
            self.router,
            crate::connections::Limits {
                header_timeout: self.state.limits.header_timeout,
                keep_alive_timeout: self.state.limits.keep_alive_timeout,
                max_connections: self.state.limits.max_connections,
            },
            signal,
        );
        // Connections drain first; then signups whose client hung up, which run on detached
        // tasks and would otherwise be dropped at exit, part-way and unrecorded.
        let signups = self.state.signups.in_flight.clone();
        let drained = async move {
            serve.await;
            if signups.count() > 0 {
                tracing::info!(
                    running = signups.count(),
                    "waiting for signups whose client left"
                );
            }
            signups.idle().await;
            anyhow::Ok(())
        };
        tokio::select! {
            drained = drained => drained?,
            () = async { stopping.notified().await; tokio::time::sleep(self.drain_limit).await } => {
                tracing::warn!(limit = ?self.drain_limit, "requests still in flight after the drain limit; stopping anyway");
            }
        }
        // Connections still held by a stuck request must not hold the exit either.
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(5), self.state.store.close()).await;
        Ok(())
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// The ruleset demo mode asks its simulator for (any id will do: the simulator has them all).
pub const DEMO_RULESET_ID: &str = "rs_demo";

async fn start_demo_simulator() -> anyhow::Result<(
    Simulator,
    SimulatorHandle,
    fingerprint::ClientConfig,
    DecryptionKey,
)> {
    let mut secret = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut secret);
    let secret = SecretKey::new(hex::encode(secret));
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    let key = DecryptionKey::from_bytes(key);
    let simulator = Simulator::new(SimulatorConfig {
        secret_key: secret.clone(),
        encryption_key: Some(key.clone()),
        ..SimulatorConfig::default()
    });
    let handle = simulator
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .context("cannot start the demo simulator")?;
    let mut client = fingerprint::ClientConfig::new(secret);
    client.base_url = Some(handle.base_url());
    // The demo's own ruleset, so the `ruleset_block` persona shows the Rules Engine at work.
    client.ruleset_id = Some(DEMO_RULESET_ID.into());
    Ok((simulator, handle, client, key))
}

/// Hides the password in a database URL before it reaches a message.
pub use crate::redact::url as redact_url;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_waits_as_long_as_the_longest_signup_can_take() {
        let config = Config::new(FingerprintSource::Demo, "sqlite://unused.db");
        assert_eq!(
            drain_limit(&config),
            Duration::from_secs(57),
            "the documented default"
        );
        let quick = Config {
            http: crate::settings::HttpConfig {
                request_timeout: Duration::from_secs(2),
                ..Default::default()
            },
            pool: crate::store::PoolSettings {
                acquire_timeout: Duration::from_secs(1),
                statement_timeout: Duration::from_secs(1),
                ..Default::default()
            },
            ..config
        };
        assert_eq!(drain_limit(&quick), Duration::from_secs(13));
    }
}
