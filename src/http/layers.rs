//! Cross-cutting layers: body limit, request deadline, CORS, tracing with a request id.

use super::{ApiError, AppState};
use crate::settings::HttpConfig;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::sync::Arc;
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa_axum::router::OpenApiRouter;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request deadline, for every route but signup: the signup flow keeps its own, which
/// records a timed-out attempt and never cuts the account write short (see `signup::signup`).
pub fn with_deadline(
    app: OpenApiRouter<Arc<AppState>>,
    limits: &HttpConfig,
) -> OpenApiRouter<Arc<AppState>> {
    let timeout = limits.request_timeout;
    app.layer(middleware::from_fn(move |req: Request, next: Next| {
        deadline(timeout, req, next)
    }))
}

/// Wraps the router in every shared layer, outermost last.
pub fn apply(app: Router<Arc<AppState>>, limits: &HttpConfig) -> Router<Arc<AppState>> {
    app.layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(cors(&limits.cors_origins))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            // The path only, as a quoted string: query strings could carry tokens, and nothing in
            // a path can then start a log line of its own.
            tracing::info_span!("request", method = %req.method(), path = ?req.uri().path(), request_id = %id)
        })
        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(middleware::map_request(drop_unsafe_request_id))
}

/// A caller's own `X-Request-Id` is kept for correlation only when it is short and plain: it
/// goes into every log line of the request, where free text could forge fields or lines. An
/// unsafe one is replaced by a fresh id.
async fn drop_unsafe_request_id(mut req: Request) -> Request {
    let safe = |v: &HeaderValue| {
        let bytes = v.as_bytes();
        (1..=64).contains(&bytes.len())
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
    };
    if req.headers().get(&REQUEST_ID).is_some_and(|v| !safe(v)) {
        req.headers_mut().remove(&REQUEST_ID);
    }
    req
}

/// A request past its time limit is answered 503, and its work is dropped: an open database
/// transaction rolls back, so nothing half-written remains (the routes under this layer write
/// at most one statement, or a webhook row whose retry is deduplicated).
pub(super) async fn deadline(limit: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(?limit, "request timed out");
            ApiError::Timeout.into_response()
        }
    }
}

/// Without configured origins any page may call the API, but never with credentials: the API uses
/// no cookies, and reflecting origins with credentials (as the seed did) would let any site act
/// as the user.
fn cors(origins: &[String]) -> CorsLayer {
    let allow = if origins.is_empty() {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
        .max_age(Duration::from_secs(600))
}
