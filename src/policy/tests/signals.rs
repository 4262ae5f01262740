//! Smart Signal rules: trigger, default action, absence, custom actions, partial events.

use fingerprint::event::{IpBlocklist, Proxy, RuleActionType, Tampering, Vpn};
use fingerprint::{BotResult, Event, IdentificationStatus};

use super::*;
use Action::{Allow, Block, Review};

type Mutate = fn(&mut Event);

/// (rule, what triggers it, code, default action, why the default is what it is)
#[rustfmt::skip] // one case per row
fn triggers() -> Vec<(&'static str, Mutate, &'static str, Action, &'static str)> {
    vec![
        ("bot_bad", |e| e.bot = Some(BotResult::Bad), "bot_detected", Block, "automation"),
        ("bot_good", |e| e.bot = Some(BotResult::Good), "bot_detected", Block, "crawlers never sign up"),
        ("tampering", |e| e.tampering = Some(Tampering { result: true, ..Default::default() }), "tampering_detected", Block, "anti-detect browser"),
        ("anti_detect_browser", |e| e.tampering.as_mut().unwrap().anti_detect_browser = Some(true), "anti_detect_browser", Block, "on its own, tampering false"),
        ("frida", |e| e.frida = Some(true), "frida_detected", Block, "instrumented app"),
        ("mitm_attack", |e| e.mitm_attack = Some(true), "mitm_attack", Block, "intercepted traffic"),
        ("cloned_app", |e| e.cloned_app = Some(true), "cloned_app", Block, "multi-accounting tool"),
        ("emulator", |e| e.emulator = Some(true), "emulator", Review, "farms, but also developers"),
        ("rooted", |e| e.root_apps = Some(true), "rooted_device", Review, "rooted Android"),
        ("rooted", |e| e.jailbroken = Some(true), "rooted_device", Review, "jailbroken iOS"),
        ("emulator", |e| e.simulator = Some(true), "emulator", Review, "iOS simulator"),
        ("factory_reset", |e| e.factory_reset_ms = Some(NOW - 7 * 86_400_000), "recent_factory_reset", Allow, "evidence only: new phones are reset too"),
        ("ip_blocklist", |e| e.ip_blocklist.as_mut().unwrap().email_spam = Some(true), "ip_blocklisted", Block, "spam source"),
        ("ip_blocklist", |e| e.ip_blocklist.as_mut().unwrap().attack_source = Some(true), "ip_blocklisted", Block, "attack source"),
        ("ip_blocklist", |e| e.ip_blocklist = Some(IpBlocklist { result: true, ..Default::default() }), "ip_blocklisted", Block, "listed without details (v3)"),
        ("tor", |e| e.tor = Some(true), "tor_detected", Block, "tor exit"),
        ("tor", |e| { e.tor = None; e.ip_blocklist.as_mut().unwrap().tor_node = Some(true) }, "tor_detected", Block, "tor from the blocklist flag"),
        ("vpn", |e| e.vpn = Some(Vpn { result: true, ..Default::default() }), "vpn_detected", Review, "common among real users"),
        ("proxy", |e| e.proxy = Some(Proxy { result: true, ..Default::default() }), "proxy_detected", Review, "residential proxies"),
        ("proxy_ml_score", |e| e.proxy_ml_score = Some(0.8), "proxy_ml_score", Review, "at the threshold, no listed proxy"),
        ("datacenter_ip", |e| e.ip_info.as_mut().unwrap().datacenter = Some(true), "datacenter_ip", Review, "hosting IPs, but also office egress"),
        ("location_spoofing", |e| e.location_spoofing = Some(true), "location_spoofing", Review, "mock location"),
        ("velocity", |e| e.velocity.as_mut().unwrap().events.as_mut().unwrap().h1 = Some(31), "velocity_exceeded", Review, "31 > 30"),
        ("high_activity", |e| e.high_activity = Some(true), "high_activity", Review, "busy device"),
        ("remote_control", |e| e.remote_control = Some(true), "remote_control", Review, "remote tools"),
        ("rare_device", |e| e.rare_device = Some(true), "rare_device", Allow, "evidence only: new models are rare too"),
        ("virtual_machine", |e| e.virtual_machine = Some(true), "virtual_machine", Allow, "evidence only"),
        ("developer_tools", |e| e.developer_tools = Some(true), "developer_tools", Allow, "evidence only"),
        ("incognito", |e| e.incognito = Some(true), "incognito", Allow, "evidence only"),
        ("privacy_settings", |e| e.privacy_settings = Some(true), "privacy_settings", Allow, "evidence only"),
        ("high_suspect_score", |e| e.suspect_score = Some(20), "suspect_score", Review, "at the threshold"),
        ("fingerprint_rule", |e| e.rule_action.as_mut().unwrap().action = RuleActionType::Block, "fingerprint_rule", Block, "the team's ruleset blocks"),
        ("replayed", |e| e.replayed = Some(true), "replayed_event", Block, "reused identification"),
        ("low_confidence", |e| e.confidence = Some(0.49), "low_confidence", Review, "below 0.5"),
    ]
}

#[test]
fn each_rule_fires_with_its_default_action() {
    for (rule, mutate, code, action, why) in triggers() {
        let mut event = clean_event();
        mutate(&mut event);
        let d = run(&Policy::default(), &event, &ctx());
        let c = check(&d, rule);
        assert_eq!(
            (c.outcome, c.code, c.action),
            (Outcome::Fired, code, action),
            "{rule}: {why}"
        );
        assert_eq!(d.codes(), vec![code], "{rule}: only it fires ({why})");
        assert_eq!(d.verdict, action, "{rule}: {why}");
        assert_eq!(d.primary().unwrap().rule, rule, "{why}");
    }
}

#[test]
fn custom_actions_change_the_outcome() {
    for (rule, mutate, _, _, why) in triggers() {
        for action in [Allow, Review, Block] {
            let mut event = clean_event();
            mutate(&mut event);
            let d = run(&with_rule(rule, action), &event, &ctx());
            assert_eq!(d.verdict, action, "{rule} = {action}: {why}");
            assert_eq!(check(&d, rule).action, action, "{rule}");
        }
    }
}

/// Just short of each trigger.
#[rustfmt::skip] // one case per row
fn near_misses() -> Vec<(&'static str, Mutate, &'static str)> {
    vec![
        ("velocity", |e| e.velocity.as_mut().unwrap().events.as_mut().unwrap().h1 = Some(30), "30 is the limit, not over it"),
        ("high_suspect_score", |e| e.suspect_score = Some(19), "just under the threshold"),
        ("proxy_ml_score", |e| e.proxy_ml_score = Some(0.799), "just under the threshold"),
        ("proxy_ml_score", |e| e.proxy = Some(Proxy { result: true, ..Default::default() }), "a listed proxy is the proxy rule's business"),
        ("anti_detect_browser", |e| e.tampering = Some(Tampering { result: true, anti_detect_browser: Some(false), ..Default::default() }), "tampering without an anti-detect browser"),
        ("fingerprint_rule", |e| e.rule_action.as_mut().unwrap().rule_id = Some("r_allow".into()), "a matching allow rule"),
        ("datacenter_ip", |e| e.ip_info.as_mut().unwrap().asn_type = Some("hosting".into()), "the ASN kind alone is not a data center"),
        ("low_confidence", |e| e.confidence = Some(0.5), "exactly the minimum is enough"),
        ("bot_good", |e| e.bot = Some(BotResult::Bad), "a bad bot is not a good bot"),
        ("ip_blocklist", |e| e.ip_blocklist = Some(IpBlocklist { result: true, tor_node: Some(true), ..Default::default() }), "tor is the tor rule's business"),
        ("tor", |e| e.tor = Some(false), "explicitly not tor"),
        ("factory_reset", |e| e.factory_reset_ms = Some(NOW - 1_000 - 7 * 86_400_000 - 1), "a millisecond past the 7-day window"),
        ("factory_reset", |e| e.factory_reset_ms = Some(0), "0: no reset detected"),
    ]
}

#[test]
fn below_the_trigger_nothing_fires() {
    for (rule, mutate, why) in near_misses() {
        let mut event = clean_event();
        mutate(&mut event);
        let d = run(&Policy::default(), &event, &ctx());
        assert_eq!(check(&d, rule).outcome, Outcome::Passed, "{rule}: {why}");
    }
}

#[test]
fn missing_signals_are_unavailable_not_fired() {
    let event = Event {
        visitor_id: Some("v".into()),
        timestamp_ms: Some(NOW),
        ..Default::default()
    };
    let d = run(&Policy::default(), &event, &ctx());
    assert_eq!(d.verdict, Allow, "{:?}", d.findings);
    for (rule, ..) in triggers() {
        assert_eq!(check(&d, rule).outcome, Outcome::Unavailable, "{rule}");
    }
    let unknown_bot = Event {
        bot: Some(BotResult::Other("weird".into())),
        ..clean_event()
    };
    let d = run(&Policy::default(), &unknown_bot, &ctx());
    assert_eq!(
        check(&d, "bot_bad").outcome,
        Outcome::Unavailable,
        "unknown bot value"
    );
}

#[test]
fn partial_identification_skips_signals_but_not_identity() {
    let mut event = clean_event();
    for (_, mutate, ..) in triggers() {
        mutate(&mut event);
    }
    event.incremental_identification_status = Some(IdentificationStatus::PartiallyCompleted);
    event.confidence = Some(0.99);
    event.replayed = Some(false);
    let d = run(&Policy::default(), &event, &ctx());
    assert_eq!(
        d.verdict, Allow,
        "every signal fired but none may count: {:?}",
        d.findings
    );
    let skipped = d
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Skipped)
        .count();
    assert_eq!(
        skipped, 27,
        "every Smart Signal rule is recorded as skipped"
    );

    event.timestamp_ms = Some(NOW - 121_000);
    let d = run(&Policy::default(), &event, &ctx());
    assert_eq!(d.codes(), vec!["stale_event"], "freshness still applies");
}

/// What `explain` shows for the Rules Engine: the action, the rule and the ruleset, so support
/// staff can tell which of the team's rules refused a signup; an allow is shown and passes.
#[test]
fn the_rule_action_is_the_fingerprint_rule_s_input() {
    let mut event = clean_event();
    let action = event.rule_action.as_mut().unwrap();
    action.action = RuleActionType::Block;
    action.rule_id = Some("r_uE0af8497PFAOD".into());
    action.status_code = Some(403);
    action.rule_expression = Some(format!("ip_info.v4.asn in [{}]", "\"1\", ".repeat(100)));
    let d = run(&Policy::default(), &event, &ctx());
    let c = check(&d, "fingerprint_rule");
    assert_eq!(c.outcome, Outcome::Fired);
    assert!(
        c.input.starts_with(
            "rule_action: block by rule r_uE0af8497PFAOD of ruleset rs_team, status 403: ip_info.v4.asn in ["
        ),
        "{}",
        c.input
    );
    assert!(
        c.input.ends_with('…'),
        "a long expression is cut: {}",
        c.input
    );
    assert!(c.input.chars().count() < 300, "{}", c.input);

    let d = run(&Policy::default(), &clean_event(), &ctx());
    let c = check(&d, "fingerprint_rule");
    assert_eq!(
        (c.outcome, c.input.as_str()),
        (
            Outcome::Passed,
            "rule_action: allow by no rule matched (the ruleset's default) of ruleset rs_team"
        )
    );

    let mut newer = clean_event();
    newer.rule_action.as_mut().unwrap().action = RuleActionType::Other("challenge".into());
    let d = run(&Policy::default(), &newer, &ctx());
    assert_eq!(
        check(&d, "fingerprint_rule").outcome,
        Outcome::Unavailable,
        "an action this build does not know is not a block"
    );
    let none = Event {
        rule_action: None,
        ..clean_event()
    };
    let c = check(&run(&Policy::default(), &none, &ctx()), "fingerprint_rule").clone();
    assert_eq!(c.outcome, Outcome::Unavailable);
    assert!(c.input.contains("FINGERPRINT_RULESET_ID"), "{}", c.input);
}

#[test]
fn the_datacenter_rule_names_the_network() {
    let mut event = clean_event();
    let info = event.ip_info.as_mut().unwrap();
    info.datacenter = Some(true);
    info.datacenter_name = Some("DediPath".into());
    info.asn_name = Some("SIM-CLOUD".into());
    info.asn_type = Some("hosting".into());
    let d = run(&Policy::default(), &event, &ctx());
    assert_eq!(
        check(&d, "datacenter_ip").input,
        "datacenter: true (DediPath), AS64496 SIM-CLOUD, hosting"
    );
    let no_datacenter = Event {
        ip_info: Some(Default::default()),
        ..clean_event()
    };
    let d = run(&Policy::default(), &no_datacenter, &ctx());
    assert_eq!(check(&d, "datacenter_ip").outcome, Outcome::Unavailable);
}

/// Tampering and an anti-detect browser are separate rules: relaxing one keeps the other.
#[test]
fn an_anti_detect_browser_is_blocked_while_tampering_is_only_reviewed() {
    let mut policy = with_rule("tampering", Review);
    let mut event = clean_event();
    event.tampering = Some(Tampering {
        result: true,
        anomaly_score: Some(0.9),
        anti_detect_browser: Some(true),
    });
    let d = run(&policy, &event, &ctx());
    assert_eq!(d.codes(), vec!["tampering_detected", "anti_detect_browser"]);
    assert_eq!(d.verdict, Block);
    assert_eq!(d.primary().unwrap().code, "anti_detect_browser");
    event.tampering.as_mut().unwrap().anti_detect_browser = Some(false);
    assert_eq!(run(&policy, &event, &ctx()).verdict, Review);
    policy.rules.anti_detect_browser = Allow;
    policy.rules.tampering = Block;
    event.tampering.as_mut().unwrap().anti_detect_browser = Some(true);
    let d = run(&policy, &event, &ctx());
    assert_eq!(d.primary().unwrap().code, "tampering_detected");
}
