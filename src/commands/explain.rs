//! `explain`: why a signup was (or would be) refused, rule by rule.
//!
//! For an event already recorded, the recorded snapshot is the evidence: the event and the
//! request exactly as the decision saw them, with no call to Fingerprint. `--fetch` asks
//! Fingerprint afresh instead (the event may have changed, for example after a label).

use crate::cli::ExplainArgs;
use crate::policy::{Context, Decision, Policy, Snapshot};
use crate::store::{now_ms, Store, StoreError};
use anyhow::{bail, Context as _};
use fingerprint::sealed::DecryptionKey;

/// Prints every rule under the current policy for a requestId or a sealed result.
pub async fn explain(settings: ExplainArgs) -> anyhow::Result<()> {
    let policy = settings.policy_file.load(settings.demo.demo)?;
    let (snapshot, source) = match (&settings.request_id, &settings.sealed) {
        (Some(id), _) => event_snapshot(&settings, &policy, id, settings.fetch).await?,
        (None, None) => bail!("give a requestId, or --sealed <payload>"),
        (None, Some(payload)) => {
            let keys = settings
                .fingerprint
                .fingerprint_encryption_keys
                .as_deref()
                .unwrap_or_default();
            let keys = DecryptionKey::parse_list(keys)
                .map_err(|e| anyhow::anyhow!("FINGERPRINT_ENCRYPTION_KEYS: {e}"))?;
            let event = fingerprint::sealed::unseal(payload, &keys)?;
            let store = open_store(&settings).await;
            let recorded = recorded(&store, &event.event_id).await;
            match recorded {
                Some((id, snapshot)) => {
                    let context = snapshot.context;
                    let source = format!("unsealed; context of recorded attempt #{id}");
                    (Snapshot { event, context }, source)
                }
                None => now_context(&store, &policy, event).await,
            }
        }
    };
    let decision = snapshot.evaluate(&policy);
    let event = &snapshot.event;
    if settings.json {
        let out = serde_json::json!({
            "eventId": event.event_id,
            "visitorId": event.visitor_id,
            "policyHash": policy.hash(),
            "context": source,
            "decision": decision,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_table(event, &policy.hash(), &source, &decision);
    }
    Ok(())
}

/// The recorded snapshot when there is one and no fresh fetch was asked for; otherwise the
/// event from Fingerprint, with the recorded context when there is one.
async fn event_snapshot(
    settings: &ExplainArgs,
    policy: &Policy,
    id: &str,
    fetch: bool,
) -> anyhow::Result<(Snapshot, String)> {
    let store = open_store(settings).await;
    let recorded = recorded(&store, id).await;
    if let (false, Some((attempt, snapshot))) = (fetch, &recorded) {
        let source = format!(
            "recorded attempt #{attempt}: the event and request as the decision saw them, \
             no call to Fingerprint (--fetch asks afresh)"
        );
        return Ok((snapshot.clone(), source));
    }
    if settings.demo.demo {
        bail!(
            "{}",
            if fetch {
                "--fetch cannot be used in demo mode: the demo's Fingerprint simulator lives inside the running service".to_owned()
            } else {
                format!("event {id} is not recorded in the demo database: sign up with it first (the demo's Fingerprint simulator lives inside the running service, so explain cannot fetch it)")
            }
        );
    }
    let client = fingerprint::Client::new(settings.fingerprint.client_config()?)?;
    let event = client
        .get_event(id)
        .await
        .with_context(|| format!("cannot fetch event {id}"))?;
    Ok(match recorded {
        Some((attempt, snapshot)) => {
            let context = snapshot.context;
            let source = format!("fetched afresh; context of recorded attempt #{attempt}");
            (Snapshot { event, context }, source)
        }
        None => now_context(&store, policy, event).await,
    })
}

/// The store, read-only, or why it cannot be read.
async fn open_store(settings: &ExplainArgs) -> Result<Store, String> {
    let url = settings.database.url(settings.demo.demo);
    match Store::connect_existing(&url, settings.database.pool()).await {
        Ok(store) => Ok(store),
        Err(StoreError::Config(why)) => Err(format!("no recorded attempt ({why})")),
        Err(_) => Err("database unreachable".into()),
    }
}

/// The latest recorded attempt with this event and a snapshot: its id and the snapshot.
async fn recorded(store: &Result<Store, String>, event_id: &str) -> Option<(i64, Snapshot)> {
    let store = store.as_ref().ok()?;
    let row = store.latest_attempt_for_event(event_id).await.ok()??;
    Some((row.id, row.signals?))
}

/// "Now, unknown caller", with the device's current account counts when the store answers (by
/// every identity the policy counts, and for its velocity rules on email domains and ASNs; the
/// attempt counters are left alone: explaining is not an attempt).
async fn now_context(
    store: &Result<Store, String>,
    policy: &Policy,
    event: fingerprint::Event,
) -> (Snapshot, String) {
    let now = now_ms();
    let mut context = Context {
        client_ip: None,
        origin: None,
        now_ms: now,
        ..Context::default()
    };
    let scope = crate::signup::account_scope(policy, &event, None, now);
    let source = match store {
        Ok(store) => match store.account_counts(&scope, None, None).await {
            Ok(counts) => {
                crate::signup::apply_account_counts(&mut context, &scope, &counts);
                "no recorded attempt: evaluated as of now, without the caller's IP or origin".to_owned()
            }
            Err(_) => "database unreachable: evaluated as of now, without the caller's IP, origin or device count".to_owned(),
        },
        Err(why) => format!("{why}: evaluated as of now, without the caller's IP, origin or device count"),
    };
    (Snapshot { event, context }, source)
}

fn print_table(event: &fingerprint::Event, hash: &str, source: &str, decision: &Decision) {
    println!("event    {}", event.event_id);
    println!(
        "visitor  {}",
        event.visitor_id.as_deref().unwrap_or("(none)")
    );
    println!("policy   {hash}");
    println!("context  {source}");
    println!();
    println!("{:<22} {:<11} {:<7} input", "rule", "outcome", "action");
    for check in &decision.checks {
        let outcome = serde_json::to_value(check.outcome).ok();
        let outcome = outcome.as_ref().and_then(|v| v.as_str()).unwrap_or("?");
        println!(
            "{:<22} {:<11} {:<7} {}",
            check.rule,
            outcome,
            check.action.as_str(),
            check.input
        );
    }
    println!();
    let codes = decision.codes().join(", ");
    let primary = decision.primary().map(|f| f.code).unwrap_or("-");
    if decision.shadow {
        println!(
            "verdict  {} (shadow mode: would be {}; first reason {primary}; all: {codes})",
            decision.verdict.as_str(),
            decision.would_be.as_str()
        );
    } else {
        println!(
            "verdict  {} (first reason {primary}; all: {})",
            decision.verdict.as_str(),
            if codes.is_empty() { "none" } else { &codes }
        );
    }
}
