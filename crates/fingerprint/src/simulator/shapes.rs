//! Renders an issued event in the two Server API shapes: v4 (flat, snake_case) and v3
//! (`products` envelope, camelCase). Both read the same [`Signals`], so the two generations
//! can never disagree about a persona.

use super::extras::{
    ExtraSignal, HIGH_PROXY_ML_SCORE, HIGH_VELOCITY_EVENTS, LISTED_PROXY_ML_SCORE,
    LOW_PROXY_ML_SCORE, RECENT_RESET_AGO_MS,
};
use super::rules::rule_action;
use super::store::IssuedEvent;
use super::Persona;
use serde_json::{json, Map, Value};
use std::net::IpAddr;

const CHROME_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
     (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
const HEADLESS_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
     (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36";
const GOOGLEBOT_UA: &str =
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
const SDK_VERSION: &str = "3.11.10";
/// Upstream reports "high" for a negative too (it is sure nothing is there), so one word
/// fits every persona.
const DETECTION_CONFIDENCE: &str = "high";

/// The persona's facts, independent of any wire shape.
struct Signals {
    bot: Bot,
    user_agent: &'static str,
    browser_name: &'static str,
    vpn: bool,
    proxy: bool,
    tor: bool,
    tampering: bool,
    virtual_machine: bool,
    incognito: bool,
    replayed: bool,
    suspect_score: i64,
    confidence: f64,
    /// The extra signals asked for, on top of the persona's.
    extras: Vec<ExtraSignal>,
    /// Visitor events reported for every velocity window.
    visitor_events: i64,
    /// Factory reset time (ms; 0 for none).
    factory_reset_ms: i64,
    /// The IP belongs to a data center.
    datacenter: bool,
    /// The proxy model's score.
    proxy_ml_score: f64,
    /// An anti-detect browser (also part of tampering).
    anti_detect_browser: bool,
    /// A rare device configuration.
    rare_device: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Bot {
    NotDetected,
    Good,
    Bad,
}

impl Signals {
    fn of(event: &IssuedEvent) -> Signals {
        let persona = event.persona;
        let has = |x: ExtraSignal| event.extras.contains(&x);
        let (bot, user_agent, browser_name) = match persona {
            Persona::BadBot => (Bot::Bad, HEADLESS_UA, "HeadlessChrome"),
            Persona::GoodBot => (Bot::Good, GOOGLEBOT_UA, "Googlebot"),
            _ => (Bot::NotDetected, CHROME_UA, "Chrome"),
        };
        Signals {
            bot,
            user_agent,
            browser_name,
            vpn: persona == Persona::Vpn,
            proxy: persona == Persona::Proxy,
            tor: persona == Persona::Tor,
            tampering: persona == Persona::Tampering,
            virtual_machine: persona == Persona::VirtualMachine,
            incognito: persona == Persona::Incognito,
            replayed: persona == Persona::Replayed,
            suspect_score: persona.suspect_score(),
            confidence: persona.confidence(),
            extras: event.extras.clone(),
            visitor_events: if has(ExtraSignal::HighVelocity) {
                HIGH_VELOCITY_EVENTS
            } else {
                event.visitor_events
            },
            factory_reset_ms: if has(ExtraSignal::RecentFactoryReset) {
                event.timestamp_ms - RECENT_RESET_AGO_MS
            } else {
                0
            },
            datacenter: persona == Persona::Datacenter || has(ExtraSignal::DatacenterIp),
            proxy_ml_score: if has(ExtraSignal::ProxyMlScore) {
                HIGH_PROXY_ML_SCORE
            } else if persona == Persona::Proxy {
                LISTED_PROXY_ML_SCORE
            } else {
                LOW_PROXY_ML_SCORE
            },
            anti_detect_browser: persona == Persona::Tampering
                || has(ExtraSignal::AntiDetectBrowser),
            rare_device: has(ExtraSignal::RareDevice),
        }
    }

    fn percentile_bucket(&self) -> &'static str {
        if self.rare_device {
            "p99.9+"
        } else {
            "<p95"
        }
    }

    fn has(&self, extra: ExtraSignal) -> bool {
        self.extras.contains(&extra)
    }

    fn anomaly_score(&self) -> f64 {
        if self.tampering {
            0.9
        } else {
            0.0123
        }
    }
}

/// Server API v4 `GET /v4/events/{event_id}` body; with a ruleset, as fetched with
/// `?ruleset_id=`.
pub(crate) fn v4(event: &IssuedEvent, ruleset_id: Option<&str>) -> Value {
    let s = Signals::of(event);
    let mut body = json!({
        "event_id": event.event_id,
        "timestamp": event.timestamp_ms,
        "tags": {},
        "url": event.url,
        "ip_address": event.ip,
        "user_agent": s.user_agent,
        "browser_details": {
            "browser_name": s.browser_name,
            "browser_major_version": "124",
            "browser_full_version": "124.0.0",
            "os": "Windows",
            "os_version": "10",
            "device": "Other"
        },
        "identification": {
            "visitor_id": event.visitor_id,
            "confidence": { "score": s.confidence, "version": "1.1" },
            "visitor_found": event.visitor_found,
            "first_seen_at": event.first_seen_ms,
            "last_seen_at": event.last_seen_ms
        },
        "sdk": { "platform": "js", "version": SDK_VERSION },
        "replayed": s.replayed,
        "incremental_identification_status": if event.persona.has_smart_signals() {
            "completed"
        } else {
            "partially_completed"
        },
    });
    let fields = body.as_object_mut().expect("a json! object");
    if let Some(linked_id) = &event.linked_id {
        fields.insert("linked_id".into(), json!(linked_id));
    }
    if let Some(high_recall_id) = &event.high_recall_id {
        fields.insert(
            "supplementary_id_high_recall".into(),
            json!({
                "visitor_id": high_recall_id,
                "visitor_found": event.visitor_found,
                "confidence": { "score": s.confidence, "version": "1.1" },
                "first_seen_at": event.first_seen_ms,
                "last_seen_at": event.last_seen_ms
            }),
        );
    }
    if event.persona.has_smart_signals() {
        v4_smart_signals(fields, &s, event);
    }
    // The ruleset is evaluated on whatever the event carries, a partial one included.
    if let Some(ruleset_id) = ruleset_id {
        fields.insert(
            "rule_action".into(),
            rule_action(event.rule_action, ruleset_id),
        );
    }
    body
}

/// The family `ip_info` reports an address under; anything unreadable is taken as IPv4.
fn ip_family(ip: &str) -> &'static str {
    match ip.parse::<IpAddr>() {
        Ok(ip) if ip.to_canonical().is_ipv6() => "v6",
        _ => "v4",
    }
}

/// The network an address is announced in: its /24, or its /48 for IPv6.
fn ip_network(ip: &str) -> String {
    match ip.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        Ok(IpAddr::V6(v6)) => {
            let [a, b, c, ..] = v6.segments();
            format!("{a:x}:{b:x}:{c:x}::/48")
        }
        Err(_) => "192.0.2.0/24".into(),
    }
}

/// The autonomous system behind the IP: a home ISP, or a hosting provider's data center.
/// Numbers and names are from the documentation ranges (RFC 5398), so they never name anyone.
struct Network {
    asn: &'static str,
    name: &'static str,
    kind: &'static str,
    datacenter_name: &'static str,
}

fn network(s: &Signals) -> Network {
    if s.datacenter {
        Network {
            asn: "64500",
            name: "SIM-CLOUD",
            kind: "hosting",
            datacenter_name: "SimCloud",
        }
    } else {
        Network {
            asn: "64496",
            name: "SIM-BROADBAND",
            kind: "isp",
            datacenter_name: "",
        }
    }
}

fn v4_smart_signals(fields: &mut Map<String, Value>, s: &Signals, event: &IssuedEvent) {
    let bot = match s.bot {
        Bot::NotDetected => "not_detected",
        Bot::Good => "good",
        Bot::Bad => "bad",
    };
    let signals = json!({
        "bot": bot,
        "ip_blocklist": {
            "email_spam": false,
            "attack_source": s.has(ExtraSignal::IpBlocklist),
            "tor_node": s.tor
        },
        "proxy": s.proxy,
        "proxy_confidence": DETECTION_CONFIDENCE,
        "proxy_ml_score": s.proxy_ml_score,
        "vpn": s.vpn,
        "vpn_confidence": DETECTION_CONFIDENCE,
        "vpn_origin_timezone": if s.vpn { "Europe/Amsterdam" } else { "Europe/Berlin" },
        "vpn_origin_country": if s.vpn { "NL" } else { "unknown" },
        "vpn_methods": {
            "timezone_mismatch": s.vpn,
            "public_vpn": s.vpn,
            "auxiliary_mobile": false,
            "os_mismatch": false,
            "relay": false
        },
        "incognito": s.incognito,
        "tampering": s.tampering,
        "tampering_details": {
            "anomaly_score": s.anomaly_score(),
            "anti_detect_browser": s.anti_detect_browser
        },
        "virtual_machine": s.virtual_machine,
        "developer_tools": s.has(ExtraSignal::DeveloperTools),
        "privacy_settings": s.has(ExtraSignal::PrivacySettings),
        "high_activity_device": s.has(ExtraSignal::HighActivity),
        "location_spoofing": s.has(ExtraSignal::LocationSpoofing),
        "mitm_attack": s.has(ExtraSignal::MitmAttack),
        "root_apps": s.has(ExtraSignal::RootApps),
        "emulator": s.has(ExtraSignal::Emulator),
        "simulator": false,
        "cloned_app": s.has(ExtraSignal::ClonedApp),
        "jailbroken": s.has(ExtraSignal::Jailbroken),
        "frida": s.has(ExtraSignal::Frida),
        "factory_reset_timestamp": s.factory_reset_ms,
        "suspect_score": s.suspect_score,
        "velocity": v4_velocity(event, s.visitor_events),
        "rare_device": s.rare_device,
        "rare_device_percentile_bucket": s.percentile_bucket(),
    });
    if let Value::Object(signals) = signals {
        fields.extend(signals);
    }
    let net = network(s);
    let mut info = Map::new();
    info.insert(
        ip_family(&event.ip).into(),
        json!({
            "address": event.ip,
            "asn": event.asn.as_deref().unwrap_or(net.asn),
            "asn_name": net.name,
            "asn_network": ip_network(&event.ip),
            "asn_type": net.kind,
            "datacenter_result": s.datacenter,
            "datacenter_name": net.datacenter_name
        }),
    );
    fields.insert("ip_info".into(), Value::Object(info));
    if s.bot == Bot::Bad {
        fields.insert("bot_type".into(), json!("headlessChrome"));
    }
    if s.proxy {
        fields.insert(
            "proxy_details".into(),
            json!({ "proxy_type": "residential", "last_seen_at": event.timestamp_ms }),
        );
    }
}

fn v4_velocity(event: &IssuedEvent, visitor_events: i64) -> Value {
    // The simulator does not age its events, so every window sees all of them.
    let all = |n: i64| json!({ "5_minutes": n, "1_hour": n, "24_hours": n });
    let mut velocity = json!({
        "distinct_ip": all(1),
        "distinct_country": all(1),
        "events": all(visitor_events),
        "ip_events": all(visitor_events),
    });
    if event.linked_id.is_some() {
        velocity["distinct_linked_id"] = all(1);
        velocity["distinct_ip_by_linked_id"] = all(1);
        velocity["distinct_visitor_id_by_linked_id"] = all(1);
    }
    velocity
}

/// Server API v3 `GET /events/{request_id}` body.
pub(crate) fn v3(event: &IssuedEvent) -> Value {
    let s = Signals::of(event);
    let time = iso8601(event.timestamp_ms);
    let mut identification = json!({
        "visitorId": event.visitor_id,
        "requestId": event.event_id,
        "browserDetails": {
            "browserName": s.browser_name,
            "browserMajorVersion": "124",
            "browserFullVersion": "124.0.0",
            "os": "Windows",
            "osVersion": "10",
            "device": "Other",
            "userAgent": s.user_agent
        },
        "incognito": s.incognito,
        "ip": event.ip,
        "tag": {},
        "time": time,
        "timestamp": event.timestamp_ms,
        "url": event.url,
        "confidence": { "score": s.confidence },
        "visitorFound": event.visitor_found,
        "firstSeenAt": { "global": iso8601(event.first_seen_ms), "subscription": iso8601(event.first_seen_ms) },
        "lastSeenAt": { "global": iso8601(event.last_seen_ms), "subscription": iso8601(event.last_seen_ms) },
        "sdk": { "platform": "js", "version": SDK_VERSION },
        "replayed": s.replayed
    });
    if let Some(linked_id) = &event.linked_id {
        identification["linkedId"] = json!(linked_id);
    }
    if let Some(high_recall_id) = &event.high_recall_id {
        identification["supplementaryIds"] = json!({ "highRecall": {
            "visitorId": high_recall_id,
            "visitorFound": event.visitor_found,
            "confidence": { "score": s.confidence }
        } });
    }
    let mut products = Map::new();
    products.insert("identification".into(), json!({ "data": identification }));
    // v3 has no incremental status: a partial identification simply has no other products.
    if event.persona.has_smart_signals() {
        v3_smart_signals(&mut products, &s, event, &time);
    }
    json!({ "products": products })
}

fn v3_smart_signals(
    products: &mut Map<String, Value>,
    s: &Signals,
    event: &IssuedEvent,
    time: &str,
) {
    let result = |flag: bool| json!({ "data": { "result": flag } });
    let mut bot = json!({
        "result": match s.bot {
            Bot::NotDetected => "notDetected",
            Bot::Good => "good",
            Bot::Bad => "bad",
        }
    });
    if s.bot == Bot::Bad {
        bot["type"] = json!("headlessChrome");
    }
    let mut botd = json!({
        "bot": bot,
        "url": event.url,
        "ip": event.ip,
        "time": time,
        "userAgent": s.user_agent,
        "requestId": event.event_id
    });
    if let Some(linked_id) = &event.linked_id {
        botd["linkedId"] = json!(linked_id);
    }
    let mut proxy = json!({
        "result": s.proxy,
        "confidence": DETECTION_CONFIDENCE,
        "mlScore": s.proxy_ml_score
    });
    if s.proxy {
        proxy["details"] = json!({ "proxyType": "residential", "lastSeenAt": time });
    }
    let velocity = {
        let all = |n: i64| json!({ "intervals": { "5m": n, "1h": n, "24h": n } });
        let mut data = json!({
            "distinctIp": all(1),
            "distinctCountry": all(1),
            "events": all(s.visitor_events),
            "ipEvents": all(s.visitor_events),
        });
        if event.linked_id.is_some() {
            data["distinctLinkedId"] = all(1);
            data["distinctIpByLinkedId"] = all(1);
            data["distinctVisitorIdByLinkedId"] = all(1);
        }
        data
    };
    let signals = json!({
        "botd": { "data": botd },
        "ipBlocklist": { "data": {
            "result": s.tor || s.has(ExtraSignal::IpBlocklist),
            "details": { "emailSpam": false, "attackSource": s.has(ExtraSignal::IpBlocklist) }
        } },
        "tor": result(s.tor),
        "vpn": { "data": {
            "result": s.vpn,
            "confidence": DETECTION_CONFIDENCE,
            "originTimezone": if s.vpn { "Europe/Amsterdam" } else { "Europe/Berlin" },
            "originCountry": if s.vpn { "NL" } else { "unknown" },
            "methods": {
                "timezoneMismatch": s.vpn,
                "publicVPN": s.vpn,
                "auxiliaryMobile": false,
                "osMismatch": false,
                "relay": false
            }
        } },
        "proxy": { "data": proxy },
        "incognito": result(s.incognito),
        "tampering": { "data": {
            "result": s.tampering,
            "confidence": DETECTION_CONFIDENCE,
            "anomalyScore": s.anomaly_score(),
            "antiDetectBrowser": s.anti_detect_browser
        } },
        "virtualMachine": result(s.virtual_machine),
        "developerTools": result(s.has(ExtraSignal::DeveloperTools)),
        "privacySettings": result(s.has(ExtraSignal::PrivacySettings)),
        "highActivity": result(s.has(ExtraSignal::HighActivity)),
        "locationSpoofing": result(s.has(ExtraSignal::LocationSpoofing)),
        "mitmAttack": result(s.has(ExtraSignal::MitmAttack)),
        "rootApps": result(s.has(ExtraSignal::RootApps)),
        "emulator": result(s.has(ExtraSignal::Emulator)),
        "clonedApp": result(s.has(ExtraSignal::ClonedApp)),
        "jailbroken": result(s.has(ExtraSignal::Jailbroken)),
        "frida": result(s.has(ExtraSignal::Frida)),
        "remoteControl": result(s.has(ExtraSignal::RemoteControl)),
        "factoryReset": { "data": {
            "time": iso8601(s.factory_reset_ms),
            "timestamp": s.factory_reset_ms.div_euclid(1000)
        } },
        "suspectScore": { "data": { "result": s.suspect_score } },
        "velocity": { "data": velocity },
        "rareDevice": { "data": {
            "result": s.rare_device,
            "percentileBucket": s.percentile_bucket()
        } },
    });
    if let Value::Object(signals) = signals {
        products.extend(signals);
    }
    let net = network(s);
    let mut info = Map::new();
    info.insert(
        ip_family(&event.ip).into(),
        json!({
            "address": event.ip,
            "asn": {
                "asn": event.asn.as_deref().unwrap_or(net.asn),
                "name": net.name,
                "network": ip_network(&event.ip),
                "type": net.kind
            },
            "datacenter": { "result": s.datacenter, "name": net.datacenter_name }
        }),
    );
    products.insert("ipInfo".into(), json!({ "data": info }));
}

/// `2024-05-01T12:34:56Z` for a Unix time in milliseconds, as v3 writes `time`. Written by
/// hand because the crate has no date library and needs only this one format.
pub(crate) fn iso8601(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Gregorian (year, month, day) for a count of days since 1970-01-01, using 400-year eras
/// so that leap years fall out of the arithmetic instead of a table.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::iso8601;

    #[test]
    fn formats_known_instants() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_708_102_555_327), "2024-02-16T16:55:55Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(4_107_542_399_000), "2100-02-28T23:59:59Z");
    }
}
