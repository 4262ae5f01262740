//! The per-client-IP signup rate limit (`SIGNUP_RATE_LIMIT_PER_MINUTE`).

use crate::common::*;
use fingerprint::simulator::Persona;
use signup_guard::policy::Policy;

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
