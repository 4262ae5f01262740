//! The client over real HTTP against a scripted stub: every error class, every retry rule,
//! Retry-After, the deadline, and the auth headers of both API generations.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use fingerprint::{ApiVersion, Client, ClientConfig, FingerprintError, SecretKey};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEY: &str = "stub-secret-key-7c1e";

/// One scripted answer; the last one repeats.
#[derive(Clone)]
enum Answer {
    Json(u16, &'static str),
    RetryAfter(u16, &'static str),
    Hang,
    Text(u16, &'static str),
    Redirect(&'static str),
    /// A 200 with this body, after this many milliseconds.
    Slow(u64, &'static str),
}

#[derive(Default)]
struct Stub {
    script: Mutex<VecDeque<Answer>>,
    seen: Mutex<Vec<(String, HeaderMap, Instant)>>,
}

const EVENT_V4: &str = r#"{"event_id":"1.abc","timestamp":1,"identification":{"visitor_id":"V1","confidence":{"score":0.9}},"bot":"bad"}"#;
const EVENT_V3: &str = r#"{"products":{"identification":{"data":{"requestId":"1.abc","visitorId":"V1","timestamp":1}},"botd":{"data":{"bot":{"result":"notDetected"}}}}}"#;

async fn answer(stub: Arc<Stub>, path: String, headers: HeaderMap) -> Response {
    stub.seen
        .lock()
        .unwrap()
        .push((path, headers, Instant::now()));
    let next = {
        let mut script = stub.script.lock().unwrap();
        if script.len() > 1 {
            script.pop_front()
        } else {
            script.front().cloned()
        }
    };
    match next.expect("a scripted answer") {
        Answer::Json(status, body) => (
            StatusCode::from_u16(status).unwrap(),
            [("content-type", "application/json")],
            body,
        )
            .into_response(),
        Answer::RetryAfter(status, seconds) => (
            StatusCode::from_u16(status).unwrap(),
            [("retry-after", seconds)],
            "{}",
        )
            .into_response(),
        Answer::Text(status, body) => (StatusCode::from_u16(status).unwrap(), body).into_response(),
        Answer::Slow(ms, body) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            ([("content-type", "application/json")], body).into_response()
        }
        Answer::Redirect(location) => {
            (StatusCode::TEMPORARY_REDIRECT, [("location", location)]).into_response()
        }
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
    }
}

async fn stub(script: Vec<Answer>) -> (Arc<Stub>, String) {
    let stub = Arc::new(Stub {
        script: Mutex::new(script.into()),
        ..Stub::default()
    });
    let state = stub.clone();
    let handler = move |uri: axum::http::Uri, headers: HeaderMap| {
        let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
        answer(state.clone(), path.to_owned(), headers)
    };
    let app = Router::new()
        .route("/v4/events/{id}", get(handler.clone()))
        .route("/events/{id}", get(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (stub, url)
}

fn client(url: &str, version: ApiVersion, deadline_ms: u64) -> Client {
    let mut config = ClientConfig::new(SecretKey::new(KEY));
    config.base_url = Some(url.to_owned());
    config.api_version = version;
    config.deadline = Duration::from_millis(deadline_ms);
    config.retry.base_delay = Duration::from_millis(10);
    config.retry.not_found_delay = Duration::from_millis(30);
    Client::new(config).unwrap()
}

fn requests(stub: &Stub) -> usize {
    stub.seen.lock().unwrap().len()
}

#[tokio::test]
async fn v4_sends_a_bearer_key_to_the_v4_path_and_parses_the_event() {
    let (stub, url) = stub(vec![Answer::Json(200, EVENT_V4)]).await;
    let event = client(&url, ApiVersion::V4, 2000)
        .get_event("1.abc")
        .await
        .unwrap();
    assert_eq!(event.visitor_id.as_deref(), Some("V1"));
    assert_eq!(event.bot, Some(fingerprint::BotResult::Bad));
    let seen = stub.seen.lock().unwrap();
    assert_eq!(seen[0].0, "/v4/events/1.abc");
    assert_eq!(seen[0].1["authorization"], format!("Bearer {KEY}").as_str());
    assert!(seen[0].1.get("auth-api-key").is_none());
}

#[tokio::test]
async fn a_ruleset_id_is_sent_with_every_try_and_its_rule_action_read() {
    const WITH_ACTION: &str = r#"{"event_id":"1.abc","identification":{"visitor_id":"V1"},"rule_action":{"type":"block","ruleset_id":"rs_1","rule_id":"r_2","status_code":403}}"#;
    let (stub, url) = stub(vec![
        Answer::Json(503, "{}"),
        Answer::Json(200, WITH_ACTION),
    ])
    .await;
    let mut config = ClientConfig::new(SecretKey::new(KEY));
    config.base_url = Some(url);
    config.ruleset_id = Some("rs_1".into());
    config.retry.base_delay = Duration::from_millis(10);
    let event = Client::new(config)
        .unwrap()
        .get_event("1.abc")
        .await
        .unwrap();
    let action = event.rule_action.unwrap();
    assert_eq!(action.action, fingerprint::event::RuleActionType::Block);
    assert_eq!(action.rule_id.as_deref(), Some("r_2"));
    let seen = stub.seen.lock().unwrap();
    let paths: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/v4/events/1.abc?ruleset_id=rs_1",
            "/v4/events/1.abc?ruleset_id=rs_1"
        ],
        "the retry asks for the ruleset too"
    );
}

#[tokio::test]
async fn a_ruleset_the_workspace_does_not_have_is_not_a_missing_event() {
    let body = r#"{"error":{"code":"ruleset_not_found","message":"ruleset not found"}}"#;
    let (stub, url) = stub(vec![Answer::Json(404, body)]).await;
    let mut config = ClientConfig::new(SecretKey::new(KEY));
    config.base_url = Some(url);
    config.ruleset_id = Some("rs_gone".into());
    let error = Client::new(config)
        .unwrap()
        .get_event("1.abc")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, FingerprintError::Forbidden { code: Some(code), .. } if code == fingerprint::RULESET_NOT_FOUND_CODE),
        "{error:?}"
    );
    assert_eq!(requests(&stub), 1, "not retried like a lagging event");
}

#[tokio::test]
async fn v3_sends_the_auth_api_key_header_to_the_v3_path() {
    let (stub, url) = stub(vec![Answer::Json(200, EVENT_V3)]).await;
    let event = client(&url, ApiVersion::V3, 2000)
        .get_event("1.abc")
        .await
        .unwrap();
    assert_eq!(event.event_id, "1.abc");
    assert_eq!(event.bot, Some(fingerprint::BotResult::NotDetected));
    let seen = stub.seen.lock().unwrap();
    assert_eq!(seen[0].0, "/events/1.abc");
    assert_eq!(seen[0].1["auth-api-key"], KEY);
    assert!(seen[0].1.get("authorization").is_none());
}

#[tokio::test]
async fn a_404_is_retried_once_after_a_pause_then_reported_not_found() {
    let (stub, url) = stub(vec![Answer::Json(
        404,
        r#"{"error":{"code":"RequestNotFound","message":"x"}}"#,
    )])
    .await;
    let error = client(&url, ApiVersion::V4, 2000)
        .get_event("1.abc")
        .await
        .unwrap_err();
    assert!(matches!(error, FingerprintError::NotFound), "{error:?}");
    let seen = stub.seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert!(seen[1].2 - seen[0].2 >= Duration::from_millis(30));
}

#[tokio::test]
async fn an_event_that_lags_behind_identification_is_found_on_the_retry() {
    let (_, url) = stub(vec![Answer::Json(404, "{}"), Answer::Json(200, EVENT_V4)]).await;
    assert!(client(&url, ApiVersion::V4, 2000)
        .get_event("1.abc")
        .await
        .is_ok());
}

#[tokio::test]
async fn a_400_is_a_bad_request_and_not_retried() {
    let (stub, url) = stub(vec![Answer::Json(
        400,
        r#"{"error":{"code":"RequestBodyInvalid","message":"bad id"}}"#,
    )])
    .await;
    let error = client(&url, ApiVersion::V4, 2000)
        .get_event("1.abc")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, FingerprintError::BadRequest { code: Some(c), .. } if c == "RequestBodyInvalid"),
        "{error:?}"
    );
    assert_eq!(requests(&stub), 1);
}

#[tokio::test]
async fn a_403_keeps_the_api_code_and_is_not_retried() {
    let (stub, url) = stub(vec![Answer::Json(
        403,
        r#"{"error":{"code":"WrongRegion","message":"wrong region"}}"#,
    )])
    .await;
    let error = client(&url, ApiVersion::V4, 2000)
        .get_event("1.abc")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, FingerprintError::Forbidden { code: Some(c), .. } if c == "WrongRegion"),
        "{error:?}"
    );
    assert!(!error.is_transient());
    assert_eq!(requests(&stub), 1);
}

#[tokio::test]
async fn server_errors_are_retried_up_to_the_limit_then_unavailable() {
    let (stub, url) = stub(vec![Answer::Text(503, "busy")]).await;
    let error = client(&url, ApiVersion::V4, 2000)
        .get_event("1.abc")
        .await
        .unwrap_err();
    assert!(
        matches!(error, FingerprintError::Unavailable(_)),
        "{error:?}"
    );
    assert_eq!(requests(&stub), 3, "one try and two retries");
}

#[tokio::test]
async fn a_transient_failure_followed_by_success_succeeds() {
    let (stub, url) = stub(vec![Answer::Text(502, "x"), Answer::Json(200, EVENT_V4)]).await;
    assert!(client(&url, ApiVersion::V4, 2000)
        .get_event("1.abc")
        .await
        .is_ok());
    assert_eq!(requests(&stub), 2);
}

#[tokio::test]
async fn retry_after_is_waited_for_when_it_fits_the_deadline() {
    let (stub, url) = stub(vec![
        Answer::RetryAfter(429, "1"),
        Answer::Json(200, EVENT_V4),
    ])
    .await;
    assert!(client(&url, ApiVersion::V4, 3000)
        .get_event("1.abc")
        .await
        .is_ok());
    let seen = stub.seen.lock().unwrap();
    assert!(
        seen[1].2 - seen[0].2 >= Duration::from_secs(1),
        "waited {:?}",
        seen[1].2 - seen[0].2
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_deadline_is_reported_at_once() {
    let (stub, url) = stub(vec![Answer::RetryAfter(429, "30")]).await;
    let started = Instant::now();
    let error = client(&url, ApiVersion::V4, 2000)
        .get_event("1.abc")
        .await
        .unwrap_err();
    assert!(
        matches!(error, FingerprintError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(30)),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(requests(&stub), 1);
}

#[tokio::test]
async fn a_hung_api_is_abandoned_at_the_deadline() {
    let (_, url) = stub(vec![Answer::Hang]).await;
    let started = Instant::now();
    let error = client(&url, ApiVersion::V4, 500)
        .get_event("1.abc")
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(error, FingerprintError::Unavailable(_)),
        "{error:?}"
    );
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_millis(900),
        "took {took:?}"
    );
}

#[tokio::test]
async fn a_refused_connection_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let error = client(&url, ApiVersion::V4, 1000)
        .get_event("1.abc")
        .await
        .unwrap_err();
    assert!(
        matches!(error, FingerprintError::Unavailable(_)),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_non_json_200_is_unavailable_not_a_panic() {
    let (_, url) = stub(vec![Answer::Text(200, "<html>proxy error</html>")]).await;
    let error = client(&url, ApiVersion::V4, 1000)
        .get_event("1.abc")
        .await
        .unwrap_err();
    assert!(
        matches!(error, FingerprintError::Unavailable(_)),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_unsafe_event_id_never_reaches_the_network() {
    let (stub, url) = stub(vec![Answer::Json(200, EVENT_V4)]).await;
    let error = client(&url, ApiVersion::V4, 1000)
        .get_event("../admin")
        .await
        .unwrap_err();
    assert!(matches!(error, FingerprintError::InvalidEventId));
    assert_eq!(requests(&stub), 0);
}

#[test]
fn the_secret_key_never_appears_in_debug_or_display_output() {
    let key = SecretKey::new(KEY);
    let config = ClientConfig::new(key.clone());
    let client = Client::new(config.clone()).unwrap();
    for text in [
        format!("{key:?}"),
        format!("{key}"),
        format!("{config:?}"),
        format!("{client:?}"),
        format!("{client:#?}"),
    ] {
        assert!(!text.contains(KEY), "{text}");
    }
    assert_eq!(key.expose(), KEY);
}

mod common;

/// Every error body Fingerprint documents, served with the status its file name gives, is
/// classified by that status and keeps the API's code.
#[tokio::test]
async fn every_documented_error_body_is_classified_by_its_status() {
    let Some(dir) = common::fixtures_dir() else {
        return;
    };
    let mut files: Vec<_> = std::fs::read_dir(dir.join("v3/mocks/errors"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.push(dir.join("v3/mocks/get_visitors_400_bad_request.json"));
    files.push(dir.join("v3/mocks/get_visitors_403_forbidden.json"));
    files.push(dir.join("v3/mocks/get_visitors_429_too_many_requests.json"));
    files.sort();
    assert!(files.len() >= 23, "{files:?}");
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let status: u16 = name.trim_start_matches("get_visitors_")[..3]
            .parse()
            .unwrap();
        let body: &'static str =
            Box::leak(std::fs::read_to_string(&path).unwrap().into_boxed_str());
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        let code = json["error"]["code"].as_str().map(str::to_owned);
        let (_, url) = stub(vec![Answer::Json(status, body)]).await;
        let mut config = ClientConfig::new(SecretKey::new(KEY));
        config.base_url = Some(url);
        config.api_version = ApiVersion::V3;
        config.retry.max_retries = 0;
        config.retry.not_found_delay = Duration::from_millis(1);
        let error = Client::new(config)
            .unwrap()
            .get_event("1.abc")
            .await
            .unwrap_err();
        match (status, &error) {
            (404, FingerprintError::NotFound) => {}
            (400, FingerprintError::BadRequest { code: got, message }) => {
                assert_eq!(got, &code, "{name}");
                assert!(!message.is_empty(), "{name}");
            }
            // 409 is documented for updating an event, never for reading one: on a GET it is
            // not the API speaking about this event.
            (
                409,
                FingerprintError::Forbidden {
                    code: Some(got), ..
                },
            ) if got == fingerprint::UNEXPECTED_STATUS_CODE => {}
            (403, FingerprintError::Forbidden { code: got, message }) => {
                assert_eq!(got, &code, "{name}");
                assert!(!message.is_empty(), "{name}");
            }
            (429, FingerprintError::RateLimited { .. }) => {}
            _ => panic!("{name}: HTTP {status} gave {error:?}"),
        }
    }
}

#[tokio::test]
async fn a_hung_try_is_abandoned_and_retried_within_the_deadline() {
    let (stub, url) = stub(vec![Answer::Hang, Answer::Json(200, EVENT_V4)]).await;
    // 1 s in all: the first try is given half, then the second one answers.
    let event = client(&url, ApiVersion::V4, 1000)
        .get_event("1.abc")
        .await
        .unwrap();
    assert_eq!(event.visitor_id.as_deref(), Some("V1"));
    assert_eq!(requests(&stub), 2);
}

#[tokio::test]
async fn a_redirect_is_not_followed_so_the_v3_key_never_leaves_the_api_host() {
    let (elsewhere, elsewhere_url) = stub(vec![Answer::Json(200, EVENT_V3)]).await;
    let location: &'static str =
        Box::leak(format!("{elsewhere_url}/events/1.abc").into_boxed_str());
    let (redirecting, url) = stub(vec![Answer::Redirect(location)]).await;
    let error = client(&url, ApiVersion::V3, 1000)
        .get_event("1.abc")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, FingerprintError::Forbidden { code: Some(c), .. } if c == fingerprint::REDIRECT_CODE),
        "a wrong base URL, not a passing failure: {error:?}"
    );
    assert_eq!(requests(&redirecting), 1, "not retried");
    assert_eq!(requests(&elsewhere), 0, "the other host saw no request");
}

#[test]
fn secret_keys_compare_by_value() {
    assert_eq!(SecretKey::new(KEY), SecretKey::new(KEY));
    assert_ne!(SecretKey::new(KEY), SecretKey::new("stub-secret-key-7c1f"));
    assert_ne!(SecretKey::new(KEY), SecretKey::new("short"));
}

#[tokio::test]
async fn a_429_without_retry_after_is_retried_with_backoff_until_the_limit() {
    let (stub, url) = stub(vec![Answer::Json(429, "{}")]).await;
    let error = client(&url, ApiVersion::V4, 2000)
        .get_event("1.abc")
        .await
        .unwrap_err();
    assert!(
        matches!(error, FingerprintError::RateLimited { retry_after: None }),
        "{error:?}"
    );
    assert_eq!(requests(&stub), 3, "one try and two retries");
}

#[tokio::test]
async fn a_hung_api_is_tried_again_within_the_deadline_before_giving_up() {
    let (stub, url) = stub(vec![Answer::Hang]).await;
    let error = client(&url, ApiVersion::V4, 600)
        .get_event("1.abc")
        .await
        .unwrap_err();
    assert!(
        matches!(error, FingerprintError::Unavailable(_)),
        "{error:?}"
    );
    assert!(requests(&stub) >= 2, "the hung try was retried");
}

#[test]
fn the_defaults_are_one_second_to_connect_three_in_all_and_two_retries() {
    let config = ClientConfig::new(SecretKey::new(KEY));
    assert_eq!(config.connect_timeout, Duration::from_secs(1));
    assert_eq!(config.deadline, Duration::from_secs(3));
    assert_eq!(config.attempt_timeout, None, "half the deadline");
    assert_eq!(config.retry.max_retries, 2);
    assert_eq!(config.api_version, ApiVersion::V4);
}

/// An answer slower than the per-try limit but inside the deadline is still taken: the second
/// try races the first instead of replacing it.
#[tokio::test]
async fn a_slow_answer_inside_the_deadline_still_wins() {
    let (stub, url) = stub(vec![
        Answer::Slow(700, EVENT_V4),
        Answer::Slow(700, EVENT_V4),
    ])
    .await;
    // 1 s in all, so 500 ms a try: each answer takes 700 ms.
    let event = client(&url, ApiVersion::V4, 1000)
        .get_event("1.abc")
        .await
        .unwrap();
    assert_eq!(event.visitor_id.as_deref(), Some("V1"));
    assert_eq!(requests(&stub), 2, "a second try was raced at 500 ms");
}

/// A 408 means a server or proxy gave up waiting for our request: transient, so it is retried
/// like a timeout and ends as `Unavailable`, never as "no such event".
#[tokio::test]
async fn a_408_is_retried_like_a_timeout_then_unavailable() {
    for version in [ApiVersion::V4, ApiVersion::V3] {
        let (stub, url) = stub(vec![Answer::Text(408, "request timeout")]).await;
        let error = client(&url, version, 2000)
            .get_event("1.abc")
            .await
            .unwrap_err();
        assert!(
            matches!(&error, FingerprintError::Unavailable(why) if why.contains("408")),
            "{version:?}: {error:?}"
        );
        assert!(error.is_transient());
        assert_eq!(requests(&stub), 3, "{version:?}: one try and two retries");
    }
    let (stub, url) = stub(vec![
        Answer::Text(408, "request timeout"),
        Answer::Json(200, EVENT_V4),
    ])
    .await;
    let event = client(&url, ApiVersion::V4, 2000)
        .get_event("1.abc")
        .await
        .unwrap();
    assert_eq!(event.visitor_id.as_deref(), Some("V1"));
    assert_eq!(requests(&stub), 2);
}

/// Statuses the events endpoint never answers (410, 418, 405, 407, 409, 451, ...) come from a
/// wrong base URL, a proxy or a retired API version. They must not say the event does not
/// exist, nor that the request was bad; retrying gets the same answer, so they are reported at
/// once as a configuration problem, with a message that does not quote the foreign body.
#[tokio::test]
async fn undocumented_4xx_statuses_are_a_misconfiguration_not_a_missing_event() {
    for status in [405, 407, 409, 410, 411, 413, 418, 421, 451, 499] {
        for version in [ApiVersion::V4, ApiVersion::V3] {
            let (stub, url) = stub(vec![Answer::Json(
                status,
                r#"{"error":{"code":"RequestNotFound","message":"forged\nline"}}"#,
            )])
            .await;
            let error = client(&url, version, 2000)
                .get_event("1.abc")
                .await
                .unwrap_err();
            match &error {
                FingerprintError::Forbidden {
                    code: Some(code),
                    message,
                } if code == fingerprint::UNEXPECTED_STATUS_CODE => {
                    assert!(message.contains(&status.to_string()), "{message}");
                    assert!(!message.contains("forged"), "{message}");
                }
                other => panic!("HTTP {status} on {version:?} gave {other:?}"),
            }
            assert!(!error.is_transient());
            assert_eq!(requests(&stub), 1, "HTTP {status}: not retried");
        }
    }
}

/// Only the documented statuses speak about the event: 404 is "no such event" and 400 is "bad
/// event id", whatever the body says; 429 and 5xx stay transient.
#[tokio::test]
async fn only_documented_statuses_speak_about_the_event() {
    type Expect = fn(&FingerprintError) -> bool;
    let cases: [(u16, Expect); 6] = [
        (404, |e| matches!(e, FingerprintError::NotFound)),
        (400, |e| matches!(e, FingerprintError::BadRequest { .. })),
        (403, |e| {
            matches!(e, FingerprintError::Forbidden { code: None, .. })
        }),
        (429, |e| matches!(e, FingerprintError::RateLimited { .. })),
        (500, |e| matches!(e, FingerprintError::Unavailable(_))),
        (504, |e| matches!(e, FingerprintError::Unavailable(_))),
    ];
    for (status, expected) in cases {
        let (_, url) = stub(vec![Answer::Text(status, "<html>proxy page</html>")]).await;
        let error = client(&url, ApiVersion::V4, 2000)
            .get_event("1.abc")
            .await
            .unwrap_err();
        assert!(expected(&error), "HTTP {status} gave {error:?}");
    }
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// A 1 MiB visitor id from "the API" is refused, never handed on to be stored.
#[tokio::test]
async fn a_megabyte_visitor_id_is_refused_as_unavailable() {
    let huge = "V".repeat(1024 * 1024);
    let v4 = leak(format!(
        r#"{{"event_id":"1.abc","timestamp":1,"identification":{{"visitor_id":"{huge}"}}}}"#
    ));
    let v3 = leak(format!(
        r#"{{"products":{{"identification":{{"data":{{"requestId":"1.abc","visitorId":"{huge}"}}}}}}}}"#
    ));
    for (version, body) in [(ApiVersion::V4, v4), (ApiVersion::V3, v3)] {
        let (_, url) = stub(vec![Answer::Json(200, body)]).await;
        let error = client(&url, version, 2000)
            .get_event("1.abc")
            .await
            .unwrap_err();
        assert!(
            matches!(&error, FingerprintError::Unavailable(why) if why.contains("limit")),
            "{version:?}: {error:?}"
        );
    }
}

/// A visitor id just past its bound, in a small body, is refused by the field check itself,
/// and the message names the field.
#[tokio::test]
async fn an_oversized_identifier_in_a_small_body_is_refused_by_name() {
    let long_id = "V".repeat(fingerprint::event::MAX_VISITOR_ID_LEN + 1);
    let body = leak(format!(
        r#"{{"event_id":"1.abc","identification":{{"visitor_id":"{long_id}"}}}}"#
    ));
    let (_, url) = stub(vec![Answer::Json(200, body)]).await;
    let error = client(&url, ApiVersion::V4, 2000)
        .get_event("1.abc")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, FingerprintError::Unavailable(why) if why.contains("visitor_id")),
        "{error:?}"
    );
}

/// A body past the event size limit is refused whether it is a 200 or an error status, before
/// it is parsed.
#[tokio::test]
async fn an_oversized_body_is_refused() {
    let padding = " ".repeat(fingerprint::event::MAX_EVENT_BYTES);
    let big_event = leak(format!("{EVENT_V4}{padding}"));
    for status in [200, 404, 503] {
        let (_, url) = stub(vec![Answer::Json(status, big_event)]).await;
        let error = client(&url, ApiVersion::V4, 2000)
            .get_event("1.abc")
            .await
            .unwrap_err();
        assert!(
            matches!(&error, FingerprintError::Unavailable(why) if why.contains("limit")),
            "HTTP {status}: {error:?}"
        );
    }
    // The same event with room to spare still parses.
    let fits = leak(format!(
        "{EVENT_V4}{}",
        " ".repeat(fingerprint::event::MAX_EVENT_BYTES - EVENT_V4.len())
    ));
    let (_, url) = stub(vec![Answer::Json(200, fits)]).await;
    assert!(client(&url, ApiVersion::V4, 2000)
        .get_event("1.abc")
        .await
        .is_ok());
}
