//! Settings from flags, the environment and `.env`, validated once at startup.

use crate::password::PasswordPolicy;
use anyhow::{bail, Context as _};
use clap::Args;
use fingerprint::sealed::DecryptionKey;
use fingerprint::{ApiVersion, Region, SecretKey};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Everything configurable. Secrets are read but never echoed by `--help`; this type has no
/// `Debug` so that it cannot be logged whole.
#[derive(Clone, Args)]
pub struct Settings {
    /// Demo mode: the built-in Fingerprint simulator, no key, no network. Not for production.
    #[arg(long, global = true, env = "SIGNUP_GUARD_DEMO")]
    pub demo: bool,
    /// The policy file (TOML). For `backtest`, the candidate policy to compare.
    #[arg(long, global = true, env = "SIGNUP_GUARD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Fingerprint secret API key. Required except in demo mode.
    #[arg(
        long,
        global = true,
        env = "FINGERPRINT_API_KEY",
        hide_env_values = true
    )]
    pub fingerprint_api_key: Option<String>,
    /// Fingerprint region: us, eu or ap.
    #[arg(long, global = true, env = "FINGERPRINT_REGION", default_value = "us")]
    pub fingerprint_region: String,
    /// Server API version: 4 (current) or 3 (shuts down 2027-01-07).
    #[arg(
        long,
        global = true,
        env = "FINGERPRINT_API_VERSION",
        default_value = "4"
    )]
    pub fingerprint_api_version: String,
    /// Origin that replaces the region's API host, e.g. http://127.0.0.1:9000 for the simulator.
    #[arg(long, global = true, env = "FINGERPRINT_API_URL")]
    pub fingerprint_api_url: Option<String>,
    /// Comma-separated base64 keys for Sealed Client Results, newest first.
    #[arg(
        long,
        global = true,
        env = "FINGERPRINT_ENCRYPTION_KEYS",
        hide_env_values = true
    )]
    pub fingerprint_encryption_keys: Option<String>,
    /// Secret for the `fpjs-event-signature` of webhooks; without it the webhook endpoint is off.
    #[arg(
        long,
        global = true,
        env = "FINGERPRINT_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    pub fingerprint_webhook_secret: Option<String>,
    /// Total time for one event fetch, retries included (ms).
    #[arg(
        long,
        global = true,
        env = "FINGERPRINT_TIMEOUT_MS",
        default_value_t = 3000
    )]
    pub fingerprint_timeout_ms: u64,
    /// After this long without an answer, race a second try beside the first (ms) [default:
    /// half of FINGERPRINT_TIMEOUT_MS, so a hung connection leaves time for a second try].
    #[arg(long, global = true, env = "FINGERPRINT_ATTEMPT_TIMEOUT_MS")]
    pub fingerprint_attempt_timeout_ms: Option<u64>,
    /// Time to connect to the Fingerprint API (ms).
    #[arg(
        long,
        global = true,
        env = "FINGERPRINT_CONNECT_TIMEOUT_MS",
        default_value_t = 1000
    )]
    pub fingerprint_connect_timeout_ms: u64,
    /// Retries of a transient Fingerprint failure (5xx, timeout, 429).
    #[arg(
        long,
        global = true,
        env = "FINGERPRINT_MAX_RETRIES",
        default_value_t = 2
    )]
    pub fingerprint_max_retries: u32,
    /// sqlite://path.db, sqlite:///absolute/path.db or postgres://user@host/db [default:
    /// sqlite://signup-guard.db, or sqlite://signup-guard-demo.db in demo mode].
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Most database connections per instance.
    #[arg(
        long,
        global = true,
        env = "DATABASE_MAX_CONNECTIONS",
        default_value_t = 10
    )]
    pub database_max_connections: u32,
    /// Wait for a free database connection before answering 503 (ms).
    #[arg(
        long,
        global = true,
        env = "DATABASE_ACQUIRE_TIMEOUT_MS",
        default_value_t = 3000
    )]
    pub database_acquire_timeout_ms: u64,
    /// Longest one database statement may run or wait for a lock before the signup answers 503
    /// (ms); it bounds the account write, which no request deadline cuts short.
    #[arg(
        long,
        global = true,
        env = "DATABASE_STATEMENT_TIMEOUT_MS",
        default_value_t = 5000
    )]
    pub database_statement_timeout_ms: u64,
    /// Address to listen on [default: 0.0.0.0, or 127.0.0.1 in demo mode, whose simulator mints
    /// events for anyone who can reach it].
    #[arg(long, env = "HOST")]
    pub host: Option<IpAddr>,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "PORT", default_value_t = 3001)]
    pub port: u16,
    /// Bearer token for the admin endpoints; without it they answer 404 (except in demo mode).
    #[arg(long, global = true, env = "ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Comma-separated origins allowed by CORS; unset allows any origin without credentials.
    #[arg(long, global = true, env = "CORS_ALLOWED_ORIGINS")]
    pub cors_allowed_origins: Option<String>,
    /// Largest request body (bytes, 20480 to 65536: a sealed result alone may take 16 KiB).
    #[arg(long, global = true, env = "MAX_BODY_BYTES", default_value_t = 32 * 1024)]
    pub max_body_bytes: usize,
    /// Time limit for a whole request (ms); past it the client gets 503.
    #[arg(
        long,
        global = true,
        env = "REQUEST_TIMEOUT_MS",
        default_value_t = 10_000
    )]
    pub request_timeout_ms: u64,
    /// Signups per minute from one client IP, per instance; 0 turns the limit off. Set
    /// `trusted_proxy_hops` first when behind a proxy, or every client shares the proxy's budget.
    #[arg(
        long,
        global = true,
        env = "SIGNUP_RATE_LIMIT_PER_MINUTE",
        default_value_t = 0
    )]
    pub signup_rate_limit_per_minute: u32,
    /// Shortest password (characters).
    #[arg(long, global = true, env = "PASSWORD_MIN_LENGTH", default_value_t = 8)]
    pub password_min_length: usize,
    /// Longest password (characters).
    #[arg(
        long,
        global = true,
        env = "PASSWORD_MAX_LENGTH",
        default_value_t = 128
    )]
    pub password_max_length: usize,
    /// Lowest zxcvbn strength score, 0 to 4.
    #[arg(long, global = true, env = "PASSWORD_MIN_SCORE", default_value_t = 2)]
    pub password_min_score: u8,
    /// Password hashes computed at once (each takes 19 MiB); 0 = one per CPU.
    #[arg(long, global = true, env = "HASH_CONCURRENCY", default_value_t = 0)]
    pub hash_concurrency: usize,
    /// Log format. Filter with RUST_LOG.
    #[arg(long, global = true, env = "LOG_FORMAT", value_enum, ignore_case = true, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line, for log shippers.
    Json,
}

/// Where identification events come from.
#[derive(Debug, Clone)]
pub enum FingerprintSource {
    /// The real Server API (or a stand-in at `base_url`).
    Api(fingerprint::ClientConfig),
    /// Demo mode: an in-process simulator started with the service.
    Demo,
}

/// Validated settings for `serve`. No `Debug`: it holds the database URL, which may carry a password.
#[derive(Clone)]
pub struct Config {
    /// Where events come from.
    pub fingerprint: FingerprintSource,
    /// Keys for Sealed Client Results.
    pub encryption_keys: Vec<DecryptionKey>,
    /// Webhook signing secret.
    pub webhook_secret: Option<SecretKey>,
    /// Database URL.
    pub database_url: String,
    /// Pool settings.
    pub pool: crate::store::PoolSettings,
    /// Listen address.
    pub addr: SocketAddr,
    /// Admin bearer token.
    pub admin_token: Option<SecretKey>,
    /// CORS origins; empty = any origin, without credentials.
    pub cors_origins: Vec<String>,
    /// Body size limit.
    pub max_body_bytes: usize,
    /// Whole-request time limit.
    pub request_timeout: Duration,
    /// Signups per minute per client IP (0 = off).
    pub signup_rate_limit_per_minute: u32,
    /// Password rules.
    pub password: PasswordPolicy,
    /// Concurrent hashes.
    pub hash_concurrency: usize,
    /// The fraud policy.
    pub policy: crate::policy::Policy,
    /// Demo mode.
    pub demo: bool,
}

impl Config {
    /// The defaults `serve` uses, for an application built in code (tests, embedding): listen on
    /// 127.0.0.1 with a free port, no admin token, webhooks or sealed-result keys, the default
    /// policy. Adjust the public fields.
    pub fn new(fingerprint: FingerprintSource, database_url: impl Into<String>) -> Self {
        Self {
            demo: matches!(fingerprint, FingerprintSource::Demo),
            fingerprint,
            encryption_keys: Vec::new(),
            webhook_secret: None,
            database_url: database_url.into(),
            pool: crate::store::PoolSettings::default(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_token: None,
            cors_origins: Vec::new(),
            max_body_bytes: 32 * 1024,
            request_timeout: Duration::from_secs(10),
            signup_rate_limit_per_minute: 0,
            password: PasswordPolicy::default(),
            hash_concurrency: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            policy: crate::policy::Policy::default(),
        }
    }
}

impl Settings {
    /// Validates everything `serve` needs, with messages that say what to fix.
    pub fn into_config(self, policy: crate::policy::Policy) -> anyhow::Result<Config> {
        let fingerprint = if self.demo {
            FingerprintSource::Demo
        } else {
            FingerprintSource::Api(self.client_config()?)
        };
        let pool = self.pool_settings();
        let floor = crate::signup::request::MAX_SEALED_BYTES + 4096;
        if !(floor..=64 * 1024).contains(&self.max_body_bytes) {
            bail!(
                "MAX_BODY_BYTES must be between {floor} and 65536 (room for a sealed result of up to {} bytes, a username and a password), got {}",
                crate::signup::request::MAX_SEALED_BYTES,
                self.max_body_bytes
            );
        }
        if self.password_min_length < 8
            || self.password_max_length < self.password_min_length
            || self.password_max_length > 1024
        {
            bail!("PASSWORD_MIN_LENGTH must be at least 8 and PASSWORD_MAX_LENGTH between it and 1024");
        }
        if self.password_min_score > 4 {
            bail!(
                "PASSWORD_MIN_SCORE must be 0 to 4, got {}",
                self.password_min_score
            );
        }
        let database_url = self.database_url();
        crate::store::Backend::from_url(&database_url).map_err(|e| anyhow::anyhow!("{e}"))?;
        let cors_origins: Vec<String> = split_list(self.cors_allowed_origins.as_deref());
        for origin in &cors_origins {
            origin
                .parse::<axum::http::HeaderValue>()
                .with_context(|| format!("CORS_ALLOWED_ORIGINS: invalid origin {origin:?}"))?;
        }
        let encryption_keys = match self.fingerprint_encryption_keys.as_deref() {
            Some(keys) if !keys.trim().is_empty() => DecryptionKey::parse_list(keys)
                .map_err(|e| anyhow::anyhow!("FINGERPRINT_ENCRYPTION_KEYS: {e} (expected comma-separated base64 32-byte keys)"))?,
            _ => Vec::new(),
        };
        let admin_token = non_empty(self.admin_token.clone());
        if admin_token
            .as_ref()
            .is_some_and(|t| t.len() < MIN_ADMIN_TOKEN_LEN)
        {
            bail!("ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_LEN} characters (e.g. openssl rand -hex 24)");
        }
        let default_host = if self.demo {
            IpAddr::from([127, 0, 0, 1])
        } else {
            IpAddr::from([0, 0, 0, 0])
        };
        let hash_concurrency = match self.hash_concurrency {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            n => n,
        };
        Ok(Config {
            fingerprint,
            encryption_keys,
            webhook_secret: non_empty(self.fingerprint_webhook_secret).map(SecretKey::new),
            database_url,
            pool,
            addr: SocketAddr::new(self.host.unwrap_or(default_host), self.port),
            admin_token: admin_token.map(SecretKey::new),
            cors_origins,
            max_body_bytes: self.max_body_bytes,
            request_timeout: Duration::from_millis(self.request_timeout_ms.max(100)),
            signup_rate_limit_per_minute: self.signup_rate_limit_per_minute,
            password: PasswordPolicy {
                min_length: self.password_min_length,
                max_length: self.password_max_length,
                min_score: self.password_min_score,
            },
            hash_concurrency,
            policy,
            demo: self.demo,
        })
    }

    /// The database pool settings.
    pub fn pool_settings(&self) -> crate::store::PoolSettings {
        crate::store::PoolSettings {
            max_connections: self.database_max_connections.max(1),
            acquire_timeout: Duration::from_millis(self.database_acquire_timeout_ms.max(100)),
            statement_timeout: Duration::from_millis(self.database_statement_timeout_ms.max(100)),
        }
    }

    /// The database URL. Demo mode keeps its own file by default, so demo accounts never mix
    /// with real ones.
    pub fn database_url(&self) -> String {
        match non_empty(self.database_url.clone()) {
            Some(url) => url,
            None if self.demo => "sqlite://signup-guard-demo.db".into(),
            None => "sqlite://signup-guard.db".into(),
        }
    }

    /// The Fingerprint client settings (for `serve` and `explain`).
    pub fn client_config(&self) -> anyhow::Result<fingerprint::ClientConfig> {
        let Some(key) = non_empty(self.fingerprint_api_key.clone()) else {
            bail!("FINGERPRINT_API_KEY is required: create a secret key in the Fingerprint dashboard (API keys), or run with --demo");
        };
        let region = Region::parse(&self.fingerprint_region).with_context(|| {
            format!(
                "FINGERPRINT_REGION must be us, eu or ap, got {:?}",
                self.fingerprint_region
            )
        })?;
        let api_version = match self.fingerprint_api_version.trim() {
            "4" | "v4" => ApiVersion::V4,
            "3" | "v3" => ApiVersion::V3,
            other => bail!("FINGERPRINT_API_VERSION must be 4 or 3, got {other:?}"),
        };
        let mut config = fingerprint::ClientConfig::new(SecretKey::new(key));
        config.region = region;
        config.api_version = api_version;
        config.base_url = non_empty(self.fingerprint_api_url.clone());
        config.deadline = Duration::from_millis(self.fingerprint_timeout_ms.clamp(100, 60_000));
        config.attempt_timeout = self
            .fingerprint_attempt_timeout_ms
            .map(|ms| Duration::from_millis(ms.clamp(50, 60_000)));
        config.connect_timeout =
            Duration::from_millis(self.fingerprint_connect_timeout_ms.clamp(50, 30_000));
        config.retry.max_retries = self.fingerprint_max_retries.min(10);
        fingerprint::Client::new(config.clone())
            .map_err(|e| anyhow::anyhow!("FINGERPRINT_API_URL: {e}"))?;
        if let Some(url) = config
            .base_url
            .as_deref()
            .and_then(|u| url::Url::parse(u).ok())
        {
            let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
            if url.scheme() == "http" && !local {
                tracing::warn!(url = %url, "FINGERPRINT_API_URL is plain http to another host: the secret key crosses the network unencrypted");
            }
        }
        Ok(config)
    }
}

/// Short tokens can be guessed; 16 characters is the floor.
const MIN_ADMIN_TOKEN_LEN: usize = 16;

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn split_list(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().trim_end_matches('/').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}
