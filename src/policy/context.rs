//! What the service knows about the signup request itself, beside the Fingerprint event.

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};

use super::device_identity::{Identity, IdentityAccounts};

/// Request facts the rules compare the event against. Kept free of HTTP types so backtests
/// and `explain` can replay a stored attempt without a request. The field names are those of
/// the stored snapshot (`clientIp`, `origin`, `nowMs`, `deviceAccounts`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Context {
    /// The client's address as resolved by [`client_ip`]; `None` when unknown.
    pub client_ip: Option<IpAddr>,
    /// The request's `Origin` header, when the browser sent one.
    pub origin: Option<String>,
    /// The decision time in milliseconds since the Unix epoch, passed in so evaluation is
    /// pure and repeatable.
    pub now_ms: i64,
    /// Accounts this device already holds within `device_window_days`: those sharing any
    /// identity of `device_identity` with the event.
    #[serde(default)]
    pub device_accounts: i64,
    /// The accounts sharing each identity, when `device_identity` counts more than the
    /// visitor id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<IdentityAccounts>,
    /// The email address the username stands for, normalised ([`crate::email::identity`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Accounts that already have that address.
    #[serde(default)]
    pub email_accounts: i64,
    /// The analysts' list entries this signup matched, as they stood at the decision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lists: Vec<ListHit>,
    /// What the velocity rules switched on counted.
    #[serde(default, skip_serializing_if = "VelocityCounts::is_empty")]
    pub velocity: VelocityCounts,
}

impl Context {
    /// The identity the device's accounts were found by: the first, in counting order, that
    /// any account shares; the visitor id when only it is counted.
    pub fn matched_identity(&self) -> Identity {
        self.identities
            .iter()
            .find(|i| i.accounts > 0)
            .map_or(Identity::VisitorId, |i| i.identity)
    }
}

/// The counts the velocity rules judge, recorded with the attempt. Each is present when its
/// rule was on and the signup had the value it counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VelocityCounts {
    /// Attempts from the client IP in the current window, this one included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<Counted>,
    /// Attempts from its /24 (IPv4) or /64 (IPv6) network, this one included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<Counted>,
    /// Attempts from the visitor id, this one included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor: Option<Counted>,
    /// Accounts already created at the email address's domain in the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_domain: Option<Counted>,
    /// Accounts already created from the event's autonomous system in the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<Counted>,
}

impl VelocityCounts {
    /// Nothing counted (every rule off): the snapshot then leaves the field out.
    pub fn is_empty(&self) -> bool {
        *self == VelocityCounts::default()
    }
}

/// One count and what it counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counted {
    /// The address, network, visitor id, domain or ASN counted.
    pub value: String,
    /// How many.
    pub count: i64,
}

/// A list entry a signup matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListHit {
    /// The entry's id.
    pub id: i64,
    /// `visitor_id`, `ip`, `email_domain` or `email`.
    pub kind: String,
    /// The entry's value (an address, a CIDR, a domain, ...).
    pub value: String,
    /// What the entry asks for.
    pub action: super::Action,
    /// Why the analyst added it.
    pub reason: String,
}

/// The client address of a request behind `trusted_proxy_hops` reverse proxies.
///
/// Each trusted proxy appends the address it received the connection from, so the n-th entry
/// from the right of `X-Forwarded-For` was written by the outermost trusted proxy; entries
/// further left are whatever the client sent and are never trusted. Anything unreadable,
/// or a header shorter than the configured chain, falls back to the TCP peer: the worst case
/// is then binding to a proxy address, never to an address the client chose. Several
/// `X-Forwarded-For` headers must be joined with `,` in order before calling.
/// IPv4-mapped IPv6 addresses are returned as IPv4 so they compare equal to the event's IP.
pub fn client_ip(peer: IpAddr, x_forwarded_for: Option<&str>, trusted_proxy_hops: usize) -> IpAddr {
    let peer = peer.to_canonical();
    if trusted_proxy_hops == 0 {
        return peer;
    }
    let Some(header) = x_forwarded_for else {
        return peer;
    };
    let entries: Vec<&str> = header.split(',').map(str::trim).collect();
    if entries.len() < trusted_proxy_hops {
        return peer;
    }
    // Every entry a trusted proxy wrote must be readable, or the chain is not what we think.
    let trusted = &entries[entries.len() - trusted_proxy_hops..];
    let parsed: Option<Vec<IpAddr>> = trusted.iter().map(|e| parse_entry(e)).collect();
    match parsed {
        Some(ips) => ips[0].to_canonical(),
        None => peer,
    }
}

/// One `X-Forwarded-For` entry: a bare address, or an address with a port as some proxies
/// write it (`203.0.113.7:51000`, `[2001:db8::1]:443`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// An event or header IP in comparable form, so `::ffff:192.0.2.1` equals `192.0.2.1` and
/// IPv6 spellings that differ only in case or zero compression compare equal.
pub(crate) fn parse_ip(text: &str) -> Option<IpAddr> {
    parse_entry(text.trim()).map(|ip| ip.to_canonical())
}
