use super::admin::require_admin;
use super::{ApiError, AppState, Result};
use crate::time::rfc3339;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// Pagination: `?limit=50&before=<id>`; the response's `nextBefore` fetches the next page.
#[derive(Debug, Deserialize)]
pub struct Page {
    limit: Option<i64>,
    before: Option<i64>,
}

/// `GET /api/accounts`: newest first, never any password material.
pub async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    page: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>> {
    require_admin(&state, &headers)?;
    let Query(page) = page.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let limit = page.limit.unwrap_or(50).clamp(1, 500);
    let rows = state.store.list_accounts(limit, page.before).await?;
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    let accounts: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            json!({
                "id": r.id,
                "username": r.username,
                "visitorId": r.visitor_id,
                "review": r.review,
                "createdAt": rfc3339(r.created_at),
            })
        })
        .collect();
    Ok(Json(json!({ "accounts": accounts, "nextBefore": next })))
}
