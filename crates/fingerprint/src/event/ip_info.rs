//! Which address family's IP details describe an event.
//!
//! Fingerprint reports `ip_info` separately for the visitor's IPv4 and IPv6 addresses; the one
//! that matters is the family of the address the event was identified from. When that family is
//! missing, the other is the best description left of the same visitor's network.

use std::net::IpAddr;

/// The families to look in, best first, for an event seen from `ip`.
pub(super) fn family_order(ip: Option<&str>) -> [&'static str; 2] {
    // An IPv4-mapped IPv6 address is an IPv4 client, which upstream reports under `v4`.
    match ip.and_then(|ip| ip.trim().parse::<IpAddr>().ok()) {
        Some(ip) if ip.to_canonical().is_ipv6() => ["v6", "v4"],
        _ => ["v4", "v6"],
    }
}

/// An empty string is how upstream says "no name" (`"datacenter_name": ""`).
pub(super) fn named(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::family_order;

    #[test]
    fn the_event_ip_picks_the_family() {
        assert_eq!(family_order(Some("61.127.217.15")), ["v4", "v6"]);
        assert_eq!(family_order(Some("2001:db8::1")), ["v6", "v4"]);
        assert_eq!(family_order(Some("::ffff:61.127.217.15")), ["v4", "v6"]);
        assert_eq!(family_order(Some("not an ip")), ["v4", "v6"]);
        assert_eq!(family_order(None), ["v4", "v6"]);
    }
}
