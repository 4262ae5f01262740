//! The review queue, oldest first: approve or ban with a reason, optionally deny-listing the
//! device, through the same calls as `POST /api/accounts/{id}/approve|ban`.

use super::super::{reviews as api_reviews, AppState};
use super::layout::{self, csrf};
use super::session::{Posted, Session};
use super::{enc, see_other, when, ConsoleError, Page, Result};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use std::sync::Arc;

const PAGE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QueueQuery {
    after: Option<i64>,
    done: String,
}

/// `GET /console/reviews`.
pub async fn queue(
    State(state): State<Arc<AppState>>,
    session: Session,
    Query(query): Query<QueueQuery>,
) -> Result<Page> {
    let rows = state.store.reviews(PAGE, query.after).await?;
    let next = (rows.len() as i64 == PAGE)
        .then(|| rows.last().map(|r| r.account.id))
        .flatten();
    let body = html! {
        (layout::notice(Some(query.done.as_str())))
        h1 { "Review queue" }
        p { "Accounts created but held for an analyst, oldest first. Approving labels the attempt legit; banning labels it fraud." }
        @if rows.is_empty() {
            p.empty { "The queue is empty." }
        }
        ul.cards {
            @for r in &rows {
                @let name = r.account.username.as_deref().or(r.account.account_ref.as_deref()).unwrap_or("-");
                li.card id={ "account-" (r.account.id) } {
                    h2 { "Account " (r.account.id) ": " (name) }
                    p.meta {
                        "Created " (when(r.account.created_at)) " from device "
                        a.mono href={ "/console/devices/" (enc(&r.account.visitor_id)) } { (r.account.visitor_id) }
                        @if let Some(attempt) = r.attempt_id { " · " a href={ "/console/attempts/" (attempt) } { "explain attempt " (attempt) } }
                    }
                    p { "Held by: " @if r.codes.is_empty() { "-" } @else { strong { (r.codes.join(", ")) } } }
                    form method="post" action={ "/console/reviews/" (r.account.id) } aria-label={ "Resolve account " (r.account.id) } {
                        (csrf(&session))
                        div.field {
                            label for={ "reason-" (r.account.id) } { "Reason" }
                            input id={ "reason-" (r.account.id) } name="reason" required maxlength="500";
                        }
                        div.check {
                            input type="checkbox" id={ "deny-" (r.account.id) } name="denylist" value="on";
                            label for={ "deny-" (r.account.id) } { "When banning, also deny-list the device" }
                        }
                        div.actions {
                            button.ok type="submit" name="action" value="approve" { "Approve" }
                            button.bad type="submit" name="action" value="ban" { "Ban" }
                        }
                    }
                }
            }
        }
        @if let Some(next) = next {
            nav.pager aria-label="Pages" { a href={ "/console/reviews?after=" (next) } rel="next" { "Next →" } }
        }
    };
    Ok(Page(layout::page(
        &session,
        "/console/reviews",
        "Review queue",
        body,
    )))
}

#[derive(Debug, Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    denylist: Option<String>,
}

/// `POST /console/reviews/{id}`: approve or ban.
pub async fn resolve(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    posted: Posted<ResolveForm>,
) -> Result<Response> {
    let Posted { session, form } = posted;
    let analyst = &session.analyst;
    let done = match form.action.as_str() {
        "approve" => {
            api_reviews::approve_account(&state, analyst, id, &form.reason).await?;
            "approved"
        }
        "ban" => {
            let deny = form.denylist.is_some();
            api_reviews::ban_account(&state, analyst, id, &form.reason, deny).await?;
            if deny {
                "banned_denylisted"
            } else {
                "banned"
            }
        }
        _ => return Err(ConsoleError::BadRequest("choose approve or ban".into())),
    };
    Ok(see_other(&format!("/console/reviews?done={done}")))
}
