//! The checks, run in one fixed order. The order is part of the contract: it decides which
//! finding [`super::Decision::primary`] names, so it is documented in `docs/policy.md`.

use fingerprint::Event;

use super::config::{Action, Policy};
use super::context::Context;
use super::decision::{Check, Outcome, NO_IDENTIFICATION};
use super::judge::{Checks, Judged, Says};
use super::{binding, signals, velocity};

/// Runs every rule: identity and integrity first, then Smart Signals, then the weak and
/// account-history rules, so the primary finding is the most specific one.
pub(crate) fn run(policy: &Policy, event: &Event, ctx: &Context, says: Says) -> Vec<Check> {
    let mut c = Checks::new(says);
    let (block, rules) = (Action::Block, &policy.rules);
    c.push(
        "denylisted",
        "lists",
        block,
        listed(ctx, Action::Block, says),
    );
    c.push(
        "listed_for_review",
        "lists",
        Action::Review,
        listed(ctx, Action::Review, says),
    );
    c.push(
        NO_IDENTIFICATION,
        "visitor_id",
        block,
        identification(event, says),
    );
    let (stale, future) = freshness(policy, event, ctx.now_ms, says);
    c.push("stale_event", "max_event_age_seconds", block, stale);
    c.push("future_event", "clock_skew_seconds", block, future);
    c.push(
        "replayed_event",
        "replayed",
        rules.replayed,
        replayed(event, says),
    );
    let origins = binding::origins(policy, event, ctx, says);
    c.push("origin_mismatch", "allowed_origins", block, origins);
    c.push(
        "ip_mismatch",
        "ip_binding",
        block,
        binding::ip(policy, event, ctx, says),
    );
    let allowed = listed(ctx, Action::Allow, says);
    signals::run(
        &mut c,
        policy,
        event,
        (allowed.0 == Outcome::Fired).then_some(&allowed.1),
    );
    let confidence = confidence(policy, event, says);
    c.push(
        "low_confidence",
        "low_confidence",
        rules.low_confidence,
        confidence,
    );
    c.push(
        "disposable_email",
        "disposable_email",
        rules.disposable_email,
        disposable_email(policy, ctx, says),
    );
    c.push(
        "email_alias",
        "email_alias",
        rules.email_alias,
        email_alias(ctx, says),
    );
    velocity::run(
        &mut c,
        policy,
        ctx,
        (allowed.0 == Outcome::Fired).then_some(&allowed.1),
    );
    c.push(
        "device_limit",
        "accounts_per_device",
        block,
        device_limit(policy, ctx, allowed.0 == Outcome::Fired, says),
    );
    c.list
}

/// A throwaway-inbox domain, unless an analyst allow-listed the address or its domain.
fn disposable_email(policy: &Policy, ctx: &Context, says: Says) -> Judged {
    let Some(email) = &ctx.email else {
        return says.judged(Outcome::Unavailable, || {
            "the username is not an email address".into()
        });
    };
    let domain = crate::email::domain(email);
    let vouched = ctx.lists.iter().any(|hit| {
        hit.action == Action::Allow && matches!(hit.kind.as_str(), "email" | "email_domain")
    });
    if vouched {
        return says.judged(Outcome::Skipped, || format!("{domain} is allow-listed"));
    }
    says.judge(
        crate::email::is_disposable(domain, &policy.disposable_domains),
        || format!("email domain {domain}"),
    )
}

/// Another account already has this address.
fn email_alias(ctx: &Context, says: Says) -> Judged {
    match &ctx.email {
        None => says.judged(Outcome::Unavailable, || {
            "the username is not an email address".into()
        }),
        Some(email) => says.judge(ctx.email_accounts > 0, || {
            format!("{} account(s) with {email}", ctx.email_accounts)
        }),
    }
}

/// Whether an entry with `action` matched, and which.
fn listed(ctx: &Context, action: Action, says: Says) -> Judged {
    let mut hits = ctx
        .lists
        .iter()
        .filter(|hit| hit.action == action)
        .peekable();
    if hits.peek().is_none() {
        return says.judged(Outcome::Passed, || format!("no {action} entry matched"));
    }
    let hits: Vec<String> = hits
        .map(|hit| {
            format!(
                "{} {} (entry {}: {})",
                hit.kind, hit.value, hit.id, hit.reason
            )
        })
        .collect();
    (Outcome::Fired, hits.join("; "))
}

fn identification(event: &Event, says: Says) -> Judged {
    match event.visitor_id.as_deref().map(str::trim) {
        Some(id) if !id.is_empty() => says.judged(Outcome::Passed, || format!("visitor id {id}")),
        _ => (Outcome::Fired, "event has no visitor id".into()),
    }
}

/// Seconds with millisecond precision only when needed, so limits read naturally.
fn secs(ms: i64) -> String {
    if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.3} s", ms as f64 / 1000.0)
    }
}

/// Too old (`stale_event`) and too far in the future (`future_event`). A future stamp means
/// the clocks disagree, and then the age limit cannot be trusted either.
fn freshness(policy: &Policy, event: &Event, now_ms: i64, says: Says) -> (Judged, Judged) {
    let (max_s, skew_s) = (policy.max_event_age_seconds, policy.clock_skew_seconds);
    if max_s == 0 {
        let off = || says.judged(Outcome::Disabled, || "max_event_age_seconds = 0".into());
        return (off(), off());
    }
    let Some(ts) = event.timestamp_ms else {
        // Without a timestamp the event cannot be shown to be fresh.
        let none = || "event has no timestamp".to_string();
        return (
            (Outcome::Fired, none()),
            says.judged(Outcome::Unavailable, none),
        );
    };
    let ms = |s: u64| i64::try_from(s).unwrap_or(i64::MAX).saturating_mul(1000);
    let age = now_ms.saturating_sub(ts);
    let ahead = age.saturating_neg();
    (
        says.judge(age > ms(max_s), || {
            format!("event is {} old, limit {max_s} s", secs(age))
        }),
        says.judge(ahead > ms(skew_s), || {
            if ahead > 0 {
                format!(
                    "event is {} in the future, tolerance {skew_s} s",
                    secs(ahead)
                )
            } else {
                format!("event is not stamped in the future, tolerance {skew_s} s")
            }
        }),
    )
}

fn replayed(event: &Event, says: Says) -> Judged {
    match event.replayed {
        Some(r) => says.judge(r, || format!("replayed: {r}")),
        None => says.judged(Outcome::Unavailable, || "replayed: not on event".into()),
    }
}

fn confidence(policy: &Policy, event: &Event, says: Says) -> Judged {
    let min = policy.min_confidence;
    match event.confidence {
        Some(v) => says.judge(v < min, || format!("confidence {v}, minimum {min}")),
        None => says.judged(Outcome::Unavailable, || "confidence: not on event".into()),
    }
}

fn device_limit(policy: &Policy, ctx: &Context, allow_listed: bool, says: Says) -> Judged {
    if allow_listed && policy.allow_overrides_device_limit {
        return says.judged(Outcome::Skipped, || {
            "allow-listed, and allow_overrides_device_limit = true".into()
        });
    }
    let (limit, have) = (policy.accounts_per_device, ctx.device_accounts);
    says.judge(have >= i64::from(limit), || device_count(policy, ctx))
}

/// The device's accounts against the limit, and the identities they share.
fn device_count(policy: &Policy, ctx: &Context) -> String {
    let (limit, have) = (policy.accounts_per_device, ctx.device_accounts);
    let window = match policy.device_window_days {
        0 => "ever".to_string(),
        d => format!("in the last {d} days"),
    };
    let mut input = format!("device has {have} account(s) {window}, limit {limit}");
    if !ctx.identities.is_empty() {
        let shared: Vec<String> = ctx
            .identities
            .iter()
            .map(|i| format!("{} {} ({})", i.identity.as_str(), i.value, i.accounts))
            .collect();
        input.push_str(&format!("; sharing {}", shared.join(", ")));
        if have > 0 {
            let matched = ctx.matched_identity().as_str();
            input.push_str(&format!("; matched by {matched}"));
        }
    }
    input
}
