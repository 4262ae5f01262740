//! One device: its accounts, attempts and list entries, and the identities linked to it
//! through the high-recall id of its recorded events or through the IPs it used.

use super::super::AppState;
use super::layout::{self, verdict};
use super::session::Session;
use super::{count, enc, when, Page, Result};
use crate::store::{now_ms, AttemptFilter};
use axum::extract::{Path, State};
use maud::html;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Links by IP look this far back.
const IP_WINDOW_MS: i64 = 7 * 24 * 3600 * 1000;
/// Links by IP count this many of the latest attempts from each IP: a flood from one address
/// would otherwise make the page read all of its attempts.
const IP_SCAN: i64 = 5000;
/// Links by high-recall id search this many of the latest attempts.
const HIGH_RECALL_SCAN: i64 = 5000;

/// `GET /console/devices/{visitor_id}`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path(visitor_id): Path<String>,
) -> Result<Page> {
    if visitor_id.len() > 256 || visitor_id.chars().any(char::is_control) {
        return Err(super::ConsoleError::NotFound);
    }
    let store = &state.store;
    let accounts = store.device_accounts_list(&visitor_id, 50).await?;
    let filter = AttemptFilter {
        visitor_id: Some(visitor_id.clone()),
        ..AttemptFilter::default()
    };
    let attempts = store.list_attempts(&filter, 50).await?;
    let entries = store
        .list_entries(Some("visitor_id"), Some(&visitor_id), 50, None)
        .await?;
    let ips: BTreeSet<String> = attempts
        .iter()
        .filter_map(|a| a.ip.clone())
        .take(10)
        .collect();
    let ips: Vec<String> = ips.into_iter().collect();
    let by_ip = store
        .ip_neighbours(&ips, &visitor_id, now_ms() - IP_WINDOW_MS, IP_SCAN, 20)
        .await?;
    let high_recall: BTreeSet<String> = attempts
        .iter()
        .filter_map(|a| a.signals.as_ref()?.event.high_recall_visitor_id.clone())
        .filter(|h| *h != visitor_id)
        .collect();
    let mut by_high_recall = Vec::new();
    for id in high_recall.iter().take(5) {
        for other in store
            .high_recall_neighbours(id, &visitor_id, HIGH_RECALL_SCAN)
            .await?
        {
            by_high_recall.push((id.clone(), other));
        }
    }
    let now = now_ms();
    let body = html! {
        h1 { "Device " span.mono { (visitor_id) } }
        p.actions {
            a.button href={ "/console/lists?kind=visitor_id&value=" (enc(&visitor_id)) } { "Add a list entry for this device" }
            " "
            a href={ "/console/attempts?visitor=" (enc(&visitor_id)) } { "All its attempts" }
        }
        h2 { "List entries" }
        @if entries.is_empty() { p.empty { "None." } }
        ul {
            @for e in &entries {
                li {
                    (verdict(e.action.as_str())) " #" (e.id) " by " (e.created_by) ": " (e.reason)
                    @if e.expires_at.is_some_and(|t| t <= now) { " (expired)" }
                }
            }
        }
        h2 { "Accounts" }
        @if accounts.is_empty() { p.empty { "None." } }
        ul {
            @for a in &accounts {
                li {
                    "#" (a.id) " " (a.username.as_deref().or(a.account_ref.as_deref()).unwrap_or("-")) " "
                    (verdict(&a.status)) " created " (when(a.created_at))
                }
            }
        }
        h2 { "Linked identities" }
        h3 { "Same high-recall id" }
        @if high_recall.is_empty() {
            p.empty { "Its recorded events name no other high-recall id." }
        } @else {
            p { "High-recall ids of its events: " @for h in &high_recall { code { (h) } " " } }
            @if by_high_recall.is_empty() {
                p.empty { "No other device among the latest " (count(HIGH_RECALL_SCAN)) " attempts shares them." }
            }
            ul {
                @for (h, other) in &by_high_recall {
                    li { a.mono href={ "/console/devices/" (enc(other)) } { (other) } " via " code { (h) } }
                }
            }
        }
        h3 { "Same IP in the last 7 days" }
        @if by_ip.is_empty() {
            p.empty { "No other device among the latest " (count(IP_SCAN)) " attempts from each of its IPs." }
        } @else {
            p { "Among the latest " (count(IP_SCAN)) " attempts from each of its IPs:" }
        }
        ul {
            @for n in &by_ip {
                li { a.mono href={ "/console/devices/" (enc(&n.visitor_id)) } { (n.visitor_id) } " from " span.mono { (n.ip) } ": " (n.attempts) " attempts" }
            }
        }
        h2 { "Latest attempts" }
        (super::attempts::table(&attempts))
    };
    Ok(Page(layout::page(
        &session,
        "/console/attempts",
        "Device",
        body,
    )))
}
