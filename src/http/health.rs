//! `GET /health`.

use super::error_answers::Unavailable;
use super::{AppState, Result};
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(inline)]
    status: HealthStatus,
}

/// An instance that is not healthy answers an error instead.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum HealthStatus {
    Ok,
}

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(health))
}

/// Whether this instance can store signups
///
/// Ok only when the database answers, so that a load balancer stops sending traffic to an
/// instance that cannot store signups.
#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    responses(
        (status = 200, description = "The database answers.", body = Health),
        (status = 503, response = Unavailable)
    )
)]
async fn health(State(state): State<Arc<AppState>>) -> Result<Json<Health>> {
    state.store.ping().await?;
    Ok(Json(Health {
        status: HealthStatus::Ok,
    }))
}
