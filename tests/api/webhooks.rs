use crate::common::*;
use serde_json::json;

async fn post_webhook(app: &TestApp, body: &str, signature: Option<&str>) -> u16 {
    let mut request = app
        .http
        .post(format!("{}/api/webhooks/fingerprint", app.address))
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("fpjs-event-signature", signature);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_correctly_signed_webhook_is_stored_once_per_event() {
    let app = spawn_app().await;
    let body =
        json!({ "event_id": "1708102555327.NLOjmg", "identification": { "visitor_id": "v1" } })
            .to_string();
    let signature = fingerprint::webhook::sign(body.as_bytes(), WEBHOOK_SECRET.as_bytes());
    assert_eq!(post_webhook(&app, &body, Some(&signature)).await, 200);
    assert_eq!(
        post_webhook(&app, &body, Some(&signature)).await,
        200,
        "a redelivery is fine"
    );
    assert_eq!(app.state.store.count_webhooks().await.unwrap(), 1);
}

#[tokio::test]
async fn a_webhook_with_a_bad_or_missing_signature_is_401() {
    let app = spawn_app().await;
    let body = json!({ "event_id": "1.a" }).to_string();
    let wrong = fingerprint::webhook::sign(body.as_bytes(), b"another-secret");
    assert_eq!(post_webhook(&app, &body, Some(&wrong)).await, 401);
    assert_eq!(post_webhook(&app, &body, None).await, 401);
    let signed_other = fingerprint::webhook::sign(b"{}", WEBHOOK_SECRET.as_bytes());
    assert_eq!(post_webhook(&app, &body, Some(&signed_other)).await, 401);
    assert_eq!(app.state.store.count_webhooks().await.unwrap(), 0);
}

#[tokio::test]
async fn a_signed_webhook_without_an_event_id_is_400() {
    let app = spawn_app().await;
    let body = json!({ "nothing": true }).to_string();
    let signature = fingerprint::webhook::sign(body.as_bytes(), WEBHOOK_SECRET.as_bytes());
    assert_eq!(post_webhook(&app, &body, Some(&signature)).await, 400);
}

#[tokio::test]
async fn the_webhook_endpoint_is_404_without_a_secret() {
    let app = spawn_app_with(Options {
        webhook_secret: None,
        ..Options::default()
    })
    .await;
    assert_eq!(post_webhook(&app, "{}", Some("v1=00")).await, 404);
}

#[tokio::test]
async fn a_bad_signature_is_answered_as_a_signature_problem_not_an_admin_one() {
    let app = spawn_app().await;
    let body = json!({ "event_id": "1.a" }).to_string();
    for signature in [None, Some("v1=00")] {
        let mut request = app
            .http
            .post(format!("{}/api/webhooks/fingerprint", app.address))
            .body(body.clone());
        if let Some(signature) = signature {
            request = request.header("fpjs-event-signature", signature);
        }
        let response = request.send().await.unwrap();
        assert!(
            response.headers().get("www-authenticate").is_none(),
            "no Bearer challenge"
        );
        let status = response.status().as_u16();
        let answer: serde_json::Value = response.json().await.unwrap();
        assert_error(status, &answer, 401, "invalid_signature");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("fpjs-event-signature"),
            "{answer}"
        );
    }
}

#[tokio::test]
async fn a_signed_webhook_whose_event_id_holds_a_nul_byte_is_400_and_stores_nothing() {
    let app = spawn_app().await;
    for event_id in ["1708102555327.NL\u{0}jmg", "", &"x".repeat(129)] {
        let body = json!({ "event_id": event_id }).to_string();
        let signature = fingerprint::webhook::sign(body.as_bytes(), WEBHOOK_SECRET.as_bytes());
        assert_eq!(
            post_webhook(&app, &body, Some(&signature)).await,
            400,
            "{event_id:?}"
        );
    }
    assert_eq!(app.state.store.count_webhooks().await.unwrap(), 0);
}
