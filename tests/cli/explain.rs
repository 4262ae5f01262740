//! `explain`: every rule, its input and outcome, in the order the policy evaluates them.

use super::*;

/// Every rule `explain` lists, in the order the code evaluates them: the rules of
/// `policy::evaluate`'s checks, which name every rule whatever the event. That this is the order
/// `docs/policy.md` documents under *Rule order* is `src/policy/tests/order.rs`'s to check.
fn evaluated_rule_order() -> Vec<&'static str> {
    let decision = signup_guard::policy::evaluate(
        &Policy::default(),
        &fingerprint::Event::default(),
        &signup_guard::policy::Context::default(),
    );
    let order: Vec<&'static str> = decision.checks.iter().map(|c| c.rule).collect();
    assert!(order.len() > 20, "every rule is checked: {order:?}");
    order
}

/// The table rows `explain` prints: rule, outcome, action.
fn explain_rows(stdout: &str) -> Vec<(String, String, String)> {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("rule "))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let mut words = l.split_whitespace().map(str::to_owned);
            (
                words.next().unwrap(),
                words.next().unwrap(),
                words.next().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_prints_every_rule_and_the_verdict() {
    let fingerprint = common::Fingerprint::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "explain.db");
    let vpn = fingerprint.simulator.identify(IdentifyRequest {
        persona: Persona::Vpn,
        ..IdentifyRequest::default()
    });
    let env = [
        ("FINGERPRINT_API_KEY", common::API_KEY),
        ("FINGERPRINT_API_URL", fingerprint.base_url.as_str()),
        ("DATABASE_URL", &url),
    ];

    let output = run_async(dir.path(), &["explain", &vpn.request_id], &env).await;
    assert!(output.status.success(), "{output:?}");
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains(&format!("event    {}", vpn.request_id)),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("visitor  {}", vpn.visitor_id)),
        "{stdout}"
    );
    assert!(stdout.contains("no recorded attempt"), "{stdout}");
    let rows = explain_rows(&stdout);
    let rules: Vec<&str> = rows.iter().map(|(rule, _, _)| rule.as_str()).collect();
    let evaluated = evaluated_rule_order();
    assert_eq!(rules, evaluated, "{stdout}");
    for (rule, outcome, action) in &rows {
        match rule.as_str() {
            "vpn" => assert_eq!(
                (outcome.as_str(), action.as_str()),
                ("fired", "review"),
                "{stdout}"
            ),
            "allowed_origins" | "ip_binding" => assert_eq!(outcome, "disabled", "{stdout}"),
            // The velocity rules are off until given a threshold.
            rule if rule.starts_with("velocity.") => assert_eq!(outcome, "disabled", "{stdout}"),
            // Remote control is a Server API v3 signal; a v4 event does not carry it.
            "remote_control" => assert_eq!(outcome, "unavailable", "{stdout}"),
            // Without a recorded attempt there is no username to read an email from.
            "disposable_email" | "email_alias" => {
                assert_eq!(outcome, "unavailable", "{stdout}")
            }
            // No FINGERPRINT_RULESET_ID, so the event carries no Rules Engine action.
            "fingerprint_rule" => assert_eq!(outcome, "unavailable", "{stdout}"),
            _ => assert_eq!(outcome, "passed", "{rule}: {stdout}"),
        }
    }
    let vpn_row = stdout.lines().find(|l| l.starts_with("vpn ")).unwrap();
    assert!(
        vpn_row.contains("vpn: true"),
        "the input is shown: {vpn_row}"
    );
    assert!(
        stdout.contains("verdict  review (first reason vpn_detected; all: vpn_detected)"),
        "{stdout}"
    );

    let output = run_async(dir.path(), &["explain", &vpn.request_id, "--json"], &env).await;
    assert!(output.status.success(), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("--json prints JSON");
    assert_eq!(report["eventId"], vpn.request_id.as_str());
    assert_eq!(report["visitorId"], vpn.visitor_id.as_str());
    assert_eq!(report["policyHash"], Policy::default().hash());
    assert_eq!(report["decision"]["verdict"], "review");
    assert_eq!(report["decision"]["would_be"], "review");
    assert_eq!(
        report["decision"]["findings"].as_array().unwrap().len(),
        1,
        "{report}"
    );
    assert_eq!(report["decision"]["findings"][0]["code"], "vpn_detected");
    let checks = report["decision"]["checks"].as_array().unwrap();
    assert_eq!(checks.len(), evaluated.len());
    let vpn_check = checks.iter().find(|c| c["rule"] == "vpn").unwrap();
    assert_eq!(
        (vpn_check["outcome"].as_str(), vpn_check["action"].as_str()),
        (Some("fired"), Some("review"))
    );

    // A stricter policy through --config changes the verdict it explains.
    let strict = fixture("strict.toml");
    let args = [
        "explain",
        vpn.request_id.as_str(),
        "--json",
        "--config",
        strict.to_str().unwrap(),
    ];
    let output = run_async(dir.path(), &args, &env).await;
    assert!(output.status.success(), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["decision"]["verdict"], "block", "{report}");

    // An unknown event is an error, not an empty explanation.
    let output = run_async(dir.path(), &["explain", "1700000000000.nOtHeRe"], &env).await;
    assert!(!output.status.success(), "{output:?}");
    assert!(
        text(&output.stderr).contains("cannot fetch event 1700000000000.nOtHeRe"),
        "{output:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_event_is_explained_from_its_snapshot_without_calling_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "recorded.db");
    let app = spawn_app(&url).await;
    let vpn = app.identify(Persona::Vpn);
    let (status, body) = app.signup(&vpn.request_id).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("review")),
        "{body}"
    );
    let fingerprint = app.fingerprint().clone();
    drop(app);

    // No key at all: a fetch could not even be attempted, so an answer proves none was made.
    let recorded = [("DATABASE_URL", url.as_str())];
    let output = run_async(dir.path(), &["explain", &vpn.request_id], &recorded).await;
    assert!(output.status.success(), "{output:?}");
    let stdout = text(&output.stdout);
    assert!(stdout.contains("context  recorded attempt #"), "{stdout}");
    assert!(stdout.contains("no call to Fingerprint"), "{stdout}");
    assert!(
        stdout.contains("verdict  review (first reason vpn_detected; all: vpn_detected)"),
        "{stdout}"
    );
    let ip_row = stdout
        .lines()
        .find(|l| l.starts_with("ip_binding "))
        .unwrap();
    assert!(ip_row.contains("disabled"), "{ip_row}");

    // --fetch asks Fingerprint afresh, so it needs the key, and keeps the recorded context.
    let output = run_async(
        dir.path(),
        &["explain", &vpn.request_id, "--fetch"],
        &recorded,
    )
    .await;
    assert!(!output.status.success(), "{output:?}");
    assert!(
        text(&output.stderr).contains("FINGERPRINT_API_KEY is required"),
        "{output:?}"
    );
    let fetching = [
        ("DATABASE_URL", url.as_str()),
        ("FINGERPRINT_API_KEY", common::API_KEY),
        ("FINGERPRINT_API_URL", fingerprint.base_url.as_str()),
    ];
    let output = run_async(
        dir.path(),
        &["explain", &vpn.request_id, "--fetch"],
        &fetching,
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("context  fetched afresh; context of recorded attempt #"),
        "{stdout}"
    );
    assert!(stdout.contains("verdict  review"), "{stdout}");

    // --fetch names an event; alone it is a usage error.
    let output = run_async(dir.path(), &["explain", "--fetch"], &fetching).await;
    assert!(!output.status.success(), "{output:?}");
}

/// Which of the team's rules refused a signup: the recorded action (with no call to
/// Fingerprint, so without the ruleset setting) and a fresh fetch with the ruleset alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_names_the_rule_and_ruleset_of_a_rules_engine_block() {
    use fingerprint::simulator::{RuleVerdict, BLOCK_RULE_ID};
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "ruleset.db");
    let app = common::spawn_app_with(common::Options {
        database_url: Some(url.clone()),
        ruleset_id: Some("rs_team".into()),
        ..common::Options::default()
    })
    .await;
    let blocked = |app: &common::TestApp| {
        app.identify_with(IdentifyRequest {
            rule_action: Some(RuleVerdict::Block),
            ..IdentifyRequest::default()
        })
    };
    let recorded = blocked(&app);
    let (status, body) = app.signup(&recorded.request_id).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("fingerprint_rule")),
        "{body}"
    );
    let fresh = blocked(&app);
    let fingerprint = app.fingerprint().clone();
    drop(app);

    let shown =
        format!("rule_action: block by rule {BLOCK_RULE_ID} of ruleset rs_team, status 403");
    let row = |stdout: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with("fingerprint_rule "))
            .unwrap_or_else(|| panic!("a fingerprint_rule row: {stdout}"))
            .to_owned()
    };
    let env = [("DATABASE_URL", url.as_str())];
    let output = run_async(dir.path(), &["explain", &recorded.request_id], &env).await;
    assert!(output.status.success(), "{output:?}");
    let stdout = text(&output.stdout);
    assert!(stdout.contains("no call to Fingerprint"), "{stdout}");
    let recorded_row = row(&stdout);
    assert!(
        recorded_row.contains("fired")
            && recorded_row.contains("block")
            && recorded_row.contains(&shown),
        "{recorded_row}"
    );
    assert!(
        stdout.contains("verdict  block (first reason fingerprint_rule; all: fingerprint_rule)"),
        "{stdout}"
    );

    let env = [
        ("DATABASE_URL", url.as_str()),
        ("FINGERPRINT_API_KEY", common::API_KEY),
        ("FINGERPRINT_API_URL", fingerprint.base_url.as_str()),
        ("FINGERPRINT_RULESET_ID", "rs_team"),
    ];
    let output = run_async(dir.path(), &["explain", &fresh.request_id], &env).await;
    assert!(output.status.success(), "{output:?}");
    let stdout = text(&output.stdout);
    assert!(stdout.contains("no recorded attempt"), "{stdout}");
    assert!(row(&stdout).contains(&shown), "{stdout}");
    let asked = fingerprint.simulator.event_fetches().pop().unwrap();
    assert_eq!(
        (asked.event_id.as_str(), asked.ruleset_id.as_deref()),
        (fresh.event_id.as_str(), Some("rs_team")),
        "explain asks for the ruleset too"
    );
}

/// A refusal by a linked identity and a velocity count, explained from the snapshot under the
/// policy that made it: the identity that matched and the count are in the rules' inputs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_shows_the_identity_that_matched_and_the_velocity_counts() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "identity.db");
    let policy_file = dir.path().join("policy.toml");
    std::fs::write(
        &policy_file,
        "[policy]\ndevice_identity = [\"visitor_id\", \"high_recall_id\"]\n\n\
         [policy.velocity.ip]\nthreshold = 100\n",
    )
    .unwrap();
    let policy = signup_guard::policy::load_file(&policy_file).unwrap();
    let app = common::spawn_app_with(common::Options {
        database_url: Some(url.clone()),
        policy,
        ..common::Options::default()
    })
    .await;
    let browser = |visitor: &str| IdentifyRequest {
        visitor_id: Some(visitor.into()),
        high_recall_id: Some("OneLaptop".into()),
        ..IdentifyRequest::default()
    };
    let first = app.identify_with(browser("ChromeVisitor"));
    assert_eq!(app.signup(&first.request_id).await.0, 200);
    let second = app.identify_with(browser("FirefoxVisitor"));
    let (status, body) = app.signup(&second.request_id).await;
    assert_eq!(
        (status, body["identity"].as_str()),
        (429, Some("high_recall_id"))
    );
    drop(app);

    let env = [("DATABASE_URL", url.as_str())];
    let config = policy_file.to_str().unwrap();
    let args = ["explain", second.request_id.as_str(), "--config", config];
    let output = run_async(dir.path(), &args, &env).await;
    assert!(output.status.success(), "{output:?}");
    let stdout = text(&output.stdout);
    let row = |rule: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{rule} ")))
            .unwrap_or_else(|| panic!("no {rule} row: {stdout}"))
            .to_owned()
    };
    let device = row("accounts_per_device");
    assert!(device.contains("fired"), "{device}");
    assert!(
        device.contains("high_recall_id OneLaptop (1); matched by high_recall_id"),
        "{device}"
    );
    let ip = row("velocity.ip");
    assert!(
        ip.contains("passed") && ip.contains("2 attempt(s) from 127.0.0.1"),
        "{ip}"
    );
    assert!(
        stdout.contains("verdict  block (first reason device_limit"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_works_in_demo_mode_for_a_recorded_signup() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let server = serve(dir.path(), &["--demo", "--port", &port], &[]).await;
    let http = reqwest::Client::new();
    let base = &server.base;
    let issued: Value = common::post_json(
        &http,
        &format!("{base}/demo/identify"),
        &json!({"persona": "tor"}),
    )
    .await;
    let request_id = issued["requestId"].as_str().unwrap().to_owned();
    let answer = common::signup(&http, base, &request_id, &common::username()).await;
    assert_eq!(
        (answer.status, answer.code()),
        (Some(403), "tor_detected"),
        "{}",
        answer.body
    );
    drop(server);

    let output = run_async(dir.path(), &["explain", "--demo", &request_id], &[]).await;
    assert!(output.status.success(), "{output:?}");
    let stdout = text(&output.stdout);
    assert!(stdout.contains("context  recorded attempt #"), "{stdout}");
    assert!(
        stdout.contains("verdict  block (first reason tor_detected"),
        "{stdout}"
    );

    let unknown = "1708102555327.NLOjmg";
    let output = run_async(dir.path(), &["explain", "--demo", unknown], &[]).await;
    assert!(!output.status.success(), "{output:?}");
    assert!(
        text(&output.stderr)
            .contains("is not recorded in the demo database: sign up with it first"),
        "{output:?}"
    );
}
