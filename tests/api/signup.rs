use crate::common::*;
use fingerprint::simulator::{IdentifyRequest, Persona};
use fingerprint::ApiVersion;
use serde_json::json;
use sqlx::Row;

#[tokio::test]
async fn signup_creates_an_account_for_a_new_device() {
    let app = spawn_app().await;
    let event = app.identify(Persona::NewDevice);
    let (status, body) = app.signup(&event.request_id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "created");
    assert_eq!(body["visitorId"], event.visitor_id);
    assert!(body["accountId"].as_i64().is_some_and(|id| id > 0));
    assert_eq!(app.accounts().await, 1);
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_hashes_never_plaintext() {
    let app = spawn_app().await;
    let event = app.identify(Persona::NewDevice);
    assert_eq!(app.signup(&event.request_id).await.0, 200);
    let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
    let row = sqlx::query("SELECT password_hash FROM accounts")
        .fetch_one(&pool)
        .await
        .unwrap();
    let hash: String = row.get("password_hash");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains(STRONG_PASSWORD));
    let dump: Vec<String> =
        sqlx::query("SELECT COALESCE(username,'') || COALESCE(signals,'') AS t FROM attempts")
            .fetch_all(&pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get("t"))
            .collect();
    assert!(
        !dump.concat().contains(STRONG_PASSWORD),
        "the audit trail holds no password"
    );
}

#[tokio::test]
async fn event_id_is_accepted_as_an_alias_of_request_id() {
    let app = spawn_app().await;
    let event = app.identify(Persona::NewDevice);
    let body =
        json!({ "eventId": event.event_id, "username": username(), "password": STRONG_PASSWORD });
    assert_eq!(app.post_signup(body.to_string()).await.status(), 200);
}

#[tokio::test]
async fn signup_works_against_server_api_v3() {
    let app = spawn_app_with(Options {
        api_version: ApiVersion::V3,
        ..Options::default()
    })
    .await;
    let event = app.identify(Persona::NewDevice);
    let (status, body) = app.signup(&event.request_id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["visitorId"], event.visitor_id);
    let bot = app.identify(Persona::BadBot);
    let (status, body) = app.signup(&bot.request_id).await;
    assert_error(status, &body, 403, "bot_detected");
    assert_eq!(body["botResult"], "bad");
}

#[tokio::test]
async fn a_sealed_result_is_unsealed_locally_without_an_api_call() {
    let app = spawn_app().await;
    let event = app.identify(Persona::NewDevice);
    let sealed = event
        .sealed_result
        .clone()
        .expect("the simulator seals with the test key");
    // Any API call would now fail: only local unsealing can succeed.
    app.simulator
        .set_fault(Some(fingerprint::simulator::Fault::Status(500)), None);
    let body =
        json!({ "sealedResult": sealed, "username": username(), "password": STRONG_PASSWORD });
    let response = app.post_signup(body.to_string()).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["visitorId"], event.visitor_id);
}

#[tokio::test]
async fn a_sealed_result_that_cannot_be_unsealed_is_400_invalid_sealed_result() {
    let app = spawn_app().await;
    let other_key = fingerprint::sealed::DecryptionKey::from_bytes([7; 32]);
    let foreign = fingerprint::sealed::seal(br#"{"event_id":"1.a"}"#, &other_key);
    for payload in ["bm90IHNlYWxlZA==", "%%%not-base64%%%", foreign.as_str()] {
        let body =
            json!({ "sealedResult": payload, "username": username(), "password": STRONG_PASSWORD });
        let response = app.post_signup(body.to_string()).await;
        let status = response.status().as_u16();
        assert_error(
            status,
            &response.json().await.unwrap(),
            400,
            "invalid_sealed_result",
        );
    }
    assert_eq!(app.accounts().await, 0);
}

/// Found by fuzzing (`fuzz/`, target `event_v4`): a factory-reset time or an event time at the
/// end of the 64-bit range overflowed while the event was read or judged, and the request died
/// without an answer. Such events come only from Fingerprint or a sealed result, but they must
/// still be judged like any other.
#[tokio::test]
async fn a_sealed_event_with_extreme_timestamps_is_judged_not_crashed_on() {
    let app = spawn_app().await;
    let key = fingerprint::sealed::DecryptionKey::from_bytes(ENCRYPTION_KEY);
    let cases = [
        ("factory_reset_timestamp", json!(i64::MIN), 200, "created"),
        ("timestamp", json!(i64::MIN), 403, "stale_event"),
        ("timestamp", json!(i64::MAX), 403, "future_event"),
    ];
    for (field, value, status_wanted, code) in cases {
        let event = app.identify(Persona::NewDevice);
        let mut json = app
            .simulator
            .event_v4_json(&event.event_id)
            .expect("the simulator keeps what it issued");
        json[field] = value.clone();
        if field == "timestamp" {
            // A recent reset, so that the reset is measured against the extreme event time.
            json["factory_reset_timestamp"] = json!(1_700_000_000);
        }
        let sealed = fingerprint::sealed::seal(json.to_string().as_bytes(), &key);
        let body =
            json!({ "sealedResult": sealed, "username": username(), "password": STRONG_PASSWORD });
        let response = app.post_signup(body.to_string()).await;
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(status, status_wanted, "{field} = {value}: {body}");
        let answer = body["code"].as_str().or(body["status"].as_str());
        assert_eq!(answer, Some(code), "{field} = {value}: {body}");
    }
}

#[tokio::test]
async fn malformed_bodies_are_400_invalid_request_naming_the_problem() {
    let app = spawn_app().await;
    let event = app.identify(Persona::NewDevice);
    let cases = vec![
        ("{not json".to_string(), "not valid JSON"),
        ("[1,2]".to_string(), "JSON object"),
        (
            json!({"username": "a@b.c", "password": STRONG_PASSWORD}).to_string(),
            "requestId",
        ),
        (
            json!({"requestId": event.request_id, "password": STRONG_PASSWORD}).to_string(),
            "username",
        ),
        (
            json!({"requestId": event.request_id, "username": "a@b.c"}).to_string(),
            "password",
        ),
        (
            json!({"requestId": 12, "username": "a@b.c", "password": STRONG_PASSWORD}).to_string(),
            "requestId",
        ),
        (
            json!({"requestId": "../../admin", "username": "a@b.c", "password": STRONG_PASSWORD})
                .to_string(),
            "requestId",
        ),
        (
            json!({"requestId": event.request_id, "username": "a@b.c", "password": "password123"})
                .to_string(),
            "password",
        ),
        (
            json!({"requestId": event.request_id, "username": "a@b.c", "password": "short"})
                .to_string(),
            "at least 8",
        ),
    ];
    for (body, mention) in cases {
        let response = app.post_signup(body.clone()).await;
        let status = response.status().as_u16();
        let json: serde_json::Value = response.json().await.unwrap();
        assert_error(status, &json, 400, "invalid_request");
        assert!(
            json["error"].as_str().unwrap().contains(mention),
            "{body}: {json}"
        );
    }
    assert_eq!(app.accounts().await, 0);
}

/// Found by fuzzing (`fuzz/`, target `signup_body`): serde skips fields the signup does not
/// read without checking their text, and reads a struct from an array by position. So bodies
/// that no JSON parser in front of the service would accept as the same object (invalid UTF-8
/// or a lone surrogate in an extra field, or an array of the values) created accounts.
#[tokio::test]
async fn bodies_a_strict_json_parser_refuses_are_400_even_where_the_signup_ignores_them() {
    let app = spawn_app().await;
    let event = app.identify(Persona::NewDevice);
    let id = &event.request_id;
    let user = username();
    let fields =
        format!(r#""requestId":"{id}","username":"{user}","password":"{STRONG_PASSWORD}""#);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            format!(r#"["{id}",null,null,"{user}","{STRONG_PASSWORD}"]"#).into_bytes(),
            "JSON object",
        ),
        (
            [format!("{{{fields},\"note\":\"").as_bytes(), b"\xD1\"}"].concat(),
            "not valid JSON",
        ),
        (
            format!(r#"{{{fields},"note":{{"deep":["\ud800"]}}}}"#).into_bytes(),
            "not valid JSON",
        ),
    ];
    for (body, mention) in cases {
        let shown = String::from_utf8_lossy(&body).into_owned();
        let response = app.post_signup(body).await;
        let status = response.status().as_u16();
        let json: serde_json::Value = response.json().await.unwrap();
        assert_error(status, &json, 400, "invalid_request");
        let why = json["error"].as_str().unwrap();
        assert!(why.contains(mention), "{shown}: {json}");
    }
    assert_eq!(app.accounts().await, 0);
    // The same fields in a well-formed object do create the account.
    let (status, body) = app.signup_as(id, &user).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn an_unknown_request_id_is_400_request_id_not_found() {
    let app = spawn_app().await;
    let (status, body) = app.signup("1700000000000.Unknwn").await;
    assert_error(status, &body, 400, "request_id_not_found");
}

#[tokio::test]
async fn bad_and_good_bots_are_refused_with_their_bot_result() {
    let app = spawn_app().await;
    for (persona, result) in [(Persona::BadBot, "bad"), (Persona::GoodBot, "good")] {
        let event = app.identify(persona);
        let (status, body) = app.signup(&event.request_id).await;
        assert_error(status, &body, 403, "bot_detected");
        assert_eq!(body["botResult"], result);
    }
    assert_eq!(app.accounts().await, 0);
}

#[tokio::test]
async fn usernames_are_unique_after_trimming_and_ignoring_case() {
    let app = spawn_app().await;
    let first = app.identify(Persona::NewDevice);
    assert_eq!(
        app.signup_as(&first.request_id, "Ann@Example.org").await.0,
        200
    );
    let second = app.identify(Persona::NewDevice);
    let (status, body) = app
        .signup_as(&second.request_id, "  ann@example.ORG ")
        .await;
    assert_error(status, &body, 409, "username_taken");
    assert_eq!(app.accounts().await, 1);
}

#[tokio::test]
async fn a_request_id_that_created_an_account_cannot_create_another() {
    let policy = signup_guard::policy::Policy {
        accounts_per_device: 5,
        ..Default::default()
    };
    let app = spawn_app_with(Options {
        policy,
        ..Options::default()
    })
    .await;
    let event = app.identify(Persona::NewDevice);
    assert_eq!(app.signup(&event.request_id).await.0, 200);
    let (status, body) = app.signup(&event.request_id).await;
    assert_error(status, &body, 409, "request_id_used");
    assert_eq!(app.accounts().await, 1);
}

#[tokio::test]
async fn an_oversized_body_is_413_and_recorded() {
    let app = spawn_app().await;
    let body = json!({ "requestId": "x", "username": "a", "password": "p".repeat(64 * 1024) });
    let response = app.post_signup(body.to_string()).await;
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_error(status, &body, 413, "payload_too_large");
    let attempts = app.attempts().await;
    assert_eq!(attempts.len(), 1, "the refusal is in the audit trail");
    assert_eq!(attempts[0].code, "payload_too_large");
    assert_eq!(attempts[0].ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(app.accounts().await, 0);
}

#[tokio::test]
async fn a_second_signup_from_the_same_device_is_429_device_limit() {
    let app = spawn_app().await;
    let first = app.identify(Persona::NewDevice);
    assert_eq!(app.signup(&first.request_id).await.0, 200);
    let again = app.identify_with(IdentifyRequest {
        persona: Persona::ReturningDevice,
        visitor_id: Some(first.visitor_id.clone()),
        ..IdentifyRequest::default()
    });
    let (status, body) = app.signup(&again.request_id).await;
    assert_error(status, &body, 429, "device_limit");
    assert_eq!(body["visitorId"], first.visitor_id);
    assert_eq!(app.accounts().await, 1);
}

#[tokio::test]
async fn thirty_concurrent_signups_from_one_device_create_exactly_one_account() {
    let app = spawn_app().await;
    let visitor = app.identify(Persona::NewDevice).visitor_id;
    let events: Vec<_> = (0..30)
        .map(|_| {
            app.identify_with(IdentifyRequest {
                persona: Persona::ReturningDevice,
                visitor_id: Some(visitor.clone()),
                ..IdentifyRequest::default()
            })
        })
        .collect();
    let attempts = events.iter().map(|e| app.signup(&e.request_id));
    let results = futures_util::future::join_all(attempts).await;
    let created = results.iter().filter(|(s, _)| *s == 200).count();
    let limited = results
        .iter()
        .filter(|(s, b)| *s == 429 && b["code"] == "device_limit")
        .count();
    assert_eq!(created, 1, "{results:?}");
    assert_eq!(limited, 29, "{results:?}");
    assert_eq!(app.accounts().await, 1);
}

#[tokio::test]
async fn every_attempt_is_recorded_with_its_decision() {
    let app = spawn_app().await;
    let good = app.identify(Persona::NewDevice);
    let bot = app.identify(Persona::BadBot);
    app.signup(&good.request_id).await;
    app.signup(&bot.request_id).await;
    app.signup("1700000000000.Unknwn").await;
    app.post_signup("{").await;
    let attempts = app.attempts().await;
    assert_eq!(attempts.len(), 4);
    let by_code = |code: &str| {
        attempts
            .iter()
            .find(|a| a.code == code)
            .unwrap_or_else(|| panic!("{code}: {attempts:?}"))
    };
    let created = by_code("created");
    assert_eq!(created.event_id.as_deref(), Some(good.event_id.as_str()));
    assert_eq!(
        created.visitor_id.as_deref(),
        Some(good.visitor_id.as_str())
    );
    assert_eq!(created.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(created.verdict, "allow");
    assert!(created.account_id.is_some());
    assert!(created.created_at > 0);
    let refused = by_code("bot_detected");
    assert_eq!(refused.verdict, "block");
    assert_eq!(refused.visitor_id.as_deref(), Some(bot.visitor_id.as_str()));
    assert!(refused.codes.contains(&"bot_detected".to_string()));
    assert!(refused.signals.is_some());
    assert_eq!(by_code("request_id_not_found").verdict, "error");
    assert_eq!(by_code("invalid_request").verdict, "error");
}

/// The strength estimate costs milliseconds of CPU: it runs only for a signup the policy would
/// let through, so a bot in a flood is refused for what it is, whatever its password.
#[tokio::test]
async fn a_bot_is_refused_as_a_bot_before_its_password_is_judged() {
    let app = spawn_app().await;
    let bot = app.identify(fingerprint::simulator::Persona::BadBot);
    let body = json!({"requestId": bot.request_id, "username": "bot@example.org", "password": "password123"});
    let response = app.post_signup(body.to_string()).await;
    let status = response.status().as_u16();
    let json: serde_json::Value = response.json().await.unwrap();
    assert_error(status, &json, 403, "bot_detected");

    let person = app.identify(fingerprint::simulator::Persona::NewDevice);
    let body = json!({"requestId": person.request_id, "username": "ann@example.org", "password": "password123"});
    let response = app.post_signup(body.to_string()).await;
    let status = response.status().as_u16();
    let json: serde_json::Value = response.json().await.unwrap();
    assert_error(status, &json, 400, "invalid_request");
    assert!(
        json["error"].as_str().unwrap().contains("password"),
        "{json}"
    );
}
