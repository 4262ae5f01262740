//! Bounds on what an event may carry before anyone stores it.
//!
//! Fingerprint's own values are small: a visitor id is 20 characters, an event id about 20,
//! and a whole event with every Smart Signal about 8 KiB. Anything far past that comes from
//! something between us and Fingerprint misbehaving (a proxy, a forged sealed result), and a
//! caller that stores event fields (a database row, a log line) must not receive megabytes
//! in a field it expects to be an identifier. So every string field of [`Event`] is bounded,
//! and identifiers must also be printable ASCII. The limits leave ample room over what the API
//! documents; an event past any of them is refused as a whole, never truncated.

use super::{BotResult, Event, IdentificationStatus, ParseError, RuleActionType};

/// The most bytes one event document may take: the largest documented event (the v3 full
/// `get_event_200.json`) is under 8 KiB, so this is over 30 times that. It bounds the client's
/// read of a response body and the inflated plaintext of a sealed result alike.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;

/// Event ids (`1708102555327.NLOjmg`): the same bound the client puts on ids it sends.
pub const MAX_EVENT_ID_LEN: usize = 128;
/// Visitor ids (20 alphanumerics today, `_hr`-suffixed for high-recall ids).
pub const MAX_VISITOR_ID_LEN: usize = 64;
/// The page-chosen `linkedId`: the page decides it, so it gets more room than our ids.
pub const MAX_LINKED_ID_LEN: usize = 256;
/// An IP address in text (IPv6 with a zone is at most about 50 bytes).
pub const MAX_IP_LEN: usize = 64;
/// The page URL.
pub const MAX_URL_LEN: usize = 8 * 1024;
/// The browser's user agent.
pub const MAX_USER_AGENT_LEN: usize = 2 * 1024;
/// A Rules Engine rule's expression: written by the workspace's team, so it gets room to grow
/// (a list of countries or ASNs), but no more than a page URL.
pub const MAX_RULE_EXPRESSION_LEN: usize = 8 * 1024;
/// Every other string: enum-like values (`bad`, `residential`), time zones, country codes,
/// bot names.
pub const MAX_SHORT_TEXT_LEN: usize = 256;

/// What a field may hold besides its length.
#[derive(Clone, Copy)]
enum Charset {
    /// Printable ASCII without spaces: the alphabet of every id Fingerprint issues.
    Identifier,
    /// Any text without control characters (no NUL, newline or escape sequence).
    Text,
}

/// Checks every string field of `event` against its bound.
pub(super) fn check(event: &Event) -> Result<(), ParseError> {
    use Charset::{Identifier, Text};
    let other_bot = match &event.bot {
        Some(BotResult::Other(s)) => Some(s.as_str()),
        _ => None,
    };
    let other_status = match &event.incremental_identification_status {
        Some(IdentificationStatus::Other(s)) => Some(s.as_str()),
        _ => None,
    };
    let vpn = event.vpn.as_ref();
    let proxy = event.proxy.as_ref();
    let ip_info = event.ip_info.as_ref();
    let ip_text =
        |value: fn(&super::IpInfo) -> Option<&String>| ip_info.and_then(value).map(String::as_str);
    let rule = event.rule_action.as_ref();
    let other_rule = match rule.map(|r| &r.action) {
        Some(RuleActionType::Other(s)) => Some(s.as_str()),
        _ => None,
    };
    let fields: &[(&'static str, Option<&str>, usize, Charset)] = &[
        (
            "event_id",
            Some(&event.event_id),
            MAX_EVENT_ID_LEN,
            Identifier,
        ),
        (
            "visitor_id",
            event.visitor_id.as_deref(),
            MAX_VISITOR_ID_LEN,
            Identifier,
        ),
        (
            "high_recall_visitor_id",
            event.high_recall_visitor_id.as_deref(),
            MAX_VISITOR_ID_LEN,
            Identifier,
        ),
        (
            "linked_id",
            event.linked_id.as_deref(),
            MAX_LINKED_ID_LEN,
            Text,
        ),
        ("ip", event.ip.as_deref(), MAX_IP_LEN, Identifier),
        ("url", event.url.as_deref(), MAX_URL_LEN, Text),
        (
            "user_agent",
            event.user_agent.as_deref(),
            MAX_USER_AGENT_LEN,
            Text,
        ),
        ("bot", other_bot, MAX_SHORT_TEXT_LEN, Text),
        (
            "bot_type",
            event.bot_type.as_deref(),
            MAX_SHORT_TEXT_LEN,
            Text,
        ),
        (
            "incremental_identification_status",
            other_status,
            MAX_SHORT_TEXT_LEN,
            Text,
        ),
        ("source", event.source.as_deref(), MAX_SHORT_TEXT_LEN, Text),
        (
            "vpn.confidence",
            vpn.and_then(|v| v.confidence.as_deref()),
            MAX_SHORT_TEXT_LEN,
            Text,
        ),
        (
            "vpn.origin_timezone",
            vpn.and_then(|v| v.origin_timezone.as_deref()),
            MAX_SHORT_TEXT_LEN,
            Text,
        ),
        (
            "vpn.origin_country",
            vpn.and_then(|v| v.origin_country.as_deref()),
            MAX_SHORT_TEXT_LEN,
            Text,
        ),
        (
            "proxy.confidence",
            proxy.and_then(|p| p.confidence.as_deref()),
            MAX_SHORT_TEXT_LEN,
            Text,
        ),
        (
            "proxy.proxy_type",
            proxy.and_then(|p| p.proxy_type.as_deref()),
            MAX_SHORT_TEXT_LEN,
            Text,
        ),
        // The ASN is a velocity key, compared and counted like an id: real ones are digits.
        (
            "ip_info.asn",
            ip_text(|i| i.asn.as_ref()),
            MAX_SHORT_TEXT_LEN,
            Identifier,
        ),
        (
            "ip_info.asn_name",
            ip_text(|i| i.asn_name.as_ref()),
            MAX_SHORT_TEXT_LEN,
            Text,
        ),
        (
            "ip_info.asn_network",
            ip_text(|i| i.asn_network.as_ref()),
            MAX_SHORT_TEXT_LEN,
            Text,
        ),
        (
            "ip_info.asn_type",
            ip_text(|i| i.asn_type.as_ref()),
            MAX_SHORT_TEXT_LEN,
            Text,
        ),
        (
            "ip_info.datacenter_name",
            ip_text(|i| i.datacenter_name.as_ref()),
            MAX_SHORT_TEXT_LEN,
            Text,
        ),
        (
            "rare_device_percentile_bucket",
            event.rare_device_percentile_bucket.as_deref(),
            MAX_SHORT_TEXT_LEN,
            Text,
        ),
        ("rule_action.type", other_rule, MAX_SHORT_TEXT_LEN, Text),
        (
            "rule_action.ruleset_id",
            rule.and_then(|r| r.ruleset_id.as_deref()),
            MAX_SHORT_TEXT_LEN,
            Text,
        ),
        (
            "rule_action.rule_id",
            rule.and_then(|r| r.rule_id.as_deref()),
            MAX_SHORT_TEXT_LEN,
            Text,
        ),
        (
            "rule_action.rule_expression",
            rule.and_then(|r| r.rule_expression.as_deref()),
            MAX_RULE_EXPRESSION_LEN,
            Text,
        ),
    ];
    for &(field, value, max, charset) in fields {
        let Some(value) = value else { continue };
        if value.len() > max {
            return Err(ParseError::Limit {
                field,
                problem: format!("is {} bytes long, over the {max}-byte limit", value.len()),
            });
        }
        let (allowed, what) = match charset {
            Identifier => (
                value.bytes().all(|b| b.is_ascii_graphic()),
                "characters outside printable ASCII",
            ),
            Text => (!value.chars().any(char::is_control), "control characters"),
        };
        if !allowed {
            return Err(ParseError::Limit {
                field,
                problem: format!("holds {what}"),
            });
        }
    }
    Ok(())
}
