//! `GET /metrics`: the Prometheus exposition, behind its own bearer token. Without
//! `METRICS_TOKEN` the route answers 404, as if absent: counts of refusals by code tell an
//! attacker which of their tricks work.

use super::{bearer, ApiError, AppState};
use crate::metrics::Gauges;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/metrics", get(metrics))
}

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
