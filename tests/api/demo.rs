//! Demo mode: the built-in simulator, the signup page, and the page driven by headless Chromium.

use serde_json::Value;
use signup_guard::settings::{Config, FingerprintSource};
use signup_guard::startup::Application;
use std::path::PathBuf;
use std::process::Command;

async fn spawn_demo() -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let config = Config {
        hash_concurrency: 2,
        ..Config::new(FingerprintSource::Demo, database_url)
    };
    let app = Application::build(config).await.unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    (address, dir)
}

#[tokio::test]
async fn demo_mode_serves_the_page_and_signs_up_with_simulated_devices() {
    let (address, _dir) = spawn_demo().await;
    let http = reqwest::Client::new();
    let page = http
        .get(format!("{address}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("DEMO MODE") && page.contains("/api/create-account"));
    let personas: Value = http
        .get(format!("{address}/demo/personas"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(personas["personas"].as_array().unwrap().len(), 14);

    let identify = |persona: &'static str, sealed: bool| {
        http.post(format!("{address}/demo/identify"))
            .json(&serde_json::json!({ "persona": persona, "sealed": sealed }))
            .send()
    };
    let event: Value = identify("new_device", false)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let signup = serde_json::json!({ "requestId": event["requestId"], "username": "demo@example.com", "password": "correct horse battery staple" });
    let created = http
        .post(format!("{address}/api/create-account"))
        .json(&signup)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 200);

    let sealed: Value = identify("new_device", true)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let payload = sealed["sealedResult"]
        .as_str()
        .expect("demo mode seals results");
    let signup = serde_json::json!({ "sealedResult": payload, "username": "sealed@example.com", "password": "correct horse battery staple" });
    let created = http
        .post(format!("{address}/api/create-account"))
        .json(&signup)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 200, "{:?}", created.text().await);

    let accounts: Value = http
        .get(format!("{address}/api/accounts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        accounts["accounts"].as_array().unwrap().len(),
        2,
        "admin views are open in demo mode"
    );
    let unknown = identify("alien", false).await.unwrap();
    assert_eq!(unknown.status().as_u16(), 400);
}

fn chromium() -> Option<PathBuf> {
    let candidates = [
        std::env::var("CHROMIUM").ok(),
        Some("/usr/bin/chromium".into()),
        Some("/usr/bin/chromium-browser".into()),
    ];
    candidates
        .into_iter()
        .flatten()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Loads a scenario link in headless Chromium and returns the page's DOM after its scripts ran.
fn render(browser: &PathBuf, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
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
            "--virtual-time-budget=15000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .output()
        .expect("chromium runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_can_pick_a_persona_sign_up_and_see_the_answer_in_a_browser() {
    let Some(browser) = chromium() else {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"skipping: Chromium not found (apt-get install chromium, or set CHROMIUM)\n",
        );
        return;
    };
    let (address, _dir) = spawn_demo().await;
    let cases = [
        ("new_device", "200 created"),
        ("bad_bot", "403 bot_detected"),
        ("vpn", "200 review"),
        ("tor", "403 tor_detected"),
    ];
    for (persona, expected) in cases {
        let url = format!("{address}/#persona={persona}&submit");
        let browser = browser.clone();
        let dom = tokio::task::spawn_blocking(move || render(&browser, &url))
            .await
            .unwrap();
        assert!(
            dom.contains(&format!(">{expected}</p>")),
            "{persona}: expected {expected:?} in the page:\n{dom}"
        );
    }
}
