//! What every route gets from where it is added: the error body on unknown paths and methods,
//! strict query parameters on the admin lists, and the admin check on every admin route.

use crate::common::*;
use serde_json::Value;

async fn error_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_with_the_error_body() {
    let app = spawn_app().await;
    let (status, body) = error_of(app.get("/nowhere", None).await).await;
    assert_error(status, &body, 404, "not_found");

    let wrong_method = app
        .http
        .delete(format!("{}/api/create-account", app.address))
        .send()
        .await
        .unwrap();
    let allow = wrong_method.headers().get("allow").cloned();
    let (status, body) = error_of(wrong_method).await;
    assert_error(status, &body, 405, "method_not_allowed");
    assert_eq!(allow.as_ref().and_then(|v| v.to_str().ok()), Some("POST"));

    let (status, body) = error_of(
        app.http
            .post(format!("{}/health", app.address))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(status, &body, 405, "method_not_allowed");
}

#[tokio::test]
async fn an_unknown_query_parameter_is_refused_by_name() {
    let app = spawn_app().await;
    for path in [
        "/api/attempts?verdictt=block",
        "/api/accounts?page=2",
        "/api/attempts?limit=5&visitor_id=abc",
    ] {
        let (status, body) = error_of(app.get(path, Some(ADMIN_TOKEN)).await).await;
        assert_error(status, &body, 400, "invalid_request");
        let name = path.rsplit('&').next().unwrap();
        let name = name
            .trim_start_matches(|c| c != '?')
            .trim_start_matches('?');
        let name = name.split('=').next().unwrap();
        let message = body["error"].as_str().unwrap();
        assert!(message.contains(name), "{path}: {message}");
    }
}

#[tokio::test]
async fn a_limit_out_of_range_is_refused_not_clamped() {
    let app = spawn_app().await;
    for path in [
        "/api/accounts?limit=0",
        "/api/accounts?limit=501",
        "/api/attempts?limit=-1",
        "/api/attempts?limit=100000",
    ] {
        let (status, body) = error_of(app.get(path, Some(ADMIN_TOKEN)).await).await;
        assert_error(status, &body, 400, "invalid_request");
        let message = body["error"].as_str().unwrap();
        assert!(
            message.contains("limit must be between 1 and 500"),
            "{path}: {message}"
        );
    }
    for path in ["/api/accounts?limit=1", "/api/attempts?limit=500"] {
        assert_eq!(
            app.get(path, Some(ADMIN_TOKEN)).await.status().as_u16(),
            200,
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_bad_since_names_the_query_parameter_not_a_command_line_flag() {
    let app = spawn_app().await;
    let (status, body) =
        error_of(app.get("/api/attempts?since=soon", Some(ADMIN_TOKEN)).await).await;
    assert_error(status, &body, 400, "invalid_request");
    let message = body["error"].as_str().unwrap();
    assert!(message.starts_with("since: "), "{message}");
    assert!(!message.contains("--since"), "{message}");
}

#[tokio::test]
async fn every_admin_route_needs_the_token_before_it_reads_anything() {
    let app = spawn_app().await;
    // A malformed query would be a 400 if the handler ran first: the check comes before it.
    for path in ["/api/accounts?limit=0", "/api/attempts?bogus=1"] {
        let (status, body) = error_of(app.get(path, None).await).await;
        assert_error(status, &body, 401, "unauthorized");
    }
}

/// Every route but signup runs under the request deadline: a webhook whose write waits behind
/// another writer's lock is answered 503 `timeout` at the deadline, not when the lock lets go.
#[tokio::test]
async fn a_route_other_than_signup_is_answered_503_at_the_request_deadline() {
    use sqlx::Connection as _;
    let app = spawn_app_with(Options {
        request_timeout: std::time::Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    let mut blocker = sqlx::SqliteConnection::connect(&app.database_url)
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let body = serde_json::json!({ "event_id": "1708102555327.NLOjmg" }).to_string();
    let signature = fingerprint::webhook::sign(body.as_bytes(), WEBHOOK_SECRET.as_bytes());
    let started = std::time::Instant::now();
    let response = app
        .http
        .post(format!("{}/api/webhooks/fingerprint", app.address))
        .header("fpjs-event-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    let waited = started.elapsed();
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    let retry_after = response.headers().get("retry-after").cloned();
    let (status, body) = error_of(response).await;
    assert_error(status, &body, 503, "timeout");
    assert!(retry_after.is_some());
    // The statement timeout (5 s by default) would have answered much later.
    assert!(waited < std::time::Duration::from_secs(3), "{waited:?}");
    assert_eq!(app.state.store.count_webhooks().await.unwrap(), 0);
}

/// PostgreSQL cannot store or compare a NUL byte (it answered 500), and SQLite silently matched
/// nothing: a filter with a control character is refused by name on every backend.
#[tokio::test]
async fn a_filter_with_a_nul_byte_is_refused_by_name() {
    let app = spawn_app().await;
    for (path, name) in [
        ("/api/attempts?code=%00", "code"),
        ("/api/attempts?visitorId=a%00b", "visitorId"),
        ("/api/attempts?verdict=%0A", "verdict"),
    ] {
        let (status, body) = error_of(app.get(path, Some(ADMIN_TOKEN)).await).await;
        assert_error(status, &body, 400, "invalid_request");
        assert!(
            body["error"].as_str().unwrap().starts_with(name),
            "{path}: {body}"
        );
    }
    let long = format!("/api/attempts?code={}", "a".repeat(300));
    let (status, body) = error_of(app.get(&long, Some(ADMIN_TOKEN)).await).await;
    assert_error(status, &body, 400, "invalid_request");
}
