//! The decision API, for apps that keep their own users: `POST /api/v1/signup-decisions`
//! answers allow, review or block, and `DELETE /api/v1/signup-decisions/{decisionId}` frees
//! the device slot a decision reserved. Apps call it server to server with an API token.

use super::{bearer, ApiError, AppState};
use crate::policy::Action;
use crate::signup::{is_decision_id, Decided, Refusal};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::time::Instant;
use tracing::Instrument as _;

/// The decision route keeps its own deadline, as signup does, so a timed-out decision is still
/// recorded; the release route runs under the shared one (see [`super::router`]).
pub fn decide_routes(state: Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/signup-decisions", post(decide))
        .route_layer(middleware::from_fn_with_state(state, require_api_token))
}

/// See [`decide_routes`].
pub fn release_routes(state: Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/signup-decisions/{decision_id}", delete(release))
        .route_layer(middleware::from_fn_with_state(state, require_api_token))
}

/// Without API tokens the routes answer 404, as if absent; admin tokens do not open them.
async fn require_api_token(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    if state.api_tokens.is_empty() {
        return ApiError::NotFound.into_response();
    }
    if !bearer::is_one_of(bearer::given(request.headers()), &state.api_tokens) {
        return ApiError::ApiUnauthorized.into_response();
    }
    next.run(request).await
}

/// A decision.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionBody {
    decision_id: String,
    /// `allow`, `review` or `block`.
    decision: &'static str,
    codes: Vec<String>,
    visitor_id: Option<String>,
    event_id: Option<String>,
    account_ref: Option<String>,
    /// The reserved slot's account, when one was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<i64>,
}

impl From<Decided> for DecisionBody {
    fn from(d: Decided) -> Self {
        Self {
            decision_id: d.decision_id,
            decision: match d.verdict {
                Action::Allow => "allow",
                Action::Review => "review",
                Action::Block => "block",
            },
            codes: d.codes,
            visitor_id: d.visitor_id,
            event_id: d.event_id,
            account_ref: d.account_ref,
            account_id: d.account_id,
        }
    }
}

async fn decide(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let deadline = Instant::now() + state.limits.request_timeout;
    let signups = state.signups.clone();
    let body = tokio::time::timeout_at(deadline, Bytes::from_request(request, &state)).await;
    let body = match body {
        Ok(Ok(body)) => body,
        Err(_) => return ApiError::from(Refusal::Timeout).into_response(),
        Ok(Err(rejection)) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return ApiError::from(Refusal::PayloadTooLarge(state.limits.max_body_bytes))
                .into_response()
        }
        Ok(Err(rejection)) => {
            return ApiError::InvalidRequest(rejection.body_text()).into_response()
        }
    };
    // On its own task, as a signup: a caller that hangs up does not leave a reservation
    // half-made or an attempt unrecorded.
    let running = signups.in_flight.start();
    let task = tokio::spawn(
        async move {
            let _running = running;
            signups.decide_for_app(peer.ip(), &body, deadline).await
        }
        .instrument(tracing::Span::current()),
    );
    let outcome = task.await.unwrap_or_else(|e| {
        Err(Refusal::Internal(anyhow::anyhow!(
            "decision task failed: {e}"
        )))
    });
    match outcome {
        Ok(decided) => Json(DecisionBody::from(decided)).into_response(),
        Err(refusal) => ApiError::from(refusal).into_response(),
    }
}

/// 204 whether or not a slot was still held: the app may retry a release safely.
async fn release(
    State(state): State<Arc<AppState>>,
    Path(decision_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !is_decision_id(&decision_id) {
        return Err(ApiError::InvalidRequest(
            "decisionId is ill-formed: expected an id such as dec_0123456789abcdef0123456789abcdef"
                .into(),
        ));
    }
    state.signups.release(&decision_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
