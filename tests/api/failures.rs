use crate::helpers::*;
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
    let app = spawn_app_with(Options { deadline: Duration::from_millis(800), ..Options::default() }).await;
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
    let app = spawn_app_with(Options { client_key: "wrong-key".into(), ..Options::default() }).await;
    let event = app.identify(Persona::NewDevice);
    let (status, body) = app.signup(&event.request_id).await;
    assert_error(status, &body, 500, "fingerprint_misconfigured");
    assert!(!body.to_string().contains("wrong-key"));
}

#[tokio::test]
async fn an_unexpected_database_error_is_500_internal_error_without_details() {
    let app = spawn_app().await;
    let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
    sqlx::query("DROP TABLE accounts").execute(&pool).await.unwrap();
    let event = app.identify(Persona::NewDevice);
    let (status, body) = app.signup(&event.request_id).await;
    assert_error(status, &body, 500, "internal_error");
    assert!(!body.to_string().to_lowercase().contains("accounts"), "no internals leak: {body}");
}
