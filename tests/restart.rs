//! A restart of the PostgreSQL server itself, under load. It stops every database on that
//! server, so it is ignored in the ordinary run; `.ci/run` runs it alone afterwards:
//!
//! ```sh
//! TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo test --test restart -- --ignored
//! ```

mod common;

use common::*;
use signup_guard::policy::Policy;
use signup_guard::store::PoolSettings;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// `pg_ctlcluster <version> main <action>`, when this machine manages its server that way.
fn cluster(action: &str) -> Option<bool> {
    let version = std::fs::read_dir("/etc/postgresql")
        .ok()?
        .flatten()
        .next()?
        .file_name();
    let status = Command::new("pg_ctlcluster")
        .args([
            "--skip-systemctl-redirect",
            &version.to_string_lossy(),
            "main",
            action,
        ])
        .args(if action == "stop" {
            &["-m", "fast"][..]
        } else {
            &[][..]
        })
        .status()
        .ok()?;
    Some(status.success())
}

#[tokio::test]
#[ignore = "restarts the PostgreSQL server: run alone with --ignored, as .ci/run does"]
async fn a_database_server_restart_is_503_then_recovers_with_nothing_lost() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    if cluster("status").is_none() {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"skipping: pg_ctlcluster is not available to restart the server\n",
        );
        return;
    }
    let fingerprint = Arc::new(Fingerprint::start().await);
    let mut settings = config(&db.url, &fingerprint, Policy::default());
    settings.pool = PoolSettings {
        max_connections: 4,
        acquire_timeout: Duration::from_millis(1000),
        ..Default::default()
    };
    let instance = Instance::start_with(settings, (*fingerprint).clone()).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    let (answers_tx, mut answers_rx) = tokio::sync::mpsc::unbounded_channel::<Answer>();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (http, fingerprint, stop, tx) = (
                http.clone(),
                fingerprint.clone(),
                stop.clone(),
                answers_tx.clone(),
            );
            let address = instance.address.clone();
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let event = fingerprint.new_device();
                    if tx
                        .send(signup(&http, &address, &event.request_id, &username()).await)
                        .is_err()
                    {
                        break;
                    }
                }
            })
        })
        .collect();
    drop(answers_tx);
    let created = |answers: &[Answer]| answers.iter().filter(|a| a.status == Some(200)).count();
    let mut answers = Vec::new();
    while created(&answers) < 4 {
        answers.push(answers_rx.recv().await.expect("the load runs"));
    }

    assert_eq!(cluster("stop"), Some(true), "the server stops");
    let event = fingerprint.new_device();
    let probe = signup(&http, &instance.address, &event.request_id, &username()).await;
    let restarted = cluster("start");
    assert_eq!(probe.status, Some(503), "{:?}", probe.body);
    assert_eq!(probe.code(), "database_unavailable");
    assert!(probe.retry_after.is_some());
    answers.push(probe);
    assert_eq!(restarted, Some(true), "the server starts again");

    wait_for_health(&http, &instance.address, 200, Duration::from_secs(60)).await;
    let before = created(&answers);
    while created(&answers) < before + 4 {
        answers.push(answers_rx.recv().await.expect("the load runs"));
    }
    stop.store(true, Ordering::Relaxed);
    while let Some(answer) = answers_rx.recv().await {
        answers.push(answer);
    }
    for worker in workers {
        worker.await.unwrap();
    }

    for answer in &answers {
        match answer.status {
            Some(200) => {}
            Some(503) => assert_eq!(answer.code(), "database_unavailable", "{:?}", answer.body),
            other => panic!(
                "only 200 or 503 across a restart, got {other:?}: {:?}",
                answer.body
            ),
        }
    }
    let raw = db.raw().await;
    let stored = count(&raw, "SELECT COUNT(*) AS n FROM accounts").await;
    let answered = created(&answers) as i64;
    assert!(
        stored >= answered,
        "{answered} answered 200 but {stored} stored"
    );
    for id in answers.iter().filter_map(Answer::account_id) {
        let found = count(
            &raw,
            &format!("SELECT COUNT(*) AS n FROM accounts WHERE id = {id}"),
        )
        .await;
        assert_eq!(found, 1, "account {id} was answered 200 but is missing");
    }
    assert_no_half_written_rows(&raw).await;
    eprintln!(
        "restart: {} answers, {} created, {} answered 503",
        answers.len(),
        answered,
        answers.iter().filter(|a| a.status == Some(503)).count()
    );
}
