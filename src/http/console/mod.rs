//! The analyst console at `/console`: server-rendered HTML pages for people, over the same
//! store calls and actions as the admin API (so every change writes the same records).
//!
//! These routes are added with plain `.route(...)` and merged after the OpenAPI router is
//! split: they are pages, not API, and stay out of `/openapi.json`. Each page is one file;
//! [`session`] signs analysts in and checks every form's CSRF token and origin.

mod attempts;
mod chart;
mod deliveries;
mod device;
mod layout;
mod lists;
mod overview;
mod policy;
mod reviews;
mod session;

use super::{ApiError, AppState};
use crate::settings::HttpConfig;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::html;
use std::sync::Arc;

/// The console's pages and form targets; none when the admin area is off (no token outside
/// demo mode), so `/console` answers 404 like the admin API.
pub fn routes(state: &AppState) -> Router<Arc<AppState>> {
    if matches!(state.admin, super::AdminAuth::Off) {
        return Router::new();
    }
    let pages = Router::new()
        .route("/console", get(overview::page))
        .route("/console/", get(|| async { Redirect::to("/console") }))
        .route(
            "/console/login",
            get(session::login_page).post(session::login),
        )
        .route("/console/logout", post(session::logout))
        .route("/console/attempts", get(attempts::list))
        .route("/console/attempts/{id}", get(attempts::detail))
        .route("/console/attempts/{id}/label", post(attempts::label))
        .route("/console/reviews", get(reviews::queue))
        .route("/console/reviews/{id}", post(reviews::resolve))
        .route("/console/devices/{visitor_id}", get(device::page))
        .route("/console/lists", get(lists::page).post(lists::add))
        .route("/console/lists/{id}/expire", post(lists::expire))
        .route("/console/lists/{id}/remove", post(lists::remove))
        .route("/console/policy", get(policy::page))
        .route(
            "/console/policy/backtest",
            // A candidate of up to 64 KiB, form-encoded (which can triple its size).
            post(policy::backtest).layer(DefaultBodyLimit::max(policy::MAX_FORM_BYTES)),
        )
        .route("/console/deliveries", get(deliveries::page))
        .route("/console/console.css", get(stylesheet))
        .route("/console/console.js", get(script))
        .route("/console/favicon.svg", get(favicon));
    with_deadline(pages, &state.limits)
}

/// The same request deadline as the admin API (`layers::deadline`).
fn with_deadline(router: Router<Arc<AppState>>, limits: &HttpConfig) -> Router<Arc<AppState>> {
    let timeout = limits.request_timeout;
    router.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            super::layers::deadline(timeout, req, next)
        },
    ))
}

const CSS: &str = include_str!("console.css");
const JS: &str = include_str!("console.js");
const ICON: &str = include_str!("favicon.svg");

async fn favicon() -> Response {
    asset(ICON, "image/svg+xml")
}

async fn stylesheet() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

async fn script() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}

fn asset(body: &'static str, kind: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// The headers every console page carries: nothing from elsewhere may load or frame it, and
/// pages with analysts' data are not cached.
fn page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A page, with the console's headers.
pub(super) struct Page(maud::Markup);

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        page_headers(self.0.into_response())
    }
}

/// Why a console request failed, answered as a page a person can read.
#[derive(Debug)]
pub(super) enum ConsoleError {
    /// A form's input was refused; the message says why.
    BadRequest(String),
    /// No such thing.
    NotFound,
    /// A form without this session's token, or from another site.
    Forbidden,
    /// The database or another dependency failed.
    Unavailable,
}

impl From<ApiError> for ConsoleError {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::InvalidRequest(why) => Self::BadRequest(why),
            ApiError::NotFound => Self::NotFound,
            other => {
                tracing::warn!(error = ?other, "console request failed");
                Self::Unavailable
            }
        }
    }
}

impl From<crate::store::StoreError> for ConsoleError {
    fn from(error: crate::store::StoreError) -> Self {
        ApiError::from(error).into()
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, title, text) = match self {
            Self::BadRequest(why) => (StatusCode::BAD_REQUEST, "Not done", why),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing at this address.".to_owned(),
            ),
            Self::Forbidden => (
                StatusCode::FORBIDDEN,
                "Refused: the form did not come from this console",
                "The form lacked this session's security token, or was sent from another \
                 site. Nothing was changed. Reload the page and try again."
                    .to_owned(),
            ),
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Unavailable",
                "The database did not answer. Nothing may have changed; try again shortly."
                    .to_owned(),
            ),
        };
        let body = layout::bare(
            title,
            html! {
                h1 { (title) }
                p.error role="alert" { (text) }
                p { a href="/console" { "Back to the console" } }
            },
        );
        (status, Page(body)).into_response()
    }
}

type Result<T, E = ConsoleError> = std::result::Result<T, E>;

/// A redirect after a form, to the page that shows its result (303: the browser GETs it).
fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A time for people: UTC, to the second.
fn when(ms: i64) -> String {
    let text = crate::time::rfc3339(ms);
    text.replace('T', " ")
        .trim_end_matches('Z')
        .split('.')
        .next()
        .unwrap_or_default()
        .to_owned()
        + " UTC"
}

/// A count for people: 20,000, not 20000.
fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut text = String::new();
    for (k, digit) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    if n < 0 {
        text.insert(0, '-');
    }
    text
}

/// Percent-encodes a value for a query string or path segment.
fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_are_grouped_by_thousands() {
        for (n, text) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (20_000, "20,000"),
            (1_234_567, "1,234,567"),
            (-5000, "-5,000"),
        ] {
            assert_eq!(super::count(n), text);
        }
    }
}
