//! What a signup counts, and where the counts go: the accounts its device (by every identity
//! the policy names), email domain and autonomous system already hold, and the attempts its IP
//! address, network and device made in the velocity windows. The policy judges the counts from
//! the snapshot's context, so `explain` and `backtest` see what the decision saw.

use crate::policy::{self, Context, Counted, IdentityAccounts, Policy, VelocityCounts};
use crate::store::{AccountCounts, AccountScope, Counter, Store, StoreError};
use fingerprint::Event;
use std::net::IpAddr;
use std::time::Duration;

/// What a new account from this event counts toward: the device limit by each identity the
/// policy names and the event has, and the email domain and ASN when their rules are on.
pub fn account_scope(
    policy: &Policy,
    event: &Event,
    email: Option<&str>,
    now_ms: i64,
) -> AccountScope {
    let since = |window: policy::Window| now_ms - window.ms();
    let velocity = &policy.velocity;
    AccountScope {
        identities: policy
            .identities()
            .into_iter()
            .filter_map(|i| i.of(event).map(|v| (i, v.to_owned())))
            .collect(),
        device_since_ms: super::device_quota(policy, now_ms).since_ms,
        email_domain: email.filter(|_| velocity.email_domain.enabled()).map(|e| {
            (
                crate::email::domain(e).to_owned(),
                since(velocity.email_domain.window),
            )
        }),
        asn: asn(event)
            .filter(|_| velocity.asn.enabled())
            .map(|a| (a.to_owned(), since(velocity.asn.window))),
    }
}

/// The autonomous system of the event's IP, when Fingerprint named one.
pub fn asn(event: &Event) -> Option<&str> {
    let asn = event.ip_info.as_ref()?.asn.as_deref()?;
    (!asn.trim().is_empty()).then_some(asn)
}

/// Puts the account counts into the context the policy judges: the device's (in all, and by
/// identity when it counts more than the visitor id), the email address's, and the velocity
/// rules' on email domains and ASNs.
pub fn apply_account_counts(context: &mut Context, scope: &AccountScope, counts: &AccountCounts) {
    context.device_accounts = counts.device;
    context.identities = scope
        .identities
        .iter()
        .zip(&counts.by_identity)
        .map(|((identity, value), accounts)| IdentityAccounts {
            identity: *identity,
            value: value.clone(),
            accounts: *accounts,
        })
        .collect();
    let counted = |value: &Option<(String, i64)>, count: Option<i64>| {
        value
            .as_ref()
            .zip(count)
            .map(|((value, _), count)| Counted {
                value: value.clone(),
                count,
            })
    };
    context.velocity.email_domain = counted(&scope.email_domain, counts.email_domain);
    context.velocity.asn = counted(&scope.asn, counts.asn);
}

/// Adds this attempt to the counters of the attempt rules switched on (none: no query), and
/// answers the new counts. The address counted is the client's, or, when the decision API was
/// not told it, the one Fingerprint saw.
pub async fn count_attempt(
    store: &Store,
    policy: &Policy,
    client_ip: Option<IpAddr>,
    event: &Event,
    now_ms: i64,
) -> Result<VelocityCounts, StoreError> {
    let velocity = &policy.velocity;
    let mut counts = VelocityCounts::default();
    if !velocity.counts_attempts() {
        return Ok(counts);
    }
    let ip = client_ip
        .or_else(|| {
            event
                .ip
                .as_deref()
                .and_then(|ip| ip.trim().parse::<IpAddr>().ok())
        })
        .map(|ip| ip.to_canonical());
    let rules = [
        ("ip", velocity.ip, ip.map(|ip| ip.to_string())),
        ("subnet", velocity.subnet, ip.map(policy::subnet)),
        ("visitor", velocity.visitor, event.visitor_id.clone()),
    ];
    let mut counted: Vec<(&str, String)> = Vec::new();
    let mut counters: Vec<Counter> = Vec::new();
    for (rule, config, value) in rules {
        let Some(value) = value.filter(|v| config.enabled() && !v.is_empty()) else {
            continue;
        };
        let window_start = config.window.start_of(now_ms);
        counters.push(Counter {
            // The window's length is part of the key: a policy that changes it starts afresh
            // rather than reading counts of another length.
            name: format!("{rule}:{}:{value}", config.window.seconds()),
            window_start,
            expires_at: window_start + config.window.ms(),
        });
        counted.push((rule, value));
    }
    let numbers = store.count_attempt(&counters).await?;
    for ((rule, value), count) in counted.into_iter().zip(numbers) {
        let slot = match rule {
            "ip" => &mut counts.ip,
            "subnet" => &mut counts.subnet,
            _ => &mut counts.visitor,
        };
        *slot = Some(Counted { value, count });
    }
    Ok(counts)
}

/// How often an instance deletes the counters of ended windows.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Deletes ended windows' counters in the background while the store is open, when a rule
/// counts attempts. Every instance does it; the deletes are idempotent.
pub fn start_pruning(store: Store, policy: &Policy) {
    if !policy.velocity.counts_attempts() {
        return;
    }
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(PRUNE_EVERY).await;
            if store.is_closed() {
                return;
            }
            match store.prune_counters(crate::store::now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(deleted = n, "velocity counters of ended windows deleted"),
                Err(error) => tracing::warn!(%error, "cannot delete ended velocity counters"),
            }
        }
    });
}
