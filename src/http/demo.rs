//! Demo mode only: a signup page and a stand-in for the browser agent's identify call.

use super::{ApiError, AppState, Result};
use axum::extract::{ConnectInfo, State};
use axum::response::Html;
use axum::routing::{get, post};
use axum::{Json, Router};
use fingerprint::simulator::{Identified, IdentifyRequest, Persona};
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

/// The personas the page offers.
#[derive(Debug, Serialize)]
struct Personas {
    personas: Vec<PersonaView>,
}

#[derive(Debug, Serialize)]
struct PersonaView {
    id: &'static str,
    description: &'static str,
}

async fn personas() -> Json<Personas> {
    let personas = Persona::ALL
        .iter()
        .map(|p| PersonaView {
            id: p.as_str(),
            description: p.description(),
        })
        .collect();
    Json(Personas { personas })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoIdentify {
    persona: String,
    visitor_id: Option<String>,
    #[serde(default)]
    sealed: bool,
}

/// What the JS agent does in a real page: identify the device and hand back a requestId (or a
/// sealed result). The event records the caller's IP and this page's URL, as the real one would.
async fn identify(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    body: Result<Json<DemoIdentify>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Identified>> {
    let simulator = state.demo.as_ref().ok_or(ApiError::NotFound)?;
    let Json(body) = body.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let persona = Persona::parse(&body.persona)
        .ok_or_else(|| ApiError::InvalidRequest(format!("unknown persona {:?}", body.persona)))?;
    let url = headers
        .get(axum::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(|origin| format!("{origin}/"));
    let mut identified = simulator.identify(IdentifyRequest {
        persona,
        visitor_id: body.visitor_id.filter(|v| !v.is_empty()),
        url,
        ip: Some(peer.ip().to_string()),
        ..IdentifyRequest::default()
    });
    if !body.sealed {
        identified.sealed_result = None;
    }
    Ok(Json(identified))
}
