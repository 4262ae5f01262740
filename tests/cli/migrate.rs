//! `migrate`: creating and updating the schema, and refusing what it cannot open.

use super::*;

#[test]
fn migrate_creates_a_fresh_sqlite_database_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "fresh.db");
    for _ in 0..2 {
        let output = run(dir.path(), &["migrate"], &[("DATABASE_URL", &url)]);
        assert!(output.status.success(), "{output:?}");
        assert!(
            text(&output.stdout).contains("database schema is up to date"),
            "{output:?}"
        );
    }
    assert!(dir.path().join("fresh.db").is_file());
}

#[test]
fn a_relative_sqlite_url_is_resolved_in_the_working_directory_and_its_folder_made() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(
        dir.path(),
        &["migrate"],
        &[("DATABASE_URL", "sqlite://data/nested/relative.db")],
    );
    assert!(output.status.success(), "{output:?}");
    assert!(dir.path().join("data/nested/relative.db").is_file());
}

#[test]
fn a_database_url_of_another_engine_fails_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(dir.path(), &["migrate"], &[("DATABASE_URL", "mysql://x")]);
    assert!(!output.status.success(), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("DATABASE_URL must start with sqlite:// or postgres://"),
        "{stderr}"
    );
}

#[test]
fn migrate_names_the_migrations_it_applied_then_says_there_are_none() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "named.db");
    let first = run(dir.path(), &["migrate"], &[("DATABASE_URL", &url)]);
    assert!(first.status.success(), "{first:?}");
    let stdout = text(&first.stdout);
    assert!(stdout.contains("applied 0001_init (sqlite)"), "{stdout}");
    assert!(!stdout.contains("no migrations to apply"), "{stdout}");

    let second = run(dir.path(), &["migrate"], &[("DATABASE_URL", &url)]);
    assert!(second.status.success(), "{second:?}");
    let stdout = text(&second.stdout);
    assert!(
        stdout.contains("no migrations to apply: the database schema is up to date (sqlite)"),
        "{stdout}"
    );
    assert!(!stdout.contains("applied "), "{stdout}");
}

/// A database an older release wrote: `migrate` re-keys its usernames and names each account
/// kept apart, on every run until it is settled; `serve` logs them at startup. A username is
/// printed escaped: one with a bidirectional control must not reorder the report around it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_rekeys_older_usernames_and_names_each_account_kept_apart() {
    let db = common::TestDb::sqlite();
    let old = db.migrated_to(1).await;
    common::legacy_account(&old, "straße").await;
    common::legacy_account(&old, "STRASSE").await;
    common::legacy_account(&old, "admin").await;
    common::legacy_account(&old, "ad\u{202E}min").await;
    old.close().await;
    let dir = tempfile::tempdir().unwrap();
    let env = [("DATABASE_URL", db.url.as_str())];

    let first = run_async(dir.path(), &["migrate"], &env).await;
    assert!(first.status.success(), "{first:?}");
    let stdout = text(&first.stdout);
    for expected in [
        "applied 0002_username_skeleton (sqlite)",
        "usernames re-keyed: 2",
        "accounts kept apart: 2",
        r#"account 2 "STRASSE" looks the same as account 1 "straße""#,
        r#"account 4 "ad\u{202e}min" looks the same as account 3 "admin""#,
    ] {
        assert!(stdout.contains(expected), "{expected:?} in:\n{stdout}");
    }
    assert!(!stdout.contains('\u{202E}'), "{stdout}");

    let second = run_async(dir.path(), &["migrate"], &env).await;
    let stdout = text(&second.stdout);
    assert!(stdout.contains("no migrations to apply"), "{stdout}");
    assert!(
        !stdout.contains("re-keyed"),
        "nothing left to re-key: {stdout}"
    );
    assert!(stdout.contains("accounts kept apart: 2"), "{stdout}");

    let port = free_port().to_string();
    let server = serve(dir.path(), &["--demo", "--port", &port], &env).await;
    let logs = server.stderr();
    let warning = logs
        .lines()
        .find(|l| l.contains("account kept apart") && l.contains("id=4"))
        .unwrap_or_else(|| panic!("a warning for account 4:\n{logs}"));
    assert!(warning.contains(r#"username="ad\u{202e}min""#), "{warning}");
    assert!(warning.contains(r#"holder_username="admin""#), "{warning}");
}
