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
