//! The decision API, for apps that keep their own users: every outcome over real HTTP, on both
//! backends.

use crate::common::*;
use fingerprint::simulator::{IdentifyRequest, Persona};
use serde_json::{json, Value};
use signup_guard::policy::Policy;
use signup_guard::store::Endpoint;

both_backends!(
    a_dry_check_answers_allow_and_reserves_nothing,
    a_reservation_takes_the_device_slot_and_is_listed_with_its_account_ref,
    a_risky_signal_is_a_review_and_still_reserves,
    a_bot_is_a_block_decision_not_an_error,
    a_device_at_its_limit_is_a_block_with_device_limit,
    a_released_slot_can_be_reserved_again,
    a_request_id_reserves_once_and_a_username_once,
    client_ip_feeds_ip_binding,
    bad_bodies_get_400_naming_the_field,
    tokens_open_only_their_own_door,
);

async fn app(db: &TestDb, policy: Policy) -> TestApp {
    spawn_app_with(Options {
        database_url: Some(db.url.clone()),
        policy,
        ..Options::default()
    })
    .await
}

async fn decide_with(app: &TestApp, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = app
        .http
        .post(format!("{}/api/v1/signup-decisions", app.address))
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the request is sent");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn decide(app: &TestApp, body: &Value) -> (u16, Value) {
    decide_with(app, Some(API_TOKEN), body).await
}

async fn release(app: &TestApp, decision_id: &str) -> u16 {
    app.http
        .delete(format!(
            "{}/api/v1/signup-decisions/{decision_id}",
            app.address
        ))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .expect("the request is sent")
        .status()
        .as_u16()
}

async fn accounts(app: &TestApp) -> Vec<Value> {
    let response = app.get("/api/accounts", Some(ADMIN_TOKEN)).await;
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.unwrap();
    page["accounts"].as_array().unwrap().clone()
}

fn decision_of(body: &Value) -> &str {
    body["decision"].as_str().unwrap_or_default()
}

fn codes_of(body: &Value) -> Vec<&str> {
    body["codes"]
        .as_array()
        .map(|codes| codes.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

async fn a_dry_check_answers_allow_and_reserves_nothing(db: &TestDb) {
    let app = app(db, Policy::default()).await;
    let event = app.identify(Persona::NewDevice);
    let (status, body) = decide(&app, &json!({ "requestId": event.request_id })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(decision_of(&body), "allow", "{body}");
    assert!(codes_of(&body).is_empty(), "{body}");
    assert_eq!(body["visitorId"], event.visitor_id.as_str());
    assert_eq!(body["eventId"], event.request_id.as_str());
    assert!(body["accountRef"].is_null());
    let decision_id = body["decisionId"].as_str().unwrap().to_owned();
    assert!(decision_id.starts_with("dec_"), "{decision_id}");
    assert_eq!(app.accounts().await, 0, "a dry check reserves nothing");
    // Nothing was used up: the same event can still be asked about, or used to sign up.
    let (status, again) = decide(&app, &json!({ "requestId": event.request_id })).await;
    assert_eq!((status, decision_of(&again)), (200, "allow"), "{again}");
    let attempts = app.attempts().await;
    assert_eq!(attempts.len(), 2, "every decision is recorded");
    let recorded = attempts
        .iter()
        .find(|a| a.decision_id.as_deref() == Some(decision_id.as_str()))
        .expect("the decision's attempt");
    assert_eq!(recorded.endpoint, "decision");
    assert_eq!(
        (recorded.verdict.as_str(), recorded.code.as_str()),
        ("allow", "allow")
    );
    assert!(recorded.account_id.is_none());
    let (status, _) = app.signup(&event.request_id).await;
    assert_eq!(
        status, 200,
        "a dry check leaves the requestId for the real signup"
    );
}

async fn a_reservation_takes_the_device_slot_and_is_listed_with_its_account_ref(db: &TestDb) {
    let app = app(db, Policy::default()).await;
    let event = app.identify(Persona::NewDevice);
    let (status, body) = decide(
        &app,
        &json!({ "requestId": event.request_id, "accountRef": "user-42" }),
    )
    .await;
    assert_eq!((status, decision_of(&body)), (200, "allow"), "{body}");
    assert_eq!(body["accountRef"], "user-42");
    let account_id = body["accountId"].as_i64().expect("the slot's account");
    let listed = accounts(&app).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], account_id);
    assert_eq!(listed[0]["accountRef"], "user-42");
    assert!(listed[0]["username"].is_null());
    assert_eq!(listed[0]["visitorId"], event.visitor_id.as_str());
    let text = listed[0].to_string().to_lowercase();
    assert!(
        !text.contains("password") && !text.contains("argon"),
        "{text}"
    );
    let recorded = app.attempts().await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].account_id, Some(account_id));
    assert_eq!(recorded[0].account_ref.as_deref(), Some("user-42"));
    assert_eq!(recorded[0].endpoint, Endpoint::Decision.as_str());
    assert_no_half_written_rows(&db.raw().await).await;
    // The next start re-runs the migrations: a slot without a username has nothing to re-key.
    let migrated = app.state.store.migrate().await.expect("migrations re-run");
    assert_eq!(migrated.usernames.rekeyed, 0);
    assert!(migrated.usernames.kept_apart.is_empty());
}

async fn a_risky_signal_is_a_review_and_still_reserves(db: &TestDb) {
    let app = app(db, Policy::default()).await;
    let event = app.identify(Persona::Vpn);
    let (status, body) = decide(
        &app,
        &json!({ "requestId": event.request_id, "accountRef": "user-vpn" }),
    )
    .await;
    assert_eq!((status, decision_of(&body)), (200, "review"), "{body}");
    assert_eq!(codes_of(&body), ["vpn_detected"], "{body}");
    let listed = accounts(&app).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["review"], true);
}

async fn a_bot_is_a_block_decision_not_an_error(db: &TestDb) {
    let app = app(db, Policy::default()).await;
    let event = app.identify(Persona::BadBot);
    let (status, body) = decide(
        &app,
        &json!({ "requestId": event.request_id, "accountRef": "user-bot" }),
    )
    .await;
    assert_eq!((status, decision_of(&body)), (200, "block"), "{body}");
    assert!(codes_of(&body).contains(&"bot_detected"), "{body}");
    assert_eq!(app.accounts().await, 0, "a block reserves nothing");
    let recorded = app.attempts().await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        (recorded[0].verdict.as_str(), recorded[0].code.as_str()),
        ("block", "bot_detected")
    );
}

async fn a_device_at_its_limit_is_a_block_with_device_limit(db: &TestDb) {
    let app = app(db, Policy::default()).await;
    let first = app.fingerprint().device("shared-phone");
    let (_, body) = decide(
        &app,
        &json!({ "requestId": first.request_id, "accountRef": "user-1" }),
    )
    .await;
    assert_eq!(decision_of(&body), "allow", "{body}");
    let second = app.fingerprint().device("shared-phone");
    let (status, body) = decide(
        &app,
        &json!({ "requestId": second.request_id, "accountRef": "user-2" }),
    )
    .await;
    assert_eq!((status, decision_of(&body)), (200, "block"), "{body}");
    assert!(codes_of(&body).contains(&"device_limit"), "{body}");
    assert!(body["accountId"].is_null());
    assert_eq!(app.accounts().await, 1);
}

async fn a_released_slot_can_be_reserved_again(db: &TestDb) {
    let app = app(db, Policy::default()).await;
    let first = app.fingerprint().device("phone-release");
    let (_, body) = decide(
        &app,
        &json!({ "requestId": first.request_id, "accountRef": "user-a" }),
    )
    .await;
    assert_eq!(decision_of(&body), "allow", "{body}");
    let decision_id = body["decisionId"].as_str().unwrap().to_owned();
    assert_eq!(release(&app, &decision_id).await, 204);
    assert_eq!(app.accounts().await, 0, "the slot is free");
    assert_eq!(
        release(&app, &decision_id).await,
        204,
        "a release is idempotent"
    );
    let second = app.fingerprint().device("phone-release");
    let (_, body) = decide(
        &app,
        &json!({ "requestId": second.request_id, "accountRef": "user-b" }),
    )
    .await;
    assert_eq!(decision_of(&body), "allow", "{body}");
    assert_eq!(app.accounts().await, 1);
    assert_eq!(release(&app, "not-a-decision").await, 400);
}

async fn a_request_id_reserves_once_and_a_username_once(db: &TestDb) {
    let app = app(
        db,
        Policy {
            accounts_per_device: 5,
            ..Policy::default()
        },
    )
    .await;
    let event = app.identify(Persona::NewDevice);
    let reserve = json!({ "requestId": event.request_id, "accountRef": "u1", "username": "Ann" });
    let (status, body) = decide(&app, &reserve).await;
    assert_eq!((status, decision_of(&body)), (200, "allow"), "{body}");
    let (status, body) = decide(&app, &reserve).await;
    assert_error(status, &body, 409, "request_id_used");
    let other = app.fingerprint().device(&event.visitor_id);
    let (status, body) = decide(
        &app,
        &json!({ "requestId": other.request_id, "accountRef": "u2", "username": " ANN " }),
    )
    .await;
    assert_error(status, &body, 409, "username_taken");
    assert_eq!(app.accounts().await, 1);
}

async fn client_ip_feeds_ip_binding(db: &TestDb) {
    let app = app(
        db,
        Policy {
            ip_binding: true,
            ..Policy::default()
        },
    )
    .await;
    let from = |ip: &str| {
        app.identify_with(IdentifyRequest {
            ip: Some(ip.into()),
            ..IdentifyRequest::default()
        })
    };
    let event = from("203.0.113.9");
    let (_, body) = decide(
        &app,
        &json!({ "requestId": event.request_id, "clientIp": "203.0.113.9" }),
    )
    .await;
    assert_eq!(
        decision_of(&body),
        "allow",
        "the app's clientIp is the one compared: {body}"
    );
    let event = from("203.0.113.9");
    let (_, body) = decide(
        &app,
        &json!({ "requestId": event.request_id, "clientIp": "198.51.100.1" }),
    )
    .await;
    assert_eq!(decision_of(&body), "block", "{body}");
    assert!(codes_of(&body).contains(&"ip_mismatch"), "{body}");
    let event = from("203.0.113.9");
    let (_, body) = decide(&app, &json!({ "requestId": event.request_id })).await;
    assert_eq!(
        decision_of(&body),
        "block",
        "without clientIp the binding cannot hold: {body}"
    );
}

async fn bad_bodies_get_400_naming_the_field(db: &TestDb) {
    let app = app(db, Policy::default()).await;
    let event = app.identify(Persona::NewDevice);
    let id = event.request_id.as_str();
    let cases = [
        (
            json!({ "requestId": id, "password": "hunter2" }),
            "never takes a password",
        ),
        (
            json!({ "requestId": id, "accountref": "x" }),
            "unknown field `accountref`",
        ),
        (
            json!({ "requestId": id, "accountRef": "a".repeat(129) }),
            "accountRef must be 1 to 128",
        ),
        (
            json!({ "requestId": id, "accountRef": "a b" }),
            "accountRef must be printable",
        ),
        (
            json!({ "requestId": id, "clientIp": "999.1.1.1" }),
            "clientIp must be",
        ),
        (
            json!({ "requestId": id, "origin": "https://a\u{0}" }),
            "origin must be",
        ),
        (json!({ "requestId": id, "eventId": id }), "not both"),
        (json!({ "accountRef": "x" }), "requestId is required"),
    ];
    for (body, expected) in cases {
        let (status, answer) = decide(&app, &body).await;
        assert_error(status, &answer, 400, "invalid_request");
        let message = answer["error"].as_str().unwrap_or_default();
        assert!(
            message.contains(expected),
            "{body}: {message:?} should say {expected:?}"
        );
    }
    let (status, answer) = decide(&app, &json!({ "requestId": "1708102555327.NLOjmg" })).await;
    assert_error(status, &answer, 400, "request_id_not_found");
    let recorded = format!("{:?}", app.attempts().await);
    assert!(!recorded.contains("hunter2"), "a password is never stored");
    assert_eq!(app.accounts().await, 0);
}

async fn tokens_open_only_their_own_door(db: &TestDb) {
    let app = app(db, Policy::default()).await;
    let event = app.identify(Persona::NewDevice);
    let body = json!({ "requestId": event.request_id });
    for token in [None, Some("wrong-token-wrong-token"), Some(ADMIN_TOKEN)] {
        let (status, answer) = decide_with(&app, token, &body).await;
        assert_error(status, &answer, 401, "unauthorized");
    }
    let response = app.get("/api/accounts", Some(API_TOKEN)).await;
    assert_eq!(response.status(), 401, "an API token is not an admin token");
    let off = spawn_app_with(Options {
        database_url: Some(db.url.clone()),
        api_tokens: Vec::new(),
        ..Options::default()
    })
    .await;
    let (status, answer) = decide_with(&off, Some(API_TOKEN), &body).await;
    assert_error(status, &answer, 404, "not_found");
}
