//! `GET /api/webhook-deliveries` (admin): the decision webhooks not yet delivered, or those
//! in one status, with why the last try failed.

use super::query::Page;
use super::{ApiError, AppState, Result};
use crate::store::{Delivery, DeliveryStatus};
use crate::time::rfc3339;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// `?status=pending|failed|delivered&limit=50&before=<attemptId>`; without `status`, pending
/// and failed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    status: Option<String>,
    limit: Option<i64>,
    before: Option<i64>,
}

/// One delivery.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    id: String,
    status: String,
    tries: i64,
    /// When the next try is due, while pending.
    next_try_at: Option<String>,
    last_error: Option<String>,
    created_at: String,
    delivered_at: Option<String>,
    attempt_id: i64,
    decision: String,
    codes: Vec<String>,
    event_id: Option<String>,
    visitor_id: Option<String>,
}

/// A page of deliveries.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveriesPage {
    deliveries: Vec<DeliveryView>,
    /// Pass as `before` for the next page; `null` on the last one.
    next_before: Option<i64>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            next_try_at: (d.status == DeliveryStatus::Pending.as_str()).then(|| rfc3339(d.next_at)),
            id: d.id,
            status: d.status,
            tries: d.tries,
            last_error: d.last_error,
            created_at: rfc3339(d.created_at),
            delivered_at: d.delivered_at.map(rfc3339),
            attempt_id: d.attempt.id,
            decision: d.attempt.verdict,
            codes: d.attempt.codes,
            event_id: d.attempt.event_id,
            visitor_id: d.attempt.visitor_id,
        }
    }
}

/// Newest first.
pub async fn list(
    State(state): State<Arc<AppState>>,
    query: Result<Query<DeliveriesQuery>, QueryRejection>,
) -> Result<Json<DeliveriesPage>> {
    let Query(query) = query.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let status = match query.status.as_deref() {
        None | Some("") => None,
        Some(name) => Some(DeliveryStatus::parse(name).ok_or_else(|| {
            ApiError::InvalidRequest("status must be pending, failed or delivered".into())
        })?),
    };
    let page = Page::new(query.limit, query.before)?;
    let rows = state
        .store
        .list_deliveries(status, page.limit, page.before)
        .await?;
    let next_before = page.next_before(rows.last().map(|d| d.attempt.id), rows.len());
    Ok(Json(DeliveriesPage {
        deliveries: rows.into_iter().map(DeliveryView::from).collect(),
        next_before,
    }))
}
