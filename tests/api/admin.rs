use crate::common::*;
use fingerprint::simulator::Persona;
use serde_json::Value;

#[tokio::test]
async fn health_is_ok_when_the_database_answers() {
    let app = spawn_app().await;
    let response = app.get("/health", None).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        serde_json::json!({"status": "ok"})
    );
}

#[tokio::test]
async fn accounts_need_the_admin_token() {
    let app = spawn_app().await;
    assert_eq!(app.get("/api/accounts", None).await.status().as_u16(), 401);
    assert_eq!(
        app.get("/api/accounts", Some("wrong"))
            .await
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        app.get("/api/attempts", Some("wrong"))
            .await
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        app.get("/api/accounts", Some(ADMIN_TOKEN))
            .await
            .status()
            .as_u16(),
        200
    );
    let lower_scheme = app
        .http
        .get(format!("{}/api/accounts", app.address))
        .header("authorization", format!("bearer {ADMIN_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        lower_scheme.status().as_u16(),
        200,
        "auth schemes are case-insensitive"
    );
    let basic = app
        .http
        .get(format!("{}/api/accounts", app.address))
        .header("authorization", format!("Basic {ADMIN_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status().as_u16(), 401);
}

#[tokio::test]
async fn admin_endpoints_do_not_exist_without_a_configured_token() {
    let app = spawn_app_with(Options {
        admin_token: None,
        ..Options::default()
    })
    .await;
    assert_eq!(
        app.get("/api/accounts", Some("anything"))
            .await
            .status()
            .as_u16(),
        404
    );
    assert_eq!(app.get("/api/attempts", None).await.status().as_u16(), 404);
}

#[tokio::test]
async fn accounts_are_listed_newest_first_paginated_and_without_password_material() {
    let app = spawn_app().await;
    let mut created = Vec::new();
    for _ in 0..3 {
        let event = app.identify(Persona::NewDevice);
        let name = username();
        assert_eq!(app.signup_as(&event.request_id, &name).await.0, 200);
        created.push((name, event.visitor_id));
    }
    let page: Value = app
        .get("/api/accounts?limit=2", Some(ADMIN_TOKEN))
        .await
        .json()
        .await
        .unwrap();
    let accounts = page["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 2);
    assert_eq!(accounts[0]["username"], created[2].0);
    assert_eq!(accounts[0]["visitorId"], created[2].1);
    assert_eq!(accounts[1]["username"], created[1].0);
    assert!(accounts[0]["createdAt"].as_str().unwrap().ends_with('Z'));
    let text = page.to_string();
    assert!(
        !text.contains("argon2") && !text.contains("password"),
        "{text}"
    );
    let next = page["nextBefore"].as_i64().unwrap();
    let rest: Value = app
        .get(
            &format!("/api/accounts?limit=2&before={next}"),
            Some(ADMIN_TOKEN),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["accounts"].as_array().unwrap().len(), 1);
    assert_eq!(rest["accounts"][0]["username"], created[0].0);
    assert_eq!(rest["nextBefore"], Value::Null);
    assert_eq!(
        app.get("/api/accounts?limit=abc", Some(ADMIN_TOKEN))
            .await
            .status()
            .as_u16(),
        400
    );
}

#[tokio::test]
async fn cors_allows_any_origin_without_credentials_by_default() {
    let app = spawn_app().await;
    let response = app
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/create-account", app.address),
        )
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert!(response
        .headers()
        .get("access-control-allow-credentials")
        .is_none());
}

#[tokio::test]
async fn cors_can_be_locked_to_listed_origins() {
    let app = spawn_app_with(Options {
        cors_origins: vec!["https://shop.example".into()],
        ..Options::default()
    })
    .await;
    let preflight = |origin: &'static str| {
        app.http
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/api/create-account", app.address),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let allowed = preflight("https://shop.example").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let response = app.get("/health", None).await;
    assert!(response.headers().get("x-request-id").is_some());
    let missing = app.get("/no/such/path", None).await;
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(missing.json::<Value>().await.unwrap()["code"], "not_found");
}

#[tokio::test]
async fn attempts_can_be_narrowed_to_one_device_and_a_time_window() {
    let app = spawn_app().await;
    let first = app.identify(Persona::NewDevice);
    let bot = app.identify(Persona::BadBot);
    app.signup(&first.request_id).await;
    app.signup(&bot.request_id).await;
    let path = format!("/api/attempts?visitorId={}", bot.visitor_id);
    let page: Value = app
        .get(&path, Some(ADMIN_TOKEN))
        .await
        .json()
        .await
        .unwrap();
    let attempts = page["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{page}");
    assert_eq!(attempts[0]["visitorId"], bot.visitor_id);
    assert_eq!(attempts[0]["code"], "bot_detected");
    let recent: Value = app
        .get("/api/attempts?since=1h", Some(ADMIN_TOKEN))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(recent["attempts"].as_array().unwrap().len(), 2);
    let future = format!("/api/attempts?since={}", "2999-01-01T00:00:00Z");
    let none: Value = app
        .get(&future, Some(ADMIN_TOKEN))
        .await
        .json()
        .await
        .unwrap();
    assert!(none["attempts"].as_array().unwrap().is_empty());
    assert_eq!(
        app.get("/api/attempts?since=soon", Some(ADMIN_TOKEN))
            .await
            .status()
            .as_u16(),
        400
    );
}

#[tokio::test]
async fn a_callers_request_id_is_kept_only_when_short_and_plain() {
    let app = spawn_app().await;
    let with_id = |id: &'static str| {
        app.http
            .get(format!("{}/health", app.address))
            .header("x-request-id", id)
            .send()
    };
    let kept = with_id("trace-42.a:b_c").await.unwrap();
    assert_eq!(kept.headers()["x-request-id"], "trace-42.a:b_c");
    let forged = with_id("x level=ERROR msg=forged").await.unwrap();
    let replaced = forged.headers()["x-request-id"].to_str().unwrap();
    assert!(
        !replaced.contains("forged") && !replaced.is_empty(),
        "{replaced}"
    );
}

/// Codes are matched exactly, on both backends alike: a code no attempt can carry (a typo,
/// another case) is a 400 that lists the valid ones, not an empty page.
#[tokio::test]
async fn an_unknown_attempt_code_filter_is_refused_with_the_valid_codes() {
    let app = spawn_app().await;
    let bot = app.identify(fingerprint::simulator::Persona::BadBot);
    app.signup(&bot.request_id).await;
    let found = app
        .get("/api/attempts?code=bot_detected", Some(ADMIN_TOKEN))
        .await;
    assert_eq!(found.status(), 200);
    let page: serde_json::Value = found.json().await.unwrap();
    assert_eq!(page["attempts"].as_array().unwrap().len(), 1);
    for typo in ["BOT_DETECTED", "bot-detected", "vpn"] {
        let response = app
            .get(&format!("/api/attempts?code={typo}"), Some(ADMIN_TOKEN))
            .await;
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_error(status, &body, 400, "invalid_request");
        let message = body["error"].as_str().unwrap();
        for listed in [
            "bot_detected",
            "vpn_detected",
            "created",
            "rate_limited",
            "denylisted",
        ] {
            assert!(message.contains(listed), "{typo}: {message}");
        }
    }
}
