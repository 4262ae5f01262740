//! The connection cap as a process: its default follows the descriptor limit, and under a
//! lowered limit more slow and idle sockets than the cap leave `/health` and signups answering.

use super::*;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The header and keep-alive time of the slowloris test: long enough for a loaded machine to
/// answer well within half of it, short enough to wait out.
const IDLE_LIMIT: Duration = Duration::from_secs(6);

/// A signup service on SQLite with a pool of 2, against the test's Fingerprint stand-in, under
/// `descriptors` open files.
async fn serve_under(dir: &Path, descriptors: u64, fingerprint: &common::Fingerprint) -> Server {
    let port = free_port().to_string();
    let url = sqlite_url(dir, "cap.db");
    let idle_ms = IDLE_LIMIT.as_millis().to_string();
    let env = [
        ("FINGERPRINT_API_KEY", common::API_KEY),
        ("FINGERPRINT_API_URL", fingerprint.base_url.as_str()),
        ("DATABASE_URL", url.as_str()),
        ("DATABASE_MAX_CONNECTIONS", "2"),
        ("HOST", "127.0.0.1"),
        ("PORT", port.as_str()),
        ("HEADER_TIMEOUT_MS", idle_ms.as_str()),
        ("KEEP_ALIVE_TIMEOUT_MS", idle_ms.as_str()),
    ];
    serve_with_descriptor_limit(dir, descriptors, &["serve"], &env).await
}

/// Resolves once the server has closed `stream`; `None` if it is still open at `deadline`.
async fn closed_by(stream: &TcpStream, deadline: Instant) -> Option<()> {
    let mut buffer = [0u8; 1024];
    loop {
        tokio::time::timeout_at(deadline.into(), stream.readable())
            .await
            .ok()?
            .ok()?;
        match stream.try_read(&mut buffer) {
            Ok(0) => return Some(()),
            Ok(_) => continue,
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return Some(()),
        }
    }
}

/// A socket that sent one request and read its answer, then stays silent (kept alive).
async fn idle_socket(address: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 512];
    while !String::from_utf8_lossy(&answer).contains("\"ok\"}") {
        let read = tokio::time::timeout(IDLE_LIMIT / 2, stream.read(&mut buffer))
            .await
            .expect("each idle socket's request is answered at once")
            .unwrap();
        assert!(read > 0, "{}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&buffer[..read]);
    }
    stream
}

/// A socket that sends the start of a request and then one more byte every half second.
async fn slow_socket(address: &str) -> Arc<TcpStream> {
    let stream = TcpStream::connect(address).await.unwrap();
    stream.writable().await.unwrap();
    stream
        .try_write(b"GET /health HTTP/1.1\r\nX-Slow: ")
        .unwrap();
    let stream = Arc::new(stream);
    let dripping = stream.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if dripping.writable().await.is_err() || dripping.try_write(b"a").is_err() {
                return;
            }
        }
    });
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_72_descriptors_more_slow_and_idle_sockets_than_the_cap_leave_health_and_signups_answering(
) {
    let fingerprint = common::Fingerprint::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = serve_under(dir.path(), 72, &fingerprint).await;
    let address = server.base.trim_start_matches("http://").to_owned();
    // Far past the cap (12 here) and, with the dozen descriptors the process holds idle, past
    // the limit: half kept alive after an answer, half dripping their headers.
    let mut sockets = Vec::new();
    for n in 0..60 {
        let opened = Instant::now();
        let stream = if n % 2 == 0 {
            Arc::new(idle_socket(&address).await)
        } else {
            slow_socket(&address).await
        };
        sockets.push((opened, stream));
    }

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(IDLE_LIMIT / 2)
        .build()
        .unwrap();
    let health = http
        .get(format!("{}/health", server.base))
        .send()
        .await
        .expect("/health answers before any socket's idle limit runs out");
    assert_eq!(health.status().as_u16(), 200);
    let open = futures_util::future::join_all(
        sockets
            .iter()
            .map(|(_, stream)| closed_by(stream, Instant::now() + Duration::from_millis(200))),
    )
    .await
    .into_iter()
    .filter(Option::is_none)
    .count();
    assert!(
        open >= 10,
        "/health answered while the cap was full of slow and idle sockets, yet only {open} were open"
    );

    let device = fingerprint.new_device();
    let signup = common::signup(&http, &server.base, &device.request_id, "cap@example.org").await;
    assert_eq!(signup.status, Some(200), "{:?}", signup.body);
    assert_eq!(signup.body["status"], "created", "{:?}", signup.body);

    for (n, (opened, stream)) in sockets.iter().enumerate() {
        let deadline = *opened + IDLE_LIMIT + Duration::from_secs(2);
        assert!(
            closed_by(stream, deadline).await.is_some(),
            "socket #{n} ({}) was still open past its idle limit",
            if n % 2 == 0 { "idle" } else { "slow" }
        );
    }
    let logs = server.stderr();
    assert!(logs.contains("max_connections=12"), "{logs}");
    assert!(
        !logs.contains("cannot accept a connection"),
        "the cap kept the process within its descriptors:\n{logs}"
    );
}

#[tokio::test]
async fn the_default_cap_follows_the_descriptor_limit() {
    let fingerprint = common::Fingerprint::start().await;
    for (descriptors, cap) in [(128, 40), (256, 104)] {
        let dir = tempfile::tempdir().unwrap();
        let logs = serve_under(dir.path(), descriptors, &fingerprint)
            .await
            .stderr();
        let listening = logs
            .lines()
            .find(|l| l.contains("signup-guard listening"))
            .unwrap_or_else(|| panic!("no startup line:\n{logs}"));
        let fields: Vec<&str> = listening.split_whitespace().collect();
        assert!(
            fields.contains(&format!("max_connections={cap}").as_str())
                && fields.contains(&format!("descriptor_limit={descriptors}").as_str()),
            "{descriptors} descriptors: {listening}"
        );
    }
}
