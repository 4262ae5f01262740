#![cfg(feature = "simulator")]
//! The simulator over real HTTP: shapes, authentication, faults and latency as a client sees
//! them.

use fingerprint::event::RuleActionType;
use fingerprint::sealed::{self, DecryptionKey};
use fingerprint::simulator::{
    EventFetch, ExtraSignal, Fault, Identified, IdentifyRequest, Persona, RuleVerdict, Simulator,
    SimulatorConfig, SimulatorHandle, BLOCK_RULE_ID,
};
use fingerprint::{BotResult, Event, IdentificationStatus};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const KEY: &str = "sim-secret-key";

async fn start() -> (Simulator, SimulatorHandle, reqwest::Client) {
    start_with(SimulatorConfig::default()).await
}

async fn start_with(config: SimulatorConfig) -> (Simulator, SimulatorHandle, reqwest::Client) {
    let sim = Simulator::new(config);
    let handle = sim
        .spawn("127.0.0.1:0".parse().unwrap())
        .await
        .expect("bind a free port");
    (sim, handle, reqwest::Client::new())
}

async fn identify_http(client: &reqwest::Client, base: &str, body: Value) -> Value {
    let response = client
        .post(format!("{base}/identify"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn get_v4(client: &reqwest::Client, base: &str, id: &str) -> reqwest::Response {
    client
        .get(format!("{base}/v4/events/{id}"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
}

async fn get_v3(client: &reqwest::Client, base: &str, id: &str) -> reqwest::Response {
    client
        .get(format!("{base}/events/{id}"))
        .header("Auth-API-Key", KEY)
        .send()
        .await
        .unwrap()
}

async fn error_code(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap();
    body["error"]["code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn identify_then_get_both_generations_in_their_real_shapes() {
    let (_sim, handle, client) = start().await;
    let base = handle.base_url();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let identified = identify_http(
        &client,
        &base,
        json!({"persona": "bad_bot", "linkedId": "user-7", "url": "https://shop.test/signup"}),
    )
    .await;
    let event_id = identified["eventId"].as_str().unwrap();
    let visitor_id = identified["visitorId"].as_str().unwrap();
    assert_eq!(identified["requestId"], identified["eventId"]);
    assert_eq!(identified["persona"], "bad_bot");
    assert_eq!(identified["sealedResult"], Value::Null);
    let (millis, suffix) = event_id.split_once('.').unwrap();
    assert!(
        millis.parse::<u64>().is_ok() && millis.len() == 13,
        "{event_id}"
    );
    assert!(suffix.len() == 6 && suffix.chars().all(|c| c.is_ascii_alphanumeric()));
    assert!(visitor_id.len() == 20 && visitor_id.chars().all(|c| c.is_ascii_alphanumeric()));

    let v4 = get_v4(&client, &base, event_id).await;
    assert_eq!(v4.status(), 200);
    let v4: Value = v4.json().await.unwrap();
    assert_eq!(v4["event_id"], event_id);
    assert_eq!(v4["identification"]["visitor_id"], visitor_id);
    assert_eq!(v4["identification"]["visitor_found"], false);
    assert_eq!(v4["bot"], "bad");
    assert_eq!(v4["bot_type"], "headlessChrome");
    assert_eq!(v4["linked_id"], "user-7");
    assert_eq!(v4["url"], "https://shop.test/signup");
    assert_eq!(v4["ip_address"], "127.0.0.1");
    assert_eq!(v4["incremental_identification_status"], "completed");
    assert_eq!(v4["timestamp"].as_u64().unwrap().to_string(), millis);

    let v3 = get_v3(&client, &base, event_id).await;
    assert_eq!(v3.status(), 200);
    let v3: Value = v3.json().await.unwrap();
    let ident = &v3["products"]["identification"]["data"];
    assert_eq!(ident["requestId"], event_id);
    assert_eq!(ident["visitorId"], visitor_id);
    assert_eq!(ident["linkedId"], "user-7");
    assert_eq!(ident["confidence"]["score"], 0.99);
    assert!(ident["time"].as_str().unwrap().ends_with('Z'));
    let bot = &v3["products"]["botd"]["data"]["bot"];
    assert_eq!(bot["result"], "bad");
    assert_eq!(bot["type"], "headlessChrome");
    assert_eq!(v3["products"]["botd"]["data"]["requestId"], event_id);
}

#[tokio::test]
async fn wrong_or_missing_key_is_refused_with_real_codes() {
    let (sim, handle, client) = start().await;
    let base = handle.base_url();
    let id = sim.identify(IdentifyRequest::default()).event_id;

    let wrong_v4 = client
        .get(format!("{base}/v4/events/{id}"))
        .bearer_auth("not-the-key")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_v4.status(), 403);
    assert_eq!(error_code(wrong_v4).await, "secret_api_key_not_found");

    let missing_v4 = client
        .get(format!("{base}/v4/events/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing_v4.status(), 403);
    assert_eq!(error_code(missing_v4).await, "secret_api_key_required");

    // The v3 header on a v4 route is no key at all.
    let v3_header_on_v4 = client
        .get(format!("{base}/v4/events/{id}"))
        .header("Auth-API-Key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(v3_header_on_v4.status(), 403);

    let wrong_v3 = client
        .get(format!("{base}/events/{id}"))
        .header("Auth-API-Key", "sim-secret-kez")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_v3.status(), 403);
    assert_eq!(error_code(wrong_v3).await, "TokenNotFound");

    let missing_v3 = client
        .get(format!("{base}/events/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing_v3.status(), 403);
    assert_eq!(error_code(missing_v3).await, "TokenRequired");
}

#[tokio::test]
async fn unknown_id_is_404() {
    let (_sim, handle, client) = start().await;
    let base = handle.base_url();
    let v4 = get_v4(&client, &base, "1700000000000.abcdef").await;
    assert_eq!(v4.status(), 404);
    assert_eq!(error_code(v4).await, "event_not_found");
    let v3 = get_v3(&client, &base, "1700000000000.abcdef").await;
    assert_eq!(v3.status(), 404);
    assert_eq!(error_code(v3).await, "RequestNotFound");
}

#[tokio::test]
async fn status_fault_applies_the_given_number_of_times_then_recovers() {
    let (sim, handle, client) = start().await;
    let base = handle.base_url();
    let id = sim.identify(IdentifyRequest::default()).event_id;

    let armed = client
        .post(format!("{base}/_sim/fault"))
        .json(&json!({"status": 503, "times": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(armed.status(), 204);
    let failed = get_v4(&client, &base, &id).await;
    assert_eq!(failed.status(), 503);
    assert_eq!(error_code(failed).await, "service_unavailable");
    assert_eq!(get_v4(&client, &base, &id).await.status(), 200);

    sim.set_fault(Some(Fault::Status(429)), Some(2));
    for _ in 0..2 {
        let limited = get_v3(&client, &base, &id).await;
        assert_eq!(limited.status(), 429);
        assert_eq!(limited.headers()["retry-after"], "1");
        assert_eq!(error_code(limited).await, "TooManyRequests");
    }
    assert_eq!(get_v3(&client, &base, &id).await.status(), 200);

    // Without a count the fault stays until cleared with `{}`.
    sim.set_fault(Some(Fault::Status(500)), None);
    for _ in 0..3 {
        assert_eq!(get_v4(&client, &base, &id).await.status(), 500);
    }
    let cleared = client
        .post(format!("{base}/_sim/fault"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 204);
    assert_eq!(get_v4(&client, &base, &id).await.status(), 200);
}

#[tokio::test]
async fn garbage_fault_answers_200_with_a_body_that_is_not_json() {
    let (sim, handle, client) = start().await;
    let base = handle.base_url();
    let id = sim.identify(IdentifyRequest::default()).event_id;
    let armed = client
        .post(format!("{base}/_sim/fault"))
        .json(&json!({"garbage": true, "times": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(armed.status(), 204);
    let response = get_v4(&client, &base, &id).await;
    assert_eq!(response.status(), 200);
    let body = response.bytes().await.unwrap();
    assert!(serde_json::from_slice::<Value>(&body).is_err());
    assert_eq!(get_v4(&client, &base, &id).await.status(), 200);
}

#[tokio::test]
async fn hang_fault_never_answers_and_shutdown_still_completes() {
    let (sim, handle, _) = start().await;
    let base = handle.base_url();
    let id = sim.identify(IdentifyRequest::default()).event_id;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let armed = client
        .post(format!("{base}/_sim/fault"))
        .json(&json!({"hang": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(armed.status(), 204);
    let started = Instant::now();
    let err = client
        .get(format!("{base}/v4/events/{id}"))
        .bearer_auth(KEY)
        .send()
        .await
        .expect_err("a hung request must time out");
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(300));

    // A request still hanging must not keep the server alive past shutdown.
    let pending = tokio::spawn(
        reqwest::Client::new()
            .get(format!("{base}/v4/events/{id}"))
            .bearer_auth(KEY)
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    tokio::time::timeout(Duration::from_secs(5), handle.shutdown_and_wait())
        .await
        .expect("shutdown ends hung requests");
    let _ = pending.await;
    assert!(reqwest::Client::new()
        .get(format!("{base}/v4/events/{id}"))
        .send()
        .await
        .is_err());
}

#[tokio::test]
async fn latency_delays_event_gets_without_serialising_them() {
    let (sim, handle, client) = start().await;
    let base = handle.base_url();
    let id = sim.identify(IdentifyRequest::default()).event_id;
    let set = client
        .post(format!("{base}/_sim/latency"))
        .json(&json!({"ms": 300}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 204);

    let started = Instant::now();
    let (a, b, c) = tokio::join!(
        get_v4(&client, &base, &id),
        get_v3(&client, &base, &id),
        get_v4(&client, &base, &id)
    );
    let elapsed = started.elapsed();
    assert!([a.status(), b.status(), c.status()]
        .iter()
        .all(|s| *s == 200));
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    // Three sequential sleeps would take 900 ms.
    assert!(elapsed < Duration::from_millis(850), "{elapsed:?}");

    sim.set_latency(Duration::ZERO);
    let started = Instant::now();
    assert_eq!(get_v4(&client, &base, &id).await.status(), 200);
    assert!(started.elapsed() < Duration::from_millis(250));
}

#[tokio::test]
async fn returning_device_keeps_the_visitor_id() {
    let (sim, handle, client) = start().await;
    let base = handle.base_url();
    let first = identify_http(&client, &base, json!({"persona": "new_device"})).await;
    let again = identify_http(&client, &base, json!({"persona": "returning_device"})).await;
    assert_eq!(first["visitorId"], again["visitorId"]);
    let v4 = sim
        .event_v4_json(again["eventId"].as_str().unwrap())
        .unwrap();
    assert_eq!(v4["identification"]["visitor_found"], true);
    assert_eq!(v4["identification"]["visitor_id"], first["visitorId"]);
    // First seen at the earlier visit, which may share the millisecond with this one.
    let first_seen = v4["identification"]["first_seen_at"].as_i64().unwrap();
    assert!(first_seen <= v4["timestamp"].as_i64().unwrap());

    let named = sim.identify(IdentifyRequest {
        persona: Persona::ReturningDevice,
        visitor_id: Some("ExplicitVisitor00001".into()),
        ..Default::default()
    });
    assert_eq!(named.visitor_id, "ExplicitVisitor00001");

    // A fresh simulator has no history, yet a returning device still looks returning.
    let fresh = Simulator::new(SimulatorConfig::default());
    let returning = fresh.identify(IdentifyRequest {
        persona: Persona::ReturningDevice,
        ..Default::default()
    });
    let v4 = fresh.event_v4_json(&returning.event_id).unwrap();
    assert_eq!(v4["identification"]["visitor_found"], true);
    assert!(
        v4["identification"]["first_seen_at"].as_i64().unwrap() < v4["timestamp"].as_i64().unwrap()
    );
    // A new device never reuses a visitor id.
    let a = fresh.identify(IdentifyRequest::default());
    let b = fresh.identify(IdentifyRequest::default());
    assert_ne!(a.visitor_id, b.visitor_id);
}

#[tokio::test]
async fn malformed_control_and_identify_bodies_are_400() {
    let (_sim, handle, client) = start().await;
    let base = handle.base_url();
    for (path, body) in [
        ("/identify", "{not json"),
        ("/identify", r#"{"persona": "alien"}"#),
        ("/_sim/fault", r#"{"status": 503, "hang": true}"#),
        ("/_sim/fault", r#"{"status": 42}"#),
        ("/_sim/latency", r#"{"seconds": 1}"#),
    ] {
        let response = client
            .post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{path} {body}");
    }
    // An empty body identifies a new device with every default.
    let response = client
        .post(format!("{base}/identify"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let identified: Value = response.json().await.unwrap();
    assert_eq!(identified["persona"], "new_device");
}

#[test]
fn age_url_and_ip_are_reported_as_given() {
    let sim = Simulator::new(SimulatorConfig::default());
    let fresh = sim.identify(IdentifyRequest::default());
    let old = sim.identify(IdentifyRequest {
        age_seconds: Some(600),
        url: Some("https://example.test/join".into()),
        ip: Some("203.0.113.9".into()),
        ..Default::default()
    });
    let fresh = sim.event_v4_json(&fresh.event_id).unwrap();
    assert_eq!(fresh["url"], "http://localhost:3001/");
    let old_v4 = sim.event_v4_json(&old.event_id).unwrap();
    let age = fresh["timestamp"].as_i64().unwrap() - old_v4["timestamp"].as_i64().unwrap();
    assert!((599_000..=601_000).contains(&age), "{age}");
    assert!(old.event_id.starts_with(&old_v4["timestamp"].to_string()));
    assert_eq!(old_v4["ip_address"], "203.0.113.9");
    let old_v3 = sim.event_v3_json(&old.event_id).unwrap();
    let ident = &old_v3["products"]["identification"]["data"];
    assert_eq!(ident["timestamp"], old_v4["timestamp"]);
    assert_eq!(ident["url"], "https://example.test/join");
    assert_eq!(ident["ip"], "203.0.113.9");
}

/// One device in two browsers: two visitor ids, one high-recall id; and the network's ASN,
/// filed under the address's family. Both generations carry them, and both parse back.
#[test]
fn high_recall_id_and_asn_are_reported_as_given() {
    let sim = Simulator::new(SimulatorConfig::default());
    let asked = |visitor: &str, ip: &str| IdentifyRequest {
        visitor_id: Some(visitor.into()),
        high_recall_id: Some("SameDeviceHighRecall".into()),
        ip: Some(ip.into()),
        asn: Some("64500".into()),
        ..Default::default()
    };
    let chrome = sim.identify(asked("ChromeVisitor", "203.0.113.9"));
    let firefox = sim.identify(asked("FirefoxVisitor", "2001:db8::9"));
    for (identified, family) in [(&chrome, "v4"), (&firefox, "v6")] {
        let v4 = sim.event_v4_json(&identified.event_id).unwrap();
        assert_eq!(v4["ip_info"][family]["asn"], "64500", "{v4}");
        let v3 = sim.event_v3_json(&identified.event_id).unwrap();
        assert_eq!(
            v3["products"]["ipInfo"]["data"][family]["asn"]["asn"],
            "64500"
        );
        for event in [
            Event::from_v4_json(v4.to_string().as_bytes()).unwrap(),
            Event::from_v3_json(v3.to_string().as_bytes()).unwrap(),
        ] {
            assert_eq!(
                event.visitor_id.as_deref(),
                Some(identified.visitor_id.as_str())
            );
            assert_eq!(
                event.high_recall_visitor_id.as_deref(),
                Some("SameDeviceHighRecall")
            );
            assert_eq!(event.ip_info.and_then(|i| i.asn).as_deref(), Some("64500"));
        }
    }
    let plain = sim.identify(IdentifyRequest::default());
    let plain = Event::from_v4_json(
        sim.event_v4_json(&plain.event_id)
            .unwrap()
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(plain.high_recall_visitor_id, None);
    assert_eq!(
        plain.ip_info.and_then(|i| i.asn).as_deref(),
        Some("64496"),
        "without an ASN asked for, the simulator's home ISP"
    );
}

#[test]
fn persona_names_round_trip() {
    for persona in Persona::ALL {
        assert_eq!(Persona::parse(persona.as_str()), Some(persona));
        assert_eq!(
            serde_json::to_value(persona).unwrap(),
            json!(persona.as_str())
        );
        assert_eq!(
            serde_json::from_value::<Persona>(json!(persona.as_str())).unwrap(),
            persona
        );
        assert!(!persona.description().is_empty());
    }
    assert_eq!(Persona::parse("Bad-Bot"), Some(Persona::BadBot));
    assert_eq!(Persona::parse("nobody"), None);
    assert_eq!(Persona::default(), Persona::NewDevice);
    let mut names: Vec<_> = Persona::ALL.iter().map(Persona::as_str).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 16);
}

#[test]
fn identified_serialises_in_camel_case() {
    let sim = Simulator::new(SimulatorConfig::default());
    let identified: Identified = sim.identify(IdentifyRequest {
        persona: Persona::Tor,
        ..Default::default()
    });
    let value = serde_json::to_value(&identified).unwrap();
    for field in [
        "requestId",
        "eventId",
        "visitorId",
        "persona",
        "sealedResult",
    ] {
        assert!(value.get(field).is_some(), "{field} missing in {value}");
    }
    assert_eq!(value["persona"], "tor");
}

#[test]
fn sealed_result_unseals_to_the_served_event() {
    let key = DecryptionKey::generate();
    let sim = Simulator::new(SimulatorConfig {
        encryption_key: Some(key.clone()),
        ..Default::default()
    });
    let identified = sim.identify(IdentifyRequest {
        persona: Persona::Vpn,
        ..Default::default()
    });
    let sealed_result = identified.sealed_result.expect("a key is configured");
    let plaintext = sealed::unseal_bytes(&sealed_result, &[key]).unwrap();
    let unsealed: Value = serde_json::from_slice(&plaintext).unwrap();
    assert_eq!(Some(unsealed), sim.event_v4_json(&identified.event_id));
}

/// What every persona must look like once a client has parsed it, in either generation.
fn check_signals(persona: Persona, event: &Event, generation: &str) {
    let ctx = format!("{persona} ({generation})");
    assert!(!event.event_id.is_empty(), "{ctx}");
    assert!(event.visitor_id.is_some(), "{ctx}");
    let expected_confidence = if persona == Persona::LowConfidence {
        0.3
    } else {
        0.99
    };
    assert_eq!(event.confidence, Some(expected_confidence), "{ctx}");
    assert_eq!(
        event.visitor_found,
        Some(persona == Persona::ReturningDevice),
        "{ctx}"
    );
    assert_eq!(event.replayed, Some(persona == Persona::Replayed), "{ctx}");

    if persona == Persona::PartiallyCompleted {
        if generation == "v4" {
            assert_eq!(
                event.incremental_identification_status,
                Some(IdentificationStatus::PartiallyCompleted),
                "{ctx}"
            );
            assert!(!event.has_smart_signals(), "{ctx}");
        }
        assert_eq!(event.bot, None, "{ctx}");
        assert_eq!(event.vpn, None, "{ctx}");
        assert_eq!(event.proxy, None, "{ctx}");
        assert_eq!(event.tor, None, "{ctx}");
        assert_eq!(event.tampering, None, "{ctx}");
        assert_eq!(event.virtual_machine, None, "{ctx}");
        assert_eq!(event.suspect_score, None, "{ctx}");
        assert_eq!(event.velocity, None, "{ctx}");
        return;
    }
    if generation == "v4" {
        assert_eq!(
            event.incremental_identification_status,
            Some(IdentificationStatus::Completed),
            "{ctx}"
        );
    }
    let expected_bot = match persona {
        Persona::BadBot => BotResult::Bad,
        Persona::GoodBot => BotResult::Good,
        _ => BotResult::NotDetected,
    };
    assert_eq!(event.bot, Some(expected_bot), "{ctx}");
    if persona == Persona::BadBot {
        assert_eq!(event.bot_type.as_deref(), Some("headlessChrome"), "{ctx}");
    }
    let vpn = event.vpn.as_ref().expect("vpn present");
    assert_eq!(vpn.result, persona == Persona::Vpn, "{ctx}");
    assert_eq!(
        vpn.methods.public_vpn,
        Some(persona == Persona::Vpn),
        "{ctx}"
    );
    assert_eq!(
        event.proxy.as_ref().map(|p| p.result),
        Some(persona == Persona::Proxy),
        "{ctx}"
    );
    assert_eq!(event.tor, Some(persona == Persona::Tor), "{ctx}");
    let tampering = event.tampering.as_ref().expect("tampering present");
    assert_eq!(tampering.result, persona == Persona::Tampering, "{ctx}");
    assert_eq!(
        tampering.anti_detect_browser,
        Some(persona == Persona::Tampering),
        "{ctx}"
    );
    if persona == Persona::Tampering {
        assert_eq!(tampering.anomaly_score, Some(0.9), "{ctx}");
    }
    assert_eq!(
        event.virtual_machine,
        Some(persona == Persona::VirtualMachine),
        "{ctx}"
    );
    assert_eq!(
        event.incognito,
        Some(persona == Persona::Incognito),
        "{ctx}"
    );
    let score = event.suspect_score.expect("suspect score present");
    match persona {
        Persona::HighSuspectScore => assert_eq!(score, 40, "{ctx}"),
        Persona::NewDevice
        | Persona::ReturningDevice
        | Persona::GoodBot
        | Persona::RulesetBlock => assert_eq!(score, 0, "{ctx}"),
        Persona::LowConfidence => {}
        _ => assert!(score > 0, "{ctx}"),
    }
    assert!(event.velocity.is_some(), "{ctx}");
    // The newer signals are present and clean for every persona: a home ISP, a low proxy
    // score (the proxy persona's lists are sure, its model is not), a common device.
    let ip_info = event.ip_info.as_ref().expect("ip_info present");
    let datacenter = persona == Persona::Datacenter;
    assert_eq!(ip_info.datacenter, Some(datacenter), "{ctx}");
    let kind = if datacenter { "hosting" } else { "isp" };
    assert_eq!(ip_info.asn_type.as_deref(), Some(kind), "{ctx}");
    let expected_score = if persona == Persona::Proxy { 0.5 } else { 0.02 };
    assert_eq!(event.proxy_ml_score, Some(expected_score), "{ctx}");
    assert_eq!(event.rare_device, Some(false), "{ctx}");
    assert_eq!(event.rule_action, None, "{ctx}: fetched without a ruleset");
}

#[test]
fn every_persona_parses_into_the_expected_signals() {
    let sim = Simulator::new(SimulatorConfig::default());
    for persona in Persona::ALL {
        let identified = sim.identify(IdentifyRequest {
            persona,
            ..Default::default()
        });
        let v4 = sim.event_v4_json(&identified.event_id).unwrap();
        let v3 = sim.event_v3_json(&identified.event_id).unwrap();
        let from_v4 = Event::from_v4_json(&serde_json::to_vec(&v4).unwrap())
            .unwrap_or_else(|e| panic!("{persona} v4: {e}"));
        let from_v3 = Event::from_v3_json(&serde_json::to_vec(&v3).unwrap())
            .unwrap_or_else(|e| panic!("{persona} v3: {e}"));
        assert_eq!(from_v4.event_id, identified.event_id);
        assert_eq!(from_v3.event_id, identified.event_id);
        assert_eq!(from_v4.visitor_id.as_deref(), Some(&*identified.visitor_id));
        assert_eq!(from_v3.visitor_id, from_v4.visitor_id);
        assert_eq!(from_v3.timestamp_ms, from_v4.timestamp_ms);
        check_signals(persona, &from_v4, "v4");
        check_signals(persona, &from_v3, "v3");
    }
}

/// The signals only an extra raises, each on its own in both generations: the test of one
/// policy rule must not fire a neighbouring one.
#[test]
fn the_newer_signals_are_raised_on_their_own_in_both_generations() {
    let sim = Simulator::new(SimulatorConfig::default());
    for signal in [
        ExtraSignal::DatacenterIp,
        ExtraSignal::ProxyMlScore,
        ExtraSignal::AntiDetectBrowser,
        ExtraSignal::RareDevice,
    ] {
        let id = sim
            .identify(IdentifyRequest {
                signals: vec![signal],
                ip: Some("203.0.113.9".into()),
                ..Default::default()
            })
            .event_id;
        let v4 = serde_json::to_vec(&sim.event_v4_json(&id).unwrap()).unwrap();
        let v3 = serde_json::to_vec(&sim.event_v3_json(&id).unwrap()).unwrap();
        for (generation, event) in [
            ("v4", Event::from_v4_json(&v4).unwrap()),
            ("v3", Event::from_v3_json(&v3).unwrap()),
        ] {
            let ctx = format!("{signal:?} ({generation})");
            let ip_info = event.ip_info.unwrap();
            let datacenter = signal == ExtraSignal::DatacenterIp;
            assert_eq!(ip_info.datacenter, Some(datacenter), "{ctx}");
            assert_eq!(
                ip_info.asn_network.as_deref(),
                Some("203.0.113.0/24"),
                "{ctx}"
            );
            if datacenter {
                assert_eq!(ip_info.asn_type.as_deref(), Some("hosting"), "{ctx}");
                assert_eq!(
                    ip_info.datacenter_name.as_deref(),
                    Some("SimCloud"),
                    "{ctx}"
                );
            }
            let proxy_score = if signal == ExtraSignal::ProxyMlScore {
                0.95
            } else {
                0.02
            };
            assert_eq!(event.proxy_ml_score, Some(proxy_score), "{ctx}");
            assert!(
                !event.proxy.unwrap().result,
                "{ctx}: the lists do not know it"
            );
            let tampering = event.tampering.unwrap();
            assert!(!tampering.result, "{ctx}: never tampering itself");
            assert_eq!(
                tampering.anti_detect_browser,
                Some(signal == ExtraSignal::AntiDetectBrowser),
                "{ctx}"
            );
            let rare = signal == ExtraSignal::RareDevice;
            assert_eq!(event.rare_device, Some(rare), "{ctx}");
            let bucket = if rare { "p99.9+" } else { "<p95" };
            assert_eq!(
                event.rare_device_percentile_bucket.as_deref(),
                Some(bucket),
                "{ctx}"
            );
        }
    }
}

#[test]
fn ip_info_is_reported_under_the_family_of_the_event_ip() {
    let sim = Simulator::new(SimulatorConfig::default());
    let id = sim
        .identify(IdentifyRequest {
            ip: Some("2001:db8:5:6::7".into()),
            ..Default::default()
        })
        .event_id;
    let v4 = sim.event_v4_json(&id).unwrap();
    assert_eq!(v4["ip_info"]["v6"]["asn_network"], "2001:db8:5::/48");
    assert!(v4["ip_info"].get("v4").is_none(), "{v4}");
    let v3 = sim.event_v3_json(&id).unwrap();
    assert_eq!(
        v3["products"]["ipInfo"]["data"]["v6"]["address"],
        "2001:db8:5:6::7"
    );
}

/// A `ruleset_id` on a v4 fetch gets the `rule_action` chosen at identification (none matched:
/// the ruleset's default allow), and every fetch is recorded with the ruleset it named.
#[tokio::test]
async fn a_ruleset_id_gets_the_chosen_rule_action_and_is_recorded() {
    let (sim, handle, client) = start().await;
    let base = handle.base_url();
    let block = identify_http(&client, &base, json!({"ruleAction": "block"})).await;
    let block = block["eventId"].as_str().unwrap().to_owned();
    let allow = sim
        .identify(IdentifyRequest {
            rule_action: Some(RuleVerdict::Allow),
            persona: Persona::PartiallyCompleted,
            ..Default::default()
        })
        .event_id;
    let unmatched = sim.identify(IdentifyRequest::default()).event_id;

    let fetch = |id: String, query: &'static str| {
        let request = client
            .get(format!("{base}/v4/events/{id}{query}"))
            .bearer_auth(KEY)
            .send();
        async move {
            let response = request.await.unwrap();
            assert_eq!(response.status(), 200);
            let body: Vec<u8> = response.bytes().await.unwrap().to_vec();
            Event::from_v4_json(&body).unwrap()
        }
    };
    let blocked = fetch(block.clone(), "?ruleset_id=rs_team").await;
    let action = blocked.rule_action.unwrap();
    assert_eq!(action.action, RuleActionType::Block);
    assert_eq!(action.ruleset_id.as_deref(), Some("rs_team"));
    assert_eq!(action.rule_id.as_deref(), Some(BLOCK_RULE_ID));
    assert_eq!(action.status_code, Some(403));
    assert!(action.rule_expression.is_some());

    let allowed = fetch(allow.clone(), "?ruleset_id=rs_team").await;
    assert!(
        !allowed.has_smart_signals(),
        "a partial event gets an action too"
    );
    let action = allowed.rule_action.unwrap();
    assert_eq!(action.action, RuleActionType::Allow);
    assert_eq!(action.rule_id.as_deref(), Some("r_sim_allow"));

    let default = fetch(unmatched.clone(), "?ruleset_id=rs_team")
        .await
        .rule_action
        .unwrap();
    assert_eq!(
        (default.action, default.rule_id),
        (RuleActionType::Allow, None)
    );
    assert_eq!(
        fetch(block.clone(), "").await.rule_action,
        None,
        "no ruleset, no action"
    );

    let v3 = get_v3(&client, &base, &block).await;
    assert_eq!(v3.status(), 200);
    let fetches = sim.event_fetches();
    let v4 = fingerprint::ApiVersion::V4;
    let seen = |id: &str, ruleset: Option<&str>| EventFetch {
        event_id: id.into(),
        api_version: v4,
        ruleset_id: ruleset.map(str::to_owned),
    };
    assert_eq!(
        fetches,
        vec![
            seen(&block, Some("rs_team")),
            seen(&allow, Some("rs_team")),
            seen(&unmatched, Some("rs_team")),
            seen(&block, None),
            EventFetch {
                api_version: fingerprint::ApiVersion::V3,
                ..seen(&block, None)
            },
        ]
    );
    let persona = sim
        .identify(IdentifyRequest {
            persona: Persona::RulesetBlock,
            ..Default::default()
        })
        .event_id;
    let persona = fetch(persona, "?ruleset_id=rs_team")
        .await
        .rule_action
        .unwrap();
    assert_eq!(
        persona.action,
        RuleActionType::Block,
        "the persona's own verdict"
    );
}

#[tokio::test]
async fn the_crate_client_sends_its_ruleset_and_reads_the_action() {
    let (sim, handle, _) = start().await;
    let id = sim
        .identify(IdentifyRequest {
            rule_action: Some(RuleVerdict::Block),
            ..Default::default()
        })
        .event_id;
    let mut config = fingerprint::ClientConfig::new(fingerprint::SecretKey::new(KEY));
    config.base_url = Some(handle.base_url());
    config.ruleset_id = Some("rs_b1k1blhqpOX3kU".into());
    let event = fingerprint::Client::new(config)
        .unwrap()
        .get_event(&id)
        .await
        .unwrap();
    let action = event.rule_action.unwrap();
    assert_eq!(action.action, RuleActionType::Block);
    assert_eq!(action.ruleset_id.as_deref(), Some("rs_b1k1blhqpOX3kU"));
    let fetched = sim.event_fetches().pop().unwrap();
    assert_eq!(fetched.ruleset_id.as_deref(), Some("rs_b1k1blhqpOX3kU"));
}

#[tokio::test]
async fn a_bare_router_serves_the_same_routes() {
    let sim = Simulator::new(SimulatorConfig::default());
    let id = sim.identify(IdentifyRequest::default()).event_id;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, sim.router()).await });
    let response = get_v4(&reqwest::Client::new(), &format!("http://{addr}"), &id).await;
    assert_eq!(response.status(), 200);
    server.abort();
}

#[tokio::test]
async fn the_crate_client_reads_simulated_events_in_both_generations() {
    let (sim, handle, _) = start().await;
    let identified = sim.identify(IdentifyRequest {
        persona: Persona::Vpn,
        ..Default::default()
    });
    for version in [fingerprint::ApiVersion::V4, fingerprint::ApiVersion::V3] {
        let mut config = fingerprint::ClientConfig::new(fingerprint::SecretKey::new(KEY));
        config.base_url = Some(handle.base_url());
        config.api_version = version;
        let client = fingerprint::Client::new(config.clone()).unwrap();
        let event = client.get_event(&identified.event_id).await.unwrap();
        assert_eq!(event.visitor_id.as_deref(), Some(&*identified.visitor_id));
        assert_eq!(event.vpn.map(|vpn| vpn.result), Some(true), "{version:?}");

        config.secret_key = fingerprint::SecretKey::new("wrong");
        let refused = fingerprint::Client::new(config)
            .unwrap()
            .get_event(&identified.event_id)
            .await
            .unwrap_err();
        assert!(
            matches!(refused, fingerprint::FingerprintError::Forbidden { .. }),
            "{version:?}: {refused}"
        );
    }
}
