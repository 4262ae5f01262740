//! The policy in force, and a backtest of a candidate pasted or uploaded here: the changed
//! verdicts, the confusion table against the analysts' labels, precision and recall. The
//! report is `commands::backtest::run`, the same as `signup-guard backtest --labels --changed`.

use super::super::AppState;
use super::layout::{self, csrf, verdict};
use super::session::{Posted, Session};
use super::{Page, Result};
use crate::commands::backtest::{self, Options, Report, Scores};
use crate::policy::{parse_str, ConfigFile};
use crate::store::now_ms;
use axum::extract::State;
use maud::{html, Markup};
use serde::Deserialize;
use std::sync::Arc;

/// The largest candidate policy.
pub const MAX_CANDIDATE_BYTES: usize = 64 * 1024;
/// The largest form that carries one (form encoding can triple a text's size).
pub const MAX_FORM_BYTES: usize = 3 * MAX_CANDIDATE_BYTES + 1024;
/// Changed verdicts listed on the page; the counts cover them all.
const MAX_CHANGES_SHOWN: usize = 200;

fn in_force(state: &AppState) -> String {
    let file = ConfigFile {
        policy: state.signups.policy.clone(),
    };
    toml::to_string_pretty(&file).unwrap_or_else(|e| format!("# cannot render: {e}"))
}

fn form(session: &Session, candidate: &str, since: &str) -> Markup {
    html! {
        form.stack method="post" action="/console/policy/backtest" {
            (csrf(session))
            div.field {
                label for="candidate" { "Candidate policy (TOML, at most 64 KiB)" }
                textarea #candidate name="candidate" rows="16" spellcheck="false" required { (candidate) }
            }
            div.field {
                label for="candidate-file" { "…or load it from a file" }
                input #candidate-file type="file" accept=".toml,text/plain" data-fills="candidate";
            }
            div.field {
                label for="since" { "Replay attempts since" }
                input #since name="since" value=(since) maxlength="64" placeholder="30d, 24h or an RFC 3339 time";
            }
            div.actions { button type="submit" { "Run the backtest" } }
        }
    }
}

/// `GET /console/policy`.
pub async fn page(State(state): State<Arc<AppState>>, session: Session) -> Result<Page> {
    let current = in_force(&state);
    let body = html! {
        h1 { "Policy" }
        (in_force_section(&state, &current))
        h2 { "Backtest a candidate" }
        p { "Replays the recorded attempts (their snapshots, with no call to Fingerprint) under the candidate and compares with what was decided and with the analysts' labels. Nothing changes." }
        (form(&session, &current, "30d"))
    };
    Ok(Page(layout::page(
        &session,
        "/console/policy",
        "Policy",
        body,
    )))
}

fn in_force_section(state: &AppState, current: &str) -> Markup {
    html! {
        h2 { "In force" }
        p { "Hash " code { (state.signups.policy_hash) } @if state.signups.policy.shadow { " · " span.badge.warn { "shadow mode" } } }
        details {
            summary { "The policy as TOML" }
            pre.toml { (current) }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct BacktestForm {
    #[serde(default)]
    candidate: String,
    #[serde(default)]
    since: String,
}

/// `POST /console/policy/backtest`: read-only, but a form like the others (CSRF-checked),
/// since it costs a replay of the trail.
pub async fn backtest(
    State(state): State<Arc<AppState>>,
    posted: Posted<BacktestForm>,
) -> Result<Page> {
    let Posted {
        session,
        form: input,
    } = posted;
    let since_text = input.since.trim();
    let outcome = run(&state, &input.candidate, since_text).await;
    let body = html! {
        h1 { "Policy" }
        h2 { "Backtest" }
        @match &outcome {
            Err(why) => p.error role="alert" { (why) },
            Ok(report) => (report_view(report)),
        }
        h2 { "Try again" }
        (form(&session, &input.candidate, since_text))
        (in_force_section(&state, &in_force(&state)))
    };
    Ok(Page(layout::page(
        &session,
        "/console/policy",
        "Backtest",
        body,
    )))
}

async fn run(
    state: &AppState,
    candidate: &str,
    since: &str,
) -> std::result::Result<Report, String> {
    if candidate.len() > MAX_CANDIDATE_BYTES {
        return Err(format!(
            "the candidate is larger than {} KiB",
            MAX_CANDIDATE_BYTES / 1024
        ));
    }
    let policy =
        parse_str(candidate, std::path::Path::new("candidate.toml")).map_err(|e| e.to_string())?;
    if !policy.disposable_domains_file.trim().is_empty() {
        return Err("disposable_domains_file cannot be read from the console: backtest it with `signup-guard backtest`".into());
    }
    let since_ms = match since {
        "" => 0,
        text => crate::time::parse_since(text, now_ms()).map_err(|why| format!("since: {why}"))?,
    };
    let options = Options {
        labels: true,
        changed: true,
    };
    backtest::run(&state.store, &policy, since_ms, options)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "console backtest failed");
            "the backtest could not read the attempts; try again".to_owned()
        })
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

fn report_view(report: &Report) -> Markup {
    html! {
        p.summary {
            "Candidate " code { (report.policy_hash) } ": replayed " strong { (report.replayed) } " attempts ("
            (report.skipped) " without a snapshot skipped); " strong { (report.changed) } " verdicts would change."
        }
        @if !report.transitions.is_empty() {
            ul { @for (t, n) in &report.transitions { li { (t) ": " (n) } } }
        }
        @if let Some(scores) = &report.labels {
            h3 { "Against " (scores.labelled) " labelled attempts" }
            div.scroll {
                table.data.confusion {
                    caption { "Labelled attempts by verdict (block / review / allow)" }
                    thead { tr { th scope="col" { "Label" } th scope="col" { "As recorded" } th scope="col" { "Candidate" } } }
                    tbody {
                        @for (name, fraud) in [("fraud", true), ("legit", false)] {
                            tr { th scope="row" { (verdict(name)) } td { (row(&scores.recorded, fraud)) } td { (row(&scores.candidate, fraud)) } }
                        }
                    }
                }
                table.data {
                    thead { tr { th scope="col" { "Score" } th scope="col" { "As recorded" } th scope="col" { "Candidate" } } }
                    tbody {
                        tr { th scope="row" { "Block precision" } td.num { (pct(scores.recorded.block_precision)) } td.num { (pct(scores.candidate.block_precision)) } }
                        tr { th scope="row" { "Block recall" } td.num { (pct(scores.recorded.block_recall)) } td.num { (pct(scores.candidate.block_recall)) } }
                        tr { th scope="row" { "Block or review precision" } td.num { (pct(scores.recorded.flag_precision)) } td.num { (pct(scores.candidate.flag_precision)) } }
                        tr { th scope="row" { "Block or review recall" } td.num { (pct(scores.recorded.flag_recall)) } td.num { (pct(scores.candidate.flag_recall)) } }
                    }
                }
            }
        }
        @if let Some(changes) = &report.changes {
            h3 { "Changed verdicts" }
            @if changes.is_empty() { p.empty { "None." } }
            @else {
                @if changes.len() > MAX_CHANGES_SHOWN { p { "The first " (MAX_CHANGES_SHOWN) " of " (changes.len()) ":" } }
                div.scroll {
                    table.data.changes {
                        thead { tr { th scope="col" { "Attempt" } th scope="col" { "Event" } th scope="col" { "Recorded" } th scope="col" { "Candidate" } th scope="col" { "Label" } } }
                        tbody {
                            @for c in changes.iter().take(MAX_CHANGES_SHOWN) {
                                tr {
                                    td { a href={ "/console/attempts/" (c.id) } { (c.id) } }
                                    td.mono { (c.event_id.as_deref().unwrap_or("-")) }
                                    td { (verdict(&c.from)) }
                                    td { (verdict(&c.to)) }
                                    td { @match c.label { Some(l) => (verdict(l)), None => "-" } }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !report.rules.is_empty() {
            h3 { "Rules" }
            div.scroll {
                table.data {
                    thead { tr { th scope="col" { "Rule" } th scope="col" { "Fired as recorded" } th scope="col" { "Fires under candidate" } th scope="col" { "Changes it leads" } } }
                    tbody { @for (rule, r) in &report.rules { tr { td { code { (rule) } } td.num { (r.fired_before) } td.num { (r.fired_after) } td.num { (r.changes) } } } }
                }
            }
        }
    }
}

fn row(scores: &Scores, fraud: bool) -> String {
    let side = if fraud { &scores.fraud } else { &scores.legit };
    let n = |v: &str| side.get(v).copied().unwrap_or(0);
    format!("{} / {} / {}", n("block"), n("review"), n("allow"))
}
