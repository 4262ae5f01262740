//! The velocity rules, their windows, and the device limit over several identities.

use super::*;
use crate::policy::{
    retry_after_secs, subnet, Counted, Identity, IdentityAccounts, ListHit, VelocityRule, Window,
};
use std::path::Path;

fn on(threshold: u32, window: &str, action: Action) -> VelocityRule {
    VelocityRule {
        threshold,
        window: Window::parse(window).unwrap(),
        action,
    }
}

fn counted(value: &str, count: i64) -> Option<Counted> {
    Some(Counted {
        value: value.into(),
        count,
    })
}

/// Each rule at its threshold: attempts fire past it (this attempt is counted), accounts at
/// it (one more account would pass it).
#[test]
fn each_rule_fires_past_its_threshold_and_not_before() {
    type Set = fn(&mut Policy, VelocityRule);
    type Put = fn(&mut Context, Option<Counted>);
    #[rustfmt::skip]
    let rules: Vec<(&str, Set, Put, i64)> = vec![
        ("velocity.ip", |p, r| p.velocity.ip = r, |c, n| c.velocity.ip = n, 6),
        ("velocity.subnet", |p, r| p.velocity.subnet = r, |c, n| c.velocity.subnet = n, 6),
        ("velocity.visitor", |p, r| p.velocity.visitor = r, |c, n| c.velocity.visitor = n, 6),
        ("velocity.email_domain", |p, r| p.velocity.email_domain = r, |c, n| c.velocity.email_domain = n, 5),
        ("velocity.asn", |p, r| p.velocity.asn = r, |c, n| c.velocity.asn = n, 5),
    ];
    for (key, set, put, first_fired) in rules {
        let mut policy = Policy::default();
        set(&mut policy, on(5, "1h", Action::Block));
        for count in 0..=7 {
            let mut ctx = ctx();
            put(&mut ctx, counted("x", count));
            let d = run(&policy, &clean_event(), &ctx);
            let fired = check(&d, key).outcome == Outcome::Fired;
            assert_eq!(fired, count >= first_fired, "{key} at {count}");
            let code = key.replace('.', "_");
            assert_eq!(d.verdict == Action::Block, fired, "{key} at {count}");
            if fired {
                assert_eq!(d.primary().unwrap().code, code, "{key}");
            }
        }
        // Off: disabled whatever the count; on but uncounted: unavailable, never fired.
        let mut ctx = ctx();
        put(&mut ctx, counted("x", 1000));
        let d = run(&Policy::default(), &clean_event(), &ctx);
        assert_eq!(check(&d, key).outcome, Outcome::Disabled, "{key}");
        let d = run(&policy, &clean_event(), &super::ctx());
        assert_eq!(check(&d, key).outcome, Outcome::Unavailable, "{key}");
    }
}

#[test]
fn a_velocity_rule_takes_its_own_action_and_an_allow_entry_skips_it() {
    let mut policy = Policy::default();
    policy.velocity.subnet = on(2, "10m", Action::Review);
    let mut ctx = ctx();
    ctx.velocity.subnet = counted("203.0.113.0/24", 3);
    let d = run(&policy, &clean_event(), &ctx);
    assert_eq!(d.verdict, Action::Review);
    let c = check(&d, "velocity.subnet");
    assert_eq!(
        c.input,
        "3 attempt(s) from 203.0.113.0/24 in this 10m window, threshold 2"
    );
    ctx.lists = vec![ListHit {
        id: 1,
        kind: "ip".into(),
        value: "203.0.113.0/24".into(),
        action: Action::Allow,
        reason: "the office".into(),
    }];
    let d = run(&policy, &clean_event(), &ctx);
    assert_eq!(check(&d, "velocity.subnet").outcome, Outcome::Skipped);
    assert_eq!(d.verdict, Action::Allow);
}

#[test]
fn shadow_mode_records_a_velocity_finding_without_refusing() {
    let mut policy = Policy {
        shadow: true,
        ..Policy::default()
    };
    policy.velocity.ip = on(1, "1h", Action::Block);
    let mut ctx = ctx();
    ctx.velocity.ip = counted("203.0.113.7", 2);
    let d = run(&policy, &clean_event(), &ctx);
    assert_eq!((d.verdict, d.would_be), (Action::Allow, Action::Block));
    assert_eq!(d.codes(), ["velocity_ip"]);
}

#[test]
fn windows_read_and_write_in_their_units() {
    for (text, seconds, written) in [
        ("45s", 45, "45s"),
        ("90s", 90, "90s"),
        ("10m", 600, "10m"),
        ("60m", 3600, "1h"),
        (" 1h ", 3600, "1h"),
        ("24h", 86_400, "1d"),
        ("7d", 604_800, "7d"),
        ("366d", 366 * 86_400, "366d"),
    ] {
        let w = Window::parse(text).unwrap();
        assert_eq!((w.seconds(), w.to_string().as_str()), (seconds, written));
    }
    for bad in [
        "",
        "0s",
        "1w",
        "h",
        "-1h",
        "367d",
        "1.5h",
        "99999999999999999999d",
        "1é",
    ] {
        assert!(Window::parse(bad).is_err(), "{bad:?}");
    }
    let w = Window::parse("1h").unwrap();
    assert_eq!(w.start_of(7_200_000 + 1_234), 7_200_000);
    assert_eq!(w.start_of(7_199_999), 3_600_000);
}

#[test]
fn velocity_tables_load_and_bad_ones_are_refused_naming_the_key() {
    let text = "[policy.velocity.ip]\nthreshold = 5\n\n[policy.velocity.asn]\nthreshold = 3\nwindow = \"1d\"\naction = \"review\"\n";
    let policy = crate::policy::parse_str(text, Path::new("p.toml")).unwrap();
    assert_eq!(policy.velocity.ip, on(5, "1h", Action::Block));
    assert_eq!(policy.velocity.asn, on(3, "1d", Action::Review));
    assert!(!policy.velocity.subnet.enabled());
    assert!(policy.velocity.counts_attempts());
    assert!(!Policy::default().velocity.counts_attempts());
    let written = toml::to_string(&crate::policy::ConfigFile {
        policy: policy.clone(),
    })
    .unwrap();
    let again = crate::policy::parse_str(&written, Path::new("p.toml")).unwrap();
    assert_eq!(again, policy, "{written}");

    for (toml, wanted) in [
        (
            "[policy.velocity.ip]\nwindow = \"1w\"\n",
            "p.toml:2: policy.velocity.ip.window: expected a window",
        ),
        (
            "[policy.velocity.ip]\nthreshhold = 5\n",
            "p.toml:2: policy.velocity.ip.threshhold: unknown field `threshhold`",
        ),
        (
            "[policy.velocity.cidr]\nthreshold = 5\n",
            "p.toml:1: policy.velocity.cidr: unknown field `cidr`",
        ),
        (
            "[policy.velocity.visitor]\naction = \"deny\"\n",
            "p.toml:2: policy.velocity.visitor.action: unknown variant `deny`",
        ),
    ] {
        let error = crate::policy::parse_str(toml, Path::new("p.toml"))
            .unwrap_err()
            .to_string();
        assert!(error.contains(wanted), "{error}");
    }
}

#[test]
fn device_identity_is_checked_at_load() {
    let parse = |list: &str| {
        crate::policy::parse_str(
            &format!("[policy]\ndevice_identity = {list}\n"),
            Path::new("p.toml"),
        )
    };
    let policy = parse(r#"["linked_id", "visitor_id", "high_recall_id"]"#).unwrap();
    assert_eq!(
        policy.identities(),
        [
            Identity::VisitorId,
            Identity::HighRecallId,
            Identity::LinkedId
        ]
    );
    let same = parse(r#"["visitor_id", "high_recall_id", "linked_id"]"#).unwrap();
    assert_eq!(policy.hash(), same.hash(), "the order does not matter");
    assert_ne!(policy.hash(), Policy::default().hash());
    for (list, wanted) in [
        (
            r#"["visitor_id", "device_id"]"#,
            "policy.device_identity: unknown variant `device_id`, expected one of `visitor_id`, `high_recall_id`, `linked_id`",
        ),
        (r#"["high_recall_id"]"#, "must include \"visitor_id\""),
        (r#"["visitor_id", "visitor_id"]"#, "names an identity twice"),
        ("[]", "must include \"visitor_id\""),
    ] {
        let error = parse(list).unwrap_err().to_string();
        assert!(error.contains(wanted), "{list}: {error}");
    }
}

/// Counted by several identities, the device limit fires on the union and its input names
/// each identity's accounts and the one that matched.
#[test]
fn the_device_limit_names_the_identity_that_matched() {
    let policy = Policy {
        device_identity: vec![Identity::VisitorId, Identity::HighRecallId],
        ..Policy::default()
    };
    let mut ctx = ctx();
    ctx.device_accounts = 1;
    ctx.identities = vec![
        IdentityAccounts {
            identity: Identity::VisitorId,
            value: "visitor-1".into(),
            accounts: 0,
        },
        IdentityAccounts {
            identity: Identity::HighRecallId,
            value: "hr-1".into(),
            accounts: 1,
        },
    ];
    let d = run(&policy, &clean_event(), &ctx);
    let c = check(&d, "accounts_per_device");
    assert_eq!(c.outcome, Outcome::Fired);
    assert_eq!(
        c.input,
        "device has 1 account(s) ever, limit 1; sharing visitor_id visitor-1 (0), high_recall_id hr-1 (1); matched by high_recall_id"
    );
    assert_eq!(ctx.matched_identity(), Identity::HighRecallId);
    assert_eq!(super::ctx().matched_identity(), Identity::VisitorId);
    let json = serde_json::to_value(&ctx).unwrap();
    assert_eq!(json["identities"][1]["identity"], "high_recall_id");
    let back: Context = serde_json::from_value(json).unwrap();
    assert_eq!(back, ctx);
}

#[test]
fn networks_are_the_24_and_the_64() {
    for (ip, net) in [
        ("203.0.113.77", "203.0.113.0/24"),
        ("::ffff:203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ] {
        assert_eq!(subnet(ip.parse().unwrap()), net);
    }
}

#[test]
fn an_attempt_refusal_may_retry_when_its_window_ends() {
    let mut policy = Policy::default();
    policy.velocity.ip = on(1, "1m", Action::Block);
    assert_eq!(
        retry_after_secs(&policy, "velocity_ip", 60_000 + 15_500),
        Some(45)
    );
    assert_eq!(retry_after_secs(&policy, "velocity_ip", 119_999), Some(1));
    assert_eq!(retry_after_secs(&policy, "velocity_asn", 0), None);
    assert_eq!(retry_after_secs(&policy, "device_limit", 0), None);
}

/// Old snapshots carry no velocity counts nor identities, and a snapshot without them writes
/// neither, so the stored shape of an ordinary signup is unchanged.
#[test]
fn counts_are_left_out_of_the_snapshot_when_nothing_was_counted() {
    let json = serde_json::to_value(ctx()).unwrap();
    assert!(
        json.get("velocity").is_none() && json.get("identities").is_none(),
        "{json}"
    );
    let mut counted_ctx = ctx();
    counted_ctx.velocity.email_domain = counted("example.org", 2);
    let json = serde_json::to_value(&counted_ctx).unwrap();
    assert_eq!(json["velocity"]["emailDomain"]["count"], 2, "{json}");
    assert!(json["velocity"].get("ip").is_none());
    assert_eq!(
        serde_json::from_value::<Context>(json).unwrap(),
        counted_ctx
    );
}
