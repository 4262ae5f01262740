//! `serve` as a process: failing fast on wrong settings, demo mode, and a graceful stop.

use super::*;

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

#[tokio::test]
async fn demo_mode_runs_with_no_key_and_no_network_and_says_it_is_not_for_production() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let server = serve(dir.path(), &["--demo", "--port", &port], &[]).await;
    let http = reqwest::Client::new();
    let base = &server.base;
    let page = http
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("DEMO MODE"));
    let issued: Value = common::post_json(
        &http,
        &format!("{base}/demo/identify"),
        &json!({"persona": "bad_bot"}),
    )
    .await;
    let signup = json!({"requestId": issued["requestId"], "username": "bot@example.org", "password": "correct horse battery staple"});
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
    let banner = server.stderr();
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
            vec![
                ("FINGERPRINT_RULESET_ID", "rs_b1k1blhqpOX3kU"),
                ("FINGERPRINT_API_VERSION", "3"),
                ("DATABASE_URL", &url),
            ],
            "FINGERPRINT_RULESET_ID needs FINGERPRINT_API_VERSION=4",
        ),
        (
            vec![
                ("FINGERPRINT_RULESET_ID", "rs 1&x=2"),
                ("DATABASE_URL", &url),
            ],
            "FINGERPRINT_RULESET_ID: invalid ruleset id",
        ),
        (
            vec![("ADMIN_TOKEN", "short"), ("DATABASE_URL", &url)],
            "ADMIN_TOKEN",
        ),
        (
            vec![("HEADER_TIMEOUT_MS", "5"), ("DATABASE_URL", &url)],
            "HEADER_TIMEOUT_MS must be between 100 and 60000",
        ),
        (
            vec![("KEEP_ALIVE_TIMEOUT_MS", "50"), ("DATABASE_URL", &url)],
            "KEEP_ALIVE_TIMEOUT_MS must be between 100 and 600000",
        ),
        (
            vec![("MAX_CONNECTIONS", "0"), ("DATABASE_URL", &url)],
            "MAX_CONNECTIONS must be at least 1",
        ),
        (
            vec![("MAX_CONNECTIONS", "many"), ("DATABASE_URL", &url)],
            "MAX_CONNECTIONS",
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
    let mut server = serve(dir.path(), &["--demo", "--port", &port], &[]).await;
    server.process.sigterm();
    server.process.exits_cleanly().await;
}

#[tokio::test]
async fn serve_takes_host_and_port_after_the_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let args = ["serve", "--host", "127.0.0.1", "--port", &port];
    let server = serve(dir.path(), &args, &[("SIGNUP_GUARD_DEMO", "true")]).await;
    drop(server);
}

#[test]
fn the_demo_variable_takes_1_0_true_false_yes_no_on_off() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "serve.db");
    // An out-of-range body limit stops startup right after the Fingerprint settings: demo mode
    // gets that far without a key, and without demo mode the missing key stops it first.
    let base = [
        ("DATABASE_URL", url.as_str()),
        ("MAX_BODY_BYTES", "1"),
        ("PORT", "0"),
    ];
    for (value, demo) in [
        ("1", true),
        ("true", true),
        ("yes", true),
        ("on", true),
        ("0", false),
        ("false", false),
        ("no", false),
        ("off", false),
    ] {
        let mut env = base.to_vec();
        env.push(("SIGNUP_GUARD_DEMO", value));
        let output = run(dir.path(), &["serve"], &env);
        let stderr = text(&output.stderr);
        assert!(!output.status.success(), "{value}: {stderr}");
        if demo {
            assert!(
                stderr.contains("MAX_BODY_BYTES"),
                "{value} is demo mode: {stderr}"
            );
        } else {
            assert!(
                stderr.contains("FINGERPRINT_API_KEY is required"),
                "{value} is not demo mode: {stderr}"
            );
        }
    }
    let mut env = base.to_vec();
    env.push(("SIGNUP_GUARD_DEMO", "maybe"));
    let output = run(dir.path(), &["serve"], &env);
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("maybe") && stderr.contains("--demo"),
        "{stderr}"
    );
}

#[test]
fn cors_allowed_origins_that_are_not_origins_stop_startup_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "serve.db");
    for (value, named) in [
        ("not a url", "\"not a url\""),
        (
            "https://ok.example, https://shop.example/signup",
            "\"https://shop.example/signup\"",
        ),
    ] {
        let env = [
            ("FINGERPRINT_API_KEY", "k"),
            ("DATABASE_URL", url.as_str()),
            ("HOST", "127.0.0.1"),
            ("PORT", "0"),
            ("CORS_ALLOWED_ORIGINS", value),
        ];
        let output = run(dir.path(), &["serve"], &env);
        let stderr = text(&output.stderr);
        assert!(!output.status.success(), "{value}: {stderr}");
        assert!(
            stderr.contains("CORS_ALLOWED_ORIGINS") && stderr.contains(named),
            "{value}: {stderr}"
        );
        assert!(
            !dir.path().join("serve.db").exists(),
            "nothing is touched before the settings are valid"
        );
    }
}

#[tokio::test]
async fn the_demo_banner_says_admin_endpoints_need_the_token_when_one_is_set() {
    const TOKEN: &str = "demo-admin-token-5f2a9c";
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let args = ["--demo", "--port", &port];
    let server = serve(dir.path(), &args, &[("ADMIN_TOKEN", TOKEN)]).await;
    let http = reqwest::Client::new();
    let accounts = format!("{}/api/accounts", server.base);
    let without = http.get(&accounts).send().await.unwrap();
    assert_eq!(without.status().as_u16(), 401, "the token is needed");
    let with = http.get(&accounts).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(with.status().as_u16(), 200);
    let banner = server.stderr();
    assert!(banner.contains("DEMO MODE: NOT FOR PRODUCTION"), "{banner}");
    assert!(
        banner.contains("Admin endpoints need ADMIN_TOKEN"),
        "{banner}"
    );
    assert!(!banner.contains("open without ADMIN_TOKEN"), "{banner}");
    assert!(
        !banner.contains(TOKEN),
        "the token is never echoed: {banner}"
    );
}

#[tokio::test]
async fn the_demo_banner_says_admin_endpoints_are_open_without_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let args = ["--demo", "--port", &port];
    let server = serve(dir.path(), &args, &[]).await;
    let open = reqwest::get(format!("{}/api/accounts", server.base))
        .await
        .unwrap();
    assert_eq!(open.status().as_u16(), 200);
    let banner = server.stderr();
    assert!(
        banner.contains("Admin endpoints are open without ADMIN_TOKEN"),
        "{banner}"
    );
}
