//! Velocity rules: how many attempts one IP address, network or device made, and how many
//! accounts one email domain or autonomous system got, in a window. The service counts (the
//! store keeps attempt counters and indexes accounts); these rules compare the counts recorded
//! in the context with their thresholds, so `explain` and `backtest` replay them.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::config::{Action, Policy};
use super::context::Context;
use super::decision::Outcome;
use super::judge::{judge, Checks};

/// The `[policy.velocity.*]` tables: one per rule, each off until given a threshold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VelocityRules {
    /// Attempts from one client IP address (`velocity_ip`).
    pub ip: VelocityRule,
    /// Attempts from one IPv4 /24 or IPv6 /64 network (`velocity_subnet`).
    pub subnet: VelocityRule,
    /// Attempts from one visitor id (`velocity_visitor`).
    pub visitor: VelocityRule,
    /// Accounts created with an email address at one domain (`velocity_email_domain`).
    pub email_domain: VelocityRule,
    /// Accounts created from one autonomous system, when the event names it (`velocity_asn`).
    pub asn: VelocityRule,
}

/// One velocity rule. Every rule shares these defaults, so a table that sets only `threshold`
/// means the same whichever rule it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VelocityRule {
    /// How many attempts (or accounts) a window lets through; the next one fires. 0: off.
    pub threshold: u32,
    /// The window's length.
    pub window: Window,
    /// What to do when the rule fires.
    pub action: Action,
}

impl Default for VelocityRule {
    fn default() -> Self {
        VelocityRule {
            threshold: 0,
            window: Window::from_seconds(3600),
            action: Action::Block,
        }
    }
}

impl VelocityRule {
    /// Whether the rule is switched on (a threshold above 0).
    pub fn enabled(&self) -> bool {
        self.threshold > 0
    }
}

impl VelocityRules {
    /// Whether a rule that counts attempts is on: only then does an attempt add to counters.
    pub fn counts_attempts(&self) -> bool {
        self.ip.enabled() || self.subnet.enabled() || self.visitor.enabled()
    }
}

/// The longest window: a year and a day, past which a counter is history, not velocity.
const MAX_WINDOW_SECONDS: u64 = 366 * 86_400;

/// A window's length, written `45s`, `10m`, `1h` or `7d` (whole seconds, 1 s to 366 d).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window {
    seconds: u64,
}

impl Window {
    const fn from_seconds(seconds: u64) -> Window {
        Window { seconds }
    }

    /// Reads `45s`, `10m`, `1h` or `7d`.
    pub fn parse(text: &str) -> Result<Window, String> {
        let expected = || format!("expected a window like \"10m\", \"1h\" or \"1d\", got {text:?}");
        let trimmed = text.trim();
        let last = trimmed.char_indices().last().map_or(0, |(i, _)| i);
        let (number, unit) = trimmed.split_at(last);
        let unit_seconds: u64 = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(expected()),
        };
        let n: u64 = number.parse().map_err(|_| expected())?;
        match n.checked_mul(unit_seconds) {
            Some(seconds) if (1..=MAX_WINDOW_SECONDS).contains(&seconds) => Ok(Window { seconds }),
            _ => Err(format!("a window is 1s to 366d, got {text:?}")),
        }
    }

    /// Its length in seconds.
    pub fn seconds(self) -> u64 {
        self.seconds
    }

    /// Its length in milliseconds.
    pub fn ms(self) -> i64 {
        self.seconds as i64 * 1000
    }

    /// When the fixed window holding `now_ms` began: windows are aligned on the Unix epoch, so
    /// every instance puts an attempt in the same one.
    pub fn start_of(self, now_ms: i64) -> i64 {
        now_ms - now_ms.rem_euclid(self.ms())
    }
}

impl fmt::Display for Window {
    /// The largest unit that divides it: `3600` seconds is `1h`, `90` is `90s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.seconds;
        let (n, unit) = if s.is_multiple_of(86_400) {
            (s / 86_400, "d")
        } else if s.is_multiple_of(3600) {
            (s / 3600, "h")
        } else if s.is_multiple_of(60) {
            (s / 60, "m")
        } else {
            (s, "s")
        };
        write!(f, "{n}{unit}")
    }
}

impl Serialize for Window {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Window::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The counts the velocity rules judge, recorded with the attempt. Each is present when its
/// rule was on and the signup had the value it counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VelocityCounts {
    /// Attempts from the client IP in the current window, this one included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<Counted>,
    /// Attempts from its /24 (IPv4) or /64 (IPv6) network, this one included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<Counted>,
    /// Attempts from the visitor id, this one included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor: Option<Counted>,
    /// Accounts already created at the email address's domain in the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_domain: Option<Counted>,
    /// Accounts already created from the event's autonomous system in the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<Counted>,
}

impl VelocityCounts {
    /// Nothing counted (every rule off): the snapshot then leaves the field out.
    pub fn is_empty(&self) -> bool {
        *self == VelocityCounts::default()
    }
}

/// One count and what it counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counted {
    /// The address, network, visitor id, domain or ASN counted.
    pub value: String,
    /// How many.
    pub count: i64,
}

/// The network an address counts under for `velocity_subnet`: its /24, or its /64 for IPv6.
pub fn subnet(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let network = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{network}/64")
        }
    }
}

/// What a rule counts: attempts (this one included, so it fires past the threshold) or
/// accounts already made (so it fires at the threshold: one more would pass it).
#[derive(Clone, Copy, PartialEq)]
enum Counts {
    Attempts,
    Accounts,
}

/// The velocity rules, in their fixed order: code, config key, rule, count, what is counted,
/// and why a count can be missing.
type Row<'a> = (
    &'static str,
    &'static str,
    VelocityRule,
    Option<&'a Counted>,
    Counts,
    &'static str,
);

fn rows<'a>(policy: &Policy, ctx: &'a Context) -> [Row<'a>; 5] {
    let (v, c) = (&policy.velocity, &ctx.velocity);
    use Counts::{Accounts, Attempts};
    #[rustfmt::skip]
    let rows = [
        ("velocity_ip", "velocity.ip", v.ip, c.ip.as_ref(), Attempts, "no client IP was counted"),
        ("velocity_subnet", "velocity.subnet", v.subnet, c.subnet.as_ref(), Attempts, "no client IP was counted"),
        ("velocity_visitor", "velocity.visitor", v.visitor, c.visitor.as_ref(), Attempts, "no visitor id was counted"),
        ("velocity_email_domain", "velocity.email_domain", v.email_domain, c.email_domain.as_ref(), Accounts, "the username is not an email address"),
        ("velocity_asn", "velocity.asn", v.asn, c.asn.as_ref(), Accounts, "the event names no ASN"),
    ];
    rows
}

/// Runs the velocity rules; with `allow_listed` (the matching entries, in words) each is
/// recorded as skipped: the analyst vouched for this device, address or email.
pub(crate) fn run(c: &mut Checks, policy: &Policy, ctx: &Context, allow_listed: Option<&String>) {
    for (code, key, rule, counted, counts, missing) in rows(policy, ctx) {
        let judged = if !rule.enabled() {
            (Outcome::Disabled, "threshold = 0".to_string())
        } else if let Some(entries) = allow_listed {
            (Outcome::Skipped, format!("allow-listed: {entries}"))
        } else {
            match counted {
                None => (Outcome::Unavailable, missing.to_string()),
                Some(counted) => judge_count(rule, counted, counts),
            }
        };
        c.push(code, key, rule.action, judged);
    }
}

fn judge_count(rule: VelocityRule, counted: &Counted, counts: Counts) -> (Outcome, String) {
    let (n, value, limit, window) = (counted.count, &counted.value, rule.threshold, rule.window);
    match counts {
        Counts::Attempts => judge(
            n > i64::from(limit),
            format!("{n} attempt(s) from {value} in this {window} window, threshold {limit}"),
        ),
        Counts::Accounts => judge(
            n >= i64::from(limit),
            format!("{n} account(s) at {value} in the last {window}, threshold {limit}"),
        ),
    }
}

/// Seconds until the fixed window of an attempt rule that fired ends, for `Retry-After`;
/// `None` for other codes, and for the account rules, whose windows slide.
pub fn retry_after_secs(policy: &Policy, code: &str, now_ms: i64) -> Option<u64> {
    let v = &policy.velocity;
    let window = match code {
        "velocity_ip" => v.ip.window,
        "velocity_subnet" => v.subnet.window,
        "velocity_visitor" => v.visitor.window,
        _ => return None,
    };
    let left_ms = window.start_of(now_ms) + window.ms() - now_ms;
    Some(u64::try_from(left_ms).unwrap_or(0).div_ceil(1000).max(1))
}

/// Whether a code is one of the velocity rules' (not `velocity_exceeded`, which reads
/// Fingerprint's own count of the visitor's events).
pub fn is_velocity_code(code: &str) -> bool {
    matches!(
        code,
        "velocity_ip"
            | "velocity_subnet"
            | "velocity_visitor"
            | "velocity_email_domain"
            | "velocity_asn"
    )
}
