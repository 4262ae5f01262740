//! The HTTP area: where to listen, who may call from a browser, and the limits on a request.

use super::non_empty;
use crate::connections::capacity;
use anyhow::bail;
use clap::Args;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The port `serve` listens on by default.
pub const DEFAULT_PORT: u16 = 3001;
/// The largest request body by default: a sealed result (up to 16 KiB) with room to spare.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024;
/// The largest body limit allowed.
pub const MAX_MAX_BODY_BYTES: usize = 64 * 1024;
/// The whole-request time limit by default (ms).
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 10_000;
/// Time a new connection has to send its first request's headers.
pub const DEFAULT_HEADER_TIMEOUT_MS: u64 = 10_000;
/// Time a kept-alive connection has, after an answer, to send its next request's headers.
pub const DEFAULT_KEEP_ALIVE_TIMEOUT_MS: u64 = 10_000;
/// The longest keep-alive time allowed: past ten minutes an idle client only holds a socket.
pub const MAX_KEEP_ALIVE_TIMEOUT_MS: u64 = 600_000;

/// Listening and request limits (`serve`).
#[derive(Clone, Args)]
#[command(next_help_heading = "HTTP")]
pub struct HttpArgs {
    /// Address to listen on [default: 0.0.0.0, or 127.0.0.1 in demo mode, whose simulator mints
    /// events for anyone who can reach it].
    #[arg(long, env = "HOST")]
    pub host: Option<IpAddr>,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "PORT", default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Comma-separated origins allowed by CORS, e.g. https://www.example.com; unset allows any
    /// origin without credentials.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS")]
    pub cors_allowed_origins: Option<String>,
    /// Largest request body (bytes, 20480 to 65536: a sealed result alone may take 16 KiB).
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// Time limit for a whole request (ms); past it the client gets 503.
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = DEFAULT_REQUEST_TIMEOUT_MS)]
    pub request_timeout_ms: u64,
    /// Time a new connection has to send its first request's headers (ms), 100 to 60000; past
    /// it the connection is closed, so slow or silent clients cannot hold sockets.
    #[arg(long, env = "HEADER_TIMEOUT_MS", default_value_t = DEFAULT_HEADER_TIMEOUT_MS)]
    pub header_timeout_ms: u64,
    /// Time a kept-alive connection has, after an answer, to send its next request's headers
    /// (ms), 100 to 600000; past it the connection is closed.
    #[arg(long, env = "KEEP_ALIVE_TIMEOUT_MS", default_value_t = DEFAULT_KEEP_ALIVE_TIMEOUT_MS)]
    pub keep_alive_timeout_ms: u64,
    /// Open client connections at most; at the cap, those idle the longest are closed to make
    /// room [default: what the descriptor limit leaves room for: (soft RLIMIT_NOFILE - 32 - 3 ×
    /// (DATABASE_MAX_CONNECTIONS + 3)) / 2, within 8 to 16384].
    #[arg(long, env = "MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
}

/// The validated HTTP settings, as the HTTP layer reads them.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Listen address.
    pub addr: SocketAddr,
    /// CORS origins, normalized as a browser sends them; empty = any origin, without credentials.
    pub cors_origins: Vec<String>,
    /// Body size limit.
    pub max_body_bytes: usize,
    /// Whole-request time limit.
    pub request_timeout: Duration,
    /// Time for a new connection's first request's headers.
    pub header_timeout: Duration,
    /// Time for a kept-alive connection's next request's headers, after an answer.
    pub keep_alive_timeout: Duration,
    /// Open client connections at most.
    pub max_connections: usize,
}

/// The serve defaults, listening on 127.0.0.1 with a free port: for an application built in
/// code (tests, embedding).
impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            cors_origins: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            request_timeout: default_request_timeout(),
            header_timeout: Duration::from_millis(DEFAULT_HEADER_TIMEOUT_MS),
            keep_alive_timeout: Duration::from_millis(DEFAULT_KEEP_ALIVE_TIMEOUT_MS),
            max_connections: capacity::default_max_connections(
                capacity::descriptor_limit(),
                crate::store::PoolSettings::default().max_connections,
            ),
        }
    }
}

/// The default request time limit.
pub fn default_request_timeout() -> Duration {
    Duration::from_millis(DEFAULT_REQUEST_TIMEOUT_MS)
}

impl HttpArgs {
    /// Validates the HTTP settings; `demo` listens on loopback unless a host is given, and the
    /// default connection cap leaves descriptors for `database_connections`.
    pub fn validate(&self, demo: bool, database_connections: u32) -> anyhow::Result<HttpConfig> {
        let floor = crate::signup::request::MAX_SEALED_BYTES + 4096;
        if !(floor..=MAX_MAX_BODY_BYTES).contains(&self.max_body_bytes) {
            bail!(
                "MAX_BODY_BYTES must be between {floor} and {MAX_MAX_BODY_BYTES} (room for a sealed result of up to {} bytes, a username and a password), got {}",
                crate::signup::request::MAX_SEALED_BYTES,
                self.max_body_bytes
            );
        }
        if !(100..=60_000).contains(&self.header_timeout_ms) {
            bail!(
                "HEADER_TIMEOUT_MS must be between 100 and 60000, got {}",
                self.header_timeout_ms
            );
        }
        if !(100..=MAX_KEEP_ALIVE_TIMEOUT_MS).contains(&self.keep_alive_timeout_ms) {
            bail!(
                "KEEP_ALIVE_TIMEOUT_MS must be between 100 and {MAX_KEEP_ALIVE_TIMEOUT_MS}, got {}",
                self.keep_alive_timeout_ms
            );
        }
        let max_connections = match self.max_connections {
            Some(0) => {
                bail!("MAX_CONNECTIONS must be at least 1 (unset, it follows the descriptor limit)")
            }
            Some(max) => max,
            None => capacity::default_max_connections(
                capacity::descriptor_limit(),
                database_connections,
            ),
        };
        let default_host = if demo {
            IpAddr::from([127, 0, 0, 1])
        } else {
            IpAddr::from([0, 0, 0, 0])
        };
        Ok(HttpConfig {
            addr: SocketAddr::new(self.host.unwrap_or(default_host), self.port),
            cors_origins: cors_origins(self.cors_allowed_origins.as_deref())?,
            max_body_bytes: self.max_body_bytes,
            request_timeout: Duration::from_millis(self.request_timeout_ms.max(100)),
            header_timeout: Duration::from_millis(self.header_timeout_ms),
            keep_alive_timeout: Duration::from_millis(self.keep_alive_timeout_ms),
            max_connections,
        })
    }
}

/// Each origin is read the way the policy reads `allowed_origins` (a bare `scheme://host[:port]`)
/// and kept in the form a browser sends in `Origin`, so that `HTTPS://Example.com:443/` matches.
fn cors_origins(list: Option<&str>) -> anyhow::Result<Vec<String>> {
    let mut origins = Vec::new();
    for item in list.unwrap_or_default().split(',') {
        let Some(item) = non_empty(Some(item.to_owned())) else {
            continue;
        };
        match crate::policy::origin::parse_allowed(&item) {
            Some(origin) => origins.push(origin),
            None => bail!(
                "CORS_ALLOWED_ORIGINS: {item:?} is not an origin like \"https://example.com\" or \"http://localhost:3000\""
            ),
        }
    }
    Ok(origins)
}

#[cfg(test)]
mod tests {
    use super::cors_origins;

    /// The origins read, or a part of the error message.
    type Expected = Result<Vec<&'static str>, &'static str>;

    #[test]
    fn cors_origins_are_read_like_the_policy_s_allowed_origins() {
        let cases: Vec<(&str, Expected, &str)> = vec![
            ("", Ok(vec![]), "unset allows any origin"),
            (
                "https://a.example, HTTPS://B.example:443/",
                Ok(vec!["https://a.example", "https://b.example"]),
                "normalized as a browser sends Origin",
            ),
            (
                "http://localhost:3000",
                Ok(vec!["http://localhost:3000"]),
                "a port is kept",
            ),
            ("not a url", Err("\"not a url\""), "not a URL"),
            (
                "https://a.example/signup",
                Err("/signup"),
                "a path suggests a precision CORS lacks",
            ),
            ("data:text/plain,x", Err("data:"), "no tuple origin"),
        ];
        for (input, expected, why) in cases {
            let got = cors_origins(Some(input));
            match expected {
                Ok(origins) => assert_eq!(got.unwrap(), origins, "{why}"),
                Err(part) => {
                    let message = got.unwrap_err().to_string();
                    assert!(
                        message.starts_with("CORS_ALLOWED_ORIGINS: ") && message.contains(part),
                        "{why}: {message}"
                    );
                }
            }
        }
    }
}
