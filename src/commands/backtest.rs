//! `backtest`: what another policy would have decided on the recorded attempts. Read-only.

use crate::cli::BacktestArgs;
use crate::policy::{self, Policy};
use crate::store::{now_ms, AttemptRow, Store};
use anyhow::{bail, Context as _};
use serde::Serialize;
use std::collections::BTreeMap;

/// Per-rule counts: how often it fired as recorded, how often it would fire, and how many changed
/// verdicts it is the first reason for.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleRow {
    /// Recorded attempts where the rule fired.
    pub fired_before: u64,
    /// Attempts where it fires under the candidate policy.
    pub fired_after: u64,
    /// Changed verdicts whose first reason (new or old) is this rule.
    pub changes: u64,
}

/// The whole report.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The candidate policy's version.
    pub policy_hash: String,
    /// Attempts replayed.
    pub replayed: u64,
    /// Attempts without a signals snapshot (refused before an event was read).
    pub skipped: u64,
    /// Attempts whose verdict would change.
    pub changed: u64,
    /// `from -> to` verdict transitions.
    pub transitions: BTreeMap<String, u64>,
    /// Per-rule counts.
    pub rules: BTreeMap<String, RuleRow>,
}

/// Replays every recorded attempt (since `since`) against the policy named by `--config`.
pub async fn backtest(settings: BacktestArgs) -> anyhow::Result<()> {
    let BacktestArgs { since, json, .. } = &settings;
    let (since, json) = (since.clone(), *json);
    let database_url = settings.database.url(settings.demo.demo);
    let Some(path) = settings.policy_file.config.clone() else {
        bail!("backtest needs the candidate policy: signup-guard backtest --config other.toml");
    };
    let candidate = policy::load_file(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let since_ms = match since.as_deref() {
        Some(value) => crate::time::parse_since(value, now_ms())
            .map_err(|e| anyhow::anyhow!("--since: {e}"))?,
        None => 0,
    };
    let store = Store::connect_existing(&database_url, settings.database.pool())
        .await
        .with_context(|| format!("cannot open {}", crate::startup::redact_url(&database_url)))?;
    let report = run(&store, &candidate, since_ms).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print(&report, &path.display().to_string());
    }
    Ok(())
}

/// Computes the report in batches, so memory stays flat however long the trail is.
pub async fn run(store: &Store, candidate: &Policy, since_ms: i64) -> anyhow::Result<Report> {
    let mut report = Report {
        policy_hash: candidate.hash(),
        ..Report::default()
    };
    let mut cursor = 0;
    loop {
        let batch = store.attempts_after(cursor, since_ms, 1000).await?;
        let Some(last) = batch.last() else { break };
        cursor = last.id;
        for attempt in &batch {
            replay(attempt, candidate, &mut report);
        }
        if report.replayed % 10_000 < 1000 && report.replayed >= 10_000 {
            tracing::info!(replayed = report.replayed, "backtest progress");
        }
    }
    Ok(report)
}

fn replay(attempt: &AttemptRow, candidate: &Policy, report: &mut Report) {
    let Some(snapshot) = &attempt.signals else {
        report.skipped += 1;
        return;
    };
    report.replayed += 1;
    let decision = snapshot.evaluate(candidate);
    let after = decision.would_be.as_str();
    for code in &attempt.codes {
        report.rules.entry(code.clone()).or_default().fired_before += 1;
    }
    for code in decision.codes() {
        report.rules.entry(code.to_owned()).or_default().fired_after += 1;
    }
    if after != attempt.verdict {
        report.changed += 1;
        *report
            .transitions
            .entry(format!("{} -> {after}", attempt.verdict))
            .or_default() += 1;
        let reason = decision
            .primary()
            .map(|f| f.code.to_owned())
            .or_else(|| attempt.codes.first().cloned())
            .unwrap_or_else(|| "(none)".into());
        report.rules.entry(reason).or_default().changes += 1;
    }
}

fn print(report: &Report, path: &str) {
    println!("candidate policy {path} ({})", report.policy_hash);
    println!(
        "replayed {} attempts ({} without signals skipped); {} verdicts would change",
        report.replayed, report.skipped, report.changed
    );
    for (transition, n) in &report.transitions {
        println!("  {transition}: {n}");
    }
    println!();
    println!(
        "{:<24} {:>12} {:>12} {:>9}",
        "rule", "fired before", "fired after", "changes"
    );
    for (rule, row) in &report.rules {
        println!(
            "{rule:<24} {:>12} {:>12} {:>9}",
            row.fired_before, row.fired_after, row.changes
        );
    }
}
