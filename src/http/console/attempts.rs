//! The attempts: a filtered list (keyset pages, like `GET /api/attempts`), and one attempt's
//! explanation from its recorded snapshot, its label history and the label buttons.

use super::super::{reviews as api_reviews, AppState};
use super::layout::{self, verdict};
use super::session::{Posted, Session};
use super::{count, enc, see_other, when, ConsoleError, Page, Result};
use crate::store::{now_ms, AttemptFilter, AttemptRow, SEARCH_SCAN};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;
use std::sync::Arc;

const PAGE: i64 = 50;
const MAX_FILTER_CHARS: usize = 256;

/// The filter form's fields; empty means any.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Filters {
    verdict: String,
    code: String,
    visitor: String,
    ip: String,
    username: String,
    event: String,
    since: String,
    until: String,
    before: String,
}

impl Filters {
    /// The query string of these filters (without the cursor), for the next page's link.
    fn query(&self) -> String {
        [
            ("verdict", &self.verdict),
            ("code", &self.code),
            ("visitor", &self.visitor),
            ("ip", &self.ip),
            ("username", &self.username),
            ("event", &self.event),
            ("since", &self.since),
            ("until", &self.until),
        ]
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", enc(v.trim())))
        .collect::<Vec<_>>()
        .join("&")
    }

    fn to_store(&self) -> std::result::Result<AttemptFilter, String> {
        let text = |name: &str, v: &str| -> std::result::Result<Option<String>, String> {
            let v = v.trim();
            if v.chars().count() > MAX_FILTER_CHARS || v.chars().any(char::is_control) {
                return Err(format!(
                    "{name}: at most {MAX_FILTER_CHARS} plain characters"
                ));
            }
            Ok((!v.is_empty()).then(|| v.to_owned()))
        };
        let verdict = text("verdict", &self.verdict)?;
        if let Some(v) = &verdict {
            if !["allow", "review", "block", "error"].contains(&v.as_str()) {
                return Err("verdict must be allow, review, block or error".into());
            }
        }
        let code = text("code", &self.code)?.map(|c| c.to_lowercase());
        if let Some(c) = &code {
            if !super::super::attempts::known_codes().contains(&c.as_str()) {
                return Err(format!("{c:?} is not a code an attempt can carry"));
            }
        }
        let time = |name: &str, v: &str| -> std::result::Result<Option<i64>, String> {
            match text(name, v)? {
                None => Ok(None),
                Some(v) => crate::time::parse_since(&v, now_ms())
                    .map(Some)
                    .map_err(|why| format!("{name}: {why}")),
            }
        };
        let before = match self.before.trim() {
            "" => None,
            v => Some(
                v.parse::<i64>()
                    .map_err(|_| "before must be an attempt id")?,
            ),
        };
        Ok(AttemptFilter {
            verdict,
            code,
            since_ms: time("since", &self.since)?,
            until_ms: time("until", &self.until)?,
            before,
            visitor_id: text("visitor", &self.visitor)?,
            ip: text("ip", &self.ip)?,
            username: text("username", &self.username)?,
            event_id: text("event", &self.event)?,
        })
    }
}

/// `GET /console/attempts`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    session: Session,
    Query(filters): Query<Filters>,
) -> Result<Page> {
    let (rows, next, error) = match filters.to_store() {
        Ok(filter) => {
            let page = state
                .store
                .attempts_page(&filter, PAGE, Some(SEARCH_SCAN))
                .await?;
            (page.attempts, page.next_before, None)
        }
        Err(why) => (Vec::new(), None, Some(why)),
    };
    // A verdict or code search stops after SEARCH_SCAN attempts; say so, or an empty page
    // would read as "none at all".
    let searched_to = next.filter(|_| (rows.len() as i64) < PAGE);
    let codes = super::super::attempts::known_codes();
    let body = html! {
        h1 { "Attempts" }
        form.filters method="get" action="/console/attempts" aria-label="Filter attempts" {
            div.field {
                label for="f-verdict" { "Verdict" }
                select #f-verdict name="verdict" {
                    option value="" { "any" }
                    @for v in ["allow", "review", "block", "error"] {
                        option value=(v) selected[filters.verdict == v] { (v) }
                    }
                }
            }
            div.field {
                label for="f-code" { "Code" }
                input #f-code name="code" list="codes" value=(filters.code) placeholder="vpn_detected";
                datalist #codes { @for c in &codes { option value=(c) {} } }
            }
            (field("f-visitor", "visitor", "Visitor id", &filters.visitor, ""))
            (field("f-ip", "ip", "IP", &filters.ip, ""))
            (field("f-username", "username", "Username", &filters.username, ""))
            (field("f-event", "event", "Event id", &filters.event, ""))
            (field("f-since", "since", "Since", &filters.since, "24h or 2026-01-31T00:00:00Z"))
            (field("f-until", "until", "Until", &filters.until, "1h or an RFC 3339 time"))
            div.actions {
                button type="submit" { "Filter" }
                a href="/console/attempts" { "Clear" }
            }
        }
        @if let Some(error) = &error { p.error role="alert" { (error) } }
        @if let Some(id) = searched_to {
            p.meta role="status" {
                "A verdict or code search reads at most " (count(SEARCH_SCAN)) " attempts a page: "
                "it read back to #" (id) " and found " (rows.len()) ". Older → goes on from there."
            }
        }
        (table(&rows))
        nav.pager aria-label="Pages" {
            @if !filters.before.is_empty() { a href={ "/console/attempts?" (filters.query()) } { "Newest" } }
            @if let Some(next) = next {
                a href={ "/console/attempts?" (filters.query()) "&before=" (next) } rel="next" { "Older →" }
            }
        }
    };
    Ok(Page(layout::page(
        &session,
        "/console/attempts",
        "Attempts",
        body,
    )))
}

fn field(id: &str, name: &str, label: &str, value: &str, hint: &str) -> Markup {
    html! {
        div.field {
            label for=(id) { (label) }
            input id=(id) name=(name) value=(value) placeholder=(hint) maxlength="256";
        }
    }
}

/// Attempts as a table, newest first; shared with the device page.
pub fn table(rows: &[AttemptRow]) -> Markup {
    html! {
        @if rows.is_empty() {
            p.empty { "No attempts match." }
        } @else {
            div.scroll {
                table.data {
                    thead { tr {
                        th scope="col" { "#" } th scope="col" { "Time" } th scope="col" { "Verdict" }
                        th scope="col" { "Rules fired" } th scope="col" { "Username" }
                        th scope="col" { "Visitor" } th scope="col" { "IP" }
                    } }
                    tbody {
                        @for r in rows {
                            tr {
                                td { a href={ "/console/attempts/" (r.id) } aria-label={ "Explain attempt " (r.id) } { (r.id) } }
                                td.nowrap { (when(r.created_at)) }
                                td { (verdict(&r.verdict)) @if r.shadow { " " span.badge.muted { "shadow" } } }
                                td.codes { @if r.codes.is_empty() { span.muted { (r.code) } } @else { (r.codes.join(", ")) } }
                                td { (r.username.as_deref().or(r.account_ref.as_deref()).unwrap_or("-")) }
                                td.mono { @match &r.visitor_id {
                                    Some(v) => a href={ "/console/devices/" (enc(v)) } { (v) },
                                    None => "-",
                                } }
                                td.mono { (r.ip.as_deref().unwrap_or("-")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DetailQuery {
    done: String,
}

/// `GET /console/attempts/{id}`: the explanation, as `explain` gives it from the snapshot.
pub async fn detail(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path(id): Path<i64>,
    Query(query): Query<DetailQuery>,
) -> Result<Page> {
    let attempt = state
        .store
        .attempt(id)
        .await?
        .ok_or(ConsoleError::NotFound)?;
    let labels = state.store.attempt_labels(id).await?;
    let policy = &state.signups.policy;
    let decision = attempt.signals.as_ref().map(|s| s.evaluate(policy));
    let same_policy = attempt.policy_hash.as_deref() == Some(state.signups.policy_hash.as_str());
    let body = html! {
        (layout::notice(Some(query.done.as_str())))
        h1 { "Attempt " (attempt.id) }
        dl.facts {
            dt { "Recorded verdict" } dd { (verdict(&attempt.verdict)) " answered " code { (attempt.code) } @if attempt.shadow { " (shadow mode)" } }
            dt { "Rules fired" } dd { @if attempt.codes.is_empty() { "none" } @else { (attempt.codes.join(", ")) } }
            dt { "Time" } dd { (when(attempt.created_at)) }
            dt { "Event" } dd.mono { (attempt.event_id.as_deref().unwrap_or("-")) }
            dt { "Visitor" } dd.mono { @match &attempt.visitor_id {
                Some(v) => a href={ "/console/devices/" (enc(v)) } { (v) },
                None => "-",
            } }
            dt { "IP" } dd.mono { (attempt.ip.as_deref().unwrap_or("-")) }
            dt { "Username" } dd { (attempt.username.as_deref().or(attempt.account_ref.as_deref()).unwrap_or("-")) }
            dt { "Account" } dd { (attempt.account_id.map(|a| a.to_string()).unwrap_or("-".into())) }
            dt { "Endpoint" } dd { (attempt.endpoint) }
            dt { "Policy then" } dd.mono { (attempt.policy_hash.as_deref().unwrap_or("-")) }
        }
        h2 { "Explanation" }
        @match &decision {
            None => p.empty { "No snapshot was recorded (the attempt was refused before an event was read), so there is nothing to replay." },
            Some(decision) => {
                p {
                    "Every rule under the policy in force (" code { (state.signups.policy_hash) } "), replayed on the recorded event and request, with no call to Fingerprint. "
                    @if same_policy { "This is the policy that decided." } @else { "The attempt was decided by another policy version, so the replay may differ from the record." }
                }
                p.verdict-line {
                    "Verdict: " (verdict(decision.verdict.as_str()))
                    @if decision.shadow { " (shadow mode: would be " (verdict(decision.would_be.as_str())) ")" }
                    @if let Some(first) = decision.primary() { " · first reason " code { (first.code) } }
                }
                div.scroll {
                    table.data.explain {
                        thead { tr { th scope="col" { "Rule" } th scope="col" { "Outcome" } th scope="col" { "Action" } th scope="col" { "Input" } } }
                        tbody {
                            @for check in &decision.checks {
                                @let outcome = serde_json::to_value(check.outcome).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
                                tr class={ "outcome-" (outcome) } {
                                    td { code { (check.rule) } }
                                    td { @if outcome == "fired" { strong { "fired" } } @else { (outcome) } }
                                    td { (check.action.as_str()) }
                                    td { (check.input) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Labels" }
        @if labels.is_empty() {
            p.empty { "Not labelled yet." }
        } @else {
            ol.labels {
                @for l in &labels {
                    li { (verdict(&l.label)) " by " strong { (l.actor) } ", " (when(l.created_at)) ": " (l.reason) }
                }
            }
        }
        form.inline method="post" action={ "/console/attempts/" (attempt.id) "/label" } aria-label="Label this attempt" {
            (layout::csrf(&session))
            div.field {
                label for="label-reason" { "Reason" }
                input #label-reason name="reason" required maxlength="500" placeholder="why";
            }
            div.actions {
                button.bad type="submit" name="label" value="fraud" { "Label fraud" }
                button.ok type="submit" name="label" value="legit" { "Label legit" }
            }
        }
    };
    Ok(Page(layout::page(
        &session,
        "/console/attempts",
        &format!("Attempt {id}"),
        body,
    )))
}

#[derive(Debug, Deserialize)]
pub struct LabelForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    reason: String,
}

/// `POST /console/attempts/{id}/label`: through the admin API's labelling.
pub async fn label(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    posted: Posted<LabelForm>,
) -> Result<Response> {
    let Posted { session, form } = posted;
    api_reviews::label_attempt(&state, &session.analyst, id, &form.label, &form.reason).await?;
    Ok(see_other(&format!("/console/attempts/{id}?done=labelled")))
}
