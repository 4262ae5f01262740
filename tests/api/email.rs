//! Email identity over real HTTP, on both backends: one inbox under Gmail's dots and tags is
//! one account, and throwaway domains are held for review unless an analyst vouches for them.

use crate::common::*;
use fingerprint::simulator::Persona;
use serde_json::json;
use signup_guard::policy::Policy;

both_backends!(
    gmail_dots_tags_and_googlemail_are_one_inbox,
    a_throwaway_domain_is_held_for_review_unless_allow_listed,
);

async fn app(db: &TestDb, policy: Policy) -> TestApp {
    spawn_app_with(Options {
        database_url: Some(db.url.clone()),
        policy,
        ..Options::default()
    })
    .await
}

async fn gmail_dots_tags_and_googlemail_are_one_inbox(db: &TestDb) {
    let app = app(db, Policy::default()).await;
    let first = app.identify(Persona::NewDevice);
    assert_eq!(
        app.signup_as(&first.request_id, "jane.doe@gmail.com")
            .await
            .0,
        200
    );
    for alias in ["j.a.n.e.d.o.e+promo@gmail.com", "JaneDoe@googlemail.com"] {
        let event = app.identify(Persona::NewDevice);
        let (status, body) = app.signup_as(&event.request_id, alias).await;
        assert_error(status, &body, 403, "email_alias");
    }
    let other = app.identify(Persona::NewDevice);
    let (status, _) = app
        .signup_as(&other.request_id, "jane.doe+x@example.org")
        .await;
    assert_eq!(status, 200, "tags are kept for providers not in the list");
    assert_eq!(app.accounts().await, 2);
}

async fn a_throwaway_domain_is_held_for_review_unless_allow_listed(db: &TestDb) {
    let app = app(db, Policy::default()).await;
    let event = app.identify(Persona::NewDevice);
    let (status, body) = app
        .signup_as(&event.request_id, "bot1@mailinator.com")
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("review")),
        "{body}"
    );
    assert_eq!(body["codes"], json!(["disposable_email"]));
    let response = app
        .http
        .post(format!("{}/api/lists", app.address))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"kind": "email_domain", "value": "mailinator.com", "action": "allow", "reason": "QA inboxes"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let event = app.identify(Persona::NewDevice);
    let (status, body) = app.signup_as(&event.request_id, "qa2@mailinator.com").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("created")),
        "{body}"
    );
}
