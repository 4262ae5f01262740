use super::{ApiError, AppState};
use crate::signup::{self, Caller};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::time::Instant;

/// `POST /api/create-account`.
///
/// The body is taken as bytes so that every malformed request is still recorded and answered in
/// the shared JSON error shape, an unreadable or oversized one included.
pub async fn create_account(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    // One deadline from the first byte: a client that sends its body slowly spends the same
    // budget as a slow Fingerprint API, and cannot hold a connection open for ever.
    let deadline = Instant::now() + state.signup_timeout;
    // Proxies may append their own header line instead of extending the first one: the hops
    // count from the right of all of them joined, or a client could plant the trusted entry.
    // A line that is not text could hide a proxy's entry, so then the peer is used instead.
    let forwarded: Option<Vec<&str>> = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.to_str().ok())
        .collect();
    let forwarded = forwarded
        .filter(|lines| !lines.is_empty())
        .map(|lines| lines.join(","));
    let caller = Caller {
        ip: crate::policy::client_ip(
            peer.ip(),
            forwarded.as_deref(),
            state.policy.trusted_proxy_hops,
        ),
        origin: headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    // Before anything else: a flood must cost neither an API call nor an audit-trail row.
    if let Some(limiter) = &state.signup_limiter {
        if let Err(wait) = limiter.check(caller.ip) {
            // Debug, not warn: a flood must not become a flood of log lines.
            tracing::debug!(ip = %caller.ip, "signup rate limit reached");
            // Rounded up: a client that waits exactly Retry-After must find its budget back.
            let seconds = wait.as_millis().div_ceil(1000).max(1) as u64;
            return ApiError::RateLimited(seconds).into_response();
        }
    }
    let body = tokio::time::timeout_at(deadline, Bytes::from_request(request, &state)).await;
    let body = match body {
        Ok(Ok(body)) => body,
        Err(_) => {
            let error = ApiError::Timeout;
            return signup::refuse_unread(&state, &caller, error)
                .await
                .into_response();
        }
        Ok(Err(rejection)) => {
            let error = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(state.max_body_bytes)
            } else {
                ApiError::InvalidRequest(rejection.body_text())
            };
            return signup::refuse_unread(&state, &caller, error)
                .await
                .into_response();
        }
    };
    // On its own task: if the client disconnects, axum drops this handler, but the signup still
    // finishes, so nothing is left half-done and the attempt is recorded.
    let running = state.signups.start();
    let task = tokio::spawn(async move {
        let _running = running;
        signup::signup(&state, &caller, &body, deadline).await
    });
    let outcome = task.await.unwrap_or_else(|e| {
        Err(ApiError::Internal(anyhow::anyhow!(
            "signup task failed: {e}"
        )))
    });
    match outcome {
        Ok(created) => {
            let mut body = json!({
                "status": if created.review_codes.is_some() { "review" } else { "created" },
                "accountId": created.account_id,
                "visitorId": created.visitor_id,
            });
            if let Some(codes) = created.review_codes {
                body["codes"] = json!(codes);
            }
            Json(body).into_response()
        }
        Err(error) => error.into_response(),
    }
}
