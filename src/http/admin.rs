//! The admin area: every route here needs the admin bearer token, compared in constant time.
//! A new admin endpoint is added to [`routes`] and gets the check from there.

use super::{accounts, attempts, deliveries, ApiError, AppState};
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use fingerprint::SecretKey;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Who may call the admin routes.
#[derive(Debug, Clone)]
pub enum AdminAuth {
    /// Callers with this bearer token.
    Token(SecretKey),
    /// Anyone: demo mode without a token.
    Open,
    /// No one: without a token outside demo mode the routes answer 404, as if absent.
    Off,
}

impl AdminAuth {
    /// The rule for a configured token (if any) and mode.
    pub fn new(token: Option<SecretKey>, demo: bool) -> Self {
        match token {
            Some(token) => Self::Token(token),
            None if demo => Self::Open,
            None => Self::Off,
        }
    }

    /// Whether the routes are open to anyone.
    pub fn is_open(&self) -> bool {
        matches!(self, Self::Open)
    }

    fn check(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let expected = match self {
            Self::Token(token) => token,
            Self::Open => return Ok(()),
            Self::Off => return Err(ApiError::NotFound),
        };
        let matches = super::bearer::is_one_of(
            super::bearer::given(headers),
            std::slice::from_ref(expected),
        );
        if matches {
            Ok(())
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

/// The admin routes, behind the token check.
/// Each handler's `#[utoipa::path]` names `security(("admin_token" = []))` and the 401 and 404
/// this check answers.
pub fn routes(state: Arc<AppState>) -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(accounts::list))
        .routes(routes!(attempts::list))
        .routes(routes!(deliveries::list))
        .route_layer(middleware::from_fn_with_state(state, require_admin))
}

async fn require_admin(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    match state.admin.check(request.headers()) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}
