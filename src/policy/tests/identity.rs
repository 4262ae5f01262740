//! Identity, freshness, confidence and device-limit rules.

use super::*;

#[test]
fn no_visitor_id_is_refused() {
    #[rustfmt::skip]
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
        let want = (expected, "no_identification", Action::Block);
        assert_eq!((c.outcome, c.code, c.action), want, "{why}");
    }
}

#[test]
fn freshness() {
    use Outcome::{Disabled, Fired, Passed, Unavailable};
    // (max age s, event timestamp, stale, future, why)
    #[rustfmt::skip]
    let cases = vec![
        (120, Some(NOW - 120_000), Passed, Passed, "exactly at the limit"),
        (120, Some(NOW - 120_001), Fired, Passed, "1 ms over"),
        (120, Some(NOW - 305_000), Fired, Passed, "long over"),
        (120, Some(NOW + 30_000), Passed, Passed, "within clock skew"),
        (120, Some(NOW + 30_001), Passed, Fired, "beyond clock skew"),
        (120, None, Fired, Unavailable, "no timestamp cannot be proven fresh"),
        (0, Some(NOW - 86_400_000), Disabled, Disabled, "0 turns it off"),
        (0, None, Disabled, Disabled, "off means off"),
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
fn device_limit() {
    // (limit, accounts already held, fired, why)
    #[rustfmt::skip]
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
        let want = (expected, "device_limit", Action::Block);
        assert_eq!((c.outcome, c.code, c.action), want, "{why}");
    }
}

#[test]
fn confidence_against_custom_minimum() {
    // (min_confidence, event confidence, fired, why)
    #[rustfmt::skip]
    let cases = vec![
        (0.9, 0.89, true, "just under"),
        (0.9, 0.9, false, "equal"),
        (0.0, 0.0, false, "0 disables in effect"),
        (1.0, 0.999, true, "1 demands certainty"),
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
