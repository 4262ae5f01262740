//! `backtest`: what another policy would have decided on the recorded attempts. Read-only.

use crate::cli::BacktestArgs;
use crate::policy::{self, Policy};
use crate::store::{now_ms, AttemptRow, Label, Store};
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
    /// With `--labels`: the recorded verdicts and the candidate's, against the labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<LabelScores>,
    /// With `--changed`: each attempt whose verdict would change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<Change>>,
}

/// One changed verdict.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// The attempt.
    pub id: i64,
    /// Its event.
    pub event_id: Option<String>,
    /// The recorded verdict.
    pub from: String,
    /// The candidate's.
    pub to: String,
    /// The analysts' latest label, if any.
    pub label: Option<&'static str>,
}

/// The recorded policy's scores and the candidate's.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelScores {
    /// Labelled attempts replayed.
    pub labelled: u64,
    /// The verdicts as recorded (the policy in force at the time).
    pub recorded: Scores,
    /// The candidate's verdicts.
    pub candidate: Scores,
}

/// How one policy's verdicts sit against the labels.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scores {
    /// Labelled fraud by verdict (`block`, `review`, `allow`).
    pub fraud: BTreeMap<String, u64>,
    /// Labelled legit by verdict.
    pub legit: BTreeMap<String, u64>,
    /// Of the blocked, the share labelled fraud (`null` when nothing labelled was blocked).
    pub block_precision: Option<f64>,
    /// Of the fraud, the share blocked (`null` without labelled fraud).
    pub block_recall: Option<f64>,
    /// Of the blocked or reviewed, the share labelled fraud.
    pub flag_precision: Option<f64>,
    /// Of the fraud, the share blocked or reviewed.
    pub flag_recall: Option<f64>,
}

impl Scores {
    fn count(&mut self, label: Label, verdict: &str) {
        let side = match label {
            Label::Fraud => &mut self.fraud,
            Label::Legit => &mut self.legit,
        };
        *side.entry(verdict.to_owned()).or_default() += 1;
    }

    fn finish(&mut self) {
        let of = |side: &BTreeMap<String, u64>, verdicts: &[&str]| -> u64 {
            verdicts
                .iter()
                .map(|v| side.get(*v).copied().unwrap_or(0))
                .sum()
        };
        let share = |part: u64, whole: u64| (whole > 0).then(|| part as f64 / whole as f64);
        let fraud_total = of(&self.fraud, &["block", "review", "allow"]);
        for (verdicts, precision, recall) in [
            (
                &["block"][..],
                &mut self.block_precision,
                &mut self.block_recall,
            ),
            (
                &["block", "review"][..],
                &mut self.flag_precision,
                &mut self.flag_recall,
            ),
        ] {
            let caught = of(&self.fraud, verdicts);
            *precision = share(caught, caught + of(&self.legit, verdicts));
            *recall = share(caught, fraud_total);
        }
    }
}

/// Replays every recorded attempt (since `since`) against the policy named by `--config`.
pub async fn backtest(settings: BacktestArgs) -> anyhow::Result<()> {
    let BacktestArgs {
        since,
        json,
        labels,
        changed,
        ..
    } = &settings;
    let (since, json) = (since.clone(), *json);
    let options = Options {
        labels: *labels,
        changed: *changed,
    };
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
    let report = run(&store, &candidate, since_ms, options).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print(&report, &path.display().to_string());
    }
    Ok(())
}

/// What the report adds beside the counts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Score against the labels.
    pub labels: bool,
    /// List the changed verdicts.
    pub changed: bool,
}

/// Computes the report in batches, so memory stays flat however long the trail is (but for
/// the list of changes, when asked for).
pub async fn run(
    store: &Store,
    candidate: &Policy,
    since_ms: i64,
    options: Options,
) -> anyhow::Result<Report> {
    let mut report = Report {
        policy_hash: candidate.hash(),
        labels: options.labels.then(LabelScores::default),
        changes: options.changed.then(Vec::new),
        ..Report::default()
    };
    let labels = if options.labels || options.changed {
        store.labels(since_ms).await?
    } else {
        Default::default()
    };
    let mut cursor = 0;
    loop {
        let batch = store.attempts_after(cursor, since_ms, 1000).await?;
        let Some(last) = batch.last() else { break };
        cursor = last.id;
        for attempt in &batch {
            replay(
                attempt,
                candidate,
                labels.get(&attempt.id).copied(),
                &mut report,
            );
        }
        if report.replayed % 10_000 < 1000 && report.replayed >= 10_000 {
            tracing::info!(replayed = report.replayed, "backtest progress");
        }
    }
    if let Some(scores) = report.labels.as_mut() {
        scores.recorded.finish();
        scores.candidate.finish();
    }
    Ok(report)
}

fn replay(attempt: &AttemptRow, candidate: &Policy, label: Option<Label>, report: &mut Report) {
    let Some(snapshot) = &attempt.signals else {
        report.skipped += 1;
        return;
    };
    report.replayed += 1;
    let decision = snapshot.decide(candidate);
    let after = decision.would_be.as_str();
    for code in &attempt.codes {
        report.rules.entry(code.clone()).or_default().fired_before += 1;
    }
    for code in decision.codes() {
        report.rules.entry(code.to_owned()).or_default().fired_after += 1;
    }
    if let (Some(scores), Some(label)) = (report.labels.as_mut(), label) {
        scores.labelled += 1;
        scores.recorded.count(label, &attempt.verdict);
        scores.candidate.count(label, after);
    }
    if after != attempt.verdict {
        report.changed += 1;
        if let Some(changes) = report.changes.as_mut() {
            changes.push(Change {
                id: attempt.id,
                event_id: attempt.event_id.clone(),
                from: attempt.verdict.clone(),
                to: after.to_owned(),
                label: label.map(Label::as_str),
            });
        }
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
    if let Some(scores) = &report.labels {
        println!();
        println!("against {} labelled attempts:", scores.labelled);
        println!(
            "{:<10} {:>22} {:>22}",
            "", "recorded (b/r/a)", "candidate (b/r/a)"
        );
        for (name, pick) in [("fraud", 0), ("legit", 1)] {
            let row = |s: &Scores| {
                let side = if pick == 0 { &s.fraud } else { &s.legit };
                let n = |v: &str| side.get(v).copied().unwrap_or(0);
                format!("{}/{}/{}", n("block"), n("review"), n("allow"))
            };
            println!(
                "{name:<10} {:>22} {:>22}",
                row(&scores.recorded),
                row(&scores.candidate)
            );
        }
        let pct = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{:.1}%", v * 100.0));
        for (name, get) in [
            (
                "block precision",
                (|s: &Scores| s.block_precision) as fn(&Scores) -> Option<f64>,
            ),
            ("block recall", |s: &Scores| s.block_recall),
            ("block|review precision", |s: &Scores| s.flag_precision),
            ("block|review recall", |s: &Scores| s.flag_recall),
        ] {
            println!(
                "{name:<24} {:>12} {:>12}",
                pct(get(&scores.recorded)),
                pct(get(&scores.candidate))
            );
        }
    }
    if let Some(changes) = &report.changes {
        println!();
        println!("{:>8}  {:<24} {:<18} label", "attempt", "event", "verdict");
        for c in changes {
            println!(
                "{:>8}  {:<24} {:<18} {}",
                c.id,
                c.event_id.as_deref().unwrap_or("-"),
                format!("{} -> {}", c.from, c.to),
                c.label.unwrap_or("-")
            );
        }
    }
}
