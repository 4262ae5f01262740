//! The HTTP surface: one router, one state, one error type.

mod accounts;
mod admin;
mod attempts;
mod demo;
mod error;
mod health;
mod layers;
mod rate_limit;
mod signup;
mod webhooks;

pub use error::{ApiError, Result};
pub use rate_limit::SignupLimiter;

use crate::events::EventSource;
use crate::password::{Hasher, PasswordPolicy};
use crate::policy::Policy;
use crate::store::Store;
use axum::routing::{get, post};
use axum::Router;
use fingerprint::SecretKey;
use std::sync::Arc;
use std::time::Duration;

/// Everything a request handler needs, shared by all of them.
#[derive(Debug)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Where events come from.
    pub events: EventSource,
    /// The fraud policy, and its version recorded with every attempt.
    pub policy: Policy,
    /// `policy.hash()`, computed once.
    pub policy_hash: String,
    /// Password hashing.
    pub hasher: Hasher,
    /// Password rules.
    pub password: PasswordPolicy,
    /// Admin bearer token.
    pub admin_token: Option<SecretKey>,
    /// Webhook signing secret.
    pub webhook_secret: Option<SecretKey>,
    /// Per-client-IP signup rate limit, when configured.
    pub signup_limiter: Option<SignupLimiter>,
    /// Signups still running, which shutdown waits for.
    pub signups: crate::signup::InFlight,
    /// The time one signup may take, from its body to its answer.
    pub signup_timeout: Duration,
    /// The body limit, for the 413 message.
    pub max_body_bytes: usize,
    /// The in-process simulator in demo mode.
    pub demo: Option<fingerprint::simulator::Simulator>,
}

/// HTTP-level limits.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Largest body.
    pub max_body_bytes: usize,
    /// Whole-request time limit.
    pub request_timeout: Duration,
    /// CORS origins (empty: any origin, no credentials).
    pub cors_origins: Vec<String>,
}

/// The whole application router.
pub fn router(state: Arc<AppState>, limits: &HttpLimits) -> Router {
    let mut app = Router::new()
        .route("/health", get(health::health))
        .route("/api/accounts", get(accounts::list))
        .route("/api/attempts", get(attempts::list))
        .route("/api/webhooks/fingerprint", post(webhooks::receive));
    if state.demo.is_some() {
        app = app.merge(demo::routes());
    }
    let app = layers::with_deadline(app.fallback(|| async { ApiError::NotFound }), limits)
        .route("/api/create-account", post(signup::create_account));
    layers::apply(app, limits).with_state(state)
}
