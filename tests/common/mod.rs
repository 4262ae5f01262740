//! The one test harness, shared by every test binary: fresh databases on either backend, the
//! Fingerprint simulator over real HTTP, and the real application built the one way `main`
//! builds it (`Application::build`), on a free port, against that simulator or in demo mode.
//!
//! PostgreSQL tests need `TEST_DATABASE_URL` (an admin URL such as
//! `postgres://postgres@127.0.0.1:5432/postgres`); each test creates its own database from it
//! and drops it afterwards, so tests never see each other's rows and may run in parallel.

#![allow(dead_code)]

use fingerprint::sealed::DecryptionKey;
use fingerprint::simulator::{
    Identified, IdentifyRequest, Persona, Simulator, SimulatorConfig, SimulatorHandle,
};
use fingerprint::{ApiVersion, SecretKey};
use rand::Rng;
use serde_json::{json, Value};
use signup_guard::http::AppState;
use signup_guard::policy::Policy;
use signup_guard::rate_limit::{FailureMode, Settings as RateLimitSettings};
use signup_guard::settings::{Config, FingerprintSource, HttpConfig, Passwords};
use signup_guard::startup::Application;
use signup_guard::store::{PoolSettings, Store};
use sqlx::{AnyPool, Row};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const API_KEY: &str = "test-secret-key-4f9a";
pub const ADMIN_TOKEN: &str = "admin-token-for-tests";
pub const API_TOKEN: &str = "api-token-for-tests-0123";
pub const METRICS_TOKEN: &str = "metrics-token-for-tests";
pub const DECISION_WEBHOOK_SECRET: &str = "decision-webhook-secret-for-tests";
pub const WEBHOOK_SECRET: &str = "webhook-secret-for-tests";
pub const STRONG_PASSWORD: &str = "correct horse battery staple";
/// The key the simulator seals results with, and the application opens them with.
pub const ENCRYPTION_KEY: [u8; 32] = *b"signup-guard-test-key-32-bytes!!";

/// The admin URL PostgreSQL tests create their databases from, or `None` (with the notice
/// `.ci/run` logs show) when the variable is unset.
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_owned()),
        _ => {
            // Written past libtest's capture (which takes eprintln!), once per test binary, so
            // the notice shows in a passing run.
            static NOTICE: std::sync::Once = std::sync::Once::new();
            NOTICE.call_once(|| {
                let _ = std::io::Write::write_all(
                    &mut std::io::stderr(),
                    b"skipping PostgreSQL tests: TEST_DATABASE_URL not set\n",
                );
            });
            None
        }
    }
}

/// The Redis the shared rate-limit tests count in: `TEST_REDIS_URL`, or else the one on
/// 127.0.0.1:6379 if it answers; `None`, with a notice, when there is none. `.ci/run` sets the
/// variable, so there a Redis that does not answer fails the tests instead of skipping them.
/// Tests share it, so each one counts under keys of its own (random addresses and visitor ids).
pub async fn redis_url() -> Option<String> {
    if let Ok(url) = std::env::var("TEST_REDIS_URL") {
        if !url.trim().is_empty() {
            return Some(url.trim().to_owned());
        }
    }
    if redis_answers("127.0.0.1:6379").await {
        return Some("redis://127.0.0.1:6379".into());
    }
    static NOTICE: std::sync::Once = std::sync::Once::new();
    NOTICE.call_once(|| {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"skipping Redis tests: TEST_REDIS_URL not set and no Redis on 127.0.0.1:6379\n",
        );
    });
    None
}

/// Whether a Redis at `address` answers PING.
pub async fn redis_answers(address: &str) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
        stream.write_all(b"PING\r\n").await.ok()?;
        let mut answer = [0u8; 7];
        stream.read_exact(&mut answer).await.ok()?;
        Some(&answer == b"+PONG\r\n")
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(1), exchange).await,
        Ok(Some(true))
    )
}

/// A Redis URL where nothing listens: Redis down. It carries a password, which no message may
/// show.
pub fn unreachable_redis_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("its address").port();
    drop(listener);
    format!("redis://:{REDIS_PASSWORD}@127.0.0.1:{port}/0")
}

/// The password [`unreachable_redis_url`] carries.
pub const REDIS_PASSWORD: &str = "redis-password-never-logged";

/// A Redis that accepts connections and never answers: hung, as behind a stalled network.
/// It holds every connection until the test's runtime ends.
pub async fn hung_redis_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let url = format!("redis://{}/0", listener.local_addr().expect("its address"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    url
}

/// A database that lives as long as the test: a SQLite file in a temporary directory, or a
/// PostgreSQL database created for this test alone.
pub struct TestDb {
    pub url: String,
    postgres: Option<PgDatabase>,
    _dir: Option<tempfile::TempDir>,
}

struct PgDatabase {
    admin_url: String,
    name: String,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        TestDb {
            url,
            postgres: None,
            _dir: Some(dir),
        }
    }

    /// A fresh PostgreSQL database, or `None` when `TEST_DATABASE_URL` is unset.
    pub async fn postgres() -> Option<TestDb> {
        let admin_url = postgres_admin_url()?;
        let name = format!(
            "sg_test_{}_{:016x}",
            std::process::id(),
            rand::thread_rng().gen::<u64>()
        );
        let admin = admin_pool(&admin_url).await;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
        admin.close().await;
        let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&name);
        Some(TestDb {
            url: url.to_string(),
            postgres: Some(PgDatabase { admin_url, name }),
            _dir: None,
        })
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// The PostgreSQL database name (tests that cut connections need it).
    pub fn pg_name(&self) -> &str {
        &self
            .postgres
            .as_ref()
            .expect("a PostgreSQL test database")
            .name
    }

    pub async fn admin(&self) -> AnyPool {
        let pg = self.postgres.as_ref().expect("a PostgreSQL test database");
        admin_pool(&pg.admin_url).await
    }

    /// A migrated store, as the service opens it.
    pub async fn store(&self) -> Store {
        Store::open(&self.url, PoolSettings::default())
            .await
            .expect("the store opens and migrates")
    }

    /// The schema as an older release left it: this backend's migrations up to `version`
    /// only. Returns a plain pool on it, to write the rows that release would have written.
    pub async fn migrated_to(&self, version: i64) -> AnyPool {
        Store::connect(&self.url, PoolSettings::default())
            .await
            .expect("the database is created")
            .close()
            .await;
        let backend = if self.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        };
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let mut migrator = sqlx::migrate::Migrator::new(dir)
            .await
            .expect("the migrations");
        let older: Vec<_> = migrator
            .iter()
            .filter(|m| m.version <= version)
            .cloned()
            .collect();
        migrator.migrations = older.into();
        let pool = self.raw().await;
        migrator.run(&pool).await.expect("the older migrations run");
        pool
    }

    /// A plain connection pool for checks the store has no query for.
    pub async fn raw(&self) -> AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::pool::PoolOptions::new()
            .max_connections(2)
            .connect(&self.url)
            .await
            .expect("a raw connection to the test database")
    }
}

async fn admin_pool(admin_url: &str) -> AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::pool::PoolOptions::new()
        .max_connections(1)
        .connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to TEST_DATABASE_URL: {e}"))
}

impl Drop for TestDb {
    /// Best effort: a database left behind by a crashed run is harmless, just untidy. The
    /// drop runs on its own thread and runtime because `Drop` cannot await on the test's.
    fn drop(&mut self) {
        let Some(pg) = self.postgres.take() else {
            return;
        };
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                sqlx::any::install_default_drivers();
                let Ok(admin) = sqlx::pool::PoolOptions::<sqlx::Any>::new()
                    .max_connections(1)
                    .connect(&pg.admin_url)
                    .await
                else {
                    return;
                };
                // FORCE ends the connections of pools the test did not close.
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", pg.name))
                    .execute(&admin)
                    .await;
                admin.close().await;
            });
        })
        .join();
    }
}

/// Counts rows with a query returning one `n` column.
pub async fn count(pool: &AnyPool, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get::<i64, _>("n")
}

/// Writes an account as release 0001 did, on a database [`TestDb::migrated_to`] left there or
/// as an instance of that release would beside a newer one: the key trimmed and lower-cased,
/// no skeleton. The other columns are made from the username.
pub async fn legacy_account(pool: &AnyPool, username: &str) -> i64 {
    let row = sqlx::query(
        "INSERT INTO accounts \
           (username, username_key, password_hash, visitor_id, event_id, review, created_at) \
         VALUES ($1, $2, 'hash-of-' || $1, 'visitor-' || $1, 'event-' || $1, 0, $3) RETURNING id",
    )
    .bind(username)
    .bind(username.trim().to_lowercase())
    .bind(signup_guard::store::now_ms())
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("{username:?}: {e}"));
    row.get("id")
}

/// Asserts the invariant every refused, failed or cut-off signup must keep: no account without
/// the attempt that created it, and no attempt naming an account that does not exist.
pub async fn assert_no_half_written_rows(pool: &AnyPool) {
    let orphan_accounts = count(
        pool,
        "SELECT COUNT(*) AS n FROM accounts a \
         WHERE NOT EXISTS (SELECT 1 FROM attempts t WHERE t.account_id = a.id)",
    )
    .await;
    let dangling_attempts = count(
        pool,
        "SELECT COUNT(*) AS n FROM attempts t WHERE t.account_id IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = t.account_id)",
    )
    .await;
    assert_eq!(orphan_accounts, 0, "accounts without their attempt");
    assert_eq!(dangling_attempts, 0, "attempts naming a missing account");
    assert_minute_counts_match_the_attempts(pool).await;
}

/// The database's tally by minute (`attempt_minutes`, kept by a trigger) counts exactly the
/// attempts committed, group by group.
pub async fn assert_minute_counts_match_the_attempts(pool: &AnyPool) {
    let groups = |sql: &'static str| async move {
        let rows = sqlx::query(sql).fetch_all(pool).await.expect(sql);
        rows.iter()
            .map(|row| {
                (
                    row.get::<i64, _>("minute"),
                    row.get::<String, _>("verdict"),
                    row.get::<String, _>("codes"),
                    row.get::<i64, _>("n"),
                )
            })
            .collect::<Vec<_>>()
    };
    let counted = groups(
        "SELECT created_at / 60000 * 60000 AS minute, verdict, codes, COUNT(*) AS n \
         FROM attempts GROUP BY created_at / 60000 * 60000, verdict, codes \
         ORDER BY minute, verdict, codes",
    )
    .await;
    let tallied = groups(
        "SELECT minute, verdict, codes, CAST(SUM(n) AS BIGINT) AS n FROM attempt_minutes \
         GROUP BY minute, verdict, codes ORDER BY minute, verdict, codes",
    )
    .await;
    assert_eq!(tallied, counted, "the minute tally against the attempts");
}

/// One Fingerprint simulator, over HTTP, that several instances can share. Clones share the
/// server, which stops when the last clone is dropped.
#[derive(Clone)]
pub struct Fingerprint {
    pub simulator: Simulator,
    pub base_url: String,
    _handle: Arc<SimulatorHandle>,
}

impl Fingerprint {
    /// A simulator that accepts [`API_KEY`].
    pub async fn start() -> Fingerprint {
        Fingerprint::start_with_key(API_KEY).await
    }

    /// A simulator that accepts `secret_key` alone, for a test that needs a key of its own (one
    /// it looks for in the logs, say).
    pub async fn start_with_key(secret_key: &str) -> Fingerprint {
        let simulator = Simulator::new(SimulatorConfig {
            secret_key: SecretKey::new(secret_key),
            latency: Duration::ZERO,
            encryption_key: Some(DecryptionKey::from_bytes(ENCRYPTION_KEY)),
        });
        let handle = simulator
            .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("the simulator starts");
        Fingerprint {
            simulator,
            base_url: handle.base_url(),
            _handle: Arc::new(handle),
        }
    }

    pub fn new_device(&self) -> Identified {
        self.simulator.identify(IdentifyRequest::default())
    }

    /// An event from one fixed device, as a visitor coming back would produce.
    pub fn device(&self, visitor_id: &str) -> Identified {
        self.simulator.identify(IdentifyRequest {
            persona: Persona::ReturningDevice,
            visitor_id: Some(visitor_id.to_owned()),
            ..IdentifyRequest::default()
        })
    }
}

/// What a test may change from the defaults.
pub struct Options {
    pub policy: Policy,
    pub api_version: ApiVersion,
    pub client_key: String,
    /// The Rules Engine ruleset every event fetch asks for (`FINGERPRINT_RULESET_ID`).
    pub ruleset_id: Option<String>,
    /// The Fingerprint client's deadline for one event.
    pub deadline: Duration,
    pub admin_token: Option<String>,
    /// Named analyst tokens, beside `admin_token` (recorded as `admin`).
    pub named_admin_tokens: Vec<(String, String)>,
    /// Decision API tokens; none turns the API off.
    pub api_tokens: Vec<String>,
    /// The `/metrics` token; none turns the route off.
    pub metrics_token: Option<String>,
    /// Report fraud labels to the simulator (retried after 20 ms).
    pub report_labels: bool,
    /// Decision webhooks; none are sent without.
    pub decision_webhooks: Option<signup_guard::delivery::DecisionWebhooks>,
    pub webhook_secret: Option<String>,
    pub cors_origins: Vec<String>,
    /// A database of the test's own; a fresh SQLite file otherwise.
    pub database_url: Option<String>,
    pub request_timeout: Duration,
    /// Time a new connection has to send its first request's headers.
    pub header_timeout: Duration,
    /// Time a kept-alive connection has, after an answer, to send its next request's headers.
    pub keep_alive_timeout: Duration,
    /// Open client connections at most.
    pub max_connections: usize,
    pub signup_rate_limit_per_minute: u32,
    pub signup_rate_limit_per_visitor_per_minute: u32,
    /// Where the rate limits are counted: in memory when `None`.
    pub rate_limit_url: Option<String>,
    pub rate_limit_failure_mode: FailureMode,
    /// How long a check waits for Redis: longer than the service's default, so that a busy
    /// test machine does not turn a slow answer into a failed check.
    pub rate_limit_timeout: Duration,
    /// Demo mode, as `--demo` runs it: the application's own in-process simulator instead of
    /// the test's (the Fingerprint options above then have nothing to configure).
    pub demo: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            policy: Policy::default(),
            api_version: ApiVersion::V4,
            client_key: API_KEY.into(),
            ruleset_id: None,
            deadline: Duration::from_millis(1500),
            admin_token: Some(ADMIN_TOKEN.into()),
            named_admin_tokens: Vec::new(),
            api_tokens: vec![API_TOKEN.into()],
            metrics_token: Some(METRICS_TOKEN.into()),
            decision_webhooks: None,
            report_labels: false,
            webhook_secret: Some(WEBHOOK_SECRET.into()),
            cors_origins: Vec::new(),
            database_url: None,
            request_timeout: Duration::from_secs(10),
            header_timeout: HttpConfig::default().header_timeout,
            keep_alive_timeout: HttpConfig::default().keep_alive_timeout,
            max_connections: HttpConfig::default().max_connections,
            signup_rate_limit_per_minute: 0,
            signup_rate_limit_per_visitor_per_minute: 0,
            rate_limit_url: None,
            rate_limit_failure_mode: FailureMode::Open,
            rate_limit_timeout: Duration::from_secs(1),
            demo: false,
        }
    }
}

impl Options {
    /// For load and multi-instance tests: deadlines long enough that a slow shared CI box
    /// answers from the store, not from a timeout.
    pub fn under_load(policy: Policy) -> Options {
        Options {
            policy,
            deadline: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            ..Options::default()
        }
    }

    /// Demo mode with the settings `--demo` has when nothing else is set: no admin token (the
    /// admin views are open) and no webhook secret.
    pub fn demo() -> Options {
        Options {
            demo: true,
            policy: Policy::demo(),
            admin_token: None,
            api_tokens: Vec::new(),
            webhook_secret: None,
            ..Options::default()
        }
    }
}

/// The application's settings for a test: the one place a test's `Config` is made.
pub fn config_with(database_url: &str, fingerprint: &Fingerprint, options: Options) -> Config {
    let mut client = fingerprint::ClientConfig::new(SecretKey::new(options.client_key.clone()));
    client.base_url = Some(fingerprint.base_url.clone());
    client.api_version = options.api_version;
    client.ruleset_id = options.ruleset_id.clone();
    client.deadline = options.deadline;
    client.retry.base_delay = Duration::from_millis(20);
    client.retry.not_found_delay = Duration::from_millis(20);
    settings(database_url, FingerprintSource::Api(client), options)
}

/// The settings every test application shares, with events from `source`.
fn settings(database_url: &str, source: FingerprintSource, options: Options) -> Config {
    Config {
        encryption_keys: vec![DecryptionKey::from_bytes(ENCRYPTION_KEY)],
        webhook_secret: options.webhook_secret.map(SecretKey::new),
        admin_tokens: options
            .admin_token
            .map(|token| ("admin".to_owned(), token))
            .into_iter()
            .chain(options.named_admin_tokens)
            .map(|(name, token)| (name, SecretKey::new(token)))
            .collect(),
        api_tokens: options.api_tokens.into_iter().map(SecretKey::new).collect(),
        metrics_token: options.metrics_token.map(SecretKey::new),
        decision_webhooks: options.decision_webhooks,
        report_labels: options.report_labels,
        label_report_retry: Some(Duration::from_millis(20)),
        http: HttpConfig {
            cors_origins: options.cors_origins,
            request_timeout: options.request_timeout,
            header_timeout: options.header_timeout,
            keep_alive_timeout: options.keep_alive_timeout,
            max_connections: options.max_connections,
            ..HttpConfig::default()
        },
        rate_limits: RateLimitSettings {
            per_ip_per_minute: options.signup_rate_limit_per_minute,
            per_visitor_per_minute: options.signup_rate_limit_per_visitor_per_minute,
            redis_url: options.rate_limit_url,
            failure_mode: options.rate_limit_failure_mode,
            timeout: options.rate_limit_timeout,
        },
        passwords: Passwords {
            hash_concurrency: 2,
            ..Passwords::default()
        },
        policy: options.policy,
        ..Config::new(source, database_url)
    }
}

/// [`config_with`] for load and multi-instance tests.
pub fn config(database_url: &str, fingerprint: &Fingerprint, policy: Policy) -> Config {
    config_with(database_url, fingerprint, Options::under_load(policy))
}

/// A running application and its Fingerprint stand-in.
pub struct TestApp {
    pub address: String,
    pub http: reqwest::Client,
    /// The simulator the application fetches its events from: the test's, or in demo mode the
    /// application's own.
    pub simulator: Simulator,
    pub state: Arc<AppState>,
    pub database_url: String,
    /// The test's simulator over HTTP; `None` in demo mode.
    fingerprint: Option<Fingerprint>,
    _db: Option<TestDb>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// Several instances of one deployment are test apps sharing a database and a simulator.
pub type Instance = TestApp;

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

/// An application in demo mode ([`Options::demo`]) with a database of its own.
pub async fn spawn_demo_app() -> TestApp {
    spawn_app_with(Options::demo()).await
}

/// An application with a simulator (unless in demo mode, which has its own) and (unless the
/// options name one) a database of its own.
pub async fn spawn_app_with(options: Options) -> TestApp {
    let db = match &options.database_url {
        Some(_) => None,
        None => Some(TestDb::sqlite()),
    };
    let url = match (&options.database_url, &db) {
        (Some(url), _) => url.clone(),
        (None, Some(db)) => db.url.clone(),
        (None, None) => unreachable!("a database was made above"),
    };
    let mut app = if options.demo {
        TestApp::start(settings(&url, FingerprintSource::Demo, options), None).await
    } else {
        let fingerprint = Fingerprint::start().await;
        let config = config_with(&url, &fingerprint, options);
        TestApp::start_with(config, fingerprint).await
    };
    app._db = db;
    app
}

impl TestApp {
    /// Builds and serves `config`, as `main` does, on a free port. The simulator must be the
    /// one `config` points at.
    pub async fn start_with(config: Config, fingerprint: Fingerprint) -> TestApp {
        TestApp::start(config, Some(fingerprint)).await
    }

    /// Builds and serves `config`; `fingerprint` is `None` in demo mode.
    async fn start(config: Config, fingerprint: Option<Fingerprint>) -> TestApp {
        let database_url = config.database_url.clone();
        let app = Application::build(config)
            .await
            .expect("the application builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let state = app.state();
        let simulator = match (&fingerprint, &state.demo) {
            (Some(fingerprint), _) => fingerprint.simulator.clone(),
            (None, Some(demo)) => demo.clone(),
            (None, None) => panic!("an application outside demo mode needs a Fingerprint"),
        };
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
            fingerprint,
            _db: None,
            _shutdown: shutdown,
        }
    }

    /// The test's simulator over HTTP, for a process that must reach the same one.
    pub fn fingerprint(&self) -> &Fingerprint {
        self.fingerprint
            .as_ref()
            .expect("in demo mode the simulator is inside the application")
    }

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

/// GETs a URL and reads its JSON body, failing the test if either step fails.
pub async fn get_json(http: &reqwest::Client, url: &str) -> Value {
    let response = http.get(url).send().await.expect("the request is sent");
    response.json().await.expect("a JSON body")
}

/// POSTs a JSON body and reads the JSON answer, failing the test if either step fails.
pub async fn post_json(http: &reqwest::Client, url: &str, body: &Value) -> Value {
    let response = http
        .post(url)
        .json(body)
        .send()
        .await
        .expect("the request is sent");
    response.json().await.expect("a JSON body")
}

/// Asserts the shared error shape.
pub fn assert_error(status: u16, body: &Value, expected_status: u16, code: &str) {
    assert_eq!(status, expected_status, "body: {body}");
    assert_eq!(body["code"], code, "body: {body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "a human message: {body}"
    );
}

/// A unique, valid username.
pub fn username() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "load{}-{}@example.org",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// What a signup got back: the status (`None` when no answer came), the body and `Retry-After`.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: Option<u16>,
    pub body: Value,
    pub retry_after: Option<String>,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }

    pub fn account_id(&self) -> Option<i64> {
        self.body["accountId"].as_i64()
    }
}

pub async fn signup(
    http: &reqwest::Client,
    address: &str,
    request_id: &str,
    username: &str,
) -> Answer {
    answer(signup_request(http, address, request_id, username)).await
}

/// [`signup`], from a client behind one trusted proxy that says it is `forwarded_for`.
pub async fn signup_from(
    http: &reqwest::Client,
    address: &str,
    request_id: &str,
    username: &str,
    forwarded_for: &str,
) -> Answer {
    answer(
        signup_request(http, address, request_id, username)
            .header("x-forwarded-for", forwarded_for),
    )
    .await
}

fn signup_request(
    http: &reqwest::Client,
    address: &str,
    request_id: &str,
    username: &str,
) -> reqwest::RequestBuilder {
    let body =
        json!({ "requestId": request_id, "username": username, "password": STRONG_PASSWORD });
    http.post(format!("{address}/api/create-account"))
        .json(&body)
}

/// Sends a signup and reads its answer; a request that got no answer has no status.
async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let Ok(response) = request.send().await else {
        return Answer {
            status: None,
            body: Value::Null,
            retry_after: None,
        };
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.json().await.unwrap_or(Value::Null);
    Answer {
        status: Some(status),
        body,
        retry_after,
    }
}

/// The velocity rules by their key in `[policy.velocity]`.
pub const VELOCITY_RULES: [&str; 5] = ["ip", "subnet", "visitor", "email_domain", "asn"];

/// A policy with one velocity rule on at `threshold` (an hour's window, block), behind one
/// trusted proxy (so a test chooses each signup's client IP), and a device limit high enough
/// that it never decides.
pub fn velocity_policy(rule: &str, threshold: u32) -> Policy {
    let mut policy = Policy {
        trusted_proxy_hops: 1,
        accounts_per_device: 1000,
        ..Policy::default()
    };
    let on = signup_guard::policy::VelocityRule {
        threshold,
        ..Default::default()
    };
    let v = &mut policy.velocity;
    match rule {
        "ip" => v.ip = on,
        "subnet" => v.subnet = on,
        "visitor" => v.visitor = on,
        "email_domain" => v.email_domain = on,
        "asn" => v.asn = on,
        other => panic!("no velocity rule {other}"),
    }
    policy
}

/// `count` signups at once, spread over `addresses` in turn, that share only what `rule`
/// counts: one client IP, one /24 (different addresses), one visitor id, one email domain (the
/// one [`username`] gives), or one ASN. Everything else differs, so nothing but the rule can
/// refuse them.
pub async fn velocity_burst(
    simulator: &Simulator,
    addresses: &[String],
    rule: &str,
    count: usize,
) -> Vec<Answer> {
    let http = reqwest::Client::new();
    let signups = (0..count).map(|i| {
        let event = simulator.identify(IdentifyRequest {
            persona: Persona::NewDevice,
            visitor_id: (rule == "visitor").then(|| "VelocityBurstVisitor".to_owned()),
            asn: Some(if rule == "asn" {
                "64500".into()
            } else {
                format!("{}", 65_000 + i)
            }),
            ..IdentifyRequest::default()
        });
        let forwarded_for = match rule {
            "ip" => "203.0.113.7".to_owned(),
            "subnet" => format!("203.0.113.{}", i + 1),
            _ => format!("10.{}.{}.1", i / 200, i % 200),
        };
        let username = match rule {
            "email_domain" => username(),
            _ => format!(
                "burst-{}-{i}@{}.example.org",
                std::process::id(),
                unique_label()
            ),
        };
        let (http, address) = (http.clone(), addresses[i % addresses.len()].clone());
        async move {
            signup_from(
                &http,
                &address,
                &event.request_id,
                &username,
                &forwarded_for,
            )
            .await
        }
    });
    futures_util::future::join_all(signups).await
}

/// A label no other call of this process gets, for domains that must differ.
fn unique_label() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("d{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Asserts that exactly `through` signups were created and every other one was refused 429
/// with `code`.
pub fn assert_exactly_through(answers: &[Answer], through: usize, code: &str) {
    let created = answers.iter().filter(|a| a.status == Some(200)).count();
    let refused = answers
        .iter()
        .filter(|a| a.status == Some(429) && a.code() == code)
        .count();
    let seen: Vec<(Option<u16>, &str)> = answers.iter().map(|a| (a.status, a.code())).collect();
    assert_eq!(
        (created, refused),
        (through, answers.len() - through),
        "{code}: {seen:?}"
    );
}

/// Polls `/health` until it answers `want`, failing the test after `within`.
pub async fn wait_for_health(http: &reqwest::Client, address: &str, want: u16, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let status = http
            .get(format!("{address}/health"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .ok();
        if status == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{address}/health did not answer {want} within {within:?} (last: {status:?})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs each named `async fn(&TestDb)` as two tests, `sqlite::NAME` on a fresh SQLite file and
/// `postgres::NAME` on a PostgreSQL database of its own (skipped with a notice when
/// `TEST_DATABASE_URL` is unset).
#[allow(unused_macros)]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let db = crate::common::TestDb::sqlite();
                    super::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(db) = crate::common::TestDb::postgres().await else { return };
                    super::$name(&db).await;
                }
            )*
        }
    };
}
#[allow(unused_imports)]
pub(crate) use both_backends;

/// A decision-webhook receiver over real HTTP: it answers 500 to its first `failures`
/// requests, then 200, and keeps every request it got.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    state: Arc<ReceiverState>,
}

struct ReceiverState {
    failures: std::sync::atomic::AtomicUsize,
    seen: std::sync::Mutex<Vec<Received>>,
}

/// One request a [`Receiver`] got, and whether it accepted it.
#[derive(Debug, Clone)]
pub struct Received {
    pub delivery_id: String,
    pub signature: String,
    pub body: String,
    pub accepted: bool,
}

impl Receiver {
    pub async fn start(failures: usize) -> Receiver {
        let state = Arc::new(ReceiverState {
            failures: std::sync::atomic::AtomicUsize::new(failures),
            seen: std::sync::Mutex::new(Vec::new()),
        });
        let handler_state = state.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let state = handler_state.clone();
                async move {
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    let accepted = state
                        .failures
                        .fetch_update(
                            std::sync::atomic::Ordering::SeqCst,
                            std::sync::atomic::Ordering::SeqCst,
                            |n| n.checked_sub(1),
                        )
                        .is_err();
                    state.seen.lock().unwrap().push(Received {
                        delivery_id: header("signup-guard-delivery"),
                        signature: header("signup-guard-signature"),
                        body,
                        accepted,
                    });
                    if accepted {
                        axum::http::StatusCode::OK
                    } else {
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, state }
    }

    /// From now on, refuse the next `failures` requests.
    pub fn fail_next(&self, failures: usize) {
        self.state
            .failures
            .store(failures, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.seen.lock().unwrap().clone()
    }

    /// The accepted deliveries, one per delivery id (a receiver dedupes on it), by id.
    pub fn accepted(&self) -> std::collections::BTreeMap<String, Value> {
        self.received()
            .into_iter()
            .filter(|r| r.accepted)
            .map(|r| (r.delivery_id, serde_json::from_str(&r.body).unwrap()))
            .collect()
    }

    /// Waits until `count` distinct deliveries were accepted, failing the test after `within`.
    pub async fn wait_for(&self, count: usize, within: Duration) {
        let deadline = Instant::now() + within;
        while self.accepted().len() < count {
            assert!(
                Instant::now() < deadline,
                "{} of {count} deliveries accepted within {within:?}: {:?}",
                self.accepted().len(),
                self.received()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}
