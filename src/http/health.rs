//! `GET /health`.

use super::error_answers::Unavailable;
use super::{AppState, Result};
use crate::rate_limit::StoreStatus;
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The health answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    #[schema(inline)]
    status: HealthStatus,
    /// With `RATE_LIMIT_URL`: whether its Redis answers. Informative only: every instance
    /// shares that Redis, so its outage is not a reason to take this one out of service.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(inline)]
    rate_limit_store: Option<StoreHealth>,
}

/// Whether the rate limits' Redis answered a PING within `RATE_LIMIT_TIMEOUT_MS`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum StoreHealth {
    Ok,
    Unavailable,
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
/// instance that cannot store signups. A probe asks it every 250 ms and this answers from the
/// probe's latest result, so a busy database does not slow the check. With `RATE_LIMIT_URL`,
/// it also says whether that Redis answers, without failing when it does not (see
/// `RATE_LIMIT_FAILURE_MODE`).
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
    state.database_health.check().await?;
    let rate_limit_store = state.rate_limits.store_status().await.map(|s| match s {
        StoreStatus::Ok => StoreHealth::Ok,
        StoreStatus::Unavailable => StoreHealth::Unavailable,
    });
    Ok(Json(Health {
        status: HealthStatus::Ok,
        rate_limit_store,
    }))
}
