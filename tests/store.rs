//! The store's contract, written once and run on both backends: every test below is an async
//! fn over a fresh database, and `both_backends!` runs it on a SQLite file and on a PostgreSQL
//! database of its own (skipped with a notice when `TEST_DATABASE_URL` is unset).

mod common;

use common::{assert_no_half_written_rows, count, TestDb};
use signup_guard::policy::Identity;
use signup_guard::policy::{Context, Snapshot};
use signup_guard::store::{
    now_ms, AccountCounts, AccountScope, AttemptFilter, CountQuestion, CountReads, DatabaseHealth,
    DeviceQuota, NewAccount, NewAttempt, Store, StoreError,
};
use signup_guard::username;
use std::sync::atomic::{AtomicU64, Ordering};

common::both_backends!(
    migrations_run_and_running_them_again_changes_nothing,
    accounts_are_listed_newest_first_a_page_at_a_time,
    usernames_are_unique_by_key_and_by_lookalike_skeleton,
    an_event_creates_at_most_one_account,
    a_device_limit_of_one_refuses_the_second_account,
    a_device_limit_of_three_counts_only_accounts_inside_the_window,
    concurrent_creates_from_one_device_never_exceed_the_limit,
    concurrent_creates_of_one_username_leave_exactly_one_account,
    an_account_and_its_attempt_are_written_together_and_listed_by_verdict_and_code,
    a_webhook_event_is_stored_once,
    refused_inserts_leave_no_half_written_rows,
    a_failed_attempt_insert_takes_the_account_back_with_it,
    a_write_stuck_behind_a_lock_ends_unavailable_at_the_statement_timeout,
    the_read_only_store_of_explain_and_backtest_refuses_every_write,
    a_batch_of_attempts_is_written_whole_or_not_at_all,
    the_audit_log_commits_every_concurrent_refusal_and_isolates_a_bad_row,
    the_minute_tally_counts_attempts_from_before_its_release_and_from_two_writers,
    a_code_filter_matches_whatever_its_case_on_both_backends,
    the_overview_counts_verdicts_by_bucket_and_codes_in_one_pass,
    coalesced_counts_answer_every_question_as_if_asked_alone,
    health_answers_from_the_probe_while_its_result_is_fresh,
    the_audit_log_gathers_refusals_only_while_the_cpu_is_crowded,
    the_batch_tasks_keep_connections_of_their_own_and_starve_no_request,
    the_review_queue_finds_each_accounts_attempt_by_index_among_a_floods_refusals,
    a_bounded_search_pages_through_every_match_and_no_other,
    a_time_window_pages_by_time_then_id_where_ids_run_out_of_time_order,
    a_window_of_one_device_address_or_username_is_a_range_of_its_index,
    the_device_pages_ip_links_count_only_the_latest_attempts_from_each_ip,
);

const NO_LIMIT: DeviceQuota = DeviceQuota {
    max_accounts: i64::MAX,
    since_ms: 0,
};

fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn account(username: &str, visitor_id: &str, created_at: i64) -> NewAccount {
    let username_key = username::key(username);
    NewAccount {
        username: Some(username.trim().to_owned()),
        username_skeleton: Some(username::skeleton(&username_key)),
        username_key: Some(username_key),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        account_ref: None,
        decision_id: None,
        email_key: None,
        email_domain: None,
        high_recall_id: None,
        linked_id: None,
        asn: None,
        visitor_id: visitor_id.to_owned(),
        event_id: unique("event"),
        review: false,
        created_at,
    }
}

fn attempt_for(account: &NewAccount, verdict: &str, code: &str, codes: &[&str]) -> NewAttempt {
    NewAttempt {
        event_id: Some(account.event_id.clone()),
        visitor_id: Some(account.visitor_id.clone()),
        ip: Some("203.0.113.7".into()),
        username: account.username.clone(),
        verdict: verdict.into(),
        code: code.into(),
        codes: codes.iter().map(|c| c.to_string()).collect(),
        signals: Some(snapshot(account)),
        policy_hash: Some("0123abcd4567".into()),
        shadow: false,
        created_at: account.created_at,
        ..NewAttempt::default()
    }
}

/// What the decision saw, as the signup records it.
fn snapshot(account: &NewAccount) -> Snapshot {
    Snapshot {
        event: fingerprint::Event {
            event_id: account.event_id.clone(),
            visitor_id: Some(account.visitor_id.clone()),
            vpn: Some(fingerprint::event::Vpn {
                result: true,
                ..Default::default()
            }),
            ..Default::default()
        },
        context: Context {
            client_ip: Some([203, 0, 113, 7].into()),
            origin: None,
            now_ms: account.created_at,
            device_accounts: 1,
            ..Context::default()
        },
    }
}

/// Creates an allowed account with no device limit.
async fn create(store: &Store, username: &str, visitor_id: &str) -> i64 {
    insert(store, &account(username, visitor_id, now_ms())).await
}

/// Writes an allowed account with no device limit, and its attempt.
async fn insert(store: &Store, new: &NewAccount) -> i64 {
    store
        .create_account(new, NO_LIMIT, &attempt_for(new, "allow", "created", &[]))
        .await
        .expect("the account is created")
}

async fn all_attempts(store: &Store) -> Vec<signup_guard::store::AttemptRow> {
    store
        .list_attempts(&AttemptFilter::default(), 10_000)
        .await
        .unwrap()
}

async fn migrations_run_and_running_them_again_changes_nothing(db: &TestDb) {
    let store = db.store().await;
    let id = create(&store, "kept@example.org", "visitor-a").await;
    let migrated = store.migrate().await.expect("a second run is accepted");
    assert_eq!(
        migrated,
        Default::default(),
        "nothing is left to apply or re-key"
    );
    let reopened = Store::open(&db.url, Default::default())
        .await
        .expect("reopening migrates again");
    assert_eq!(reopened.count_accounts().await.unwrap(), 1);
    assert_eq!(
        reopened.list_accounts(None, 10, None).await.unwrap()[0].id,
        id
    );
    let raw = db.raw().await;
    let migration_files = std::fs::read_dir(if db.is_postgres() {
        "migrations/postgres"
    } else {
        "migrations/sqlite"
    })
    .unwrap()
    .count() as i64;
    assert_eq!(
        count(&raw, "SELECT COUNT(*) AS n FROM _sqlx_migrations").await,
        migration_files,
        "each migration is recorded once"
    );
}

async fn accounts_are_listed_newest_first_a_page_at_a_time(db: &TestDb) {
    let store = db.store().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            create(
                &store,
                &format!("page{i}@example.org"),
                &format!("visitor-{i}"),
            )
            .await,
        );
    }
    let first = store.list_accounts(None, 2, None).await.unwrap();
    let second = store
        .list_accounts(None, 2, Some(first[1].id))
        .await
        .unwrap();
    let third = store
        .list_accounts(None, 2, Some(second[1].id))
        .await
        .unwrap();
    let listed: Vec<i64> = [first, second, third.clone()]
        .concat()
        .iter()
        .map(|a| a.id)
        .collect();
    ids.reverse();
    assert_eq!(listed, ids, "newest first, no gaps, no repeats");
    assert_eq!(third.len(), 1);
    assert_eq!(third[0].username.as_deref(), Some("page0@example.org"));
    assert_eq!(third[0].visitor_id, "visitor-0");
    assert!(!third[0].review);
    assert!(store
        .list_accounts(None, 2, Some(third[0].id))
        .await
        .unwrap()
        .is_empty());
}

async fn usernames_are_unique_by_key_and_by_lookalike_skeleton(db: &TestDb) {
    let store = db.store().await;
    create(&store, "Ann@Example.org", "visitor-1").await;
    // The same key, then (Cyrillic `а`) another key with the same skeleton: the insert is
    // refused by the unique index of each, not only by the early conflict check.
    let taken = [
        "ann@example.org",
        "  ANN@EXAMPLE.ORG ",
        "ＡＮＮ@example.org",
        "an\u{200B}n@example.org",
        "\u{430}nn@example.org",
    ];
    for taken in taken {
        let new = account(taken, &unique("visitor"), now_ms());
        let result = store
            .create_account(&new, NO_LIMIT, &attempt_for(&new, "allow", "created", &[]))
            .await;
        assert!(
            matches!(result, Err(StoreError::UsernameTaken)),
            "{taken:?}: {result:?}"
        );
        assert!(matches!(
            store
                .conflict(
                    new.username_key.as_deref().unwrap(),
                    new.username_skeleton.as_deref().unwrap(),
                    &new.event_id,
                )
                .await,
            Ok(Some(StoreError::UsernameTaken))
        ));
    }
    assert_eq!(store.count_accounts().await.unwrap(), 1);
    assert_eq!(all_attempts(&store).await.len(), 1);
}

async fn an_event_creates_at_most_one_account(db: &TestDb) {
    let store = db.store().await;
    let first = account("first@example.org", "visitor-1", now_ms());
    store
        .create_account(
            &first,
            NO_LIMIT,
            &attempt_for(&first, "allow", "created", &[]),
        )
        .await
        .unwrap();
    let reused = NewAccount {
        event_id: first.event_id.clone(),
        ..account("second@example.org", "visitor-2", now_ms())
    };
    assert!(matches!(
        store
            .conflict(
                reused.username_key.as_deref().unwrap(),
                reused.username_skeleton.as_deref().unwrap(),
                &reused.event_id
            )
            .await,
        Ok(Some(StoreError::EventAlreadyUsed))
    ));
    let result = store
        .create_account(
            &reused,
            NO_LIMIT,
            &attempt_for(&reused, "allow", "created", &[]),
        )
        .await;
    assert!(
        matches!(result, Err(StoreError::EventAlreadyUsed)),
        "{result:?}"
    );
    assert_eq!(store.count_accounts().await.unwrap(), 1);
}

async fn a_device_limit_of_one_refuses_the_second_account(db: &TestDb) {
    let store = db.store().await;
    let quota = DeviceQuota {
        max_accounts: 1,
        since_ms: 0,
    };
    let first = account("one@example.org", "device-x", now_ms());
    store
        .create_account(&first, quota, &attempt_for(&first, "allow", "created", &[]))
        .await
        .expect("the first account fits the limit");
    let second = account("two@example.org", "device-x", now_ms());
    let result = store
        .create_account(
            &second,
            quota,
            &attempt_for(&second, "allow", "created", &[]),
        )
        .await;
    assert!(matches!(result, Err(StoreError::DeviceLimit)), "{result:?}");
    let other_device = account("three@example.org", "device-y", now_ms());
    store
        .create_account(
            &other_device,
            quota,
            &attempt_for(&other_device, "allow", "created", &[]),
        )
        .await
        .expect("another device has its own quota");
    assert_eq!(store.device_accounts("device-x", 0).await.unwrap(), 1);
    assert_eq!(store.count_accounts().await.unwrap(), 2);
}

async fn a_device_limit_of_three_counts_only_accounts_inside_the_window(db: &TestDb) {
    let store = db.store().await;
    let now = now_ms();
    let week_ms = 7 * 86_400_000;
    let quota = DeviceQuota {
        max_accounts: 3,
        since_ms: now - week_ms,
    };
    // Two accounts from before the window must not use up the quota.
    for age_days in [8, 30] {
        let old = account(&unique("old"), "device-w", now - age_days * 86_400_000);
        store
            .create_account(&old, NO_LIMIT, &attempt_for(&old, "allow", "created", &[]))
            .await
            .unwrap();
    }
    let mut created = 0;
    for _ in 0..5 {
        let new = account(&unique("new"), "device-w", now);
        match store
            .create_account(&new, quota, &attempt_for(&new, "allow", "created", &[]))
            .await
        {
            Ok(_) => created += 1,
            Err(StoreError::DeviceLimit) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created, 3);
    assert_eq!(
        store
            .device_accounts("device-w", quota.since_ms)
            .await
            .unwrap(),
        3
    );
    assert_eq!(store.device_accounts("device-w", 0).await.unwrap(), 5);
    // An account exactly at the window's start counts: the bound is inclusive.
    let edge_quota = DeviceQuota {
        max_accounts: 4,
        since_ms: now - 8 * 86_400_000,
    };
    let edge = account(&unique("edge"), "device-w", now);
    let result = store
        .create_account(
            &edge,
            edge_quota,
            &attempt_for(&edge, "allow", "created", &[]),
        )
        .await;
    assert!(matches!(result, Err(StoreError::DeviceLimit)), "{result:?}");
}

async fn concurrent_creates_from_one_device_never_exceed_the_limit(db: &TestDb) {
    // Enough connections that every insert can be in flight at once, released together, so
    // that a missing lock shows up as a fourth account rather than hiding behind the pool.
    let settings = signup_guard::store::PoolSettings {
        max_connections: 40,
        acquire_timeout: std::time::Duration::from_secs(30),
        ..Default::default()
    };
    let store = Store::open(&db.url, settings).await.unwrap();
    let quota = DeviceQuota {
        max_accounts: 3,
        since_ms: 0,
    };
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(40));
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let (store, start) = (store.clone(), start.clone());
            tokio::spawn(async move {
                let new = account(&unique("race"), "device-race", now_ms());
                start.wait().await;
                store
                    .create_account(&new, quota, &attempt_for(&new, "allow", "created", &[]))
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => created += 1,
            Err(StoreError::DeviceLimit) => {}
            Err(other) => panic!("only the device limit may refuse: {other:?}"),
        }
    }
    assert_eq!(created, 3);
    assert_eq!(store.device_accounts("device-race", 0).await.unwrap(), 3);
}

async fn concurrent_creates_of_one_username_leave_exactly_one_account(db: &TestDb) {
    let store = db.store().await;
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let store = store.clone();
            // Different spellings of one name, from different devices. The third has a
            // Cyrillic `а`: only the skeleton's unique index tells it from the others.
            let name = [
                "Race@Example.org",
                " race@example.ORG",
                "R\u{430}ce@example.org",
            ][i % 3];
            tokio::spawn(async move {
                let new = account(name, &unique("device"), now_ms());
                store
                    .create_account(&new, NO_LIMIT, &attempt_for(&new, "allow", "created", &[]))
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => created += 1,
            Err(StoreError::UsernameTaken) => {}
            Err(other) => panic!("only the unique username may refuse: {other:?}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(store.count_accounts().await.unwrap(), 1);
}

async fn an_account_and_its_attempt_are_written_together_and_listed_by_verdict_and_code(
    db: &TestDb,
) {
    let store = db.store().await;
    let allowed = account("allowed@example.org", "visitor-1", now_ms());
    let allowed_id = store
        .create_account(
            &allowed,
            NO_LIMIT,
            &attempt_for(&allowed, "allow", "created", &[]),
        )
        .await
        .unwrap();
    let reviewed = NewAccount {
        review: true,
        ..account("reviewed@example.org", "visitor-2", now_ms())
    };
    let reviewed_id = store
        .create_account(
            &reviewed,
            NO_LIMIT,
            &attempt_for(&reviewed, "review", "review", &["vpn_detected", "velocity"]),
        )
        .await
        .unwrap();
    let blocked = account("blocked@example.org", "visitor-3", now_ms());
    store
        .record_attempt(&attempt_for(
            &blocked,
            "block",
            "bot_detected",
            &["bot_detected"],
        ))
        .await
        .unwrap();

    let attempts = all_attempts(&store).await;
    assert_eq!(attempts.len(), 3);
    assert_eq!(attempts[0].verdict, "block", "newest first");
    assert_eq!(attempts[0].account_id, None);
    assert_eq!(attempts[1].account_id, Some(reviewed_id));
    assert_eq!(attempts[1].codes, vec!["vpn_detected", "velocity"]);
    let signals = attempts[1]
        .signals
        .as_ref()
        .expect("the snapshot reads back");
    assert_eq!(
        signals.event.event_id,
        attempts[1].event_id.clone().unwrap()
    );
    assert!(signals.event.vpn.as_ref().is_some_and(|v| v.result));
    assert_eq!(signals.context.client_ip, Some([203, 0, 113, 7].into()));
    assert_eq!(signals.context.device_accounts, 1);
    assert_eq!(attempts[1].ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(attempts[1].policy_hash.as_deref(), Some("0123abcd4567"));
    assert_eq!(attempts[2].account_id, Some(allowed_id));
    assert_eq!(
        attempts[2].event_id.as_deref(),
        Some(allowed.event_id.as_str())
    );
    let accounts = store.list_accounts(None, 10, None).await.unwrap();
    assert!(accounts[0].review && !accounts[1].review);

    let by = |verdict: Option<&str>, code: Option<&str>| AttemptFilter {
        verdict: verdict.map(str::to_owned),
        code: code.map(str::to_owned),
        ..AttemptFilter::default()
    };
    let ids = |rows: Vec<signup_guard::store::AttemptRow>| -> Vec<Option<i64>> {
        rows.iter().map(|r| r.account_id).collect()
    };
    let reviews = store
        .list_attempts(&by(Some("review"), None), 10)
        .await
        .unwrap();
    assert_eq!(ids(reviews), vec![Some(reviewed_id)]);
    // A code matches the answered code or any rule that fired.
    let velocity = store
        .list_attempts(&by(None, Some("velocity")), 10)
        .await
        .unwrap();
    assert_eq!(ids(velocity), vec![Some(reviewed_id)]);
    let created = store
        .list_attempts(&by(None, Some("created")), 10)
        .await
        .unwrap();
    assert_eq!(ids(created), vec![Some(allowed_id)]);
    let bots = store
        .list_attempts(&by(Some("block"), Some("bot_detected")), 10)
        .await
        .unwrap();
    assert_eq!(bots.len(), 1);
    assert!(store
        .list_attempts(&by(Some("allow"), Some("bot_detected")), 10)
        .await
        .unwrap()
        .is_empty());
    // A LIKE wildcard in the filter must not match every code.
    assert!(store
        .list_attempts(&by(None, Some("%")), 10)
        .await
        .unwrap()
        .is_empty());
    let page = store
        .list_attempts(
            &AttemptFilter {
                before: Some(attempts[0].id),
                ..AttemptFilter::default()
            },
            1,
        )
        .await
        .unwrap();
    assert_eq!(page[0].id, attempts[1].id);
    let recent = store
        .list_attempts(
            &AttemptFilter {
                since_ms: Some(now_ms() + 60_000),
                ..AttemptFilter::default()
            },
            10,
        )
        .await
        .unwrap();
    assert!(recent.is_empty());
}

async fn a_webhook_event_is_stored_once(db: &TestDb) {
    let store = db.store().await;
    assert!(store
        .store_webhook("evt-1", r#"{"a":1}"#, now_ms())
        .await
        .unwrap());
    assert!(!store
        .store_webhook("evt-1", r#"{"a":2}"#, now_ms())
        .await
        .unwrap());
    assert!(store.store_webhook("evt-2", "{}", now_ms()).await.unwrap());
    assert_eq!(store.count_webhooks().await.unwrap(), 2);
}

async fn refused_inserts_leave_no_half_written_rows(db: &TestDb) {
    let store = db.store().await;
    let quota = DeviceQuota {
        max_accounts: 1,
        since_ms: 0,
    };
    let first = account("taken@example.org", "device-h", now_ms());
    store
        .create_account(&first, quota, &attempt_for(&first, "allow", "created", &[]))
        .await
        .unwrap();
    let refusals = [
        (
            account("TAKEN@example.org", "device-other", now_ms()),
            "username",
        ),
        (
            NewAccount {
                event_id: first.event_id.clone(),
                ..account("fresh1@example.org", "device-other2", now_ms())
            },
            "event",
        ),
        (
            account("fresh2@example.org", "device-h", now_ms()),
            "device",
        ),
    ];
    for (new, why) in &refusals {
        let result = store
            .create_account(new, quota, &attempt_for(new, "allow", "created", &[]))
            .await;
        let expected = match *why {
            "username" => matches!(result, Err(StoreError::UsernameTaken)),
            "event" => matches!(result, Err(StoreError::EventAlreadyUsed)),
            _ => matches!(result, Err(StoreError::DeviceLimit)),
        };
        assert!(expected, "{why}: {result:?}");
    }
    assert_eq!(store.count_accounts().await.unwrap(), 1);
    assert_eq!(
        all_attempts(&store).await.len(),
        1,
        "refusals wrote no attempt"
    );
    assert_no_half_written_rows(&db.raw().await).await;
}

async fn a_failed_attempt_insert_takes_the_account_back_with_it(db: &TestDb) {
    let store = db.store().await;
    let raw = db.raw().await;
    // With the attempts table out of the way, the account insert succeeds and the attempt
    // insert after it fails: the transaction must undo the account.
    sqlx::query("ALTER TABLE attempts RENAME TO attempts_away")
        .execute(&raw)
        .await
        .unwrap();
    let new = account("lonely@example.org", "device-l", now_ms());
    let result = store
        .create_account(&new, NO_LIMIT, &attempt_for(&new, "allow", "created", &[]))
        .await;
    sqlx::query("ALTER TABLE attempts_away RENAME TO attempts")
        .execute(&raw)
        .await
        .unwrap();
    assert!(matches!(result, Err(StoreError::Other(_))), "{result:?}");
    assert_eq!(store.count_accounts().await.unwrap(), 0);
    assert_no_half_written_rows(&raw).await;
    // The same signup succeeds once the table is back: nothing of the failed one remains.
    store
        .create_account(&new, NO_LIMIT, &attempt_for(&new, "allow", "created", &[]))
        .await
        .expect("the retried signup succeeds");
    assert_no_half_written_rows(&raw).await;
}

/// A lock holder that never lets go (a hung instance, a stuck session) must turn a signup into a
/// clear 503, not a request that waits for ever holding a pool connection.
async fn a_write_stuck_behind_a_lock_ends_unavailable_at_the_statement_timeout(db: &TestDb) {
    use sqlx::Connection as _;
    db.store().await; // migrated
    let settings = signup_guard::store::PoolSettings {
        statement_timeout: std::time::Duration::from_millis(300),
        ..Default::default()
    };
    let store = Store::open(&db.url, settings).await.unwrap();
    let new = account(&unique("stuck"), &unique("device"), now_ms());
    let mut holder = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    if db.is_postgres() {
        sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(&new.visitor_id)
            .execute(&mut holder)
            .await
            .unwrap();
    } else {
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut holder)
            .await
            .unwrap();
    }
    let started = std::time::Instant::now();
    let result = store
        .create_account(&new, NO_LIMIT, &attempt_for(&new, "allow", "created", &[]))
        .await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "gave up after {:?}",
        started.elapsed()
    );
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    assert_eq!(
        count(&db.raw().await, "SELECT COUNT(*) AS n FROM accounts").await,
        0
    );
}

async fn the_read_only_store_of_explain_and_backtest_refuses_every_write(db: &TestDb) {
    let writer = db.store().await;
    create(&writer, &unique("reader"), &unique("device")).await;
    let reader = Store::connect_existing(&db.url, Default::default())
        .await
        .unwrap();
    assert_eq!(reader.count_accounts().await.unwrap(), 1, "it reads");
    let new = account(&unique("sneaky"), &unique("device"), now_ms());
    let attempt = attempt_for(&new, "allow", "created", &[]);
    assert!(reader.record_attempt(&attempt).await.is_err());
    assert!(reader
        .create_account(&new, NO_LIMIT, &attempt)
        .await
        .is_err());
    assert_eq!(writer.count_accounts().await.unwrap(), 1);
    assert_eq!(
        all_attempts(&writer).await.len(),
        1,
        "only the first account's attempt"
    );
}

/// Several instances start at once and migrate under one lock; the statement timeout that
/// bounds signups must not cancel an instance that waits its turn, or a long migration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_migrations_wait_past_the_statement_timeout() {
    use sqlx::Connection as _;
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    db.store().await; // migrated once
    let mut holder = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("LOCK TABLE _sqlx_migrations IN ACCESS EXCLUSIVE MODE")
        .execute(&mut holder)
        .await
        .unwrap();
    let settings = signup_guard::store::PoolSettings {
        statement_timeout: std::time::Duration::from_millis(200),
        ..Default::default()
    };
    let migrating = tokio::spawn({
        let url = db.url.clone();
        async move { Store::open(&url, settings).await.map(|_| ()) }
    });
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert!(!migrating.is_finished(), "it waits for the lock");
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    migrating
        .await
        .unwrap()
        .expect("the migration completes once the lock is free");
}

/// The pool checks a connection before lending it only when it has sat idle a second or more
/// (one in use more recently passed the check sqlx makes when it was given back). So a
/// connection the server cut while it sat idle (a restart, a failover, an idle timeout) is
/// found and replaced, never handed to a request to fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_idle_connections_the_server_cut_are_replaced_before_use() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let store = db.store().await;
    // Concurrent reads, so the pool holds several connections, all idle once they finish.
    let reads = futures_util::future::join_all((0..4).map(|_| store.count_accounts())).await;
    assert!(reads.iter().all(Result::is_ok), "{reads:?}");
    let admin = db.admin().await;
    let cut: Vec<sqlx::any::AnyRow> = sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(db.pg_name())
    .fetch_all(&admin)
    .await
    .unwrap();
    assert!(!cut.is_empty(), "the store's connections were cut");
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    for _ in 0..8 {
        let accounts = store.count_accounts().await;
        assert_eq!(accounts.ok(), Some(0), "a cut connection was lent out");
    }
}

/// Makes the database refuse any attempt row whose username is `poison`, as a row it cannot
/// store (a constraint, a bad byte) would be refused.
async fn poison_attempts(db: &TestDb) {
    let raw = db.raw().await;
    let statements: &[&str] = if db.is_postgres() {
        &[
            "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN \
               IF NEW.username = 'poison' THEN RAISE EXCEPTION 'poisoned row'; END IF; \
               RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER poison BEFORE INSERT ON attempts FOR EACH ROW EXECUTE FUNCTION poison()",
        ]
    } else {
        &[
            "CREATE TRIGGER poison BEFORE INSERT ON attempts WHEN NEW.username = 'poison' \
           BEGIN SELECT RAISE(ABORT, 'poisoned row'); END",
        ]
    };
    for sql in statements {
        sqlx::query(sql).execute(&raw).await.unwrap();
    }
    raw.close().await;
}

/// The overview's counts as (bucket, verdict, count), to compare with a literal.
fn by_bucket(counts: &[signup_guard::store::VerdictCount]) -> Vec<(i64, &str, i64)> {
    counts
        .iter()
        .map(|v| (v.bucket, v.verdict.as_str(), v.count))
        .collect()
}

fn refusal(username: &str) -> NewAttempt {
    NewAttempt {
        event_id: Some(unique("event")),
        username: Some(username.to_owned()),
        verdict: "block".into(),
        code: "bot_detected".into(),
        codes: vec!["bot_detected".into()],
        created_at: now_ms(),
        ..NewAttempt::default()
    }
}

async fn a_batch_of_attempts_is_written_whole_or_not_at_all(db: &TestDb) {
    let store = db.store().await;
    poison_attempts(db).await;
    let good: Vec<NewAttempt> = (0..3).map(|n| refusal(&format!("bot{n}"))).collect();
    store
        .insert_attempts(&good.iter().collect::<Vec<_>>())
        .await
        .expect("a batch is written");
    assert_eq!(all_attempts(&store).await.len(), 3);
    let spoiled = [refusal("bot3"), refusal("poison"), refusal("bot4")];
    let result = store
        .insert_attempts(&spoiled.iter().collect::<Vec<_>>())
        .await;
    assert!(result.is_err(), "{result:?}");
    assert_eq!(
        all_attempts(&store).await.len(),
        3,
        "none of a refused batch is written"
    );
    common::assert_minute_counts_match_the_attempts(&db.raw().await).await;
}

async fn the_audit_log_commits_every_concurrent_refusal_and_isolates_a_bad_row(db: &TestDb) {
    let store = db.store().await;
    poison_attempts(db).await;
    let audit = signup_guard::store::AuditLog::start(store.clone());
    let usernames: Vec<String> = (0..300)
        .map(|n| {
            if n == 150 {
                "poison".into()
            } else {
                format!("bot{n}")
            }
        })
        .collect();
    let writes = usernames.iter().map(|name| {
        let (audit, attempt) = (audit.clone(), refusal(name));
        tokio::spawn(async move { audit.record(attempt).await })
    });
    let results: Vec<_> = futures_util::future::join_all(writes).await;
    for (name, result) in usernames.iter().zip(&results) {
        let result = result.as_ref().expect("the task ran");
        assert_eq!(result.is_ok(), name != "poison", "{name}: {result:?}");
    }
    let stored: std::collections::HashSet<String> = all_attempts(&store)
        .await
        .into_iter()
        .filter_map(|a| a.username)
        .collect();
    assert_eq!(stored.len(), 299);
    assert!(usernames
        .iter()
        .filter(|n| *n != "poison")
        .all(|n| stored.contains(n)));
    common::assert_minute_counts_match_the_attempts(&db.raw().await).await;
}

/// The overview's tally by minute is kept by the database: it counts the attempts an older
/// release wrote (the migration's backfill) and every one written since, by audit writers of
/// two instances and account transactions all at once (on PostgreSQL they add to the same
/// minute's rows, and must neither lose a count nor deadlock).
async fn the_minute_tally_counts_attempts_from_before_its_release_and_from_two_writers(
    db: &TestDb,
) {
    let minute = signup_guard::store::MINUTE_MS;
    let old = db.migrated_to(if db.is_postgres() { 12 } else { 11 }).await;
    let now = now_ms() / minute * minute;
    let earlier = [
        (now - 3 * minute, "block", r#"["bot_detected"]"#),
        (now - 3 * minute + 59_999, "block", r#"["bot_detected"]"#),
        (now - 2 * minute + 1, "allow", "[]"),
        (
            now - 2 * minute + 2,
            "block",
            r#"["bot_detected","tor_detected"]"#,
        ),
    ];
    for (created_at, verdict, codes) in earlier {
        sqlx::query(
            "INSERT INTO attempts (verdict, code, codes, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(verdict)
        .bind(if verdict == "allow" {
            "created"
        } else {
            "bot_detected"
        })
        .bind(codes)
        .bind(created_at)
        .execute(&old)
        .await
        .unwrap();
    }
    old.close().await;

    let first = db.store().await;
    let (verdicts, codes) = first
        .overview_counts(now - 3 * minute, minute)
        .await
        .unwrap();
    let verdicts = by_bucket(&verdicts);
    assert_eq!(
        verdicts,
        [(0, "block", 2), (1, "allow", 1), (1, "block", 1)]
    );
    assert_eq!(
        codes,
        [
            ("bot_detected".to_owned(), 3),
            ("tor_detected".to_owned(), 1)
        ]
    );

    let second = db.store().await;
    let writers = [
        signup_guard::store::AuditLog::start(first.clone()),
        signup_guard::store::AuditLog::start(second.clone()),
    ];
    let refusals = (0..400).map(|n| {
        let audit = writers[n % 2].clone();
        tokio::spawn(async move { audit.record(refusal(&format!("bot{n}"))).await })
    });
    let accounts = (0..20).map(|n| {
        let store = if n % 2 == 0 { &first } else { &second }.clone();
        tokio::spawn(async move { create(&store, &format!("user{n}"), &format!("d{n}")).await })
    });
    // Batches written directly, allowed and blocked rows mixed, so that they share tally rows
    // with both of the others; an error here is not retried away as the audit writer's is.
    let batches = (0..40).map(|n| {
        let store = if n % 2 == 0 { &first } else { &second }.clone();
        tokio::spawn(async move {
            let rows: Vec<NewAttempt> = (0..10)
                .map(|k| NewAttempt {
                    verdict: if k % 2 == 0 { "allow" } else { "block" }.into(),
                    code: if k % 2 == 0 {
                        "created"
                    } else {
                        "bot_detected"
                    }
                    .into(),
                    codes: if k % 2 == 0 {
                        vec![]
                    } else {
                        vec!["bot_detected".into()]
                    },
                    ..refusal(&format!("batch{n}-{k}"))
                })
                .collect();
            store
                .insert_attempts(&rows.iter().collect::<Vec<_>>())
                .await
        })
    });
    let (refused, created, batched) = tokio::join!(
        futures_util::future::join_all(refusals),
        futures_util::future::join_all(accounts),
        futures_util::future::join_all(batches)
    );
    for result in refused.into_iter().chain(batched) {
        result
            .expect("the task ran")
            .expect("the rows are recorded");
    }
    assert_eq!(created.into_iter().filter(|r| r.is_ok()).count(), 20);

    let (verdicts, _) = first
        .overview_counts(now - 3 * minute, minute)
        .await
        .unwrap();
    let total = |v: &str| -> i64 {
        verdicts
            .iter()
            .filter(|c| c.verdict == v)
            .map(|c| c.count)
            .sum()
    };
    assert_eq!((total("block"), total("allow")), (603, 221));
    common::assert_minute_counts_match_the_attempts(&db.raw().await).await;
}

/// While other work crowds the CPU, a small batch waits for company (up to its linger, here
/// far longer than the test needs) and the rows that come meanwhile share its commit; with
/// nothing crowding, a lone refusal is committed at once. The linger is long so that neither
/// half depends on how fast the machine is: the first refusal can only be answered early if
/// the writer did not wait, and the others fill the batch to its size long before it ends.
async fn the_audit_log_gathers_refusals_only_while_the_cpu_is_crowded(db: &TestDb) {
    use signup_guard::store::{AuditLog, Linger};
    use std::sync::Arc;
    use std::time::Duration;
    let store = db.store().await;
    let linger = Duration::from_secs(30);
    let spawn = |audit: &AuditLog, name: String| {
        let (audit, attempt) = (audit.clone(), refusal(&name));
        tokio::spawn(async move { audit.record(attempt).await })
    };

    let calm = AuditLog::start_lingering(
        store.clone(),
        Linger::while_crowded(Arc::new(|| false), linger),
    );
    tokio::time::timeout(Duration::from_secs(10), spawn(&calm, "calm".into()))
        .await
        .expect("a lone refusal is not held while nothing crowds the CPU")
        .unwrap()
        .unwrap();
    assert_eq!((calm.commits(), calm.rows()), (1, 1));

    let crowded = AuditLog::start_lingering(
        store.clone(),
        Linger::while_crowded(Arc::new(|| true), linger),
    );
    let first = spawn(&crowded, "first".into());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!first.is_finished(), "the first refusal waits for company");
    assert_eq!(crowded.commits(), 0);
    let rest: Vec<_> = (1..Linger::ENOUGH)
        .map(|n| spawn(&crowded, format!("next{n}")))
        .collect();
    let answered = tokio::time::timeout(Duration::from_secs(10), async {
        first.await.unwrap().unwrap();
        for write in rest {
            write.await.unwrap().unwrap();
        }
    });
    answered
        .await
        .expect("a full batch is committed without waiting out the linger");
    let full = Linger::ENOUGH as u64;
    assert_eq!((crowded.commits(), crowded.rows()), (1, full), "one commit");
    assert_eq!(all_attempts(&store).await.len(), Linger::ENOUGH + 1);
}

/// SQLite's LIKE ignores ASCII case and PostgreSQL's does not: `VPN_DETECTED` matched on one
/// backend and not on the other.
async fn a_code_filter_matches_whatever_its_case_on_both_backends(db: &TestDb) {
    let store = db.store().await;
    let mut vpn = refusal("vpn-user");
    vpn.code = "review".into();
    vpn.codes = vec!["vpn_detected".into()];
    store.record_attempt(&vpn).await.unwrap();
    store.record_attempt(&refusal("bot-user")).await.unwrap();
    for code in ["vpn_detected", "VPN_DETECTED", "Vpn_Detected"] {
        let filter = AttemptFilter {
            code: Some(code.into()),
            ..AttemptFilter::default()
        };
        let found = store.list_attempts(&filter, 10).await.unwrap();
        let names: Vec<_> = found.iter().filter_map(|a| a.username.as_deref()).collect();
        assert_eq!(names, ["vpn-user"], "{code}");
    }
    let filter = AttemptFilter {
        code: Some("BOT_DETECTED".into()),
        ..AttemptFilter::default()
    };
    assert_eq!(
        store.list_attempts(&filter, 10).await.unwrap().len(),
        1,
        "the answered code too"
    );
}

/// The console's overview: attempts by bucket and verdict, and each code's count, from one
/// query; attempts before the window are not counted.
async fn the_overview_counts_verdicts_by_bucket_and_codes_in_one_pass(db: &TestDb) {
    let store = db.store().await;
    let minute = signup_guard::store::MINUTE_MS;
    let since = 1_000 * minute;
    let at = |created_at: i64, verdict: &str, codes: &[&str]| NewAttempt {
        verdict: verdict.into(),
        code: codes.first().copied().unwrap_or("created").into(),
        codes: codes.iter().map(|c| c.to_string()).collect(),
        created_at,
        ..NewAttempt::default()
    };
    let attempts = [
        at(since - 1, "block", &["tor_detected"]),
        at(since, "allow", &[]),
        at(
            since + 5 * minute - 1,
            "block",
            &["bot_detected", "suspect_score"],
        ),
        at(since + 9 * minute, "review", &["vpn_detected"]),
        at(since + 10 * minute, "block", &["bot_detected"]),
        at(
            since + 25 * minute + 59_999,
            "block",
            &["bot_detected", "suspect_score"],
        ),
    ];
    store
        .insert_attempts(&attempts.iter().collect::<Vec<_>>())
        .await
        .unwrap();
    let (verdicts, codes) = store.overview_counts(since, 10 * minute).await.unwrap();
    let verdicts = by_bucket(&verdicts);
    assert_eq!(
        verdicts,
        [
            (0, "allow", 1),
            (0, "block", 1),
            (0, "review", 1),
            (1, "block", 1),
            (2, "block", 1)
        ]
    );
    assert_eq!(
        codes,
        [
            ("bot_detected".to_owned(), 3),
            ("suspect_score".to_owned(), 2),
            ("vpn_detected".to_owned(), 1)
        ]
    );
    // A minute cannot be split: a start or bucket off the minute is refused, not rounded.
    assert!(store.overview_counts(since + 1, minute).await.is_err());
    assert!(store.overview_counts(since, minute / 2).await.is_err());
}

/// `/health`'s ping has a connection of its own: with the pool's only connection stuck behind
/// another writer's lock, it still answers at once, where the shared pool would have made it
/// wait out the acquire timeout and report the database unavailable.
#[tokio::test]
async fn the_health_ping_does_not_wait_for_a_busy_pool() {
    let db = TestDb::sqlite();
    db.store().await.close().await;
    let store = Store::connect(
        &db.url,
        signup_guard::store::PoolSettings {
            max_connections: 1,
            acquire_timeout: std::time::Duration::from_millis(300),
            statement_timeout: std::time::Duration::from_secs(3),
        },
    )
    .await
    .unwrap();
    let raw = db.raw().await;
    let mut holder = raw.acquire().await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *holder)
        .await
        .unwrap();
    let stuck = {
        let store = store.clone();
        tokio::spawn(async move { store.insert_attempts(&[&refusal("stuck")]).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    store
        .ping()
        .await
        .expect("the ping answers beside the stuck write");
    assert!(started.elapsed() < std::time::Duration::from_millis(300));
    sqlx::query("ROLLBACK").execute(&mut *holder).await.unwrap();
    drop(holder);
    stuck
        .await
        .unwrap()
        .expect("the write goes through once the lock is free");
}

/// The coalesced reads put many signups' counts in one statement: each question must get its
/// own answer, the one it gets asked alone, whatever the batch holds beside it.
async fn coalesced_counts_answer_every_question_as_if_asked_alone(db: &TestDb) {
    let store = db.store().await;
    let now = now_ms();
    let (a, b, c) = (unique("dev-a"), unique("dev-b"), unique("dev-c"));
    let a_event = {
        let first = account(&unique("a1"), &a, now);
        insert(&store, &first).await;
        first.event_id
    };
    create(&store, &unique("a2"), &a).await;
    let b_account = NewAccount {
        high_recall_id: Some("hr-b".into()),
        linked_id: Some("linked-b".into()),
        email_key: Some("bee@example.org".into()),
        email_domain: Some("example.org".into()),
        asn: Some("64512".into()),
        ..account("bee", &b, now)
    };
    insert(&store, &b_account).await;

    let questions = [
        // Device A's two accounts, and an event id that created one of them.
        CountQuestion {
            scope: AccountScope::device(&a, 0),
            email: None,
            event_id: Some(a_event.clone()),
        },
        // A new browser (C) of device B, by high-recall and linked id.
        CountQuestion {
            scope: AccountScope {
                identities: vec![
                    (Identity::VisitorId, c.clone()),
                    (Identity::HighRecallId, "hr-b".into()),
                    (Identity::LinkedId, "linked-b".into()),
                ],
                device_since_ms: 0,
                email_domain: Some(("example.org".into(), 0)),
                asn: Some(("64512".into(), 0)),
            },
            email: Some(("bee@example.org".into(), "someone-else".into())),
            event_id: Some(unique("event")),
        },
        // Nothing to count.
        CountQuestion {
            scope: AccountScope::default(),
            email: None,
            event_id: None,
        },
        // Device A again, counting only accounts from the future: none.
        CountQuestion {
            scope: AccountScope::device(&a, now + 60_000),
            email: None,
            event_id: None,
        },
    ];
    let expected = [
        AccountCounts {
            device: 2,
            event_used: true,
            ..AccountCounts::default()
        },
        AccountCounts {
            device: 1,
            by_identity: vec![0, 1, 1],
            email_domain: Some(1),
            asn: Some(1),
            email: 1,
            event_used: false,
        },
        AccountCounts::default(),
        AccountCounts::default(),
    ];
    for (question, expected) in questions.iter().zip(&expected) {
        let alone = store
            .account_counts(
                &question.scope,
                question
                    .email
                    .as_ref()
                    .map(|(e, u)| (e.as_str(), u.as_str())),
                question.event_id.as_deref(),
            )
            .await
            .unwrap();
        assert_eq!(&alone, expected, "{question:?}");
    }
    let all: Vec<&CountQuestion> = questions.iter().collect();
    assert_eq!(store.count_many(&all).await.unwrap(), expected.to_vec());

    // A scope naming one identity twice (the policy never builds one) has no column of its own
    // for each value: a batch holding it is asked one column per question and count, with the
    // same answers.
    let twice = CountQuestion {
        scope: AccountScope {
            identities: vec![
                (Identity::VisitorId, a.clone()),
                (Identity::VisitorId, c.clone()),
            ],
            device_since_ms: 0,
            ..AccountScope::default()
        },
        email: None,
        event_id: None,
    };
    let twice_expected = AccountCounts {
        device: 2,
        by_identity: vec![2, 0],
        ..AccountCounts::default()
    };
    let alone = store
        .account_counts(&twice.scope, None, None)
        .await
        .unwrap();
    assert_eq!(alone, twice_expected);
    let questions: Vec<CountQuestion> = questions.into_iter().chain([twice]).collect();
    let expected: Vec<AccountCounts> = expected.into_iter().chain([twice_expected]).collect();
    let all: Vec<&CountQuestion> = questions.iter().collect();
    assert_eq!(store.count_many(&all).await.unwrap(), expected);

    // Through the readers, 200 at once in every order: batches of every size, each answer its
    // own question's.
    let reads = CountReads::start(store.clone());
    let asked = (0..200).map(|i| {
        let reads = reads.clone();
        let k = (i * 7) % questions.len();
        let question = questions[k].clone();
        async move { (k, reads.count(question).await.unwrap()) }
    });
    for (k, answer) in futures_util::future::join_all(asked).await {
        assert_eq!(answer, expected[k], "question {k}");
    }
}

/// `/health` answers from the probe's latest result while it is fresh: the stores below are
/// closed, so a round trip would fail, yet a fresh result still answers. A result older than its
/// freshness is not trusted, and the probe on its own sees the database go.
async fn health_answers_from_the_probe_while_its_result_is_fresh(db: &TestDb) {
    use std::time::Duration;
    let hour = Duration::from_secs(3600);

    let store = db.store().await;
    let fresh = DatabaseHealth::start(store.clone(), hour, hour);
    fresh.check().await.expect("the database answers");
    store.close().await;
    assert!(
        matches!(store.ping().await, Err(StoreError::Unavailable(_))),
        "a round trip now fails"
    );
    fresh
        .check()
        .await
        .expect("a fresh result answers without a round trip");

    let store = db.store().await;
    let stale = DatabaseHealth::start(store.clone(), hour, Duration::ZERO);
    stale.check().await.expect("the database answers");
    store.close().await;
    assert!(
        matches!(stale.check().await, Err(StoreError::Unavailable(_))),
        "a stale result is not trusted"
    );

    let store = db.store().await;
    let probed = DatabaseHealth::start(store.clone(), Duration::from_millis(20), hour);
    probed.check().await.expect("the database answers");
    store.close().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while probed.check().await.is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the probe did not see the database go"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A snapshot is over PostgreSQL's 2 KiB compression threshold, and pglz was a fifth of the
/// server's CPU in a refusal flood: migration 0011 compresses it with lz4, and it reads back
/// whole. (The machine's PostgreSQL is Debian's, built with lz4.)
#[tokio::test]
async fn postgres_compresses_attempt_snapshots_with_lz4_and_reads_them_back() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let store = db.store().await;
    let new = account(&unique("lz4"), &unique("device"), now_ms());
    let mut signals = snapshot(&new);
    signals.event.user_agent = Some("Mozilla/5.0 (X11; Linux x86_64) ".repeat(200));
    let attempt = NewAttempt {
        signals: Some(signals.clone()),
        ..attempt_for(&new, "block", "bot_detected", &["bot_detected"])
    };
    store.record_attempt(&attempt).await.unwrap();

    let raw = db.raw().await;
    let (method, stored): (Option<String>, i32) = sqlx::query_as(
        "SELECT pg_column_compression(signals) AS method, \
                pg_column_size(signals) AS stored FROM attempts WHERE event_id = $1",
    )
    .bind(&new.event_id)
    .fetch_one(&raw)
    .await
    .unwrap();
    assert_eq!(method.as_deref(), Some("lz4"));
    let written = signals.to_json().len();
    assert!(
        (stored as usize) < written / 4,
        "{stored} bytes stored for {written} of JSON"
    );
    let read = all_attempts(&store).await;
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].signals.as_ref(), Some(&signals));
}

/// The audit writer and the count readers keep a connection while their statements keep
/// coming; they draw it from a pool of their own, so a request pool of one still serves.
async fn the_batch_tasks_keep_connections_of_their_own_and_starve_no_request(db: &TestDb) {
    // Shorter than the 500 ms a task keeps an idle connection: were the kept connections the
    // request pool's, the statements below would give up waiting for them.
    let settings = signup_guard::store::PoolSettings {
        max_connections: 1,
        acquire_timeout: std::time::Duration::from_millis(300),
        ..Default::default()
    };
    let store = Store::open(&db.url, settings).await.unwrap();
    let audit = signup_guard::store::AuditLog::start(store.clone());
    let reads = CountReads::start(store.clone());
    let question = CountQuestion {
        scope: AccountScope::device("device-kept", 0),
        email: None,
        event_id: Some(unique("event")),
    };
    for n in 0..3 {
        audit.record(refusal(&format!("bot{n}"))).await.unwrap();
        let counts = reads.count(question.clone()).await.unwrap();
        assert_eq!(counts.device, 0);
        // Straight after, while both tasks keep theirs: the request pool's one connection.
        store.record_attempt(&refusal("beside")).await.unwrap();
        create(&store, &format!("kept{n}"), &format!("device-{n}")).await;
    }
    // Each round: the writer's refusal, the one beside it, and the account's attempt.
    assert_eq!(all_attempts(&store).await.len(), 9);
}

/// The review queue names the attempt that created each account. It finds it through an index
/// of the attempts that created one; a flood's refusals carry no account and never enter it.
/// Before, the lookup scanned the attempts from the first: seconds at 300,000 rows.
async fn the_review_queue_finds_each_accounts_attempt_by_index_among_a_floods_refusals(
    db: &TestDb,
) {
    let store = db.store().await;
    let refusals: Vec<NewAttempt> = (0..200).map(|_| refusal(&unique("bot"))).collect();
    let mut expected = Vec::new();
    for (k, chunk) in refusals.chunks(50).enumerate() {
        store
            .insert_attempts(&chunk.iter().collect::<Vec<_>>())
            .await
            .unwrap();
        let held = NewAccount {
            review: true,
            ..account(&unique("held"), &unique("device"), now_ms())
        };
        let code = format!("rule_{k}");
        let id = store
            .create_account(
                &held,
                NO_LIMIT,
                &attempt_for(&held, "review", &code, &[&code]),
            )
            .await
            .unwrap();
        expected.push((id, code));
    }

    let queue = store.reviews(10, None).await.unwrap();
    let attempts = all_attempts(&store).await;
    let got: Vec<(i64, String)> = queue
        .iter()
        .map(|r| (r.account.id, r.codes.join(",")))
        .collect();
    assert_eq!(got, expected);
    for review in &queue {
        let attempt = attempts
            .iter()
            .find(|a| Some(a.id) == review.attempt_id)
            .expect("the queue names a recorded attempt");
        assert_eq!(attempt.account_id, Some(review.account.id));
    }

    // The lookups the queue, a resolved review and a webhook delivery make, each planned by
    // the database itself on the table as it stands.
    for (lookup, index) in [
        (
            "SELECT id FROM attempts WHERE account_id = 7 ORDER BY id LIMIT 1",
            "attempts_account_id_idx",
        ),
        (
            "SELECT id FROM attempts WHERE delivery_id = 'dlv_7'",
            "attempts_delivery_id_uq",
        ),
    ] {
        let plan = plan(db, lookup).await;
        assert!(
            plan.iter().any(|line| line.contains(index)),
            "{lookup}: {plan:#?}"
        );
    }
}

/// How the database itself plans `lookup` on the attempts as they stand: the lines of
/// PostgreSQL's `EXPLAIN`, or the details of SQLite's `EXPLAIN QUERY PLAN`.
async fn plan(db: &TestDb, lookup: &str) -> Vec<String> {
    use sqlx::Row;
    let raw = db.raw().await;
    if db.is_postgres() {
        let mut tx = raw.begin().await.unwrap();
        sqlx::query("ANALYZE attempts")
            .execute(&mut *tx)
            .await
            .unwrap();
        // Scans costed out of reach leave the index paths to compare, as on a table of
        // millions; where no index could answer, the plan names another path (the primary
        // key's, or the scan it could not avoid). A bitmap scan, whose rows come out of index
        // order, is what a tiny table's planner picks instead of walking the index.
        sqlx::query("SET LOCAL enable_seqscan = off")
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query("SET LOCAL enable_bitmapscan = off")
            .execute(&mut *tx)
            .await
            .unwrap();
        let rows = sqlx::query(&format!("EXPLAIN {lookup}"))
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        rows.iter().map(|r| r.get::<String, _>(0)).collect()
    } else {
        let rows = sqlx::query(&format!("EXPLAIN QUERY PLAN {lookup}"))
            .fetch_all(&raw)
            .await
            .unwrap();
        rows.iter().map(|r| r.get::<String, _>("detail")).collect()
    }
}

/// A time window of one device's, address's or username's attempts, newest first, is a range
/// of that column's index, read in the index's order: no sort, and nothing outside the window
/// walked. On indexes by (column, id), the flood address's half-hour window read every later
/// attempt from it (2.4 s on SQLite at 3.6 million attempts).
async fn a_window_of_one_device_address_or_username_is_a_range_of_its_index(db: &TestDb) {
    let store = db.store().await;
    let start = now_ms() - 1_000_000;
    let rows: Vec<NewAttempt> = (0..200)
        .map(|n| NewAttempt {
            visitor_id: Some(format!("device-{}", n % 20)),
            ip: Some(format!("198.51.100.{}", n % 20)),
            created_at: start + n * 1000,
            ..refusal(&format!("user-{}", n % 20))
        })
        .collect();
    store
        .insert_attempts(&rows.iter().collect::<Vec<_>>())
        .await
        .unwrap();
    for (column, value, index) in [
        ("visitor_id", "device-3", "attempts_visitor_time_idx"),
        ("ip", "198.51.100.3", "attempts_ip_time_idx"),
        ("username", "user-3", "attempts_username_time_idx"),
    ] {
        // Half the attempts are in the window; a tenth of those are the column's value's.
        let (since, until) = (start + 50_000, start + 150_000);
        let lookup = format!(
            "SELECT id FROM attempts WHERE created_at >= {since} AND created_at < {until} \
             AND {column} = '{value}' ORDER BY created_at DESC, id DESC LIMIT 51"
        );
        let plan = plan(db, &lookup).await;
        assert!(
            plan.iter().any(|line| line.contains(index)),
            "{lookup}: {plan:#?}"
        );
        let sorted = |line: &String| line.contains("Sort") || line.contains("TEMP B-TREE");
        assert!(!plan.iter().any(sorted), "{lookup}: {plan:#?}");
    }
}

/// A verdict or code search reads at most `scan` attempts a page. Followed page by page, it
/// finds exactly the attempts that match, newest first, each once; a page that read its whole
/// window short of `limit` names where the search goes on, and that window held at most `scan`
/// of the attempts the other conditions select; one that fills up names its last.
async fn a_bounded_search_pages_through_every_match_and_no_other(db: &TestDb) {
    let store = db.store().await;
    let empty = store
        .attempts_page(&by_verdict("allow"), 5, Some(10))
        .await
        .unwrap();
    assert_eq!((empty.attempts.len(), empty.next_before), (0, None));

    let start = now_ms() - 100_000;
    let mut rows = Vec::new();
    for n in 0..40 {
        let mut row = refusal(&format!("u{n}"));
        row.visitor_id = Some(format!("device-{}", n % 3));
        row.created_at = start + n * 1000;
        match n {
            0 | 17 => {
                row.verdict = "allow".into();
                row.code = "created".into();
                row.codes = Vec::new();
            }
            9 | 10 | 33 => {
                row.verdict = "review".into();
                row.code = "review".into();
                row.codes = vec!["vpn_detected".into()];
            }
            _ => {}
        }
        rows.push(row);
    }
    let recorded = insert_in_one_batch(&store, &rows).await;
    let ids: Vec<i64> = recorded.iter().map(|(id, _)| *id).collect();

    let since = start + 15_000;
    let filters = [
        by_verdict("allow"),
        AttemptFilter {
            code: Some("VPN_detected".into()),
            ..AttemptFilter::default()
        },
        by_verdict("block"),
        AttemptFilter {
            code: Some("vpn_detected".into()),
            visitor_id: Some("device-0".into()),
            ..by_verdict("review")
        },
        AttemptFilter {
            since_ms: Some(since),
            ..by_verdict("review")
        },
        by_verdict("error"),
        AttemptFilter {
            visitor_id: Some("device-1".into()),
            ..AttemptFilter::default()
        },
    ];
    for filter in filters {
        assert_pages_through(
            &store,
            &recorded,
            &filter,
            &[(2, 7), (5, 10), (1, 1), (50, 4)],
        )
        .await;
    }

    // The first window of a rare verdict: nothing found, and the search names the lowest id
    // it read.
    let page = store
        .attempts_page(&by_verdict("allow"), 5, Some(10))
        .await
        .unwrap();
    assert!(page.attempts.is_empty());
    assert_eq!(page.next_before, Some(ids[9]));
    // The same without a bound: one page, from the oldest attempt.
    let page = store
        .attempts_page(&by_verdict("allow"), 5, None)
        .await
        .unwrap();
    assert_eq!(page.attempts.len(), 2);
    assert_eq!(page.next_before, None);
    // A page that fills up names its last attempt, whatever it read.
    let page = store
        .attempts_page(&by_verdict("block"), 3, Some(10))
        .await
        .unwrap();
    assert_eq!(page.attempts.len(), 3);
    assert_eq!(page.next_before, Some(page.attempts[2].id));
    // Below every attempt there is nothing to search.
    let below = AttemptFilter {
        before: ids.last().copied(),
        ..by_verdict("allow")
    };
    let page = store.attempts_page(&below, 5, Some(10)).await.unwrap();
    assert_eq!((page.attempts.len(), page.next_before), (0, None));
}

/// A time window, a device, an address or a username is listed newest first by time, then by
/// id, each attempt once, even where the ids run out of time order (an attempt is timed when
/// it arrives and numbered when it is written). A search reads at most `scan` of the attempts
/// the other conditions select a page, in the same order.
async fn a_time_window_pages_by_time_then_id_where_ids_run_out_of_time_order(db: &TestDb) {
    let store = db.store().await;
    let start = now_ms() - 100_000;
    let mut rows = Vec::new();
    for n in 0..45_i64 {
        let mut row = refusal(&format!("u{}", n % 4));
        row.visitor_id = Some(format!("device-{}", n % 2));
        row.ip = Some(format!("198.51.100.{}", n % 3));
        // Out of id order, with ties: 13 distinct times over 45 attempts.
        row.created_at = start + (n * 7 % 13) * 1000;
        if n % 4 == 1 {
            row.verdict = "review".into();
            row.code = "review".into();
            row.codes = vec!["vpn_detected".into()];
        }
        rows.push(row);
    }
    let recorded = insert_in_one_batch(&store, &rows).await;
    let ids: Vec<i64> = recorded.iter().map(|(id, _)| *id).collect();

    let window = |since: Option<i64>, until: Option<i64>| AttemptFilter {
        since_ms: since.map(|s| start + s * 1000),
        until_ms: until.map(|u| start + u * 1000),
        ..AttemptFilter::default()
    };
    let filters = [
        window(Some(3), None),
        window(Some(2), Some(9)),
        window(None, Some(5)),
        AttemptFilter {
            verdict: Some("review".into()),
            ..window(Some(1), Some(12))
        },
        AttemptFilter {
            code: Some("vpn_detected".into()),
            ..window(None, Some(7))
        },
        AttemptFilter {
            verdict: Some("block".into()),
            ..window(Some(4), None)
        },
        AttemptFilter {
            visitor_id: Some("device-1".into()),
            ..window(Some(2), Some(11))
        },
        AttemptFilter {
            visitor_id: Some("device-0".into()),
            ..AttemptFilter::default()
        },
        AttemptFilter {
            ip: Some("198.51.100.2".into()),
            ..window(Some(1), Some(10))
        },
        AttemptFilter {
            ip: Some("198.51.100.1".into()),
            verdict: Some("review".into()),
            ..AttemptFilter::default()
        },
        AttemptFilter {
            username: Some("u1".into()),
            ..window(None, Some(9))
        },
        AttemptFilter {
            username: Some("u2".into()),
            visitor_id: Some("device-0".into()),
            code: Some("bot_detected".into()),
            ..window(Some(0), None)
        },
    ];
    for filter in filters {
        let sizes = [(2, 5), (3, 1), (4, 40), (50, 3)];
        let matched = assert_pages_through(&store, &recorded, &filter, &sizes).await;
        assert!(matched >= 3, "{filter:?}: too few to page through");
    }

    // The ids do run out of time order here, so the test above tells the two orders apart.
    let by_id: Vec<i64> = recorded.iter().map(|(id, _)| *id).collect();
    let mut by_time: Vec<(i64, i64)> = recorded.iter().map(|(id, r)| (r.created_at, *id)).collect();
    by_time.sort_unstable_by(|a, b| b.cmp(a));
    assert_ne!(by_id, by_time.iter().map(|(_, id)| *id).collect::<Vec<_>>());

    // A cursor that names no attempt keeps its id alone: below every id, nothing is left;
    // above every id, the window from its newest.
    let first = store
        .attempts_page(&window(Some(3), None), 5, None)
        .await
        .unwrap();
    let above = AttemptFilter {
        before: Some(ids[0] + 1_000),
        ..window(Some(3), None)
    };
    assert_eq!(store.attempts_page(&above, 5, None).await.unwrap(), first);
    let below = AttemptFilter {
        before: ids.last().map(|lowest| lowest - 1),
        ..window(Some(3), None)
    };
    let page = store.attempts_page(&below, 5, None).await.unwrap();
    assert_eq!((page.attempts.len(), page.next_before), (0, None));
}

/// Follows `filter`'s pages for each (limit, scan) and checks, against what is worked out
/// here rather than by the store's SQL: every attempt that matches comes once, newest first
/// (by time, then id, for a time window, a device, an address or a username; by id
/// otherwise); each cursor moves on;
/// a page stops short only in a verdict or code search, and then its window held at most
/// `scan` of the attempts the other conditions select; a full page names its last attempt.
/// Returns how many attempts match.
async fn assert_pages_through(
    store: &Store,
    recorded: &[(i64, &NewAttempt)],
    filter: &AttemptFilter,
    sizes: &[(i64, i64)],
) -> usize {
    let by_time = filter.since_ms.is_some()
        || filter.until_ms.is_some()
        || filter.visitor_id.is_some()
        || filter.ip.is_some()
        || filter.username.is_some();
    let key = |id: i64, row: &NewAttempt| (if by_time { row.created_at } else { 0 }, id);
    let key_of = |id: i64| {
        let (_, row) = recorded.iter().find(|(i, _)| *i == id).unwrap();
        key(id, row)
    };
    let selected = |row: &NewAttempt| {
        filter.since_ms.is_none_or(|t| row.created_at >= t)
            && filter.until_ms.is_none_or(|t| row.created_at < t)
            && filter
                .visitor_id
                .as_ref()
                .is_none_or(|v| row.visitor_id.as_ref() == Some(v))
            && filter
                .ip
                .as_ref()
                .is_none_or(|v| row.ip.as_ref() == Some(v))
            && filter
                .username
                .as_ref()
                .is_none_or(|v| row.username.as_ref() == Some(v))
    };
    let code = filter.code.as_deref().map(str::to_lowercase);
    let matches = |row: &NewAttempt| {
        selected(row)
            && filter.verdict.as_ref().is_none_or(|v| &row.verdict == v)
            && code
                .as_ref()
                .is_none_or(|c| &row.code == c || row.codes.contains(c))
    };
    let mut expected: Vec<(i64, i64)> = recorded
        .iter()
        .filter(|(_, row)| matches(row))
        .map(|(id, row)| key(*id, row))
        .collect();
    expected.sort_unstable_by(|a, b| b.cmp(a));
    let expected: Vec<i64> = expected.into_iter().map(|(_, id)| id).collect();
    let sparse = filter.verdict.is_some() || filter.code.is_some();
    for &(limit, scan) in sizes {
        let mut found = Vec::new();
        for (cursor, page) in every_page(store, filter, limit, scan).await {
            assert!(page.attempts.len() as i64 <= limit);
            found.extend(page.attempts.iter().map(|a| a.id));
            let Some(next) = page.next_before else { break };
            assert!(
                cursor.is_none_or(|c| key_of(next) < key_of(c)),
                "{filter:?}: the cursor moves on"
            );
            if (page.attempts.len() as i64) < limit {
                assert!(sparse, "{filter:?}: only a search stops short");
                let read = recorded
                    .iter()
                    .filter(|(id, row)| {
                        let k = key(*id, row);
                        k >= key_of(next) && cursor.is_none_or(|c| k < key_of(c)) && selected(row)
                    })
                    .count();
                assert!(read as i64 <= scan, "{filter:?}: {read} read, scan {scan}");
            } else {
                assert_eq!(Some(next), page.attempts.last().map(|a| a.id));
            }
        }
        assert_eq!(found, expected, "{filter:?}, limit {limit}, scan {scan}");
    }
    expected.len()
}

/// Writes the rows in one batch into an empty trail; each beside the id it got, newest first.
async fn insert_in_one_batch<'a>(
    store: &Store,
    rows: &'a [NewAttempt],
) -> Vec<(i64, &'a NewAttempt)> {
    store
        .insert_attempts(&rows.iter().collect::<Vec<_>>())
        .await
        .unwrap();
    let ids: Vec<i64> = all_attempts(store).await.iter().map(|a| a.id).collect();
    assert_eq!(ids.len(), rows.len(), "the trail held only these rows");
    ids.into_iter().zip(rows.iter().rev()).collect()
}

/// Every page of a bounded search, each beside the cursor it was asked with, following
/// `next_before` from the first page until it is `None`.
async fn every_page(
    store: &Store,
    filter: &AttemptFilter,
    limit: i64,
    scan: i64,
) -> Vec<(Option<i64>, signup_guard::store::AttemptPage)> {
    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let asked = AttemptFilter {
            before: cursor,
            ..filter.clone()
        };
        let page = store
            .attempts_page(&asked, limit, Some(scan))
            .await
            .unwrap();
        let next = page.next_before;
        pages.push((cursor, page));
        match next {
            Some(next) if pages.len() < 1_000 => cursor = Some(next),
            Some(_) => panic!("{filter:?}: a thousand pages and no end"),
            None => return pages,
        }
    }
}

fn by_verdict(verdict: &str) -> AttemptFilter {
    AttemptFilter {
        verdict: Some(verdict.into()),
        ..AttemptFilter::default()
    }
}

/// The device page's links by IP count other devices among the latest `scan` attempts from
/// each address and inside the time window, most attempts first; never the device itself.
async fn the_device_pages_ip_links_count_only_the_latest_attempts_from_each_ip(db: &TestDb) {
    let store = db.store().await;
    let now = now_ms();
    let from = |visitor: &str, ip: &str, created_at: i64| NewAttempt {
        visitor_id: Some(visitor.into()),
        ip: Some(ip.into()),
        created_at,
        ..refusal(visitor)
    };
    let rows = [
        from("old", "198.51.100.1", now - 10_000),
        from("old", "198.51.100.1", now - 9_000),
        from("old", "198.51.100.1", now - 8_000),
        from("other-ip", "198.51.100.2", now - 7_000),
        from("b", "198.51.100.1", now - 6_000),
        from("self", "198.51.100.1", now - 5_000),
        from("b", "198.51.100.1", now - 4_000),
        from("c", "198.51.100.1", now - 3_000),
        // Written last, timed first: by id it would be among the latest.
        from("late", "198.51.100.1", now - 11_000),
    ];
    store
        .insert_attempts(&rows.iter().collect::<Vec<_>>())
        .await
        .unwrap();
    let ip = ["198.51.100.1".to_owned()];
    let links = async |since: i64, scan: i64, limit: i64| -> Vec<(String, i64)> {
        store
            .ip_neighbours(&ip, "self", since, scan, limit)
            .await
            .unwrap()
            .into_iter()
            .inspect(|n| assert_eq!(n.ip, ip[0]))
            .map(|n| (n.visitor_id, n.attempts))
            .collect()
    };
    let named = |pairs: &[(&str, i64)]| -> Vec<(String, i64)> {
        pairs.iter().map(|(v, n)| (v.to_string(), *n)).collect()
    };
    assert_eq!(
        links(0, 100, 20).await,
        named(&[("old", 3), ("b", 2), ("c", 1), ("late", 1)])
    );
    // The latest four attempts from the address, by time: b, self, b, c.
    assert_eq!(links(0, 4, 20).await, named(&[("b", 2), ("c", 1)]));
    // The window leaves one of the old device's attempts; ties go by visitor id.
    assert_eq!(
        links(now - 8_500, 100, 20).await,
        named(&[("b", 2), ("c", 1), ("old", 1)])
    );
    assert_eq!(links(0, 100, 1).await, named(&[("old", 3)]));
}
