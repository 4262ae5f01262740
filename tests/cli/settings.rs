//! Where settings come from (`.env`, the policy file's three locations), the limits startup
//! enforces on them, and a graceful stop with a signup in flight.

use super::*;
use fingerprint::simulator::IdentifyRequest;

fn serve_env(dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", sqlite_url(dir, "serve.db")),
        ("HOST", "127.0.0.1".into()),
        ("PORT", "0".into()),
    ]
}

fn serve_fails(dir: &Path, args: &[&str], env: &[(&str, String)]) -> String {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let output = run(dir, args, &env);
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "{args:?} must fail: {stderr}");
    stderr
}

#[test]
fn the_policy_file_is_found_by_flag_by_variable_or_in_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = serve_env(dir.path());
    env.push(("FINGERPRINT_API_KEY", "k".into()));
    let bad = fixture("unknown_key.toml").display().to_string();

    // A misspelt key is refused, which shows the file was read wherever it was found.
    let named = |stderr: &str| stderr.contains("policy.max_event_age_secs: unknown field");
    let stderr = serve_fails(dir.path(), &["serve", "--config", &bad], &env);
    assert!(named(&stderr), "--config: {stderr}");

    let mut by_variable = env.clone();
    by_variable.push(("SIGNUP_GUARD_CONFIG", bad.clone()));
    let stderr = serve_fails(dir.path(), &["serve"], &by_variable);
    assert!(named(&stderr), "SIGNUP_GUARD_CONFIG: {stderr}");

    std::fs::copy(&bad, dir.path().join("signup-guard.toml")).unwrap();
    let stderr = serve_fails(dir.path(), &["serve"], &env);
    assert!(
        named(&stderr) && stderr.contains("signup-guard.toml"),
        "working directory: {stderr}"
    );
}

#[test]
fn a_dot_env_file_is_read_and_real_environment_variables_win_over_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "FINGERPRINT_API_KEY=from-dotenv\nFINGERPRINT_API_VERSION=5\nADMIN_TOKEN=short\n",
    )
    .unwrap();
    let mut env = serve_env(dir.path());
    // Without the real variable, the .env value is used and refused.
    let stderr = serve_fails(dir.path(), &["serve"], &env);
    assert!(stderr.contains("FINGERPRINT_API_VERSION"), "{stderr}");
    // With it, the real value wins: startup gets as far as the next .env value, the short token.
    env.push(("FINGERPRINT_API_VERSION", "4".into()));
    let stderr = serve_fails(dir.path(), &["serve"], &env);
    assert!(
        stderr.contains("ADMIN_TOKEN") && !stderr.contains("FINGERPRINT_API_VERSION"),
        "{stderr}"
    );
}

#[test]
fn a_body_limit_outside_20_to_64_kib_is_refused_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    for limit in ["16384", "1000000"] {
        let mut env = serve_env(dir.path());
        env.push(("FINGERPRINT_API_KEY", "k".into()));
        env.push(("MAX_BODY_BYTES", limit.into()));
        let stderr = serve_fails(dir.path(), &["serve"], &env);
        assert!(stderr.contains("MAX_BODY_BYTES"), "{limit}: {stderr}");
    }
}

/// `serve` as a subprocess against the simulator at `fingerprint`, on a free port, with a
/// SQLite file in `dir`; returned once it answers /health, with that file's URL.
async fn serve_against(
    fingerprint: &common::Fingerprint,
    dir: &Path,
    db: &str,
    extra: &[(&str, &str)],
    config: Option<&str>,
) -> (Server, String) {
    let port = free_port().to_string();
    let url = sqlite_url(dir, db);
    let mut env = vec![
        ("DATABASE_URL", url.as_str()),
        ("FINGERPRINT_API_KEY", common::API_KEY),
        ("FINGERPRINT_API_URL", fingerprint.base_url.as_str()),
    ];
    env.extend_from_slice(extra);
    // Written before the subcommand, which the binary reads as if written after it (serve.rs
    // tests the other order).
    let mut args = vec!["--host", "127.0.0.1", "--port", &port, "serve"];
    if let Some(path) = config {
        args.extend(["--config", path]);
    }
    (serve(dir, &args, &env).await, url)
}

/// SIGTERM stops taking connections but lets a signup already in flight finish and answer.
#[tokio::test]
async fn sigterm_lets_a_signup_in_flight_finish_before_exiting() {
    let fingerprint = common::Fingerprint::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (mut server, url) = serve_against(&fingerprint, dir.path(), "drain.db", &[], None).await;
    let http = reqwest::Client::new();

    let event = fingerprint.simulator.identify(IdentifyRequest::default());
    fingerprint
        .simulator
        .set_latency(Duration::from_millis(1000));
    let in_flight = tokio::spawn({
        let (http, base) = (http.clone(), server.base.clone());
        async move { common::signup(&http, &base, &event.request_id, &common::username()).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.process.sigterm();
    let answer = in_flight.await.unwrap();
    assert_eq!(
        answer.status,
        Some(200),
        "the signup in flight is answered: {}",
        answer.body
    );
    server.process.exits_cleanly().await;
    let (_, accounts) = database_dump(&url).await;
    assert_eq!(accounts, 1, "the answered account is on disk");
}

#[test]
fn an_unknown_log_format_is_refused_naming_the_choices() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = serve_env(dir.path());
    env.push(("LOG_FORMAT", "xml".into()));
    let stderr = serve_fails(dir.path(), &["migrate"], &env);
    assert!(
        stderr.contains("xml") && stderr.contains("text") && stderr.contains("json"),
        "{stderr}"
    );
}

/// A signup whose client hung up runs on, detached from its connection; SIGTERM must wait for
/// it too, not drop it part-way when the last connection closes.
#[tokio::test]
async fn sigterm_waits_for_a_signup_whose_client_hung_up() {
    let fingerprint = common::Fingerprint::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (mut server, url) = serve_against(&fingerprint, dir.path(), "detached.db", &[], None).await;
    let http = reqwest::Client::new();

    let event = fingerprint.simulator.identify(IdentifyRequest::default());
    fingerprint
        .simulator
        .set_latency(Duration::from_millis(1000));
    let body = json!({ "requestId": event.request_id, "username": "left@example.org", "password": common::STRONG_PASSWORD });
    let gave_up = http
        .post(format!("{}/api/create-account", server.base))
        .timeout(Duration::from_millis(200))
        .json(&body)
        .send()
        .await;
    assert!(gave_up.is_err(), "the client hung up before the answer");
    server.process.sigterm();
    server.process.exits_cleanly().await;
    let (attempts, accounts) = database_dump(&url).await;
    assert_eq!(accounts, 1, "the signup finished before the exit");
    assert_eq!(attempts.len(), 1, "and was recorded: {attempts:?}");
}

/// Shadow mode refuses nothing but says in the log what it would have done.
#[tokio::test]
async fn shadow_mode_logs_what_it_would_have_refused() {
    let fingerprint = common::Fingerprint::start().await;
    let dir = tempfile::tempdir().unwrap();
    let shadow = fixture("shadow.toml").display().to_string();
    let json_logs = [("LOG_FORMAT", "json")];
    let (mut server, _) = serve_against(
        &fingerprint,
        dir.path(),
        "shadow.db",
        &json_logs,
        Some(&shadow),
    )
    .await;
    let http = reqwest::Client::new();
    let bot = fingerprint.simulator.identify(IdentifyRequest {
        persona: Persona::BadBot,
        ..IdentifyRequest::default()
    });
    let answer = common::signup(&http, &server.base, &bot.request_id, &common::username()).await;
    assert_eq!(
        answer.status,
        Some(200),
        "shadow mode refuses nothing: {}",
        answer.body
    );
    server.process.sigterm();
    server.process.exits_cleanly().await;

    let logs = server.stderr();
    let line: Value = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["message"] == "shadow mode: not refusing")
        .unwrap_or_else(|| panic!("no shadow-mode line in:\n{logs}"));
    assert_eq!(line["would_be"], "block", "{line}");
    assert!(
        line["codes"]
            .as_str()
            .unwrap_or_default()
            .contains("bot_detected"),
        "{line}"
    );
}

#[test]
fn api_tokens_must_be_long_and_never_the_admin_token() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = serve_env(dir.path());
    env.push(("FINGERPRINT_API_KEY", "k".into()));
    let admin = "admin-token-0123456789";
    env.push(("ADMIN_TOKEN", admin.into()));

    let mut short = env.clone();
    short.push(("API_TOKENS", "app-token-0123456789, short".into()));
    let stderr = serve_fails(dir.path(), &["serve"], &short);
    assert!(
        stderr.contains("API_TOKENS: token 2 must be at least 16 characters"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("short\n") && !stderr.contains("app-token"),
        "{stderr}"
    );

    let mut shared = env.clone();
    shared.push(("API_TOKENS", format!("app-token-0123456789,{admin}")));
    let stderr = serve_fails(dir.path(), &["serve"], &shared);
    assert!(stderr.contains("token 2 is an admin token"), "{stderr}");
    assert!(
        !stderr.contains(admin),
        "the token itself is never echoed: {stderr}"
    );
}

#[test]
fn named_admin_tokens_are_checked_and_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = serve_env(dir.path());
    env.push(("FINGERPRINT_API_KEY", "k".into()));
    let secret = "alice-secret-token-0123";
    for (value, says) in [
        (format!("alice{secret}"), "entry 1 must be name:token"),
        (format!("al ice:{secret}"), "a name is 1 to 32"),
        (
            "alice:short".to_owned(),
            "the token of alice must be at least 16",
        ),
        (
            format!("alice:{secret},alice:{secret}x"),
            "alice is named twice",
        ),
        (format!("alice:{secret},bob:{secret}"), "also another's"),
    ] {
        let mut with = env.clone();
        with.push(("ADMIN_TOKENS", value.clone()));
        let stderr = serve_fails(dir.path(), &["serve"], &with);
        assert!(stderr.contains(says), "{value}: {stderr}");
        assert!(
            !stderr.contains(secret),
            "a token is never echoed: {stderr}"
        );
    }
}

#[test]
fn rate_limit_settings_are_checked_and_the_redis_password_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "RATE_LIMIT_URL",
            "http://:pw-LEAKCANARY@cache.internal:6379",
            "RATE_LIMIT_URL must be a Redis URL",
        ),
        ("RATE_LIMIT_TIMEOUT_MS", "5", "RATE_LIMIT_TIMEOUT_MS"),
        ("RATE_LIMIT_TIMEOUT_MS", "60000", "RATE_LIMIT_TIMEOUT_MS"),
        ("RATE_LIMIT_FAILURE_MODE", "maybe", "open, closed"),
    ];
    for (name, value, expected) in cases {
        let mut env = serve_env(dir.path());
        env.push(("FINGERPRINT_API_KEY", "k".into()));
        env.push((name, value.into()));
        let stderr = serve_fails(dir.path(), &["serve"], &env);
        assert!(stderr.contains(expected), "{name}={value}: {stderr}");
        assert!(!stderr.contains("LEAKCANARY"), "{stderr}");
    }
}
