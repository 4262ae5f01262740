//! Spawns the real application on a free port, with a fresh SQLite file and the Fingerprint
//! simulator over real HTTP.

use fingerprint::sealed::DecryptionKey;
use fingerprint::simulator::{
    Identified, IdentifyRequest, Persona, Simulator, SimulatorConfig, SimulatorHandle,
};
use fingerprint::{ApiVersion, SecretKey};
use serde_json::{json, Value};
use signup_guard::http::AppState;
use signup_guard::policy::Policy;
use signup_guard::settings::{Config, FingerprintSource};
use signup_guard::startup::Application;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub const API_KEY: &str = "test-secret-key-4f9a";
pub const ADMIN_TOKEN: &str = "admin-token-for-tests";
pub const WEBHOOK_SECRET: &str = "webhook-secret-for-tests";
pub const STRONG_PASSWORD: &str = "correct horse battery staple";

/// A running application and its Fingerprint stand-in.
pub struct TestApp {
    pub address: String,
    pub http: reqwest::Client,
    pub simulator: Simulator,
    pub state: Arc<AppState>,
    pub database_url: String,
    _simulator: SimulatorHandle,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// What a test may change from the defaults.
pub struct Options {
    pub policy: Policy,
    pub api_version: ApiVersion,
    pub client_key: String,
    pub deadline: Duration,
    pub admin_token: Option<String>,
    pub webhook_secret: Option<String>,
    pub cors_origins: Vec<String>,
    pub database_url: Option<String>,
    pub request_timeout: Duration,
    pub signup_rate_limit_per_minute: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            policy: Policy::default(),
            api_version: ApiVersion::V4,
            client_key: API_KEY.into(),
            deadline: Duration::from_millis(1500),
            admin_token: Some(ADMIN_TOKEN.into()),
            webhook_secret: Some(WEBHOOK_SECRET.into()),
            cors_origins: Vec::new(),
            database_url: None,
            request_timeout: Duration::from_secs(10),
            signup_rate_limit_per_minute: 0,
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    let encryption_key = DecryptionKey::from_bytes(*b"signup-guard-test-key-32-bytes!!");
    let simulator = Simulator::new(SimulatorConfig {
        secret_key: SecretKey::new(API_KEY),
        latency: Duration::ZERO,
        encryption_key: Some(encryption_key.clone()),
    });
    let simulator_handle = simulator
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = options
        .database_url
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("signup-guard.db").display()));
    let mut client = fingerprint::ClientConfig::new(SecretKey::new(options.client_key));
    client.base_url = Some(simulator_handle.base_url());
    client.api_version = options.api_version;
    client.deadline = options.deadline;
    client.retry.base_delay = Duration::from_millis(20);
    client.retry.not_found_delay = Duration::from_millis(20);
    let config = Config {
        encryption_keys: vec![encryption_key.clone()],
        webhook_secret: options.webhook_secret.map(SecretKey::new),
        admin_token: options.admin_token.map(SecretKey::new),
        cors_origins: options.cors_origins,
        request_timeout: options.request_timeout,
        signup_rate_limit_per_minute: options.signup_rate_limit_per_minute,
        hash_concurrency: 2,
        policy: options.policy,
        ..Config::new(FingerprintSource::Api(client), database_url.clone())
    };
    let app = Application::build(config)
        .await
        .expect("the application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        http: reqwest::Client::new(),
        simulator,
        state,
        database_url,
        _simulator: simulator_handle,
        _dir: dir,
        _shutdown: shutdown,
    }
}

/// A unique, valid username.
pub fn username() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "user{}-{}@example.com",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl TestApp {
    pub fn identify(&self, persona: Persona) -> Identified {
        self.simulator.identify(IdentifyRequest {
            persona,
            ..IdentifyRequest::default()
        })
    }

    pub fn identify_with(&self, request: IdentifyRequest) -> Identified {
        self.simulator.identify(request)
    }

    /// Posts a raw body to /api/create-account.
    pub async fn post_signup(&self, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.http
            .post(format!("{}/api/create-account", self.address))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("the request is sent")
    }

    /// A signup with a strong password and a fresh username.
    pub async fn signup(&self, request_id: &str) -> (u16, Value) {
        self.signup_as(request_id, &username()).await
    }

    pub async fn signup_as(&self, request_id: &str, username: &str) -> (u16, Value) {
        let body =
            json!({ "requestId": request_id, "username": username, "password": STRONG_PASSWORD });
        let response = self.post_signup(body.to_string()).await;
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(format!("{}{path}", self.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    pub async fn accounts(&self) -> i64 {
        self.state.store.count_accounts().await.unwrap()
    }

    /// Every recorded attempt, newest first.
    pub async fn attempts(&self) -> Vec<signup_guard::store::AttemptRow> {
        let filter = signup_guard::store::AttemptFilter::default();
        self.state.store.list_attempts(&filter, 1000).await.unwrap()
    }
}

/// Asserts the shared error shape and returns the body.
pub fn assert_error(status: u16, body: &Value, expected_status: u16, code: &str) {
    assert_eq!(status, expected_status, "body: {body}");
    assert_eq!(body["code"], code, "body: {body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "a human message: {body}"
    );
}
