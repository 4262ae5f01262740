//! After an answer, a kept-alive HTTP/1.1 connection has the keep-alive time for its next
//! request, and a request in flight is never cut by the idle limits.

use super::*;

/// An application whose header time is far longer than its keep-alive time, so that a close
/// within the first can only come from the second.
async fn app_with_keep_alive(keep_alive: Duration) -> TestApp {
    spawn_app_with(Options {
        header_timeout: Duration::from_secs(30),
        keep_alive_timeout: keep_alive,
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_keep_alive_time() {
    let app = app_with_keep_alive(Duration::from_millis(300)).await;
    let mut client = TcpStream::connect(socket_address(&app)).await.unwrap();
    health_on(&mut client).await;
    let waited = closed_within(&mut client, Duration::from_secs(10)).await;
    assert!(
        waited >= Duration::from_millis(250),
        "closed at the keep-alive time, not at once: {waited:?}"
    );
}

#[tokio::test]
async fn a_kept_alive_connection_still_serves_requests_within_the_keep_alive_time() {
    let app = app_with_keep_alive(Duration::from_secs(2)).await;
    let mut client = TcpStream::connect(socket_address(&app)).await.unwrap();
    for _ in 0..3 {
        health_on(&mut client).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn a_next_request_dripped_after_an_answer_is_cut_at_the_keep_alive_time() {
    let app = app_with_keep_alive(Duration::from_millis(300)).await;
    let mut client = TcpStream::connect(socket_address(&app)).await.unwrap();
    health_on(&mut client).await;
    let (mut reader, mut writer) = client.split();
    let dripping = async {
        for byte in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if writer.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let mut rest = Vec::new();
    let cut = tokio::select! {
        _ = reader.read_to_end(&mut rest) => true,
        () = dripping => false,
    };
    assert!(cut, "the server waited for all 6 s of dripped headers");
}

#[tokio::test]
async fn a_request_in_flight_is_not_cut_by_the_idle_limits() {
    let app = spawn_app_with(Options {
        header_timeout: Duration::from_millis(300),
        keep_alive_timeout: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    let mut client = TcpStream::connect(socket_address(&app)).await.unwrap();
    let body = br#"{"requestId": "1708102555327.NLOjmg", "username": "slow@example.org", "password": "correct horse battery staple"}"#;
    let head = format!(
        "POST /api/create-account HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    );
    client.write_all(head.as_bytes()).await.unwrap();
    // The body over about 1.2 s: four times each idle limit.
    for chunk in body.chunks(body.len().div_ceil(12)) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        client.write_all(chunk).await.unwrap();
    }
    let answer = read_answer(&mut client).await;
    assert!(answer.starts_with("HTTP/1.1 "), "{answer}");
    assert!(answer.contains("\"code\""), "the API's answer: {answer}");
}
