use crate::common::*;
use fingerprint::simulator::{Fault, Persona};
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_failing_fingerprint_api_is_503_with_retry_after_and_creates_nothing() {
    let app = spawn_app().await;
    let event = app.identify(Persona::NewDevice);
    app.simulator.set_fault(Some(Fault::Status(502)), None);
    let response = app
        .post_signup(serde_json::json!({"requestId": event.request_id, "username": username(), "password": STRONG_PASSWORD}).to_string())
        .await;
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().get("retry-after").is_some());
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "fingerprint_unavailable");
    assert_eq!(app.accounts().await, 0);
}

#[tokio::test]
async fn a_brief_fingerprint_outage_is_retried_and_the_signup_succeeds() {
    let app = spawn_app().await;
    let event = app.identify(Persona::NewDevice);
    app.simulator.set_fault(Some(Fault::Status(503)), Some(1));
    let (status, body) = app.signup(&event.request_id).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn rate_limiting_by_fingerprint_is_503_fingerprint_unavailable() {
    let app = spawn_app().await;
    let event = app.identify(Persona::NewDevice);
    app.simulator.set_fault(Some(Fault::Status(429)), None);
    let (status, body) = app.signup(&event.request_id).await;
    assert_error(status, &body, 503, "fingerprint_unavailable");
}

#[tokio::test]
async fn a_hung_fingerprint_api_is_answered_503_within_the_deadline() {
    let app = spawn_app_with(Options {
        deadline: Duration::from_millis(800),
        ..Options::default()
    })
    .await;
    let event = app.identify(Persona::NewDevice);
    app.simulator.set_fault(Some(Fault::Hang), None);
    let started = Instant::now();
    let (status, body) = app.signup(&event.request_id).await;
    let took = started.elapsed();
    assert_error(status, &body, 503, "fingerprint_unavailable");
    // The deadline bounds the wait; the margin only absorbs hashing-free overhead on a busy CI box.
    assert!(took < Duration::from_millis(800 + 1200), "took {took:?}");
    assert_eq!(app.accounts().await, 0);
}

#[tokio::test]
async fn a_garbage_body_from_fingerprint_is_503_not_a_crash() {
    let app = spawn_app().await;
    let event = app.identify(Persona::NewDevice);
    app.simulator.set_fault(Some(Fault::Garbage), None);
    let (status, body) = app.signup(&event.request_id).await;
    assert_error(status, &body, 503, "fingerprint_unavailable");
}

#[tokio::test]
async fn a_refused_secret_key_is_500_fingerprint_misconfigured() {
    let app = spawn_app_with(Options {
        client_key: "wrong-key".into(),
        ..Options::default()
    })
    .await;
    let event = app.identify(Persona::NewDevice);
    let (status, body) = app.signup(&event.request_id).await;
    assert_error(status, &body, 500, "fingerprint_misconfigured");
    assert!(!body.to_string().contains("wrong-key"));
}

#[tokio::test]
async fn an_unexpected_database_error_is_500_internal_error_without_details() {
    let app = spawn_app().await;
    let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
    sqlx::query("DROP TABLE accounts")
        .execute(&pool)
        .await
        .unwrap();
    let event = app.identify(Persona::NewDevice);
    let (status, body) = app.signup(&event.request_id).await;
    assert_error(status, &body, 500, "internal_error");
    assert!(
        !body.to_string().to_lowercase().contains("accounts"),
        "no internals leak: {body}"
    );
}

#[tokio::test]
async fn a_used_request_id_is_refused_without_calling_fingerprint_again() {
    let app = spawn_app().await;
    let event = app.identify(Persona::NewDevice);
    assert_eq!(app.signup(&event.request_id).await.0, 200);
    // Were the API called, this would turn the answer into 503.
    app.simulator.set_fault(Some(Fault::Status(500)), None);
    let (status, body) = app.signup(&event.request_id).await;
    assert_error(status, &body, 409, "request_id_used");
}

#[tokio::test]
async fn a_signup_past_the_request_time_limit_is_503_and_still_recorded() {
    let app = spawn_app_with(Options {
        request_timeout: Duration::from_millis(300),
        deadline: Duration::from_secs(3),
        ..Options::default()
    })
    .await;
    let event = app.identify(Persona::NewDevice);
    app.simulator.set_latency(Duration::from_secs(2));
    let (status, body) = app.signup(&event.request_id).await;
    assert_error(status, &body, 503, "timeout");
    let attempts = app.attempts().await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].code, "timeout");
    assert_eq!(
        attempts[0].event_id.as_deref(),
        Some(event.event_id.as_str())
    );
    assert_eq!(app.accounts().await, 0);
}

#[tokio::test]
async fn a_client_that_disconnects_mid_signup_does_not_cut_the_signup_short() {
    let app = spawn_app().await;
    let event = app.identify(Persona::NewDevice);
    app.simulator.set_latency(Duration::from_millis(600));
    let body = serde_json::json!({"requestId": event.request_id, "username": username(), "password": STRONG_PASSWORD});
    let gave_up = app
        .http
        .post(format!("{}/api/create-account", app.address))
        .timeout(Duration::from_millis(150))
        .body(body.to_string())
        .send()
        .await;
    assert!(gave_up.is_err(), "the client hung up before the answer");
    // The signup finishes on the server: poll for its record rather than guess a delay.
    let started = Instant::now();
    while app.attempts().await.is_empty() && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let attempts = app.attempts().await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].code, "created");
    assert_eq!(app.accounts().await, 1);
}

#[tokio::test]
async fn an_overlong_origin_header_is_400() {
    let app = spawn_app().await;
    let event = app.identify(Persona::NewDevice);
    let body = serde_json::json!({"requestId": event.request_id, "username": username(), "password": STRONG_PASSWORD});
    let response = app
        .http
        .post(format!("{}/api/create-account", app.address))
        .header("origin", format!("https://{}.example", "a".repeat(3000)))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_error(status, &body, 400, "invalid_request");
    assert_eq!(app.accounts().await, 0);
}

/// The request deadline covers the checks, never the account write: a write that had reached
/// the database when the deadline fell would otherwise be answered 503 with the account created.
#[tokio::test]
async fn a_write_that_outlasts_the_request_deadline_is_completed_and_answered_200() {
    use sqlx::Connection as _;
    let app = spawn_app_with(Options {
        request_timeout: Duration::from_millis(400),
        ..Options::default()
    })
    .await;
    let event = app.identify(Persona::NewDevice);
    // Another writer holds SQLite's write lock past the deadline; readers still get through.
    let mut blocker = sqlx::SqliteConnection::connect(&app.database_url)
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let signup = tokio::spawn({
        let (http, address) = (app.http.clone(), app.address.clone());
        let body = serde_json::json!({"requestId": event.request_id, "username": username(), "password": STRONG_PASSWORD});
        async move {
            let response = http
                .post(format!("{address}/api/create-account"))
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<serde_json::Value>().await.unwrap(),
            )
        }
    });
    tokio::time::sleep(Duration::from_millis(1200)).await;
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    let (status, body) = signup.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.accounts().await, 1);
    let attempts = app.attempts().await;
    assert_eq!(attempts.len(), 1, "one record, the created one");
    assert_eq!(attempts[0].code, "created");
}

/// The API never redirects: a redirect means a wrong FINGERPRINT_API_URL, which no retry fixes.
#[tokio::test]
async fn a_redirecting_fingerprint_api_is_500_fingerprint_misconfigured_at_once() {
    let app = spawn_app().await;
    let event = app.identify(Persona::NewDevice);
    app.simulator.set_fault(Some(Fault::Status(307)), None);
    let (status, body) = app.signup(&event.request_id).await;
    assert_error(status, &body, 500, "fingerprint_misconfigured");
    assert_eq!(app.accounts().await, 0);
}

/// A client that sends its body slowly (or never finishes it) is answered when the signup
/// deadline falls, like any slow signup, and cannot hold the connection for ever.
#[tokio::test]
async fn a_body_that_never_finishes_is_503_timeout_at_the_deadline_and_recorded() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(Options {
        request_timeout: Duration::from_millis(400),
        ..Options::default()
    })
    .await;
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /api/create-account HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"requestId\""
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut chunk = [0u8; 1024];
        loop {
            let n = stream.read(&mut chunk).await.unwrap();
            answer.extend_from_slice(&chunk[..n]);
            if n == 0 || answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "answered within the deadline, not held open");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("\"code\":\"timeout\""), "{answer}");
    let attempts = app.attempts().await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].code, "timeout");
}

/// A status the events endpoint does not document (a proxy's 410 or 418) says nothing about
/// the event: the user must not be told it does not exist. A 408 is transient and retried.
#[tokio::test]
async fn an_undocumented_upstream_status_is_not_request_id_not_found() {
    let app = spawn_app().await;
    for status in [410, 418] {
        let event = app.identify(Persona::NewDevice);
        app.simulator.set_fault(Some(Fault::Status(status)), None);
        let (got, body) = app.signup(&event.request_id).await;
        assert_error(got, &body, 500, "fingerprint_misconfigured");
    }
    let event = app.identify(Persona::NewDevice);
    app.simulator.set_fault(Some(Fault::Status(408)), Some(1));
    let (status, body) = app.signup(&event.request_id).await;
    assert_eq!(status, 200, "a 408 is retried: {body}");
    app.simulator.set_fault(None, None);
    assert_eq!(app.accounts().await, 1);
}
