//! `GET /metrics`: the Prometheus exposition, behind its own bearer token. Without
//! `METRICS_TOKEN` the route answers 404, as if absent: counts of refusals by code tell an
//! attacker which of their tricks work.

use super::error_answers::{NotFound, Unauthorized, Unavailable};
use super::{bearer, ApiError, AppState};
use crate::metrics::Gauges;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// Prometheus metrics
///
/// Attempts by endpoint, verdict and code; Fingerprint fetches and their latency; decision
/// latency; the hashing queue; database connections; the webhook outbox backlog; build info.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    security(("metrics_token" = [])),
    responses(
        (status = 200, description = "The Prometheus text exposition format.", body = String,
            content_type = "text/plain; version=0.0.4; charset=utf-8"),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 503, response = Unavailable)
    )
)]
async fn metrics(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(token) = &state.metrics_token else {
        return ApiError::NotFound.into_response();
    };
    if !bearer::is_one_of(bearer::given(&headers), std::slice::from_ref(token)) {
        return ApiError::MetricsUnauthorized.into_response();
    }
    let (pool_in_use, pool_idle) = state.store.connections();
    // A scrape while the database is down still answers, without this one reading.
    let webhook_backlog = state.store.pending_deliveries().await.ok();
    let text = state.signups.metrics.render(Gauges {
        hash_queue: state.signups.hasher.queued(),
        audit_commits: state.signups.audit.commits(),
        audit_rows: state.signups.audit.rows(),
        pool_in_use,
        pool_idle,
        webhook_backlog,
    });
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
