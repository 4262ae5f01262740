//! Demo mode only: a signup page and a stand-in for the browser agent's identify call.

use super::{ApiError, AppState, Result};
use crate::policy::{self, Context, Finding};
use axum::extract::{ConnectInfo, State};
use axum::response::Html;
use axum::routing::{get, post};
use axum::{Json, Router};
use fingerprint::simulator::{Identified, IdentifyRequest, Persona};
use fingerprint::Event;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(page))
        .route("/demo/personas", get(personas))
        .route("/demo/identify", post(identify))
}

async fn page() -> Html<&'static str> {
    Html(include_str!("demo.html"))
}

/// The personas, and whether the admin views answer without a token (they do in demo mode
/// unless `ADMIN_TOKEN` is set), so the page's banner does not promise what is not so.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Personas {
    personas: Vec<PersonaView>,
    admin_open: bool,
}

#[derive(Debug, Serialize)]
struct PersonaView {
    id: &'static str,
    description: &'static str,
}

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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoIdentify {
    persona: String,
    visitor_id: Option<String>,
    #[serde(default)]
    sealed: bool,
}

/// The identify answer, plus what the policy finds in the event on its own.
#[derive(Debug, Serialize)]
struct DemoIdentified {
    #[serde(flatten)]
    identified: Identified,
    /// Every rule the event fires under the configured policy, in rule order, with this
    /// request's IP and `Origin` and before the device's accounts are counted. A refusal names
    /// only its first code, so without this the page could not show the other signals.
    signals: Vec<Finding>,
}

/// What the JS agent does in a real page: identify the device and hand back a requestId (or a
/// sealed result). The event records the caller's IP and this page's URL, as the real one would.
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
    let origin = headers
        .get(axum::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut identified = simulator.identify(IdentifyRequest {
        persona,
        visitor_id: body.visitor_id.filter(|v| !v.is_empty()),
        url: origin.as_ref().map(|origin| format!("{origin}/")),
        ip: Some(peer.ip().to_string()),
        ..IdentifyRequest::default()
    });
    if !body.sealed {
        identified.sealed_result = None;
    }
    let event = simulator
        .event_v4_json(&identified.event_id)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("the simulator lost its event")))
        .and_then(|v| Event::from_value(v).map_err(|e| ApiError::Internal(e.into())))?;
    let context = Context {
        client_ip: Some(peer.ip()),
        origin,
        now_ms: crate::store::now_ms(),
        device_accounts: 0,
        ..Context::default()
    };
    let signals = policy::evaluate(&state.signups.policy, &event, &context).findings;
    Ok(Json(DemoIdentified {
        identified,
        signals,
    }))
}
