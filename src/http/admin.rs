//! The admin area: every route here needs the admin bearer token, compared in constant time.
//! A new admin endpoint is added to [`routes`] and gets the check from there.

use super::{accounts, actions, attempts, deliveries, lists, reviews, ApiError, AppState};
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
    /// Callers with one of these bearer tokens, recorded under its name.
    Tokens(Vec<(String, SecretKey)>),
    /// Anyone, recorded as `demo`: demo mode without a token.
    Open,
    /// No one: without a token outside demo mode the routes answer 404, as if absent.
    Off,
}

/// The analyst a request acts for: the name of the admin token it carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analyst(pub String);

impl AdminAuth {
    /// The rule for the configured tokens and mode.
    pub fn new(tokens: Vec<(String, SecretKey)>, demo: bool) -> Self {
        match tokens.is_empty() {
            false => Self::Tokens(tokens),
            true if demo => Self::Open,
            true => Self::Off,
        }
    }

    /// Whether the routes are open to anyone.
    pub fn is_open(&self) -> bool {
        matches!(self, Self::Open)
    }

    /// Whether `name` may still act: an analyst whose token was taken out of `ADMIN_TOKENS`
    /// loses the console sessions it opened when the instances restart with the new setting.
    pub(super) fn knows(&self, name: &str) -> bool {
        match self {
            Self::Tokens(tokens) => tokens.iter().any(|(n, _)| n == name),
            Self::Open => name == "demo",
            Self::Off => false,
        }
    }

    fn check(&self, headers: &HeaderMap) -> Result<Analyst, ApiError> {
        self.analyst_for(super::bearer::given(headers))
    }

    /// The analyst whose token `given` is: the one check for the API's bearer token and the
    /// console's sign-in form.
    pub(super) fn analyst_for(&self, given: &str) -> Result<Analyst, ApiError> {
        let tokens = match self {
            Self::Tokens(tokens) => tokens,
            Self::Open => return Ok(Analyst("demo".into())),
            Self::Off => return Err(ApiError::NotFound),
        };
        // Every token is compared, so the time does not tell which name matched.
        let mut matched = None;
        for (name, token) in tokens {
            if super::bearer::is_one_of(given, std::slice::from_ref(token)) {
                matched = Some(name);
            }
        }
        matched
            .map(|name| Analyst(name.clone()))
            .ok_or(ApiError::Unauthorized)
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
        .routes(routes!(lists::list, lists::add))
        .routes(routes!(lists::remove))
        .routes(routes!(actions::list))
        .routes(routes!(reviews::queue))
        .routes(routes!(reviews::approve))
        .routes(routes!(reviews::ban))
        .routes(routes!(reviews::label))
        .route_layer(middleware::from_fn_with_state(state, require_admin))
}

async fn require_admin(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    match state.admin.check(request.headers()) {
        Ok(analyst) => {
            request.extensions_mut().insert(analyst);
            next.run(request).await
        }
        Err(error) => error.into_response(),
    }
}
