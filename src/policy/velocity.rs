//! Velocity rules: how many attempts one IP address, network or device made, and how many
//! accounts one email domain or autonomous system got, in a window. The service counts (the
//! store keeps attempt counters and indexes accounts); these rules compare the counts recorded
//! in the context with their thresholds, so `explain` and `backtest` replay them.

use std::net::IpAddr;

use super::config::{Policy, VelocityRule};
use super::context::{Context, Counted};
use super::decision::Outcome;
use super::judge::{Checks, Says};

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
    let says = c.says;
    for (code, key, rule, counted, counts, missing) in rows(policy, ctx) {
        let judged = if !rule.enabled() {
            says.judged(Outcome::Disabled, || "threshold = 0".into())
        } else if let Some(entries) = allow_listed {
            says.judged(Outcome::Skipped, || format!("allow-listed: {entries}"))
        } else {
            match counted {
                None => says.judged(Outcome::Unavailable, || missing.into()),
                Some(counted) => judge_count(rule, counted, counts, says),
            }
        };
        c.push(code, key, rule.action, judged);
    }
}

fn judge_count(
    rule: VelocityRule,
    counted: &Counted,
    counts: Counts,
    says: Says,
) -> (Outcome, String) {
    let (n, value, limit, window) = (counted.count, &counted.value, rule.threshold, rule.window);
    match counts {
        Counts::Attempts => says.judge(n > i64::from(limit), || {
            format!("{n} attempt(s) from {value} in this {window} window, threshold {limit}")
        }),
        Counts::Accounts => says.judge(n >= i64::from(limit), || {
            format!("{n} account(s) at {value} in the last {window}, threshold {limit}")
        }),
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
