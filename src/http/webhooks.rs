//! `POST /api/webhooks/fingerprint`: events Fingerprint pushes, signed with the shared secret.

use super::{ApiError, AppState, Result};
use crate::store::now_ms;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

/// The answer to a webhook delivery.
#[derive(Debug, Serialize)]
pub struct Received {
    status: &'static str,
    /// The event was already stored by an earlier delivery.
    duplicate: bool,
}

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/webhooks/fingerprint", post(receive))
}

/// A signed event, stored once per event id.
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
        status: "ok",
        duplicate: !stored,
    }))
}
