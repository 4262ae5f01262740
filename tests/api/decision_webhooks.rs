//! Decision webhooks: signed, retried until the receiver takes them, listed while pending or
//! failed, on both backends. The killed-instance case is in `tests/instances.rs`.

use crate::common::*;
use fingerprint::simulator::Persona;
use serde_json::{json, Value};
use signup_guard::delivery::DecisionWebhooks;
use std::time::Duration;

both_backends!(
    every_announced_decision_reaches_a_receiver_that_fails_twice_first,
    a_delivery_past_its_retry_window_is_listed_as_failed,
);

fn webhooks(receiver: &Receiver, verdicts: &[&str], retry_window: Duration) -> DecisionWebhooks {
    DecisionWebhooks {
        url: receiver.url.parse().unwrap(),
        secret: fingerprint::SecretKey::new(DECISION_WEBHOOK_SECRET),
        verdicts: verdicts.iter().map(|v| v.to_string()).collect(),
        retry_base: Duration::from_millis(20),
        retry_window,
    }
}

async fn app(db: &TestDb, webhooks: DecisionWebhooks) -> TestApp {
    spawn_app_with(Options {
        database_url: Some(db.url.clone()),
        decision_webhooks: Some(webhooks),
        ..Options::default()
    })
    .await
}

async fn deliveries(app: &TestApp, query: &str) -> Vec<Value> {
    let response = app
        .get(
            &format!("/api/webhook-deliveries{query}"),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.unwrap();
    page["deliveries"].as_array().unwrap().clone()
}

async fn every_announced_decision_reaches_a_receiver_that_fails_twice_first(db: &TestDb) {
    let receiver = Receiver::start(2).await;
    let app = app(
        db,
        webhooks(&receiver, &["block", "review"], Duration::from_secs(60)),
    )
    .await;

    let bot = app.identify(Persona::BadBot);
    let (status, _) = app.signup(&bot.request_id).await;
    assert_eq!(status, 403);
    let vpn = app.identify(Persona::Vpn);
    let (status, created) = app.signup(&vpn.request_id).await;
    assert_eq!((status, created["status"].as_str()), (200, Some("review")));
    let person = app.identify(Persona::NewDevice);
    let (status, _) = app.signup(&person.request_id).await;
    assert_eq!(
        status, 200,
        "an allow is not announced by this configuration"
    );
    let tampered = app.identify(Persona::Tampering);
    let decided = app
        .http
        .post(format!("{}/api/v1/signup-decisions", app.address))
        .bearer_auth(API_TOKEN)
        .json(&json!({ "requestId": tampered.request_id, "accountRef": "user-9" }))
        .send()
        .await
        .unwrap();
    let decided: Value = decided.json().await.unwrap();
    assert_eq!(decided["decision"], "block", "{decided}");

    receiver.wait_for(3, Duration::from_secs(20)).await;
    let received = receiver.received();
    assert!(
        received.iter().filter(|r| !r.accepted).count() >= 2,
        "the first two tries failed and were retried: {received:?}"
    );
    for request in &received {
        assert!(
            fingerprint::webhook::verify_signature(
                &request.signature,
                request.body.as_bytes(),
                DECISION_WEBHOOK_SECRET.as_bytes()
            ),
            "signed with the secret: {request:?}"
        );
        assert!(
            request.signature.starts_with("v1="),
            "{}",
            request.signature
        );
    }
    let accepted = receiver.accepted();
    assert_eq!(accepted.len(), 3, "{accepted:?}");
    let by_event = |event_id: &str| {
        accepted
            .iter()
            .find(|(_, body)| body["eventId"] == event_id)
            .map(|(id, body)| (id.clone(), body.clone()))
            .unwrap_or_else(|| panic!("a delivery for {event_id}: {accepted:?}"))
    };
    let attempts = app.attempts().await;
    let (id, bot_body) = by_event(&bot.request_id);
    assert_eq!(
        bot_body["id"],
        id.as_str(),
        "the header names the body's delivery"
    );
    assert_eq!(bot_body["decision"], "block");
    assert_eq!(bot_body["endpoint"], "signup");
    assert!(bot_body["codes"]
        .as_array()
        .unwrap()
        .contains(&"bot_detected".into()));
    let bot_attempt = attempts
        .iter()
        .find(|a| a.event_id.as_deref() == Some(bot.request_id.as_str()))
        .unwrap();
    assert_eq!(bot_body["attemptId"], bot_attempt.id);
    assert!(bot_body["accountId"].is_null());
    let (_, vpn_body) = by_event(&vpn.request_id);
    assert_eq!(vpn_body["decision"], "review");
    assert_eq!(vpn_body["accountId"], created["accountId"]);
    let (_, decision_body) = by_event(&tampered.request_id);
    assert_eq!(decision_body["endpoint"], "decision");
    assert_eq!(decision_body["decisionId"], decided["decisionId"]);
    assert_eq!(decision_body["accountRef"], "user-9");
    assert!(
        !accepted
            .values()
            .any(|b| b["eventId"] == person.request_id.as_str()),
        "allow was not announced"
    );

    // The receiver answers before the deliverer records the delivery: wait for the record.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !deliveries(&app, "").await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing pending or failed once delivered: {:?}",
            deliveries(&app, "").await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delivered = deliveries(&app, "?status=delivered").await;
    assert_eq!(delivered.len(), 3);
    assert!(delivered.iter().all(|d| d["tries"].as_i64().unwrap() >= 1));
}

async fn a_delivery_past_its_retry_window_is_listed_as_failed(db: &TestDb) {
    let receiver = Receiver::start(usize::MAX).await;
    let app = app(
        db,
        webhooks(&receiver, &["block"], Duration::from_millis(300)),
    )
    .await;
    let bot = app.identify(Persona::BadBot);
    app.signup(&bot.request_id).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let failed = loop {
        let failed = deliveries(&app, "?status=failed").await;
        if !failed.is_empty() {
            break failed;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            deliveries(&app, "").await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["eventId"], bot.request_id.as_str());
    assert!(
        failed[0]["lastError"].as_str().unwrap().contains("500"),
        "{failed:?}"
    );
    assert!(failed[0]["tries"].as_i64().unwrap() >= 2, "{failed:?}");
    assert_eq!(
        deliveries(&app, "").await.len(),
        1,
        "failed ones show by default"
    );
    let tries = receiver.received().len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        receiver.received().len(),
        tries,
        "a failed delivery is not retried"
    );
    let response = app
        .get("/api/webhook-deliveries?status=lost", Some(ADMIN_TOKEN))
        .await;
    assert_eq!(response.status(), 400);
}
