//! At the connection cap a newcomer is still served: the connections idle the longest make
//! room, and only when every connection has a request in flight is it answered 503.

use super::*;

async fn app_with_cap(max_connections: usize) -> TestApp {
    spawn_app_with(Options {
        // Far longer than any wait here: a close can only be the cap's doing.
        header_timeout: Duration::from_secs(30),
        keep_alive_timeout: Duration::from_secs(30),
        max_connections,
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn at_the_cap_a_newcomer_is_served_and_the_connection_idle_the_longest_is_closed() {
    let app = app_with_cap(4).await;
    let address = socket_address(&app);
    let mut silent = Vec::new();
    for _ in 0..4 {
        silent.push(TcpStream::connect(&address).await.unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut newcomer = TcpStream::connect(&address).await.unwrap();
    health_on(&mut newcomer).await;
    closed_within(&mut silent[0], Duration::from_secs(10)).await;
    for (n, stream) in silent.iter().enumerate().skip(1) {
        assert!(
            !is_closed(stream).await,
            "only the idlest is shed, not #{n}"
        );
    }
}

/// A request whose handler is reading its body, shown by the `100 Continue` it asked for.
async fn request_in_flight(address: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(
            b"POST /api/create-account HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n\
              expect: 100-continue\r\ncontent-length: 2\r\n\r\n",
        )
        .await
        .unwrap();
    let mut buffer = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
        .await
        .expect("100 Continue within 10 s")
        .unwrap();
    let answer = String::from_utf8_lossy(&buffer[..read]);
    assert!(answer.starts_with("HTTP/1.1 100"), "{answer}");
    stream
}

#[tokio::test]
async fn with_every_connection_busy_a_newcomer_is_answered_503_overloaded_and_none_is_cut() {
    let app = app_with_cap(2).await;
    let address = socket_address(&app);
    let mut busy = vec![
        request_in_flight(&address).await,
        request_in_flight(&address).await,
    ];
    let mut newcomer = TcpStream::connect(&address).await.unwrap();
    let answer = read_answer(&mut newcomer).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("retry-after: 1"), "{answer}");
    let body: serde_json::Value =
        serde_json::from_str(&answer[answer.find("\r\n\r\n").unwrap() + 4..]).unwrap();
    assert_error(503, &body, 503, "overloaded");
    closed_within(&mut newcomer, Duration::from_secs(10)).await;
    // The requests in flight go on to their answers.
    for stream in &mut busy {
        stream.write_all(b"{}").await.unwrap();
        let answer = read_answer(stream).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    }
}
