//! `/metrics`: Prometheus text behind its own token, with counters that move with traffic.

use crate::common::*;
use fingerprint::simulator::Persona;
use serde_json::json;

async fn scrape(app: &TestApp, token: Option<&str>) -> (u16, String) {
    let response = app.get("/metrics", token).await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The value of the sample whose line starts with `series` (name and labels exactly as
/// exposed), or 0 when it is not exposed yet.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn counters_move_with_signups_decisions_and_fetches() {
    let app = spawn_app().await;
    let (status, before) = scrape(&app, Some(METRICS_TOKEN)).await;
    assert_eq!(status, 200);
    assert!(
        before.contains("signup_guard_build_info{version=\""),
        "{before}"
    );
    assert!(
        before.contains("signup_guard_hash_queue_depth 0"),
        "{before}"
    );
    assert!(
        before.contains("signup_guard_db_pool_connections{state=\"idle\"}"),
        "{before}"
    );

    let bot = app.identify(Persona::BadBot);
    app.signup(&bot.request_id).await;
    let bot = app.identify(Persona::BadBot);
    app.signup(&bot.request_id).await;
    let person = app.identify(Persona::NewDevice);
    let (status, _) = app.signup(&person.request_id).await;
    assert_eq!(status, 200);
    let decision = app.identify(Persona::NewDevice);
    let answer = app
        .http
        .post(format!("{}/api/v1/signup-decisions", app.address))
        .bearer_auth(API_TOKEN)
        .json(&json!({ "requestId": decision.request_id }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    app.signup("1708102555327.NLOjmg").await;

    let (_, after) = scrape(&app, Some(METRICS_TOKEN)).await;
    let moved = |series: &str| sample(&after, series) - sample(&before, series);
    assert_eq!(
        moved(
            r#"signup_guard_attempts_total{code="bot_detected",endpoint="signup",verdict="block"}"#
        ),
        2.0,
        "{after}"
    );
    assert_eq!(
        moved(r#"signup_guard_attempts_total{code="created",endpoint="signup",verdict="allow"}"#),
        1.0,
        "{after}"
    );
    assert_eq!(
        moved(r#"signup_guard_attempts_total{code="allow",endpoint="decision",verdict="allow"}"#),
        1.0,
        "{after}"
    );
    assert_eq!(
        moved(
            r#"signup_guard_attempts_total{code="request_id_not_found",endpoint="signup",verdict="error"}"#
        ),
        1.0,
        "{after}"
    );
    assert_eq!(
        moved(r#"signup_guard_fingerprint_requests_total{outcome="ok"}"#),
        4.0,
        "{after}"
    );
    assert_eq!(
        moved(r#"signup_guard_fingerprint_requests_total{outcome="not_found"}"#),
        1.0,
        "{after}"
    );
    assert_eq!(
        moved("signup_guard_fingerprint_request_duration_seconds_count"),
        5.0
    );
    assert_eq!(
        moved(r#"signup_guard_decision_duration_seconds_count{endpoint="signup"}"#),
        4.0,
        "{after}"
    );
    // The three refusals and the decision (which reserved nothing) went through the group
    // commit; the account was written with its own transaction.
    assert_eq!(moved("signup_guard_audit_rows_total"), 4.0, "{after}");
    let commits = moved("signup_guard_audit_commits_total");
    assert!((1.0..=4.0).contains(&commits), "{commits} commits: {after}");
}

#[tokio::test]
async fn metrics_need_their_own_token_and_are_absent_without_one() {
    let app = spawn_app().await;
    for token in [None, Some(ADMIN_TOKEN), Some(API_TOKEN)] {
        let (status, body) = scrape(&app, token).await;
        assert_eq!(status, 401, "{token:?}: {body}");
        assert!(!body.contains("signup_guard_"), "{body}");
    }
    let off = spawn_app_with(Options {
        metrics_token: None,
        ..Options::default()
    })
    .await;
    let (status, _) = scrape(&off, Some(METRICS_TOKEN)).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn rate_limited_signups_are_counted_though_not_recorded() {
    let app = spawn_app_with(Options {
        signup_rate_limit_per_minute: 1,
        ..Options::default()
    })
    .await;
    for _ in 0..3 {
        let event = app.identify(Persona::BadBot);
        app.signup(&event.request_id).await;
    }
    let (_, text) = scrape(&app, Some(METRICS_TOKEN)).await;
    assert_eq!(
        sample(
            &text,
            r#"signup_guard_attempts_total{code="rate_limited",endpoint="signup",verdict="error"}"#
        ),
        2.0,
        "{text}"
    );
    assert_eq!(
        app.attempts().await.len(),
        1,
        "only the first is in the audit trail"
    );
}
