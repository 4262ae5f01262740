//! Linked identities over real HTTP, on both backends: with `device_identity` naming the
//! high-recall id or the linked id, a second browser of one device (same high-recall id,
//! another visitor id), or a second signup under one linked id, meets the device limit, and the
//! refusal names the identity that matched.

use crate::common::*;
use fingerprint::simulator::IdentifyRequest;
use serde_json::{json, Value};
use signup_guard::policy::{Identity, Policy};

both_backends!(
    a_second_browser_of_one_device_is_refused_by_its_high_recall_id,
    a_second_signup_under_one_linked_id_is_refused_by_it,
    the_decision_api_names_the_identity_too,
);

async fn app(db: &TestDb, identities: Vec<Identity>) -> TestApp {
    spawn_app_with(Options {
        database_url: Some(db.url.clone()),
        policy: Policy {
            device_identity: identities,
            ..Policy::default()
        },
        ..Options::default()
    })
    .await
}

/// A browser: its own visitor id, the device's high-recall id, maybe the page's linked id.
fn browser(visitor_id: &str, high_recall_id: &str, linked_id: Option<&str>) -> IdentifyRequest {
    IdentifyRequest {
        visitor_id: Some(visitor_id.into()),
        high_recall_id: Some(high_recall_id.into()),
        linked_id: linked_id.map(str::to_owned),
        ..IdentifyRequest::default()
    }
}

/// The device-limit check's input on the latest attempt, as `explain` shows it.
async fn device_limit_input(app: &TestApp) -> (Value, String) {
    let attempt = app.attempts().await.into_iter().next().expect("an attempt");
    let snapshot = attempt.signals.expect("a snapshot");
    let decision = snapshot.evaluate(&app.state.signups.policy);
    let check = decision
        .checks
        .iter()
        .find(|c| c.code == "device_limit")
        .unwrap()
        .clone();
    (
        serde_json::to_value(&snapshot.context).unwrap(),
        check.input,
    )
}

async fn a_second_browser_of_one_device_is_refused_by_its_high_recall_id(db: &TestDb) {
    // Counted by visitor id alone, as by default, the second browser is a new device.
    let plain = app(db, vec![Identity::VisitorId]).await;
    for visitor in ["ChromeOnLaptop", "FirefoxOnLaptop"] {
        let event = plain.identify_with(browser(visitor, "LaptopHighRecall", None));
        assert_eq!(plain.signup(&event.request_id).await.0, 200, "{visitor}");
    }

    let app = app(db, vec![Identity::VisitorId, Identity::HighRecallId]).await;
    // Accounts keep their high-recall id whatever the policy counted then.
    let third = app.identify_with(browser("EdgeOnLaptop", "LaptopHighRecall", None));
    let (status, body) = app.signup(&third.request_id).await;
    assert_error(status, &body, 429, "device_limit");
    let first = app.identify_with(browser("ChromeOnPhone", "PhoneHighRecall", None));
    assert_eq!(app.signup(&first.request_id).await.0, 200);
    let second = app.identify_with(browser("SafariOnPhone", "PhoneHighRecall", None));
    let (status, body) = app.signup(&second.request_id).await;
    assert_error(status, &body, 429, "device_limit");
    assert_eq!(body["identity"], "high_recall_id", "{body}");
    assert_eq!(body["visitorId"], "SafariOnPhone", "{body}");
    let (context, input) = device_limit_input(&app).await;
    assert_eq!(
        context["identities"],
        json!([
            {"identity": "visitor_id", "value": "SafariOnPhone", "accounts": 0},
            {"identity": "high_recall_id", "value": "PhoneHighRecall", "accounts": 1},
        ])
    );
    assert!(input.ends_with("matched by high_recall_id"), "{input}");

    // The same browser again is matched by its visitor id first.
    let again = app.identify_with(browser("ChromeOnPhone", "PhoneHighRecall", None));
    let (status, body) = app.signup(&again.request_id).await;
    assert_error(status, &body, 429, "device_limit");
    assert_eq!(body["identity"], "visitor_id", "{body}");

    let other = app.identify_with(browser("ChromeOnTablet", "TabletHighRecall", None));
    assert_eq!(app.signup(&other.request_id).await.0, 200, "another device");
}

async fn a_second_signup_under_one_linked_id_is_refused_by_it(db: &TestDb) {
    let app = app(db, vec![Identity::LinkedId, Identity::VisitorId]).await;
    let first = app.identify_with(browser("VisitorOne", "HighRecallOne", Some("session-42")));
    assert_eq!(app.signup(&first.request_id).await.0, 200);
    // Another device altogether, under the same linked id.
    let second = app.identify_with(browser("VisitorTwo", "HighRecallTwo", Some("session-42")));
    let (status, body) = app.signup(&second.request_id).await;
    assert_error(status, &body, 429, "device_limit");
    assert_eq!(body["identity"], "linked_id", "{body}");
    let (_, input) = device_limit_input(&app).await;
    assert!(input.contains("linked_id session-42 (1)"), "{input}");

    // The high-recall id is not counted by this policy, and another linked id is another user.
    let third = app.identify_with(browser("VisitorThree", "HighRecallOne", Some("session-43")));
    assert_eq!(app.signup(&third.request_id).await.0, 200);
    // No linked id at all: only the visitor id counts.
    let fourth = app.identify_with(browser("VisitorFour", "HighRecallOne", None));
    assert_eq!(app.signup(&fourth.request_id).await.0, 200);
}

async fn the_decision_api_names_the_identity_too(db: &TestDb) {
    let app = app(db, vec![Identity::VisitorId, Identity::HighRecallId]).await;
    let decide = |visitor: &str, reference: &str| {
        let event = app.identify_with(browser(visitor, "SharedHighRecall", None));
        let request = app
            .http
            .post(format!("{}/api/v1/signup-decisions", app.address))
            .bearer_auth(API_TOKEN)
            .json(&json!({"requestId": event.request_id, "accountRef": reference}));
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let first = decide("EdgeVisitor", "user-1").await;
    assert_eq!(first["decision"], "allow", "{first}");
    assert!(first.get("identity").is_none(), "{first}");
    let second = decide("OperaVisitor", "user-2").await;
    assert_eq!(second["decision"], "block", "{second}");
    assert_eq!(second["codes"], json!(["device_limit"]));
    assert_eq!(second["identity"], "high_recall_id", "{second}");
}
