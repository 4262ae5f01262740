//! `explain`: why a signup was (or would be) refused, rule by rule.

use crate::cli::ExplainArgs;
use crate::policy::{self, Context, Decision};
use crate::store::{now_ms, Store, StoreError};
use anyhow::{bail, Context as _};
use fingerprint::sealed::DecryptionKey;
use std::net::IpAddr;

/// Fetches the event (or unseals it), rebuilds the context the signup had when one was recorded,
/// and prints every rule under the current policy.
pub async fn explain(settings: ExplainArgs) -> anyhow::Result<()> {
    let ExplainArgs {
        request_id,
        sealed,
        json,
        ..
    } = settings.clone();
    let policy = settings.policy_file.load()?;
    let event = match (request_id, sealed) {
        (Some(id), _) => {
            let client = fingerprint::Client::new(settings.fingerprint.client_config()?)?;
            client
                .get_event(&id)
                .await
                .with_context(|| format!("cannot fetch event {id}"))?
        }
        (None, Some(payload)) => {
            let keys = settings
                .fingerprint
                .fingerprint_encryption_keys
                .as_deref()
                .unwrap_or_default();
            let keys = DecryptionKey::parse_list(keys)
                .map_err(|e| anyhow::anyhow!("FINGERPRINT_ENCRYPTION_KEYS: {e}"))?;
            fingerprint::sealed::unseal(&payload, &keys)?
        }
        (None, None) => bail!("give a requestId, or --sealed <payload>"),
    };
    let (context, source) = recorded_context(&settings, &event, &policy).await;
    let decision = policy::evaluate(&policy, &event, &context);
    if json {
        let out = serde_json::json!({
            "eventId": event.event_id,
            "visitorId": event.visitor_id,
            "policyHash": policy.hash(),
            "context": source,
            "decision": decision,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_table(&event, &policy.hash(), &source, &decision);
    }
    Ok(())
}

/// The context of the latest recorded attempt with this event, else "now, unknown caller" with the
/// device's current account count.
async fn recorded_context(
    settings: &ExplainArgs,
    event: &fingerprint::Event,
    policy: &policy::Policy,
) -> (Context, String) {
    let now = now_ms();
    let fallback = Context {
        client_ip: None,
        origin: None,
        now_ms: now,
        device_accounts: 0,
    };
    let store = match Store::connect_existing(
        &settings.database.url(settings.demo.demo),
        settings.database.pool(),
    )
    .await
    {
        Ok(store) => store,
        Err(StoreError::Config(why)) => {
            let note = format!("no recorded attempt ({why}): evaluated as of now, without the caller's IP or origin");
            return (fallback, note);
        }
        Err(_) => {
            let note = "database unreachable: evaluated as of now, without the caller's IP, origin or device count";
            return (fallback, note.into());
        }
    };
    let recorded = store
        .latest_attempt_for_event(&event.event_id)
        .await
        .ok()
        .flatten();
    if let Some((id, signals)) = recorded.and_then(|row| row.signals.map(|s| (row.id, s))) {
        let ctx = &signals["context"];
        let context = Context {
            client_ip: ctx["clientIp"]
                .as_str()
                .and_then(|ip| ip.parse::<IpAddr>().ok()),
            origin: ctx["origin"].as_str().map(str::to_owned),
            now_ms: ctx["nowMs"].as_i64().unwrap_or(now),
            device_accounts: ctx["deviceAccounts"].as_i64().unwrap_or(0),
        };
        return (context, format!("recorded attempt #{id}"));
    }
    let since = crate::signup::device_quota(policy, now).since_ms;
    let device_accounts = match &event.visitor_id {
        Some(visitor) => store.device_accounts(visitor, since).await.unwrap_or(0),
        None => 0,
    };
    let note = "no recorded attempt: evaluated as of now, without the caller's IP or origin";
    (
        Context {
            device_accounts,
            ..fallback
        },
        note.into(),
    )
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
