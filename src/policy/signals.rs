//! Smart Signal rules. A partial identification carries none, so each is recorded as
//! skipped rather than passed: "not looked at" must never read as "looked clean".

use fingerprint::event::RuleActionType;
use fingerprint::{BotResult, Event};

use super::config::{Action, Policy, Rules};
use super::decision::Outcome;
use super::judge::{Checks, Judged, Says};

/// `Ok` with the outcome (fired or passed) and what was seen, or `Err(why it cannot be judged)`.
type Reading = Result<Judged, String>;

/// One signal rule: code, config key, its action, and how to read it from the event.
type Signal = (
    Code,
    Key,
    fn(&Rules) -> Action,
    fn(&Event, &Policy, Says) -> Reading,
);
type Code = &'static str;
type Key = &'static str;

/// The signal rules in their fixed order: device integrity before network, network before
/// behaviour, and the weakest (environment hints and the aggregate score) last. The Rules
/// Engine's verdict closes the list: it combines signals judged above, so when one of those
/// fired too, that one is the more specific name for the refusal.
#[rustfmt::skip] // one rule per row reads as the table it is
const SIGNALS: &[Signal] = &[
    ("bot_detected",       "bot_bad",            |r| r.bot_bad,            |e, _, s| bot(e, BotResult::Bad, s)),
    ("bot_detected",       "bot_good",           |r| r.bot_good,           |e, _, s| bot(e, BotResult::Good, s)),
    ("tampering_detected", "tampering",          |r| r.tampering,          tampering),
    ("anti_detect_browser", "anti_detect_browser", |r| r.anti_detect_browser, anti_detect_browser),
    ("frida_detected",     "frida",              |r| r.frida,              |e, _, s| flag(s, "frida", e.frida)),
    ("mitm_attack",        "mitm_attack",        |r| r.mitm_attack,        |e, _, s| flag(s, "mitm_attack", e.mitm_attack)),
    ("cloned_app",         "cloned_app",         |r| r.cloned_app,         |e, _, s| flag(s, "cloned_app", e.cloned_app)),
    ("emulator",           "emulator",           |r| r.emulator,           emulator),
    ("rooted_device",      "rooted",             |r| r.rooted,             rooted),
    ("recent_factory_reset", "factory_reset",    |r| r.factory_reset,      factory_reset),
    ("ip_blocklisted",     "ip_blocklist",       |r| r.ip_blocklist,       ip_blocklist),
    ("tor_detected",       "tor",                |r| r.tor,                tor),
    ("vpn_detected",       "vpn",                |r| r.vpn,                vpn),
    ("proxy_detected",     "proxy",              |r| r.proxy,              proxy),
    ("proxy_ml_score",     "proxy_ml_score",     |r| r.proxy_ml_score,     proxy_ml_score),
    ("datacenter_ip",      "datacenter_ip",      |r| r.datacenter_ip,      datacenter_ip),
    ("location_spoofing",  "location_spoofing",  |r| r.location_spoofing,  |e, _, s| flag(s, "location_spoofing", e.location_spoofing)),
    ("velocity_exceeded",  "velocity",           |r| r.velocity,           velocity),
    ("high_activity",      "high_activity",      |r| r.high_activity,      |e, _, s| flag(s, "high_activity", e.high_activity)),
    ("remote_control",     "remote_control",     |r| r.remote_control,     |e, _, s| flag(s, "remote_control", e.remote_control)),
    ("rare_device",        "rare_device",        |r| r.rare_device,        rare_device),
    ("virtual_machine",    "virtual_machine",    |r| r.virtual_machine,    |e, _, s| flag(s, "virtual_machine", e.virtual_machine)),
    ("developer_tools",    "developer_tools",    |r| r.developer_tools,    |e, _, s| flag(s, "developer_tools", e.developer_tools)),
    ("incognito",          "incognito",          |r| r.incognito,          |e, _, s| flag(s, "incognito", e.incognito)),
    ("privacy_settings",   "privacy_settings",   |r| r.privacy_settings,   |e, _, s| flag(s, "privacy_settings", e.privacy_settings)),
    ("suspect_score",      "high_suspect_score", |r| r.high_suspect_score, suspect_score),
    ("fingerprint_rule",   "fingerprint_rule",   |r| r.fingerprint_rule,   fingerprint_rule),
];

/// Runs the signal rules; with `allow_listed` (the matching entries, in words) each is recorded
/// as skipped, as an allow entry asks.
pub(crate) fn run(c: &mut Checks, policy: &Policy, event: &Event, allow_listed: Option<&String>) {
    let (partial, says) = (!event.has_smart_signals(), c.says);
    for &(code, rule, action_of, read) in SIGNALS {
        let action = action_of(&policy.rules);
        let judged = if let Some(entries) = allow_listed {
            says.judged(Outcome::Skipped, || format!("allow-listed: {entries}"))
        } else if partial {
            let why = || "partial identification: no Smart Signals".into();
            says.judged(Outcome::Skipped, why)
        } else {
            read(event, policy, says).unwrap_or_else(|why| (Outcome::Unavailable, why))
        };
        c.push(code, rule, action, judged);
    }
}

fn absent(says: Says, name: &str) -> String {
    says.not_fired(|| format!("{name}: not on event"))
}

fn flag(says: Says, name: &str, value: Option<bool>) -> Reading {
    let v = value.ok_or_else(|| absent(says, name))?;
    Ok(says.judge(v, || format!("{name}: {v}")))
}

fn bot(e: &Event, wanted: BotResult, says: Says) -> Reading {
    let name = match e.bot.as_ref().ok_or_else(|| absent(says, "bot"))? {
        BotResult::NotDetected => "not detected",
        BotResult::Good => "good",
        BotResult::Bad => "bad",
        // A value this build does not know is not evidence either way.
        BotResult::Other(v) => {
            return Err(says.not_fired(|| format!("bot: unrecognized value {v:?}")))
        }
    };
    Ok(says.judge(e.bot.as_ref() == Some(&wanted), || {
        let kind = e
            .bot_type
            .as_deref()
            .map(|t| format!(" ({t})"))
            .unwrap_or_default();
        format!("bot: {name}{kind}")
    }))
}

fn tampering(e: &Event, _: &Policy, says: Says) -> Reading {
    let t = e
        .tampering
        .as_ref()
        .ok_or_else(|| absent(says, "tampering"))?;
    Ok(says.judge(t.result, || {
        let score = t
            .anomaly_score
            .map(|s| format!(", anomaly score {s}"))
            .unwrap_or_default();
        let anti = if t.anti_detect_browser == Some(true) {
            ", anti-detect browser"
        } else {
            ""
        };
        format!("tampering: {}{score}{anti}", t.result)
    }))
}

/// A flag for a human: `true`, `false`, or `unknown` when the event does not carry it.
fn shown(flag: Option<bool>) -> &'static str {
    match flag {
        Some(true) => "true",
        Some(false) => "false",
        None => "unknown",
    }
}

/// An Android emulator (`emulator`, both API generations) or an iOS simulator (v4 `simulator`).
fn emulator(e: &Event, _: &Policy, says: Says) -> Reading {
    let (emulator, simulator) = (e.emulator, e.simulator);
    if emulator.is_none() && simulator.is_none() {
        return Err(absent(says, "emulator/simulator"));
    }
    let fired = emulator == Some(true) || simulator == Some(true);
    Ok(says.judge(fired, || {
        let (emulator, simulator) = (shown(emulator), shown(simulator));
        format!("emulator: {emulator}, simulator: {simulator}")
    }))
}

/// Measured against the event's own time, so a replayed decision (explain, backtest) gives
/// the same answer as the live one.
fn factory_reset(e: &Event, p: &Policy, says: Says) -> Reading {
    let reset = e
        .factory_reset_ms
        .ok_or_else(|| absent(says, "factory_reset"))?;
    if reset <= 0 {
        return Ok(says.judge(false, || "factory_reset: none detected".into()));
    }
    let at = e.timestamp_ms.ok_or_else(|| absent(says, "timestamp"))?;
    let days = p.factory_reset_window_days;
    // Saturating: both times come from the event, and either may sit at the end of the range.
    let age = at.saturating_sub(reset);
    let age_hours = age.max(0) / 3_600_000;
    let fired = age <= i64::from(days) * 86_400_000;
    Ok(says.judge(fired, || {
        format!("factory reset {age_hours} h before the event, window {days} d")
    }))
}

/// Either platform's flavour of a compromised OS; unknown only if both are unknown.
fn rooted(e: &Event, _: &Policy, says: Says) -> Reading {
    let (root, jail) = (e.root_apps, e.jailbroken);
    if root.is_none() && jail.is_none() {
        return Err(absent(says, "root_apps/jailbroken"));
    }
    let fired = root == Some(true) || jail == Some(true);
    Ok(says.judge(fired, || {
        format!("root_apps: {}, jailbroken: {}", shown(root), shown(jail))
    }))
}

/// Spam and attack sources only: a Tor exit is also "blocklisted" upstream, but it has its
/// own rule so that `tor = "allow"` is not overridden here.
fn ip_blocklist(e: &Event, _: &Policy, says: Says) -> Reading {
    let b = e
        .ip_blocklist
        .as_ref()
        .ok_or_else(|| absent(says, "ip_blocklist"))?;
    let (spam, attack) = (b.email_spam, b.attack_source);
    let unexplained = b.result && spam.is_none() && attack.is_none() && b.tor_node != Some(true);
    let listed = spam == Some(true) || attack == Some(true) || unexplained;
    Ok(says.judge(listed, || {
        let (spam, attack) = (shown(spam), shown(attack));
        format!(
            "ip_blocklist: {}, email_spam: {spam}, attack_source: {attack}",
            b.result
        )
    }))
}

fn tor(e: &Event, _: &Policy, says: Says) -> Reading {
    let node = e.ip_blocklist.as_ref().and_then(|b| b.tor_node);
    if e.tor.is_none() && node.is_none() {
        return Err(absent(says, "tor"));
    }
    let fired = e.tor == Some(true) || node == Some(true);
    Ok(says.judge(fired, || format!("tor: {fired}")))
}

fn vpn(e: &Event, _: &Policy, says: Says) -> Reading {
    let v = e.vpn.as_ref().ok_or_else(|| absent(says, "vpn"))?;
    Ok(says.judge(v.result, || {
        let conf = v
            .confidence
            .as_deref()
            .map(|c| format!(", confidence {c}"))
            .unwrap_or_default();
        let from = v
            .origin_country
            .as_deref()
            .map(|c| format!(", origin {c}"))
            .unwrap_or_default();
        format!("vpn: {}{conf}{from}", v.result)
    }))
}

fn proxy(e: &Event, _: &Policy, says: Says) -> Reading {
    let p = e.proxy.as_ref().ok_or_else(|| absent(says, "proxy"))?;
    Ok(says.judge(p.result, || {
        let kind = p
            .proxy_type
            .as_deref()
            .map(|t| format!(", {t}"))
            .unwrap_or_default();
        let conf = p
            .confidence
            .as_deref()
            .map(|c| format!(", confidence {c}"))
            .unwrap_or_default();
        format!("proxy: {}{kind}{conf}", p.result)
    }))
}

/// Counts the visitor's identifications, not accounts: scripted retries after refusals
/// show up here even though none of them created an account.
fn velocity(e: &Event, p: &Policy, says: Says) -> Reading {
    let max = p.velocity_max_events_1h;
    let n = (e.velocity.as_ref())
        .and_then(|v| v.events.as_ref())
        .and_then(|i| i.h1)
        .ok_or_else(|| absent(says, "velocity.events.1h"))?;
    Ok(says.judge(n > max, || {
        format!("{n} visitor events in the last hour, limit {max}")
    }))
}

fn suspect_score(e: &Event, p: &Policy, says: Says) -> Reading {
    let t = p.suspect_score_threshold;
    let s = e
        .suspect_score
        .ok_or_else(|| absent(says, "suspect_score"))?;
    Ok(says.judge(s >= t, || format!("suspect score {s}, threshold {t}")))
}

/// On its own, so that an operator can let tampering's anomaly score through for review and
/// still block the anti-detect browsers used to farm accounts.
fn anti_detect_browser(e: &Event, _: &Policy, says: Says) -> Reading {
    let t = e
        .tampering
        .as_ref()
        .ok_or_else(|| absent(says, "tampering"))?;
    let anti = t
        .anti_detect_browser
        .ok_or_else(|| absent(says, "anti_detect_browser"))?;
    Ok(says.judge(anti, || format!("anti_detect_browser: {anti}")))
}

fn proxy_ml_score(e: &Event, p: &Policy, says: Says) -> Reading {
    let t = p.proxy_ml_score_threshold;
    let s = e
        .proxy_ml_score
        .ok_or_else(|| absent(says, "proxy_ml_score"))?;
    Ok(says.judge(s >= t, || format!("proxy ML score {s}, threshold {t}")))
}

fn datacenter_ip(e: &Event, _: &Policy, says: Says) -> Reading {
    let info = e.ip_info.as_ref().ok_or_else(|| absent(says, "ip_info"))?;
    let dc = info
        .datacenter
        .ok_or_else(|| absent(says, "ip_info.datacenter"))?;
    Ok(says.judge(dc, || {
        let name = info
            .datacenter_name
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        let asn = match (&info.asn, &info.asn_name) {
            (Some(asn), Some(name)) => format!(", AS{asn} {name}"),
            (Some(asn), None) => format!(", AS{asn}"),
            (None, Some(name)) => format!(", {name}"),
            (None, None) => String::new(),
        };
        let kind = info
            .asn_type
            .as_deref()
            .map(|t| format!(", {t}"))
            .unwrap_or_default();
        format!("datacenter: {dc}{name}{asn}{kind}")
    }))
}

fn rare_device(e: &Event, _: &Policy, says: Says) -> Reading {
    let rare = e.rare_device.ok_or_else(|| absent(says, "rare_device"))?;
    Ok(says.judge(rare, || {
        let bucket = e
            .rare_device_percentile_bucket
            .as_deref()
            .map(|b| format!(" ({b})"))
            .unwrap_or_default();
        format!("rare_device: {rare}{bucket}")
    }))
}

/// The longest rule expression shown in a check's input; the event keeps it whole.
const SHOWN_EXPRESSION_CHARS: usize = 200;

/// Follows a `block` of the team's own ruleset. An `allow` passes: it is recorded with the
/// event, and the other rules still decide.
fn fingerprint_rule(e: &Event, _: &Policy, says: Says) -> Reading {
    let r = e.rule_action.as_ref().ok_or_else(|| {
        says.not_fired(|| {
            "rule_action: not on event (no FINGERPRINT_RULESET_ID, Server API v3, or a sealed \
             result)"
                .into()
        })
    })?;
    let blocked = match &r.action {
        RuleActionType::Block => true,
        RuleActionType::Allow => false,
        // A newer action type is not a block this build knows how to honour.
        RuleActionType::Other(v) => {
            return Err(says.not_fired(|| format!("rule_action: unrecognized type {v:?}")))
        }
    };
    Ok(says.judge(blocked, || described(r)))
}

/// The Rules Engine's verdict in words: which rule of which ruleset, and its expression.
fn described(r: &fingerprint::event::RuleAction) -> String {
    let rule = match &r.rule_id {
        Some(id) => format!("rule {id}"),
        None => "no rule matched (the ruleset's default)".into(),
    };
    let ruleset = r.ruleset_id.as_deref().unwrap_or("unknown");
    let status = r
        .status_code
        .map(|c| format!(", status {c}"))
        .unwrap_or_default();
    let expression = r
        .rule_expression
        .as_deref()
        .map(|x| {
            let mut shown: String = x.chars().take(SHOWN_EXPRESSION_CHARS).collect();
            if shown.len() < x.len() {
                shown.push('…');
            }
            format!(": {shown}")
        })
        .unwrap_or_default();
    format!(
        "rule_action: {} by {rule} of ruleset {ruleset}{status}{expression}",
        r.action.as_str()
    )
}
