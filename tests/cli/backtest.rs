//! `backtest`: replaying the recorded attempts against a candidate policy, read only.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backtest_replays_the_recorded_attempts_against_a_candidate_policy_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "recorded.db");
    let app = spawn_app(&url).await;
    let recorded = [
        (Persona::Vpn, 200, "review"),
        (Persona::NewDevice, 200, "created"),
        (Persona::Vpn, 200, "review"),
        (Persona::Tor, 403, "tor_detected"),
        (Persona::NewDevice, 200, "created"),
        (Persona::Vpn, 200, "review"),
    ];
    let mut tor_event = String::new();
    for (persona, status, answer) in recorded {
        let event = app.identify(persona);
        let (got, body) = app.signup(&event.request_id).await;
        assert_eq!(got, status, "{persona}: {body}");
        assert!(
            body["status"] == answer || body["code"] == answer,
            "{persona}: {body}"
        );
        if persona == Persona::Tor {
            tor_event = event.request_id;
        }
    }
    let fingerprint = app.fingerprint().clone();
    drop(app);
    let before = database_dump(&url).await;
    assert_eq!((before.0.len(), before.1), (6, 5));

    let candidate = fixture("vpn_block.toml");
    let candidate = candidate.to_str().unwrap();
    let env = [("DATABASE_URL", url.as_str())];
    let output = run_async(
        dir.path(),
        &["backtest", "--config", candidate, "--json"],
        &env,
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("--json prints JSON");
    let expected_hash = signup_guard::policy::load_file(Path::new(candidate))
        .unwrap()
        .hash();
    assert_eq!(report["policyHash"], expected_hash, "{report}");
    assert_eq!(report["replayed"], 6, "{report}");
    assert_eq!(report["skipped"], 0, "{report}");
    assert_eq!(report["changed"], 3, "{report}");
    assert_eq!(
        report["transitions"],
        json!({ "review -> block": 3 }),
        "{report}"
    );
    let rules = report["rules"].as_object().unwrap();
    assert_eq!(
        rules["vpn_detected"],
        json!({ "firedBefore": 3, "firedAfter": 3, "changes": 3 }),
        "{report}"
    );
    assert_eq!(
        rules["tor_detected"],
        json!({ "firedBefore": 1, "firedAfter": 1, "changes": 0 }),
        "{report}"
    );
    let attributed: u64 = rules.values().map(|r| r["changes"].as_u64().unwrap()).sum();
    assert_eq!(
        attributed, 3,
        "every change is attributed to exactly one rule: {report}"
    );

    let output = run_async(
        dir.path(),
        &["backtest", "--config", candidate, "--since", "7d"],
        &env,
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("replayed 6 attempts (0 without signals skipped); 3 verdicts would change"),
        "{stdout}"
    );
    assert!(stdout.contains("review -> block: 3"), "{stdout}");
    let vpn_row: Vec<&str> = stdout
        .lines()
        .find(|l| l.starts_with("vpn_detected "))
        .expect("a vpn_detected row")
        .split_whitespace()
        .collect();
    assert_eq!(vpn_row, ["vpn_detected", "3", "3", "3"], "{stdout}");

    // --since filters: nothing was recorded after a time in the future.
    let output = run_async(
        dir.path(),
        &[
            "backtest",
            "--config",
            candidate,
            "--since",
            "2999-01-01T00:00:00Z",
        ],
        &env,
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("replayed 0 attempts (0 without signals skipped); 0 verdicts would change"),
        "{stdout}"
    );
    let output = run_async(
        dir.path(),
        &["backtest", "--config", candidate, "--since", "yesterday"],
        &env,
    )
    .await;
    assert!(!output.status.success(), "{output:?}");
    assert!(text(&output.stderr).contains("--since"), "{output:?}");

    // The defaults against history recorded under the defaults: nothing changes.
    let defaults = dir.path().join("defaults.toml");
    std::fs::write(&defaults, "").unwrap();
    let output = run_async(
        dir.path(),
        &["backtest", "--config", defaults.to_str().unwrap(), "--json"],
        &env,
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["changed"], 0, "{report}");

    // Without a candidate there is nothing to compare.
    let output = run_async(dir.path(), &["backtest"], &env).await;
    assert!(!output.status.success(), "{output:?}");
    assert!(
        text(&output.stderr)
            .contains("backtest needs the candidate policy: signup-guard backtest --config"),
        "{output:?}"
    );

    assert_eq!(database_dump(&url).await, before, "a backtest never writes");

    // explain uses the recorded context of the attempt.
    let base_url = fingerprint.base_url.clone();
    let env = [
        ("FINGERPRINT_API_KEY", common::API_KEY),
        ("FINGERPRINT_API_URL", base_url.as_str()),
        ("DATABASE_URL", &url),
    ];
    let output = run_async(dir.path(), &["explain", &tor_event], &env).await;
    assert!(output.status.success(), "{output:?}");
    let stdout = text(&output.stdout);
    assert!(stdout.contains("context  recorded attempt #"), "{stdout}");
    assert!(
        stdout.contains(
            "verdict  block (first reason tor_detected; all: tor_detected, suspect_score)"
        ),
        "{stdout}"
    );
    assert_eq!(database_dump(&url).await, before, "explain never writes");
}

/// A recorded set whose answer is known by hand: three VPN signups held for review (one
/// labelled fraud, one legit), two clean ones (one labelled legit), and a Tor one refused
/// (labelled fraud). A candidate that blocks VPNs catches the second fraud and one legit user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backtest_scores_both_policies_against_the_labels_and_lists_the_changes() {
    use signup_guard::store::Label;
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "labelled.db");
    let app = spawn_app(&url).await;
    let personas = [
        (Persona::Vpn, Some(Label::Fraud)),
        (Persona::Vpn, Some(Label::Legit)),
        (Persona::Vpn, None),
        (Persona::NewDevice, Some(Label::Legit)),
        (Persona::NewDevice, None),
        (Persona::Tor, Some(Label::Fraud)),
    ];
    let mut events = Vec::new();
    for (persona, label) in personas {
        let event = app.identify(persona);
        app.signup(&event.request_id).await;
        let attempt = app.attempts().await[0].id;
        if let Some(label) = label {
            let store = &app.state.store;
            assert!(store
                .label_attempt(attempt, label, "known", "test", false, 1)
                .await
                .unwrap());
        }
        events.push((attempt, event.request_id, label));
    }
    drop(app);
    let candidate = fixture("vpn_block.toml");
    let candidate = candidate.to_str().unwrap();
    let env = [("DATABASE_URL", url.as_str())];
    let args = [
        "backtest",
        "--config",
        candidate,
        "--labels",
        "--changed",
        "--json",
    ];
    let output = run_async(dir.path(), &args, &env).await;
    assert!(output.status.success(), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let scores = &report["labels"];
    assert_eq!(scores["labelled"], 4, "{report}");
    assert_eq!(
        scores["recorded"]["fraud"],
        json!({"block": 1, "review": 1}),
        "{report}"
    );
    assert_eq!(
        scores["recorded"]["legit"],
        json!({"review": 1, "allow": 1}),
        "{report}"
    );
    assert_eq!(scores["recorded"]["blockPrecision"], 1.0);
    assert_eq!(scores["recorded"]["blockRecall"], 0.5);
    assert_eq!(scores["recorded"]["flagPrecision"], 2.0 / 3.0);
    assert_eq!(scores["recorded"]["flagRecall"], 1.0);
    assert_eq!(
        scores["candidate"]["fraud"],
        json!({"block": 2}),
        "{report}"
    );
    assert_eq!(
        scores["candidate"]["legit"],
        json!({"block": 1, "allow": 1}),
        "{report}"
    );
    assert_eq!(scores["candidate"]["blockPrecision"], 2.0 / 3.0);
    assert_eq!(scores["candidate"]["blockRecall"], 1.0);
    let changes = report["changes"].as_array().unwrap();
    let expected: Vec<Value> = events[..3]
        .iter()
        .map(|(id, event, label)| {
            json!({"id": id, "eventId": event, "from": "review", "to": "block",
                   "label": label.map(Label::as_str)})
        })
        .collect();
    assert_eq!(changes, &expected, "{report}");

    let output = run_async(dir.path(), &args[..5], &env).await;
    let stdout = text(&output.stdout);
    assert!(stdout.contains("against 4 labelled attempts"), "{stdout}");
    let row = |name: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {stdout}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(row("fraud "), "fraud 1/1/0 2/0/0");
    assert_eq!(row("block precision"), "block precision 100.0% 66.7%");
    assert!(stdout.contains("review -> block"), "{stdout}");
}
