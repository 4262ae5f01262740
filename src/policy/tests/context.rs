//! Resolving the client address behind trusted proxies.

use std::net::IpAddr;

use crate::policy::client_ip;

#[test]
fn client_ip_by_hops() {
    let peer: IpAddr = "10.0.0.1".parse().unwrap();
    // (XFF, hops, expected, why)
    let cases: Vec<(Option<&str>, usize, &str, &str)> = vec![
        (
            Some("1.1.1.1"),
            0,
            "10.0.0.1",
            "no trusted proxy: XFF is client-controlled",
        ),
        (None, 1, "10.0.0.1", "no header"),
        (Some("203.0.113.7"), 1, "203.0.113.7", "one proxy"),
        (
            Some("6.6.6.6, 203.0.113.7"),
            1,
            "203.0.113.7",
            "spoofed entry left of the proxy's",
        ),
        (
            Some("6.6.6.6, 203.0.113.7, 10.1.1.1"),
            2,
            "203.0.113.7",
            "two proxies",
        ),
        (Some("203.0.113.7"), 2, "10.0.0.1", "shorter than the chain"),
        (
            Some("garbage, 203.0.113.7"),
            1,
            "203.0.113.7",
            "garbage the client wrote is ignored",
        ),
        (
            Some("203.0.113.7, garbage"),
            1,
            "10.0.0.1",
            "malformed trusted entry",
        ),
        (
            Some("203.0.113.7, garbage"),
            2,
            "10.0.0.1",
            "malformed inside the chain",
        ),
        (Some(""), 1, "10.0.0.1", "empty header"),
        (Some("203.0.113.7,,"), 1, "10.0.0.1", "empty trailing entry"),
        (Some(" 2001:DB8::1 "), 1, "2001:db8::1", "IPv6 with spaces"),
        (
            Some("[2001:db8::1]:443"),
            1,
            "2001:db8::1",
            "IPv6 with port",
        ),
        (
            Some("203.0.113.7:51000"),
            1,
            "203.0.113.7",
            "IPv4 with port",
        ),
        (Some("::ffff:203.0.113.7"), 1, "203.0.113.7", "IPv4-mapped"),
    ];
    for (xff, hops, expected, why) in cases {
        let got = client_ip(peer, xff, hops);
        assert_eq!(got, expected.parse::<IpAddr>().unwrap(), "{why}");
    }
    let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
    assert_eq!(
        client_ip(mapped, None, 0),
        peer,
        "mapped peer is canonicalized"
    );
}
