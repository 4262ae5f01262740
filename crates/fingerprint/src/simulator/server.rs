//! The HTTP face of the simulator: routes, authentication, injected faults, and the
//! background server behind [`SimulatorHandle`].

use super::{EventFetch, Fault, IdentifyRequest, Simulator};
use crate::ApiVersion;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Which generation a request addressed; errors are spelled differently in each.
#[derive(Clone, Copy, PartialEq)]
enum Api {
    V3,
    V4,
}

#[derive(Clone)]
struct App {
    sim: Simulator,
    /// Fires when the owning [`SimulatorHandle`] shuts down, so hung and delayed requests end
    /// and graceful shutdown does not wait on them forever. `None` for a bare [`Simulator::router`],
    /// whose lifetime is the caller's business.
    closing: Option<watch::Receiver<bool>>,
}

impl App {
    async fn closed(&self) {
        match &self.closing {
            // An error means the handle was dropped, which also means "stop".
            Some(closing) => drop(closing.clone().wait_for(|closing| *closing).await),
            None => std::future::pending().await,
        }
    }

    /// Sleeps for `d`; `false` if the server began shutting down first.
    async fn pause(&self, d: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(d) => true,
            () = self.closed() => false,
        }
    }
}

impl Simulator {
    /// The simulator's routes, for mounting in another axum app or serving yourself.
    ///
    /// A fault of kind [`Fault::Hang`] hangs requests served by this router until the client
    /// gives up; use [`Simulator::spawn`] when shutdown must also end them.
    pub fn router(&self) -> Router {
        self.router_with(None)
    }

    fn router_with(&self, closing: Option<watch::Receiver<bool>>) -> Router {
        let app = App {
            sim: self.clone(),
            closing,
        };
        Router::new()
            .route(
                "/v4/events/{event_id}",
                get(get_event_v4).patch(patch_event_v4),
            )
            .route("/events/{request_id}", get(get_event_v3))
            .route("/identify", post(identify))
            .route("/_sim/fault", post(set_fault))
            .route("/_sim/latency", post(set_latency))
            .with_state(app)
    }

    /// Binds `addr` (port 0 picks a free port) and serves [`Simulator::router`] in a
    /// background task until the returned handle is shut down or dropped.
    ///
    /// Must be called inside a Tokio runtime.
    pub async fn spawn(&self, addr: SocketAddr) -> std::io::Result<SimulatorHandle> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (closing_tx, closing_rx) = watch::channel(false);
        let router = self.router_with(Some(closing_rx.clone()));
        let mut signal = closing_rx;
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = signal.wait_for(|closing| *closing).await;
            };
            // axum documents that serving never returns an error; there is nothing to report.
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await;
        });
        Ok(SimulatorHandle {
            addr,
            closing: closing_tx,
            task: Some(task),
        })
    }
}

/// A running simulator server. Dropping it stops the server too.
#[derive(Debug)]
pub struct SimulatorHandle {
    /// The address actually bound (with the real port when port 0 was asked for).
    pub addr: SocketAddr,
    closing: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl SimulatorHandle {
    /// The base URL to point a client at, e.g. `http://127.0.0.1:41234`. An unspecified bind
    /// address (`0.0.0.0`, `::`) is reported as loopback, since that is what a local client
    /// can connect to.
    pub fn base_url(&self) -> String {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                Ipv4Addr::LOCALHOST.into()
            } else {
                Ipv6Addr::LOCALHOST.into()
            });
        }
        format!("http://{addr}")
    }

    /// Stops accepting connections and ends requests in flight, without waiting.
    pub fn shutdown(self) {
        // Dropping does the work; see `Drop`.
    }

    /// Like [`SimulatorHandle::shutdown`], and waits until the server task has finished, so
    /// the port is free again when it returns.
    pub async fn shutdown_and_wait(mut self) {
        let _ = self.closing.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimulatorHandle {
    fn drop(&mut self) {
        // `send` fails only when no receiver is left, i.e. the server is already gone.
        let _ = self.closing.send(true);
    }
}

/// The query `GET /v4/events/{event_id}` takes.
#[derive(Deserialize)]
struct EventQuery {
    /// A Rules Engine ruleset to evaluate; the answer then carries its `rule_action`.
    ruleset_id: Option<String>,
}

async fn get_event_v4(
    State(app): State<App>,
    Path(event_id): Path<String>,
    query: Result<Query<EventQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let Ok(Query(query)) = query else {
        return error(Api::V4, StatusCode::BAD_REQUEST);
    };
    serve_event(&app, Api::V4, &event_id, query.ruleset_id, &headers).await
}

/// `PATCH /v4/events/{event_id}`: Fingerprint takes `{"suspect": true}` (and `linked_id`,
/// `tag`) to tune its Suspect Score. The simulator records suspect reports for tests.
async fn patch_event_v4(
    State(app): State<App>,
    Path(event_id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    match app.sim.take_fault() {
        Some(Fault::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return error(Api::V4, status);
        }
        Some(Fault::Hang) => {
            app.closed().await;
            return error(Api::V4, StatusCode::SERVICE_UNAVAILABLE);
        }
        Some(Fault::Garbage) | None => {}
    }
    if let Some(refusal) = refusal(&app, Api::V4, &headers) {
        return refusal;
    }
    let Ok(update) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return error(Api::V4, StatusCode::BAD_REQUEST);
    };
    if !update.is_object() || update.as_object().is_some_and(|o| o.is_empty()) {
        return error(Api::V4, StatusCode::BAD_REQUEST);
    }
    let known = if update["suspect"] == serde_json::Value::Bool(true) {
        app.sim.report_suspect(&event_id)
    } else {
        app.sim.event_v4_json(&event_id).is_some()
    };
    if known {
        StatusCode::OK.into_response()
    } else {
        error(Api::V4, StatusCode::NOT_FOUND)
    }
}

async fn get_event_v3(
    State(app): State<App>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve_event(&app, Api::V3, &request_id, None, &headers).await
}

async fn serve_event(
    app: &App,
    api: Api,
    id: &str,
    ruleset_id: Option<String>,
    headers: &HeaderMap,
) -> Response {
    app.sim.record_fetch(EventFetch {
        event_id: id.to_owned(),
        api_version: match api {
            Api::V4 => ApiVersion::V4,
            Api::V3 => ApiVersion::V3,
        },
        ruleset_id: ruleset_id.clone(),
    });
    let latency = app.sim.latency();
    if !latency.is_zero() && !app.pause(latency).await {
        return error(api, StatusCode::SERVICE_UNAVAILABLE);
    }
    // Faults come before authentication: they stand for an outage in front of the API,
    // which answers the same whatever key the request carries.
    match app.sim.take_fault() {
        Some(Fault::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return error(api, status);
        }
        Some(Fault::Hang) => {
            app.closed().await;
            return error(api, StatusCode::SERVICE_UNAVAILABLE);
        }
        Some(Fault::Garbage) => {
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                "<html><body>502 Bad Gateway</body></html>",
            )
                .into_response();
        }
        None => {}
    }
    if let Some(refusal) = refusal(app, api, headers) {
        return refusal;
    }
    let body = match api {
        Api::V4 => app
            .sim
            .event_v4_json_with_ruleset(id, ruleset_id.as_deref()),
        Api::V3 => app.sim.event_v3_json(id),
    };
    match body {
        Some(body) => Json(body).into_response(),
        None => error(api, StatusCode::NOT_FOUND),
    }
}

/// Checks the key where each generation carries it (v4 `Authorization: Bearer <key>`,
/// v3 `Auth-API-Key: <key>`) and returns the 403 to send when it is missing or wrong.
fn refusal(app: &App, api: Api, headers: &HeaderMap) -> Option<Response> {
    let presented = match api {
        Api::V4 => headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                let (scheme, token) = value.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            }),
        Api::V3 => headers
            .get("auth-api-key")
            .and_then(|value| value.to_str().ok())
            .map(str::trim),
    };
    let Some(presented) = presented.filter(|key| !key.is_empty()) else {
        return Some(refused(api, false));
    };
    // Constant time, so response timing does not reveal how much of a guess was right.
    let expected = app.sim.shared.secret_key.expose().as_bytes();
    let matches = bool::from(presented.as_bytes().ct_eq(expected));
    (!matches).then(|| refused(api, true))
}

fn refused(api: Api, key_was_present: bool) -> Response {
    let (code, message) = match (api, key_was_present) {
        (Api::V4, false) => ("secret_api_key_required", "secret API key is required"),
        (Api::V4, true) => ("secret_api_key_not_found", "secret API key is not found"),
        (Api::V3, false) => ("TokenRequired", "secret key is required"),
        (Api::V3, true) => ("TokenNotFound", "secret key is not found"),
    };
    error_body(StatusCode::FORBIDDEN, code, message)
}

/// The error body each generation sends for a status, with the codes Fingerprint uses.
fn error(api: Api, status: StatusCode) -> Response {
    let (v4, v3, message) = match status.as_u16() {
        400 => (
            "request_cannot_be_parsed",
            "RequestCannotBeParsed",
            "request cannot be parsed",
        ),
        403 => (
            "secret_api_key_not_found",
            "TokenNotFound",
            "secret key is not found",
        ),
        404 if api == Api::V4 => ("event_not_found", "", "event id is not found"),
        404 => ("", "RequestNotFound", "request id is not found"),
        429 => ("too_many_requests", "TooManyRequests", "too many requests"),
        503 => ("service_unavailable", "Failed", "service unavailable"),
        _ => ("failed", "Failed", "internal server error"),
    };
    let code = if api == Api::V4 { v4 } else { v3 };
    let mut response = error_body(status, code, message);
    if status == StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    }
    response
}

fn error_body(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

fn bad_request(message: String) -> Response {
    error_body(
        StatusCode::BAD_REQUEST,
        "request_cannot_be_parsed",
        &message,
    )
}

async fn identify(State(app): State<App>, body: Bytes) -> Response {
    // Parsed by hand rather than with `Json` so that every malformed body is a 400 (axum
    // would answer 415 or 422 for some), and an empty body means "all defaults".
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        IdentifyRequest::default()
    } else {
        match serde_json::from_slice::<IdentifyRequest>(&body) {
            Ok(request) => request,
            Err(err) => return bad_request(format!("invalid identify request: {err}")),
        }
    };
    Json(app.sim.identify(request)).into_response()
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct FaultBody {
    status: Option<u16>,
    hang: bool,
    garbage: bool,
    times: Option<u32>,
}

async fn set_fault(State(app): State<App>, body: Bytes) -> Response {
    let parsed = if body.iter().all(u8::is_ascii_whitespace) {
        Ok(FaultBody::default())
    } else {
        serde_json::from_slice::<FaultBody>(&body)
    };
    let body = match parsed {
        Ok(body) => body,
        Err(err) => return bad_request(format!("invalid fault: {err}")),
    };
    let fault = match (body.status, body.hang, body.garbage) {
        (None, false, false) => None,
        (Some(status), false, false) if (100..=599).contains(&status) => {
            Some(Fault::Status(status))
        }
        (Some(status), false, false) => {
            return bad_request(format!("status {status} is not an HTTP status"))
        }
        (None, true, false) => Some(Fault::Hang),
        (None, false, true) => Some(Fault::Garbage),
        _ => return bad_request("set one of status, hang, garbage".to_owned()),
    };
    app.sim.set_fault(fault, body.times);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LatencyBody {
    ms: u64,
}

async fn set_latency(State(app): State<App>, body: Bytes) -> Response {
    match serde_json::from_slice::<LatencyBody>(&body) {
        Ok(body) => {
            app.sim.set_latency(Duration::from_millis(body.ms));
            StatusCode::NO_CONTENT.into_response()
        }
        Err(err) => bad_request(format!("invalid latency: {err}")),
    }
}
