//! The normalized identification event that both Server API generations parse into.
//!
//! Every field is optional: Fingerprint adds values and fields over time, and a missing
//! signal must never fail a parse. The raw JSON is kept beside the normalized view so
//! callers can read anything this type does not model.

mod enums;
mod ip_info;
mod json;
mod limits;
mod v3;
mod v4;
mod v4_document;

pub use limits::{
    MAX_EVENT_BYTES, MAX_EVENT_ID_LEN, MAX_IP_LEN, MAX_LINKED_ID_LEN, MAX_RULE_EXPRESSION_LEN,
    MAX_SHORT_TEXT_LEN, MAX_URL_LEN, MAX_USER_AGENT_LEN, MAX_VISITOR_ID_LEN,
};
use serde::{Deserialize, Serialize};

/// One identification event, normalized from Server API v4 or v3 (or a sealed result).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The event id (v4 `event_id`, v3 `requestId`).
    pub event_id: String,
    /// The stable device identifier.
    pub visitor_id: Option<String>,
    /// Whether Fingerprint had seen this visitor before.
    pub visitor_found: Option<bool>,
    /// When the identification happened, in milliseconds since the Unix epoch.
    pub timestamp_ms: Option<i64>,
    /// The page URL the agent ran on.
    pub url: Option<String>,
    /// The IP address Fingerprint saw.
    pub ip: Option<String>,
    /// Identification confidence score, 0.0 to 1.0.
    pub confidence: Option<f64>,
    /// The `linkedId` the page attached, if any.
    pub linked_id: Option<String>,
    /// The browser's user agent.
    pub user_agent: Option<String>,
    /// Bot detection result.
    pub bot: Option<BotResult>,
    /// The bot's type or name when one was detected (e.g. `headlessChrome`).
    pub bot_type: Option<String>,
    /// Suspect score: a weighted sum of the Smart Signals (0 and up).
    pub suspect_score: Option<i64>,
    /// VPN detection.
    pub vpn: Option<Vpn>,
    /// Proxy detection.
    pub proxy: Option<Proxy>,
    /// Whether the IP is a known Tor exit node.
    pub tor: Option<bool>,
    /// IP blocklist matches.
    pub ip_blocklist: Option<IpBlocklist>,
    /// Browser tampering / anti-detect browser detection.
    pub tampering: Option<Tampering>,
    /// Running inside a virtual machine.
    pub virtual_machine: Option<bool>,
    /// Private (incognito) browsing.
    pub incognito: Option<bool>,
    /// Developer tools are open.
    pub developer_tools: Option<bool>,
    /// The device is unusually active.
    pub high_activity: Option<bool>,
    /// The device's location is spoofed (mobile).
    pub location_spoofing: Option<bool>,
    /// Android emulator.
    pub emulator: Option<bool>,
    /// iOS simulator (v4 only).
    pub simulator: Option<bool>,
    /// When the mobile device was last factory reset, in milliseconds since the Unix epoch;
    /// `Some(0)` when no reset was detected or the visitor is a browser.
    pub factory_reset_ms: Option<i64>,
    /// Rooted Android device.
    pub root_apps: Option<bool>,
    /// Jailbroken iOS device.
    pub jailbroken: Option<bool>,
    /// Frida instrumentation detected.
    pub frida: Option<bool>,
    /// Cloned app detected (Android).
    pub cloned_app: Option<bool>,
    /// Man-in-the-middle attack detected.
    pub mitm_attack: Option<bool>,
    /// Privacy-focused browser settings detected.
    pub privacy_settings: Option<bool>,
    /// Remote control tools detected (v3 only, deprecated upstream).
    pub remote_control: Option<bool>,
    /// The event was replayed: the same identification submitted again.
    pub replayed: Option<bool>,
    /// Velocity counters.
    pub velocity: Option<Velocity>,
    /// The high-recall ("supplementary") visitor id.
    pub high_recall_visitor_id: Option<String>,
    /// Whether identification completed or only partially completed.
    pub incremental_identification_status: Option<IdentificationStatus>,
    /// Where the event came from (v4 `source`, e.g. `device`).
    pub source: Option<String>,
    /// What Fingerprint knows of the event's IP address: its network and whether it belongs
    /// to a hosting provider.
    pub ip_info: Option<IpInfo>,
    /// Machine-learning proxy score, 0.0 to 1.0 (v4 `proxy_ml_score`, v3 `proxy.mlScore`).
    pub proxy_ml_score: Option<f64>,
    /// The device's combination of hardware and software is rare (in the top 0.1 % or never
    /// seen before).
    pub rare_device: Option<bool>,
    /// How rare the device is: `<p95`, `p95-p99`, `p99-p99.5`, `p99.5-p99.9`, `p99.9+` or
    /// `not_seen`.
    pub rare_device_percentile_bucket: Option<String>,
    /// The action the workspace's Rules Engine ruleset chose for this event. Present only when
    /// the event was fetched with a `ruleset_id` (Server API v4).
    pub rule_action: Option<RuleAction>,
    /// The JSON this event was parsed from, untouched.
    #[serde(skip)]
    pub raw: RawJson,
}

/// The JSON document an event was parsed from, kept as text: most callers never read it, and
/// holding the text costs one copy where holding the parsed tree cost most of the parse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawJson(Option<std::sync::Arc<str>>);

impl RawJson {
    /// Keeps a document's bytes (JSON a parser accepted, so UTF-8).
    pub fn from_bytes(bytes: &[u8]) -> RawJson {
        // The strict check first: it is several times faster than the lossy one's chunking,
        // and the bytes of an accepted document always pass it.
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text.into(),
            Err(_) => String::from_utf8_lossy(bytes).into(),
        };
        RawJson(Some(text))
    }

    /// Keeps a document's text.
    fn from_text(text: &str) -> RawJson {
        RawJson(Some(text.into()))
    }

    /// Keeps an already-parsed document, written out again.
    pub fn from_value(value: &serde_json::Value) -> RawJson {
        RawJson(Some(value.to_string().into()))
    }

    /// The document's text; `null` for an event built rather than parsed.
    pub fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or("null")
    }

    /// The document, parsed.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(self.as_str()).unwrap_or(serde_json::Value::Null)
    }
}

/// Bot detection result. Unknown values are kept, never rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BotResult {
    /// No bot activity (v4 `not_detected`, v3 `notDetected`).
    NotDetected,
    /// A known good bot, such as a search engine crawler.
    Good,
    /// Automation, a headless browser or another bad bot.
    Bad,
    /// A value this version of the crate does not know.
    Other(String),
}

/// Incremental identification status. Unknown values are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IdentificationStatus {
    /// Identification and every Smart Signal completed.
    Completed,
    /// Identification completed but Smart Signals are not available.
    PartiallyCompleted,
    /// A value this version of the crate does not know.
    Other(String),
}

/// VPN detection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Vpn {
    /// Whether a VPN was detected.
    pub result: bool,
    /// Detection confidence (`low`, `medium`, `high`).
    pub confidence: Option<String>,
    /// Timezone the VPN traffic originates from.
    pub origin_timezone: Option<String>,
    /// Country the VPN traffic originates from.
    pub origin_country: Option<String>,
    /// Which detection methods fired.
    pub methods: VpnMethods,
}

/// The methods that can flag a VPN.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpnMethods {
    /// Browser timezone does not match the IP's.
    pub timezone_mismatch: Option<bool>,
    /// IP belongs to a public VPN provider.
    pub public_vpn: Option<bool>,
    /// Auxiliary mobile VPN method.
    pub auxiliary_mobile: Option<bool>,
    /// OS mismatch between the device and the network stack.
    pub os_mismatch: Option<bool>,
    /// Relay service such as iCloud Private Relay.
    pub relay: Option<bool>,
    /// Machine-learning prediction.
    pub ml_prediction: Option<bool>,
}

/// Proxy detection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Proxy {
    /// Whether a proxy was detected.
    pub result: bool,
    /// Detection confidence (`low`, `medium`, `high`).
    pub confidence: Option<String>,
    /// Proxy type (`residential`, `data_center`, ...).
    pub proxy_type: Option<String>,
}

/// IP blocklist matches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpBlocklist {
    /// Whether the IP is on any blocklist.
    pub result: bool,
    /// Known source of email spam.
    pub email_spam: Option<bool>,
    /// Known source of network attacks.
    pub attack_source: Option<bool>,
    /// Known Tor exit node.
    pub tor_node: Option<bool>,
}

/// Browser tampering detection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tampering {
    /// Whether tampering was detected.
    pub result: bool,
    /// Anomaly score, 0.0 to 1.0.
    pub anomaly_score: Option<f64>,
    /// An anti-detect browser was detected.
    pub anti_detect_browser: Option<bool>,
}

/// Facts about the event's IP address, for the address family of the event's IP (v4 and v6
/// are reported apart).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpInfo {
    /// The autonomous system number, e.g. `7922`.
    pub asn: Option<String>,
    /// The autonomous system's name, e.g. `COMCAST-7922`.
    pub asn_name: Option<String>,
    /// The network the address is announced in, e.g. `73.136.0.0/13`.
    pub asn_network: Option<String>,
    /// The kind of network, e.g. `isp` or `hosting`.
    pub asn_type: Option<String>,
    /// Whether the address belongs to a data center or hosting provider.
    pub datacenter: Option<bool>,
    /// The data center's name, when known.
    pub datacenter_name: Option<String>,
}

/// What a Rules Engine ruleset decided for an event (v4 `rule_action`).
///
/// A `block` also names the HTTP answer an edge proxy would send the visitor (status, headers,
/// body), and an `allow` the request headers it would change. A signup answers with its own
/// error, so of those only the status is kept, as a hint of what the rule meant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleAction {
    /// `allow` or `block`; an unknown value is kept.
    pub action: RuleActionType,
    /// The ruleset that was evaluated.
    pub ruleset_id: Option<String>,
    /// The rule that matched; absent when none did and the ruleset's default applied.
    pub rule_id: Option<String>,
    /// The matching rule's expression, e.g. `bot in ["bad"] || incognito`.
    pub rule_expression: Option<String>,
    /// For a block, the HTTP status the rule would answer the visitor with.
    pub status_code: Option<u16>,
}

/// The type of a [`RuleAction`]. Unknown values are kept, never rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RuleActionType {
    /// Let the request through.
    Allow,
    /// Refuse the request.
    Block,
    /// A value this version of the crate does not know.
    Other(String),
}

/// Velocity counters: how many distinct values were seen over recent intervals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Velocity {
    /// Distinct IPs for this visitor.
    pub distinct_ip: Option<VelocityIntervals>,
    /// Distinct linked ids for this visitor.
    pub distinct_linked_id: Option<VelocityIntervals>,
    /// Distinct countries for this visitor.
    pub distinct_country: Option<VelocityIntervals>,
    /// Events for this visitor.
    pub events: Option<VelocityIntervals>,
    /// Events from this IP.
    pub ip_events: Option<VelocityIntervals>,
    /// Distinct IPs for this linked id.
    pub distinct_ip_by_linked_id: Option<VelocityIntervals>,
    /// Distinct visitor ids for this linked id.
    pub distinct_visitor_id_by_linked_id: Option<VelocityIntervals>,
}

/// Counts over 5 minutes, 1 hour and 24 hours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VelocityIntervals {
    /// Over the last 5 minutes.
    pub m5: Option<i64>,
    /// Over the last hour.
    pub h1: Option<i64>,
    /// Over the last 24 hours.
    pub h24: Option<i64>,
}

/// Which Server API generation a JSON document comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiVersion {
    /// Server API v3 (`/events/{request_id}`, `products` envelope, camelCase).
    V3,
    /// Server API v4 (`/v4/events/{event_id}`, flat snake_case).
    V4,
}

/// Why a document could not be parsed as an event.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Not JSON, or a field has a type that cannot be read leniently.
    #[error("malformed event JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The document has no event id, or a shape that is neither v3 nor v4.
    #[error("not an identification event: {0}")]
    Shape(&'static str),
    /// A field is longer than its bound or holds characters it may not (see the `MAX_*`
    /// constants): something between Fingerprint and us is misbehaving, and the event is
    /// refused rather than stored.
    #[error("event field `{field}` {problem}")]
    Limit {
        /// The field, as named on [`Event`].
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

impl Event {
    /// Parses a Server API v4 `GET /v4/events/{event_id}` body.
    pub fn from_v4_json(bytes: &[u8]) -> Result<Event, ParseError> {
        // Checked as UTF-8 once here, the text's strings are not checked again one by one.
        let (fields, raw) = match std::str::from_utf8(bytes) {
            Ok(text) => (v4_document::from_text(text), RawJson::from_text(text)),
            Err(_) => (None, RawJson::from_bytes(bytes)),
        };
        match fields {
            Some(fields) => v4::event(fields, raw),
            // Not UTF-8, or not an object of fields: the full parse gives the precise error.
            None => v4::parse(read(bytes)?, raw),
        }
    }

    /// Reads a document of unknown generation sparsely, as [`Event::from_v4_json`] does, when
    /// it is a v4 event; `None` when it is a v3 one or not a JSON object, for the whole-document
    /// parse of [`Event::from_json`] to read.
    pub(crate) fn from_v4_document(bytes: &[u8]) -> Option<Result<Event, ParseError>> {
        let text = std::str::from_utf8(bytes).ok()?;
        let fields = v4_document::from_text(text)?;
        // The sparse read keeps the keys `v3_layout` looks at.
        let v3 = layout_by_keys(
            fields.products.is_some(),
            fields.request_id.is_some(),
            fields.event_id.is_some(),
        );
        v3.is_none()
            .then(|| v4::event(fields, RawJson::from_text(text)))
    }

    /// Parses a Server API v3 `GET /events/{request_id}` body.
    ///
    /// A body in which every product failed names no event; that is a [`ParseError::Shape`]
    /// here; use [`Event::from_v3_json_with_request_id`] to keep such events.
    pub fn from_v3_json(bytes: &[u8]) -> Result<Event, ParseError> {
        v3::parse(
            read(bytes)?,
            RawJson::from_bytes(bytes),
            v3::Layout::Envelope,
            None,
        )
    }

    /// Parses a Server API v3 `GET /events/{request_id}` body, using `request_id` as the event
    /// id when neither identification nor botd returned one (both products carried `error`).
    ///
    /// An id present in the body wins: it is what Fingerprint stored.
    pub fn from_v3_json_with_request_id(
        bytes: &[u8],
        request_id: &str,
    ) -> Result<Event, ParseError> {
        let raw = RawJson::from_bytes(bytes);
        v3::parse(read(bytes)?, raw, v3::Layout::Envelope, Some(request_id))
    }

    /// Parses a Server API v3 webhook body (flat camelCase, signals as `{"result": ...}`).
    pub fn from_v3_webhook_json(bytes: &[u8]) -> Result<Event, ParseError> {
        v3::parse(
            read(bytes)?,
            RawJson::from_bytes(bytes),
            v3::Layout::Webhook,
            None,
        )
    }

    /// Parses either generation, telling them apart by shape: `products` means a v3 API body,
    /// a top-level `requestId` without `event_id` means a v3 webhook body, anything else is v4.
    pub fn from_json(bytes: &[u8]) -> Result<Event, ParseError> {
        Self::from_value_and_raw(read(bytes)?, RawJson::from_bytes(bytes))
    }

    /// Like [`Event::from_json`], from an already-parsed value.
    pub fn from_value(value: serde_json::Value) -> Result<Event, ParseError> {
        let raw = RawJson::from_value(&value);
        Self::from_value_and_raw(value, raw)
    }

    pub(crate) fn from_value_and_raw(
        value: serde_json::Value,
        raw: RawJson,
    ) -> Result<Event, ParseError> {
        match v3_layout(&value) {
            Some(layout) => v3::parse(value, raw, layout, None),
            None => v4::parse(value, raw),
        }
    }

    /// Whether Smart Signals are expected on this event (not a partial identification).
    pub fn has_smart_signals(&self) -> bool {
        !matches!(
            self.incremental_identification_status,
            Some(IdentificationStatus::PartiallyCompleted)
        )
    }
}

/// The v3 layout a document of unknown generation has, told by shape: `products` means a v3
/// API body, a top-level `requestId` without `event_id` a v3 webhook body; `None` is v4.
fn v3_layout(value: &serde_json::Value) -> Option<v3::Layout> {
    layout_by_keys(
        value.get("products").is_some(),
        value.get("requestId").is_some(),
        value.get("event_id").is_some(),
    )
}

/// [`v3_layout`]'s rule, given which of its three top-level keys the document has.
fn layout_by_keys(products: bool, request_id: bool, event_id: bool) -> Option<v3::Layout> {
    if products {
        Some(v3::Layout::Envelope)
    } else if request_id && !event_id {
        Some(v3::Layout::Webhook)
    } else {
        None
    }
}

/// Reads an event document, refusing one past [`MAX_EVENT_BYTES`] before parsing it.
fn read(bytes: &[u8]) -> Result<serde_json::Value, ParseError> {
    if bytes.len() > MAX_EVENT_BYTES {
        return Err(ParseError::Limit {
            field: "(document)",
            problem: format!(
                "is {} bytes long, over the {MAX_EVENT_BYTES}-byte limit",
                bytes.len()
            ),
        });
    }
    Ok(serde_json::from_slice(bytes)?)
}
