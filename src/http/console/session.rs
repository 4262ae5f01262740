//! Signing in and out, and the checks every page and form passes.
//!
//! An analyst signs in with a named admin token. The server keeps the session in
//! `console_sessions` (under the SHA-256 of the cookie's random token, so every instance sees
//! it and sign-out ends it everywhere). The cookie `sg_console` is HttpOnly, SameSite=Strict,
//! Path=/console, and Secure when the request came over HTTPS (`X-Forwarded-Proto: https`; a
//! forged header could only add the Secure flag, which does no harm).
//!
//! Every form carries the session's CSRF token; a POST is refused (403, nothing changed) unless
//! the token matches, compared in constant time, and its `Origin`, when sent, is this host.

use super::super::admin::Analyst;
use super::super::AppState;
use super::{layout, see_other, ConsoleError, Page, Result};
use crate::store::{now_ms, CONSOLE_SESSION_MS};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use maud::html;
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;

const COOKIE: &str = "sg_console";

/// The signed-in analyst of a request.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who, by admin token name (`demo` in demo mode).
    pub analyst: Analyst,
    /// The token this session's forms carry.
    pub csrf: String,
    /// Demo mode: signed in without a token.
    pub demo: bool,
}

/// Without a live session a page redirects to the sign-in form, which sends the analyst back
/// to the page asked for once signed in.
pub struct SignIn(Option<String>);

impl IntoResponse for SignIn {
    fn into_response(self) -> Response {
        match self.0 {
            Some(next) => see_other(&format!(
                "/console/login?{}",
                serde_urlencoded::to_string([("next", next)]).unwrap_or_default()
            )),
            None => see_other("/console/login"),
        }
    }
}

/// Where to go after signing in: a console page of this host, never elsewhere (an open
/// redirect would lend the sign-in page to phishing).
fn next_page(next: Option<&str>) -> &str {
    next.filter(|n| {
        n.len() <= 2048
            && (*n == "/console" || n.starts_with("/console/") || n.starts_with("/console?"))
            && !n.contains("//")
            && !n.contains('\\')
            && !n.starts_with("/console/login")
            && n.bytes().all(|b| b.is_ascii_graphic())
    })
    .unwrap_or("/console")
}

impl FromRequestParts<Arc<AppState>> for Session {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> std::result::Result<Self, Self::Rejection> {
        // Forms post to where they came from; only a page is worth coming back to.
        let back = (parts.method == axum::http::Method::GET)
            .then(|| parts.uri.path_and_query().map(|p| p.as_str().to_owned()))
            .flatten();
        let Some(token) = cookie(&parts.headers) else {
            return Err(SignIn(back).into_response());
        };
        let found = state
            .store
            .console_session(&session_id(&token), now_ms())
            .await
            .map_err(|e| ConsoleError::from(e).into_response())?;
        match found {
            Some(session) if state.admin.knows(&session.analyst) => Ok(Session {
                analyst: Analyst(session.analyst),
                csrf: session.csrf,
                demo: state.admin.is_open(),
            }),
            _ => Err(SignIn(back).into_response()),
        }
    }
}

/// A form posted by a signed-in analyst, its CSRF token and origin checked.
pub struct Posted<T> {
    /// Who posted it.
    pub session: Session,
    /// The form's fields.
    pub form: T,
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

impl<T: DeserializeOwned + Send> FromRequest<Arc<AppState>> for Posted<T> {
    type Rejection = Response;

    async fn from_request(
        request: Request,
        state: &Arc<AppState>,
    ) -> std::result::Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let session = Session::from_request_parts(&mut parts, state).await?;
        if !same_origin(&parts.headers) {
            return Err(ConsoleError::Forbidden.into_response());
        }
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let given: CsrfField = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| ConsoleError::Forbidden.into_response())?;
        let matches: bool = given.csrf.as_bytes().ct_eq(session.csrf.as_bytes()).into();
        if !matches || session.csrf.is_empty() {
            return Err(ConsoleError::Forbidden.into_response());
        }
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            ConsoleError::BadRequest(format!("the form is incomplete: {e}")).into_response()
        })?;
        Ok(Posted { session, form })
    }
}

/// A cross-site form post carries its page's `Origin`: it must name this host. Browsers send
/// it on every POST, so its absence means a client that is not a browser (and has no cookie
/// from one).
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin = origin.to_str().ok().and_then(|o| url::Url::parse(o).ok());
    match (origin, host) {
        (Some(origin), Some(host)) => {
            let authority = match origin.port() {
                Some(port) => format!("{}:{port}", origin.host_str().unwrap_or_default()),
                None => origin.host_str().unwrap_or_default().to_owned(),
            };
            authority.eq_ignore_ascii_case(host)
        }
        _ => false,
    }
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

fn session_id(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn set_cookie(headers: &HeaderMap, value: &str, max_age_s: i64) -> HeaderValue {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    let secure = if https { "; Secure" } else { "" };
    let text = format!(
        "{COOKIE}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Creates a session and answers with its cookie, sending the analyst to `next` (checked by
/// [`next_page`]) or the overview.
async fn start(
    state: &AppState,
    headers: &HeaderMap,
    analyst: &Analyst,
    next: Option<&str>,
) -> Result<Response> {
    let token = random_hex();
    state
        .store
        .create_console_session(&session_id(&token), &analyst.0, &random_hex(), now_ms())
        .await?;
    tracing::info!(analyst = %analyst.0, "console sign-in");
    let mut response = see_other(next_page(next));
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(headers, &token, CONSOLE_SESSION_MS / 1000),
    );
    Ok(response)
}

/// Where the sign-in form was sent from.
#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// `GET /console/login`: the sign-in form; in demo mode, a session as `demo` at once.
pub async fn login_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<LoginQuery>,
) -> Result<Response> {
    let next = query.next.as_deref();
    if state.admin.is_open() {
        return start(&state, &headers, &Analyst("demo".into()), next).await;
    }
    Ok(login_form(None, next).into_response())
}

fn login_form(error: Option<&str>, next: Option<&str>) -> Page {
    let next = next_page(next);
    Page(layout::bare(
        "Sign in",
        html! {
            main.signin {
                h1 { "signup-guard console" }
                p { "Sign in with your named admin token (one of " code { "ADMIN_TOKENS" } ")." }
                @if let Some(error) = error {
                    p.error role="alert" { (error) }
                }
                form method="post" action="/console/login" {
                    label for="token" { "Admin token" }
                    input #token type="password" name="token" required autocomplete="current-password" autofocus;
                    input type="hidden" name="next" value=(next);
                    button type="submit" { "Sign in" }
                }
            }
        },
    ))
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
    next: Option<String>,
}

/// `POST /console/login`: a token that names an analyst starts a session.
pub async fn login(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<LoginForm>,
) -> Result<Response> {
    if !same_origin(&headers) {
        return Err(ConsoleError::Forbidden);
    }
    match state.admin.analyst_for(form.token.trim()) {
        Ok(analyst) => start(&state, &headers, &analyst, form.next.as_deref()).await,
        Err(_) => {
            tracing::info!("console sign-in refused: unknown token");
            let mut response = login_form(
                Some("That token is not one of the admin tokens."),
                form.next.as_deref(),
            )
            .into_response();
            *response.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
            Ok(response)
        }
    }
}

#[derive(Deserialize)]
pub struct Empty {}

/// `POST /console/logout`: ends the session on every instance and clears the cookie.
pub async fn logout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    posted: Posted<Empty>,
) -> Result<Response> {
    if let Some(token) = cookie(&headers) {
        state
            .store
            .delete_console_session(&session_id(&token))
            .await?;
    }
    tracing::info!(analyst = %posted.session.analyst.0, "console sign-out");
    let mut response = see_other("/console/login?signed_out");
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&headers, "", 0));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::next_page;

    #[test]
    fn only_console_pages_are_gone_back_to() {
        for (given, goes) in [
            (None, "/console"),
            (
                Some("/console/attempts?verdict=block"),
                "/console/attempts?verdict=block",
            ),
            (Some("/console"), "/console"),
            (Some("/console?range=week"), "/console?range=week"),
            (Some("https://evil.example/console"), "/console"),
            (Some("//evil.example/console"), "/console"),
            (Some("/console//evil.example"), "/console"),
            (Some("/console/\\evil"), "/console"),
            (Some("/consoleevil"), "/console"),
            (Some("/console/login?next=/console"), "/console"),
            (Some("/console/a b"), "/console"),
            (Some("/api/accounts"), "/console"),
        ] {
            assert_eq!(next_page(given), goes, "{given:?}");
        }
    }
}
