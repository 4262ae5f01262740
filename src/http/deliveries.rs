//! `GET /api/webhook-deliveries` (admin): the decision webhooks not yet delivered, or those
//! in one status, with why the last try failed.

use super::error_answers::{BadRequest, InternalError, NotFound, Unauthorized, Unavailable};
use super::query::Page;
use super::{ApiError, AppState, Result};
use crate::store::{Delivery, DeliveryStatus};
use crate::time::rfc3339;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// `?status=pending|failed|delivered&limit=50&before=<attemptId>`; without `status`, pending
/// and failed.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Only deliveries in this status; without it, pending and failed.
    #[param(pattern = "^(pending|failed|delivered)?$")]
    status: Option<String>,
    /// Deliveries per page (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// Only deliveries of attempts with a smaller id: the previous page's `nextBefore`.
    before: Option<i64>,
}

/// One delivery.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    /// The delivery id, sent in `signup-guard-delivery`.
    id: String,
    /// `pending`, `delivered` or `failed`.
    status: String,
    tries: i64,
    /// When the next try is due (RFC 3339), while pending.
    next_try_at: Option<String>,
    /// Why the last try failed.
    last_error: Option<String>,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339.
    delivered_at: Option<String>,
    attempt_id: i64,
    /// The attempt's verdict.
    decision: String,
    codes: Vec<String>,
    event_id: Option<String>,
    visitor_id: Option<String>,
}

/// A page of deliveries.
#[derive(Debug, Serialize, ToSchema)]
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

/// The decision webhooks' outbox, newest first
///
/// The deliveries not yet accepted, or those in one status, with why the last try failed.
#[utoipa::path(
    get,
    path = "/api/webhook-deliveries",
    tag = "admin",
    security(("admin_token" = [])),
    params(DeliveriesQuery),
    responses(
        (status = 200, description = "A page of deliveries.", body = DeliveriesPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable)
    )
)]
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
