//! Table-driven tests for the policy. Each case starts from a clean, fully signalled event
//! that passes every rule, so a case changes exactly the input it is about.

mod binding;
mod config;
mod context;
mod decision;
mod identity;
mod order;
mod signals;
mod velocity;

use fingerprint::event::{
    IpBlocklist, IpInfo, Proxy, RuleAction, RuleActionType, Tampering, Velocity, VelocityIntervals,
    Vpn,
};
use fingerprint::{BotResult, Event, IdentificationStatus};

use super::{
    decide, evaluate, Action, Check, Context, Decision, Outcome, Policy, Rules, VelocityRules,
};

pub(super) const NOW: i64 = 1_700_000_000_000;

/// An event that carries every signal, all clean.
pub(super) fn clean_event() -> Event {
    Event {
        event_id: "e1".into(),
        visitor_id: Some("visitor-1".into()),
        timestamp_ms: Some(NOW - 1_000),
        url: Some("https://example.com/signup?x=1".into()),
        ip: Some("203.0.113.7".into()),
        confidence: Some(0.99),
        bot: Some(BotResult::NotDetected),
        suspect_score: Some(0),
        vpn: Some(Vpn::default()),
        proxy: Some(Proxy::default()),
        tor: Some(false),
        ip_blocklist: Some(IpBlocklist {
            result: false,
            email_spam: Some(false),
            attack_source: Some(false),
            tor_node: Some(false),
        }),
        tampering: Some(Tampering {
            anti_detect_browser: Some(false),
            ..Tampering::default()
        }),
        ip_info: Some(IpInfo {
            asn: Some("64496".into()),
            asn_type: Some("isp".into()),
            datacenter: Some(false),
            ..IpInfo::default()
        }),
        proxy_ml_score: Some(0.02),
        rare_device: Some(false),
        rare_device_percentile_bucket: Some("<p95".into()),
        rule_action: Some(RuleAction {
            action: RuleActionType::Allow,
            ruleset_id: Some("rs_team".into()),
            rule_id: None,
            rule_expression: None,
            status_code: None,
        }),
        virtual_machine: Some(false),
        incognito: Some(false),
        developer_tools: Some(false),
        high_activity: Some(false),
        location_spoofing: Some(false),
        emulator: Some(false),
        simulator: Some(false),
        factory_reset_ms: Some(0),
        root_apps: Some(false),
        jailbroken: Some(false),
        frida: Some(false),
        cloned_app: Some(false),
        mitm_attack: Some(false),
        privacy_settings: Some(false),
        remote_control: Some(false),
        replayed: Some(false),
        velocity: Some(Velocity {
            events: Some(VelocityIntervals {
                m5: Some(1),
                h1: Some(1),
                h24: Some(1),
            }),
            ..Default::default()
        }),
        incremental_identification_status: Some(IdentificationStatus::Completed),
        ..Default::default()
    }
}

/// A request from the same IP Fingerprint saw, with no prior accounts.
pub(super) fn ctx() -> Context {
    Context {
        client_ip: Some("203.0.113.7".parse().unwrap()),
        origin: Some("https://example.com".into()),
        now_ms: NOW,
        device_accounts: 0,
        email: Some("ann@fastmail.com".into()),
        ..Context::default()
    }
}

/// Evaluates with every rule's input in words, after checking that the live path's terse
/// decision on the same inputs agrees with it, so every case here tests both.
pub(super) fn run(policy: &Policy, event: &Event, ctx: &Context) -> Decision {
    let full = evaluate(policy, event, ctx);
    assert_agrees(&decide(policy, event, ctx), &full);
    full
}

/// The same verdict, findings (their words included) and outcomes, in the same order; only
/// the inputs of rules that did not fire are left out.
fn assert_agrees(terse: &Decision, full: &Decision) {
    assert_eq!(
        (terse.verdict, terse.would_be, terse.shadow),
        (full.verdict, full.would_be, full.shadow)
    );
    assert_eq!(terse.findings, full.findings);
    assert_eq!(terse.checks.len(), full.checks.len());
    for (t, f) in terse.checks.iter().zip(&full.checks) {
        assert_eq!(
            (t.code, t.rule, t.action, t.outcome),
            (f.code, f.rule, f.action, f.outcome)
        );
        let words = if f.outcome == Outcome::Fired {
            f.input.as_str()
        } else {
            ""
        };
        assert_eq!(t.input, words, "{}", f.rule);
        assert!(!f.input.is_empty(), "{} says nothing in full", f.rule);
    }
}

/// The check recorded for a config key (rule names are unique).
pub(super) fn check<'a>(d: &'a Decision, rule: &str) -> &'a Check {
    let mut found = d.checks.iter().filter(|c| c.rule == rule);
    let c = found
        .next()
        .unwrap_or_else(|| panic!("no check for {rule}"));
    assert!(found.next().is_none(), "two checks for {rule}");
    c
}

/// Sets one rule's action by its config name, the way an operator would.
pub(super) fn with_rule(name: &str, action: Action) -> Policy {
    let mut rules = serde_json::to_value(Rules::default()).unwrap();
    assert!(rules.get(name).is_some(), "no rule {name}");
    rules[name] = serde_json::to_value(action).unwrap();
    Policy {
        rules: serde_json::from_value(rules).unwrap(),
        ..Policy::default()
    }
}

#[test]
fn a_clean_event_passes_every_rule() {
    let d = run(&Policy::default(), &clean_event(), &ctx());
    assert_eq!(d.verdict, Action::Allow);
    assert!(d.findings.is_empty(), "{:?}", d.findings);
    for c in &d.checks {
        let ok = matches!(c.outcome, Outcome::Passed | Outcome::Disabled);
        assert!(ok, "{} was {:?}: {}", c.rule, c.outcome, c.input);
    }
}

#[test]
fn every_configurable_rule_is_checked_exactly_once() {
    let d = run(&Policy::default(), &clean_event(), &ctx());
    let rules = serde_json::to_value(Rules::default()).unwrap();
    for name in rules.as_object().unwrap().keys() {
        check(&d, name);
    }
}

/// The made-up full v4 event the benches use: a bad bot with every Smart Signal, so most rules
/// fire at once, under the policies and contexts that change what a rule says.
#[test]
fn the_live_decision_agrees_with_the_explanation_on_a_full_bad_bot() {
    let bytes = include_bytes!("../../../crates/fingerprint/benches/event_v4.json");
    let event = Event::from_v4_json(bytes).unwrap();
    let now = event.timestamp_ms.unwrap() + 1_000;
    let base = Context {
        now_ms: now,
        ..ctx()
    };
    let allow_listed = Context {
        lists: vec![super::ListHit {
            id: 7,
            kind: "visitor_id".into(),
            value: "v".into(),
            action: Action::Allow,
            reason: "a tester".into(),
        }],
        ..base.clone()
    };
    let shadow = Policy {
        shadow: true,
        ..Policy::default()
    };
    let stale = Context {
        now_ms: now + 86_400_000,
        ..base.clone()
    };
    for policy in [
        Policy::default(),
        shadow,
        with_rule("bot_bad", Action::Review),
    ] {
        for context in [&base, &allow_listed, &stale, &Context::default()] {
            run(&policy, &event, context);
        }
    }
    let d = run(&Policy::default(), &event, &base);
    assert!(d.findings.len() > 5, "most rules fire on this event: {d:?}");
}
