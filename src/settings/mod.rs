//! Settings from flags, the environment and `.env`, by area, validated once at startup.
//!
//! Each area (a file here) owns its flags and environment variables, their defaults (written
//! once, as a constant or the runtime type's own default), their validation, and the
//! conversion into the type the rest of the code uses. A subcommand flattens the areas it uses,
//! so its `--help` lists only those. A new setting goes into its area's file, the code that
//! reads it, and the README's configuration table.

mod admin;
mod api;
pub mod database;
mod decision_webhooks;
mod demo;
mod fingerprint;
pub mod http;
mod logging;
mod metrics;
pub mod passwords;
mod policy_file;
mod rate_limit;

pub use self::admin::AdminArgs;
pub use self::api::ApiArgs;
pub use self::database::DatabaseArgs;
pub use self::decision_webhooks::DecisionWebhookArgs;
pub use self::demo::DemoArgs;
pub use self::fingerprint::{FingerprintArgs, WebhookArgs};
pub use self::http::{HttpArgs, HttpConfig};
pub use self::logging::{LogFormat, LoggingArgs};
pub use self::metrics::MetricsArgs;
pub use self::passwords::{PasswordArgs, Passwords};
pub use self::policy_file::PolicyFileArgs;
pub use self::rate_limit::{FailureModeArg, RateLimitArgs};

use ::fingerprint::sealed::DecryptionKey;
use ::fingerprint::SecretKey;
use clap::Args;

/// Everything `serve` reads (and `signup-guard` with no subcommand). Secrets are read but never
/// echoed by `--help`; no `Debug`, so that it cannot be logged whole.
#[derive(Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub demo: DemoArgs,
    #[command(flatten)]
    pub fingerprint: FingerprintArgs,
    #[command(flatten)]
    pub webhooks: WebhookArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub rate_limits: RateLimitArgs,
    #[command(flatten)]
    pub passwords: PasswordArgs,
    #[command(flatten)]
    pub admin: AdminArgs,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    #[command(flatten)]
    pub decision_webhooks: DecisionWebhookArgs,
    #[command(flatten)]
    pub policy_file: PolicyFileArgs,
    #[command(flatten)]
    pub logging: LoggingArgs,
}

/// Where identification events come from.
#[derive(Debug, Clone)]
pub enum FingerprintSource {
    /// The real Server API (or a stand-in at `base_url`).
    Api(::fingerprint::ClientConfig),
    /// Demo mode: an in-process simulator started with the service.
    Demo,
}

/// Validated settings for `serve`, by area. No `Debug`: it holds the database URL, which may
/// carry a password.
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
    /// Where to listen, CORS, and the limits on a request.
    pub http: HttpConfig,
    /// The signup rate limits, and the Redis they may share. Holds its URL: one more reason
    /// for no `Debug` here.
    pub rate_limits: crate::rate_limit::Settings,
    /// Password rules and hashing.
    pub passwords: Passwords,
    /// Admin bearer tokens with the names actions are recorded under.
    pub admin_tokens: Vec<(String, SecretKey)>,
    /// Decision API bearer tokens; none turns the API off.
    pub api_tokens: Vec<SecretKey>,
    /// `/metrics` bearer token; none turns the route off.
    pub metrics_token: Option<SecretKey>,
    /// Whether fraud labels are reported to Fingerprint.
    pub report_labels: bool,
    /// The first retry's wait for a label report (tests shorten it; `None` is 5 s).
    pub label_report_retry: Option<std::time::Duration>,
    /// Decision webhooks; none are sent without.
    pub decision_webhooks: Option<crate::delivery::DecisionWebhooks>,
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
            http: HttpConfig::default(),
            rate_limits: crate::rate_limit::Settings::default(),
            passwords: Passwords::default(),
            admin_tokens: Vec::new(),
            api_tokens: Vec::new(),
            metrics_token: None,
            decision_webhooks: None,
            report_labels: false,
            label_report_retry: None,
            policy: crate::policy::Policy::default(),
        }
    }
}

impl ServeArgs {
    /// Validates everything `serve` needs, with messages that say what to fix.
    pub fn into_config(self, policy: crate::policy::Policy) -> anyhow::Result<Config> {
        let demo = self.demo.demo;
        let fingerprint = if demo {
            FingerprintSource::Demo
        } else {
            FingerprintSource::Api(self.fingerprint.client_config()?)
        };
        let pool = self.database.pool();
        let http = self.http.validate(demo, pool.max_connections)?;
        let rate_limits = self.rate_limits.validate()?;
        let passwords = self.passwords.validate()?;
        let database_url = self.database.url(demo);
        crate::store::Backend::from_url(&database_url).map_err(|e| anyhow::anyhow!("{e}"))?;
        let encryption_keys = self.fingerprint.encryption_keys()?;
        let admin_tokens = self.admin.tokens()?;
        let api_tokens = self.api.tokens(&admin_tokens)?;
        let metrics_token = self.metrics.token()?;
        let decision_webhooks = self.decision_webhooks.config()?;
        Ok(Config {
            fingerprint,
            encryption_keys,
            webhook_secret: self.webhooks.secret(),
            database_url,
            pool,
            http,
            rate_limits,
            passwords,
            admin_tokens,
            api_tokens,
            metrics_token,
            decision_webhooks,
            report_labels: self.admin.fingerprint_report_labels,
            label_report_retry: None,
            policy,
            demo,
        })
    }
}

/// A duration as the whole milliseconds a `*_MS` setting takes, for defaults taken from a
/// runtime type.
fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}
