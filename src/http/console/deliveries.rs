//! Decision-webhook deliveries not yet accepted: pending (being retried) and failed (given up);
//! and, below them, the fraud labels not yet reported to Fingerprint.

use super::super::AppState;
use super::layout::{self, verdict};
use super::session::Session;
use super::{when, Page, Result};
use crate::store::DeliveryStatus;
use axum::extract::{Query, State};
use maud::html;
use serde::Deserialize;
use std::sync::Arc;

const PAGE: i64 = 50;
/// The label reports shown: the outbox's newest; a longer backlog is an outage to alert on.
const REPORTS: i64 = 50;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeliveriesQuery {
    status: String,
    before: Option<i64>,
}

/// `GET /console/deliveries`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    session: Session,
    Query(query): Query<DeliveriesQuery>,
) -> Result<Page> {
    let status = DeliveryStatus::parse(query.status.trim()).filter(|s| s.as_str() != "delivered");
    let rows = state
        .store
        .list_deliveries(status, PAGE, query.before)
        .await?;
    let next = (rows.len() as i64 == PAGE)
        .then(|| rows.last().map(|d| d.attempt.id))
        .flatten();
    let current = status.map(DeliveryStatus::as_str).unwrap_or("");
    let reports = state.store.unsent_label_reports(REPORTS).await?;
    let body = html! {
        h1 { "Webhook deliveries" }
        p { "Decisions announced to your decision webhook and not yet accepted by it: pending ones are retried with back-off; failed ones were given up after the retry window." }
        nav.tabs aria-label="Status" {
            a href="/console/deliveries" aria-current=[(current.is_empty()).then_some("page")] { "pending and failed" }
            a href="/console/deliveries?status=pending" aria-current=[(current == "pending").then_some("page")] { "pending" }
            a href="/console/deliveries?status=failed" aria-current=[(current == "failed").then_some("page")] { "failed" }
        }
        @if rows.is_empty() { p.empty { "Nothing waiting: every delivery was accepted." } }
        @else {
            div.scroll {
                table.data {
                    thead { tr {
                        th scope="col" { "Delivery" } th scope="col" { "Status" } th scope="col" { "Tries" }
                        th scope="col" { "Next try" } th scope="col" { "Last error" } th scope="col" { "Attempt" }
                    } }
                    tbody {
                        @for d in &rows {
                            tr {
                                td.mono { (d.id) }
                                td { (verdict(&d.status)) }
                                td.num { (d.tries) }
                                td.nowrap { @if d.status == "pending" { (when(d.next_at)) } @else { "-" } }
                                td { (d.last_error.as_deref().unwrap_or("-")) }
                                td { a href={ "/console/attempts/" (d.attempt.id) } { (d.attempt.id) } " " (verdict(&d.attempt.verdict)) }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(next) = next {
            nav.pager aria-label="Pages" { a href={ "/console/deliveries?status=" (current) "&before=" (next) } rel="next" { "Older →" } }
        }
        h2 id="label-reports" { "Fraud labels for Fingerprint" }
        @if !state.report_labels && reports.is_empty() {
            p { "Off: set " code { "FINGERPRINT_REPORT_LABELS=true" } " to report fraud labels to Fingerprint (Server API v4), which tunes its Suspect Score with them." }
        } @else if reports.is_empty() {
            p.empty { "Nothing waiting: every fraud label was reported." }
        } @else {
            p { "Fraud labels not yet accepted by Fingerprint, newest first (at most " (REPORTS) "): pending ones are retried with back-off; failed ones were given up." }
            div.scroll {
                table.data aria-labelledby="label-reports" {
                    thead { tr {
                        th scope="col" { "Event" } th scope="col" { "Status" } th scope="col" { "Tries" }
                        th scope="col" { "Next try" } th scope="col" { "Last error" } th scope="col" { "Labelled" }
                    } }
                    tbody {
                        @for r in &reports {
                            tr {
                                td.mono { a href={ "/console/attempts?" (serde_urlencoded::to_string([("event", &r.event_id)]).unwrap_or_default()) } { (r.event_id) } }
                                td { (verdict(&r.status)) }
                                td.num { (r.tries) }
                                td.nowrap { @if r.status == "pending" { (when(r.next_at)) } @else { "-" } }
                                td { (r.last_error.as_deref().unwrap_or("-")) }
                                td.nowrap { (when(r.created_at)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(Page(layout::page(
        &session,
        "/console/deliveries",
        "Deliveries",
        body,
    )))
}
