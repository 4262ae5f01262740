//! Demo mode only: a signup page and a stand-in for the browser agent's identify call.

use super::error_answers::{BadRequest, InternalError, PayloadTooLarge, Unavailable};
use super::{ApiError, AppState, Result};
use crate::policy::{self, Context, Finding};
use axum::extract::{ConnectInfo, State};
use axum::response::Html;
use axum::Json;
use fingerprint::event::{MAX_URL_LEN, MAX_VISITOR_ID_LEN};
use fingerprint::simulator::{Identified, IdentifyRequest, Persona};
use fingerprint::Event;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(page))
        .routes(routes!(personas))
        .routes(routes!(identify))
}

/// The demo signup page
#[utoipa::path(
    get,
    path = "/",
    tag = "demo",
    responses((status = 200, description = "The page.", content_type = "text/html", body = String))
)]
async fn page() -> Html<&'static str> {
    Html(include_str!("demo.html"))
}

/// The personas, and whether the admin views answer without a token (they do in demo mode
/// unless `ADMIN_TOKEN` is set), so the page's banner does not promise what is not so.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Personas {
    personas: Vec<PersonaView>,
    admin_open: bool,
}

#[derive(Debug, Serialize, ToSchema)]
struct PersonaView {
    #[schema(schema_with = persona_name)]
    id: &'static str,
    description: &'static str,
}

/// The simulator's persona names, as a string enum.
fn persona_name() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(Persona::ALL.iter().map(Persona::as_str)))
        .build()
}

/// The simulated devices
///
/// And whether the admin routes answer without a token.
#[utoipa::path(
    get,
    path = "/demo/personas",
    tag = "demo",
    responses((status = 200, description = "The personas.", body = Personas))
)]
async fn personas(State(state): State<Arc<AppState>>) -> Json<Personas> {
    let personas = Persona::ALL
        .iter()
        .map(|p| PersonaView {
            id: p.as_str(),
            description: p.description(),
        })
        .collect();
    Json(Personas {
        personas,
        admin_open: state.admin.is_open(),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DemoIdentify {
    #[schema(schema_with = persona_name)]
    persona: String,
    /// Identify as this device again, instead of a new one: printable ASCII, no spaces.
    #[schema(max_length = 64, pattern = "^[!-~]*$")]
    visitor_id: Option<String>,
    /// Also answer the event as a sealed result.
    #[serde(default)]
    sealed: bool,
}

/// The identify answer, plus what the policy finds in the event on its own.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DemoIdentified {
    request_id: String,
    /// The same as `requestId`, under its v4 name.
    event_id: String,
    visitor_id: String,
    #[schema(schema_with = persona_name)]
    persona: &'static str,
    /// With `"sealed": true`.
    sealed_result: Option<String>,
    /// Every rule the event fires under the configured policy, in rule order, with this
    /// request's IP and `Origin` and before the device's accounts are counted. A refusal names
    /// only its first code, so without this the page could not show the other signals.
    signals: Vec<Signal>,
}

/// A rule the event fires.
#[derive(Debug, Serialize, ToSchema)]
struct Signal {
    code: &'static str,
    /// The policy key that sets the rule's action.
    rule: &'static str,
    /// `allow`, `review` or `block`.
    action: &'static str,
    /// What the rule saw.
    detail: String,
}

impl DemoIdentified {
    fn new(identified: Identified, findings: Vec<Finding>) -> Self {
        let signals = findings
            .into_iter()
            .map(|f| Signal {
                code: f.code,
                rule: f.rule,
                action: f.action.as_str(),
                detail: f.detail,
            })
            .collect();
        Self {
            request_id: identified.request_id,
            event_id: identified.event_id,
            visitor_id: identified.visitor_id,
            persona: identified.persona.as_str(),
            sealed_result: identified.sealed_result,
            signals,
        }
    }
}

/// Play the browser agent
///
/// What the JS agent does in a real page: identify the device and hand back a requestId (or a
/// sealed result). The event records the caller's IP and this page's URL, as the real one would.
#[utoipa::path(
    post,
    path = "/demo/identify",
    tag = "demo",
    request_body = DemoIdentify,
    responses(
        (status = 200, description = "The ids to send to create-account, and the rules the event fires.", body = DemoIdentified),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable)
    )
)]
async fn identify(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    body: Result<Json<DemoIdentify>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<DemoIdentified>> {
    let simulator = state.demo.as_ref().ok_or(ApiError::NotFound)?;
    let Json(body) = body.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let persona = Persona::parse(&body.persona)
        .ok_or_else(|| ApiError::InvalidRequest(format!("unknown persona {:?}", body.persona)))?;
    let visitor_id = body.visitor_id.filter(|v| !v.is_empty());
    let origin = headers
        .get(axum::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // The simulated event must pass the bounds every event is read with, or reading it back
    // would fail as our fault (a 500) when the caller's input was at fault.
    if visitor_id
        .as_ref()
        .is_some_and(|v| v.len() > MAX_VISITOR_ID_LEN || !v.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(ApiError::InvalidRequest(format!(
            "visitorId must be at most {MAX_VISITOR_ID_LEN} printable ASCII characters, without spaces"
        )));
    }
    if origin.as_ref().is_some_and(|o| o.len() >= MAX_URL_LEN) {
        return Err(ApiError::InvalidRequest(format!(
            "the Origin header must be shorter than {MAX_URL_LEN} bytes"
        )));
    }
    let mut identified = simulator.identify(IdentifyRequest {
        persona,
        visitor_id,
        url: origin.as_ref().map(|origin| format!("{origin}/")),
        ip: Some(peer.ip().to_string()),
        ..IdentifyRequest::default()
    });
    if !body.sealed {
        identified.sealed_result = None;
    }
    // Read as the service will fetch it, with the ruleset it asks for.
    let ruleset = state.signups.events.client().config().ruleset_id.as_deref();
    let event = simulator
        .event_v4_json_with_ruleset(&identified.event_id, ruleset)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("the simulator lost its event")))
        .and_then(|v| Event::from_value(v).map_err(|e| ApiError::Internal(e.into())))?;
    let context = Context {
        client_ip: Some(peer.ip()),
        origin,
        now_ms: crate::store::now_ms(),
        device_accounts: 0,
        ..Context::default()
    };
    let findings = policy::decide(&state.signups.policy, &event, &context).findings;
    Ok(Json(DemoIdentified::new(identified, findings)))
}
