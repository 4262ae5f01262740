//! The HTTP surface: routers by area, one state, one error type.
//!
//! Each area returns its own router. Where a route is added decides what guards it: routes
//! under [`admin::routes`] need the admin token, those under [`decisions`] an API token, and
//! every route but signup and the decision runs under the request deadline (those keep their
//! own, so that a timed-out attempt is still recorded).
//!
//! Every route is added with `utoipa_axum::routes!` from its handler's `#[utoipa::path]`, so
//! the router and the OpenAPI document (`/openapi.json`) are built together and list the same
//! routes.

mod accounts;
mod actions;
mod admin;
mod attempts;
mod bearer;
mod console;
mod decisions;
mod deliveries;
mod demo;
mod docs;
mod error;
mod error_answers;
mod health;
mod layers;
mod lists;
mod metrics;
mod openapi;
mod query;
mod reviews;
mod signup;
mod webhooks;

pub use admin::AdminAuth;
pub use error::{ApiError, Result};

use crate::settings::HttpConfig;
use crate::signup::Signups;
use crate::store::Store;
use axum::{Extension, Router};
use fingerprint::SecretKey;
use std::sync::Arc;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

/// Everything a request handler needs, shared by all of them.
#[derive(Debug)]
pub struct AppState {
    /// The signup flow and what it needs.
    pub signups: Arc<Signups>,
    /// The database, for the admin and health routes.
    pub store: Store,
    /// The database's health as a probe last saw it, for `/health`.
    pub database_health: crate::store::DatabaseHealth,
    /// Who may call the admin routes.
    pub admin: AdminAuth,
    /// Bearer tokens of the apps that may call the decision API; none turns it off.
    pub api_tokens: Vec<SecretKey>,
    /// The `/metrics` bearer token; none turns the route off.
    pub metrics_token: Option<SecretKey>,
    /// Whether fraud labels are reported to Fingerprint.
    pub report_labels: bool,
    /// Webhook signing secret; without it the webhook route answers 404.
    pub webhook_secret: Option<SecretKey>,
    /// The signup rate limits: the per-IP one is checked here, the per-visitor one by the flow
    /// (`signups` holds it too).
    pub rate_limits: crate::rate_limit::RateLimits,
    /// Where to listen, CORS, and the limits on a request.
    pub limits: HttpConfig,
    /// The in-process simulator in demo mode.
    pub demo: Option<fingerprint::simulator::Simulator>,
}

/// The whole application router, and with it the OpenAPI document of exactly its routes.
pub fn router(state: Arc<AppState>) -> Router {
    let mut bounded = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(health::routes())
        .merge(metrics::routes())
        .merge(webhooks::routes())
        .merge(admin::routes(state.clone()))
        .merge(decisions::release_routes(state.clone()))
        .merge(openapi::routes())
        .merge(docs::routes());
    if state.demo.is_some() {
        bounded = bounded.merge(demo::routes());
    }
    let (app, document) = layers::with_deadline(bounded, &state.limits)
        .merge(signup::routes())
        .merge(decisions::decide_routes(state.clone()))
        .split_for_parts();
    // The console's pages are for people, not API: merged after the split, they stay out of
    // the OpenAPI document (schemathesis fuzzes every route it lists).
    let app = app
        .merge(console::routes(&state))
        .layer(Extension(openapi::Document::new(&document)))
        .fallback(|| async { ApiError::NotFound })
        // Set last: it applies to the routes present when it is called.
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed });
    layers::apply(app, &state.limits).with_state(state)
}
