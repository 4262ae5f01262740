//! Server API v4: the flat, snake_case `Event` of `GET /v4/events/{event_id}`.
//!
//! Type rule (see `json.rs`): identity fields (`event_id`, `identification.visitor_id`,
//! `linked_id`, `timestamp`) must have their documented type when present; every other field
//! that has an unexpected type reads as `None`.

use super::ip_info::{family_order, named};
use super::json::{
    at, bool_at, epoch_to_ms, f64_at, i64_at, str_at, strict_i64_at, strict_str_at, velocity,
    VelocitySpelling,
};
use super::RawJson;
use super::{
    BotResult, Event, IdentificationStatus, IpBlocklist, IpInfo, ParseError, Proxy, RuleAction,
    RuleActionType, Tampering, Vpn, VpnMethods,
};
use serde::de::{Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::fmt;

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

/// What [`parse`] reads of a value: all of it, or some keys of an object.
#[derive(Debug, Clone, Copy)]
enum Read {
    /// The whole value, built as a `serde_json::Value`.
    Whole,
    /// Only these keys of an object, in byte order, each read as given. The parse only looks
    /// keys up in such a value, so one of another shape (a string where an object was
    /// documented) stands in as `null`: a lookup in either finds nothing.
    Keys(&'static [(&'static str, Read)]),
}

use Read::{Keys, Whole};

/// The keys read of one address family's `ip_info` (see `ip_info`).
const IP_FAMILY: Read = Keys(&[
    ("asn", Whole),
    ("asn_name", Whole),
    ("asn_network", Whole),
    ("asn_type", Whole),
    ("datacenter_name", Whole),
    ("datacenter_result", Whole),
]);

/// Everything [`parse`] reads, down to the keys of nested objects. The rest of the document
/// (`raw_device_attributes`, `sdk`, `browser_details`, `ip_info`'s geolocation and whatever
/// Fingerprint adds) is checked by [`read_fields`] without being built; tests and the
/// `event_v4` fuzz target check that this parse and the whole-document one agree.
const FIELDS: Read = Keys(&[
    ("bot", Whole),
    ("bot_info", Keys(&[("name", Whole)])),
    ("bot_type", Whole),
    ("cloned_app", Whole),
    ("developer_tools", Whole),
    ("emulator", Whole),
    ("event_id", Whole),
    ("factory_reset_timestamp", Whole),
    ("frida", Whole),
    ("high_activity_device", Whole),
    (
        "identification",
        Keys(&[
            ("confidence", Keys(&[("score", Whole)])),
            ("visitor_found", Whole),
            ("visitor_id", Whole),
        ]),
    ),
    ("incognito", Whole),
    ("incremental_identification_status", Whole),
    ("ip_address", Whole),
    (
        "ip_blocklist",
        Keys(&[
            ("attack_source", Whole),
            ("email_spam", Whole),
            ("tor_node", Whole),
        ]),
    ),
    ("ip_info", Keys(&[("v4", IP_FAMILY), ("v6", IP_FAMILY)])),
    ("jailbroken", Whole),
    ("linked_id", Whole),
    ("location_spoofing", Whole),
    ("mitm_attack", Whole),
    ("privacy_settings", Whole),
    // Not read by `parse`: kept, empty, so that a document of unknown generation can be told
    // to be v3 (see `Event::from_v4_document`).
    ("products", Keys(&[])),
    ("proxy", Whole),
    ("proxy_confidence", Whole),
    ("proxy_details", Keys(&[("proxy_type", Whole)])),
    ("proxy_ml_score", Whole),
    ("rare_device", Whole),
    ("rare_device_percentile_bucket", Whole),
    ("replayed", Whole),
    ("requestId", Keys(&[])),
    ("root_apps", Whole),
    (
        "rule_action",
        Keys(&[
            ("rule_expression", Whole),
            ("rule_id", Whole),
            ("ruleset_id", Whole),
            ("status_code", Whole),
            ("type", Whole),
        ]),
    ),
    ("simulator", Whole),
    ("source", Whole),
    (
        "supplementary_id_high_recall",
        Keys(&[("visitor_id", Whole)]),
    ),
    ("suspect_score", Whole),
    ("tampering", Whole),
    (
        "tampering_details",
        Keys(&[("anomaly_score", Whole), ("anti_detect_browser", Whole)]),
    ),
    ("timestamp", Whole),
    ("url", Whole),
    ("user_agent", Whole),
    ("velocity", Whole),
    ("virtual_machine", Whole),
    ("vpn", Whole),
    ("vpn_confidence", Whole),
    (
        "vpn_methods",
        Keys(&[
            ("auxiliary_mobile", Whole),
            ("ml_prediction", Whole),
            ("os_mismatch", Whole),
            ("public_vpn", Whole),
            ("relay", Whole),
            ("timezone_mismatch", Whole),
        ]),
    ),
    ("vpn_origin_country", Whole),
    ("vpn_origin_timezone", Whole),
]);

/// The document as an object holding only what [`parse`] reads ([`FIELDS`]): the rest is
/// parsed as strictly as by `serde_json::Value` (numbers in range, escapes valid) but never
/// built. `None` when the document is not a JSON object or not JSON (the full parse then names
/// the problem), so this accepts exactly the documents the full parse accepts.
pub(super) fn read_fields(text: &str) -> Option<Value> {
    if text.len() > super::MAX_EVENT_BYTES {
        return None;
    }
    let mut reader = serde_json::Deserializer::from_str(text);
    let fields = FIELDS.deserialize(&mut reader).ok()?;
    reader.end().ok()?;
    fields.is_object().then_some(fields)
}

impl<'de> DeserializeSeed<'de> for Read {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        match self {
            Whole => Value::deserialize(deserializer),
            Keys(keys) => deserializer.deserialize_any(Only(keys)),
        }
    }
}

/// Reads an object keeping the given keys (the last of a repeated one, as `Value` does); any
/// other shape is checked and read as `null`.
struct Only(&'static [(&'static str, Read)]);

impl<'de> Visitor<'de> for Only {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut kept = serde_json::Map::new();
        while let Some(wanted) = map.next_key_seed(KeyOf(self.0))? {
            match wanted {
                Some((name, read)) => {
                    kept.insert(name.to_owned(), map.next_value_seed(read)?);
                }
                None => {
                    map.next_value::<Checked>()?;
                }
            }
        }
        Ok(Value::Object(kept))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Value, A::Error> {
        Checked.visit_seq(seq).map(|_| Value::Null)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_str<E>(self, _: &str) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Keys(self.0).deserialize(deserializer)
    }
}

/// An object key, looked up among the wanted ones without being copied.
struct KeyOf(&'static [(&'static str, Read)]);

impl<'de> DeserializeSeed<'de> for KeyOf {
    type Value = Option<(&'static str, Read)>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyOf {
    type Value = Option<(&'static str, Read)>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
        // A binary search: a linear one compared most of the 45 top-level names with each key.
        let found = self
            .0
            .binary_search_by(|(name, _)| name.as_bytes().cmp(key.as_bytes()));
        Ok(found.ok().map(|at| self.0[at]))
    }
}

/// Any JSON value, read through the same paths as `Value` (so it fails where `Value` fails)
/// and dropped as it is read.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Checked)
    }
}

impl<'de> Visitor<'de> for Checked {
    type Value = Checked;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_none<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Checked, D::Error> {
        Checked::deserialize(deserializer)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_entry::<Checked, Checked>()?.is_some() {}
        Ok(Checked)
    }
}

pub(super) fn parse(value: Value, raw: RawJson) -> Result<Event, ParseError> {
    if !value.is_object() {
        return Err(ParseError::Shape("a v4 event must be a JSON object"));
    }
    let v = &value;
    let event_id = strict_str_at(v, &["event_id"])?
        .filter(|id| !id.is_empty())
        .ok_or(ParseError::Shape("no `event_id`"))?;
    let ip_blocklist = ip_blocklist(v);
    let ip = str_at(v, &["ip_address"]);
    let event = Event {
        event_id,
        visitor_id: strict_str_at(v, &["identification", "visitor_id"])?,
        visitor_found: bool_at(v, &["identification", "visitor_found"]),
        timestamp_ms: strict_i64_at(v, &["timestamp"])?,
        url: str_at(v, &["url"]),
        ip_info: ip_info(v, ip.as_deref()),
        ip,
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
        proxy_ml_score: f64_at(v, &["proxy_ml_score"]),
        rare_device: bool_at(v, &["rare_device"]),
        rare_device_percentile_bucket: str_at(v, &["rare_device_percentile_bucket"]),
        rule_action: rule_action(v),
        raw: RawJson::default(),
    };
    super::limits::check(&event)?;
    Ok(Event { raw, ..event })
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

/// The details of the event IP's family (see `ip_info.rs`); `None` when neither family says
/// anything this type keeps.
fn ip_info(v: &Value, ip: Option<&str>) -> Option<IpInfo> {
    let info = family_order(ip)
        .into_iter()
        .find_map(|family| at(v, &["ip_info", family]).filter(|i| i.is_object()))?;
    let text = |name: &str| str_at(info, &[name]);
    let info = IpInfo {
        asn: text("asn"),
        asn_name: named(text("asn_name")),
        asn_network: text("asn_network"),
        asn_type: text("asn_type"),
        datacenter: bool_at(info, &["datacenter_result"]),
        datacenter_name: named(text("datacenter_name")),
    };
    (info != IpInfo::default()).then_some(info)
}

/// Present only when the event was fetched with a `ruleset_id`. Without a readable `type` there
/// is no action to follow, so the whole record reads as absent.
fn rule_action(v: &Value) -> Option<RuleAction> {
    let r = at(v, &["rule_action"])?;
    Some(RuleAction {
        action: RuleActionType::parse(&str_at(r, &["type"])?),
        ruleset_id: str_at(r, &["ruleset_id"]),
        rule_id: str_at(r, &["rule_id"]),
        rule_expression: str_at(r, &["rule_expression"]),
        status_code: i64_at(r, &["status_code"]).and_then(|code| u16::try_from(code).ok()),
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

    /// The full-document parse, as `Event::from_value` runs it.
    fn parse(value: Value) -> Result<Event, ParseError> {
        let raw = RawJson::from_value(&value);
        super::parse(value, raw)
    }

    #[test]
    fn the_read_fields_parse_refuses_what_the_whole_document_parse_refuses() {
        // Found by the event_v4 fuzz target: a number out of range, and a lone surrogate, in a
        // field the parse does not read.
        for doc in [
            r#"{"event_id":"e1","identifictaoni":{"confidencE":{"score":-1e320}}}"#,
            r#"{"event_id":"e1","unread":"\ud800"}"#,
            r#"{"event_id":"e1","unread":[1,{"a":1e999}]}"#,
        ] {
            assert!(serde_json::from_str::<Value>(doc).is_err(), "{doc}");
            assert!(read_fields(doc).is_none(), "{doc}");
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
        assert_eq!(
            read_fields(fine),
            Some(json!({"event_id": "e1", "bot": "good"})),
            "only the fields read, the last of a repeated key"
        );
    }

    #[test]
    fn every_table_of_keys_is_in_byte_order_for_the_binary_search() {
        fn check(read: Read, path: &str) {
            if let Keys(keys) = read {
                for pair in keys.windows(2) {
                    assert!(
                        pair[0].0 < pair[1].0,
                        "{path}: {} before {}",
                        pair[0].0,
                        pair[1].0
                    );
                }
                for (name, nested) in keys {
                    check(*nested, &format!("{path}.{name}"));
                }
            }
        }
        check(FIELDS, "event");
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
        assert_eq!(
            read_fields(r#"{"ip_info":{"v4":{"asn":"1","geolocation":{"city":"x"}}}}"#),
            Some(json!({"ip_info": {"v4": {"asn": "1"}}})),
            "only the keys read are built"
        );
        assert_eq!(read_fields("[1]"), None, "not an object");
        assert_eq!(read_fields(r#"{"event_id":"e1"} x"#), None, "trailing text");
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
