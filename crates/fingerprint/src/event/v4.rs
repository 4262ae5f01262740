//! Server API v4: the flat, snake_case `Event` of `GET /v4/events/{event_id}`.
//!
//! Type rule (see `json.rs`): identity fields (`event_id`, `identification.visitor_id`,
//! `linked_id`, `timestamp`) must have their documented type when present; every other field
//! that has an unexpected type reads as `None`. The fields are read into a [`Document`], from
//! the text or from a parsed `Value` (see `v4_document.rs`), and the event is built from it.

use super::ip_info::{family_order, named};
use super::json::{epoch_to_ms, velocity, whole_number, wrong_type_named, VelocitySpelling};
use super::v4_document::{self as document, Document, Scalar};
use super::RawJson;
use super::{
    BotResult, Event, IdentificationStatus, IpBlocklist, IpInfo, ParseError, Proxy, RuleAction,
    RuleActionType, Tampering, Vpn, VpnMethods,
};
use serde_json::Value;

const VELOCITY: VelocitySpelling = VelocitySpelling {
    counters: [
        "distinct_ip",
        "distinct_linked_id",
        "distinct_country",
        "events",
        "ip_events",
        "distinct_ip_by_linked_id",
        "distinct_visitor_id_by_linked_id",
    ],
    nesting: &[],
    intervals: ["5_minutes", "1_hour", "24_hours"],
};

/// The whole-document parse: the event of a parsed document.
pub(super) fn parse(value: Value, raw: RawJson) -> Result<Event, ParseError> {
    let document =
        document::from_value(value).ok_or(ParseError::Shape("a v4 event must be a JSON object"))?;
    event(document, raw)
}

fn flag(slot: &Option<Scalar>) -> Option<bool> {
    slot.as_ref()?.as_bool()
}

fn text(slot: Option<Scalar>) -> Option<String> {
    slot?.into_string()
}

fn number(slot: &Option<Scalar>) -> Option<f64> {
    slot.as_ref()?.as_f64()
}

fn integer(slot: &Option<Scalar>) -> Option<i64> {
    let value = slot.as_ref()?;
    whole_number(value.as_i64(), value.as_f64())
}

/// An identity string: absent is fine, any other type is an error.
fn strict_text(slot: Option<Scalar>, path: &str) -> Result<Option<String>, ParseError> {
    match slot {
        None | Some(Scalar::Null) => Ok(None),
        Some(Scalar::Str(s)) => Ok(Some(s)),
        Some(other) => Err(wrong_type_named(path, "a string", other.kind())),
    }
}

/// An identity integer (the timestamp): absent is fine, any other type is an error.
fn strict_integer(slot: &Option<Scalar>, path: &str) -> Result<Option<i64>, ParseError> {
    match slot {
        None | Some(Scalar::Null) => Ok(None),
        Some(value) => integer(slot)
            .map(Some)
            .ok_or_else(|| wrong_type_named(path, "an integer", value.kind())),
    }
}

/// The event a document's fields describe.
pub(super) fn event(d: Document, raw: RawJson) -> Result<Event, ParseError> {
    let event_id = strict_text(d.event_id, "event_id")?
        .filter(|id| !id.is_empty())
        .ok_or(ParseError::Shape("no `event_id`"))?;
    let ip_blocklist = ip_blocklist(d.ip_blocklist);
    let ip = text(d.ip_address);
    let identification = d.identification.unwrap_or_default();
    let event = Event {
        event_id,
        visitor_id: strict_text(identification.visitor_id, "identification.visitor_id")?,
        visitor_found: flag(&identification.visitor_found),
        timestamp_ms: strict_integer(&d.timestamp, "timestamp")?,
        url: text(d.url),
        ip_info: ip_info(d.ip_info, ip.as_deref()),
        ip,
        confidence: identification.confidence.and_then(|c| number(&c.score)),
        linked_id: strict_text(d.linked_id, "linked_id")?,
        user_agent: text(d.user_agent),
        bot: text(d.bot).map(|s| BotResult::parse(&s)),
        // `bot_type` is the short classification; `bot_info.name` is the richer record newer
        // responses carry, and the best name left when only that is present.
        bot_type: text(d.bot_type).or_else(|| d.bot_info.and_then(|b| text(b.name))),
        suspect_score: integer(&d.suspect_score),
        vpn: vpn(
            flag(&d.vpn),
            d.vpn_confidence,
            d.vpn_origin_timezone,
            d.vpn_origin_country,
            d.vpn_methods,
        ),
        proxy: flag(&d.proxy).map(|result| Proxy {
            result,
            confidence: text(d.proxy_confidence),
            proxy_type: d.proxy_details.and_then(|p| text(p.proxy_type)),
        }),
        // v4 has no separate Tor signal: it is one of the blocklist flags.
        tor: ip_blocklist.as_ref().and_then(|b| b.tor_node),
        ip_blocklist,
        tampering: flag(&d.tampering).map(|result| {
            let details = d.tampering_details.unwrap_or_default();
            Tampering {
                result,
                anomaly_score: number(&details.anomaly_score),
                anti_detect_browser: flag(&details.anti_detect_browser),
            }
        }),
        virtual_machine: flag(&d.virtual_machine),
        incognito: flag(&d.incognito),
        developer_tools: flag(&d.developer_tools),
        high_activity: flag(&d.high_activity_device),
        location_spoofing: flag(&d.location_spoofing),
        emulator: flag(&d.emulator),
        simulator: flag(&d.simulator),
        factory_reset_ms: integer(&d.factory_reset_timestamp).map(epoch_to_ms),
        root_apps: flag(&d.root_apps),
        jailbroken: flag(&d.jailbroken),
        frida: flag(&d.frida),
        cloned_app: flag(&d.cloned_app),
        mitm_attack: flag(&d.mitm_attack),
        privacy_settings: flag(&d.privacy_settings),
        remote_control: None,
        replayed: flag(&d.replayed),
        velocity: velocity(d.velocity.as_ref(), &VELOCITY),
        high_recall_visitor_id: d.high_recall.and_then(|h| text(h.visitor_id)),
        incremental_identification_status: text(d.incremental_identification_status)
            .map(|s| IdentificationStatus::parse(&s)),
        source: text(d.source),
        proxy_ml_score: number(&d.proxy_ml_score),
        rare_device: flag(&d.rare_device),
        rare_device_percentile_bucket: text(d.rare_device_percentile_bucket),
        rule_action: rule_action(d.rule_action),
        raw: RawJson::default(),
    };
    super::limits::check(&event)?;
    Ok(Event { raw, ..event })
}

fn vpn(
    result: Option<bool>,
    confidence: Option<Scalar>,
    origin_timezone: Option<Scalar>,
    origin_country: Option<Scalar>,
    methods: Option<document::VpnMethods>,
) -> Option<Vpn> {
    let result = result?;
    let m = methods.unwrap_or_default();
    Some(Vpn {
        result,
        confidence: text(confidence),
        origin_timezone: text(origin_timezone),
        origin_country: text(origin_country),
        methods: VpnMethods {
            timezone_mismatch: flag(&m.timezone_mismatch),
            public_vpn: flag(&m.public_vpn),
            auxiliary_mobile: flag(&m.auxiliary_mobile),
            os_mismatch: flag(&m.os_mismatch),
            relay: flag(&m.relay),
            ml_prediction: flag(&m.ml_prediction),
        },
    })
}

/// The details of the event IP's family (see `ip_info.rs`); `None` when neither family says
/// anything this type keeps. The first family that is an object is the one read.
fn ip_info(info: Option<document::IpInfo>, ip: Option<&str>) -> Option<IpInfo> {
    let mut families = info?;
    let family = family_order(ip).into_iter().find_map(|name| match name {
        "v6" => families.v6.take(),
        _ => families.v4.take(),
    })?;
    let info = IpInfo {
        asn: text(family.asn),
        asn_name: named(text(family.asn_name)),
        asn_network: text(family.asn_network),
        asn_type: text(family.asn_type),
        datacenter: flag(&family.datacenter_result),
        datacenter_name: named(text(family.datacenter_name)),
    };
    (info != IpInfo::default()).then_some(info)
}

/// Present only when the event was fetched with a `ruleset_id`. Without a readable `type` there
/// is no action to follow, so the whole record reads as absent.
fn rule_action(r: Option<document::RuleAction>) -> Option<RuleAction> {
    let r = r?;
    Some(RuleAction {
        action: RuleActionType::parse(&text(r.action)?),
        ruleset_id: text(r.ruleset_id),
        rule_id: text(r.rule_id),
        rule_expression: text(r.rule_expression),
        status_code: integer(&r.status_code).and_then(|code| u16::try_from(code).ok()),
    })
}

/// v4 sends only the flags, so the overall result is derived: listed anywhere means listed.
fn ip_blocklist(b: Option<document::IpBlocklist>) -> Option<IpBlocklist> {
    let b = b?;
    let (email_spam, attack_source, tor_node) = (
        flag(&b.email_spam),
        flag(&b.attack_source),
        flag(&b.tor_node),
    );
    let flags = [email_spam, attack_source, tor_node];
    if flags.iter().all(Option::is_none) {
        return None;
    }
    Some(IpBlocklist {
        result: flags.contains(&Some(true)),
        email_spam,
        attack_source,
        tor_node,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The full-document parse, as `Event::from_value` runs it.
    fn parse(value: Value) -> Result<Event, ParseError> {
        let raw = RawJson::from_value(&value);
        super::parse(value, raw)
    }

    #[test]
    fn the_text_read_refuses_what_the_whole_document_parse_refuses() {
        // Found by the event_v4 fuzz target: a number out of range, and a lone surrogate, in a
        // field the parse does not read.
        for doc in [
            r#"{"event_id":"e1","identifictaoni":{"confidencE":{"score":-1e320}}}"#,
            r#"{"event_id":"e1","unread":"\ud800"}"#,
            r#"{"event_id":"e1","unread":[1,{"a":1e999}]}"#,
        ] {
            assert!(serde_json::from_str::<Value>(doc).is_err(), "{doc}");
            assert!(document::from_text(doc).is_none(), "{doc}");
            assert!(Event::from_v4_json(doc.as_bytes()).is_err(), "{doc}");
        }
        for bytes in [
            &b"{\"event_id\":\"e1\",\"unread\":\"\xff\"}"[..],
            &b"{\"event_id\":\"e1\",\"ip_info\":{\"v4\":{\"geo\":\"\xc3\"}}}"[..],
        ] {
            assert!(
                Event::from_v4_json(bytes).is_err(),
                "invalid UTF-8 in an unread field"
            );
        }
        let fine = r#"{"event_id":"e1","unread":[1,{"a":"\u00e9"}],"bot":"bad","bot":"good"}"#;
        let fields = document::from_text(fine).expect("an object of fields");
        assert_eq!(fields.event_id, Some(Scalar::Str("e1".into())));
        assert_eq!(
            fields.bot,
            Some(Scalar::Str("good".into())),
            "the last of a repeated key"
        );
        assert_eq!(
            Event::from_v4_json(fine.as_bytes()).unwrap().bot,
            Some(BotResult::Good)
        );
    }

    #[test]
    fn the_text_read_agrees_with_the_value_read_on_numbers_repeats_and_errors() {
        for text in [
            // A nested object repeated: the last one is read, whatever its shape.
            r#"{"event_id":"e1","identification":{"visitor_id":"a"},"identification":"x"}"#,
            r#"{"event_id":"e1","ip_info":{"v4":{"asn":"1"}},"ip_info":{"v6":{"asn":"2"}}}"#,
            // Whole numbers written as floats, an integer past i64, negative zero.
            r#"{"event_id":"e1","suspect_score":5.0,"timestamp":1.7e12,"factory_reset_timestamp":-0}"#,
            r#"{"event_id":"e1","suspect_score":18446744073709551615,"identification":{"confidence":{"score":1}}}"#,
            r#"{"event_id":"e1","rule_action":{"type":"block","status_code":403.0},"velocity":{"events":{"5_minutes":2.0}}}"#,
        ] {
            let whole = Event::from_json(text.as_bytes()).unwrap();
            assert_eq!(
                Event::from_v4_json(text.as_bytes()).unwrap(),
                whole,
                "{text}"
            );
        }
        for text in [
            r#"{"event_id":7}"#,
            r#"{"event_id":"e1","identification":{"visitor_id":["v"]}}"#,
            r#"{"event_id":"e1","timestamp":"yesterday"}"#,
            r#"{"event_id":"e1","timestamp":1.5}"#,
            r#"{"event_id":"e1","linked_id":{}}"#,
            r#"{"event_id":""}"#,
        ] {
            let sparse = Event::from_v4_json(text.as_bytes()).unwrap_err();
            let whole = Event::from_json(text.as_bytes()).unwrap_err();
            assert_eq!(sparse.to_string(), whole.to_string(), "{text}");
        }
        let error = Event::from_v4_json(br#"{"event_id":"e1","identification":{"visitor_id":7}}"#);
        let message = error.unwrap_err().to_string();
        assert!(
            message.contains("field `identification.visitor_id` must be a string, found a number"),
            "{message}"
        );
    }

    #[test]
    fn the_nested_read_agrees_with_the_whole_document_parse_on_odd_shapes() {
        // Each nested object the sparse read filters, given another shape, a repeated key, an
        // escaped key or a key it does not read: both parses must give the same event.
        let docs = [
            json!({"event_id": "e1", "identification": "v1", "ip_info": [1, 2], "rule_action": 7}),
            json!({"event_id": "e1", "identification": {"visitor_id": null, "confidence": []}}),
            json!({"event_id": "e1", "identification": {"confidence": {"score": 0.5, "x": 1}}}),
            json!({"event_id": "e1", "ip_address": "2001:db8::1",
                   "ip_info": {"v4": {"asn": "1"}, "v6": "none"}}),
            json!({"event_id": "e1", "ip_info": {"v4": {"geolocation": {"city": "x"}}}}),
            json!({"event_id": "e1", "ip_info": {"v6": {"datacenter_result": true, "asn": 9}}}),
            json!({"event_id": "e1", "vpn": true, "vpn_methods": {"relay": true, "other": {}}}),
            json!({"event_id": "e1", "rule_action": {"type": "block", "status_code": 403,
                   "body": "x"}}),
            json!({"event_id": "e1", "bot_info": {"name": "Selenium", "category": "x"},
                   "supplementary_id_high_recall": {"visitor_id": "h1", "confidence": {}}}),
        ];
        for doc in docs {
            let text = doc.to_string();
            let sparse = Event::from_v4_json(text.as_bytes()).unwrap();
            let whole = parse(doc.clone()).unwrap();
            assert_eq!(
                Event {
                    raw: RawJson::default(),
                    ..sparse
                },
                Event {
                    raw: RawJson::default(),
                    ..whole
                },
                "{text}"
            );
        }
        // Written by hand: a repeated nested key (the last wins) and an escaped key.
        let text = r#"{"event_id":"e1","identification":{"visitor_id":"a","visitor_id":"b"},
            "tampering":true,"tampering_details":{"anomaly\u005fscore":0.9}}"#;
        let sparse = Event::from_v4_json(text.as_bytes()).unwrap();
        assert_eq!(sparse.visitor_id.as_deref(), Some("b"));
        assert_eq!(sparse.tampering.unwrap().anomaly_score, Some(0.9));
        let fields =
            document::from_text(r#"{"ip_info":{"v4":{"asn":"1","geolocation":{"city":"x"}}}}"#);
        let v4 = fields.and_then(|f| f.ip_info).and_then(|i| i.v4).unwrap();
        assert_eq!(v4.asn, Some(Scalar::Str("1".into())));
        assert!(document::from_text("[1]").is_none(), "not an object");
        assert!(
            document::from_text(r#"{"event_id":"e1"} x"#).is_none(),
            "trailing text"
        );
    }

    #[test]
    fn reads_a_minimal_event() {
        let event = parse(json!({
            "event_id": "e1",
            "timestamp": 1_700_000_000_000_i64,
            "identification": {"visitor_id": "v1", "confidence": {"score": 0.5}},
            "bot": "bad",
            "bot_info": {"name": "Selenium"},
            "ip_blocklist": {"email_spam": false, "attack_source": true},
            "velocity": {"events": {"5_minutes": 2, "24_hours": 9}, "ip_events": {}},
        }))
        .unwrap();
        assert_eq!(event.event_id, "e1");
        assert_eq!(event.visitor_id.as_deref(), Some("v1"));
        assert_eq!(event.timestamp_ms, Some(1_700_000_000_000));
        assert_eq!(event.confidence, Some(0.5));
        assert_eq!(event.bot, Some(BotResult::Bad));
        assert_eq!(event.bot_type.as_deref(), Some("Selenium"));
        let blocklist = event.ip_blocklist.unwrap();
        assert!(blocklist.result);
        assert_eq!(blocklist.tor_node, None);
        assert_eq!(event.tor, None);
        let velocity = event.velocity.unwrap();
        let events = velocity.events.unwrap();
        assert_eq!((events.m5, events.h1, events.h24), (Some(2), None, Some(9)));
        assert_eq!(velocity.ip_events, None);
        assert_eq!(event.vpn, None);
        assert_eq!(event.raw.to_value()["event_id"], "e1");
    }

    #[test]
    fn unknown_enum_values_are_kept() {
        let event = parse(json!({
            "event_id": "e1",
            "bot": "suspicious",
            "incremental_identification_status": "partially_completed",
        }))
        .unwrap();
        assert_eq!(event.bot, Some(BotResult::Other("suspicious".into())));
        assert_eq!(
            event.incremental_identification_status,
            Some(IdentificationStatus::PartiallyCompleted)
        );
        assert!(!event.has_smart_signals());

        let event = parse(json!({"event_id": "e1", "incremental_identification_status": "x"}));
        let status = event.unwrap().incremental_identification_status;
        assert_eq!(status, Some(IdentificationStatus::Other("x".into())));
    }

    #[test]
    fn a_signal_of_the_wrong_type_is_none() {
        let event = parse(json!({
            "event_id": "e1",
            "vpn": "yes",
            "vpn_confidence": "high",
            "tampering": true,
            "tampering_details": {"anomaly_score": "high"},
            "incognito": 1,
            "bot": {"result": "bad"},
            "suspect_score": "7",
            "velocity": [],
            "url": 42,
        }))
        .unwrap();
        assert_eq!(event.vpn, None);
        assert_eq!(event.incognito, None);
        assert_eq!(event.bot, None);
        assert_eq!(event.suspect_score, None);
        assert_eq!(event.velocity, None);
        assert_eq!(event.url, None);
        let tampering = event.tampering.unwrap();
        assert!(tampering.result);
        assert_eq!(tampering.anomaly_score, None);
    }

    #[test]
    fn identity_fields_must_have_their_type() {
        for bad in [
            json!({"event_id": 7}),
            json!({"event_id": "e1", "linked_id": {"broken": "format"}}),
            json!({"event_id": "e1", "timestamp": "yesterday"}),
            json!({"event_id": "e1", "identification": {"visitor_id": ["v"]}}),
        ] {
            assert!(matches!(parse(bad), Err(ParseError::Json(_))));
        }
        let event = parse(json!({"event_id": "e1", "linked_id": null})).unwrap();
        assert_eq!(event.linked_id, None);
    }

    #[test]
    fn missing_event_id_is_a_shape_error() {
        for bad in [
            json!({"timestamp": 1}),
            json!({"event_id": ""}),
            json!([1, 2]),
        ] {
            assert!(matches!(parse(bad), Err(ParseError::Shape(_))));
        }
    }

    #[test]
    fn ip_info_follows_the_family_of_the_event_ip() {
        let info = json!({
            "v4": {"asn": "7922", "asn_name": "COMCAST-7922", "asn_network": "73.136.0.0/13",
                   "asn_type": "isp", "datacenter_result": false, "datacenter_name": ""},
            "v6": {"asn": "6805", "asn_name": "Telefonica Germany", "asn_network": "2a02:3100::/24",
                   "asn_type": "hosting", "datacenter_result": true, "datacenter_name": "DediPath"},
        });
        let read = |ip: Value, info: Value| {
            parse(json!({"event_id": "e1", "ip_address": ip, "ip_info": info}))
                .unwrap()
                .ip_info
        };
        let v4 = read(json!("61.127.217.15"), info.clone()).unwrap();
        assert_eq!(
            v4,
            IpInfo {
                asn: Some("7922".into()),
                asn_name: Some("COMCAST-7922".into()),
                asn_network: Some("73.136.0.0/13".into()),
                asn_type: Some("isp".into()),
                datacenter: Some(false),
                datacenter_name: None,
            },
            "an empty datacenter name is no name"
        );
        let v6 = read(json!("2001:db8::8"), info.clone()).unwrap();
        assert_eq!(v6.asn.as_deref(), Some("6805"));
        assert_eq!(v6.datacenter, Some(true));
        assert_eq!(v6.datacenter_name.as_deref(), Some("DediPath"));
        // Without the event IP's family, or without an event IP, v4 then v6 describe it.
        let only_v6 = json!({"v6": info["v6"].clone()});
        assert_eq!(read(json!("61.127.217.15"), only_v6).unwrap(), v6);
        assert_eq!(read(Value::Null, info.clone()).unwrap(), v4);
        assert_eq!(
            read(json!("2001:db8::8"), json!({"v4": info["v4"].clone()})),
            Some(v4)
        );
        // Odd types read as absent, and nothing readable is no `ip_info` at all.
        let odd = json!({"v4": {"asn": 7922, "datacenter_result": "yes", "asn_type": "isp"}});
        let odd = read(json!("61.127.217.15"), odd).unwrap();
        assert_eq!((odd.asn, odd.datacenter), (None, None));
        assert_eq!(odd.asn_type.as_deref(), Some("isp"));
        for nothing in [
            json!({}),
            json!({"v4": "x"}),
            json!({"v4": {"geolocation": {}}}),
            json!([]),
        ] {
            assert_eq!(
                read(json!("61.127.217.15"), nothing.clone()),
                None,
                "{nothing}"
            );
        }
    }

    #[test]
    fn reads_the_rule_action_of_a_ruleset() {
        let read = |action: Value| {
            parse(json!({"event_id": "e1", "rule_action": action}))
                .unwrap()
                .rule_action
        };
        let block = read(json!({
            "type": "block", "ruleset_id": "rs_b1k1blhqpOX3kU", "rule_id": "r_uE0af8497PFAOD",
            "rule_expression": "bot in [\"bad\"] || incognito", "status_code": 403,
            "headers": [{"name": "Content-Type", "value": "application/json"}],
            "body": "{\"title\":\"Forbidden\"}",
        }));
        assert_eq!(
            block,
            Some(RuleAction {
                action: RuleActionType::Block,
                ruleset_id: Some("rs_b1k1blhqpOX3kU".into()),
                rule_id: Some("r_uE0af8497PFAOD".into()),
                rule_expression: Some("bot in [\"bad\"] || incognito".into()),
                status_code: Some(403),
            })
        );
        let allow = read(json!({"type": "allow", "ruleset_id": "rs_1",
            "request_header_modifications": {"set": [{"name": "x-a", "value": "1"}]}}))
        .unwrap();
        assert_eq!(allow.action, RuleActionType::Allow);
        assert_eq!((allow.rule_id, allow.status_code), (None, None));

        let unknown = read(json!({"type": "challenge", "ruleset_id": "rs_1"})).unwrap();
        assert_eq!(unknown.action, RuleActionType::Other("challenge".into()));
        // Without a readable type there is nothing to follow.
        for no_type in [
            json!({"ruleset_id": "rs_1"}),
            json!({"type": 1}),
            json!("block"),
            json!(null),
        ] {
            assert_eq!(read(no_type.clone()), None, "{no_type}");
        }
        let odd = read(json!({"type": "block", "rule_id": 5, "status_code": 70000})).unwrap();
        assert_eq!((odd.rule_id, odd.status_code), (None, None));
        assert_eq!(parse(json!({"event_id": "e1"})).unwrap().rule_action, None);
    }

    #[test]
    fn reads_the_proxy_score_and_device_rarity() {
        let event = parse(json!({
            "event_id": "e1",
            "proxy_ml_score": 0.875,
            "rare_device": true,
            "rare_device_percentile_bucket": "p99.9+",
        }))
        .unwrap();
        assert_eq!(event.proxy_ml_score, Some(0.875));
        assert_eq!(event.rare_device, Some(true));
        assert_eq!(
            event.rare_device_percentile_bucket.as_deref(),
            Some("p99.9+")
        );
        let odd = parse(json!({
            "event_id": "e1",
            "proxy_ml_score": "0.9",
            "rare_device": "yes",
            "rare_device_percentile_bucket": 99,
        }))
        .unwrap();
        assert_eq!(
            (
                odd.proxy_ml_score,
                odd.rare_device,
                odd.rare_device_percentile_bucket
            ),
            (None, None, None)
        );
    }

    #[test]
    fn from_json_routes_by_shape() {
        let v4 = Event::from_json(br#"{"event_id": "e4", "bot": "good"}"#).unwrap();
        assert_eq!(
            (v4.event_id.as_str(), v4.bot),
            ("e4", Some(BotResult::Good))
        );
        let v3 =
            br#"{"products": {"botd": {"data": {"requestId": "e3", "bot": {"result": "good"}}}}}"#;
        let v3 = Event::from_json(v3).unwrap();
        assert_eq!(
            (v3.event_id.as_str(), v3.bot),
            ("e3", Some(BotResult::Good))
        );
        assert!(matches!(Event::from_json(b"{"), Err(ParseError::Json(_))));
    }
}
