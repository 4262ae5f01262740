//! Re-keying the usernames of accounts an older release wrote (a key that was only trimmed and
//! lower-cased, no skeleton): on both backends, through `Store::migrate` as `serve` and
//! `migrate` run it.

mod common;

use common::{count, legacy_account, TestDb};
use signup_guard::store::{
    now_ms, DeviceQuota, KeptApart, NewAccount, NewAttempt, PoolSettings, Store, StoreError,
};
use signup_guard::username;
use sqlx::{AnyPool, Row};

common::both_backends!(
    legacy_usernames_are_rekeyed_oldest_first_and_lookalikes_kept_apart_by_name,
    rekeying_reads_in_batches_and_sees_a_lookalike_of_an_earlier_batch,
    an_account_kept_apart_is_reported_on_every_run_until_renamed_then_rekeyed,
    an_account_an_older_release_writes_after_the_migration_is_rekeyed_on_the_next_run,
);

/// Every account as `(id, username, username_key, username_skeleton, password_hash)`.
async fn accounts(pool: &AnyPool) -> Vec<(i64, String, String, Option<String>, String)> {
    sqlx::query(
        "SELECT id, username, username_key, username_skeleton, password_hash \
         FROM accounts ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.get("id"),
            r.get("username"),
            r.get("username_key"),
            r.get("username_skeleton"),
            r.get("password_hash"),
        )
    })
    .collect()
}

fn kept_apart(id: i64, username: &str, holder_id: i64, holder_username: &str) -> KeptApart {
    KeptApart {
        id,
        username: username.into(),
        holder_id,
        holder_username: holder_username.into(),
    }
}

/// The store without its migrations run, to run them in the test.
async fn unmigrated(db: &TestDb) -> Store {
    Store::connect(&db.url, PoolSettings::default())
        .await
        .unwrap()
}

/// Every account as `(id, username, password_hash)`: what re-keying must never change.
async fn names_and_hashes(pool: &AnyPool) -> Vec<(i64, String, String)> {
    let rows = sqlx::query("SELECT id, username, password_hash FROM accounts ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap();
    rows.iter()
        .map(|r| (r.get("id"), r.get("username"), r.get("password_hash")))
        .collect()
}

/// A new signup's account, as the signup flow builds it.
fn new_account(name: &str) -> NewAccount {
    let username_key = username::key(name);
    NewAccount {
        username: Some(name.into()),
        username_skeleton: Some(username::skeleton(&username_key)),
        username_key: Some(username_key),
        password_hash: Some("hash".into()),
        account_ref: None,
        decision_id: None,
        email_key: None,
        email_domain: None,
        high_recall_id: None,
        linked_id: None,
        asn: None,
        visitor_id: format!("visitor-new-{name}"),
        event_id: format!("event-new-{name}"),
        review: false,
        created_at: now_ms(),
    }
}

async fn create(store: &Store, name: &str) -> Result<i64, StoreError> {
    let quota = DeviceQuota {
        max_accounts: i64::MAX,
        since_ms: 0,
    };
    let attempt = NewAttempt {
        verdict: "allow".into(),
        code: "created".into(),
        created_at: now_ms(),
        ..NewAttempt::default()
    };
    store
        .create_account(&new_account(name), quota, &attempt)
        .await
}

async fn legacy_usernames_are_rekeyed_oldest_first_and_lookalikes_kept_apart_by_name(db: &TestDb) {
    let old = db.migrated_to(1).await;
    let strasse = legacy_account(&old, "straße").await;
    // Its old key `strasse` is the new key of the older `straße`.
    let upper = legacy_account(&old, "STRASSE").await;
    let admin = legacy_account(&old, "Admin").await;
    let hidden = legacy_account(&old, "ad\u{200B}min").await;
    let cyrillic = legacy_account(&old, "\u{430}dmin").await;
    let ann = legacy_account(&old, "ann@example.org").await;
    let wide = legacy_account(&old, "ＡＮＮ@example.org").await;
    let before = names_and_hashes(&old).await;

    let store = unmigrated(db).await;
    let migrated = store.migrate().await.expect("the migration runs");
    assert_eq!(
        migrated.applied.first().map(String::as_str),
        Some("0002_username_skeleton"),
        "every migration after 0001 runs, this one first: {:?}",
        migrated.applied
    );
    assert_eq!(migrated.usernames.rekeyed, 3, "{migrated:?}");
    assert_eq!(
        migrated.usernames.kept_apart,
        [
            kept_apart(upper, "STRASSE", strasse, "straße"),
            kept_apart(hidden, "ad\u{200B}min", admin, "Admin"),
            kept_apart(cyrillic, "\u{430}dmin", admin, "Admin"),
            kept_apart(wide, "ＡＮＮ@example.org", ann, "ann@example.org"),
        ]
    );

    assert_eq!(
        names_and_hashes(&old).await,
        before,
        "no account is dropped, merged or renamed"
    );
    for (id, name, key, skeleton, _) in accounts(&old).await {
        if [strasse, admin, ann].contains(&id) {
            assert_eq!(key, username::key(&name), "{name:?}");
            assert_eq!(skeleton, Some(username::skeleton(&key)));
        } else {
            assert!(key.starts_with(' '), "{name:?} holds a parked key: {key:?}");
            assert_eq!(skeleton, None, "{name:?}");
        }
    }
    // The oldest of each group holds the name against every spelling.
    for taken in [
        "STRASSE",
        "Straße",
        "admin",
        "ＡＤＭＩＮ",
        "\u{430}dmin",
        "Ann@Example.org",
    ] {
        assert!(
            matches!(create(&store, taken).await, Err(StoreError::UsernameTaken)),
            "{taken:?}"
        );
    }
    assert!(create(&store, "strassen").await.is_ok());
}

async fn rekeying_reads_in_batches_and_sees_a_lookalike_of_an_earlier_batch(db: &TestDb) {
    let old = db.migrated_to(1).await;
    let mut first = 0;
    for i in 0..600 {
        let id = legacy_account(&old, &format!("user{i}")).await;
        if i == 7 {
            first = id;
        }
    }
    let late = legacy_account(&old, "ＵＳＥＲ7").await;
    let migrated = unmigrated(db).await.migrate().await.unwrap();
    assert_eq!(migrated.usernames.rekeyed, 600);
    assert_eq!(
        migrated.usernames.kept_apart,
        [kept_apart(late, "ＵＳＥＲ7", first, "user7")]
    );
    let keyed = count(
        &old,
        "SELECT COUNT(*) AS n FROM accounts WHERE username_skeleton IS NOT NULL",
    )
    .await;
    assert_eq!(keyed, 600);
}

async fn an_account_kept_apart_is_reported_on_every_run_until_renamed_then_rekeyed(db: &TestDb) {
    let old = db.migrated_to(1).await;
    let holder = legacy_account(&old, "Ann").await;
    let twin = legacy_account(&old, "A\u{200B}nn").await;
    let store = unmigrated(db).await;
    let first = store.migrate().await.unwrap();
    let snapshot = accounts(&old).await;

    let again = store.migrate().await.unwrap();
    assert!(again.applied.is_empty());
    assert_eq!(again.usernames.rekeyed, 0);
    assert_eq!(
        again.usernames.kept_apart, first.usernames.kept_apart,
        "still reported"
    );
    assert_eq!(
        again.usernames.kept_apart,
        [kept_apart(twin, "A\u{200B}nn", holder, "Ann")]
    );
    assert_eq!(
        accounts(&old).await,
        snapshot,
        "a second run changes nothing"
    );

    // An operator settles it by renaming the newer account.
    sqlx::query("UPDATE accounts SET username = 'Ann2' WHERE id = $1")
        .bind(twin)
        .execute(&old)
        .await
        .unwrap();
    let settled = store.migrate().await.unwrap();
    assert_eq!(settled.usernames.rekeyed, 1);
    assert!(settled.usernames.kept_apart.is_empty());
    assert!(matches!(
        create(&store, "ann2").await,
        Err(StoreError::UsernameTaken)
    ));
}

async fn an_account_an_older_release_writes_after_the_migration_is_rekeyed_on_the_next_run(
    db: &TestDb,
) {
    let store = db.store().await;
    let first = create(&store, "straße").await.unwrap();
    // An instance of the older release, still running during a rolling deploy, writes an
    // account without a skeleton, under its own idea of the key.
    let raw = db.raw().await;
    let late = legacy_account(&raw, "Straße").await;
    let other = legacy_account(&raw, "bob").await;
    let migrated = store.migrate().await.unwrap();
    assert_eq!(migrated.usernames.rekeyed, 1, "bob");
    assert_eq!(
        migrated.usernames.kept_apart,
        [kept_apart(late, "Straße", first, "straße")]
    );
    assert!(matches!(
        create(&store, "BOB").await,
        Err(StoreError::UsernameTaken)
    ));
    let bob: Option<String> = sqlx::query("SELECT username_skeleton FROM accounts WHERE id = $1")
        .bind(other)
        .fetch_one(&raw)
        .await
        .unwrap()
        .get("username_skeleton");
    assert_eq!(bob, Some(username::skeleton("bob")));
}

/// Two instances of the new release starting together on a PostgreSQL database (SQLite is one
/// machine's): one re-keys, the other waits for the migration lock and finds only the account
/// kept apart, which it reports too.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_starting_at_once_rekey_each_account_once() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let old = db.migrated_to(1).await;
    for i in 0..300 {
        legacy_account(&old, &format!("name{i}")).await;
    }
    let twin = legacy_account(&old, "ＮＡＭＥ0").await;
    let (a, b) = (unmigrated(&db).await, unmigrated(&db).await);
    let (a, b) = tokio::join!(a.migrate(), b.migrate());
    let (a, b) = (
        a.expect("one instance migrates"),
        b.expect("so does the other"),
    );
    assert_eq!(a.usernames.rekeyed + b.usernames.rekeyed, 300);
    let mut applied = [a.applied.clone(), b.applied.clone()];
    applied.sort();
    assert!(
        applied[0].is_empty(),
        "one instance applies, the other finds it done: {applied:?}"
    );
    assert_eq!(
        applied[1].first().map(String::as_str),
        Some("0002_username_skeleton"),
        "{applied:?}"
    );
    for report in [&a, &b] {
        assert_eq!(report.usernames.kept_apart.len(), 1, "{report:?}");
        assert_eq!(report.usernames.kept_apart[0].id, twin);
    }
}
