//! Server API v4: the flat, snake_case `Event` of `GET /v4/events/{event_id}`.
//!
//! Type rule (see `json.rs`): identity fields (`event_id`, `identification.visitor_id`,
//! `linked_id`, `timestamp`) must have their documented type when present; every other field
//! that has an unexpected type reads as `None`.

use super::json::{
    at, bool_at, epoch_to_ms, f64_at, i64_at, str_at, strict_i64_at, strict_str_at, velocity,
    VelocitySpelling,
};
use super::{
    BotResult, Event, IdentificationStatus, IpBlocklist, IpInfo, ParseError, Proxy, Tampering, Vpn,
    VpnMethods,
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

pub(super) fn parse(value: Value) -> Result<Event, ParseError> {
    if !value.is_object() {
        return Err(ParseError::Shape("a v4 event must be a JSON object"));
    }
    let v = &value;
    let event_id = strict_str_at(v, &["event_id"])?
        .filter(|id| !id.is_empty())
        .ok_or(ParseError::Shape("no `event_id`"))?;
    let ip_blocklist = ip_blocklist(v);
    let event = Event {
        event_id,
        visitor_id: strict_str_at(v, &["identification", "visitor_id"])?,
        visitor_found: bool_at(v, &["identification", "visitor_found"]),
        timestamp_ms: strict_i64_at(v, &["timestamp"])?,
        url: str_at(v, &["url"]),
        ip: str_at(v, &["ip_address"]),
        ip_info: ip_info(v),
        confidence: f64_at(v, &["identification", "confidence", "score"]),
        linked_id: strict_str_at(v, &["linked_id"])?,
        user_agent: str_at(v, &["user_agent"]),
        bot: str_at(v, &["bot"]).map(|s| BotResult::parse(&s)),
        // `bot_type` is the short classification; `bot_info.name` is the richer record newer
        // responses carry, and the best name left when only that is present.
        bot_type: str_at(v, &["bot_type"]).or_else(|| str_at(v, &["bot_info", "name"])),
        suspect_score: i64_at(v, &["suspect_score"]),
        vpn: vpn(v),
        proxy: bool_at(v, &["proxy"]).map(|result| Proxy {
            result,
            confidence: str_at(v, &["proxy_confidence"]),
            proxy_type: str_at(v, &["proxy_details", "proxy_type"]),
        }),
        // v4 has no separate Tor signal: it is one of the blocklist flags.
        tor: ip_blocklist.as_ref().and_then(|b| b.tor_node),
        ip_blocklist,
        tampering: bool_at(v, &["tampering"]).map(|result| Tampering {
            result,
            anomaly_score: f64_at(v, &["tampering_details", "anomaly_score"]),
            anti_detect_browser: bool_at(v, &["tampering_details", "anti_detect_browser"]),
        }),
        virtual_machine: bool_at(v, &["virtual_machine"]),
        incognito: bool_at(v, &["incognito"]),
        developer_tools: bool_at(v, &["developer_tools"]),
        high_activity: bool_at(v, &["high_activity_device"]),
        location_spoofing: bool_at(v, &["location_spoofing"]),
        emulator: bool_at(v, &["emulator"]),
        simulator: bool_at(v, &["simulator"]),
        factory_reset_ms: i64_at(v, &["factory_reset_timestamp"]).map(epoch_to_ms),
        root_apps: bool_at(v, &["root_apps"]),
        jailbroken: bool_at(v, &["jailbroken"]),
        frida: bool_at(v, &["frida"]),
        cloned_app: bool_at(v, &["cloned_app"]),
        mitm_attack: bool_at(v, &["mitm_attack"]),
        privacy_settings: bool_at(v, &["privacy_settings"]),
        remote_control: None,
        replayed: bool_at(v, &["replayed"]),
        velocity: velocity(at(v, &["velocity"]), &VELOCITY),
        high_recall_visitor_id: str_at(v, &["supplementary_id_high_recall", "visitor_id"]),
        incremental_identification_status: str_at(v, &["incremental_identification_status"])
            .map(|s| IdentificationStatus::parse(&s)),
        source: str_at(v, &["source"]),
        raw: Value::Null,
    };
    super::limits::check(&event)?;
    Ok(Event {
        raw: value,
        ..event
    })
}

fn vpn(v: &Value) -> Option<Vpn> {
    let result = bool_at(v, &["vpn"])?;
    let method = |name: &str| bool_at(v, &["vpn_methods", name]);
    Some(Vpn {
        result,
        confidence: str_at(v, &["vpn_confidence"]),
        origin_timezone: str_at(v, &["vpn_origin_timezone"]),
        origin_country: str_at(v, &["vpn_origin_country"]),
        methods: VpnMethods {
            timezone_mismatch: method("timezone_mismatch"),
            public_vpn: method("public_vpn"),
            auxiliary_mobile: method("auxiliary_mobile"),
            os_mismatch: method("os_mismatch"),
            relay: method("relay"),
            ml_prediction: method("ml_prediction"),
        },
    })
}

/// The IPv4 address's record, or else the IPv6 one's; only the ASN is read so far.
fn ip_info(v: &Value) -> Option<IpInfo> {
    let asn = ["v4", "v6"]
        .iter()
        .find_map(|family| str_at(v, &["ip_info", family, "asn"]))?;
    Some(IpInfo {
        asn: Some(asn),
        ..IpInfo::default()
    })
}

/// v4 sends only the flags, so the overall result is derived: listed anywhere means listed.
fn ip_blocklist(v: &Value) -> Option<IpBlocklist> {
    let flag = |name: &str| bool_at(v, &["ip_blocklist", name]);
    let (email_spam, attack_source, tor_node) =
        (flag("email_spam"), flag("attack_source"), flag("tor_node"));
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
        assert_eq!(event.raw["event_id"], "e1");
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
