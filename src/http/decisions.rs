//! The decision API, for apps that keep their own users: `POST /api/v1/signup-decisions`
//! answers allow, review or block, and `DELETE /api/v1/signup-decisions/{decisionId}` frees
//! the device slot a decision reserved. Apps call it server to server with an API token.

use super::error_answers::{
    BadRequest, Conflict, InternalError, NotFound, PayloadTooLarge, TooManyRequests, Unauthorized,
    Unavailable,
};
use super::{bearer, ApiError, AppState};
use crate::policy::Action;
use crate::signup::{is_decision_id, Decided, DecisionFields, Refusal};
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
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

/// The decision route keeps its own deadline, as signup does, so a timed-out decision is still
/// recorded; the release route runs under the shared one (see [`super::router`]).
pub fn decide_routes(state: Arc<AppState>) -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(decide))
        .route_layer(middleware::from_fn_with_state(state, require_api_token))
}

/// See [`decide_routes`].
pub fn release_routes(state: Arc<AppState>) -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(release))
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
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DecisionBody {
    /// Names the reserved slot, for `DELETE /api/v1/signup-decisions/{decisionId}`.
    #[schema(example = "dec_5f0c3e8a9b1d4c2e8f7a6b5c4d3e2f10")]
    decision_id: String,
    #[schema(inline)]
    decision: Verdict,
    /// Every rule that fired, in the policy's order (`device_limit` included).
    codes: Vec<String>,
    visitor_id: Option<String>,
    event_id: Option<String>,
    /// Your user id, echoed.
    account_ref: Option<String>,
    /// The reserved slot's account, when one was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<i64>,
    /// With `device_limit`: the identity the device's accounts were found by (`visitor_id`,
    /// `high_recall_id` or `linked_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "visitor_id")]
    identity: Option<&'static str>,
}

/// What to do with the signup. A block is a decision, answered 200 like the others.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Allow,
    Review,
    Block,
}

impl From<Decided> for DecisionBody {
    fn from(d: Decided) -> Self {
        Self {
            decision_id: d.decision_id,
            decision: match d.verdict {
                Action::Allow => Verdict::Allow,
                Action::Review => Verdict::Review,
                Action::Block => Verdict::Block,
            },
            codes: d.codes,
            visitor_id: d.visitor_id,
            event_id: d.event_id,
            account_ref: d.account_ref,
            account_id: d.account_id,
            identity: d.identity,
        }
    }
}

/// Decide on a signup your app handles
///
/// Server to server. The same verification and policy as create-account, answered as a
/// decision; no password is ever sent. With `accountRef`, an allow or review also reserves the
/// device's slot (release it with `DELETE` if your own user creation fails); without it, the
/// decision is a dry check. Answers 404 without `API_TOKENS`. A device over
/// `SIGNUP_RATE_LIMIT_PER_VISITOR_PER_MINUTE` gets 429 `rate_limited`; the per-IP limit does not
/// apply, since the caller is your server.
#[utoipa::path(
    post,
    path = "/api/v1/signup-decisions",
    tag = "decisions",
    security(("api_token" = [])),
    request_body = DecisionFields,
    responses(
        (status = 200, description = "The decision, a block included.", body = DecisionBody),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable)
    )
)]
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

/// Release the slot a decision reserved
///
/// For when your own user creation failed. 204 whether or not a slot was still held, so a
/// release may be retried safely.
#[utoipa::path(
    delete,
    path = "/api/v1/signup-decisions/{decisionId}",
    tag = "decisions",
    security(("api_token" = [])),
    params(("decisionId" = String, Path, pattern = "^dec_[0-9a-fA-F]{32}$",
        description = "The decision's `decisionId`.")),
    responses(
        (status = 204, description = "No slot is held for this decision any more."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable)
    )
)]
async fn release(
    State(state): State<Arc<AppState>>,
    decision_id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(decision_id) =
        decision_id.map_err(|rejection| ApiError::InvalidRequest(rejection.body_text()))?;
    if !is_decision_id(&decision_id) {
        return Err(ApiError::InvalidRequest(
            "decisionId is ill-formed: expected an id such as dec_0123456789abcdef0123456789abcdef"
                .into(),
        ));
    }
    state.signups.release(&decision_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
