//! Smart Signal rules. A partial identification carries none, so each is recorded as
//! skipped rather than passed: "not looked at" must never read as "looked clean".

use fingerprint::{BotResult, Event};

use super::config::{Action, Policy, Rules};
use super::decision::Outcome;
use super::judge::Checks;

/// `Ok((fired, what was seen))`, or `Err(why it cannot be judged)`.
type Reading = Result<(bool, String), String>;

/// One signal rule: code, config key, its action, and how to read it from the event.
type Signal = (
    Code,
    Key,
    fn(&Rules) -> Action,
    fn(&Event, &Policy) -> Reading,
);
type Code = &'static str;
type Key = &'static str;

/// The signal rules in their fixed order: device integrity before network, network before
/// behaviour, and the weakest (environment hints and the aggregate score) last.
#[rustfmt::skip] // one rule per row reads as the table it is
const SIGNALS: &[Signal] = &[
    ("bot_detected",       "bot_bad",            |r| r.bot_bad,            |e, _| bot(e, BotResult::Bad)),
    ("bot_detected",       "bot_good",           |r| r.bot_good,           |e, _| bot(e, BotResult::Good)),
    ("tampering_detected", "tampering",          |r| r.tampering,          tampering),
    ("frida_detected",     "frida",              |r| r.frida,              |e, _| flag("frida", e.frida)),
    ("mitm_attack",        "mitm_attack",        |r| r.mitm_attack,        |e, _| flag("mitm_attack", e.mitm_attack)),
    ("cloned_app",         "cloned_app",         |r| r.cloned_app,         |e, _| flag("cloned_app", e.cloned_app)),
    ("emulator",           "emulator",           |r| r.emulator,           emulator),
    ("rooted_device",      "rooted",             |r| r.rooted,             rooted),
    ("recent_factory_reset", "factory_reset",    |r| r.factory_reset,      factory_reset),
    ("ip_blocklisted",     "ip_blocklist",       |r| r.ip_blocklist,       ip_blocklist),
    ("tor_detected",       "tor",                |r| r.tor,                tor),
    ("vpn_detected",       "vpn",                |r| r.vpn,                vpn),
    ("proxy_detected",     "proxy",              |r| r.proxy,              proxy),
    ("location_spoofing",  "location_spoofing",  |r| r.location_spoofing,  |e, _| flag("location_spoofing", e.location_spoofing)),
    ("velocity_exceeded",  "velocity",           |r| r.velocity,           velocity),
    ("high_activity",      "high_activity",      |r| r.high_activity,      |e, _| flag("high_activity", e.high_activity)),
    ("remote_control",     "remote_control",     |r| r.remote_control,     |e, _| flag("remote_control", e.remote_control)),
    ("virtual_machine",    "virtual_machine",    |r| r.virtual_machine,    |e, _| flag("virtual_machine", e.virtual_machine)),
    ("developer_tools",    "developer_tools",    |r| r.developer_tools,    |e, _| flag("developer_tools", e.developer_tools)),
    ("incognito",          "incognito",          |r| r.incognito,          |e, _| flag("incognito", e.incognito)),
    ("privacy_settings",   "privacy_settings",   |r| r.privacy_settings,   |e, _| flag("privacy_settings", e.privacy_settings)),
    ("suspect_score",      "high_suspect_score", |r| r.high_suspect_score, suspect_score),
];

/// Runs the signal rules; with `allow_listed` (the matching entries, in words) each is recorded
/// as skipped, as an allow entry asks.
pub(crate) fn run(c: &mut Checks, policy: &Policy, event: &Event, allow_listed: Option<&String>) {
    let partial = !event.has_smart_signals();
    for &(code, rule, action_of, read) in SIGNALS {
        let action = action_of(&policy.rules);
        let (outcome, input) = if let Some(entries) = allow_listed {
            (Outcome::Skipped, format!("allow-listed: {entries}"))
        } else if partial {
            let why = "partial identification: no Smart Signals".to_string();
            (Outcome::Skipped, why)
        } else {
            match read(event, policy) {
                Ok((true, seen)) => (Outcome::Fired, seen),
                Ok((false, seen)) => (Outcome::Passed, seen),
                Err(why) => (Outcome::Unavailable, why),
            }
        };
        c.push(code, rule, action, (outcome, input));
    }
}

fn absent(name: &str) -> String {
    format!("{name}: not on event")
}

fn flag(name: &str, value: Option<bool>) -> Reading {
    value
        .map(|v| (v, format!("{name}: {v}")))
        .ok_or_else(|| absent(name))
}

fn bot(e: &Event, wanted: BotResult) -> Reading {
    let name = match e.bot.as_ref().ok_or_else(|| absent("bot"))? {
        BotResult::NotDetected => "not detected",
        BotResult::Good => "good",
        BotResult::Bad => "bad",
        // A value this build does not know is not evidence either way.
        BotResult::Other(v) => return Err(format!("bot: unrecognized value {v:?}")),
    };
    let kind = e
        .bot_type
        .as_deref()
        .map(|t| format!(" ({t})"))
        .unwrap_or_default();
    Ok((
        e.bot.as_ref() == Some(&wanted),
        format!("bot: {name}{kind}"),
    ))
}

fn tampering(e: &Event, _: &Policy) -> Reading {
    let t = e.tampering.as_ref().ok_or_else(|| absent("tampering"))?;
    let score = t
        .anomaly_score
        .map(|s| format!(", anomaly score {s}"))
        .unwrap_or_default();
    let anti = if t.anti_detect_browser == Some(true) {
        ", anti-detect browser"
    } else {
        ""
    };
    Ok((t.result, format!("tampering: {}{score}{anti}", t.result)))
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
fn emulator(e: &Event, _: &Policy) -> Reading {
    let (emulator, simulator) = (e.emulator, e.simulator);
    if emulator.is_none() && simulator.is_none() {
        return Err(absent("emulator/simulator"));
    }
    let fired = emulator == Some(true) || simulator == Some(true);
    let seen = format!(
        "emulator: {}, simulator: {}",
        shown(emulator),
        shown(simulator)
    );
    Ok((fired, seen))
}

/// Measured against the event's own time, so a replayed decision (explain, backtest) gives
/// the same answer as the live one.
fn factory_reset(e: &Event, p: &Policy) -> Reading {
    let reset = e.factory_reset_ms.ok_or_else(|| absent("factory_reset"))?;
    if reset <= 0 {
        return Ok((false, "factory_reset: none detected".into()));
    }
    let at = e.timestamp_ms.ok_or_else(|| absent("timestamp"))?;
    let days = p.factory_reset_window_days;
    // Saturating: both times come from the event, and either may sit at the end of the range.
    let age = at.saturating_sub(reset);
    let age_hours = age.max(0) / 3_600_000;
    let fired = age <= i64::from(days) * 86_400_000;
    Ok((
        fired,
        format!("factory reset {age_hours} h before the event, window {days} d"),
    ))
}

/// Either platform's flavour of a compromised OS; unknown only if both are unknown.
fn rooted(e: &Event, _: &Policy) -> Reading {
    let (root, jail) = (e.root_apps, e.jailbroken);
    if root.is_none() && jail.is_none() {
        return Err(absent("root_apps/jailbroken"));
    }
    let fired = root == Some(true) || jail == Some(true);
    Ok((
        fired,
        format!("root_apps: {}, jailbroken: {}", shown(root), shown(jail)),
    ))
}

/// Spam and attack sources only: a Tor exit is also "blocklisted" upstream, but it has its
/// own rule so that `tor = "allow"` is not overridden here.
fn ip_blocklist(e: &Event, _: &Policy) -> Reading {
    let b = e
        .ip_blocklist
        .as_ref()
        .ok_or_else(|| absent("ip_blocklist"))?;
    let (spam, attack) = (b.email_spam, b.attack_source);
    let unexplained = b.result && spam.is_none() && attack.is_none() && b.tor_node != Some(true);
    let listed = spam == Some(true) || attack == Some(true) || unexplained;
    let seen = format!(
        "ip_blocklist: {}, email_spam: {}, attack_source: {}",
        b.result,
        shown(spam),
        shown(attack)
    );
    Ok((listed, seen))
}

fn tor(e: &Event, _: &Policy) -> Reading {
    let node = e.ip_blocklist.as_ref().and_then(|b| b.tor_node);
    if e.tor.is_none() && node.is_none() {
        return Err(absent("tor"));
    }
    let fired = e.tor == Some(true) || node == Some(true);
    Ok((fired, format!("tor: {fired}")))
}

fn vpn(e: &Event, _: &Policy) -> Reading {
    let v = e.vpn.as_ref().ok_or_else(|| absent("vpn"))?;
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
    Ok((v.result, format!("vpn: {}{conf}{from}", v.result)))
}

fn proxy(e: &Event, _: &Policy) -> Reading {
    let p = e.proxy.as_ref().ok_or_else(|| absent("proxy"))?;
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
    Ok((p.result, format!("proxy: {}{kind}{conf}", p.result)))
}

/// Counts the visitor's identifications, not accounts: scripted retries after refusals
/// show up here even though none of them created an account.
fn velocity(e: &Event, p: &Policy) -> Reading {
    let max = p.velocity_max_events_1h;
    let n = (e.velocity.as_ref())
        .and_then(|v| v.events.as_ref())
        .and_then(|i| i.h1)
        .ok_or_else(|| absent("velocity.events.1h"))?;
    Ok((
        n > max,
        format!("{n} visitor events in the last hour, limit {max}"),
    ))
}

fn suspect_score(e: &Event, p: &Policy) -> Reading {
    let t = p.suspect_score_threshold;
    let s = e.suspect_score.ok_or_else(|| absent("suspect_score"))?;
    Ok((s >= t, format!("suspect score {s}, threshold {t}")))
}
