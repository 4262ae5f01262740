//! Identity, freshness, origin, IP binding and device-limit rules.

use super::*;

#[test]
fn no_visitor_id_is_refused() {
    let cases = vec![
        (None, Outcome::Fired, "absent"),
        (Some(""), Outcome::Fired, "empty"),
        (Some("  "), Outcome::Fired, "blank"),
        (Some("v1"), Outcome::Passed, "present"),
    ];
    for (id, expected, why) in cases {
        let event = Event {
            visitor_id: id.map(String::from),
            ..clean_event()
        };
        let d = run(&Policy::default(), &event, &ctx());
        let c = check(&d, "visitor_id");
        assert_eq!(
            (c.outcome, c.code, c.action),
            (expected, "no_identification", Action::Block),
            "{why}"
        );
    }
}

#[test]
fn freshness() {
    // (max age s, event timestamp, stale?, future?, why)
    let cases = vec![
        (
            120,
            Some(NOW - 120_000),
            Outcome::Passed,
            Outcome::Passed,
            "exactly at the limit",
        ),
        (
            120,
            Some(NOW - 120_001),
            Outcome::Fired,
            Outcome::Passed,
            "1 ms over",
        ),
        (
            120,
            Some(NOW - 305_000),
            Outcome::Fired,
            Outcome::Passed,
            "long over",
        ),
        (
            120,
            Some(NOW + 30_000),
            Outcome::Passed,
            Outcome::Passed,
            "within clock skew",
        ),
        (
            120,
            Some(NOW + 30_001),
            Outcome::Passed,
            Outcome::Fired,
            "beyond clock skew",
        ),
        (
            120,
            None,
            Outcome::Fired,
            Outcome::Unavailable,
            "no timestamp cannot be proven fresh",
        ),
        (
            0,
            Some(NOW - 86_400_000),
            Outcome::Disabled,
            Outcome::Disabled,
            "0 turns it off",
        ),
        (
            0,
            None,
            Outcome::Disabled,
            Outcome::Disabled,
            "off means off",
        ),
    ];
    for (max, ts, stale, future, why) in cases {
        let policy = Policy {
            max_event_age_seconds: max,
            ..Policy::default()
        };
        let event = Event {
            timestamp_ms: ts,
            ..clean_event()
        };
        let d = run(&policy, &event, &ctx());
        assert_eq!(
            check(&d, "max_event_age_seconds").outcome,
            stale,
            "stale: {why}"
        );
        assert_eq!(
            check(&d, "clock_skew_seconds").outcome,
            future,
            "future: {why}"
        );
    }
    let event = Event {
        timestamp_ms: Some(NOW - 305_000),
        ..clean_event()
    };
    let d = run(&Policy::default(), &event, &ctx());
    let f = d.primary().unwrap();
    assert_eq!((f.code, f.action), ("stale_event", Action::Block));
    assert_eq!(f.detail, "event is 305 s old, limit 120 s");
}

#[test]
fn origins() {
    let allowed = vec![
        "https://example.com".to_string(),
        "http://localhost:3000".to_string(),
    ];
    // (page URL, Origin header, fired?, why)
    let cases: Vec<(Option<&str>, Option<&str>, bool, &str)> = vec![
        (
            Some("https://example.com/signup?a=1#f"),
            Some("https://example.com"),
            false,
            "path, query, fragment ignored",
        ),
        (
            Some("HTTPS://EXAMPLE.com:443/x"),
            None,
            false,
            "case and default port normalized; no header is fine",
        ),
        (
            Some("http://localhost:3000/"),
            Some("http://localhost:3000"),
            false,
            "explicit port",
        ),
        (Some("http://localhost:3001/"), None, true, "other port"),
        (Some("http://example.com/"), None, true, "other scheme"),
        (
            Some("https://sub.example.com/"),
            None,
            true,
            "subdomain is another origin",
        ),
        (
            Some("https://example.com.evil.io/"),
            None,
            true,
            "suffix trick",
        ),
        (Some("not a url"), None, true, "bad URL"),
        (Some("data:text/html,hi"), None, true, "opaque origin"),
        (None, None, true, "no page URL"),
        (
            Some("https://example.com/"),
            Some("https://evil.io"),
            true,
            "form posted from elsewhere",
        ),
        (
            Some("https://example.com/"),
            Some("null"),
            true,
            "sandboxed or privacy-stripped Origin",
        ),
    ];
    for (url, header, fired, why) in cases {
        let policy = Policy {
            allowed_origins: allowed.clone(),
            ..Policy::default()
        };
        let event = Event {
            url: url.map(String::from),
            ..clean_event()
        };
        let context = Context {
            origin: header.map(String::from),
            ..ctx()
        };
        let d = run(&policy, &event, &context);
        let c = check(&d, "allowed_origins");
        let expected = if fired {
            Outcome::Fired
        } else {
            Outcome::Passed
        };
        assert_eq!(
            (c.outcome, c.code),
            (expected, "origin_mismatch"),
            "{why}: {}",
            c.input
        );
    }
    let d = run(
        &Policy::default(),
        &Event {
            url: None,
            ..clean_event()
        },
        &ctx(),
    );
    assert_eq!(
        check(&d, "allowed_origins").outcome,
        Outcome::Disabled,
        "empty list = off"
    );
}

#[test]
fn ip_binding() {
    // (event IP, request IP, fired?, why)
    let cases: Vec<(Option<&str>, Option<&str>, bool, &str)> = vec![
        (Some("203.0.113.7"), Some("203.0.113.7"), false, "same"),
        (Some("203.0.113.7"), Some("203.0.113.8"), true, "different"),
        (
            Some("::ffff:203.0.113.7"),
            Some("203.0.113.7"),
            false,
            "IPv4-mapped event IP",
        ),
        (
            Some("203.0.113.7"),
            Some("::ffff:203.0.113.7"),
            false,
            "IPv4-mapped request IP",
        ),
        (
            Some("2001:DB8:0:0::1"),
            Some("2001:db8::1"),
            false,
            "IPv6 case and zero compression",
        ),
        (
            Some("2001:db8::1"),
            Some("2001:db8::2"),
            true,
            "IPv6 differs",
        ),
        (
            Some("garbage"),
            Some("203.0.113.7"),
            true,
            "unreadable event IP",
        ),
        (None, Some("203.0.113.7"), true, "no event IP"),
        (Some("203.0.113.7"), None, true, "request IP unknown"),
    ];
    for (event_ip, client, fired, why) in cases {
        let policy = Policy {
            ip_binding: true,
            ..Policy::default()
        };
        let event = Event {
            ip: event_ip.map(String::from),
            ..clean_event()
        };
        let context = Context {
            client_ip: client.map(|c| c.parse().unwrap()),
            ..ctx()
        };
        let d = run(&policy, &event, &context);
        let c = check(&d, "ip_binding");
        let expected = if fired {
            Outcome::Fired
        } else {
            Outcome::Passed
        };
        assert_eq!(
            (c.outcome, c.code, c.action),
            (expected, "ip_mismatch", Action::Block),
            "{why}"
        );
    }
    let context = Context {
        client_ip: Some("198.51.100.1".parse().unwrap()),
        ..ctx()
    };
    let d = run(&Policy::default(), &clean_event(), &context);
    assert_eq!(
        check(&d, "ip_binding").outcome,
        Outcome::Disabled,
        "off by default"
    );
}

#[test]
fn device_limit() {
    // (limit, accounts already held, fired?, why)
    let cases = vec![
        (1, 0, false, "first account"),
        (1, 1, true, "second account on a one-account device"),
        (3, 2, false, "third of three"),
        (3, 3, true, "fourth of three"),
        (3, 7, true, "far over"),
    ];
    for (limit, have, fired, why) in cases {
        let policy = Policy {
            accounts_per_device: limit,
            ..Policy::default()
        };
        let context = Context {
            device_accounts: have,
            ..ctx()
        };
        let d = run(&policy, &clean_event(), &context);
        let c = check(&d, "accounts_per_device");
        let expected = if fired {
            Outcome::Fired
        } else {
            Outcome::Passed
        };
        assert_eq!(
            (c.outcome, c.code, c.action),
            (expected, "device_limit", Action::Block),
            "{why}"
        );
    }
}

#[test]
fn confidence_against_custom_minimum() {
    let cases = vec![
        (0.9, 0.89, true, "just under"),
        (0.9, 0.9, false, "equal"),
        (0.0, 0.0, false, "0 disables in effect"),
    ];
    for (min, seen, fired, why) in cases {
        let policy = Policy {
            min_confidence: min,
            ..Policy::default()
        };
        let event = Event {
            confidence: Some(seen),
            ..clean_event()
        };
        let d = run(&policy, &event, &ctx());
        assert_eq!(d.codes().contains(&"low_confidence"), fired, "{why}");
    }
}
