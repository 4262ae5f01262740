//! The signup rate limits: per client IP (`SIGNUP_RATE_LIMIT_PER_MINUTE`) and per device
//! (`SIGNUP_RATE_LIMIT_PER_VISITOR_PER_MINUTE`), in memory, and what happens when their Redis
//! (`RATE_LIMIT_URL`) is down or hung. Redis shared by two instances: `tests/instances.rs`.

use crate::common::*;
use fingerprint::simulator::{IdentifyRequest, Persona};
use signup_guard::policy::Policy;
use signup_guard::rate_limit::FailureMode;

async fn post_from(app: &TestApp, request_id: &str, forwarded_for: &str) -> reqwest::Response {
    let body = serde_json::json!({ "requestId": request_id, "username": username(), "password": STRONG_PASSWORD });
    app.http
        .post(format!("{}/api/create-account", app.address))
        .header("x-forwarded-for", forwarded_for)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn signups_over_the_per_ip_limit_are_429_rate_limited_before_any_work() {
    let app = spawn_app_with(Options {
        signup_rate_limit_per_minute: 2,
        // One trusted hop, so each test "client" is told apart by its X-Forwarded-For.
        policy: Policy {
            trusted_proxy_hops: 1,
            ..Policy::default()
        },
        ..Options::default()
    })
    .await;
    let flooder = "203.0.113.7";
    for _ in 0..2 {
        let event = app.identify(Persona::NewDevice);
        assert_eq!(
            post_from(&app, &event.request_id, flooder).await.status(),
            200
        );
    }
    let recorded = app.attempts().await.len();

    let event = app.identify(Persona::NewDevice);
    let refused = post_from(&app, &event.request_id, flooder).await;
    assert_eq!(refused.status().as_u16(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_error(429, &body, 429, "rate_limited");
    assert_eq!(app.accounts().await, 2, "nothing created");
    assert_eq!(
        app.attempts().await.len(),
        recorded,
        "a flood fills no audit trail"
    );

    // The refused event is still good for the same person from another address.
    let other = post_from(&app, &event.request_id, "198.51.100.20").await;
    assert_eq!(other.status(), 200, "another address has its own budget");
}

#[tokio::test]
async fn without_a_configured_limit_signups_are_not_rate_limited() {
    let app = spawn_app().await;
    for _ in 0..5 {
        let event = app.identify(Persona::NewDevice);
        let (status, body) = app.signup(&event.request_id).await;
        assert_eq!(status, 200, "{body}");
    }
}

fn behind_one_proxy() -> Policy {
    Policy {
        trusted_proxy_hops: 1,
        ..Policy::default()
    }
}

/// A signup from `visitor_id`'s device, as if from `ip`: status, body and `Retry-After`.
async fn signup_from_device(app: &TestApp, visitor_id: &str, ip: &str) -> Answer {
    let event = app.identify_with(IdentifyRequest {
        persona: Persona::ReturningDevice,
        visitor_id: Some(visitor_id.to_owned()),
        ..IdentifyRequest::default()
    });
    let response = post_from(app, &event.request_id, ip).await;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    Answer {
        status: Some(status),
        body: response.json().await.unwrap_or_default(),
        retry_after,
    }
}

#[tokio::test]
async fn a_device_over_its_per_visitor_limit_is_429_rate_limited_and_recorded() {
    let app = spawn_app_with(Options {
        signup_rate_limit_per_visitor_per_minute: 1,
        policy: behind_one_proxy(),
        ..Options::default()
    })
    .await;
    let first = signup_from_device(&app, "device-hopping", "203.0.113.1").await;
    assert_eq!(first.status, Some(200), "{}", first.body);

    // From another address: the IP is new, the device is not. Without the limit this would be
    // the device limit's 429, with another code.
    let again = signup_from_device(&app, "device-hopping", "198.51.100.2").await;
    assert_error(again.status.unwrap(), &again.body, 429, "rate_limited");
    let wait: u64 = again.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    assert_eq!(app.accounts().await, 1, "nothing created");
    let recorded = &app.attempts().await[0];
    assert_eq!(
        (recorded.code.as_str(), recorded.visitor_id.as_deref()),
        ("rate_limited", Some("device-hopping")),
        "recorded like any refusal, with its device"
    );

    let other = signup_from_device(&app, "device-other", "198.51.100.2").await;
    assert_eq!(other.status, Some(200), "another device has its own budget");

    // The decision API shares the budget: the device has spent it.
    let event = app.identify_with(IdentifyRequest {
        persona: Persona::ReturningDevice,
        visitor_id: Some("device-hopping".into()),
        ..IdentifyRequest::default()
    });
    let decision = app
        .http
        .post(format!("{}/api/v1/signup-decisions", app.address))
        .bearer_auth(API_TOKEN)
        .json(&serde_json::json!({ "requestId": event.request_id }))
        .send()
        .await
        .unwrap();
    let status = decision.status().as_u16();
    let body: serde_json::Value = decision.json().await.unwrap();
    assert_error(status, &body, 429, "rate_limited");
}

/// Exactly as `/metrics` shows it.
async fn backend_errors(app: &TestApp, limit: &str) -> f64 {
    let text = app
        .get("/metrics", Some(METRICS_TOKEN))
        .await
        .text()
        .await
        .unwrap();
    let series = format!("signup_guard_rate_limit_backend_errors_total{{limit=\"{limit}\"}}");
    text.lines()
        .find_map(|line| line.strip_prefix(&series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{series} in:\n{text}"))
}

async fn health(app: &TestApp) -> (u16, serde_json::Value) {
    let response = app.get("/health", None).await;
    (
        response.status().as_u16(),
        response.json().await.unwrap_or_default(),
    )
}

#[tokio::test]
async fn with_redis_down_failing_open_lets_signups_through_and_counts_each_failure() {
    let app = spawn_app_with(Options {
        signup_rate_limit_per_minute: 1,
        signup_rate_limit_per_visitor_per_minute: 1,
        rate_limit_url: Some(unreachable_redis_url()),
        rate_limit_failure_mode: FailureMode::Open,
        ..Options::default()
    })
    .await;
    // Every signup comes from 127.0.0.1: a working limit of 1 would refuse the second.
    for _ in 0..3 {
        let event = app.identify(Persona::NewDevice);
        let (status, body) = app.signup(&event.request_id).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(backend_errors(&app, "ip").await, 3.0);
    assert_eq!(backend_errors(&app, "visitor").await, 3.0);
    let (status, body) = health(&app).await;
    assert_eq!(
        (status, &body["rateLimitStore"]),
        (200, &serde_json::json!("unavailable")),
        "a shared Redis down is reported, not a reason to leave the balancer: {body}"
    );
}

#[tokio::test]
async fn with_redis_down_failing_closed_refuses_with_503_rate_limit_unavailable() {
    let url = unreachable_redis_url();
    let per_ip = spawn_app_with(Options {
        signup_rate_limit_per_minute: 100,
        rate_limit_url: Some(url.clone()),
        rate_limit_failure_mode: FailureMode::Closed,
        ..Options::default()
    })
    .await;
    let event = per_ip.identify(Persona::NewDevice);
    let answer = signup(
        &per_ip.http,
        &per_ip.address,
        &event.request_id,
        &username(),
    )
    .await;
    assert_error(
        answer.status.unwrap(),
        &answer.body,
        503,
        "rate_limit_unavailable",
    );
    assert_eq!(answer.retry_after.as_deref(), Some("1"));
    assert!(
        !answer.body.to_string().contains(REDIS_PASSWORD),
        "{}",
        answer.body
    );
    assert_eq!(per_ip.accounts().await, 0);
    assert_eq!(
        per_ip.attempts().await.len(),
        0,
        "refused before any work, as the limit itself refuses"
    );
    assert_eq!(backend_errors(&per_ip, "ip").await, 1.0);
    assert_eq!(health(&per_ip).await.0, 200);

    let per_visitor = spawn_app_with(Options {
        signup_rate_limit_per_visitor_per_minute: 100,
        rate_limit_url: Some(url),
        rate_limit_failure_mode: FailureMode::Closed,
        ..Options::default()
    })
    .await;
    let event = per_visitor.identify(Persona::NewDevice);
    let (status, body) = per_visitor.signup(&event.request_id).await;
    assert_error(status, &body, 503, "rate_limit_unavailable");
    assert_eq!(per_visitor.accounts().await, 0);
    assert_eq!(
        per_visitor.attempts().await[0].code,
        "rate_limit_unavailable",
        "recorded, as every refusal after the event is"
    );
}

#[tokio::test]
async fn a_hung_redis_holds_a_signup_only_until_the_rate_limit_timeout() {
    let app = spawn_app_with(Options {
        signup_rate_limit_per_minute: 1,
        signup_rate_limit_per_visitor_per_minute: 1,
        rate_limit_url: Some(hung_redis_url().await),
        rate_limit_failure_mode: FailureMode::Open,
        rate_limit_timeout: std::time::Duration::from_millis(100),
        ..Options::default()
    })
    .await;
    // Without the timeout the per-IP check would wait for ever and the client give up; the
    // per-visitor one would run into the request deadline, a 503.
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(8))
        .build()
        .unwrap();
    for _ in 0..2 {
        let event = app.identify(Persona::NewDevice);
        let answer = signup(&http, &app.address, &event.request_id, &username()).await;
        assert_eq!(answer.status, Some(200), "{}", answer.body);
    }
    assert_eq!(backend_errors(&app, "visitor").await, 2.0);
}
