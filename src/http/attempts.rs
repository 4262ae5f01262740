//! `GET /api/attempts` (admin): the audit trail with its reasons.

use super::query::{plain_text, Page};
use super::{ApiError, AppState, Result};
use crate::policy::Snapshot;
use crate::store::{now_ms, AttemptFilter, AttemptRow};
use crate::time::rfc3339;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// `?verdict=block&code=vpn_detected&visitorId=<id>&since=24h&limit=50&before=<id>`; any other
/// parameter is refused, so a typo is not silently ignored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttemptsQuery {
    verdict: Option<String>,
    code: Option<String>,
    // Not a flattened page: serde reads no numbers from a query string through `flatten`,
    // and `deny_unknown_fields` does not work with it.
    limit: Option<i64>,
    before: Option<i64>,
    #[serde(rename = "visitorId")]
    visitor_id: Option<String>,
    /// RFC 3339 time or an age such as `24h`.
    since: Option<String>,
}

/// One recorded attempt.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptView {
    id: i64,
    event_id: Option<String>,
    visitor_id: Option<String>,
    ip: Option<String>,
    username: Option<String>,
    verdict: String,
    code: String,
    codes: Vec<String>,
    signals: Option<Snapshot>,
    policy_hash: Option<String>,
    shadow: bool,
    account_id: Option<i64>,
    created_at: String,
}

/// A page of attempts.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptsPage {
    attempts: Vec<AttemptView>,
    /// Pass as `before` for the next page; `null` on the last one.
    next_before: Option<i64>,
}

impl From<AttemptRow> for AttemptView {
    fn from(r: AttemptRow) -> Self {
        Self {
            id: r.id,
            event_id: r.event_id,
            visitor_id: r.visitor_id,
            ip: r.ip,
            username: r.username,
            verdict: r.verdict,
            code: r.code,
            codes: r.codes,
            signals: r.signals,
            policy_hash: r.policy_hash,
            shadow: r.shadow,
            account_id: r.account_id,
            created_at: rfc3339(r.created_at),
        }
    }
}

const VERDICTS: [&str; 4] = ["allow", "review", "block", "error"];

/// Newest first.
pub async fn list(
    State(state): State<Arc<AppState>>,
    query: Result<Query<AttemptsQuery>, QueryRejection>,
) -> Result<Json<AttemptsPage>> {
    let Query(query) = query.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    if let Some(verdict) = &query.verdict {
        if !VERDICTS.contains(&verdict.as_str()) {
            return Err(ApiError::InvalidRequest(
                "verdict must be allow, review, block or error".into(),
            ));
        }
    }
    for (name, value) in [
        ("verdict", &query.verdict),
        ("code", &query.code),
        ("visitorId", &query.visitor_id),
        ("since", &query.since),
    ] {
        plain_text(name, value.as_deref())?;
    }
    let page = Page::new(query.limit, query.before)?;
    let since_ms = match query.since.as_deref() {
        Some(since) => Some(
            crate::time::parse_since(since, now_ms())
                .map_err(|why| ApiError::InvalidRequest(format!("since: {why}")))?,
        ),
        None => None,
    };
    let filter = AttemptFilter {
        verdict: query.verdict,
        code: query.code.filter(|c| !c.is_empty()),
        since_ms,
        before: page.before,
        visitor_id: query.visitor_id.filter(|v| !v.is_empty()),
    };
    let rows = state.store.list_attempts(&filter, page.limit).await?;
    let next_before = page.next_before(rows.last().map(|r| r.id), rows.len());
    let attempts = rows.into_iter().map(AttemptView::from).collect();
    Ok(Json(AttemptsPage {
        attempts,
        next_before,
    }))
}
