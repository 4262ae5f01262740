//! `GET /api/attempts` (admin): the audit trail with its reasons.

use super::error_answers::{BadRequest, InternalError, NotFound, Unauthorized, Unavailable};
use super::query::{plain_text, Page};
use super::{ApiError, AppState, Result};
use crate::policy::Snapshot;
use crate::store::{now_ms, AttemptFilter, AttemptRow, SEARCH_SCAN};
use crate::time::rfc3339;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// `?verdict=block&code=vpn_detected&visitorId=<id>&since=24h&limit=50&before=<id>`; any other
/// parameter is refused, so a typo is not silently ignored.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AttemptsQuery {
    /// Only attempts with this verdict: one of [`VERDICTS`].
    #[param(pattern = "^(allow|review|block|error)$")]
    verdict: Option<String>,
    /// Only attempts where this rule fired (any case), such as `vpn_detected`.
    #[param(max_length = 256)]
    code: Option<String>,
    // Not a flattened page: serde reads no numbers from a query string through `flatten`,
    // and `deny_unknown_fields` does not work with it.
    /// Attempts per page (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// Only attempts listed after this one: the previous page's `nextBefore`. Attempts are
    /// listed newest first by id, or with `since` or `visitorId` by time, then id.
    before: Option<i64>,
    /// Only attempts from this device.
    #[serde(rename = "visitorId")]
    #[param(max_length = 256)]
    visitor_id: Option<String>,
    /// RFC 3339 time or an age such as `24h`.
    #[param(max_length = 256)]
    since: Option<String>,
}

/// One recorded attempt.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptView {
    id: i64,
    event_id: Option<String>,
    visitor_id: Option<String>,
    /// The client IP the policy saw.
    ip: Option<String>,
    username: Option<String>,
    /// `allow`, `review`, `block`, or `error` for a request that got no decision.
    verdict: String,
    /// The code answered to the client: `created`, `review`, or an error's code.
    code: String,
    /// Every rule that fired, in the policy's order.
    codes: Vec<String>,
    /// What the decision saw: Fingerprint's event and the request's context, as `explain` and
    /// `backtest` replay it.
    #[schema(value_type = Option<Object>)]
    signals: Option<Snapshot>,
    /// The policy's hash, to tell which policy decided.
    policy_hash: Option<String>,
    /// Decided in shadow mode: the verdict was allow whatever the rules said.
    shadow: bool,
    /// The account this attempt created or reserved.
    account_id: Option<i64>,
    /// RFC 3339.
    created_at: String,
}

/// A page of attempts.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptsPage {
    attempts: Vec<AttemptView>,
    /// Pass as `before` for the next page; `null` on the last one. A verdict or code filter
    /// reads at most 20,000 attempts a page, so its page may hold fewer than `limit`, even
    /// none, and still name a next page: the search goes on from there.
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

/// The audit trail, newest first
///
/// Every attempt, refused or not, with every rule that fired and what the decision saw.
/// Newest first by id; with `since` or `visitorId`, by time, then id.
#[utoipa::path(
    get,
    path = "/api/attempts",
    tag = "admin",
    security(("admin_token" = [])),
    params(AttemptsQuery),
    responses(
        (status = 200, description = "A page of attempts.", body = AttemptsPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable)
    )
)]
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
    if let Some(code) = query.code.as_deref().filter(|c| !c.is_empty()) {
        let known = known_codes();
        if !known.contains(&code) {
            return Err(ApiError::InvalidRequest(format!(
                "code {code:?} is not a code an attempt can carry; codes are exact, one of: {}",
                known.join(", ")
            )));
        }
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
        ..AttemptFilter::default()
    };
    let found = state
        .store
        .attempts_page(&filter, page.limit, Some(SEARCH_SCAN))
        .await?;
    let attempts = found.attempts.into_iter().map(AttemptView::from).collect();
    Ok(Json(AttemptsPage {
        attempts,
        next_before: found.next_before,
    }))
}

/// Every code an attempt can be recorded with: the outcomes of a created account or decision,
/// every rule's code, and every error's. A filter on anything else is a typo (or another
/// case) that would silently match nothing.
pub(super) fn known_codes() -> Vec<&'static str> {
    let mut codes = vec!["created", "review", "allow"];
    codes.extend(crate::policy::codes());
    codes.extend(ApiError::every_kind().iter().map(ApiError::code));
    codes.sort_unstable();
    codes.dedup();
    codes
}
