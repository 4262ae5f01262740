//! `POST /api/webhooks/fingerprint`: events Fingerprint pushes, signed with the shared secret.

use super::error_answers::{
    BadRequest, InternalError, NotFound, PayloadTooLarge, Unauthorized, Unavailable,
};
use super::{ApiError, AppState, Result};
use crate::store::now_ms;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The answer to a webhook delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct Received {
    #[schema(inline)]
    status: ReceivedStatus,
    /// The event was already stored by an earlier delivery.
    duplicate: bool,
}

/// A delivery that is not stored is answered with an error instead.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum ReceivedStatus {
    Ok,
}

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(receive))
}

/// An event Fingerprint pushes
///
/// Stored once per event id (`event_id` in v4 payloads, `requestId` in v3 ones). Answers 404
/// without `FINGERPRINT_WEBHOOK_SECRET`.
#[utoipa::path(
    post,
    path = "/api/webhooks/fingerprint",
    tag = "webhooks",
    security(("fingerprint_signature" = [])),
    request_body(content = Object, content_type = "application/json",
        description = "Fingerprint's webhook payload, signed in `fpjs-event-signature`."),
    responses(
        (status = 200, description = "Stored, or already stored.", body = Received),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable)
    )
)]
async fn receive(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Received>> {
    let Some(secret) = &state.webhook_secret else {
        return Err(ApiError::NotFound);
    };
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(state.limits.max_body_bytes),
        _ => ApiError::InvalidRequest(rejection.body_text()),
    })?;
    let signature = headers
        .get("fpjs-event-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !fingerprint::webhook::verify_signature(signature, &body, secret.expose().as_bytes()) {
        tracing::warn!("webhook with a missing or wrong signature");
        return Err(ApiError::InvalidSignature);
    }
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::InvalidRequest("body is not UTF-8".into()))?;
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ApiError::InvalidRequest(format!("body is not valid JSON: {e}")))?;
    // v4 webhooks carry `event_id`, v3 ones `requestId`.
    let event_id = value
        .get("event_id")
        .or_else(|| value.get("requestId"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ApiError::InvalidRequest("webhook body has no event_id or requestId".into())
        })?;
    if event_id.is_empty() || event_id.len() > 128 || event_id.chars().any(char::is_control) {
        return Err(ApiError::InvalidRequest(
            "the webhook's event id must be 1 to 128 characters without control characters".into(),
        ));
    }
    let stored = state.store.store_webhook(event_id, text, now_ms()).await?;
    tracing::info!(event_id, duplicate = !stored, "webhook received");
    Ok(Json(Received {
        status: ReceivedStatus::Ok,
        duplicate: !stored,
    }))
}
