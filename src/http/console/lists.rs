//! The allow, review and block lists: add, expire now, remove, through the admin API's calls.

use super::super::lists::{add_entry, remove_entry, NewEntryBody};
use super::super::{ApiError, AppState};
use super::layout::{self, csrf, verdict};
use super::session::{Posted, Session};
use super::{see_other, when, ConsoleError, Page, Result};
use crate::lists::ListKind;
use crate::store::now_ms;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use std::sync::Arc;

const PAGE: i64 = 50;
const KINDS: [&str; 4] = ["visitor_id", "ip", "email_domain", "email"];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListsQuery {
    kind: String,
    before: Option<i64>,
    done: String,
    /// Prefills the add form (from a device page).
    value: String,
}

/// `GET /console/lists`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    session: Session,
    Query(query): Query<ListsQuery>,
) -> Result<Page> {
    let kind = ListKind::parse(query.kind.trim()).map(ListKind::as_str);
    let rows = state
        .store
        .list_entries(kind, None, PAGE, query.before)
        .await?;
    let next = (rows.len() as i64 == PAGE)
        .then(|| rows.last().map(|e| e.id))
        .flatten();
    let now = now_ms();
    let body = html! {
        (layout::notice(Some(query.done.as_str())))
        h1 { "Lists" }
        section aria-labelledby="add-title" {
            h2 #add-title { "Add an entry" }
            form.grid method="post" action="/console/lists" {
                (csrf(&session))
                div.field {
                    label for="l-kind" { "Kind" }
                    select #l-kind name="kind" {
                        @for k in KINDS { option value=(k) selected[kind == Some(k)] { (k) } }
                    }
                }
                div.field {
                    label for="l-value" { "Value" }
                    input #l-value name="value" required maxlength="320" value=(query.value) placeholder="visitor id, IP or CIDR, domain, address";
                }
                div.field {
                    label for="l-action" { "Action" }
                    select #l-action name="action" {
                        option value="block" { "block" } option value="review" { "review" } option value="allow" { "allow" }
                    }
                }
                div.field {
                    label for="l-reason" { "Reason" }
                    input #l-reason name="reason" required maxlength="500";
                }
                div.field {
                    label for="l-expires" { "Expires (optional)" }
                    input #l-expires name="expires" placeholder="30d, 12h or an RFC 3339 time" maxlength="64";
                }
                div.actions { button type="submit" { "Add entry" } }
            }
        }
        h2 { "Entries" }
        nav.tabs aria-label="Kind" {
            a href="/console/lists" aria-current=[kind.is_none().then_some("page")] { "all" }
            @for k in KINDS { a href={ "/console/lists?kind=" (k) } aria-current=[(kind == Some(k)).then_some("page")] { (k) } }
        }
        @if rows.is_empty() { p.empty { "No entries." } }
        ul.cards {
            @for e in &rows {
                @let live = e.expires_at.is_none_or(|t| t > now);
                li.card id={ "entry-" (e.id) } {
                    h3 { (verdict(e.action.as_str())) " " (e.kind) " " span.mono { (e.value) } }
                    p.meta {
                        "#" (e.id) " by " (e.created_by) ", " (when(e.created_at)) ": " (e.reason) " · "
                        @match e.expires_at {
                            None => "never expires",
                            Some(t) if t > now => { "expires " (when(t)) },
                            Some(t) => { strong { "expired " (when(t)) } },
                        }
                    }
                    form.inline method="post" aria-label={ "Change entry " (e.id) } {
                        (csrf(&session))
                        div.field {
                            label for={ "why-" (e.id) } { "Reason" }
                            input id={ "why-" (e.id) } name="reason" required maxlength="500";
                        }
                        div.actions {
                            @if live { button type="submit" formaction={ "/console/lists/" (e.id) "/expire" } { "Expire now" } }
                            button.bad type="submit" formaction={ "/console/lists/" (e.id) "/remove" } { "Remove" }
                        }
                    }
                }
            }
        }
        @if let Some(next) = next {
            nav.pager aria-label="Pages" { a href={ "/console/lists?kind=" (query.kind) "&before=" (next) } rel="next" { "Older →" } }
        }
    };
    Ok(Page(layout::page(
        &session,
        "/console/lists",
        "Lists",
        body,
    )))
}

#[derive(Debug, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    expires: String,
}

/// `POST /console/lists`.
pub async fn add(State(state): State<Arc<AppState>>, posted: Posted<AddForm>) -> Result<Response> {
    let Posted { session, form } = posted;
    let expires = form.expires.trim();
    let body = NewEntryBody {
        kind: form.kind,
        value: form.value,
        action: form.action,
        reason: form.reason,
        expires_at: (!expires.is_empty()).then(|| expires.to_owned()),
    };
    add_entry(&state, &session.analyst, body).await?;
    Ok(see_other("/console/lists?done=added"))
}

#[derive(Debug, Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    reason: String,
}

/// `POST /console/lists/{id}/expire`: it stops applying now and stays listed, as history.
pub async fn expire(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    posted: Posted<ReasonForm>,
) -> Result<Response> {
    let Posted { session, form } = posted;
    let reason = super::super::reviews::reason(&form.reason)?;
    let expired = state
        .store
        .expire_list_entry(id, &session.analyst.0, &reason, now_ms())
        .await?;
    if !expired {
        return Err(ConsoleError::BadRequest(
            "that entry is gone or already expired".into(),
        ));
    }
    tracing::info!(analyst = %session.analyst.0, entry = id, "list entry expired");
    if let Err(error) = state.signups.lists.reload(&state.store).await {
        tracing::warn!(%error, "cannot reload the lists after a change");
    }
    Ok(see_other("/console/lists?done=expired"))
}

/// `POST /console/lists/{id}/remove`.
pub async fn remove(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    posted: Posted<ReasonForm>,
) -> Result<Response> {
    let Posted { session, form } = posted;
    remove_entry(&state, &session.analyst, id, Some(form.reason.as_str()))
        .await
        .map_err(|e| match e {
            ApiError::InvalidRequest(_) => ApiError::InvalidRequest("a reason is required".into()),
            other => other,
        })?;
    Ok(see_other("/console/lists?done=removed"))
}
