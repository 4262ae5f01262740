use super::{AppState, Result};
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

/// `GET /health`: ok only when the database answers, so a load balancer stops sending traffic
/// to an instance that cannot store signups.
pub async fn health(State(state): State<Arc<AppState>>) -> Result<Json<Value>> {
    state.store.ping().await?;
    Ok(Json(json!({ "status": "ok" })))
}
