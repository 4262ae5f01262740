//! `POST /api/create-account`: the signup flow over HTTP.

use super::error_answers::{
    BadRequest, Conflict, Forbidden, InternalError, PayloadTooLarge, TooManyRequests, Unavailable,
};
use super::{ApiError, AppState};
use crate::signup::request::SignupFields;
use crate::signup::{Caller, Created, Refusal};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::time::Instant;
use tracing::Instrument as _;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Not under the shared request deadline: the flow keeps its own, so that a signup that runs
/// out of time is still recorded and its account write is never cut short.
pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(create_account))
}

/// A created account.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedBody {
    #[schema(inline)]
    status: CreatedStatus,
    account_id: i64,
    visitor_id: String,
    /// With `review`: the rules that asked for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    codes: Option<Vec<String>>,
}

/// `created`, or `review` when the account awaits an analyst or a second factor.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum CreatedStatus {
    Created,
    Review,
}

impl From<Created> for CreatedBody {
    fn from(created: Created) -> Self {
        Self {
            status: if created.review_codes.is_some() {
                CreatedStatus::Review
            } else {
                CreatedStatus::Created
            },
            account_id: created.account_id,
            visitor_id: created.visitor_id,
            codes: created.review_codes,
        }
    }
}

/// Create an account, unless the device intelligence says no
///
/// The event named by `requestId` (or `sealedResult`) is checked against the fraud policy
/// before the account is created. Every attempt is recorded in the audit trail.
#[utoipa::path(
    post,
    path = "/api/create-account",
    tag = "signup",
    request_body = SignupFields,
    responses(
        (status = 200, description = "Created, or created under review.", body = CreatedBody),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable)
    )
)]
// The body is taken as bytes so that every malformed request is still recorded and answered in
// the shared JSON error shape, an unreadable or oversized one included.
async fn create_account(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    // One deadline from the first byte: a client that sends its body slowly spends the same
    // budget as a slow Fingerprint API, and cannot hold a connection open for ever.
    let deadline = Instant::now() + state.limits.request_timeout;
    let signups = state.signups.clone();
    let caller = caller(&headers, peer, signups.policy.trusted_proxy_hops);
    // Before anything else: a flood must cost neither an API call nor an audit-trail row.
    if let Some(limit) = &state.rate_limits.per_ip {
        if let Err(exceeded) = limit.check_ip(caller.ip).await {
            let refusal = Refusal::from(exceeded);
            // Debug, not warn: a flood must not become a flood of log lines.
            tracing::debug!(ip = %caller.ip, code = refusal.code(), "signup rate limit reached");
            signups.metrics.attempt("signup", "error", refusal.code());
            return ApiError::from(refusal).into_response();
        }
    }
    let body = tokio::time::timeout_at(deadline, Bytes::from_request(request, &state)).await;
    let body = match body {
        Ok(Ok(body)) => body,
        Err(_) => return unread(&signups, &caller, Refusal::Timeout).await,
        Ok(Err(rejection)) => {
            let refusal = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Refusal::PayloadTooLarge(state.limits.max_body_bytes)
            } else {
                Refusal::Invalid(rejection.body_text())
            };
            return unread(&signups, &caller, refusal).await;
        }
    };
    // On its own task: if the client disconnects, axum drops this handler, but the signup still
    // finishes, so nothing is left half-done and the attempt is recorded.
    let running = signups.in_flight.start();
    // The task carries the request's span, so its log lines keep the request id.
    let task = tokio::spawn(
        async move {
            let _running = running;
            signups.run(&caller, &body, deadline).await
        }
        .instrument(tracing::Span::current()),
    );
    let outcome = task.await.unwrap_or_else(|e| {
        Err(Refusal::Internal(anyhow::anyhow!(
            "signup task failed: {e}"
        )))
    });
    match outcome {
        Ok(created) => Json(CreatedBody::from(created)).into_response(),
        Err(refusal) => ApiError::from(refusal).into_response(),
    }
}

async fn unread(signups: &crate::signup::Signups, caller: &Caller, refusal: Refusal) -> Response {
    ApiError::from(signups.refuse_unread(caller, refusal).await).into_response()
}

/// The caller as the policy sees it. Proxies may append their own header line instead of
/// extending the first one: the hops count from the right of all of them joined, or a client
/// could plant the trusted entry. A line that is not text could hide a proxy's entry, so then
/// the peer is used instead.
fn caller(headers: &HeaderMap, peer: SocketAddr, trusted_proxy_hops: usize) -> Caller {
    let forwarded: Option<Vec<&str>> = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.to_str().ok())
        .collect();
    let forwarded = forwarded
        .filter(|lines| !lines.is_empty())
        .map(|lines| lines.join(","));
    Caller {
        ip: crate::policy::client_ip(peer.ip(), forwarded.as_deref(), trusted_proxy_hops),
        // An Origin that is not text is still an Origin, and not an allowed one: read as absent,
        // it would pass the check that absent origins pass.
        origin: headers
            .get(header::ORIGIN)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
    }
}
