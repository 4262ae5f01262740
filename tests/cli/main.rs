//! The real `signup-guard` binary as a subprocess: help, migrate, startup failures, `explain`,
//! `backtest`, and that no secret ever reaches the logs.
//!
//! Each subprocess runs with a cleared environment and a temporary working directory, so
//! neither a developer's `.env` nor a `signup-guard.toml` lying around can change the result.

use fingerprint::sealed::DecryptionKey;
use fingerprint::simulator::{
    IdentifyRequest, Persona, Simulator, SimulatorConfig, SimulatorHandle,
};
use fingerprint::SecretKey;
use serde_json::{json, Value};
use signup_guard::policy::Policy;
use signup_guard::settings::{Config, FingerprintSource};
use signup_guard::startup::Application;
use signup_guard::store::PoolSettings;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod settings;

const BIN: &str = env!("CARGO_BIN_EXE_signup-guard");
/// The key the in-process simulator accepts.
const SIM_KEY: &str = "cli-test-simulator-key";
const PASSWORD: &str = "correct horse battery staple";

/// Every rule `explain` lists, in the documented order (docs/policy.md, *Rule order*).
const RULES: [&str; 30] = [
    "visitor_id",
    "max_event_age_seconds",
    "clock_skew_seconds",
    "replayed",
    "allowed_origins",
    "ip_binding",
    "bot_bad",
    "bot_good",
    "tampering",
    "frida",
    "mitm_attack",
    "cloned_app",
    "emulator",
    "rooted",
    "factory_reset",
    "ip_blocklist",
    "tor",
    "vpn",
    "proxy",
    "location_spoofing",
    "velocity",
    "high_activity",
    "remote_control",
    "virtual_machine",
    "developer_tools",
    "incognito",
    "privacy_settings",
    "high_suspect_score",
    "low_confidence",
    "accounts_per_device",
];

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn sqlite_url(dir: &Path, name: &str) -> String {
    format!("sqlite://{}", dir.join(name).display())
}

/// The binary with an empty environment, run in `cwd`.
fn command(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// Runs to completion, failing the test if it takes longer than a minute.
fn run(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut child = command(cwd, args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let (stdout, stderr) = drain(&mut child);
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("signup-guard {args:?} did not finish within a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

type Reader = std::thread::JoinHandle<Vec<u8>>;

/// Reads both pipes on their own threads, so a chatty child never blocks on a full pipe.
fn drain(child: &mut Child) -> (Reader, Reader) {
    fn reader(mut pipe: impl Read + Send + 'static) -> Reader {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = pipe.read_to_end(&mut out);
            out
        })
    }
    (
        reader(child.stdout.take().unwrap()),
        reader(child.stderr.take().unwrap()),
    )
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `run` on a blocking thread, for tests whose runtime also serves the simulator or the app.
async fn run_async(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let cwd = cwd.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run(&cwd, &args, &env)
    })
    .await
    .unwrap()
}

async fn spawn_simulator(key: &str) -> (Simulator, SimulatorHandle) {
    let simulator = Simulator::new(SimulatorConfig {
        secret_key: SecretKey::new(key),
        latency: Duration::ZERO,
        encryption_key: None,
    });
    let handle = simulator
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    (simulator, handle)
}

/// The application in process, on a free port, against `simulator` and `database_url`.
async fn spawn_app(
    base_url: String,
    database_url: &str,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    let mut client = fingerprint::ClientConfig::new(SecretKey::new(SIM_KEY));
    client.base_url = Some(base_url);
    let config = Config {
        encryption_keys: vec![DecryptionKey::from_bytes(
            *b"signup-guard-cli-test-key-32byte",
        )],
        hash_concurrency: 2,
        ..Config::new(FingerprintSource::Api(client), database_url)
    };
    let app = Application::build(config)
        .await
        .expect("the application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    (address, stop)
}

async fn post_signup(
    http: &reqwest::Client,
    address: &str,
    request_id: &str,
    n: usize,
) -> (u16, Value) {
    let body = json!({
        "requestId": request_id,
        "username": format!("cli-user-{n}@example.com"),
        "password": PASSWORD,
    });
    let response = http
        .post(format!("{address}/api/create-account"))
        .json(&body)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

#[test]
fn help_lists_the_commands_and_documents_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "help-must-not-show-this-key-71c2";
    let output = run(
        dir.path(),
        &["--help"],
        &[("FINGERPRINT_API_KEY", secret), ("ADMIN_TOKEN", secret)],
    );
    assert!(output.status.success(), "{output:?}");
    let help = text(&output.stdout);
    for command in ["serve", "migrate", "simulator", "explain", "backtest"] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(command)),
            "{command} in:\n{help}"
        );
    }
    for variable in [
        "FINGERPRINT_API_KEY",
        "FINGERPRINT_API_URL",
        "FINGERPRINT_REGION",
        "DATABASE_URL",
        "ADMIN_TOKEN",
        "SIGNUP_GUARD_CONFIG",
        "LOG_FORMAT",
        "PORT",
    ] {
        assert!(
            help.contains(&format!("env: {variable}")),
            "{variable} in:\n{help}"
        );
    }
    assert!(
        !help.contains(secret),
        "secret values are never echoed:\n{help}"
    );

    let output = run(dir.path(), &["backtest", "--help"], &[]);
    assert!(output.status.success(), "{output:?}");
    let help = text(&output.stdout);
    assert!(
        help.contains("--since") && help.contains("--json") && help.contains("--config"),
        "{help}"
    );
}

#[test]
fn migrate_creates_a_fresh_sqlite_database_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "fresh.db");
    for _ in 0..2 {
        let output = run(dir.path(), &["migrate"], &[("DATABASE_URL", &url)]);
        assert!(output.status.success(), "{output:?}");
        assert!(
            text(&output.stdout).contains("database schema is up to date"),
            "{output:?}"
        );
    }
    assert!(dir.path().join("fresh.db").is_file());
}

#[test]
fn a_relative_sqlite_url_is_resolved_in_the_working_directory_and_its_folder_made() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(
        dir.path(),
        &["migrate"],
        &[("DATABASE_URL", "sqlite://data/nested/relative.db")],
    );
    assert!(output.status.success(), "{output:?}");
    assert!(dir.path().join("data/nested/relative.db").is_file());
}

#[test]
fn a_database_url_of_another_engine_fails_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(dir.path(), &["migrate"], &[("DATABASE_URL", "mysql://x")]);
    assert!(!output.status.success(), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("DATABASE_URL must start with sqlite:// or postgres://"),
        "{stderr}"
    );
}

#[test]
fn serve_without_a_secret_key_fails_fast_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "serve.db");
    let started = Instant::now();
    let output = run(
        dir.path(),
        &["serve"],
        &[("DATABASE_URL", &url), ("PORT", "0"), ("HOST", "127.0.0.1")],
    );
    assert!(!output.status.success(), "{output:?}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "fails fast, not after a timeout"
    );
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("FINGERPRINT_API_KEY is required"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("serve.db").exists(),
        "nothing is touched before the settings are valid"
    );
}

#[test]
fn an_unknown_key_in_the_policy_file_fails_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let bad = fixture("unknown_key.toml");
    let bad = bad.to_str().unwrap();
    let url = sqlite_url(dir.path(), "serve.db");
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("FINGERPRINT_API_KEY", "k"),
        ("PORT", "0"),
        ("HOST", "127.0.0.1"),
    ];
    let output = run(dir.path(), &["serve", "--config", bad], &env);
    assert!(!output.status.success(), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("unknown_key.toml:3: policy.max_event_age_secs: unknown field"),
        "{stderr}"
    );
    // The same file as a backtest candidate is refused the same way.
    let output = run(dir.path(), &["backtest", "--config", bad], &env);
    assert!(!output.status.success(), "{output:?}");
    assert!(
        text(&output.stderr).contains("policy.max_event_age_secs"),
        "{output:?}"
    );
}

/// The table rows `explain` prints: rule, outcome, action.
fn explain_rows(stdout: &str) -> Vec<(String, String, String)> {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("rule "))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let mut words = l.split_whitespace().map(str::to_owned);
            (
                words.next().unwrap(),
                words.next().unwrap(),
                words.next().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_prints_every_rule_and_the_verdict() {
    let (simulator, handle) = spawn_simulator(SIM_KEY).await;
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "explain.db");
    let vpn = simulator.identify(IdentifyRequest {
        persona: Persona::Vpn,
        ..IdentifyRequest::default()
    });
    let base_url = handle.base_url();
    let env = [
        ("FINGERPRINT_API_KEY", SIM_KEY),
        ("FINGERPRINT_API_URL", base_url.as_str()),
        ("DATABASE_URL", &url),
    ];

    let output = run_async(dir.path(), &["explain", &vpn.request_id], &env).await;
    assert!(output.status.success(), "{output:?}");
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains(&format!("event    {}", vpn.request_id)),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("visitor  {}", vpn.visitor_id)),
        "{stdout}"
    );
    assert!(stdout.contains("no recorded attempt"), "{stdout}");
    let rows = explain_rows(&stdout);
    let rules: Vec<&str> = rows.iter().map(|(rule, _, _)| rule.as_str()).collect();
    assert_eq!(rules, RULES, "{stdout}");
    for (rule, outcome, action) in &rows {
        match rule.as_str() {
            "vpn" => assert_eq!(
                (outcome.as_str(), action.as_str()),
                ("fired", "review"),
                "{stdout}"
            ),
            "allowed_origins" | "ip_binding" => assert_eq!(outcome, "disabled", "{stdout}"),
            // Remote control is a Server API v3 signal; a v4 event does not carry it.
            "remote_control" => assert_eq!(outcome, "unavailable", "{stdout}"),
            _ => assert_eq!(outcome, "passed", "{rule}: {stdout}"),
        }
    }
    let vpn_row = stdout.lines().find(|l| l.starts_with("vpn ")).unwrap();
    assert!(
        vpn_row.contains("vpn: true"),
        "the input is shown: {vpn_row}"
    );
    assert!(
        stdout.contains("verdict  review (first reason vpn_detected; all: vpn_detected)"),
        "{stdout}"
    );

    let output = run_async(dir.path(), &["explain", &vpn.request_id, "--json"], &env).await;
    assert!(output.status.success(), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("--json prints JSON");
    assert_eq!(report["eventId"], vpn.request_id.as_str());
    assert_eq!(report["visitorId"], vpn.visitor_id.as_str());
    assert_eq!(report["policyHash"], Policy::default().hash());
    assert_eq!(report["decision"]["verdict"], "review");
    assert_eq!(report["decision"]["would_be"], "review");
    assert_eq!(
        report["decision"]["findings"].as_array().unwrap().len(),
        1,
        "{report}"
    );
    assert_eq!(report["decision"]["findings"][0]["code"], "vpn_detected");
    let checks = report["decision"]["checks"].as_array().unwrap();
    assert_eq!(checks.len(), RULES.len());
    let vpn_check = checks.iter().find(|c| c["rule"] == "vpn").unwrap();
    assert_eq!(
        (vpn_check["outcome"].as_str(), vpn_check["action"].as_str()),
        (Some("fired"), Some("review"))
    );

    // A stricter policy through --config changes the verdict it explains.
    let strict = fixture("strict.toml");
    let args = [
        "explain",
        vpn.request_id.as_str(),
        "--json",
        "--config",
        strict.to_str().unwrap(),
    ];
    let output = run_async(dir.path(), &args, &env).await;
    assert!(output.status.success(), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["decision"]["verdict"], "block", "{report}");

    // An unknown event is an error, not an empty explanation.
    let output = run_async(dir.path(), &["explain", "1700000000000.nOtHeRe"], &env).await;
    assert!(!output.status.success(), "{output:?}");
    assert!(
        text(&output.stderr).contains("cannot fetch event 1700000000000.nOtHeRe"),
        "{output:?}"
    );
}

/// Everything in the audit trail and the accounts table, to show a backtest changed nothing.
async fn database_dump(url: &str) -> (Vec<String>, i64) {
    let store = signup_guard::store::Store::connect(url, PoolSettings::default())
        .await
        .unwrap();
    let filter = signup_guard::store::AttemptFilter::default();
    let attempts = store.list_attempts(&filter, 10_000).await.unwrap();
    let accounts = store.count_accounts().await.unwrap();
    store.close().await;
    (
        attempts.iter().map(|a| format!("{a:?}")).collect(),
        accounts,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backtest_replays_the_recorded_attempts_against_a_candidate_policy_read_only() {
    let (simulator, handle) = spawn_simulator(SIM_KEY).await;
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "recorded.db");
    let (address, stop) = spawn_app(handle.base_url(), &url).await;
    let http = reqwest::Client::new();
    let recorded = [
        (Persona::Vpn, 200, "review"),
        (Persona::NewDevice, 200, "created"),
        (Persona::Vpn, 200, "review"),
        (Persona::Tor, 403, "tor_detected"),
        (Persona::NewDevice, 200, "created"),
        (Persona::Vpn, 200, "review"),
    ];
    let mut tor_event = String::new();
    for (n, (persona, status, answer)) in recorded.into_iter().enumerate() {
        let event = simulator.identify(IdentifyRequest {
            persona,
            ..IdentifyRequest::default()
        });
        let (got, body) = post_signup(&http, &address, &event.request_id, n).await;
        assert_eq!(got, status, "{persona}: {body}");
        assert!(
            body["status"] == answer || body["code"] == answer,
            "{persona}: {body}"
        );
        if persona == Persona::Tor {
            tor_event = event.request_id;
        }
    }
    let _ = stop.send(());
    let before = database_dump(&url).await;
    assert_eq!((before.0.len(), before.1), (6, 5));

    let candidate = fixture("vpn_block.toml");
    let candidate = candidate.to_str().unwrap();
    let env = [("DATABASE_URL", url.as_str())];
    let output = run_async(
        dir.path(),
        &["backtest", "--config", candidate, "--json"],
        &env,
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("--json prints JSON");
    let expected_hash = signup_guard::policy::load_file(Path::new(candidate))
        .unwrap()
        .hash();
    assert_eq!(report["policyHash"], expected_hash, "{report}");
    assert_eq!(report["replayed"], 6, "{report}");
    assert_eq!(report["skipped"], 0, "{report}");
    assert_eq!(report["changed"], 3, "{report}");
    assert_eq!(
        report["transitions"],
        json!({ "review -> block": 3 }),
        "{report}"
    );
    let rules = report["rules"].as_object().unwrap();
    assert_eq!(
        rules["vpn_detected"],
        json!({ "firedBefore": 3, "firedAfter": 3, "changes": 3 }),
        "{report}"
    );
    assert_eq!(
        rules["tor_detected"],
        json!({ "firedBefore": 1, "firedAfter": 1, "changes": 0 }),
        "{report}"
    );
    let attributed: u64 = rules.values().map(|r| r["changes"].as_u64().unwrap()).sum();
    assert_eq!(
        attributed, 3,
        "every change is attributed to exactly one rule: {report}"
    );

    let output = run_async(
        dir.path(),
        &["backtest", "--config", candidate, "--since", "7d"],
        &env,
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("replayed 6 attempts (0 without signals skipped); 3 verdicts would change"),
        "{stdout}"
    );
    assert!(stdout.contains("review -> block: 3"), "{stdout}");
    let vpn_row: Vec<&str> = stdout
        .lines()
        .find(|l| l.starts_with("vpn_detected "))
        .expect("a vpn_detected row")
        .split_whitespace()
        .collect();
    assert_eq!(vpn_row, ["vpn_detected", "3", "3", "3"], "{stdout}");

    // --since filters: nothing was recorded after a time in the future.
    let output = run_async(
        dir.path(),
        &[
            "backtest",
            "--config",
            candidate,
            "--since",
            "2999-01-01T00:00:00Z",
        ],
        &env,
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("replayed 0 attempts (0 without signals skipped); 0 verdicts would change"),
        "{stdout}"
    );
    let output = run_async(
        dir.path(),
        &["backtest", "--config", candidate, "--since", "yesterday"],
        &env,
    )
    .await;
    assert!(!output.status.success(), "{output:?}");
    assert!(text(&output.stderr).contains("--since"), "{output:?}");

    // The defaults against history recorded under the defaults: nothing changes.
    let defaults = dir.path().join("defaults.toml");
    std::fs::write(&defaults, "").unwrap();
    let output = run_async(
        dir.path(),
        &["backtest", "--config", defaults.to_str().unwrap(), "--json"],
        &env,
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["changed"], 0, "{report}");

    // Without a candidate there is nothing to compare.
    let output = run_async(dir.path(), &["backtest"], &env).await;
    assert!(!output.status.success(), "{output:?}");
    assert!(
        text(&output.stderr)
            .contains("backtest needs the candidate policy: signup-guard backtest --config"),
        "{output:?}"
    );

    assert_eq!(database_dump(&url).await, before, "a backtest never writes");

    // explain uses the recorded context of the attempt.
    let base_url = handle.base_url();
    let env = [
        ("FINGERPRINT_API_KEY", SIM_KEY),
        ("FINGERPRINT_API_URL", base_url.as_str()),
        ("DATABASE_URL", &url),
    ];
    let output = run_async(dir.path(), &["explain", &tor_event], &env).await;
    assert!(output.status.success(), "{output:?}");
    let stdout = text(&output.stdout);
    assert!(stdout.contains("context  recorded attempt #"), "{stdout}");
    assert!(
        stdout.contains(
            "verdict  block (first reason tor_detected; all: tor_detected, suspect_score)"
        ),
        "{stdout}"
    );
    assert_eq!(database_dump(&url).await, before, "explain never writes");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `serve` with canary secrets, makes requests that carry every one of them down the
/// success path (a signup that hashes its password), a refused webhook and a refused key, and
/// returns everything the process wrote.
async fn serve_and_collect_logs(log_format: &str) -> String {
    const API_KEY: &str = "sk-live-LEAKCANARY-5e1d9c3a7b";
    const ADMIN_TOKEN: &str = "admin-LEAKCANARY-0f4e8a2d6c";
    const SIGNUP_PASSWORD: &str = "Pelican LEAKCANARY quartz 7731";
    const WEBHOOK_SECRET: &str = "whsec-LEAKCANARY-77aa";
    const ENCRYPTION_KEY: &str = "LEAKCANARYLEAKCANARYLEAKCANARYLEAKCANARYAAA=";
    let (simulator, handle) = spawn_simulator(API_KEY).await;
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "serve.db");
    let port = free_port().to_string();
    let base_url = handle.base_url();
    let env = [
        ("FINGERPRINT_API_KEY", API_KEY),
        ("FINGERPRINT_API_URL", base_url.as_str()),
        ("ADMIN_TOKEN", ADMIN_TOKEN),
        ("FINGERPRINT_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("FINGERPRINT_ENCRYPTION_KEYS", ENCRYPTION_KEY),
        ("RUST_LOG", "debug"),
        ("LOG_FORMAT", log_format),
        ("HOST", "127.0.0.1"),
        ("PORT", port.as_str()),
        ("DATABASE_URL", url.as_str()),
    ];
    let mut child = command(dir.path(), &["serve"], &env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let (stdout, stderr) = drain(&mut child);
    let collect = |mut child: Child, stdout: Reader, stderr: Reader| {
        let _ = child.kill();
        let _ = child.wait();
        let mut all = text(&stdout.join().unwrap());
        all.push_str(&text(&stderr.join().unwrap()));
        all
    };

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let address = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "serve exited with {status}: {}",
                collect(child, stdout, stderr)
            );
        }
        if let Ok(response) = http.get(format!("{address}/health")).send().await {
            if response.status() == 200 {
                break;
            }
        }
        if Instant::now() > deadline {
            panic!(
                "serve never became healthy: {}",
                collect(child, stdout, stderr)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let signup = |username: &'static str| {
        let event = simulator.identify(IdentifyRequest::default());
        let body = json!({ "requestId": event.request_id, "username": username, "password": SIGNUP_PASSWORD });
        http.post(format!("{address}/api/create-account"))
            .json(&body)
            .send()
    };
    // The success path: the event is fetched with the key and the password hashed.
    let created: Value = signup("leak-check@example.com")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["status"], "created", "{created}");

    let webhook = http
        .post(format!("{address}/api/webhooks/fingerprint"))
        .header("fpjs-event-signature", "v1=00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(webhook.status(), 401);

    // Fingerprint refuses the key: the log says what to fix, and never what the key is.
    simulator.set_fault(Some(fingerprint::simulator::Fault::Status(403)), None);
    let response = signup("leak-check-2@example.com").await.unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (500, Some("fingerprint_misconfigured")),
        "{body}"
    );
    assert!(!body.to_string().contains(API_KEY), "{body}");

    let attempts = http
        .get(format!("{address}/api/attempts"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(attempts.status(), 200);
    let attempts: Value = attempts.json().await.unwrap();
    assert_eq!(
        attempts["attempts"][0]["code"], "fingerprint_misconfigured",
        "{attempts}"
    );
    let wrong = http
        .get(format!("{address}/api/accounts"))
        .bearer_auth(format!("{ADMIN_TOKEN}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let logs = collect(child, stdout, stderr);
    for secret in [API_KEY, ADMIN_TOKEN, SIGNUP_PASSWORD, "LEAKCANARY"] {
        assert!(
            !logs.contains(secret),
            "{secret:?} leaked into the {log_format} logs:\n{logs}"
        );
    }
    assert!(
        logs.contains("Fingerprint refused our secret key"),
        "the misconfiguration is logged:\n{logs}"
    );
    assert!(logs.contains("signup decided"), "{logs}");
    assert!(
        logs.contains("DEBUG") || logs.contains("\"level\":\"DEBUG\""),
        "RUST_LOG=debug took effect:\n{logs}"
    );
    logs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_appear_in_text_logs() {
    serve_and_collect_logs("text").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_appear_in_json_logs() {
    let logs = serve_and_collect_logs("json").await;
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        let parsed: Result<Value, _> = serde_json::from_str(line);
        assert!(
            parsed.is_ok_and(|v| v.is_object()),
            "LOG_FORMAT=json writes one JSON object a line: {line}"
        );
    }
}

/// Kills the child when the test ends, however it ends.
struct Running(Child);

impl Running {
    fn sigterm(&self) {
        let pid = self.0.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
    }

    /// Waits up to 20 s for the process to end, and asserts it exited 0.
    async fn exits_cleanly(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "no exit within 20 s of SIGTERM");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(status.success(), "a graceful stop exits 0: {status:?}");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls until `check` passes, or fails the test after 30 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_simulator_command_serves_the_server_api_on_its_port() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let args = [
        "simulator",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--secret-key",
        "cli-sim-key",
    ];
    let _child = Running(
        command(dir.path(), &args, &[])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let identify = || {
        http.post(format!("{base}/identify"))
            .json(&json!({"persona": "tor"}))
            .send()
    };
    eventually("the simulator answering", || async {
        identify().await.is_ok()
    })
    .await;
    let issued: Value = identify().await.unwrap().json().await.unwrap();
    let id = issued["requestId"].as_str().unwrap();
    let event = http
        .get(format!("{base}/v4/events/{id}"))
        .bearer_auth("cli-sim-key")
        .send()
        .await
        .unwrap();
    assert_eq!(event.status().as_u16(), 200);
    let event: Value = event.json().await.unwrap();
    assert_eq!(event["ip_blocklist"]["tor_node"], true);
    let refused = http
        .get(format!("{base}/v4/events/{id}"))
        .bearer_auth("other")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
}

#[tokio::test]
async fn demo_mode_runs_with_no_key_and_no_network_and_says_it_is_not_for_production() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let mut child = command(dir.path(), &["--demo", "--port", &port], &[])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let _child = Running(child);
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    eventually("demo mode answering /health", || async {
        http.get(format!("{base}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
    let page = http
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("DEMO MODE"));
    let issued: Value = http
        .post(format!("{base}/demo/identify"))
        .json(&json!({"persona": "bad_bot"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let signup = json!({"requestId": issued["requestId"], "username": "bot@example.com", "password": "correct horse battery staple"});
    let refused = http
        .post(format!("{base}/api/create-account"))
        .json(&signup)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    assert!(
        dir.path().join("signup-guard-demo.db").exists(),
        "demo mode keeps its own database file"
    );
    drop(_child);
    let mut banner = String::new();
    let _ = { stderr }.read_to_string(&mut banner);
    assert!(banner.contains("DEMO MODE: NOT FOR PRODUCTION"), "{banner}");
}

#[test]
fn serve_refuses_wrong_settings_with_a_message_that_says_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "serve.db");
    let base = [
        ("FINGERPRINT_API_KEY", "k"),
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
    ];
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("FINGERPRINT_API_URL", "not a url"), ("DATABASE_URL", &url)],
            "FINGERPRINT_API_URL",
        ),
        (
            vec![
                ("FINGERPRINT_API_URL", "http://host/with/path"),
                ("DATABASE_URL", &url),
            ],
            "FINGERPRINT_API_URL",
        ),
        (
            vec![("FINGERPRINT_REGION", "mars"), ("DATABASE_URL", &url)],
            "FINGERPRINT_REGION",
        ),
        (
            vec![("FINGERPRINT_API_VERSION", "5"), ("DATABASE_URL", &url)],
            "FINGERPRINT_API_VERSION",
        ),
        (
            vec![("ADMIN_TOKEN", "short"), ("DATABASE_URL", &url)],
            "ADMIN_TOKEN",
        ),
        (
            vec![
                ("FINGERPRINT_ENCRYPTION_KEYS", "not-a-key"),
                ("DATABASE_URL", &url),
            ],
            "FINGERPRINT_ENCRYPTION_KEYS",
        ),
        (
            vec![
                (
                    "DATABASE_URL",
                    "postgres://signup:hunter2-db-password@127.0.0.1:1/none",
                ),
                ("DATABASE_ACQUIRE_TIMEOUT_MS", "500"),
            ],
            "cannot open the database",
        ),
    ];
    for (extra, expected) in cases {
        let env: Vec<(&str, &str)> = base.iter().copied().chain(extra.iter().copied()).collect();
        let started = Instant::now();
        let output = run(dir.path(), &["serve"], &env);
        let stderr = text(&output.stderr);
        assert!(!output.status.success(), "{extra:?} must fail: {stderr}");
        assert!(stderr.contains(expected), "{extra:?}: {stderr}");
        assert!(
            !stderr.contains("hunter2-db-password"),
            "the database password is never echoed: {stderr}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{extra:?} fails fast"
        );
    }
}

#[tokio::test]
async fn sigterm_stops_the_service_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let child = command(dir.path(), &["--demo", "--port", &port], &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    eventually("the service answering /health", || async {
        http.get(format!("{base}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
    running.sigterm();
    running.exits_cleanly().await;
}
