//! `GET /docs/`: the interactive reference, loaded in headless Chromium with the network closed.
//! The page must render every operation of `/openapi.json` (so its scripts ran), from files
//! this instance serves, and no request the page makes may leave it.

use crate::common::*;
use crate::demo::chromium;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Loads `url` with every address but loopback unreachable: names do not resolve and everything
/// else goes to a proxy on a closed port (Chromium never proxies loopback). Returns the DOM after
/// the scripts ran, and Chromium's network log.
fn render_offline(browser: &Path, url: &str) -> (String, Value) {
    let dir = tempfile::tempdir().unwrap();
    let net_log = dir.path().join("net-log.json");
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=15000",
            "--dump-dom",
        ])
        .arg(format!("--proxy-server=http://127.0.0.1:{closed_port}"))
        .arg(format!("--log-net-log={}", net_log.display()))
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(url)
        .output()
        .expect("chromium runs");
    let log = std::fs::read_to_string(&net_log).expect("Chromium wrote its network log");
    let log = serde_json::from_str(&log).expect("the network log is JSON");
    (String::from_utf8_lossy(&output.stdout).into_owned(), log)
}

/// The URLs of the requests the page made: the page itself, and those it initiated. The
/// browser's own background requests (updates, time, autofill) carry no page as initiator.
fn page_requests(log: &Value, origin: &str) -> Vec<String> {
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_u64()
        .expect("the log names its event types");
    log["events"]
        .as_array()
        .expect("the log has events")
        .iter()
        .filter(|e| e["type"].as_u64() == Some(start_job))
        .map(|e| &e["params"])
        .filter(|p| p["request_type"] == "main frame" || p["initiator"] == origin)
        .map(|p| p["url"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_docs_render_every_operation_offline_from_files_the_binary_serves() {
    let Some(browser) = chromium() else {
        return;
    };
    let app = spawn_app_with(Options {
        demo: true,
        ..Options::default()
    })
    .await;
    let document: Value = app.get("/openapi.json", None).await.json().await.unwrap();
    let origin = app.address.clone();
    let url = format!("{origin}/docs/");
    let (dom, log) = tokio::task::spawn_blocking(move || render_offline(&browser, &url))
        .await
        .unwrap();

    let requests = page_requests(&log, &origin);
    let outside: Vec<&String> = requests
        .iter()
        .filter(|url| !url.starts_with(&format!("{origin}/")))
        .collect();
    assert!(
        outside.is_empty(),
        "the page asked for something outside this instance: {outside:?}"
    );
    for asset in [
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-ui.css",
        "/docs/swagger-initializer.js",
        "/openapi.json",
    ] {
        assert!(
            requests.contains(&format!("{origin}{asset}")),
            "{asset} was not loaded: {requests:?}"
        );
    }

    // Swagger UI draws one block per operation, after its scripts fetched the document; the
    // page as served holds none of them.
    let paths = document["paths"].as_object().expect("paths");
    assert!(paths.len() > 10);
    for path in paths.keys() {
        assert!(
            dom.contains(&format!("data-path=\"{path}\"")),
            "{path} is not on the page:\n{dom}"
        );
    }
}
