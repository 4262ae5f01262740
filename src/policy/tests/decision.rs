//! Combining findings: verdict, shadow mode, and which finding names the refusal.

use fingerprint::event::{RuleActionType, Vpn};
use fingerprint::BotResult;

use super::*;

#[test]
fn verdict_is_the_strongest_action_and_primary_the_first_of_it() {
    // (mutations, expected would_be, expected primary code, all codes, why)
    type Case = (
        Vec<fn(&mut Event, &mut Context)>,
        Action,
        Option<&'static str>,
        Vec<&'static str>,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (vec![], Action::Allow, None, vec![], "nothing fired"),
        (
            vec![
                |e, _| e.rule_action.as_mut().unwrap().action = RuleActionType::Block,
                |e, _| e.bot = Some(BotResult::Bad),
            ],
            Action::Block,
            Some("bot_detected"),
            vec!["bot_detected", "fingerprint_rule"],
            "the signal a ruleset restates names the refusal before the ruleset",
        ),
        (
            vec![
                |e, _| e.rule_action.as_mut().unwrap().action = RuleActionType::Block,
                |e, _| {
                    e.vpn = Some(Vpn {
                        result: true,
                        ..Default::default()
                    })
                },
            ],
            Action::Block,
            Some("fingerprint_rule"),
            vec!["vpn_detected", "fingerprint_rule"],
            "a ruleset block outranks a review whatever the order",
        ),
        (
            vec![|e, _| e.incognito = Some(true)],
            Action::Allow,
            Some("incognito"),
            vec!["incognito"],
            "allow findings are evidence",
        ),
        (
            vec![|e, _| e.incognito = Some(true), |e, _| {
                e.vpn = Some(Vpn {
                    result: true,
                    ..Default::default()
                })
            }],
            Action::Review,
            Some("vpn_detected"),
            vec!["vpn_detected", "incognito"],
            "review beats allow",
        ),
        (
            vec![|_, c| c.device_accounts = 1, |e, _| {
                e.vpn = Some(Vpn {
                    result: true,
                    ..Default::default()
                })
            }],
            Action::Block,
            Some("device_limit"),
            vec!["vpn_detected", "device_limit"],
            "block beats review wherever it is",
        ),
        (
            vec![
                |_, c| c.device_accounts = 1,
                |e, _| e.tor = Some(true),
                |e, _| e.bot = Some(BotResult::Bad),
            ],
            Action::Block,
            Some("bot_detected"),
            vec!["bot_detected", "tor_detected", "device_limit"],
            "bot before tor before device limit",
        ),
        (
            vec![
                |e, _| e.replayed = Some(true),
                |e, _| e.timestamp_ms = Some(NOW - 600_000),
                |e, _| e.tampering = Some(Default::default()),
            ],
            Action::Block,
            Some("stale_event"),
            vec!["stale_event", "replayed_event"],
            "freshness before replay",
        ),
        (
            vec![|e, _| e.visitor_id = None, |e, _| {
                e.timestamp_ms = Some(NOW - 600_000)
            }],
            Action::Block,
            Some("no_identification"),
            vec!["no_identification", "stale_event"],
            "identity first",
        ),
        (
            vec![|e, _| e.suspect_score = Some(50), |e, _| {
                e.confidence = Some(0.1)
            }],
            Action::Review,
            Some("suspect_score"),
            vec!["suspect_score", "low_confidence"],
            "score before confidence",
        ),
    ];
    for (mutations, would_be, primary, codes, why) in cases {
        let (mut event, mut context) = (clean_event(), ctx());
        for m in mutations {
            m(&mut event, &mut context);
        }
        let d = run(&Policy::default(), &event, &context);
        assert_eq!(
            (d.verdict, d.would_be, d.shadow),
            (would_be, would_be, false),
            "{why}"
        );
        assert_eq!(d.primary().map(|f| f.code), primary, "{why}");
        assert_eq!(d.codes(), codes, "{why}");
    }
}

#[test]
fn shadow_records_but_never_refuses_except_unidentified() {
    let shadow = Policy {
        shadow: true,
        ..Policy::default()
    };
    // (event change, verdict, would_be, why)
    type Case = (fn(&mut Event), Action, Action, &'static str);
    let cases: Vec<Case> = vec![
        (|_| {}, Action::Allow, Action::Allow, "clean"),
        (
            |e| e.bot = Some(BotResult::Bad),
            Action::Allow,
            Action::Block,
            "block is waived",
        ),
        (
            |e| {
                e.vpn = Some(Vpn {
                    result: true,
                    ..Default::default()
                })
            },
            Action::Allow,
            Action::Review,
            "review is waived",
        ),
        (
            |e| e.visitor_id = None,
            Action::Block,
            Action::Block,
            "nothing to count or store without a visitor id",
        ),
    ];
    for (change, verdict, would_be, why) in cases {
        let mut event = clean_event();
        change(&mut event);
        let d = run(&shadow, &event, &ctx());
        assert_eq!(
            (d.verdict, d.would_be, d.shadow),
            (verdict, would_be, true),
            "{why}"
        );
        if would_be != Action::Allow {
            assert_eq!(
                d.primary().unwrap().action,
                would_be,
                "primary follows would_be: {why}"
            );
        }
    }
}

#[test]
fn findings_mirror_fired_checks_in_order() {
    let mut event = clean_event();
    event.incognito = Some(true);
    event.frida = Some(true);
    let d = run(&Policy::default(), &event, &ctx());
    let fired: Vec<_> = d
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fired)
        .map(|c| (c.code, c.rule, c.action, c.input.clone()))
        .collect();
    let findings: Vec<_> = d
        .findings
        .iter()
        .map(|f| (f.code, f.rule, f.action, f.detail.clone()))
        .collect();
    assert_eq!(fired, findings);
    assert_eq!(d.codes(), vec!["frida_detected", "incognito"]);
}
