use super::admin::require_admin;
use super::{ApiError, AppState, Result};
use crate::store::AttemptFilter;
use crate::time::rfc3339;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// Filters: `?verdict=block&code=vpn_detected&visitorId=<id>&since=24h&limit=50&before=<id>`.
#[derive(Debug, Deserialize)]
pub struct Filter {
    verdict: Option<String>,
    code: Option<String>,
    // Not a flattened `Page`: serde cannot read numbers from a query string through `flatten`.
    limit: Option<i64>,
    before: Option<i64>,
    #[serde(rename = "visitorId")]
    visitor_id: Option<String>,
    /// RFC 3339 time or an age such as `24h`.
    since: Option<String>,
}

/// `GET /api/attempts`: the audit trail with its reasons, newest first.
pub async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    filter: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>> {
    require_admin(&state, &headers)?;
    let Query(filter) = filter.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    if let Some(verdict) = &filter.verdict {
        if !["allow", "review", "block", "error"].contains(&verdict.as_str()) {
            return Err(ApiError::InvalidRequest(
                "verdict must be allow, review, block or error".into(),
            ));
        }
    }
    let limit = filter.limit.unwrap_or(50).clamp(1, 500);
    let since_ms = match filter.since.as_deref() {
        Some(since) => Some(
            crate::time::parse_since(since, crate::store::now_ms())
                .map_err(ApiError::InvalidRequest)?,
        ),
        None => None,
    };
    let query = AttemptFilter {
        verdict: filter.verdict,
        code: filter.code.filter(|c| !c.is_empty()),
        since_ms,
        before: filter.before,
        visitor_id: filter.visitor_id.filter(|v| !v.is_empty()),
    };
    let rows = state.store.list_attempts(&query, limit).await?;
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    let attempts: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            json!({
                "id": r.id,
                "eventId": r.event_id,
                "visitorId": r.visitor_id,
                "ip": r.ip,
                "username": r.username,
                "verdict": r.verdict,
                "code": r.code,
                "codes": r.codes,
                "signals": r.signals,
                "policyHash": r.policy_hash,
                "shadow": r.shadow,
                "accountId": r.account_id,
                "createdAt": rfc3339(r.created_at),
            })
        })
        .collect();
    Ok(Json(json!({ "attempts": attempts, "nextBefore": next })))
}
