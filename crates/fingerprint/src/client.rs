//! Fetching events from the Server API, with deadlines and bounded retries.

mod retry;

use crate::{ApiVersion, Event, FingerprintError, SecretKey};
use reqwest::{StatusCode, Url};
use std::time::Duration;
use tokio::time::Instant;

pub use retry::RetryPolicy;

/// A Fingerprint region. It decides which API host serves the workspace's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Region {
    /// Global / US: `https://api.fpjs.io`.
    #[default]
    Us,
    /// EU: `https://eu.api.fpjs.io`.
    Eu,
    /// Asia-Pacific: `https://ap.api.fpjs.io`.
    Ap,
}

impl Region {
    /// The region's API origin.
    pub fn base_url(self) -> &'static str {
        match self {
            Region::Us => "https://api.fpjs.io",
            Region::Eu => "https://eu.api.fpjs.io",
            Region::Ap => "https://ap.api.fpjs.io",
        }
    }

    /// Reads `us`, `eu` or `ap` (case-insensitive; `global` is an alias of `us`).
    pub fn parse(value: &str) -> Option<Region> {
        match value.trim().to_ascii_lowercase().as_str() {
            "us" | "global" => Some(Region::Us),
            "eu" => Some(Region::Eu),
            "ap" | "asia" => Some(Region::Ap),
            _ => None,
        }
    }
}

/// Client settings. Build with [`ClientConfig::new`] and adjust the public fields.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The secret API key.
    pub secret_key: SecretKey,
    /// Which regional API host to call, unless `base_url` overrides it.
    pub region: Region,
    /// Which API generation to call. v4 is the default; v3 shuts down on 2027-01-07.
    pub api_version: ApiVersion,
    /// An origin (`scheme://host[:port]`) that replaces the region's host: a proxy, a test stub
    /// or the simulator.
    pub base_url: Option<String>,
    /// How long to wait for a TCP/TLS connection.
    pub connect_timeout: Duration,
    /// The total time one [`Client::get_event`] call may take, retries included.
    pub deadline: Duration,
    /// How long one try may go unanswered before a second try is raced beside it (the first
    /// is kept, and the first success wins); `None` means half the deadline, so that a hung
    /// connection leaves time for a second try.
    pub attempt_timeout: Option<Duration>,
    /// How many times a transient failure is retried, and how long to wait between tries.
    pub retry: RetryPolicy,
    /// A Rules Engine ruleset to evaluate each fetched event against (`?ruleset_id=`), so the
    /// event carries the ruleset's `rule_action`. Server API v4 only.
    pub ruleset_id: Option<String>,
}

impl ClientConfig {
    /// Defaults: region us, API v4, 1 s to connect, 3 s in all (a second try raced after
    /// 1.5 s without an answer), 2 retries.
    pub fn new(secret_key: SecretKey) -> Self {
        Self {
            secret_key,
            region: Region::Us,
            api_version: ApiVersion::V4,
            base_url: None,
            connect_timeout: Duration::from_secs(1),
            deadline: Duration::from_secs(3),
            attempt_timeout: None,
            retry: RetryPolicy::default(),
            ruleset_id: None,
        }
    }
}

/// Why a [`Client`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    /// The base URL override is not an `http(s)://host[:port]` origin.
    #[error(
        "invalid Fingerprint API base URL {0:?}: expected an origin such as http://127.0.0.1:9000"
    )]
    InvalidBaseUrl(String),
    /// The HTTP client could not be created (TLS backend failure).
    #[error("cannot create the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    /// A ruleset id was given for Server API v3, which has no Rules Engine.
    #[error("a Rules Engine ruleset needs Server API v4; v3 has no ruleset_id")]
    RulesetNeedsV4,
    /// The ruleset id is empty, too long or has characters no ruleset id has.
    #[error(
        "invalid ruleset id {0:?}: expected 1 to 128 letters, digits, `_` or `-`, as the dashboard shows it"
    )]
    InvalidRulesetId(String),
}

/// A Server API client. Cheap to clone: clones share one connection pool, so create one per process.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    origin: Url,
    config: ClientConfig,
}

/// The API's error code for a `ruleset_id` that names no ruleset of the workspace. It comes as
/// a [`FingerprintError::Forbidden`] whatever the status, since no event can be fetched until
/// an operator fixes the ruleset id.
pub const RULESET_NOT_FOUND_CODE: &str = "ruleset_not_found";

/// The code of a [`FingerprintError::Forbidden`] that stands for a redirect.
pub const REDIRECT_CODE: &str = "Redirect";

/// A per-try limit below this would race tries before any answer could arrive.
const MIN_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(10);

/// Bodies larger than this are not events (nor error bodies); refusing them bounds memory.
const MAX_BODY_BYTES: usize = crate::event::MAX_EVENT_BYTES;

/// The code of a [`FingerprintError::Forbidden`] that stands for an HTTP status the events
/// endpoint does not document (410, 418, 405, ...): whatever answered is not the Server API
/// as configured, so an operator must look at the base URL, a proxy or the API version.
pub const UNEXPECTED_STATUS_CODE: &str = "UnexpectedStatus";

impl Client {
    /// Builds a client with its own connection pool.
    pub fn new(config: ClientConfig) -> Result<Self, ClientBuildError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            // A redirect would carry v3's `Auth-API-Key` header to another host (reqwest strips
            // only `Authorization`); the API never redirects, so one is treated as a failure.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "signup-guard-fingerprint/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()?;
        Self::with_http_client(config, http)
    }

    /// Builds a client on an existing `reqwest::Client`, to share its pool.
    pub fn with_http_client(
        config: ClientConfig,
        http: reqwest::Client,
    ) -> Result<Self, ClientBuildError> {
        let raw = config
            .base_url
            .as_deref()
            .unwrap_or(config.region.base_url());
        let origin =
            parse_origin(raw).ok_or_else(|| ClientBuildError::InvalidBaseUrl(raw.into()))?;
        if let Some(ruleset) = &config.ruleset_id {
            if config.api_version != ApiVersion::V4 {
                return Err(ClientBuildError::RulesetNeedsV4);
            }
            if !is_valid_ruleset_id(ruleset) {
                return Err(ClientBuildError::InvalidRulesetId(ruleset.clone()));
            }
        }
        Ok(Self {
            http,
            origin,
            config,
        })
    }

    /// The settings this client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The URL an event id is fetched from.
    pub fn event_url(&self, event_id: &str) -> String {
        let base = self.origin.as_str().trim_end_matches('/');
        match self.config.api_version {
            ApiVersion::V4 => format!("{base}/v4/events/{event_id}"),
            ApiVersion::V3 => format!("{base}/events/{event_id}"),
        }
    }

    /// Fetches and normalizes one identification event.
    ///
    /// Transient failures (5xx, timeouts, refused connections, 429) are retried with jittered
    /// backoff; a 404 is retried once after a short pause because an event can lag behind
    /// identification. A try still unanswered after the per-try limit is raced by a second
    /// one, so a hung connection is worked around while a merely slow answer can still win.
    /// Everything happens inside the configured deadline.
    #[tracing::instrument(skip_all, fields(event_id = tracing::field::Empty))]
    pub async fn get_event(&self, event_id: &str) -> Result<Event, FingerprintError> {
        if !is_valid_event_id(event_id) {
            return Err(FingerprintError::InvalidEventId);
        }
        // Recorded only once validated: a raw id could forge lines in text logs.
        tracing::Span::current().record("event_id", event_id);
        let deadline = Instant::now() + self.config.deadline;
        let per_try = self
            .config
            .attempt_timeout
            .unwrap_or(self.config.deadline / 2)
            .max(MIN_ATTEMPT_TIMEOUT);
        let mut state = retry::Attempts::new(&self.config.retry);
        loop {
            let outcome =
                match tokio::time::timeout_at(deadline, self.hedged(event_id, per_try)).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err(FingerprintError::Unavailable(format!(
                        "no answer within the {:?} deadline",
                        self.config.deadline
                    ))),
                };
            match state.next_wait(&outcome, deadline) {
                Some(wait) => {
                    tracing::debug!(error = ?outcome.as_ref().err(), ?wait, "retrying Fingerprint API call");
                    tokio::time::sleep(wait).await;
                }
                None => return outcome,
            }
        }
    }

    /// Tells Fingerprint the event was fraud (`PATCH /v4/events/{id}` `{"suspect": true}`),
    /// which it uses to tune the Suspect Score. One try within the deadline: the caller keeps
    /// the report in an outbox and retries. v4 only; on v3 it is refused without a call.
    pub async fn report_suspect(&self, event_id: &str) -> Result<(), FingerprintError> {
        if !is_valid_event_id(event_id) {
            return Err(FingerprintError::InvalidEventId);
        }
        if self.config.api_version != ApiVersion::V4 {
            return Err(FingerprintError::Forbidden {
                code: Some(UNEXPECTED_STATUS_CODE.into()),
                message: "suspect reports need Server API v4".into(),
            });
        }
        let request = self
            .http
            .patch(self.event_url(event_id))
            .bearer_auth(self.config.secret_key.expose())
            .json(&serde_json::json!({ "suspect": true }))
            .send();
        let response = tokio::time::timeout(self.config.deadline, request)
            .await
            .map_err(|_| FingerprintError::Unavailable("no answer within the deadline".into()))?
            .map_err(transport_error)?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = retry::retry_after(response.headers());
        let body = response.bytes().await.unwrap_or_default();
        let body = &body[..body.len().min(MAX_BODY_BYTES)];
        Err(classify(status, body, retry_after))
    }

    /// One try, and a second one beside it if the first has not answered after `per_try`.
    /// The first stays alive: cutting it would turn every answer slower than `per_try` into
    /// a failure. The first success wins; a failure waits for the other try.
    async fn hedged(&self, event_id: &str, per_try: Duration) -> Result<Event, FingerprintError> {
        let first = self.attempt(event_id);
        tokio::pin!(first);
        if let Ok(outcome) = tokio::time::timeout(per_try, &mut first).await {
            return outcome;
        }
        tracing::debug!(?per_try, "no answer yet; racing a second try");
        let second = self.attempt(event_id);
        tokio::pin!(second);
        tokio::select! {
            outcome = &mut first => match outcome {
                Ok(event) => Ok(event),
                Err(_) => second.await,
            },
            outcome = &mut second => match outcome {
                Ok(event) => Ok(event),
                Err(_) => first.await,
            },
        }
    }

    async fn attempt(&self, event_id: &str) -> Result<Event, FingerprintError> {
        let key = self.config.secret_key.expose();
        let mut request = self.http.get(self.event_url(event_id));
        if let Some(ruleset) = &self.config.ruleset_id {
            request = request.query(&[("ruleset_id", ruleset)]);
        }
        let request = match self.config.api_version {
            ApiVersion::V4 => request.bearer_auth(key),
            ApiVersion::V3 => request.header("Auth-API-Key", key),
        };
        let mut response = request.send().await.map_err(transport_error)?;
        let status = response.status();
        let retry_after = retry::retry_after(response.headers());
        let too_large = || {
            FingerprintError::Unavailable(format!(
                "HTTP {status} with a body over the {MAX_BODY_BYTES}-byte limit for an event"
            ))
        };
        if response
            .content_length()
            .is_some_and(|len| len > MAX_BODY_BYTES as u64)
        {
            return Err(too_large());
        }
        // Read chunk by chunk: without a Content-Length the size is only known as it arrives.
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        if status == StatusCode::OK {
            let parsed = match self.config.api_version {
                ApiVersion::V4 => Event::from_v4_json(&body),
                ApiVersion::V3 => Event::from_v3_json_with_request_id(&body, event_id),
            };
            return parsed
                .map_err(|e| FingerprintError::Unavailable(format!("unreadable event: {e}")));
        }
        Err(classify(status, &body, retry_after))
    }
}

fn transport_error(error: reqwest::Error) -> FingerprintError {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "transport error"
    };
    FingerprintError::Unavailable(format!("{kind}: {error}"))
}

/// Maps a non-200 answer to an error by its status. The body only adds the API's code and message,
/// and is read leniently: proxies answer with HTML, and v3 has two error shapes.
///
/// Only what the events endpoint documents speaks about the event. `GET /v4/events/{id}`
/// documents 400 (the event id is not valid), 403, 404 (no such event), 429 and 500; v3's
/// `GET /events/{id}` documents 403 and 404 (and 400 `RequestCannotBeParsed` on the same path).
/// Every other status comes from something that is not the API answering about this event,
/// so it must never tell our user that their event does not exist.
fn classify(status: StatusCode, body: &[u8], retry_after: Option<Duration>) -> FingerprintError {
    let (code, message) = error_details(body);
    let message = message.unwrap_or_else(|| status.to_string());
    // The one body code that outranks its status: a missing ruleset fails every fetch, and
    // must never read as "no such event" (404) or as the caller's bad id (400).
    if matches!(status.as_u16(), 400 | 404) && code.as_deref() == Some(RULESET_NOT_FOUND_CODE) {
        return FingerprintError::Forbidden { code, message };
    }
    match status.as_u16() {
        // The API never redirects: a redirect means the base URL or region is wrong, which
        // retrying cannot fix.
        300..=399 => FingerprintError::Forbidden {
            code: Some(REDIRECT_CODE.into()),
            message: format!(
                "the API answered {status} with a redirect; check the base URL and region"
            ),
        },
        404 => FingerprintError::NotFound,
        400 => FingerprintError::BadRequest { code, message },
        401 | 403 => FingerprintError::Forbidden { code, message },
        429 => FingerprintError::RateLimited { retry_after },
        // 408 (a server or proxy gave up waiting for our request) and 425 (too early to
        // replay) say "try again": transient, so retried like a timeout.
        408 | 425 => FingerprintError::Unavailable(format!(
            "HTTP {status}: the API or a proxy timed out our request"
        )),
        // Any other 4xx (410 Gone, 418, 405, 409, 407 proxy authentication, ...) is not
        // something the events endpoint answers. The same request will get the same answer,
        // so retrying is useless, and the event may well exist: what is wrong is where we
        // send requests (base URL, a proxy in between, a retired API version). That is a
        // misconfiguration an operator must fix, which `Forbidden` already stands for (as for a
        // redirect); the code tells it apart from a refused key. The body is not quoted: it
        // comes from whatever answered, not from the API.
        401..=499 => FingerprintError::Forbidden {
            code: Some(UNEXPECTED_STATUS_CODE.into()),
            message: format!(
                "the API answered {status}, which its events endpoint never does; check the \
                 base URL, any proxy in front of the API, and the API version"
            ),
        },
        _ => FingerprintError::Unavailable(format!("HTTP {status}")),
    }
}

fn error_details(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return (None, None);
    };
    let error = &value["error"];
    if let Some(text) = error.as_str() {
        return (None, Some(text.to_owned()));
    }
    let text = |key: &str| error[key].as_str().map(str::to_owned);
    (text("code"), text("message"))
}

fn parse_origin(raw: &str) -> Option<Url> {
    let url = Url::parse(raw.trim()).ok()?;
    let is_origin = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.path() == "/"
        && url.query().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    is_origin.then_some(url)
}

/// Whether `id` can be an event id. Real ids look like `1708102555327.NLOjmg`; anything outside
/// this alphabet could change the URL path (`..` included), so it never reaches the network.
pub fn is_valid_event_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id.bytes().any(|b| b.is_ascii_alphanumeric())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// Whether `id` can be a ruleset id (`rs_b1k1blhqpOX3kU` in Fingerprint's examples). Checked
/// once when the client is built, so a typo is a startup error rather than a failed signup.
fn is_valid_ruleset_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_map_to_their_hosts() {
        assert_eq!(
            Region::parse("EU").unwrap().base_url(),
            "https://eu.api.fpjs.io"
        );
        assert_eq!(
            Region::parse("ap").unwrap().base_url(),
            "https://ap.api.fpjs.io"
        );
        assert_eq!(
            Region::parse("us").unwrap().base_url(),
            "https://api.fpjs.io"
        );
        assert_eq!(Region::parse("mars"), None);
    }

    #[test]
    fn event_urls_follow_the_api_generation() {
        let mut config = ClientConfig::new(SecretKey::new("k"));
        config.base_url = Some("http://127.0.0.1:9000".into());
        let v4 = Client::new(config.clone()).unwrap();
        assert_eq!(v4.event_url("a.b"), "http://127.0.0.1:9000/v4/events/a.b");
        config.api_version = ApiVersion::V3;
        let v3 = Client::new(config).unwrap();
        assert_eq!(v3.event_url("a.b"), "http://127.0.0.1:9000/events/a.b");
        let eu = ClientConfig {
            region: Region::Eu,
            ..ClientConfig::new(SecretKey::new("k"))
        };
        assert_eq!(
            Client::new(eu).unwrap().event_url("x"),
            "https://eu.api.fpjs.io/v4/events/x"
        );
    }

    #[test]
    fn base_url_must_be_an_origin() {
        for bad in [
            "ftp://host",
            "not a url",
            "http://host/path",
            "http://u:p@host",
            "http://:p@host",
            "http://host?x=1",
        ] {
            let config = ClientConfig {
                base_url: Some(bad.into()),
                ..ClientConfig::new(SecretKey::new("k"))
            };
            assert!(Client::new(config).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn event_ids_outside_the_alphabet_are_refused() {
        assert!(is_valid_event_id("1708102555327.NLOjmg"));
        for bad in [
            "",
            ".",
            "..",
            "-_.",
            "../admin",
            "a/b",
            "a b",
            "a?x=1",
            &"x".repeat(129),
        ] {
            assert!(!is_valid_event_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn errors_are_classified_by_status_not_body() {
        let html = b"<html>bad gateway</html>";
        assert!(matches!(
            classify(StatusCode::NOT_FOUND, html, None),
            FingerprintError::NotFound
        ));
        assert!(matches!(
            classify(StatusCode::BAD_GATEWAY, html, None),
            FingerprintError::Unavailable(_)
        ));
        let body = br#"{"error":{"code":"WrongRegion","message":"wrong region"}}"#;
        match classify(StatusCode::FORBIDDEN, body, None) {
            FingerprintError::Forbidden { code, message } => {
                assert_eq!(code.as_deref(), Some("WrongRegion"));
                assert_eq!(message, "wrong region");
            }
            other => panic!("{other:?}"),
        }
        let plain = br#"{"error":"bad visitor id"}"#;
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, plain, None),
            FingerprintError::BadRequest { message, .. } if message == "bad visitor id"
        ));
        let wait = Some(Duration::from_secs(2));
        assert!(matches!(
            classify(StatusCode::TOO_MANY_REQUESTS, b"", wait),
            FingerprintError::RateLimited { retry_after } if retry_after == wait
        ));
    }

    #[test]
    fn a_missing_ruleset_is_a_misconfiguration_whatever_its_status() {
        let body = br#"{"error":{"code":"ruleset_not_found","message":"ruleset not found"}}"#;
        for status in [StatusCode::NOT_FOUND, StatusCode::BAD_REQUEST] {
            match classify(status, body, None) {
                FingerprintError::Forbidden { code, message } => {
                    assert_eq!(code.as_deref(), Some(RULESET_NOT_FOUND_CODE));
                    assert_eq!(message, "ruleset not found");
                }
                other => panic!("{status}: {other:?}"),
            }
        }
        let event = br#"{"error":{"code":"event_not_found","message":"no"}}"#;
        assert!(matches!(
            classify(StatusCode::NOT_FOUND, event, None),
            FingerprintError::NotFound
        ));
    }

    #[test]
    fn a_ruleset_id_needs_v4_and_the_dashboard_alphabet() {
        let with = |ruleset: &str, api_version| {
            Client::new(ClientConfig {
                ruleset_id: Some(ruleset.into()),
                api_version,
                ..ClientConfig::new(SecretKey::new("k"))
            })
        };
        assert!(with("rs_b1k1blhqpOX3kU", ApiVersion::V4).is_ok());
        assert!(with("D6N9Kbk9HRWrIWGz", ApiVersion::V4).is_ok());
        assert!(matches!(
            with("rs_1", ApiVersion::V3),
            Err(ClientBuildError::RulesetNeedsV4)
        ));
        for bad in ["", "rs 1", "rs&x=1", "rs/..", &"r".repeat(129)] {
            assert!(
                matches!(
                    with(bad, ApiVersion::V4),
                    Err(ClientBuildError::InvalidRulesetId(_))
                ),
                "{bad:?}"
            );
        }
    }
}
