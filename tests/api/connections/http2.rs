//! HTTP/2 (cleartext, with prior knowledge) has no header timer of hyper's: the same idle
//! limits close its connections.

use super::*;

/// The client preface and an empty SETTINGS frame.
fn preface() -> Vec<u8> {
    let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    bytes.extend_from_slice(&[0, 0, 0, 0x4, 0, 0, 0, 0, 0]);
    bytes
}

/// A HEADERS frame on stream 1 for `GET /health`, ending the stream. HPACK by hand: `:method
/// GET` and `:scheme http` from the static table, `:path` and `:authority` as literals.
fn get_health() -> Vec<u8> {
    let mut block = vec![0x82, 0x86, 0x04, 7];
    block.extend_from_slice(b"/health");
    block.extend_from_slice(&[0x01, 1, b'x']);
    let length = u8::try_from(block.len()).unwrap();
    // Length (24 bits), type HEADERS, flags END_STREAM | END_HEADERS, stream 1.
    let mut frame = vec![0, 0, length, 0x1, 0x5, 0, 0, 0, 1];
    frame.extend_from_slice(&block);
    frame
}

/// Reads frames until the HEADERS of stream 1's answer, and returns its `:status` byte.
async fn answer_status(stream: &mut TcpStream) -> u8 {
    loop {
        let mut head = [0u8; 9];
        tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut head))
            .await
            .expect("a frame within 10 s")
            .expect("a frame before the connection closes");
        let length = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
        let mut payload = vec![0u8; length];
        stream.read_exact(&mut payload).await.unwrap();
        let stream_id = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        if head[3] == 0x1 && stream_id == 1 {
            return payload[0];
        }
    }
}

async fn app_with(header_timeout: Duration, keep_alive_timeout: Duration) -> TestApp {
    spawn_app_with(Options {
        header_timeout,
        keep_alive_timeout,
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn an_http2_connection_that_sends_no_request_is_closed_at_the_header_time() {
    let app = app_with(Duration::from_millis(300), Duration::from_secs(30)).await;
    let mut client = TcpStream::connect(socket_address(&app)).await.unwrap();
    client.write_all(&preface()).await.unwrap();
    let waited = closed_within(&mut client, Duration::from_secs(10)).await;
    assert!(
        waited >= Duration::from_millis(250),
        "closed at the header time, not at once: {waited:?}"
    );
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed_after_the_keep_alive_time() {
    let app = app_with(Duration::from_secs(30), Duration::from_millis(300)).await;
    let mut client = TcpStream::connect(socket_address(&app)).await.unwrap();
    client.write_all(&preface()).await.unwrap();
    client.write_all(&get_health()).await.unwrap();
    // 0x88: `:status 200` from HPACK's static table.
    assert_eq!(
        answer_status(&mut client).await,
        0x88,
        "GET /health answers 200"
    );
    closed_within(&mut client, Duration::from_secs(10)).await;
}
