//! Several instances on one database, and instances that fail: the guarantees that matter once
//! signup-guard runs behind a load balancer.
//!
//! Every test here needs PostgreSQL (`TEST_DATABASE_URL`) except the SQLite variant of the
//! killed-instance test and the rate limits shared through Redis (at the end), which need a
//! Redis instead; without them they print a notice and pass.

mod common;

use common::*;
use fingerprint::simulator::{IdentifyRequest, Persona};
use futures_util::future::join_all;
use signup_guard::policy::{Identity, Policy};
use signup_guard::store::{now_ms, DeviceQuota, NewAccount, NewAttempt, PoolSettings};
use sqlx::Row;
use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Sends every `(instance address, request id, username)` at once and returns the answers in
/// the same order.
async fn burst(http: &reqwest::Client, signups: Vec<(String, String, String)>) -> Vec<Answer> {
    join_all(signups.into_iter().map(|(address, request_id, username)| {
        let http = http.clone();
        async move { signup(&http, &address, &request_id, &username).await }
    }))
    .await
}

fn statuses(answers: &[Answer]) -> Vec<Option<u16>> {
    answers.iter().map(|a| a.status).collect()
}

async fn two_instances(db: &TestDb, fingerprint: &Fingerprint, policy: Policy) -> [Instance; 2] {
    // Started together: both run the migrations at once, as a rolling deploy would.
    let (a, b) = tokio::join!(
        Instance::start_with(
            config(&db.url, fingerprint, policy.clone()),
            fingerprint.clone()
        ),
        Instance::start_with(config(&db.url, fingerprint, policy), fingerprint.clone()),
    );
    [a, b]
}

async fn fifty_signups_from_one_device(
    fingerprint: &Fingerprint,
    instances: &[Instance; 2],
    visitor_id: &str,
) -> Vec<Answer> {
    let signups = (0..50)
        .map(|i| {
            let event = fingerprint.device(visitor_id);
            (
                instances[i % 2].address.clone(),
                event.request_id,
                username(),
            )
        })
        .collect();
    burst(&reqwest::Client::new(), signups).await
}

fn assert_only_created_or_device_limit(answers: &[Answer], created: usize) {
    let ok = answers.iter().filter(|a| a.status == Some(200)).count();
    let limited = answers
        .iter()
        .filter(|a| a.status == Some(429) && a.code() == "device_limit")
        .count();
    assert_eq!(
        (ok, limited),
        (created, answers.len() - created),
        "statuses: {:?}",
        statuses(answers)
    );
}

#[tokio::test]
async fn one_device_gets_exactly_one_account_across_two_instances() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let fingerprint = Fingerprint::start().await;
    let instances = two_instances(&db, &fingerprint, Policy::default()).await;
    let answers = fifty_signups_from_one_device(&fingerprint, &instances, "device-one").await;
    assert_only_created_or_device_limit(&answers, 1);
    let store = &instances[0].state.store;
    assert_eq!(store.device_accounts("device-one", 0).await.unwrap(), 1);
    assert_eq!(store.count_accounts().await.unwrap(), 1);
    assert_no_half_written_rows(&db.raw().await).await;
}

/// A used requestId is refused on every instance. The instance that created the account
/// refuses a replay without calling Fingerprint; another one learns it from the database after
/// one call, and then refuses without one too. (SQLite: two instances on one file.)
#[tokio::test]
async fn a_used_request_id_costs_each_other_instance_at_most_one_api_call() {
    let db = TestDb::sqlite();
    let fingerprint = Fingerprint::start().await;
    // One after the other: SQLite has no migration lock for two starting at once.
    let start = || {
        Instance::start_with(
            config(&db.url, &fingerprint, Policy::default()),
            fingerprint.clone(),
        )
    };
    let first = start().await;
    let second = start().await;
    let http = reqwest::Client::new();
    let event = fingerprint.new_device();
    let fetches = || {
        fingerprint
            .simulator
            .event_fetches()
            .iter()
            .filter(|f| f.event_id == event.event_id)
            .count()
    };
    let answer = signup(&http, &first.address, &event.request_id, &username()).await;
    assert_eq!(answer.status, Some(200));
    assert_eq!(fetches(), 1);
    let mut expected = vec![(&first, 1), (&second, 2), (&second, 2), (&first, 2)];
    for (at, (instance, calls)) in expected.drain(..).enumerate() {
        let answer = signup(&http, &instance.address, &event.request_id, &username()).await;
        assert_eq!(
            (answer.status, answer.code()),
            (Some(409), "request_id_used"),
            "replay {at}"
        );
        assert_eq!(fetches(), calls, "API calls after replay {at}");
    }
    assert_eq!(first.state.store.count_accounts().await.unwrap(), 1);
}

/// Each velocity rule in turn, on two instances of one database: 20 signups at once, sharing
/// only what the rule counts, against a threshold of 5. The rules count different things, so
/// they share the database without counting each other's signups.
#[tokio::test]
async fn each_velocity_rule_lets_exactly_its_threshold_through_across_two_instances() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let fingerprint = Fingerprint::start().await;
    for (done, rule) in VELOCITY_RULES.into_iter().enumerate() {
        let instances = two_instances(&db, &fingerprint, velocity_policy(rule, 5)).await;
        let addresses = [instances[0].address.clone(), instances[1].address.clone()];
        let answers = velocity_burst(&fingerprint.simulator, &addresses, rule, 20).await;
        assert_exactly_through(&answers, 5, &format!("velocity_{rule}"));
        let store = &instances[1].state.store;
        assert_eq!(
            store.count_accounts().await.unwrap(),
            5 * (done as i64 + 1),
            "{rule}"
        );
    }
    assert_no_half_written_rows(&db.raw().await).await;
}

/// One device in twenty browsers (twenty visitor ids, one high-recall id), or twenty devices
/// under one linked id, on two instances at once: exactly one account, and every refusal names
/// the identity.
#[tokio::test]
async fn linked_identities_give_one_account_across_two_instances() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let fingerprint = Fingerprint::start().await;
    for identity in [Identity::HighRecallId, Identity::LinkedId] {
        let policy = Policy {
            device_identity: vec![Identity::VisitorId, identity],
            ..Policy::default()
        };
        let instances = two_instances(&db, &fingerprint, policy).await;
        let shared = format!("shared-{}", identity.as_str());
        let signups = (0..20)
            .map(|i| {
                let event = fingerprint.simulator.identify(IdentifyRequest {
                    high_recall_id: (identity == Identity::HighRecallId).then(|| shared.clone()),
                    linked_id: (identity == Identity::LinkedId).then(|| shared.clone()),
                    ..IdentifyRequest::default()
                });
                (
                    instances[i % 2].address.clone(),
                    event.request_id,
                    username(),
                )
            })
            .collect();
        let answers = burst(&reqwest::Client::new(), signups).await;
        assert_only_created_or_device_limit(&answers, 1);
        assert!(
            answers
                .iter()
                .filter(|a| a.status == Some(429))
                .all(|a| a.body["identity"] == identity.as_str()),
            "{answers:?}"
        );
    }
    assert_eq!(db.store().await.count_accounts().await.unwrap(), 2);
    assert_no_half_written_rows(&db.raw().await).await;
}

#[tokio::test]
async fn thirty_reservations_from_one_device_across_two_instances_give_one_allow() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let fingerprint = Fingerprint::start().await;
    let instances = two_instances(&db, &fingerprint, Policy::default()).await;
    let http = reqwest::Client::new();
    let answers = join_all((0..30).map(|i| {
        let event = fingerprint.device("device-decisions");
        let url = format!("{}/api/v1/signup-decisions", instances[i % 2].address);
        let http = http.clone();
        async move {
            let response = http
                .post(url)
                .bearer_auth(API_TOKEN)
                .json(&serde_json::json!({
                    "requestId": event.request_id,
                    "accountRef": format!("user-{i}"),
                }))
                .send()
                .await
                .expect("an answer");
            assert_eq!(response.status(), 200);
            response.json::<serde_json::Value>().await.unwrap()
        }
    }))
    .await;
    let decisions: Vec<&str> = answers
        .iter()
        .map(|a| a["decision"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        decisions.iter().filter(|d| **d == "allow").count(),
        1,
        "{decisions:?}"
    );
    assert!(
        answers
            .iter()
            .filter(|a| a["decision"] != "allow")
            .all(|a| a["codes"]
                .as_array()
                .unwrap()
                .contains(&"device_limit".into())),
        "every other reservation is blocked by the device limit: {answers:?}"
    );
    let store = &instances[0].state.store;
    assert_eq!(
        store.device_accounts("device-decisions", 0).await.unwrap(),
        1
    );
    assert_no_half_written_rows(&db.raw().await).await;
}

/// Two instances share one outbox: each delivery goes out once, from one of them, even with
/// both polling it at once.
#[tokio::test]
async fn two_instances_send_each_decision_webhook_once() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let fingerprint = Fingerprint::start().await;
    let receiver = Receiver::start(0).await;
    let start = || {
        let mut config = config(&db.url, &fingerprint, Policy::default());
        config.decision_webhooks = Some(signup_guard::delivery::DecisionWebhooks {
            url: receiver.url.parse().unwrap(),
            secret: fingerprint::SecretKey::new(DECISION_WEBHOOK_SECRET),
            verdicts: vec!["block".into()],
            retry_base: Duration::from_millis(20),
            retry_window: Duration::from_secs(60),
        });
        Instance::start_with(config, fingerprint.clone())
    };
    let instances = [start().await, start().await];
    let http = reqwest::Client::new();
    let bots: Vec<String> = (0..40)
        .map(|_| {
            fingerprint
                .simulator
                .identify(IdentifyRequest {
                    persona: Persona::BadBot,
                    ..IdentifyRequest::default()
                })
                .request_id
        })
        .collect();
    join_all(bots.iter().enumerate().map(|(i, id)| {
        let (http, address) = (http.clone(), instances[i % 2].address.clone());
        async move { signup(&http, &address, id, &username()).await }
    }))
    .await;
    receiver.wait_for(bots.len(), Duration::from_secs(20)).await;
    // Both keep polling for a while: nothing is sent twice.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let received = receiver.received();
    let ids: HashSet<&str> = received.iter().map(|r| r.delivery_id.as_str()).collect();
    assert_eq!(ids.len(), bots.len());
    assert_eq!(received.len(), bots.len(), "a delivery was sent twice");
}

/// An analyst's entry added through one instance applies on the other within the refresh
/// period (2 s), with no restart.
#[tokio::test]
async fn a_list_entry_added_on_one_instance_applies_on_the_other() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let fingerprint = Fingerprint::start().await;
    let instances = two_instances(&db, &fingerprint, Policy::default()).await;
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{}/api/lists", instances[0].address))
        .bearer_auth(ADMIN_TOKEN)
        .json(&serde_json::json!({
            "kind": "visitor_id", "value": "banned-elsewhere", "action": "block", "reason": "fraud ring"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let started = std::time::Instant::now();
    loop {
        let event = fingerprint.device("banned-elsewhere");
        let answer = signup(&http, &instances[1].address, &event.request_id, &username()).await;
        if answer.code() == "denylisted" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the other instance still lets the device through after 5 s: {:?}",
            answer.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn one_device_gets_exactly_three_accounts_in_its_window_across_two_instances() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let fingerprint = Fingerprint::start().await;
    let policy = Policy {
        accounts_per_device: 3,
        device_window_days: 7,
        ..Policy::default()
    };
    let instances = two_instances(&db, &fingerprint, policy).await;
    let store = &instances[0].state.store;
    // An account from before the window must leave the device its full quota.
    let old_at = now_ms() - 8 * 86_400_000;
    let old = NewAccount {
        username: Some("old@example.org".into()),
        username_key: Some("old@example.org".into()),
        username_skeleton: Some("old@example.org".into()),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        account_ref: None,
        decision_id: None,
        email_key: None,
        email_domain: None,
        high_recall_id: None,
        linked_id: None,
        asn: None,
        visitor_id: "device-three".into(),
        event_id: "old-event".into(),
        review: false,
        created_at: old_at,
    };
    let no_limit = DeviceQuota {
        max_accounts: i64::MAX,
        since_ms: 0,
    };
    let attempt = NewAttempt {
        verdict: "allow".into(),
        code: "created".into(),
        created_at: old_at,
        ..NewAttempt::default()
    };
    store
        .create_account(&old, no_limit, &attempt)
        .await
        .unwrap();

    let answers = fifty_signups_from_one_device(&fingerprint, &instances, "device-three").await;
    assert_only_created_or_device_limit(&answers, 3);
    let week_ago = now_ms() - 7 * 86_400_000;
    assert_eq!(
        store
            .device_accounts("device-three", week_ago)
            .await
            .unwrap(),
        3
    );
    assert_eq!(store.device_accounts("device-three", 0).await.unwrap(), 4);
    assert_no_half_written_rows(&db.raw().await).await;
}

#[tokio::test]
async fn a_username_is_taken_once_across_two_instances() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let fingerprint = Fingerprint::start().await;
    let instances = two_instances(&db, &fingerprint, Policy::default()).await;
    let spellings = ["Same@Example.org", "same@example.org", " SAME@example.org "];
    let signups = (0..24)
        .map(|i| {
            (
                instances[i % 2].address.clone(),
                fingerprint.new_device().request_id,
                spellings[i % spellings.len()].to_owned(),
            )
        })
        .collect();
    let answers = burst(&reqwest::Client::new(), signups).await;
    let ok = answers.iter().filter(|a| a.status == Some(200)).count();
    let taken = answers
        .iter()
        .filter(|a| a.status == Some(409) && a.code() == "username_taken")
        .count();
    assert_eq!((ok, taken), (1, 23), "statuses: {:?}", statuses(&answers));
    assert_eq!(instances[1].state.store.count_accounts().await.unwrap(), 1);
}

#[tokio::test]
async fn a_database_outage_is_503_and_recovery_loses_nothing() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let fingerprint = std::sync::Arc::new(Fingerprint::start().await);
    let mut settings = config(&db.url, &fingerprint, Policy::default());
    // A short wait for a connection keeps the outage answers prompt.
    settings.pool = PoolSettings {
        max_connections: 5,
        acquire_timeout: Duration::from_millis(1000),
        ..Default::default()
    };
    let (a, b) = tokio::join!(
        Instance::start_with(settings.clone(), (*fingerprint).clone()),
        Instance::start_with(settings, (*fingerprint).clone())
    );
    let addresses = [a.address.clone(), b.address.clone()];
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    // Steady load from distinct devices, running through the whole outage.
    let (answers_tx, mut answers_rx) = tokio::sync::mpsc::unbounded_channel::<Answer>();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..6)
        .map(|w| {
            let (http, fingerprint, stop, tx) = (
                http.clone(),
                fingerprint.clone(),
                stop.clone(),
                answers_tx.clone(),
            );
            let address = addresses[w % 2].clone();
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let event = fingerprint.new_device();
                    let answer = signup(&http, &address, &event.request_id, &username()).await;
                    if tx.send(answer).is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
    drop(answers_tx);

    let mut answers = Vec::new();
    while answers
        .iter()
        .filter(|a: &&Answer| a.status == Some(200))
        .count()
        < 4
    {
        answers.push(answers_rx.recv().await.expect("the load runs"));
    }

    let admin = db.admin().await;
    let name = db.pg_name().to_owned();
    let terminate_all = || {
        sqlx::query(
            "SELECT pg_terminate_backend(pid) AS n FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&name)
        .fetch_all(&admin)
    };
    // First, connections cut under load (mid-query, mid-transaction or idle in the pool),
    // each followed by an immediate reconnect. The pause only spreads the cuts over the load.
    for _ in 0..8 {
        terminate_all().await.unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
    }
    // Then a real outage: no connection at all for a while.
    sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .execute(&admin)
        .await
        .unwrap();
    terminate_all().await.unwrap();

    // While the database refuses every connection, both instances must say so plainly.
    for address in &addresses {
        let event = fingerprint.new_device();
        let probe = signup(&http, address, &event.request_id, &username()).await;
        assert_eq!(probe.status, Some(503), "{:?}", probe.body);
        assert_eq!(probe.code(), "database_unavailable", "{:?}", probe.body);
        assert!(probe.retry_after.is_some(), "503 carries Retry-After");
        answers.push(probe);
        wait_for_health(&http, address, 503, Duration::from_secs(10)).await;
    }
    // Let the load run into the outage for a moment: the outage has a length, not an event.
    let outage_until = tokio::time::Instant::now() + Duration::from_millis(1500);
    while let Ok(Some(answer)) = tokio::time::timeout_at(outage_until, answers_rx.recv()).await {
        answers.push(answer);
    }

    sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .execute(&admin)
        .await
        .unwrap();
    for address in &addresses {
        wait_for_health(&http, address, 200, Duration::from_secs(30)).await;
    }
    let ok_before_recovery = answers.iter().filter(|a| a.status == Some(200)).count();
    // Recovery means the load succeeds again, not only /health.
    while answers.iter().filter(|a| a.status == Some(200)).count() < ok_before_recovery + 4 {
        answers.push(answers_rx.recv().await.expect("the load runs"));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    while let Some(answer) = answers_rx.recv().await {
        answers.push(answer);
    }
    for worker in workers {
        worker.await.unwrap();
    }
    for address in &addresses {
        let event = fingerprint.new_device();
        let after = signup(&http, address, &event.request_id, &username()).await;
        assert_eq!(after.status, Some(200), "{:?}", after.body);
        answers.push(after);
    }

    for answer in &answers {
        match answer.status {
            Some(200) => {}
            Some(503) => {
                assert_eq!(answer.code(), "database_unavailable", "{:?}", answer.body);
                assert!(answer.retry_after.is_some(), "503 carries Retry-After");
            }
            other => panic!(
                "only 200 or 503 during an outage, got {other:?}: {:?}",
                answer.body
            ),
        }
    }
    let raw = db.raw().await;
    assert_every_answered_account_is_stored(&raw, &answers).await;
    assert_no_half_written_rows(&raw).await;
    eprintln!(
        "outage: {} answers, {} created, {} answered 503",
        answers.len(),
        answers.iter().filter(|a| a.status == Some(200)).count(),
        answers.iter().filter(|a| a.status == Some(503)).count()
    );
}

async fn assert_every_answered_account_is_stored(raw: &sqlx::AnyPool, answers: &[Answer]) {
    let stored: HashSet<i64> = sqlx::query("SELECT id FROM accounts")
        .fetch_all(raw)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<i64, _>("id"))
        .collect();
    let answered: Vec<i64> = answers
        .iter()
        .filter(|a| a.status == Some(200))
        .map(|a| a.account_id().expect("a 200 names its account"))
        .collect();
    let missing: Vec<i64> = answered
        .iter()
        .copied()
        .filter(|id| !stored.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "answered 200 but not stored: {missing:?}"
    );
}

/// The built binary as a child process, killed with SIGKILL when dropped.
struct Server {
    child: Child,
    address: String,
    _cwd: tempfile::TempDir,
}

impl Server {
    async fn start(database_url: &str, fingerprint: &Fingerprint) -> Server {
        Server::start_with(database_url, fingerprint, &[]).await
    }

    /// [`Server::start`] with settings of the test's own.
    async fn start_with(
        database_url: &str,
        fingerprint: &Fingerprint,
        env: &[(&str, &str)],
    ) -> Server {
        let port = {
            // The listener closes at the end of the block; the child binds the port right after.
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            probe.local_addr().unwrap().port()
        };
        // An empty working directory: no stray .env or signup-guard.toml changes the policy.
        let cwd = tempfile::tempdir().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_signup-guard"))
            .current_dir(cwd.path())
            .env_clear()
            .env("FINGERPRINT_API_KEY", API_KEY)
            .env("FINGERPRINT_API_URL", &fingerprint.base_url)
            .env("DATABASE_URL", database_url)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("HASH_CONCURRENCY", "2")
            .env("REQUEST_TIMEOUT_MS", "60000")
            .env("RUST_LOG", "error")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the signup-guard binary starts");
        let server = Server {
            child,
            address: format!("http://127.0.0.1:{port}"),
            _cwd: cwd,
        };
        wait_for_health(
            &reqwest::Client::new(),
            &server.address,
            200,
            Duration::from_secs(60),
        )
        .await;
        server
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Fires signups from distinct devices at one instance, SIGKILLs it once a few have been
/// answered 200, and checks that every one of those 200s is in the database.
async fn every_answered_signup_survives_a_killed_instance(db: &TestDb) {
    let fingerprint = Fingerprint::start().await;
    let mut server = Server::start(&db.url, &fingerprint).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let (answers_tx, mut answers_rx) = tokio::sync::mpsc::unbounded_channel::<Answer>();
    let total = 60;
    for _ in 0..total {
        let (http, tx, address) = (http.clone(), answers_tx.clone(), server.address.clone());
        let request_id = fingerprint.new_device().request_id;
        tokio::spawn(async move {
            let _ = tx.send(signup(&http, &address, &request_id, &username()).await);
        });
    }
    drop(answers_tx);
    let mut answers = Vec::new();
    while answers
        .iter()
        .filter(|a: &&Answer| a.status == Some(200))
        .count()
        < 3
    {
        answers.push(answers_rx.recv().await.expect("signups are answered"));
    }
    server.kill();
    while let Some(answer) = answers_rx.recv().await {
        answers.push(answer);
    }
    assert_eq!(answers.len(), total);
    let ok = answers.iter().filter(|a| a.status == Some(200)).count();
    let cut_off = answers.iter().filter(|a| a.status.is_none()).count();
    assert!(
        answers.iter().all(|a| matches!(a.status, Some(200) | None)),
        "only 200 or no answer: {:?}",
        statuses(&answers)
    );
    assert!(
        cut_off > 0,
        "the kill landed after the load ended: nothing tested"
    );
    eprintln!("killed mid-load: {ok} answered 200, {cut_off} cut off");

    let raw = db.raw().await;
    assert_every_answered_account_is_stored(&raw, &answers).await;
    assert_no_half_written_rows(&raw).await;
    raw.close().await;

    // The database a killed instance leaves behind serves the next one.
    let restarted = Server::start(&db.url, &fingerprint).await;
    let event = fingerprint.new_device();
    let answer = signup(&http, &restarted.address, &event.request_id, &username()).await;
    assert_eq!(answer.status, Some(200), "{:?}", answer.body);
}

/// Refusals are recorded in group commits: a SIGKILL between a batch and its answers must not
/// lose an answered refusal. Bad bots flood one instance; once some are answered, it is killed,
/// and every refusal that got its 403 must have its attempt row.
async fn every_answered_refusal_survives_a_killed_instance(db: &TestDb) {
    let fingerprint = Fingerprint::start().await;
    let mut server = Server::start(&db.url, &fingerprint).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let (answers_tx, mut answers_rx) = tokio::sync::mpsc::unbounded_channel::<(String, Answer)>();
    let total = 400;
    for _ in 0..total {
        let (http, tx, address) = (http.clone(), answers_tx.clone(), server.address.clone());
        let event = fingerprint.simulator.identify(IdentifyRequest {
            persona: Persona::BadBot,
            ..IdentifyRequest::default()
        });
        tokio::spawn(async move {
            let answer = signup(&http, &address, &event.request_id, &username()).await;
            let _ = tx.send((event.event_id, answer));
        });
    }
    drop(answers_tx);
    let mut answers = Vec::new();
    while answers
        .iter()
        .filter(|(_, a): &&(String, Answer)| a.status == Some(403))
        .count()
        < 20
    {
        answers.push(answers_rx.recv().await.expect("signups are answered"));
    }
    server.kill();
    while let Some(answer) = answers_rx.recv().await {
        answers.push(answer);
    }
    assert_eq!(answers.len(), total);
    let refused: Vec<&String> = answers
        .iter()
        .filter(|(_, a)| a.status == Some(403))
        .map(|(event, _)| event)
        .collect();
    let cut_off = answers.iter().filter(|(_, a)| a.status.is_none()).count();
    assert!(
        answers
            .iter()
            .all(|(_, a)| a.status.is_none() || a.code() == "bot_detected"),
        "only bot_detected or no answer"
    );
    assert!(
        cut_off > 0,
        "the kill landed after the load ended: nothing tested"
    );
    eprintln!(
        "killed mid-flood: {} answered 403, {cut_off} cut off",
        refused.len()
    );

    let raw = db.raw().await;
    let rows = sqlx::query("SELECT event_id FROM attempts WHERE code = 'bot_detected'")
        .fetch_all(&raw)
        .await
        .unwrap();
    let stored: std::collections::HashSet<String> = rows
        .iter()
        .map(|row| sqlx::Row::get::<String, _>(row, "event_id"))
        .collect();
    let missing: Vec<&&String> = refused.iter().filter(|e| !stored.contains(**e)).collect();
    assert!(
        missing.is_empty(),
        "answered 403 but not recorded: {missing:?}"
    );
    raw.close().await;
}

/// The decision-webhook outbox is written with each attempt: an instance killed while its
/// receiver was failing leaves its deliveries behind, and the next instance sends them.
async fn a_killed_instance_s_webhooks_are_delivered_after_restart(db: &TestDb) {
    let fingerprint = Fingerprint::start().await;
    let receiver = Receiver::start(usize::MAX).await;
    let env = [
        ("DECISION_WEBHOOK_URL", receiver.url.as_str()),
        ("DECISION_WEBHOOK_SECRET", DECISION_WEBHOOK_SECRET),
        ("DECISION_WEBHOOK_RETRY_BASE_MS", "50"),
    ];
    let mut server = Server::start_with(&db.url, &fingerprint, &env).await;
    let http = reqwest::Client::new();
    let mut refused = Vec::new();
    for _ in 0..10 {
        let event = fingerprint.simulator.identify(IdentifyRequest {
            persona: Persona::BadBot,
            ..IdentifyRequest::default()
        });
        let answer = signup(&http, &server.address, &event.request_id, &username()).await;
        assert_eq!(answer.status, Some(403));
        refused.push(event.event_id);
    }
    server.kill();
    assert!(
        receiver.accepted().is_empty(),
        "the receiver refused everything while the first instance ran"
    );
    receiver.fail_next(0);
    let _server = Server::start_with(&db.url, &fingerprint, &env).await;
    receiver
        .wait_for(refused.len(), Duration::from_secs(30))
        .await;
    let delivered: HashSet<String> = receiver
        .accepted()
        .values()
        .map(|body| body["eventId"].as_str().unwrap().to_owned())
        .collect();
    let expected: HashSet<String> = refused.into_iter().collect();
    assert_eq!(delivered, expected);
}

common::both_backends!(
    every_answered_signup_survives_a_killed_instance,
    every_answered_refusal_survives_a_killed_instance,
    a_killed_instance_s_webhooks_are_delivered_after_restart,
);

// Rate limits shared through Redis. Each instance here has a database and a simulator of its
// own: Redis is all they share, so a budget one spends and the other sees can only have been
// counted there. They need a Redis (see `common::redis_url`) and skip with a notice without
// one; the Redis is shared with other tests, so each test counts under addresses and visitor
// ids of its own.

/// A random IPv6 /64 of the documentation range, so that no other test, nor an earlier run,
/// has spent its budget.
fn fresh_address() -> String {
    let [a, b]: [u16; 2] = rand::random();
    format!("2001:db8:{a:x}:{b:x}::1")
}

/// A signup from `visitor_id`'s device, sent as if from `ip` through one trusted proxy.
async fn signup_as_device(app: &Instance, visitor_id: &str, ip: &str) -> Answer {
    let event = app.identify_with(IdentifyRequest {
        persona: Persona::ReturningDevice,
        visitor_id: Some(visitor_id.to_owned()),
        ..IdentifyRequest::default()
    });
    let body = serde_json::json!({
        "requestId": event.request_id, "username": username(), "password": STRONG_PASSWORD,
    });
    let response = app
        .http
        .post(format!("{}/api/create-account", app.address))
        .header("x-forwarded-for", ip)
        .json(&body)
        .send()
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    Answer {
        status: Some(status),
        body: response.json().await.unwrap_or_default(),
        retry_after,
    }
}

fn limited_through(redis: &str) -> Options {
    Options {
        signup_rate_limit_per_minute: 2,
        signup_rate_limit_per_visitor_per_minute: 1,
        rate_limit_url: Some(redis.to_owned()),
        policy: Policy {
            trusted_proxy_hops: 1,
            ..Policy::default()
        },
        ..Options::default()
    }
}

#[tokio::test]
async fn the_per_ip_limit_holds_across_two_instances_sharing_redis() {
    let Some(redis) = redis_url().await else {
        return;
    };
    let a = spawn_app_with(limited_through(&redis)).await;
    let b = spawn_app_with(limited_through(&redis)).await;
    let ip = fresh_address();
    let visitor = |n: u32| format!("device-{}-{n}", rand::random::<u64>());
    assert_eq!(
        signup_as_device(&a, &visitor(1), &ip).await.status,
        Some(200)
    );
    assert_eq!(
        signup_as_device(&b, &visitor(2), &ip).await.status,
        Some(200)
    );
    // b has seen one signup from this address; counted alone, it would let this one through.
    let third = signup_as_device(&b, &visitor(3), &ip).await;
    assert_error(third.status.unwrap(), &third.body, 429, "rate_limited");
    let wait: u64 = third.retry_after.as_deref().unwrap().parse().unwrap();
    assert!(
        (1..=30).contains(&wait),
        "one signup is earned back every 30 s: Retry-After {wait}"
    );
    assert_eq!(b.accounts().await, 1);
    // The same /64, another address in it: the same budget, on either instance.
    let neighbour = ip.replace("::1", "::abcd");
    let fourth = signup_as_device(&a, &visitor(4), &neighbour).await;
    assert_error(fourth.status.unwrap(), &fourth.body, 429, "rate_limited");
    let elsewhere = signup_as_device(&a, &visitor(5), &fresh_address()).await;
    assert_eq!(elsewhere.status, Some(200), "{}", elsewhere.body);
}

#[tokio::test]
async fn the_per_visitor_limit_holds_across_two_instances_sharing_redis() {
    let Some(redis) = redis_url().await else {
        return;
    };
    let a = spawn_app_with(limited_through(&redis)).await;
    let b = spawn_app_with(limited_through(&redis)).await;
    let device = format!("device-{}", rand::random::<u64>());
    let first = signup_as_device(&a, &device, &fresh_address()).await;
    assert_eq!(first.status, Some(200), "{}", first.body);
    // b's database has no account for this device: only the shared budget can refuse it.
    let again = signup_as_device(&b, &device, &fresh_address()).await;
    assert_error(again.status.unwrap(), &again.body, 429, "rate_limited");
    assert_eq!(b.accounts().await, 0);
    let recorded = &b.attempts().await[0];
    assert_eq!(
        (recorded.code.as_str(), recorded.visitor_id.as_deref()),
        ("rate_limited", Some(device.as_str()))
    );
}

#[tokio::test]
async fn a_redis_that_refuses_our_password_stops_startup_without_showing_it() {
    let Some(redis) = redis_url().await else {
        return;
    };
    let mut wrong = url::Url::parse(&redis).unwrap();
    wrong.set_password(Some(REDIS_PASSWORD)).unwrap();
    let db = TestDb::sqlite();
    let fingerprint = Fingerprint::start().await;
    let config = config_with(&db.url, &fingerprint, limited_through(wrong.as_str()));
    let Err(error) = signup_guard::startup::Application::build(config).await else {
        panic!("startup goes on with credentials Redis refuses");
    };
    let message = format!("{error:#}");
    assert!(
        message.contains("RATE_LIMIT_URL") && message.contains(":***@"),
        "{message}"
    );
    assert!(!message.contains(REDIS_PASSWORD), "{message}");
}

/// A redis-server of the test's own, which it stops and starts again on the same port.
struct OwnRedis {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl OwnRedis {
    /// `None`, with a notice, where redis-server is not installed.
    async fn start() -> Option<OwnRedis> {
        if Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("skipping: redis-server is not installed");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = OwnRedis {
            port,
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        redis.run().await;
        Some(redis)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Starts the server (empty: nothing is saved) and waits until it answers.
    async fn run(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let address = format!("127.0.0.1:{}", self.port);
        for _ in 0..200 {
            if redis_answers(&address).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server on {address} did not answer within 10 s");
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
async fn a_redis_that_stops_fails_closed_and_the_limit_is_back_with_it() {
    let Some(mut redis) = OwnRedis::start().await else {
        return;
    };
    let app = spawn_app_with(Options {
        signup_rate_limit_per_minute: 1,
        rate_limit_url: Some(redis.url()),
        rate_limit_failure_mode: signup_guard::rate_limit::FailureMode::Closed,
        ..Options::default()
    })
    .await;
    let signup_code = || async {
        let event = app.identify(Persona::NewDevice);
        let answer = signup(&app.http, &app.address, &event.request_id, &username()).await;
        (answer.status, answer.code().to_owned())
    };
    assert_eq!(signup_code().await, (Some(200), String::new()));
    assert_eq!(signup_code().await, (Some(429), "rate_limited".into()));

    redis.kill();
    assert_eq!(
        signup_code().await,
        (Some(503), "rate_limit_unavailable".into())
    );
    let health = get_json(&app.http, &format!("{}/health", app.address)).await;
    assert_eq!(health["rateLimitStore"], "unavailable", "{health}");

    // Back, empty: the connection is made again and the limit counts afresh.
    redis.run().await;
    let mut health = serde_json::Value::Null;
    for _ in 0..100 {
        health = get_json(&app.http, &format!("{}/health", app.address)).await;
        if health["rateLimitStore"] == "ok" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(health["rateLimitStore"], "ok", "{health}");
    assert_eq!(signup_code().await, (Some(200), String::new()));
    assert_eq!(signup_code().await, (Some(429), "rate_limited".into()));
}
