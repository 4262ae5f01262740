//! Connections that hold a socket without finishing a request (slowloris) are closed, so they
//! cannot exhaust the process's sockets and starve real requests.

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
    let address = app.address.trim_start_matches("http://").to_owned();
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
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut idle = TcpStream::connect(&address).await.unwrap();
    let waited = closed_within(&mut idle, Duration::from_secs(5)).await;
    assert!(
        waited >= Duration::from_millis(250),
        "closed only at the timeout: {waited:?}"
    );
}

#[tokio::test]
async fn a_kept_alive_connection_gets_its_request_answered_then_the_header_time_again() {
    let app = app_with_header_timeout(Duration::from_millis(300)).await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut client = TcpStream::connect(&address).await.unwrap();
    client
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 512];
    let n = client.read(&mut answer).await.unwrap();
    assert!(
        String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer[..n])
    );
    // Idle after its answer: the next request's header time runs, and then it is closed.
    closed_within(&mut client, Duration::from_secs(5)).await;
}

#[tokio::test]
async fn health_answers_while_slow_clients_hold_connections() {
    let app = app_with_header_timeout(Duration::from_millis(500)).await;
    let address = app.address.trim_start_matches("http://").to_owned();
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
