//! The review queue and labels over real HTTP, on both backends.

use crate::common::*;
use fingerprint::simulator::Persona;
use serde_json::{json, Value};
use signup_guard::store::Label;

both_backends!(
    a_held_account_is_queued_then_approved_with_its_record_and_label,
    a_ban_can_deny_list_the_device_so_its_next_signup_is_refused,
    labels_keep_their_history_and_the_latest_counts,
    fraud_labels_reach_fingerprint_when_reporting_is_on_even_after_a_failure,
);

const BOB: &str = "bob-token-0123456789abc";

async fn app(db: &TestDb) -> TestApp {
    spawn_app_with(Options {
        database_url: Some(db.url.clone()),
        named_admin_tokens: vec![("bob".into(), BOB.into())],
        ..Options::default()
    })
    .await
}

async fn post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let response = app
        .http
        .post(format!("{}{path}", app.address))
        .bearer_auth(BOB)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(app: &TestApp, path: &str) -> Value {
    let response = app.get(path, Some(ADMIN_TOKEN)).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

async fn held_account(app: &TestApp) -> (i64, String) {
    let vpn = app.identify(Persona::Vpn);
    let (status, body) = app.signup(&vpn.request_id).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("review")),
        "{body}"
    );
    (
        body["accountId"].as_i64().unwrap(),
        body["visitorId"].as_str().unwrap().to_owned(),
    )
}

async fn a_held_account_is_queued_then_approved_with_its_record_and_label(db: &TestDb) {
    let app = app(db).await;
    let (id, _) = held_account(&app).await;
    let person = app.identify(Persona::NewDevice);
    assert_eq!(app.signup(&person.request_id).await.0, 200);
    let queue = get(&app, "/api/reviews").await;
    let reviews = queue["reviews"].as_array().unwrap();
    assert_eq!(reviews.len(), 1, "only the held account: {queue}");
    assert_eq!(reviews[0]["accountId"], id);
    assert_eq!(reviews[0]["codes"], json!(["vpn_detected"]));
    let held = get(&app, "/api/accounts?status=review").await;
    assert_eq!(held["accounts"].as_array().unwrap().len(), 1);

    let (status, body) = post(&app, &format!("/api/accounts/{id}/approve"), json!({})).await;
    assert_error(status, &body, 400, "invalid_request");
    let (status, body) = post(&app, "/api/accounts/999999/approve", json!({"reason": "x"})).await;
    assert_error(status, &body, 404, "not_found");
    let (status, body) = post(
        &app,
        &format!("/api/accounts/{id}/approve"),
        json!({"reason": "called the customer"}),
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("active")),
        "{body}"
    );
    assert!(get(&app, "/api/reviews").await["reviews"]
        .as_array()
        .unwrap()
        .is_empty());
    let active = get(&app, "/api/accounts?status=active").await;
    assert_eq!(active["accounts"].as_array().unwrap().len(), 2);
    let actions = get(&app, "/api/actions").await;
    assert_eq!(actions["actions"][0]["actor"], "bob");
    assert_eq!(actions["actions"][0]["action"], "approve");
    assert_eq!(actions["actions"][0]["target"], format!("account:{id}"));
    let labels = app.state.store.labels(0).await.unwrap();
    let attempt = app
        .attempts()
        .await
        .into_iter()
        .find(|a| a.account_id == Some(id))
        .unwrap();
    assert_eq!(labels.get(&attempt.id), Some(&Label::Legit));
    let response = app
        .get("/api/accounts?status=gone", Some(ADMIN_TOKEN))
        .await;
    assert_eq!(response.status(), 400);
}

async fn a_ban_can_deny_list_the_device_so_its_next_signup_is_refused(db: &TestDb) {
    let app = app(db).await;
    let (id, visitor) = held_account(&app).await;
    let (status, body) = post(
        &app,
        &format!("/api/accounts/{id}/ban"),
        json!({"reason": "stolen card", "denylistDevice": true}),
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("banned")),
        "{body}"
    );
    assert!(body["listEntryId"].is_i64(), "{body}");
    let banned = get(&app, "/api/accounts?status=banned").await;
    assert_eq!(banned["accounts"][0]["id"], id);
    let entries = get(&app, &format!("/api/lists?kind=visitor_id&value={visitor}")).await;
    assert_eq!(entries["entries"][0]["action"], "block", "{entries}");
    assert_eq!(entries["entries"][0]["createdBy"], "bob");
    let again = app.fingerprint().device(&visitor);
    let (status, body) = app.signup(&again.request_id).await;
    assert_error(status, &body, 403, "denylisted");
    let labels = app.state.store.labels(0).await.unwrap();
    assert_eq!(labels.values().collect::<Vec<_>>(), [&Label::Fraud]);
}

async fn labels_keep_their_history_and_the_latest_counts(db: &TestDb) {
    let app = app(db).await;
    let bot = app.identify(Persona::BadBot);
    app.signup(&bot.request_id).await;
    let attempt = app.attempts().await[0].id;
    let path = format!("/api/attempts/{attempt}/label");
    let (status, _) = post(&app, &path, json!({"label": "fraud", "reason": "bot farm"})).await;
    assert!(
        app.simulator.reported_suspects().is_empty(),
        "reporting is off by default"
    );
    assert_eq!(status, 201);
    let (status, _) = post(
        &app,
        &path,
        json!({"label": "legit", "reason": "QA's headless test"}),
    )
    .await;
    assert_eq!(status, 201);
    let labels = app.state.store.labels(0).await.unwrap();
    assert_eq!(labels.get(&attempt), Some(&Label::Legit), "the latest wins");
    let history = count(
        &db.raw().await,
        &format!("SELECT COUNT(*) AS n FROM attempt_labels WHERE attempt_id = {attempt}"),
    )
    .await;
    assert_eq!(history, 2, "the history is kept");
    let (status, body) = post(&app, &path, json!({"label": "spam", "reason": "x"})).await;
    assert_error(status, &body, 400, "invalid_request");
    let (status, _) = post(
        &app,
        "/api/attempts/424242/label",
        json!({"label": "fraud", "reason": "x"}),
    )
    .await;
    assert_eq!(status, 404);
}

async fn fraud_labels_reach_fingerprint_when_reporting_is_on_even_after_a_failure(db: &TestDb) {
    let app = spawn_app_with(Options {
        database_url: Some(db.url.clone()),
        named_admin_tokens: vec![("bob".into(), BOB.into())],
        report_labels: true,
        ..Options::default()
    })
    .await;
    let bots: Vec<String> = (0..2)
        .map(|_| app.identify(Persona::BadBot).request_id)
        .collect();
    for bot in &bots {
        app.signup(bot).await;
    }
    let attempts = app.attempts().await;
    let (fraud, legit) = (attempts[1].id, attempts[0].id);
    // The first report meets an outage; it must be retried, not lost.
    app.simulator
        .set_fault(Some(fingerprint::simulator::Fault::Status(503)), Some(1));
    let (status, _) = post(
        &app,
        &format!("/api/attempts/{fraud}/label"),
        json!({"label": "fraud", "reason": "bot"}),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = post(
        &app,
        &format!("/api/attempts/{legit}/label"),
        json!({"label": "legit", "reason": "QA"}),
    )
    .await;
    assert_eq!(status, 201);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.simulator.reported_suspects().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no report reached the simulator"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        app.simulator.reported_suspects(),
        [bots[0].clone()],
        "only the fraud label, once"
    );
}

/// An id no account or attempt can have is a 400 in the shared JSON shape, like any bad
/// parameter (found by schemathesis: axum's own answer was plain text).
#[tokio::test]
async fn an_id_outside_64_bits_is_a_json_400() {
    let app = spawn_app_with(Options {
        named_admin_tokens: vec![("bob".into(), BOB.into())],
        ..Options::default()
    })
    .await;
    for path in [
        "/api/accounts/9223372036854775808/approve",
        "/api/accounts/x/ban",
        "/api/attempts/9223372036854775808/label",
    ] {
        let (status, body) = post(&app, path, json!({"reason": "r", "label": "fraud"})).await;
        assert_error(status, &body, 400, "invalid_request");
    }
    let response = app
        .http
        .delete(format!(
            "{}/api/lists/9223372036854775808?reason=r",
            app.address
        ))
        .bearer_auth(BOB)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
}
