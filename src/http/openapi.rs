//! `GET /openapi.json`: the OpenAPI 3.1 document. Nothing in it is written apart from the code:
//! each handler carries its `#[utoipa::path]`, each route is added from that attribute with
//! `utoipa_axum::routes!`, and the document is what the router collected on the way. A route
//! cannot be served without its entry, nor listed without being served.

use super::error_answers::{
    BadRequest, Conflict, Forbidden, InternalError, MethodNotAllowed, NotFound, PayloadTooLarge,
    TooManyRequests, Unauthorized, Unavailable,
};
use super::AppState;
use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use std::sync::Arc;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What the document says before the routes add theirs.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "signup-guard",
        description = "Stops fake account creation with Fingerprint device intelligence.

Every error is `{\"error\": \"<message>\", \"code\": \"<code>\"}`, plus `visitorId` and \
`identity` with `device_limit` and `botResult` with `bot_detected`. The `code` is stable; each status lists \
the codes it can carry. A path asked with a method it does not take answers 405 \
`method_not_allowed` (`components.responses.MethodNotAllowed`), an unknown path 404 \
`not_found`. A route turned off by its settings (no `ADMIN_TOKEN` outside demo mode, no \
`API_TOKENS`, no `METRICS_TOKEN`, no `FINGERPRINT_WEBHOOK_SECRET`) answers 404 as if absent.

The interactive reference is at [/docs](/docs/)."
    ),
    components(responses(
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        Conflict,
        PayloadTooLarge,
        TooManyRequests,
        InternalError,
        Unavailable
    )),
    modifiers(&SecuritySchemes),
    tags(
        (name = "signup", description = "Account creation, for apps that hand signup-guard their signups."),
        (name = "decisions", description = "Decisions for apps that keep their own users: server to server, with an API token."),
        (name = "admin", description = "The accounts, the audit trail and the decision webhooks' outbox, with the admin token."),
        (name = "operations", description = "Health and Prometheus metrics."),
        (name = "webhooks", description = "Events Fingerprint pushes."),
        (name = "demo", description = "Demo mode only: the signup page and the simulated browser agent."),
        (name = "docs", description = "This document and the interactive reference.")
    )
)]
pub struct ApiDoc;

/// The security schemes the routes name in their `security(..)`.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(description))
                    .build(),
            )
        };
        components.add_security_scheme(
            "admin_token",
            bearer("`ADMIN_TOKEN`. In demo mode without one, the admin routes are open."),
        );
        components.add_security_scheme(
            "api_token",
            bearer("One of `API_TOKENS`, for the decision API. Admin tokens are not API tokens."),
        );
        components.add_security_scheme("metrics_token", bearer("`METRICS_TOKEN`."));
        components.add_security_scheme(
            "fingerprint_signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "fpjs-event-signature",
                "Fingerprint's HMAC-SHA256 of the raw body with `FINGERPRINT_WEBHOOK_SECRET`.",
            ))),
        );
    }
}

/// The document, serialized once, when the router is built.
#[derive(Debug, Clone)]
pub struct Document(Bytes);

impl Document {
    /// Serializes the document the router collected.
    pub fn new(api: &utoipa::openapi::OpenApi) -> Self {
        // Every part of the document is strings, maps and numbers: it always serializes.
        Self(serde_json::to_vec(api).unwrap_or_default().into())
    }
}

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(document))
}

/// This document
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "docs",
    responses((status = 200, description = "The OpenAPI 3.1 document of this instance's routes.", body = Object))
)]
async fn document(Extension(document): Extension<Document>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document.0.clone(),
    )
        .into_response()
}
