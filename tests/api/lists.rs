//! Allow, review and block lists over real HTTP, on both backends: every kind and action,
//! expiry, precedence, CIDR v4 and v6, and the analyst's name on every change.

use crate::common::*;
use fingerprint::simulator::{IdentifyRequest, Persona};
use serde_json::{json, Value};
use signup_guard::policy::Policy;
use std::time::Duration;

const ALICE: &str = "alice-token-0123456789";

both_backends!(
    a_block_entry_on_a_device_refuses_it_on_both_endpoints,
    a_review_entry_on_a_network_flags_the_signup,
    an_allow_entry_skips_the_smart_signals_but_not_the_device_limit,
    allow_overrides_device_limit_lets_a_shared_device_through,
    block_wins_over_allow_and_v6_networks_match,
    expired_entries_do_nothing,
    entries_are_checked_removed_and_recorded_under_the_analyst_s_name,
);

async fn app(db: &TestDb, policy: Policy) -> TestApp {
    spawn_app_with(Options {
        database_url: Some(db.url.clone()),
        policy,
        named_admin_tokens: vec![("alice".into(), ALICE.into())],
        ..Options::default()
    })
    .await
}

async fn add(app: &TestApp, token: &str, entry: Value) -> (u16, Value) {
    let response = app
        .http
        .post(format!("{}/api/lists", app.address))
        .bearer_auth(token)
        .json(&entry)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn added(app: &TestApp, entry: Value) -> Value {
    let (status, body) = add(app, ALICE, entry).await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn a_block_entry_on_a_device_refuses_it_on_both_endpoints(db: &TestDb) {
    let app = app(db, Policy::default()).await;
    let caught = app.fingerprint().device("caught-device");
    added(
        &app,
        json!({"kind": "visitor_id", "value": "caught-device", "action": "block", "reason": "chargeback ring"}),
    )
    .await;
    let (status, body) = app.signup(&caught.request_id).await;
    assert_error(status, &body, 403, "denylisted");
    let again = app.fingerprint().device("caught-device");
    let decided = app
        .http
        .post(format!("{}/api/v1/signup-decisions", app.address))
        .bearer_auth(API_TOKEN)
        .json(&json!({ "requestId": again.request_id }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(decided["decision"], "block", "{decided}");
    assert_eq!(decided["codes"][0], "denylisted", "{decided}");
    let other = app.identify(Persona::NewDevice);
    assert_eq!(
        app.signup(&other.request_id).await.0,
        200,
        "other devices are untouched"
    );
    let recorded = app.attempts().await;
    let refused = recorded
        .iter()
        .find(|a| a.event_id.as_deref() == Some(caught.request_id.as_str()))
        .unwrap();
    let hits = &refused.signals.as_ref().unwrap().context.lists;
    assert_eq!(hits.len(), 1, "the matched entry is kept with the snapshot");
    assert_eq!(hits[0].reason, "chargeback ring");
}

async fn a_review_entry_on_a_network_flags_the_signup(db: &TestDb) {
    let app = app(db, Policy::default()).await;
    added(
        &app,
        json!({"kind": "ip", "value": "203.0.113.77/24", "action": "review", "reason": "office NAT under watch"}),
    )
    .await;
    let event = app.identify_with(IdentifyRequest {
        ip: Some("203.0.113.9".into()),
        ..IdentifyRequest::default()
    });
    let (status, body) = app.signup(&event.request_id).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("review")),
        "{body}"
    );
    assert_eq!(body["codes"], json!(["listed_for_review"]));
    let outside = app.identify_with(IdentifyRequest {
        ip: Some("203.0.114.9".into()),
        ..IdentifyRequest::default()
    });
    let (_, body) = app.signup(&outside.request_id).await;
    assert_eq!(body["status"], "created", "outside the /24: {body}");
}

async fn an_allow_entry_skips_the_smart_signals_but_not_the_device_limit(db: &TestDb) {
    let app = app(db, Policy::default()).await;
    added(
        &app,
        json!({"kind": "email", "value": "Ceo@Example.org", "action": "allow", "reason": "travels on Tor"}),
    )
    .await;
    let tor = app.identify(Persona::Tor);
    let (status, body) = app.signup_as(&tor.request_id, "ceo@example.org").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("created")),
        "{body}"
    );
    let recorded = app.attempts().await;
    let checks_skipped = recorded[0]
        .signals
        .as_ref()
        .unwrap()
        .evaluate(&Policy::default());
    let tor_check = checks_skipped
        .checks
        .iter()
        .find(|c| c.code == "tor_detected")
        .unwrap();
    assert_eq!(
        tor_check.outcome,
        signup_guard::policy::Outcome::Skipped,
        "{tor_check:?}"
    );
    let visitor = body["visitorId"].as_str().unwrap().to_owned();
    added(
        &app,
        json!({"kind": "visitor_id", "value": visitor, "action": "allow", "reason": "the CEO's laptop"}),
    )
    .await;
    let again = app.fingerprint().device(&visitor);
    let (status, body) = app.signup_as(&again.request_id, "cfo@example.org").await;
    assert_eq!(status, 429, "the device limit still holds: {body}");
    let bot = app.identify(Persona::Tor);
    let (status, _) = app.signup_as(&bot.request_id, "someone@example.org").await;
    assert_eq!(status, 403, "another address on Tor is still refused");
}

async fn allow_overrides_device_limit_lets_a_shared_device_through(db: &TestDb) {
    let app = app(
        db,
        Policy {
            allow_overrides_device_limit: true,
            ..Policy::default()
        },
    )
    .await;
    added(
        &app,
        json!({"kind": "visitor_id", "value": "family-ipad", "action": "allow", "reason": "four siblings, one iPad"}),
    )
    .await;
    for _ in 0..3 {
        let event = app.fingerprint().device("family-ipad");
        let (status, body) = app.signup(&event.request_id).await;
        assert_eq!(status, 200, "{body}");
    }
}

async fn block_wins_over_allow_and_v6_networks_match(db: &TestDb) {
    let app = app(db, Policy::default()).await;
    added(
        &app,
        json!({"kind": "ip", "value": "2001:db8::/32", "action": "allow", "reason": "partner"}),
    )
    .await;
    added(
        &app,
        json!({"kind": "ip", "value": "2001:db8:bad::/48", "action": "block", "reason": "abuse from this range"}),
    )
    .await;
    let from = |ip: &str| {
        app.identify_with(IdentifyRequest {
            ip: Some(ip.into()),
            persona: Persona::Vpn,
            ..IdentifyRequest::default()
        })
    };
    let (status, body) = app.signup(&from("2001:db8:bad::7").request_id).await;
    assert_error(status, &body, 403, "denylisted");
    let (status, body) = app.signup(&from("2001:db8:1::7").request_id).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("created")),
        "allow skips vpn review: {body}"
    );
}

async fn expired_entries_do_nothing(db: &TestDb) {
    let app = app(db, Policy::default()).await;
    let (status, body) = add(
        &app,
        ALICE,
        json!({"kind": "visitor_id", "value": "d", "action": "block", "reason": "r", "expiresAt": "2001-01-01T00:00:00Z"}),
    )
    .await;
    assert_error(status, &body, 400, "invalid_request");
    added(
        &app,
        json!({"kind": "visitor_id", "value": "brief", "action": "block", "reason": "cool-off", "expiresAt": "1s"}),
    )
    .await;
    let (status, _) = app
        .signup(&app.fingerprint().device("brief").request_id)
        .await;
    assert_eq!(status, 403);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (status, body) = app
        .signup(&app.fingerprint().device("brief").request_id)
        .await;
    assert_eq!(status, 200, "expired: {body}");
}

async fn entries_are_checked_removed_and_recorded_under_the_analyst_s_name(db: &TestDb) {
    let app = app(db, Policy::default()).await;
    for (entry, says) in [
        (
            json!({"kind": "ip", "value": "10.0.0.0/33", "action": "block", "reason": "r"}),
            "CIDR",
        ),
        (
            json!({"kind": "phone", "value": "1", "action": "block", "reason": "r"}),
            "kind must be",
        ),
        (
            json!({"kind": "ip", "value": "10.0.0.1", "action": "ban", "reason": "r"}),
            "action must be",
        ),
        (
            json!({"kind": "ip", "value": "10.0.0.1", "action": "block", "reason": " "}),
            "reason is required",
        ),
    ] {
        let (status, body) = add(&app, ALICE, entry.clone()).await;
        assert_error(status, &body, 400, "invalid_request");
        assert!(
            body["error"].as_str().unwrap().contains(says),
            "{entry}: {body}"
        );
    }
    let (status, _) = add(&app, API_TOKEN, json!({})).await;
    assert_eq!(status, 401, "an API token is not an analyst");
    let entry = added(
        &app,
        json!({"kind": "ip", "value": "198.51.100.4", "action": "block", "reason": "scripted signups"}),
    )
    .await;
    assert_eq!(entry["value"], "198.51.100.4/32");
    assert_eq!(entry["createdBy"], "alice");
    let listed = app
        .get("/api/lists?kind=ip&value=198.51.100.4", Some(ADMIN_TOKEN))
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(listed["entries"].as_array().unwrap().len(), 1, "{listed}");
    let id = entry["id"].as_i64().unwrap();
    let delete = |reason: &'static str| {
        app.http
            .delete(format!("{}/api/lists/{id}{reason}", app.address))
            .bearer_auth(ADMIN_TOKEN)
            .send()
    };
    assert_eq!(
        delete("").await.unwrap().status(),
        400,
        "a removal needs a reason"
    );
    assert_eq!(
        delete("?reason=false%20positive").await.unwrap().status(),
        204
    );
    assert_eq!(delete("?reason=again").await.unwrap().status(), 204);
    let actions = app
        .get("/api/actions", Some(ADMIN_TOKEN))
        .await
        .json::<Value>()
        .await
        .unwrap();
    let actions = actions["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 2, "one add, one removal: {actions:?}");
    assert_eq!(
        (
            actions[0]["actor"].as_str(),
            actions[0]["action"].as_str(),
            actions[0]["reason"].as_str()
        ),
        (Some("admin"), Some("list_remove"), Some("false positive"))
    );
    assert_eq!(
        (actions[1]["actor"].as_str(), actions[1]["action"].as_str()),
        (Some("alice"), Some("list_add"))
    );
    assert_eq!(actions[1]["target"], format!("list:{id}"));
}
