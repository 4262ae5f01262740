//! The HTTP surface: routers by area, one state, one error type.
//!
//! Each area returns its own router. Where a route is added decides what guards it: routes
//! under [`admin::routes`] need the admin token, those under [`decisions`] an API token, and
//! every route but signup and the decision runs under the request deadline (those keep their
//! own, so that a timed-out attempt is still recorded).

mod accounts;
mod actions;
mod admin;
mod attempts;
mod bearer;
mod decisions;
mod deliveries;
mod demo;
mod error;
mod health;
mod layers;
mod lists;
mod metrics;
mod query;
mod rate_limit;
mod reviews;
mod signup;
mod webhooks;

pub use admin::AdminAuth;
pub use error::{ApiError, Result};
pub use rate_limit::SignupLimiter;

use crate::settings::HttpConfig;
use crate::signup::Signups;
use crate::store::Store;
use axum::Router;
use fingerprint::SecretKey;
use std::sync::Arc;

/// Everything a request handler needs, shared by all of them.
#[derive(Debug)]
pub struct AppState {
    /// The signup flow and what it needs.
    pub signups: Arc<Signups>,
    /// The database, for the admin and health routes.
    pub store: Store,
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
    /// Per-client-IP signup rate limit, when configured.
    pub signup_limiter: Option<SignupLimiter>,
    /// Where to listen, CORS, and the limits on a request.
    pub limits: HttpConfig,
    /// The in-process simulator in demo mode.
    pub demo: Option<fingerprint::simulator::Simulator>,
}

/// The whole application router.
pub fn router(state: Arc<AppState>) -> Router {
    let mut bounded = Router::new()
        .merge(health::routes())
        .merge(metrics::routes())
        .merge(webhooks::routes())
        .merge(admin::routes(state.clone()))
        .merge(decisions::release_routes(state.clone()));
    if state.demo.is_some() {
        bounded = bounded.merge(demo::routes());
    }
    let app = layers::with_deadline(bounded, &state.limits)
        .merge(signup::routes())
        .merge(decisions::decide_routes(state.clone()))
        .fallback(|| async { ApiError::NotFound })
        // Set last: it applies to the routes present when it is called.
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed });
    layers::apply(app, &state.limits).with_state(state)
}
