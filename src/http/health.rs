//! `GET /health`.

use super::{AppState, Result};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use std::sync::Arc;

/// The health answer.
#[derive(Debug, Serialize)]
pub struct Health {
    status: &'static str,
}

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/health", get(health))
}

/// Ok only when the database answers, so a load balancer stops sending traffic to an instance
/// that cannot store signups.
async fn health(State(state): State<Arc<AppState>>) -> Result<Json<Health>> {
    state.store.ping().await?;
    Ok(Json(Health { status: "ok" }))
}
