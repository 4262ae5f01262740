//! The logs `serve` writes, in text and JSON, never carry a secret.

use super::*;

/// Runs `serve` with canary secrets, makes requests that carry every one of them down the
/// success path (a signup that hashes its password), a refused webhook and a refused key, and
/// returns everything the process wrote.
async fn serve_and_collect_logs(log_format: &str) -> String {
    const API_KEY: &str = "sk-live-LEAKCANARY-5e1d9c3a7b";
    const ADMIN_TOKEN: &str = "admin-LEAKCANARY-0f4e8a2d6c";
    const SIGNUP_PASSWORD: &str = "Pelican LEAKCANARY quartz 7731";
    const WEBHOOK_SECRET: &str = "whsec-LEAKCANARY-77aa";
    const ENCRYPTION_KEY: &str = "LEAKCANARYLEAKCANARYLEAKCANARYLEAKCANARYAAA=";
    // A Redis where nothing listens: every check fails open, and says so in the log.
    let redis_url = format!("redis://:redis-LEAKCANARY-3b@127.0.0.1:{}/0", free_port());
    // A simulator that takes the canary key, so a leak of the key shows as LEAKCANARY too.
    let fingerprint = common::Fingerprint::start_with_key(API_KEY).await;
    let simulator = &fingerprint.simulator;
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "serve.db");
    let port = free_port().to_string();
    let env = [
        ("FINGERPRINT_API_KEY", API_KEY),
        ("FINGERPRINT_API_URL", fingerprint.base_url.as_str()),
        ("ADMIN_TOKEN", ADMIN_TOKEN),
        ("FINGERPRINT_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("FINGERPRINT_ENCRYPTION_KEYS", ENCRYPTION_KEY),
        ("RUST_LOG", "debug"),
        ("LOG_FORMAT", log_format),
        ("HOST", "127.0.0.1"),
        ("PORT", port.as_str()),
        ("DATABASE_URL", url.as_str()),
        ("RATE_LIMIT_URL", redis_url.as_str()),
        ("SIGNUP_RATE_LIMIT_PER_MINUTE", "1000"),
        ("SIGNUP_RATE_LIMIT_PER_VISITOR_PER_MINUTE", "1000"),
    ];
    let server = serve(dir.path(), &["serve"], &env).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let address = server.base.clone();

    let signup = |username: &'static str| {
        let event = simulator.identify(IdentifyRequest::default());
        let body = json!({ "requestId": event.request_id, "username": username, "password": SIGNUP_PASSWORD });
        http.post(format!("{address}/api/create-account"))
            .header("x-request-id", format!("corr-{}", username.len()))
            .json(&body)
            .send()
    };
    // The success path: the event is fetched with the key and the password hashed.
    let created: Value = signup("leak-check@example.org")
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
    let response = signup("leak-check-2@example.org").await.unwrap();
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

    let (stdout, stderr) = server.stop();
    let logs = stdout + &stderr;
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
    assert!(
        logs.contains("rate limit store unavailable") && logs.contains("redis://:***@127.0.0.1"),
        "the Redis outage is logged, its URL without the password:\n{logs}"
    );
    // The decision runs on its own task; its line must still carry the request's id.
    let decided = logs
        .lines()
        .find(|l| l.contains("signup decided") && l.contains("created"))
        .unwrap_or_else(|| panic!("a signup decided line:\n{logs}"));
    let id = format!("corr-{}", "leak-check@example.org".len());
    assert!(decided.contains(&id), "the request id {id} on: {decided}");
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

/// Text logs are read line by line, so a line break inside a logged value could forge a whole
/// entry. A stand-in for Fingerprint (or a proxy before it) refuses our key with a message that
/// carries a complete, plausible log line; it must stay inside the line that quotes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_error_message_cannot_forge_a_log_line() {
    const FORGED: &str = "2026-12-01T00:00:00.000000Z ERROR signup_guard: forged entry";
    let stand_in = axum::Router::new().fallback(|| async {
        let body =
            json!({"error": {"code": "Forbidden", "message": format!("denied\n{FORGED}\n")}});
        (axum::http::StatusCode::FORBIDDEN, axum::Json(body))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, stand_in).await });

    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "forged.db");
    let port = free_port().to_string();
    let env = [
        ("FINGERPRINT_API_KEY", "sk-forged-log-test"),
        ("FINGERPRINT_API_URL", upstream.as_str()),
        ("LOG_FORMAT", "text"),
        ("HOST", "127.0.0.1"),
        ("PORT", port.as_str()),
        ("DATABASE_URL", url.as_str()),
    ];
    let server = serve(dir.path(), &["serve"], &env).await;
    let http = reqwest::Client::new();
    let body = json!({"requestId": "1708102555327.NLOjmg", "username": "ann@example.org", "password": "correct horse battery staple"});
    let answer = http
        .post(format!("{}/api/create-account", server.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 500, "fingerprint_misconfigured");
    let logs = server.stderr();
    assert!(
        logs.contains("Fingerprint refused our secret key"),
        "{logs}"
    );
    assert!(
        !logs.lines().any(|line| line.starts_with(FORGED)),
        "a forged line stands alone in the log:\n{logs}"
    );
    assert!(
        logs.contains("forged entry"),
        "the message is still logged, escaped:\n{logs}"
    );
}
