//! The fraud policy end to end: simulator personas through real HTTP, the default policy and
//! policies read from `tests/fixtures/*.toml`, shadow mode, freshness, origin and IP binding,
//! rule order, and the audit trail at `GET /api/attempts`.
//!
//! Expectations come from the documented defaults (`signup-guard.example.toml`) and the rule
//! order documented in `src/policy/rules.rs` and `src/policy/signals.rs`, not from observed output.

use crate::common::*;
use fingerprint::simulator::{Identified, IdentifyRequest, Persona};
use serde_json::{json, Value};
use signup_guard::policy::{self, Outcome, Policy};
use signup_guard::store::AttemptRow;
use std::path::PathBuf;

/// A policy file from `tests/fixtures`, read the way `serve` reads it.
pub fn fixture(name: &str) -> Policy {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    policy::load_file(&path).unwrap_or_else(|e| panic!("{name}: {e}"))
}

async fn spawn_with_policy(policy: Policy) -> TestApp {
    spawn_app_with(Options {
        policy,
        ..Options::default()
    })
    .await
}

/// A signup with extra request headers (`Origin`, `X-Forwarded-For`).
async fn signup_with_headers(
    app: &TestApp,
    request_id: &str,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let body =
        json!({ "requestId": request_id, "username": username(), "password": STRONG_PASSWORD });
    let mut request = app
        .http
        .post(format!("{}/api/create-account", app.address))
        .header("content-type", "application/json")
        .body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("the request is sent");
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

/// The one recorded attempt for an event.
pub async fn attempt_for(app: &TestApp, event_id: &str) -> AttemptRow {
    let matching: Vec<AttemptRow> = app
        .attempts()
        .await
        .into_iter()
        .filter(|a| a.event_id.as_deref() == Some(event_id))
        .collect();
    assert_eq!(
        matching.len(),
        1,
        "exactly one attempt recorded for {event_id}: {matching:?}"
    );
    matching.into_iter().next().unwrap()
}

/// Asserts a 200 answer: `created` without codes, or `review` with exactly these codes.
pub fn assert_accepted(status: u16, body: &Value, outcome: &str, codes: &[&str]) {
    assert_eq!(status, 200, "body: {body}");
    assert_eq!(body["status"], outcome, "body: {body}");
    assert!(
        body["accountId"].as_i64().is_some_and(|id| id > 0),
        "body: {body}"
    );
    if outcome == "review" {
        assert_eq!(body["codes"], json!(codes), "body: {body}");
    } else {
        assert!(
            body.get("codes").is_none(),
            "a created account lists no codes: {body}"
        );
    }
}

/// One persona under the default policy.
struct Case {
    persona: Persona,
    status: u16,
    /// `created` or `review` for 200, else the error code.
    answer: &'static str,
    /// The recorded would-be verdict.
    verdict: &'static str,
    /// Every rule that fired, in rule order.
    codes: &'static [&'static str],
}

const fn case(
    persona: Persona,
    status: u16,
    answer: &'static str,
    verdict: &'static str,
    codes: &'static [&'static str],
) -> Case {
    Case {
        persona,
        status,
        answer,
        verdict,
        codes,
    }
}

/// The default actions (signup-guard.example.toml) applied to what each persona carries, with a
/// Rules Engine ruleset configured. The
/// simulator's suspect scores (bad bot 26, tor 22) reach the default threshold of 20, so
/// `suspect_score` fires beside the primary signal for them.
#[rustfmt::skip]
const DEFAULT_CASES: &[Case] = &[
    case(Persona::NewDevice,          200, "created",            "allow",  &[]),
    case(Persona::ReturningDevice,    200, "created",            "allow",  &[]),
    case(Persona::BadBot,             403, "bot_detected",       "block",  &["bot_detected", "suspect_score"]),
    case(Persona::GoodBot,            403, "bot_detected",       "block",  &["bot_detected"]),
    case(Persona::Vpn,                200, "review",             "review", &["vpn_detected"]),
    case(Persona::Proxy,              200, "review",             "review", &["proxy_detected"]),
    case(Persona::Tor,                403, "tor_detected",       "block",  &["tor_detected", "suspect_score"]),
    case(Persona::Tampering,          403, "tampering_detected", "block",  &["tampering_detected", "anti_detect_browser"]),
    case(Persona::VirtualMachine,     200, "created",            "allow",  &["virtual_machine"]),
    case(Persona::Incognito,          200, "created",            "allow",  &["incognito"]),
    case(Persona::LowConfidence,      200, "review",             "review", &["low_confidence"]),
    case(Persona::Replayed,           403, "replayed_event",     "block",  &["replayed_event"]),
    case(Persona::HighSuspectScore,   200, "review",             "review", &["suspect_score"]),
    case(Persona::PartiallyCompleted, 200, "created",            "allow",  &[]),
    case(Persona::Datacenter,         200, "review",             "review", &["datacenter_ip"]),
    case(Persona::RulesetBlock,       403, "fingerprint_rule",   "block",  &["fingerprint_rule"]),
];

#[tokio::test]
async fn every_persona_gets_the_documented_answer_under_the_default_policy() {
    let covered: Vec<Persona> = DEFAULT_CASES.iter().map(|c| c.persona).collect();
    assert_eq!(covered, Persona::ALL, "the table covers every persona once");
    for case in DEFAULT_CASES {
        // A fresh app per persona: a returning device must not come back as an earlier row's
        // visitor. Each asks for a ruleset, which blocks only the persona that stands for it.
        let app = spawn_app_with(Options {
            ruleset_id: Some("rs_team".into()),
            ..Options::default()
        })
        .await;
        let event = app.identify(case.persona);
        let (status, body) = app.signup(&event.request_id).await;
        let persona = case.persona;
        assert_eq!(status, case.status, "{persona}: {body}");
        match status {
            200 => assert_accepted(status, &body, case.answer, case.codes),
            _ => assert_error(status, &body, case.status, case.answer),
        }
        match persona {
            Persona::BadBot => assert_eq!(body["botResult"], "bad", "{body}"),
            Persona::GoodBot => assert_eq!(body["botResult"], "good", "{body}"),
            _ => assert!(body.get("botResult").is_none(), "{persona}: {body}"),
        }
        let expected_accounts = i64::from(status == 200);
        assert_eq!(app.accounts().await, expected_accounts, "{persona}");

        let attempt = attempt_for(&app, &event.event_id).await;
        assert_eq!(attempt.verdict, case.verdict, "{persona}: {attempt:?}");
        assert_eq!(attempt.code, case.answer, "{persona}: {attempt:?}");
        assert_eq!(attempt.codes, case.codes, "{persona}: {attempt:?}");
        assert!(!attempt.shadow, "{persona}");
        assert_eq!(
            attempt.visitor_id.as_deref(),
            Some(event.visitor_id.as_str()),
            "{persona}"
        );
        assert_eq!(
            attempt.policy_hash.as_deref(),
            Some(Policy::default().hash().as_str()),
            "{persona}"
        );
        assert_eq!(
            attempt.account_id.is_some(),
            status == 200,
            "{persona}: {attempt:?}"
        );
        let signals = attempt
            .signals
            .as_ref()
            .unwrap_or_else(|| panic!("{persona}: a signals snapshot"));
        assert_eq!(
            signals.event.event_id, event.event_id,
            "{persona}: {signals:?}"
        );
        let context = &signals.context;
        assert_eq!(
            context.client_ip,
            Some([127, 0, 0, 1].into()),
            "{persona}: {signals:?}"
        );
        assert_eq!(context.origin, None, "{persona}: {signals:?}");
        assert_eq!(context.device_accounts, 0, "{persona}: {signals:?}");
        assert_eq!(context.now_ms, attempt.created_at, "{persona}: {signals:?}");
    }
}

/// The recorded snapshot replays to the recorded codes, and a partial identification's Smart
/// Signals are recorded as skipped, never as passed.
#[tokio::test]
async fn a_partial_identification_skips_smart_signals_but_still_counts_toward_the_device_limit() {
    let app = spawn_app().await;
    let first = app.identify(Persona::PartiallyCompleted);
    let (status, body) = app.signup(&first.request_id).await;
    assert_accepted(status, &body, "created", &[]);

    let attempt = attempt_for(&app, &first.event_id).await;
    let snapshot = attempt.signals.expect("a snapshot");
    assert!(!snapshot.event.has_smart_signals());
    assert_eq!(snapshot.context.device_accounts, 0);
    let decision = snapshot.evaluate(&Policy::default());
    assert!(decision.codes().is_empty(), "{decision:?}");
    for rule in [
        "bot_bad",
        "vpn",
        "tor",
        "tampering",
        "virtual_machine",
        "incognito",
        "high_suspect_score",
    ] {
        let check = decision
            .checks
            .iter()
            .find(|c| c.rule == rule)
            .unwrap_or_else(|| panic!("{rule} is checked"));
        assert_eq!(check.outcome, Outcome::Skipped, "{check:?}");
    }
    let identity = decision
        .checks
        .iter()
        .find(|c| c.rule == "visitor_id")
        .unwrap();
    assert_eq!(identity.outcome, Outcome::Passed);

    // The same device again, still partially identified: its first account counts.
    let again = app.identify_with(IdentifyRequest {
        persona: Persona::PartiallyCompleted,
        visitor_id: Some(first.visitor_id.clone()),
        ..IdentifyRequest::default()
    });
    let (status, body) = app.signup(&again.request_id).await;
    assert_error(status, &body, 429, "device_limit");
    assert_eq!(body["visitorId"], first.visitor_id);
    assert_eq!(app.accounts().await, 1);
}

#[tokio::test]
async fn a_custom_policy_file_changes_the_answers() {
    let strict = fixture("strict.toml");
    assert_eq!(strict.rules.vpn, policy::Action::Block);
    let app = spawn_with_policy(strict.clone()).await;

    let vpn = app.identify(Persona::Vpn);
    let (status, body) = app.signup(&vpn.request_id).await;
    assert_error(status, &body, 403, "vpn_detected");
    let attempt = attempt_for(&app, &vpn.event_id).await;
    assert_eq!(
        (attempt.verdict.as_str(), attempt.code.as_str()),
        ("block", "vpn_detected")
    );
    assert_eq!(attempt.policy_hash.as_deref(), Some(strict.hash().as_str()));
    assert_ne!(strict.hash(), Policy::default().hash());

    let vm = app.identify(Persona::VirtualMachine);
    let (status, body) = app.signup(&vm.request_id).await;
    assert_accepted(status, &body, "review", &["virtual_machine"]);

    let crawler = app.identify(Persona::GoodBot);
    let (status, body) = app.signup(&crawler.request_id).await;
    assert_accepted(status, &body, "created", &[]);
    let attempt = attempt_for(&app, &crawler.event_id).await;
    assert_eq!(attempt.verdict, "allow");
    assert_eq!(
        attempt.codes,
        ["bot_detected"],
        "an allowed rule is still recorded as evidence"
    );

    // Rules the file leaves alone keep their defaults.
    let bad = app.identify(Persona::BadBot);
    let (status, body) = app.signup(&bad.request_id).await;
    assert_error(status, &body, 403, "bot_detected");
    assert_eq!(body["botResult"], "bad");
    let proxy = app.identify(Persona::Proxy);
    let (status, body) = app.signup(&proxy.request_id).await;
    assert_accepted(status, &body, "review", &["proxy_detected"]);
    assert_eq!(app.accounts().await, 3);
}

#[tokio::test]
async fn shadow_mode_creates_the_account_but_records_the_would_be_block() {
    let shadow = fixture("shadow.toml");
    assert!(shadow.shadow);
    let app = spawn_with_policy(shadow).await;
    for (persona, codes) in [
        (Persona::BadBot, ["bot_detected", "suspect_score"]),
        (Persona::Tor, ["tor_detected", "suspect_score"]),
    ] {
        let event = app.identify(persona);
        let (status, body) = app.signup(&event.request_id).await;
        assert_accepted(status, &body, "created", &[]);
        let attempt = attempt_for(&app, &event.event_id).await;
        assert_eq!(attempt.verdict, "block", "{persona}: {attempt:?}");
        assert_eq!(attempt.code, "created", "{persona}: {attempt:?}");
        assert_eq!(attempt.codes, codes, "{persona}: {attempt:?}");
        assert!(attempt.shadow, "{persona}: {attempt:?}");
        assert!(attempt.account_id.is_some(), "{persona}: {attempt:?}");
    }
    assert_eq!(app.accounts().await, 2);
    // The store's device quota is lifted too: a second account from one device is created,
    // and recorded as the block it would have been.
    for _ in 0..2 {
        let event = app.fingerprint().device("shadow-shared-device");
        let (status, body) = app.signup(&event.request_id).await;
        assert_accepted(status, &body, "created", &[]);
    }
    assert_eq!(app.accounts().await, 4);
}

#[tokio::test]
async fn old_events_are_stale_beyond_max_event_age_seconds() {
    let app = spawn_app().await;
    let limit = Policy::default().max_event_age_seconds;
    assert_eq!(limit, 120);
    let aged = |age| {
        app.identify_with(IdentifyRequest {
            age_seconds: Some(age),
            ..IdentifyRequest::default()
        })
    };

    let old = aged(300);
    let (status, body) = app.signup(&old.request_id).await;
    assert_error(status, &body, 403, "stale_event");
    let attempt = attempt_for(&app, &old.event_id).await;
    assert_eq!(attempt.codes, ["stale_event"]);

    // "Refuse events older than this": one second inside the limit passes, one past it does not.
    // (Exactly at the limit cannot be hit over HTTP: time passes between identify and signup.)
    let inside = aged(limit - 1);
    let (status, body) = app.signup(&inside.request_id).await;
    assert_accepted(status, &body, "created", &[]);
    let past = aged(limit + 1);
    let (status, body) = app.signup(&past.request_id).await;
    assert_error(status, &body, 403, "stale_event");

    // 0 turns freshness checks off.
    let app = spawn_with_policy(Policy {
        max_event_age_seconds: 0,
        ..Policy::default()
    })
    .await;
    let old = app.identify_with(IdentifyRequest {
        age_seconds: Some(300),
        ..IdentifyRequest::default()
    });
    let (status, body) = app.signup(&old.request_id).await;
    assert_accepted(status, &body, "created", &[]);
}

#[tokio::test]
async fn events_from_another_origin_are_refused() {
    let origins = fixture("origins.toml");
    assert_eq!(origins.allowed_origins, ["https://shop.example"]);
    let app = spawn_with_policy(origins).await;
    let at = |url: &str| {
        app.identify_with(IdentifyRequest {
            url: Some(url.into()),
            ..IdentifyRequest::default()
        })
    };

    let harvested = at("https://evil.example/signup");
    let (status, body) = signup_with_headers(
        &app,
        &harvested.request_id,
        &[("origin", "https://shop.example")],
    )
    .await;
    assert_error(status, &body, 403, "origin_mismatch");
    assert_eq!(
        attempt_for(&app, &harvested.event_id).await.codes,
        ["origin_mismatch"]
    );

    // Identified on our page but posted from another site.
    let cross_site = at("https://shop.example/signup");
    let (status, body) = signup_with_headers(
        &app,
        &cross_site.request_id,
        &[("origin", "https://evil.example")],
    )
    .await;
    assert_error(status, &body, 403, "origin_mismatch");

    // Both ours; origins compare after normalization (case, default port).
    let ours = at("HTTPS://Shop.Example:443/signup?step=2");
    let (status, body) = signup_with_headers(
        &app,
        &ours.request_id,
        &[("origin", "https://shop.example")],
    )
    .await;
    assert_accepted(status, &body, "created", &[]);
    let attempt = attempt_for(&app, &ours.event_id).await;
    assert_eq!(
        attempt.signals.unwrap().context.origin.as_deref(),
        Some("https://shop.example")
    );

    // docs/policy.md: the Origin header must be allowed "when present"; a page URL is required.
    let no_header = at("https://shop.example/signup");
    let (status, body) = app.signup(&no_header.request_id).await;
    assert_accepted(status, &body, "created", &[]);
    let opaque = at("data:text/html,hi");
    let (status, body) = app.signup(&opaque.request_id).await;
    assert_error(status, &body, 403, "origin_mismatch");
}

#[tokio::test]
async fn ip_binding_uses_the_address_written_by_the_trusted_proxy() {
    const EVENT_IP: &str = "203.0.113.7";
    let binding = fixture("ip_binding.toml");
    assert!(binding.ip_binding);
    assert_eq!(binding.trusted_proxy_hops, 1);
    let app = spawn_with_policy(binding.clone()).await;
    let from = |app: &TestApp, ip: &str| {
        app.identify_with(IdentifyRequest {
            ip: Some(ip.into()),
            ..IdentifyRequest::default()
        })
    };

    let elsewhere = from(&app, EVENT_IP);
    let (status, body) = signup_with_headers(
        &app,
        &elsewhere.request_id,
        &[("x-forwarded-for", "198.51.100.9")],
    )
    .await;
    assert_error(status, &body, 403, "ip_mismatch");
    let attempt = attempt_for(&app, &elsewhere.event_id).await;
    assert_eq!(attempt.codes, ["ip_mismatch"]);
    assert_eq!(attempt.ip.as_deref(), Some("198.51.100.9"));

    let same = from(&app, EVENT_IP);
    let (status, body) =
        signup_with_headers(&app, &same.request_id, &[("x-forwarded-for", EVENT_IP)]).await;
    assert_accepted(status, &body, "created", &[]);

    // Only the rightmost entry was written by our proxy; what the client put left of it is ignored.
    let spoofed = from(&app, EVENT_IP);
    let xff = format!("{EVENT_IP}, 198.51.100.9");
    let (status, body) =
        signup_with_headers(&app, &spoofed.request_id, &[("x-forwarded-for", &xff)]).await;
    assert_error(status, &body, 403, "ip_mismatch");

    // Without trusted hops the header is ignored and the TCP peer (127.0.0.1) is the client.
    let direct = spawn_with_policy(Policy {
        trusted_proxy_hops: 0,
        ..binding
    })
    .await;
    let forged = from(&direct, EVENT_IP);
    let (status, body) = signup_with_headers(
        &direct,
        &forged.request_id,
        &[("x-forwarded-for", EVENT_IP)],
    )
    .await;
    assert_error(status, &body, 403, "ip_mismatch");
    assert_eq!(
        attempt_for(&direct, &forged.event_id).await.ip.as_deref(),
        Some("127.0.0.1")
    );
    let local = from(&direct, "127.0.0.1");
    let (status, body) = signup_with_headers(
        &direct,
        &local.request_id,
        &[("x-forwarded-for", "198.51.100.9")],
    )
    .await;
    assert_accepted(status, &body, "created", &[]);
}

/// docs/policy.md, *Client IP*: "Several headers must be joined with `,` in order". A client
/// can send its own `X-Forwarded-For`; a proxy that adds its own header line after it must
/// still be the one that is trusted.
#[tokio::test]
async fn several_forwarded_for_headers_are_joined_before_the_trusted_hop_is_taken() {
    const EVENT_IP: &str = "203.0.113.7";
    let app = spawn_with_policy(fixture("ip_binding.toml")).await;
    let from = |ip: &str| {
        app.identify_with(IdentifyRequest {
            ip: Some(ip.into()),
            ..IdentifyRequest::default()
        })
    };

    // The client claims the event's IP; the trusted proxy saw 198.51.100.9.
    let harvested = from(EVENT_IP);
    let (status, body) = signup_with_headers(
        &app,
        &harvested.request_id,
        &[
            ("x-forwarded-for", EVENT_IP),
            ("x-forwarded-for", "198.51.100.9"),
        ],
    )
    .await;
    assert_error(status, &body, 403, "ip_mismatch");
    let attempt = attempt_for(&app, &harvested.event_id).await;
    assert_eq!(attempt.ip.as_deref(), Some("198.51.100.9"));

    // And the other way round: the proxy's line is the one that counts.
    let honest = from(EVENT_IP);
    let (status, body) = signup_with_headers(
        &app,
        &honest.request_id,
        &[
            ("x-forwarded-for", "198.51.100.9"),
            ("x-forwarded-for", EVENT_IP),
        ],
    )
    .await;
    assert_accepted(status, &body, "created", &[]);
}

#[tokio::test]
async fn the_answer_names_the_first_rule_in_order_and_the_record_keeps_them_all() {
    let policy = Policy {
        allowed_origins: vec!["https://shop.example".into()],
        ..Policy::default()
    };
    let app = spawn_with_policy(policy).await;
    // Stale, from another origin, and a Tor exit with a high suspect score: four rules fire.
    let event = app.identify_with(IdentifyRequest {
        persona: Persona::Tor,
        url: Some("https://evil.example/".into()),
        age_seconds: Some(300),
        ..IdentifyRequest::default()
    });
    let (status, body) = app.signup(&event.request_id).await;
    assert_error(status, &body, 403, "stale_event");
    let attempt = attempt_for(&app, &event.event_id).await;
    assert_eq!(attempt.code, "stale_event");
    assert_eq!(
        attempt.codes,
        [
            "stale_event",
            "origin_mismatch",
            "tor_detected",
            "suspect_score"
        ]
    );

    // A stale bad bot: freshness comes before the Smart Signals, so the answer is not bot_detected.
    let policy = Policy {
        suspect_score_threshold: 100,
        ..Policy::default()
    };
    let app = spawn_with_policy(policy).await;
    let event = app.identify_with(IdentifyRequest {
        persona: Persona::BadBot,
        age_seconds: Some(300),
        ..IdentifyRequest::default()
    });
    let (status, body) = app.signup(&event.request_id).await;
    assert_error(status, &body, 403, "stale_event");
    assert!(
        body.get("botResult").is_none(),
        "the answer is about the stale event: {body}"
    );
    assert_eq!(
        attempt_for(&app, &event.event_id).await.codes,
        ["stale_event", "bot_detected"]
    );
}

#[tokio::test]
async fn the_answer_names_the_first_rule_with_the_winning_action() {
    // A VPN (review) and a suspect score past a lowered threshold (block): the block wins, so
    // the answer names suspect_score although vpn_detected comes first.
    let mut policy = Policy {
        suspect_score_threshold: 5,
        ..Policy::default()
    };
    policy.rules.high_suspect_score = policy::Action::Block;
    let app = spawn_with_policy(policy).await;
    let event = app.identify(Persona::Vpn);
    let (status, body) = app.signup(&event.request_id).await;
    assert_error(status, &body, 403, "suspect_score");
    let attempt = attempt_for(&app, &event.event_id).await;
    assert_eq!(attempt.verdict, "block");
    assert_eq!(attempt.codes, ["vpn_detected", "suspect_score"]);

    // Two review rules: the response lists both, in rule order.
    let policy = Policy {
        min_confidence: 0.995,
        suspect_score_threshold: 5,
        ..Policy::default()
    };
    let app = spawn_with_policy(policy).await;
    let event = app.identify(Persona::Vpn);
    let (status, body) = app.signup(&event.request_id).await;
    assert_accepted(
        status,
        &body,
        "review",
        &["vpn_detected", "suspect_score", "low_confidence"],
    );
}

/// Signups whose outcomes the attempts test lists: (persona, verdict, answered code).
const TRAIL: &[(Persona, &str, &str)] = &[
    (Persona::Vpn, "review", "review"),
    (Persona::Tor, "block", "tor_detected"),
    (Persona::NewDevice, "allow", "created"),
    (Persona::Proxy, "review", "review"),
    (Persona::BadBot, "block", "bot_detected"),
    (Persona::NewDevice, "allow", "created"),
    (Persona::Incognito, "allow", "created"),
];

async fn list_attempts(app: &TestApp, query: &str) -> Value {
    let response = app
        .get(&format!("/api/attempts{query}"), Some(ADMIN_TOKEN))
        .await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{query}: {body}");
    body
}

fn event_ids(body: &Value) -> Vec<String> {
    body["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["eventId"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn attempts_can_be_filtered_paginated_and_carry_their_reasons() {
    let app = spawn_app().await;
    let mut events: Vec<Identified> = Vec::new();
    for (persona, _, code) in TRAIL {
        let event = app.identify(*persona);
        let (status, body) = app.signup(&event.request_id).await;
        match *code {
            "created" | "review" => assert_eq!(
                (status, body["status"].as_str()),
                (200, Some(*code)),
                "{body}"
            ),
            _ => assert_eq!(body["code"], *code, "{body}"),
        }
        events.push(event);
    }
    let id_of = |persona: Persona| -> Vec<String> {
        // Newest first, as the API lists them.
        TRAIL
            .iter()
            .zip(&events)
            .rev()
            .filter(|((p, _, _), _)| *p == persona)
            .map(|(_, e)| e.event_id.clone())
            .collect()
    };

    // Admin only.
    let response = app.get("/api/attempts", None).await;
    let status = response.status().as_u16();
    assert_error(status, &response.json().await.unwrap(), 401, "unauthorized");
    let response = app.get("/api/attempts", Some("not-the-token")).await;
    let status = response.status().as_u16();
    assert_error(status, &response.json().await.unwrap(), 401, "unauthorized");

    // Everything, newest first, with the reasons.
    let all = list_attempts(&app, "").await;
    let all_ids = event_ids(&all);
    let expected: Vec<String> = events.iter().rev().map(|e| e.event_id.clone()).collect();
    assert_eq!(all_ids, expected);
    assert_eq!(all["nextBefore"], Value::Null);
    for (attempt, (persona, verdict, code)) in all["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .zip(TRAIL.iter().rev())
    {
        assert_eq!(attempt["verdict"], *verdict, "{persona}: {attempt}");
        assert_eq!(attempt["code"], *code, "{persona}: {attempt}");
        assert!(attempt["codes"].is_array(), "{attempt}");
        assert!(attempt["signals"]["event"].is_object(), "{attempt}");
        assert!(attempt["signals"]["context"]["nowMs"].is_i64(), "{attempt}");
        assert_eq!(attempt["policyHash"], Policy::default().hash(), "{attempt}");
        assert_eq!(attempt["shadow"], false, "{attempt}");
        assert!(
            attempt["createdAt"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z')),
            "{attempt}"
        );
    }
    let vpn = &all["attempts"][TRAIL.len() - 1];
    assert_eq!(vpn["codes"], json!(["vpn_detected"]), "{vpn}");

    // By verdict.
    let blocked = list_attempts(&app, "?verdict=block").await;
    let mut expected = id_of(Persona::BadBot);
    expected.extend(id_of(Persona::Tor));
    assert_eq!(event_ids(&blocked), expected);
    let reviewed = list_attempts(&app, "?verdict=review").await;
    let mut expected = id_of(Persona::Proxy);
    expected.extend(id_of(Persona::Vpn));
    assert_eq!(event_ids(&reviewed), expected);
    let bad = app
        .get("/api/attempts?verdict=maybe", Some(ADMIN_TOKEN))
        .await;
    let status = bad.status().as_u16();
    assert_error(status, &bad.json().await.unwrap(), 400, "invalid_request");

    // By code: the answered code, or any rule that fired.
    let tor = list_attempts(&app, "?code=tor_detected").await;
    assert_eq!(event_ids(&tor), id_of(Persona::Tor));

    // Pagination: pages of 3 follow nextBefore until it is null, without gaps or repeats.
    let mut paged = Vec::new();
    let mut query = "?limit=3".to_string();
    let mut pages = 0;
    loop {
        let page = list_attempts(&app, &query).await;
        let ids = event_ids(&page);
        assert!(ids.len() <= 3, "{page}");
        paged.extend(ids);
        pages += 1;
        assert!(pages <= TRAIL.len(), "pagination terminates");
        match page["nextBefore"].as_i64() {
            Some(before) => {
                let last_id = page["attempts"].as_array().unwrap().last().unwrap()["id"].as_i64();
                assert_eq!(Some(before), last_id, "{page}");
                query = format!("?limit=3&before={before}");
            }
            None => break,
        }
    }
    assert_eq!(paged, all_ids);
    assert_eq!(pages, 3, "7 attempts in pages of 3");
    let filtered_page = list_attempts(&app, "?verdict=allow&limit=2").await;
    assert_eq!(
        event_ids(&filtered_page),
        id_of(Persona::Incognito)
            .into_iter()
            .chain(id_of(Persona::NewDevice).into_iter().take(1))
            .collect::<Vec<_>>()
    );
    let before = filtered_page["nextBefore"].as_i64().expect("a next page");
    let rest = list_attempts(&app, &format!("?verdict=allow&limit=2&before={before}")).await;
    assert_eq!(event_ids(&rest), id_of(Persona::NewDevice)[1..]);

    // Rules that fired without naming the answer are found too (searched in the codes list).
    let vpn = list_attempts(&app, "?code=vpn_detected").await;
    assert_eq!(
        event_ids(&vpn),
        id_of(Persona::Vpn),
        "a fired rule is found although the answer was review"
    );
    let scored = list_attempts(&app, "?code=suspect_score").await;
    let mut expected = id_of(Persona::BadBot);
    expected.extend(id_of(Persona::Tor));
    assert_eq!(event_ids(&scored), expected);
    let allowed_evidence = list_attempts(&app, "?code=incognito").await;
    assert_eq!(event_ids(&allowed_evidence), id_of(Persona::Incognito));
    let combined = list_attempts(&app, "?verdict=review&code=proxy_detected").await;
    assert_eq!(event_ids(&combined), id_of(Persona::Proxy));
    let none = list_attempts(&app, "?verdict=block&code=vpn_detected").await;
    assert_eq!(event_ids(&none), Vec::<String>::new());
}

/// A header that is not text used to count as absent, and an absent Origin is allowed: one
/// byte past ASCII turned a refused cross-site post into an accepted one.
#[tokio::test]
async fn an_origin_header_that_is_not_text_is_not_taken_for_no_origin() {
    let app = spawn_with_policy(fixture("origins.toml")).await;
    let event = app.identify_with(IdentifyRequest {
        url: Some("https://shop.example/signup".into()),
        ..IdentifyRequest::default()
    });
    let body = json!({ "requestId": event.request_id, "username": username(), "password": STRONG_PASSWORD });
    let origin = reqwest::header::HeaderValue::from_bytes(b"https://evil.example\xe9").unwrap();
    let response = app
        .http
        .post(format!("{}/api/create-account", app.address))
        .header("content-type", "application/json")
        .header("origin", origin)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_error(status, &body, 403, "origin_mismatch");
    assert_eq!(app.accounts().await, 0);
}
