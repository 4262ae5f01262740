//! Connections that hold a socket without finishing a request (slowloris), or that stay open
//! without one, are closed, so they cannot exhaust the process's sockets and starve real
//! requests; past the connection cap, the idlest make room for newcomers.

mod cap;
mod http2;
mod keep_alive;

use crate::common::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn app_with_header_timeout(timeout: Duration) -> TestApp {
    spawn_app_with(Options {
        header_timeout: timeout,
        ..Options::default()
    })
    .await
}

/// `host:port`, for raw sockets.
fn socket_address(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_owned()
}

/// Whether the server has closed `stream` (data it sent is read and dropped); a stream with
/// nothing to read for 100 ms is open.
async fn is_closed(stream: &TcpStream) -> bool {
    let mut buffer = [0u8; 1024];
    loop {
        if tokio::time::timeout(Duration::from_millis(100), stream.readable())
            .await
            .is_err()
        {
            return false;
        }
        match stream.try_read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return true,
        }
    }
}

/// Sends `GET /health` on `stream` and reads its answer (whole, by its length), which must be 200.
async fn health_on(stream: &mut TcpStream) {
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_answer(stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// Reads one HTTP/1.1 answer with a `content-length`, failing the test after 10 s.
async fn read_answer(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    let complete = |answer: &[u8]| {
        let text = String::from_utf8_lossy(answer);
        let Some(end) = text.find("\r\n\r\n") else {
            return false;
        };
        let length = text[..end]
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length: ")
                    .map(str::to_owned)
            })
            .and_then(|l| l.trim().parse::<usize>().ok())
            .unwrap_or(0);
        answer.len() >= end + 4 + length
    };
    while !complete(&answer) {
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .expect("an answer within 10 s")
            .unwrap();
        assert!(
            read > 0,
            "closed before a whole answer: {}",
            String::from_utf8_lossy(&answer)
        );
        answer.extend_from_slice(&buffer[..read]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// Reads until the server closes the connection (or answers and closes), failing the test
/// if that has not happened within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Duration {
    let started = Instant::now();
    let mut buffer = [0u8; 1024];
    loop {
        let read = tokio::time::timeout_at(
            tokio::time::Instant::from_std(started + within),
            stream.read(&mut buffer),
        )
        .await
        .unwrap_or_else(|_| panic!("the connection was still open after {within:?}"));
        match read {
            Ok(0) | Err(_) => return started.elapsed(),
            Ok(_) => continue,
        }
    }
}

#[tokio::test]
async fn a_client_that_sends_its_headers_a_byte_at_a_time_is_cut_off() {
    let app = app_with_header_timeout(Duration::from_millis(300)).await;
    let address = socket_address(&app);
    let mut slow = TcpStream::connect(&address).await.unwrap();
    let (mut reader, mut writer) = slow.split();
    let dripping = async {
        for byte in
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        {
            if writer.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let mut buffer = Vec::new();
    let cut = tokio::select! {
        _ = reader.read_to_end(&mut buffer) => true,
        () = dripping => false,
    };
    assert!(cut, "the server waited for all 3 s of dripped headers");
}

#[tokio::test]
async fn a_connection_that_never_sends_a_request_is_closed() {
    let app = app_with_header_timeout(Duration::from_millis(300)).await;
    let address = socket_address(&app);
    let mut idle = TcpStream::connect(&address).await.unwrap();
    let waited = closed_within(&mut idle, Duration::from_secs(5)).await;
    assert!(
        waited >= Duration::from_millis(250),
        "closed only at the timeout: {waited:?}"
    );
}

#[tokio::test]
async fn health_answers_while_slow_clients_hold_connections() {
    let app = app_with_header_timeout(Duration::from_millis(500)).await;
    let address = socket_address(&app);
    let mut slow = Vec::new();
    for _ in 0..50 {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHo")
            .await
            .unwrap();
        slow.push(stream);
    }
    let response = app.get("/health", None).await;
    assert_eq!(response.status().as_u16(), 200);
    for stream in &mut slow {
        closed_within(stream, Duration::from_secs(5)).await;
    }
}
