//! Accepting connections, and the limits that keep the service answering while clients hold
//! sockets without using them.
//!
//! `axum::serve` has no deadline for a request's headers and no cap on connections: a few
//! dozen clients that connect and wait, or send a byte every few seconds (slowloris), held
//! their sockets until the process ran out of file descriptors, and then `accept` failed for
//! everyone, `/health` included. Here:
//!
//! - **Idle limits.** A connection without a request in flight is closed once it has been so
//!   for the header time (`HEADER_TIMEOUT_MS`, from its opening to its first request's
//!   headers) or the keep-alive time (`KEEP_ALIVE_TIMEOUT_MS`, from an answer to the next
//!   request's headers). One timer per connection does both, for HTTP/1.1 and HTTP/2 alike:
//!   hyper's own header timer covers HTTP/1.1 only, cannot tell a kept-alive wait from a first
//!   one, and is armed again for every request. A request in flight is never cut by them; the
//!   request deadline bounds its body and its handler.
//! - **A cap** (`MAX_CONNECTIONS`, by default what the descriptor limit leaves room for: see
//!   [`capacity`]). At the cap a newcomer is still accepted, and the connections that have gone
//!   the longest without a request in flight are closed to make room, as nginx drains idle
//!   keep-alive connections. A cap that stopped accepting instead would leave `/health` and
//!   signups queued behind the slow sockets until their header time ran out; shedding the
//!   idlest serves the newcomer at once and costs an idle client only a reconnect. A request
//!   in flight is never shed: when every connection has one, the newcomer is answered 503
//!   `overloaded` and closed.
//! - **Accept errors** (out of descriptors after all, when the database or Fingerprint took
//!   more than their share) shed the idlest connections and back off briefly, not spin.

pub mod capacity;
mod registry;

pub use registry::Limits;

use axum::extract::{ConnectInfo, Request};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use registry::Registry;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt as _;

/// Serves `router` on `listener` within `limits` until `shutdown` resolves, then lets every open
/// connection finish its request in flight and returns once they have closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    // The registry's timer bounds the headers; hyper's would be a second, per-request one (and
    // it defaults to 30 s once a timer is set).
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None);
    builder.http2().timer(TokioTimer::new());
    let registry = Arc::new(Registry::new(limits));
    let connections = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a connection");
                    registry.shed_idlest();
                    // Retrying at once would spin a core until a descriptor is free.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = shutdown.as_mut() => break,
        };
        let Some(admitted) = registry.admit() else {
            refuse(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let requests = admitted.handle();
        let service = router
            .clone()
            .map_request(move |request: Request<Incoming>| {
                let mut request = request.map(axum::body::Body::new);
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            })
            .map_future(move |answer| {
                let busy = requests.busy();
                async move {
                    let answer = answer.await;
                    drop(busy);
                    answer
                }
            });
        // Taken now, so a shutdown that starts while this connection is still silent reaches it.
        let watcher = connections.watcher();
        let builder = builder.clone();
        tokio::spawn(async move {
            // Without upgrades: no route has one, and an upgraded connection would look idle.
            let connection = builder
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .into_owned();
            tokio::select! {
                // The connection first, so an answer ready when the timer fires is still sent.
                biased;
                served = watcher.watch(connection) => {
                    if let Err(error) = served {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                }
                () = admitted.closable() => {}
            }
        });
    }
    drop(listener);
    connections.shutdown().await;
}

/// The answer to a newcomer when every open connection has a request in flight, in the API's
/// error shape; written without waiting, as the socket's buffer is empty.
fn refuse(stream: TcpStream) {
    const BODY: &str = r#"{"error":"The service is at its connection limit. Nothing was created; please try again.","code":"overloaded"}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = stream.try_write(answer.as_bytes());
    tracing::debug!("connection refused: every connection has a request in flight");
}
