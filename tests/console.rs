//! The analyst console (`/console`): sign-in, sessions and CSRF over real HTTP, on SQLite and
//! (with TEST_DATABASE_URL) PostgreSQL; and every page driven in real headless Chromium by
//! `tests/console/run.mjs` (Playwright), which skips with a notice when Chromium, node or
//! `tests/console/node_modules` (`npm ci` there) is missing.

mod common;

use common::*;
use fingerprint::simulator::Persona;
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::redirect::Policy as Redirects;
use std::path::{Path, PathBuf};

const ALICE_TOKEN: &str = "alice-console-token-0123";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Redirects::none())
        .build()
        .unwrap()
}

fn app_options(database_url: Option<String>) -> Options {
    Options {
        named_admin_tokens: vec![("alice".into(), ALICE_TOKEN.into())],
        database_url,
        ..Options::default()
    }
}

/// Signs in with `token`; the cookie pair (`sg_console=...`) and the whole Set-Cookie line.
async fn sign_in(app: &TestApp, token: &str) -> (String, String) {
    let response = client()
        .post(format!("{}/console/login", app.address))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "sign-in answers a redirect");
    assert_eq!(response.headers()[LOCATION], "/console");
    let line = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    let pair = line.split(';').next().unwrap().to_owned();
    (pair, line)
}

async fn page(app: &TestApp, path: &str, cookie: &str) -> (u16, String) {
    let response = client()
        .get(format!("{}{path}", app.address))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The hidden CSRF token of the first form on a page.
fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    html[at..at + 64].to_owned()
}

async fn ip_entries(app: &TestApp, ip: &str) -> usize {
    let url = format!("{}/api/lists?kind=ip&value={ip}", app.address);
    let body = app
        .http
        .get(url)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    body["entries"].as_array().unwrap().len()
}

async fn sessions_and_csrf(app: TestApp) {
    // No session: every page sends you to the sign-in form.
    let response = client()
        .get(format!("{}/console/attempts", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()[LOCATION],
        "/console/login?next=%2Fconsole%2Fattempts"
    );

    // A wrong token is refused; a right one gives a strict, HttpOnly cookie for /console.
    let wrong = client()
        .post(format!("{}/console/login", app.address))
        .form(&[("token", "not-a-token-at-all-00")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get(SET_COOKIE).is_none());
    let (cookie, line) = sign_in(&app, ALICE_TOKEN).await;
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(line.contains(flag), "{flag} in {line}");
    }
    assert!(
        !line.contains("Secure"),
        "plain HTTP gets no Secure flag: {line}"
    );
    let (status, html) = page(&app, "/console", &cookie).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Signed in as <strong>alice</strong>"),
        "{html}"
    );

    // Behind an HTTPS proxy the cookie is Secure.
    let https = client()
        .post(format!("{}/console/login", app.address))
        .header("x-forwarded-proto", "https")
        .form(&[("token", ALICE_TOKEN)])
        .send()
        .await
        .unwrap();
    assert!(https.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("; Secure"));

    // A form post needs the session's token and, when it names one, this origin.
    let (_, lists) = page(&app, "/console/lists", &cookie).await;
    let csrf = csrf_of(&lists);
    let entry = |csrf: &str| {
        vec![
            ("kind", "ip".to_owned()),
            ("value", "203.0.113.7".to_owned()),
            ("action", "block".to_owned()),
            ("reason", "seen in an attack".to_owned()),
            ("csrf", csrf.to_owned()),
        ]
    };
    let post = |form: Vec<(&'static str, String)>, origin: Option<&'static str>| {
        let mut request = client()
            .post(format!("{}/console/lists", app.address))
            .header(COOKIE, &cookie)
            .form(&form);
        if let Some(origin) = origin {
            request = request.header(ORIGIN, origin);
        }
        request.send()
    };
    let no_token = post(entry(""), None).await.unwrap();
    assert_eq!(no_token.status(), 403);
    assert!(no_token
        .text()
        .await
        .unwrap()
        .contains("Nothing was changed"));
    let bad_token = post(entry(&"0".repeat(64)), None).await.unwrap();
    assert_eq!(bad_token.status(), 403);
    let cross_site = post(entry(&csrf), Some("http://evil.example.org"))
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    assert_eq!(
        ip_entries(&app, "203.0.113.7").await,
        0,
        "a refused post changed nothing"
    );
    let own_origin: &'static str = Box::leak(app.address.clone().into_boxed_str());
    let ok = post(entry(&csrf), Some(own_origin)).await.unwrap();
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()[LOCATION], "/console/lists?done=added");
    assert_eq!(ip_entries(&app, "203.0.113.7").await, 1);
    // Recorded under the session's analyst, as the API records its token's name.
    let actions = app
        .http
        .get(format!("{}/api/actions", app.address))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(actions["actions"][0]["actor"], "alice");
    assert_eq!(actions["actions"][0]["action"], "list_add");

    // Another session's token does not pass for this one.
    let (other_cookie, _) = sign_in(&app, ADMIN_TOKEN).await;
    let (_, other_page) = page(&app, "/console/lists", &other_cookie).await;
    assert_ne!(csrf_of(&other_page), csrf);
    let swapped = post(entry(&csrf_of(&other_page)), None).await.unwrap();
    assert_eq!(swapped.status(), 403);

    // Sign-out deletes the session: the old cookie no longer opens a page.
    let out = client()
        .post(format!("{}/console/logout", app.address))
        .header(COOKIE, &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert!(out.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let (status, _) = page(&app, "/console", &cookie).await;
    assert_eq!(status, 303);
    let (status, _) = page(&app, "/console", &other_cookie).await;
    assert_eq!(status, 200, "signing out ends only that session");
}

#[tokio::test]
async fn sessions_and_csrf_on_sqlite() {
    sessions_and_csrf(spawn_app_with(app_options(None)).await).await;
}

#[tokio::test]
async fn sessions_and_csrf_on_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    sessions_and_csrf(spawn_app_with(app_options(Some(db.url.clone()))).await).await;
}

#[tokio::test]
async fn without_an_admin_token_the_console_is_absent_and_it_is_never_in_the_api_document() {
    let app = spawn_app_with(Options {
        admin_token: None,
        ..Options::default()
    })
    .await;
    for path in ["/console", "/console/login", "/console/attempts"] {
        let response = client()
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    let with_token = spawn_app().await;
    let document = with_token
        .get("/openapi.json", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(document.contains("/api/attempts"));
    assert!(
        !document.contains("/console"),
        "console routes stay out of the API document"
    );
}

#[tokio::test]
async fn demo_mode_signs_you_in_as_demo_and_says_so() {
    let app = spawn_demo_app().await;
    let response = client()
        .get(format!("{}/console/login", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let (status, html) = page(&app, "/console", &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains("Demo mode"), "{html}");
}

#[tokio::test]
async fn pages_show_what_is_recorded_and_escape_it() {
    let app = spawn_app_with(app_options(None)).await;
    // A username with markup: shown as text, never as HTML.
    let id = app.identify(Persona::Vpn).request_id;
    let (status, _) = app
        .signup_as(&id, "<script>alert(1)</script>@example.org")
        .await;
    assert_eq!(status, 200);
    let (cookie, _) = sign_in(&app, ALICE_TOKEN).await;
    let (_, list) = page(&app, "/console/attempts", &cookie).await;
    assert!(list.contains("&lt;script&gt;alert(1)&lt;/script&gt;@example.org"));
    assert!(!list.contains("<script>alert(1)"));
    let attempt = app.attempts().await.pop().unwrap();
    let (status, detail) = page(&app, &format!("/console/attempts/{}", attempt.id), &cookie).await;
    assert_eq!(status, 200);
    assert!(detail.contains("vpn_detected"));
    assert!(detail.contains("fired"));
    let (status, _) = page(&app, "/console/attempts/999999", &cookie).await;
    assert_eq!(status, 404);
    let (status, html) = page(&app, "/console/attempts?verdict=maybe", &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains("verdict must be allow, review, block or error"));
    for path in [
        "/console?range=week",
        "/console/reviews",
        "/console/policy",
        "/console/deliveries",
    ] {
        let (status, _) = page(&app, path, &cookie).await;
        assert_eq!(status, 200, "{path}");
    }
    let visitor = attempt.visitor_id.unwrap();
    let (status, device) = page(&app, &format!("/console/devices/{visitor}"), &cookie).await;
    assert_eq!(status, 200);
    assert!(device.contains("Linked identities"));
}

/// The overview counts what the signups recorded, through the whole stack: its tiles, by
/// verdict, and its top rules come from the database's tally by minute, which must agree with
/// the attempts the admin API lists.
async fn the_overview_counts_what_the_signups_recorded(app: TestApp) {
    for persona in [
        Persona::NewDevice,
        Persona::BadBot,
        Persona::BadBot,
        Persona::Tor,
    ] {
        let id = app.identify(persona).request_id;
        app.signup(&id).await;
    }
    let attempts = app.attempts().await;
    let of = |verdict: &str| attempts.iter().filter(|a| a.verdict == verdict).count();
    let bots = attempts
        .iter()
        .filter(|a| a.codes.iter().any(|c| c == "bot_detected"))
        .count();
    assert_eq!((attempts.len(), bots), (4, 2), "{attempts:?}");
    let (cookie, _) = sign_in(&app, ALICE_TOKEN).await;
    let (status, html) = page(&app, "/console?range=hour", &cookie).await;
    assert_eq!(status, 200);
    // A tile is its count, then its label: `<span class="n">4</span><span>label</span>`.
    let tile = |label: &str| -> usize {
        let end = html
            .find(&format!("</span><span>{label}</span>"))
            .unwrap_or_else(|| panic!("a tile for {label} in {html}"));
        let start = html[..end].rfind('>').unwrap() + 1;
        html[start..end].parse().unwrap()
    };
    assert_eq!(tile("attempts, last hour"), 4);
    assert_eq!(tile(r#"<span class="badge ok">allow</span>"#), of("allow"));
    assert_eq!(tile(r#"<span class="badge bad">block</span>"#), of("block"));
    assert!(
        html.contains(&format!(
            "<code>bot_detected</code></a></td><td class=\"num\">{bots}</td>"
        )),
        "{html}"
    );
}

#[tokio::test]
async fn the_overview_counts_what_the_signups_recorded_on_sqlite() {
    the_overview_counts_what_the_signups_recorded(spawn_app_with(app_options(None)).await).await;
}

#[tokio::test]
async fn the_overview_counts_what_the_signups_recorded_on_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let app = spawn_app_with(app_options(Some(db.url.clone()))).await;
    the_overview_counts_what_the_signups_recorded(app).await;
}

/// After a flood, a verdict search for a rare verdict reads a bounded window a page, on the
/// admin API and in the console, and both name where it goes on; the next page finds the
/// attempt the first could not reach.
#[tokio::test]
async fn a_verdict_search_after_a_flood_reads_a_bounded_window_and_goes_on() {
    use signup_guard::store::{NewAttempt, SEARCH_SCAN};
    let app = spawn_app_with(app_options(None)).await;
    let event = app.identify(Persona::NewDevice);
    let (status, body) = app.signup(&event.request_id).await;
    assert_eq!(status, 200, "{body}");
    let flood: Vec<NewAttempt> = (0..SEARCH_SCAN + 5)
        .map(|n| NewAttempt {
            event_id: Some(format!("flood-{n}")),
            verdict: "block".into(),
            code: "bot_detected".into(),
            codes: vec!["bot_detected".into()],
            created_at: signup_guard::store::now_ms(),
            ..NewAttempt::default()
        })
        .collect();
    for chunk in flood.chunks(1000) {
        let batch: Vec<&NewAttempt> = chunk.iter().collect();
        app.state.store.insert_attempts(&batch).await.unwrap();
    }
    let newest = app.attempts().await[0].id;

    let api = |query: String| {
        let app = &app;
        async move {
            let response = app
                .get(&format!("/api/attempts{query}"), Some(ALICE_TOKEN))
                .await;
            assert_eq!(response.status(), 200);
            response.json::<serde_json::Value>().await.unwrap()
        }
    };
    let first = api("?verdict=allow".into()).await;
    assert_eq!(first["attempts"], serde_json::json!([]), "{first}");
    let stop = first["nextBefore"]
        .as_i64()
        .expect("the search names where it goes on");
    assert_eq!(
        stop,
        newest - SEARCH_SCAN + 1,
        "it read exactly SEARCH_SCAN attempts"
    );
    let second = api(format!("?verdict=allow&before={stop}")).await;
    let found: Vec<&str> = second["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["eventId"].as_str().unwrap())
        .collect();
    assert_eq!(found, [event.event_id.as_str()], "{second}");
    assert_eq!(second["nextBefore"], serde_json::Value::Null);
    // Without a verdict or code nothing is bounded: a full page, as before.
    let all = api("?limit=3".into()).await;
    assert_eq!(all["attempts"].as_array().unwrap().len(), 3);
    assert_eq!(all["nextBefore"], newest - 2);

    let (cookie, _) = sign_in(&app, ALICE_TOKEN).await;
    let (status, html) = page(&app, "/console/attempts?verdict=allow", &cookie).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("read back to #{stop} and found 0")),
        "{html}"
    );
    assert!(
        html.contains(&format!("before={stop}\" rel=\"next\"")),
        "{html}"
    );
    let (_, html) = page(
        &app,
        &format!("/console/attempts?verdict=allow&before={stop}"),
        &cookie,
    )
    .await;
    assert!(
        html.contains(&event.visitor_id),
        "the next page shows the allowed attempt"
    );
    assert!(!html.contains("read back to"), "{html}");
}

fn tool(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

fn notice(text: &str) {
    let _ = std::io::Write::write_all(&mut std::io::stderr(), text.as_bytes());
}

/// Every page in real Chromium: see tests/console/run.mjs for what it does and checks.
#[tokio::test(flavor = "multi_thread")]
async fn the_console_works_in_chromium() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/console");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let Some(node) = tool("node") else {
        return notice("skipping the console's browser test: node is not installed\n");
    };
    if !Path::new(&chromium).exists() {
        return notice("skipping the console's browser test: Chromium not found (set CHROMIUM)\n");
    }
    if !dir.join("node_modules/playwright-core").exists() {
        return notice("skipping the console's browser test: run `npm ci` in tests/console\n");
    }
    // Demo mode (so /demo/identify plays devices for the script) with a named token to sign in.
    let app = spawn_app_with(Options {
        named_admin_tokens: vec![("alice".into(), ALICE_TOKEN.into())],
        ..Options::demo()
    })
    .await;
    for persona in [
        Persona::NewDevice,
        Persona::Vpn,
        Persona::Vpn,
        Persona::Tor,
        Persona::BadBot,
    ] {
        let id = app.identify(persona).request_id;
        app.signup(&id).await;
    }
    let address = app.address.clone();
    let shots = std::env::var("CONSOLE_SCREENSHOTS").unwrap_or_default();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(node)
            .arg(dir.join("run.mjs"))
            .args([&address, ALICE_TOKEN, &shots])
            .env("CHROMIUM", chromium)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("console tests passed"),
        "the browser test failed:\n{stdout}\n{stderr}"
    );
}

/// Taking an analyst's token out of `ADMIN_TOKENS` ends the console sessions it opened, once
/// the instances run with the new setting: the session row alone does not let them back in.
#[tokio::test]
async fn a_session_ends_when_its_analyst_s_token_is_revoked() {
    let db = common::TestDb::sqlite();
    let app = spawn_app_with(app_options(Some(db.url.clone()))).await;
    let (cookie, _) = sign_in(&app, ALICE_TOKEN).await;
    assert_eq!(page(&app, "/console/attempts", &cookie).await.0, 200);
    drop(app);

    let restarted = spawn_app_with(app_options(Some(db.url.clone()))).await;
    assert_eq!(
        page(&restarted, "/console/attempts", &cookie).await.0,
        200,
        "a restart alone keeps the session"
    );
    drop(restarted);
    let revoked = spawn_app_with(Options {
        named_admin_tokens: vec![("bob".into(), "bob-token-for-console-tests-1".into())],
        database_url: Some(db.url.clone()),
        ..Options::default()
    })
    .await;
    let (status, _) = page(&revoked, "/console/attempts", &cookie).await;
    assert_eq!(status, 303, "alice's session is gone with her token");
}

/// A page asked for without a session comes back after signing in; anywhere else does not.
#[tokio::test]
async fn signing_in_returns_to_the_page_asked_for_and_never_off_the_console() {
    let app = spawn_app_with(app_options(None)).await;
    let response = client()
        .get(format!("{}/console/attempts?verdict=block", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let login = response.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(
        login,
        "/console/login?next=%2Fconsole%2Fattempts%3Fverdict%3Dblock"
    );
    let form = client()
        .get(format!("{}{login}", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        form.contains(r#"name="next" value="/console/attempts?verdict=block""#),
        "{form}"
    );
    for (next, goes) in [
        (
            "/console/attempts?verdict=block",
            "/console/attempts?verdict=block",
        ),
        ("https://evil.example/", "/console"),
        ("//evil.example/console", "/console"),
    ] {
        let response = client()
            .post(format!("{}/console/login", app.address))
            .form(&[("token", ALICE_TOKEN), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{next}");
        assert_eq!(response.headers()[LOCATION], goes, "{next}");
    }
}

/// Fraud labels waiting for Fingerprint are listed beside the webhook deliveries; with
/// reporting off the page says how to switch it on.
#[tokio::test]
async fn the_deliveries_page_lists_fraud_labels_not_yet_reported() {
    let off = spawn_app_with(app_options(None)).await;
    let (cookie, _) = sign_in(&off, ALICE_TOKEN).await;
    let (_, html) = page(&off, "/console/deliveries", &cookie).await;
    assert!(html.contains("FINGERPRINT_REPORT_LABELS=true"), "{html}");

    let app = spawn_app_with(Options {
        report_labels: true,
        ..app_options(None)
    })
    .await;
    let bot = app.identify(Persona::BadBot);
    assert_eq!(app.signup(&bot.request_id).await.0, 403);
    // From now on Fingerprint refuses every report, so the label stays in the outbox.
    app.simulator.set_fault(
        Some(fingerprint::simulator::Fault::Status(503)),
        Some(1_000),
    );
    let attempt = app.attempts().await[0].id;
    let labelled = client()
        .post(format!("{}/api/attempts/{attempt}/label", app.address))
        .bearer_auth(ALICE_TOKEN)
        .json(&serde_json::json!({"label": "fraud", "reason": "bot"}))
        .send()
        .await
        .unwrap();
    assert_eq!(labelled.status(), 201);
    let (cookie, _) = sign_in(&app, ALICE_TOKEN).await;
    let (status, html) = page(&app, "/console/deliveries", &cookie).await;
    assert_eq!(status, 200);
    let reports = html
        .split_once("id=\"label-reports\"")
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    assert!(
        reports.contains(&bot.event_id) && reports.contains("pending"),
        "{reports}"
    );
}
