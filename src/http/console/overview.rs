//! The overview: attempts over time by verdict, totals, the top rules, shadow mode and the
//! policy hash, for the last hour, day or week. The counts come from the database's tally of
//! attempts by minute, so the page's cost follows the minutes in range, not the attempts.

use super::super::AppState;
use super::chart;
use super::layout::{self, verdict};
use super::session::Session;
use super::{enc, when, Page, Result};
use crate::store::{now_ms, MINUTE_MS};
use axum::extract::{Query, State};
use maud::html;
use serde::Deserialize;
use std::sync::Arc;

/// (name, window, bucket) of each range. Buckets are whole minutes, the tally's unit.
const RANGES: [(&str, i64, i64); 3] = [
    ("hour", 3_600_000, 60_000),
    ("day", 86_400_000, 1_800_000),
    ("week", 604_800_000, 7_200_000),
];

const _: () = {
    let mut i = 0;
    while i < RANGES.len() {
        assert!(RANGES[i].2 % MINUTE_MS == 0);
        i += 1;
    }
};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OverviewQuery {
    range: String,
}

/// `GET /console`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    session: Session,
    Query(query): Query<OverviewQuery>,
) -> Result<Page> {
    let (range, window, bucket) = RANGES
        .iter()
        .copied()
        .find(|(name, _, _)| *name == query.range)
        .unwrap_or(RANGES[1]);
    let now = now_ms();
    // Buckets aligned to the bucket size, so a reload shows the same bars.
    let since = (now - window) / bucket * bucket + bucket;
    let buckets = (now - since) / bucket + 1;
    // Side by side, each on its own pool connection.
    let ((counts, codes), waiting, pending) = tokio::try_join!(
        state.store.overview_counts(since, bucket),
        state.store.reviews(101, None),
        state.store.pending_deliveries(),
    )?;
    let waiting = waiting.len();
    let by_verdict = |v: &str| -> i64 {
        counts
            .iter()
            .filter(|c| c.verdict == v)
            .map(|c| c.count)
            .sum()
    };
    let total: i64 = counts.iter().map(|c| c.count).sum();
    let policy = &state.signups.policy;
    let body = html! {
        h1 { "Overview" }
        nav.tabs aria-label="Time range" {
            @for (name, _, _) in RANGES {
                a href={ "/console?range=" (name) } aria-current=[(name == range).then_some("page")] { "Last " (name) }
            }
        }
        div.tiles {
            div.tile { span.n { (total) } span { "attempts, last " (range) } }
            @for (v, _) in chart::SERIES {
                a.tile href={ "/console/attempts?verdict=" (v) "&since=" (enc(&format!("{}h", window / 3_600_000))) } {
                    span.n { (by_verdict(v)) } span { (verdict(v)) }
                }
            }
            a.tile href="/console/reviews" { span.n { @if waiting > 100 { "100+" } @else { (waiting) } } span { "in the review queue" } }
            a.tile href="/console/deliveries" { span.n { (pending) } span { "webhook deliveries pending" } }
        }
        h2 { "Attempts by verdict, last " (range) }
        (chart::stacked(&counts, buckets, |i| when(since + i * bucket)))
        div.columns {
            section {
                h2 { "Top rules fired" }
                @if codes.is_empty() { p.empty { "No rule fired in this range." } }
                @else {
                    table.data {
                        thead { tr { th scope="col" { "Rule" } th scope="col" { "Attempts" } } }
                        tbody {
                            @for (code, n) in codes.iter().take(10) {
                                tr {
                                    td { a href={ "/console/attempts?code=" (enc(code)) } { code { (code) } } }
                                    td.num { (n) }
                                }
                            }
                        }
                    }
                }
            }
            section {
                h2 { "Policy in force" }
                dl.facts {
                    dt { "Hash" } dd.mono { (state.signups.policy_hash) }
                    dt { "Shadow mode" } dd {
                        @if policy.shadow { span.badge.warn { "on" } " every verdict is allow; the rules' verdicts are recorded" }
                        @else { span.badge.ok { "off" } " verdicts apply" }
                    }
                    dt { "Accounts per device" } dd { (policy.accounts_per_device) }
                }
                p { a href="/console/policy" { "See the policy and backtest a candidate" } }
            }
        }
    };
    Ok(Page(layout::page(&session, "/console", "Overview", body)))
}
