//! Parses Fingerprint's own example responses, read in place from the shared fixture directory
//! (`FINGERPRINT_FIXTURES_DIR`, or `../shared/fingerprint` beside the workspace). The fixtures are
//! not vendored into this repository, so every test skips with a notice when they are absent.

use fingerprint::event::{
    BotResult, Event, IdentificationStatus, IpBlocklist, IpInfo, ParseError, Proxy, Tampering,
    VelocityIntervals, Vpn, VpnMethods,
};

mod common;
use common::fixtures_dir;

/// Evaluates to the fixture directory, or returns from the test (`fixtures_dir` gives the
/// notice).
macro_rules! fixtures_or_skip {
    () => {
        match fixtures_dir() {
            Some(dir) => dir,
            None => return,
        }
    };
}

fn read(dir: &std::path::Path, name: &str) -> Vec<u8> {
    let path = dir.join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

fn intervals(m5: i64, h1: i64, h24: i64) -> Option<VelocityIntervals> {
    Some(VelocityIntervals {
        m5: Some(m5),
        h1: Some(h1),
        h24: Some(h24),
    })
}

fn all_methods(value: Option<bool>, ml_prediction: Option<bool>) -> VpnMethods {
    VpnMethods {
        timezone_mismatch: value,
        public_vpn: value,
        auxiliary_mobile: value,
        os_mismatch: value,
        relay: value,
        ml_prediction,
    }
}

#[test]
fn v4_get_event_200() {
    let dir = fixtures_or_skip!();
    let bytes = read(&dir, "v4/get_event_200.json");
    let event = Event::from_v4_json(&bytes).unwrap();

    assert_eq!(event.event_id, "1708102555327.NLOjmg");
    assert_eq!(event.visitor_id.as_deref(), Some("Ibk1527CUFmcnjLwIs4A9"));
    assert_eq!(event.visitor_found, Some(false));
    assert_eq!(event.confidence, Some(0.97));
    assert_eq!(event.timestamp_ms, Some(1_708_102_555_327));
    assert_eq!(event.linked_id.as_deref(), Some("somelinkedId"));
    assert_eq!(event.ip.as_deref(), Some("61.127.217.15"));
    assert_eq!(
        event.ip_info.as_ref().and_then(|i| i.asn.as_deref()),
        Some("7922")
    );
    assert_eq!(
        event.url.as_deref(),
        Some("https://www.example.com/login?hope{this{works[!")
    );
    assert!(event
        .user_agent
        .as_deref()
        .unwrap()
        .starts_with("Mozilla/5.0 (Windows NT 6.1"));
    assert_eq!(event.bot, Some(BotResult::NotDetected));
    assert_eq!(event.bot_type, None);
    assert_eq!(
        event.vpn,
        Some(Vpn {
            result: false,
            confidence: Some("high".into()),
            origin_timezone: Some("Europe/Berlin".into()),
            origin_country: Some("unknown".into()),
            methods: all_methods(Some(false), Some(false)),
        })
    );
    assert_eq!(
        event.proxy,
        Some(Proxy {
            result: true,
            confidence: Some("low".into()),
            proxy_type: Some("residential".into()),
        })
    );
    assert_eq!(
        event.ip_blocklist,
        Some(IpBlocklist {
            result: false,
            email_spam: Some(false),
            attack_source: Some(false),
            tor_node: Some(false),
        })
    );
    assert_eq!(event.tor, Some(false));
    assert_eq!(
        event.tampering,
        Some(Tampering {
            result: false,
            anomaly_score: Some(0.1955),
            anti_detect_browser: Some(false),
        })
    );
    let velocity = event.velocity.as_ref().unwrap();
    assert_eq!(velocity.distinct_ip, intervals(1, 1, 1));
    assert_eq!(velocity.distinct_linked_id, intervals(1, 5, 5));
    assert_eq!(velocity.distinct_country, intervals(1, 2, 2));
    assert_eq!(
        velocity.distinct_visitor_id_by_linked_id,
        intervals(1, 5, 5)
    );
    assert_eq!(
        event.high_recall_visitor_id.as_deref(),
        Some("0jnGMkPYXX37DqVa4ZIO3f_hr")
    );
    // The IPv4 address's network is the one named; the IPv6 one's (6805) is not read then.
    assert_eq!(
        event.ip_info.as_ref().and_then(|i| i.asn.as_deref()),
        Some("7922")
    );
    assert_eq!(
        event.incremental_identification_status,
        Some(IdentificationStatus::Completed)
    );
    assert!(event.has_smart_signals());
    assert_eq!(event.source.as_deref(), Some("device"));
    for flag in [
        event.high_activity,
        event.root_apps,
        event.emulator,
        event.jailbroken,
        event.frida,
        event.cloned_app,
        event.incognito,
        event.virtual_machine,
        event.developer_tools,
        event.mitm_attack,
        event.privacy_settings,
        event.location_spoofing,
        event.replayed,
        event.simulator,
    ] {
        assert_eq!(flag, Some(false));
    }
    assert_eq!(event.factory_reset_ms, Some(0), "0: no reset detected");
    // The event IP is IPv4, so its family's details are read, not those of the IPv6 address.
    assert_eq!(
        event.ip_info,
        Some(IpInfo {
            asn: Some("7922".into()),
            asn_name: Some("COMCAST-7922".into()),
            asn_network: Some("73.136.0.0/13".into()),
            asn_type: Some("isp".into()),
            datacenter: Some(true),
            datacenter_name: Some("DediPath".into()),
        })
    );
    assert_eq!(event.proxy_ml_score, Some(0.2));
    assert_eq!(event.rare_device, Some(false));
    assert_eq!(event.rare_device_percentile_bucket.as_deref(), Some("<p95"));
    assert_eq!(event.rule_action, None, "fetched without a ruleset");
    // Not in this example, and not in v4 at all, respectively.
    assert_eq!((event.suspect_score, event.remote_control), (None, None));
    assert_eq!(event.raw.to_value(), json(&bytes));
    assert_eq!(Event::from_json(&bytes).unwrap(), event);
}

#[test]
fn v4_event_survives_a_serde_round_trip() {
    let dir = fixtures_or_skip!();
    let event = Event::from_v4_json(&read(&dir, "v4/get_event_200.json")).unwrap();
    let back: Event = serde_json::from_value(serde_json::to_value(&event).unwrap()).unwrap();
    assert_eq!(
        back,
        Event {
            raw: fingerprint::RawJson::default(),
            ..event
        }
    );
}

#[test]
fn sealed_v4_plaintexts() {
    let dir = fixtures_or_skip!();
    let sealed = Event::from_json(&read(&dir, "sealed/v4/sealed_event.json")).unwrap();
    assert_eq!(sealed.event_id, "1708102555327.NLOjmg");
    assert_eq!(
        sealed.high_recall_visitor_id.as_deref(),
        Some("3HNey93AkBW6CRbxV6xP")
    );
    assert_eq!(sealed.source, None);
    // This older example has no `distinct_linked_id` counter and no `ml_prediction` method.
    let velocity = sealed.velocity.as_ref().unwrap();
    assert_eq!(velocity.distinct_linked_id, None);
    assert_eq!(velocity.events, intervals(1, 5, 5));
    assert_eq!(sealed.vpn.unwrap().methods, all_methods(Some(false), None));

    let compact = Event::from_json(&read(&dir, "sealed/v4/valid_compact_v4.expected.json"));
    let compact = compact.unwrap();
    assert_eq!(compact.visitor_id.as_deref(), Some("Ibk1527CUFmcnjLwIs4A9"));
    assert_eq!(compact.incremental_identification_status, None);
    assert!(compact.has_smart_signals());
    assert_eq!(compact.bot, Some(BotResult::NotDetected));
    assert_eq!(compact.tampering.unwrap().anomaly_score, Some(0.1955));
    assert_eq!(
        compact.proxy.unwrap().proxy_type.as_deref(),
        Some("residential")
    );
    assert_eq!(
        compact.ip_info.unwrap().datacenter_name.as_deref(),
        Some("DediPath")
    );
    assert_eq!(sealed.rare_device, Some(false));
    assert_eq!(sealed.proxy_ml_score, Some(0.2));
}

#[test]
fn v3_get_event_200() {
    let dir = fixtures_or_skip!();
    let bytes = read(&dir, "v3/mocks/get_event_200.json");
    let event = Event::from_v3_json(&bytes).unwrap();

    assert_eq!(event.event_id, "1708102555327.NLOjmg");
    assert_eq!(event.visitor_id.as_deref(), Some("Ibk1527CUFmcnjLwIs4A9"));
    assert_eq!(event.visitor_found, Some(false));
    assert_eq!(event.confidence, Some(0.97));
    assert_eq!(event.timestamp_ms, Some(1_582_299_576_512));
    assert_eq!(event.linked_id.as_deref(), Some("somelinkedId"));
    assert_eq!(event.ip.as_deref(), Some("61.127.217.15"));
    // From identification's browser details, not botd's differing request header.
    assert_eq!(
        event.user_agent.as_deref(),
        Some("Mozilla/5.0 (Windows NT 6.1; Win64; x64) ....")
    );
    assert_eq!(event.bot, Some(BotResult::NotDetected));
    assert_eq!(
        event.vpn,
        Some(Vpn {
            result: false,
            confidence: Some("high".into()),
            origin_timezone: Some("Europe/Berlin".into()),
            origin_country: Some("unknown".into()),
            methods: all_methods(Some(false), None),
        })
    );
    assert_eq!(
        event.proxy,
        Some(Proxy {
            result: true,
            confidence: Some("high".into()),
            proxy_type: Some("residential".into()),
        })
    );
    assert_eq!(
        event.ip_blocklist,
        Some(IpBlocklist {
            result: false,
            email_spam: Some(false),
            attack_source: Some(false),
            tor_node: None,
        })
    );
    assert_eq!(event.tor, Some(false));
    assert_eq!(
        event.tampering.as_ref().unwrap().anomaly_score,
        Some(0.1955)
    );
    // The incognito product says false; the older identification flag says true.
    assert_eq!(event.incognito, Some(false));
    let velocity = event.velocity.as_ref().unwrap();
    assert_eq!(velocity.distinct_ip, intervals(1, 1, 1));
    assert_eq!(velocity.distinct_linked_id, None, "sent as {{}}");
    assert_eq!(velocity.distinct_country, intervals(1, 2, 2));
    assert_eq!(velocity.ip_events, intervals(1, 5, 5));
    assert_eq!(event.developer_tools, Some(false));
    assert_eq!(event.high_activity, Some(false));
    assert_eq!(event.factory_reset_ms, Some(0));
    assert_eq!(event.simulator, None, "v3 has no iOS simulator signal");
    assert_eq!(
        event.ip_info,
        Some(IpInfo {
            asn: Some("7922".into()),
            asn_name: Some("COMCAST-7922".into()),
            asn_network: Some("73.136.0.0/13".into()),
            asn_type: None,
            datacenter: Some(true),
            datacenter_name: Some("DediPath".into()),
        }),
        "the IPv4 family of 61.127.217.15; this older example has no `asn.type`"
    );
    assert_eq!((event.proxy_ml_score, event.rare_device), (None, None));
    assert_eq!(event.rule_action, None);
    assert_eq!(event.replayed, Some(false));
    assert_eq!((event.suspect_score, event.remote_control), (None, None));
    assert_eq!(event.incremental_identification_status, None);
    assert_eq!(event.raw.to_value(), json(&bytes));
    assert_eq!(Event::from_json(&bytes).unwrap(), event);
}

#[test]
fn v3_all_errors_has_no_event_id_and_no_signals() {
    let dir = fixtures_or_skip!();
    let bytes = read(&dir, "v3/mocks/get_event_200_all_errors.json");
    assert!(matches!(
        Event::from_v3_json(&bytes),
        Err(ParseError::Shape(_))
    ));

    let event = Event::from_v3_json_with_request_id(&bytes, "asked-for").unwrap();
    let expected = Event {
        event_id: "asked-for".into(),
        raw: fingerprint::RawJson::from_bytes(&bytes),
        ..Event::default()
    };
    assert_eq!(event, expected);
}

#[test]
fn v3_too_many_requests_per_product() {
    let dir = fixtures_or_skip!();
    let bytes = read(&dir, "v3/mocks/get_event_200_too_many_requests_error.json");
    assert!(matches!(
        Event::from_json(&bytes),
        Err(ParseError::Shape(_))
    ));
    let event = Event::from_v3_json_with_request_id(&bytes, "r").unwrap();
    assert_eq!((event.visitor_id, event.bot), (None, None));
}

#[test]
fn v3_one_failed_product_is_none() {
    let dir = fixtures_or_skip!();
    let botd_failed =
        Event::from_v3_json(&read(&dir, "v3/mocks/get_event_200_botd_failed_error.json"));
    let botd_failed = botd_failed.unwrap();
    assert_eq!(botd_failed.event_id, "0KSh65EnVoB85JBmloQK");
    assert_eq!(botd_failed.visitor_found, Some(true));
    assert_eq!((botd_failed.bot, botd_failed.bot_type), (None, None));
    assert_eq!(
        botd_failed.url.as_deref(),
        Some("https://www.example.com/login")
    );

    let bytes = read(
        &dir,
        "v3/mocks/get_event_200_identification_failed_error.json",
    );
    let id_failed = Event::from_v3_json(&bytes).unwrap();
    assert_eq!(id_failed.event_id, "1708683625245.tuJ4nD", "from botd");
    assert_eq!(id_failed.visitor_id, None);
    assert_eq!(id_failed.confidence, None);
    assert_eq!(id_failed.timestamp_ms, None);
    assert_eq!(id_failed.bot, Some(BotResult::Bad));
    assert_eq!(id_failed.bot_type.as_deref(), Some("headlessChrome"));
    assert_eq!(id_failed.ip.as_deref(), Some("94.60.143.223"));
    assert!(id_failed.user_agent.unwrap().contains("HeadlessChrome/121"));
}

#[test]
fn v3_extra_products_are_ignored() {
    let dir = fixtures_or_skip!();
    let event = Event::from_json(&read(&dir, "v3/mocks/get_event_200_extra_fields.json")).unwrap();
    // identification and botd disagree here; identification's id is the event's.
    assert_eq!(event.event_id, "0KSh65EnVoB85JBmloQK");
    assert_eq!(event.confidence, Some(0.97));
    assert_eq!(event.bot, Some(BotResult::NotDetected));
}

#[test]
fn v3_unknown_fields_parse_like_the_plain_event() {
    let dir = fixtures_or_skip!();
    let plain = Event::from_json(&read(&dir, "v3/mocks/get_event_200.json")).unwrap();
    let bytes = read(&dir, "v3/mocks/get_event_200_with_unknown_field.json");
    let unknown = Event::from_json(&bytes).unwrap();

    // Start from the plain event and apply only the differences between the two examples
    // (beyond the `unknown` keys): fewer products and fewer VPN / tampering details.
    let mut expected = plain.clone();
    expected.raw = fingerprint::RawJson::from_bytes(&bytes);
    expected.developer_tools = None;
    expected.velocity = None;
    expected.proxy = Some(Proxy {
        result: false,
        confidence: Some("high".into()),
        proxy_type: None,
    });
    let tampering = expected.tampering.as_mut().unwrap();
    tampering.anti_detect_browser = None;
    let vpn = expected.vpn.as_mut().unwrap();
    vpn.confidence = None;
    vpn.methods.os_mismatch = None;
    vpn.methods.relay = None;
    assert_eq!(unknown, expected);
}

#[test]
fn v3_broken_linked_id_is_a_parse_error() {
    let dir = fixtures_or_skip!();
    let bytes = read(&dir, "v3/mocks/get_event_200_with_broken_format.json");
    for result in [Event::from_v3_json(&bytes), Event::from_json(&bytes)] {
        match result {
            Err(err @ ParseError::Json(_)) => {
                assert!(err.to_string().contains("linkedId"), "{err}")
            }
            other => panic!("expected a JSON type error, got {other:?}"),
        }
    }
}

#[test]
fn every_v3_get_event_example_parses() {
    let dir = fixtures_or_skip!();
    let mut seen = 0;
    for entry in std::fs::read_dir(dir.join("v3/mocks")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if !(name.starts_with("get_event_200") && name.ends_with(".json")) {
            continue;
        }
        seen += 1;
        let bytes = std::fs::read(&path).unwrap();
        let result = Event::from_v3_json_with_request_id(&bytes, "fallback");
        if name.contains("broken_format") {
            assert!(matches!(result, Err(ParseError::Json(_))), "{name}");
        } else {
            let event = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(event.raw.to_value(), json(&bytes), "{name}");
        }
    }
    assert_eq!(seen, 8);
}

#[test]
fn sealed_v3_plaintexts() {
    let dir = fixtures_or_skip!();
    for (name, replayed) in [
        ("sealed/v3/valid_pretty.expected.json", Some(false)),
        ("sealed/v3/valid_compact.expected.json", None),
    ] {
        let event = Event::from_json(&read(&dir, name)).unwrap();
        assert_eq!(event.event_id, "1703067132750.Z5hutJ", "{name}");
        assert_eq!(event.visitor_id.as_deref(), Some("2ZEDCZEfOfXjEmMuE3tq"));
        assert_eq!(event.confidence, Some(1.0));
        assert_eq!(event.timestamp_ms, Some(1_703_067_136_286));
        assert_eq!(event.bot, Some(BotResult::NotDetected));
        assert_eq!(event.ip.as_deref(), Some("::1"));
        assert_eq!(event.replayed, replayed, "{name}");
        assert_eq!(event.vpn, None);
    }
}

#[test]
fn v3_webhook_body() {
    let dir = fixtures_or_skip!();
    let bytes = read(&dir, "v3/mocks/webhook.json");
    let event = Event::from_v3_webhook_json(&bytes).unwrap();
    assert_eq!(Event::from_json(&bytes).unwrap(), event);

    assert_eq!(event.event_id, "Px6VxbRC6WBkA39yeNH3");
    assert_eq!(event.visitor_id.as_deref(), Some("3HNey93AkBW6CRbxV6xP"));
    assert_eq!(event.timestamp_ms, Some(1_554_910_997_788));
    assert_eq!(event.linked_id.as_deref(), Some("any-string"));
    assert_eq!(event.bot, Some(BotResult::Bad));
    assert_eq!(event.bot_type.as_deref(), Some("selenium"));
    assert_eq!(event.suspect_score, Some(0));
    assert_eq!(event.location_spoofing, Some(true));
    assert_eq!(event.incognito, Some(false));
    assert_eq!(event.tor, Some(false));
    assert_eq!(event.tampering.unwrap().anomaly_score, Some(0.0));
    assert_eq!(
        event.proxy.unwrap().proxy_type.as_deref(),
        Some("residential")
    );
    assert_eq!(event.vpn.unwrap().methods, all_methods(Some(false), None));
    assert_eq!(event.velocity.unwrap().events, intervals(1, 5, 5));
    assert_eq!(
        event.high_recall_visitor_id.as_deref(),
        Some("3HNey93AkBW6CRbxV6xP")
    );
    assert_eq!(
        event.user_agent.as_deref(),
        Some("(Macintosh; Intel Mac OS X 10_14_3) Chrome/73.0.3683.86")
    );
    // The webhook's IP is IPv4 and its `ipInfo` sits at the top level, without `data`.
    let ip_info = event.ip_info.unwrap();
    assert_eq!(ip_info.asn.as_deref(), Some("7922"));
    assert_eq!(ip_info.datacenter, Some(true));
}

/// `from_v4_json` builds only the fields it reads; on every v4 example it must read exactly
/// what the parse of the whole document reads.
#[test]
fn the_v4_parse_of_read_fields_agrees_with_the_whole_document_parse() {
    let bench = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/event_v4.json");
    let mut documents = vec![(
        "benches/event_v4.json".to_owned(),
        std::fs::read(bench).unwrap(),
    )];
    if let Some(dir) = fixtures_dir() {
        documents.push((
            "v4/get_event_200.json".into(),
            read(&dir, "v4/get_event_200.json"),
        ));
        for entry in std::fs::read_dir(dir.join("sealed/v4")).unwrap() {
            let path = entry.unwrap().path();
            if path.to_string_lossy().ends_with(".expected.json") {
                documents.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    } else {
        eprintln!("note: ../shared/fingerprint is absent; comparing the bench event only");
    }
    for (name, bytes) in &documents {
        let sparse = Event::from_v4_json(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let whole = Event::from_value(json(bytes)).unwrap();
        assert_eq!(
            sparse.raw.to_value(),
            json(bytes),
            "{name}: raw keeps the document"
        );
        assert_eq!(
            Event {
                raw: Default::default(),
                ..sparse
            },
            Event {
                raw: Default::default(),
                ..whole
            },
            "{name}"
        );
    }
}
