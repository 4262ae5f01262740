//! Origin and IP binding.

use super::*;

#[test]
fn origins() {
    let allowed = vec![
        "https://example.com".to_string(),
        "http://localhost:3000".to_string(),
    ];
    // (page URL, Origin header, fired, why)
    #[rustfmt::skip]
    let cases: Vec<(Option<&str>, Option<&str>, bool, &str)> = vec![
        (Some("https://example.com/signup?a=1#f"), Some("https://example.com"), false, "path, query, fragment ignored"),
        (Some("HTTPS://EXAMPLE.com:443/x"), None, false, "case and default port normalized; no header is fine"),
        (Some("http://localhost:3000/"), Some("http://localhost:3000"), false, "explicit port"),
        (Some("http://localhost:3001/"), None, true, "other port"),
        (Some("http://example.com/"), None, true, "other scheme"),
        (Some("https://sub.example.com/"), None, true, "subdomain is another origin"),
        (Some("https://example.com.evil.io/"), None, true, "suffix trick"),
        (Some("not a url"), None, true, "bad URL"),
        (Some("data:text/html,hi"), None, true, "opaque origin"),
        (None, None, true, "no page URL"),
        (Some("https://example.com/"), Some("https://evil.io"), true, "form posted from elsewhere"),
        (Some("https://example.com/"), Some("null"), true, "sandboxed or privacy-stripped Origin"),
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
        let got = (c.outcome, c.code, c.action);
        let want = (expected, "origin_mismatch", Action::Block);
        assert_eq!(got, want, "{why}: {}", c.input);
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
    // (event IP, request IP, fired, why)
    #[rustfmt::skip]
    let cases: Vec<(Option<&str>, Option<&str>, bool, &str)> = vec![
        (Some("203.0.113.7"), Some("203.0.113.7"), false, "same"),
        (Some("203.0.113.7"), Some("203.0.113.8"), true, "different"),
        (Some("::ffff:203.0.113.7"), Some("203.0.113.7"), false, "IPv4-mapped event IP"),
        (Some("203.0.113.7"), Some("::ffff:203.0.113.7"), false, "IPv4-mapped request IP"),
        (Some("2001:DB8:0:0::1"), Some("2001:db8::1"), false, "IPv6 case and zero compression"),
        (Some("2001:db8::1"), Some("2001:db8::2"), true, "IPv6 differs"),
        (Some("garbage"), Some("203.0.113.7"), true, "unreadable event IP"),
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
        let want = (expected, "ip_mismatch", Action::Block);
        assert_eq!((c.outcome, c.code, c.action), want, "{why}");
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
