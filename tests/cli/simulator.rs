//! `simulator`: the Fingerprint stand-in alone, on its own port.

use super::*;

#[tokio::test]
async fn the_simulator_command_serves_the_server_api_on_its_port() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let args = [
        "simulator",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--secret-key",
        "cli-sim-key",
    ];
    let _child = Running(
        command(dir.path(), &args, &[])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let identify = || {
        http.post(format!("{base}/identify"))
            .json(&json!({"persona": "tor"}))
            .send()
    };
    eventually("the simulator answering", || async {
        identify().await.is_ok()
    })
    .await;
    let issued: Value = identify().await.unwrap().json().await.unwrap();
    let id = issued["requestId"].as_str().unwrap();
    let event = http
        .get(format!("{base}/v4/events/{id}"))
        .bearer_auth("cli-sim-key")
        .send()
        .await
        .unwrap();
    assert_eq!(event.status().as_u16(), 200);
    let event: Value = event.json().await.unwrap();
    assert_eq!(event["ip_blocklist"]["tor_node"], true);
    let refused = http
        .get(format!("{base}/v4/events/{id}"))
        .bearer_auth("other")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
}
