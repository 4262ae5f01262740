//! Server API v3: the `products` envelope of `GET /events/{request_id}`, and the flat v3 webhook.
//!
//! Both carry the same camelCase records. The envelope nests each product as
//! `products.<name>.data` (or `products.<name>.error` when that product failed, which reads as
//! "signal unavailable", not as a parse failure); the webhook puts identification fields and each
//! signal straight at the top level. [`Layout`] hides that difference from the field mapping.
//!
//! Type rule (see `json.rs`): identity fields (`requestId`, `visitorId`, `linkedId`, `timestamp`)
//! must have their documented type when present; everything else reads as `None` when odd.

use super::ip_info::{family_order, named};
use super::json::{
    at, bool_at, epoch_to_ms, f64_at, i64_at, str_at, strict_i64_at, strict_str_at, velocity,
    VelocitySpelling,
};
use super::RawJson;
use super::{BotResult, Event, IpBlocklist, IpInfo, ParseError, Proxy, Tampering, Vpn, VpnMethods};
use serde_json::Value;

const VELOCITY: VelocitySpelling = VelocitySpelling {
    counters: [
        "distinctIp",
        "distinctLinkedId",
        "distinctCountry",
        "events",
        "ipEvents",
        "distinctIpByLinkedId",
        "distinctVisitorIdByLinkedId",
    ],
    nesting: &["intervals"],
    intervals: ["5m", "1h", "24h"],
};

/// Where a v3 document keeps its records.
#[derive(Clone, Copy)]
pub(super) enum Layout {
    /// `{"products": {"<name>": {"data": {...}}}}`, from the Server API.
    Envelope,
    /// Flat webhook body: identification and botd fields at the top, signals as `{"result": ...}`.
    Webhook,
}

struct Doc<'a> {
    root: &'a Value,
    layout: Layout,
}

impl<'a> Doc<'a> {
    /// A product's payload; `None` when it is absent, carries `error`, or is not an object.
    fn product(&self, name: &str) -> Option<&'a Value> {
        let data = match self.layout {
            Layout::Envelope => at(self.root, &["products", name, "data"]),
            Layout::Webhook => self.root.get(name),
        };
        data.filter(|d| d.is_object())
    }

    fn identification(&self) -> Option<&'a Value> {
        match self.layout {
            Layout::Envelope => self.product("identification"),
            Layout::Webhook => Some(self.root),
        }
    }

    fn botd(&self) -> Option<&'a Value> {
        match self.layout {
            Layout::Envelope => self.product("botd"),
            Layout::Webhook => Some(self.root),
        }
    }

    fn result(&self, product: &str) -> Option<bool> {
        bool_at(self.product(product)?, &["result"])
    }
}

/// Parses a v3 document. `fallback_id` names the event when the body itself does not, which
/// happens when both identification and botd failed: the caller asked for that id, so the
/// event still exists even though no product echoes it back.
pub(super) fn parse(
    value: Value,
    raw: RawJson,
    layout: Layout,
    fallback_id: Option<&str>,
) -> Result<Event, ParseError> {
    let doc = Doc {
        root: &value,
        layout,
    };
    let has_products = at(&value, &["products"]).is_some_and(Value::is_object);
    match layout {
        Layout::Envelope if !has_products => {
            return Err(ParseError::Shape(
                "a v3 event must be an object with `products`",
            ))
        }
        Layout::Webhook if !value.is_object() => {
            return Err(ParseError::Shape("a v3 webhook body must be a JSON object"))
        }
        _ => {}
    }
    let ident = doc.identification();
    let botd = doc.botd();
    // Read both sources strictly before falling back, so a malformed id in either is reported.
    let strict_either = |path: &[&str]| -> Result<Option<String>, ParseError> {
        let first = ident.map(|i| strict_str_at(i, path)).transpose()?.flatten();
        let second = botd.map(|b| strict_str_at(b, path)).transpose()?.flatten();
        Ok(first.or(second).filter(|s| !s.is_empty()))
    };
    let event_id = strict_either(&["requestId"])?
        .or_else(|| fallback_id.filter(|id| !id.is_empty()).map(str::to_owned))
        .ok_or(ParseError::Shape(
            "no `requestId` in identification or botd",
        ))?;
    let either_str = |path: &[&str]| {
        ident
            .and_then(|i| str_at(i, path))
            .or_else(|| botd.and_then(|b| str_at(b, path)))
    };
    let ident_bool = |path: &[&str]| ident.and_then(|i| bool_at(i, path));
    let ip = either_str(&["ip"]);
    let rare_device = doc.product("rareDevice");

    let event = Event {
        event_id,
        visitor_id: ident
            .map(|i| strict_str_at(i, &["visitorId"]))
            .transpose()?
            .flatten(),
        visitor_found: ident_bool(&["visitorFound"]),
        timestamp_ms: ident
            .map(|i| strict_i64_at(i, &["timestamp"]))
            .transpose()?
            .flatten(),
        url: either_str(&["url"]),
        ip_info: ip_info(&doc, ip.as_deref()),
        ip,
        confidence: ident.and_then(|i| f64_at(i, &["confidence", "score"])),
        linked_id: strict_either(&["linkedId"])?,
        // The identification record describes the browser that was fingerprinted; botd's
        // `userAgent` is the request's header and is the fallback when identification failed.
        user_agent: ident
            .and_then(|i| str_at(i, &["browserDetails", "userAgent"]))
            .or_else(|| botd.and_then(|b| str_at(b, &["userAgent"]))),
        bot: botd
            .and_then(|b| str_at(b, &["bot", "result"]))
            .map(|s| BotResult::parse(&s)),
        bot_type: botd.and_then(|b| str_at(b, &["bot", "type"])),
        suspect_score: doc
            .product("suspectScore")
            .and_then(|p| i64_at(p, &["result"])),
        vpn: vpn(&doc),
        proxy: doc.product("proxy").and_then(|p| {
            Some(Proxy {
                result: bool_at(p, &["result"])?,
                confidence: str_at(p, &["confidence"]),
                proxy_type: str_at(p, &["details", "proxyType"]),
            })
        }),
        tor: doc.result("tor"),
        ip_blocklist: doc.product("ipBlocklist").and_then(|p| {
            Some(IpBlocklist {
                result: bool_at(p, &["result"])?,
                email_spam: bool_at(p, &["details", "emailSpam"]),
                attack_source: bool_at(p, &["details", "attackSource"]),
                // v3 reports Tor as its own product, read into `Event::tor`.
                tor_node: None,
            })
        }),
        tampering: doc.product("tampering").and_then(|p| {
            Some(Tampering {
                result: bool_at(p, &["result"])?,
                anomaly_score: f64_at(p, &["anomalyScore"]),
                anti_detect_browser: bool_at(p, &["antiDetectBrowser"]),
            })
        }),
        virtual_machine: doc.result("virtualMachine"),
        // The incognito Smart Signal supersedes the older identification flag, which remains
        // the only source when the signal is not enabled or failed.
        incognito: doc
            .result("incognito")
            .or_else(|| ident_bool(&["incognito"])),
        developer_tools: doc.result("developerTools"),
        high_activity: doc.result("highActivity"),
        location_spoofing: doc.result("locationSpoofing"),
        emulator: doc.result("emulator"),
        simulator: None,
        factory_reset_ms: doc
            .product("factoryReset")
            .and_then(|p| i64_at(p, &["timestamp"]))
            .map(epoch_to_ms),
        root_apps: doc.result("rootApps"),
        jailbroken: doc.result("jailbroken"),
        frida: doc.result("frida"),
        cloned_app: doc.result("clonedApp"),
        mitm_attack: doc.result("mitmAttack"),
        privacy_settings: doc.result("privacySettings"),
        remote_control: doc.result("remoteControl"),
        replayed: ident_bool(&["replayed"]),
        velocity: velocity(doc.product("velocity"), &VELOCITY),
        high_recall_visitor_id: ident
            .and_then(|i| str_at(i, &["supplementaryIds", "highRecall", "visitorId"])),
        // v3 has neither incremental identification nor an event source.
        incremental_identification_status: None,
        source: None,
        proxy_ml_score: doc.product("proxy").and_then(|p| f64_at(p, &["mlScore"])),
        rare_device: rare_device.and_then(|p| bool_at(p, &["result"])),
        rare_device_percentile_bucket: rare_device.and_then(|p| str_at(p, &["percentileBucket"])),
        // The Rules Engine is a Server API v4 feature.
        rule_action: None,
        raw: RawJson::default(),
    };
    super::limits::check(&event)?;
    Ok(Event { raw, ..event })
}

/// The details of the event IP's family (see `ip_info.rs`), from v3's nested records.
fn ip_info(doc: &Doc<'_>, ip: Option<&str>) -> Option<IpInfo> {
    let product = doc.product("ipInfo")?;
    let info = family_order(ip)
        .into_iter()
        .find_map(|family| product.get(family).filter(|i| i.is_object()))?;
    let info = IpInfo {
        asn: str_at(info, &["asn", "asn"]),
        asn_name: named(str_at(info, &["asn", "name"])),
        asn_network: str_at(info, &["asn", "network"]),
        asn_type: str_at(info, &["asn", "type"]),
        datacenter: bool_at(info, &["datacenter", "result"]),
        datacenter_name: named(str_at(info, &["datacenter", "name"])),
    };
    (info != IpInfo::default()).then_some(info)
}

fn vpn(doc: &Doc<'_>) -> Option<Vpn> {
    let p = doc.product("vpn")?;
    let method = |name: &str| bool_at(p, &["methods", name]);
    Some(Vpn {
        result: bool_at(p, &["result"])?,
        confidence: str_at(p, &["confidence"]),
        origin_timezone: str_at(p, &["originTimezone"]),
        origin_country: str_at(p, &["originCountry"]),
        methods: VpnMethods {
            timezone_mismatch: method("timezoneMismatch"),
            public_vpn: method("publicVPN"),
            auxiliary_mobile: method("auxiliaryMobile"),
            os_mismatch: method("osMismatch"),
            relay: method("relay"),
            ml_prediction: method("mlPrediction"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The full-document parse, as `Event::from_value` runs it.
    fn parse(value: Value, layout: Layout, fallback_id: Option<&str>) -> Result<Event, ParseError> {
        let raw = RawJson::from_value(&value);
        super::parse(value, raw, layout, fallback_id)
    }
    use serde_json::json;

    fn envelope(products: Value) -> Result<Event, ParseError> {
        parse(json!({ "products": products }), Layout::Envelope, None)
    }

    #[test]
    fn reads_products_and_skips_failed_ones() {
        let event = envelope(json!({
            "identification": {"data": {"requestId": "r1", "visitorId": "v1", "timestamp": 5,
                "confidence": {"score": 1}, "incognito": true}},
            "botd": {"data": {"requestId": "r1", "bot": {"result": "bad", "type": "selenium"}}},
            "vpn": {"error": {"code": "Failed", "message": "boom"}},
            "incognito": {"data": {"result": false}},
            "suspectScore": {"data": {"result": 12}},
            "remoteControl": {"data": {"result": true}},
            "velocity": {"data": {"events": {"intervals": {"5m": 1, "1h": 2}}}},
        }))
        .unwrap();
        assert_eq!(event.event_id, "r1");
        assert_eq!(event.confidence, Some(1.0));
        assert_eq!(event.bot, Some(BotResult::Bad));
        assert_eq!(event.bot_type.as_deref(), Some("selenium"));
        assert_eq!(event.vpn, None);
        assert_eq!(event.incognito, Some(false));
        assert_eq!(event.suspect_score, Some(12));
        assert_eq!(event.remote_control, Some(true));
        let events = event.velocity.unwrap().events.unwrap();
        assert_eq!((events.m5, events.h1, events.h24), (Some(1), Some(2), None));
    }

    #[test]
    fn unknown_bot_value_is_kept_and_odd_types_are_none() {
        let event = envelope(json!({
            "botd": {"data": {"requestId": "r1", "bot": {"result": "maybe"}}},
            "tor": {"data": {"result": "no"}},
            "tampering": {"data": {"result": true, "anomalyScore": "high"}},
            "proxy": {"data": "yes"},
            "frida": {"data": {"result": false}, "unknown": "field"},
        }))
        .unwrap();
        assert_eq!(event.bot, Some(BotResult::Other("maybe".into())));
        assert_eq!(event.tor, None);
        assert_eq!(event.proxy, None);
        assert_eq!(event.frida, Some(false));
        assert_eq!(event.tampering.unwrap().anomaly_score, None);
        assert_eq!(event.incremental_identification_status, None);
    }

    #[test]
    fn identity_fields_must_have_their_type() {
        let linked = json!({"identification": {"data": {"requestId": "r1", "linkedId": {"a": 1}}}});
        assert!(matches!(envelope(linked), Err(ParseError::Json(_))));
        let id = json!({"botd": {"data": {"requestId": 12}}});
        assert!(matches!(envelope(id), Err(ParseError::Json(_))));
    }

    #[test]
    fn missing_request_id_is_a_shape_error_unless_the_caller_knows_it() {
        let failed = json!({"products": {"identification": {"error": {"code": "Failed"}}}});
        let err = parse(failed.clone(), Layout::Envelope, None);
        assert!(matches!(err, Err(ParseError::Shape(_))));
        let event = parse(failed, Layout::Envelope, Some("asked")).unwrap();
        assert_eq!(event.event_id, "asked");
        assert_eq!(event.visitor_id, None);
        for not_v3 in [json!({"products": []}), json!({"event_id": "e"})] {
            let err = parse(not_v3, Layout::Envelope, None);
            assert!(matches!(err, Err(ParseError::Shape(_))));
        }
    }

    #[test]
    fn reads_ip_info_proxy_score_and_rarity() {
        let event = envelope(json!({
            "identification": {"data": {"requestId": "r1", "ip": "2001:db8::8"}},
            "ipInfo": {"data": {
                "v4": {"address": "94.142.239.124",
                       "asn": {"asn": "7922", "name": "COMCAST-7922", "network": "73.136.0.0/13"},
                       "datacenter": {"result": false, "name": ""}},
                "v6": {"address": "2001:db8::8",
                       "asn": {"asn": "6805", "name": "Hoster", "network": "2a02:3100::/24", "type": "hosting"},
                       "datacenter": {"result": true, "name": "DediPath"}},
            }},
            "proxy": {"data": {"result": true, "confidence": "high", "mlScore": 0.99}},
            "rareDevice": {"data": {"result": true, "percentileBucket": "not_seen"}},
        }))
        .unwrap();
        assert_eq!(
            event.ip_info,
            Some(IpInfo {
                asn: Some("6805".into()),
                asn_name: Some("Hoster".into()),
                asn_network: Some("2a02:3100::/24".into()),
                asn_type: Some("hosting".into()),
                datacenter: Some(true),
                datacenter_name: Some("DediPath".into()),
            })
        );
        assert_eq!(event.proxy_ml_score, Some(0.99));
        assert_eq!(event.rare_device, Some(true));
        assert_eq!(
            event.rare_device_percentile_bucket.as_deref(),
            Some("not_seen")
        );
        assert_eq!(event.rule_action, None);

        let failed = envelope(json!({
            "identification": {"data": {"requestId": "r1", "ip": "61.127.217.15"}},
            "ipInfo": {"error": {"code": "Failed", "message": "boom"}},
            "rareDevice": {"data": {"result": "maybe"}},
            "proxy": {"data": {"result": false, "mlScore": "high"}},
        }))
        .unwrap();
        assert_eq!(failed.ip_info, None);
        assert_eq!((failed.rare_device, failed.proxy_ml_score), (None, None));
    }

    #[test]
    fn webhook_body_is_flat() {
        let body = br#"{"requestId": "w1", "visitorId": "v", "incognito": true,
            "bot": {"result": "notDetected"}, "tor": {"result": true},
            "supplementaryIds": {"highRecall": {"visitorId": "hr"}}}"#;
        let event = Event::from_json(body).unwrap();
        assert_eq!(event.event_id, "w1");
        assert_eq!(event.bot, Some(BotResult::NotDetected));
        assert_eq!((event.tor, event.incognito), (Some(true), Some(true)));
        assert_eq!(event.high_recall_visitor_id.as_deref(), Some("hr"));
    }
}
