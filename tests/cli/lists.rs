//! `lists`: the allow, review and block lists from the command line, against the database a
//! running instance serves from.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_added_from_the_command_line_applies_to_the_running_service_and_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "lists.db");
    let app = spawn_app(&url).await;
    let env = [("DATABASE_URL", url.as_str())];

    let caught = app.fingerprint().device("caught-by-the-cli");
    let added = run_async(
        dir.path(),
        &[
            "lists",
            "add",
            "--kind",
            "visitor_id",
            "--value",
            &caught.visitor_id,
            "--action",
            "block",
            "--reason",
            "chargeback ring",
            "--expires",
            "30d",
            "--as",
            "alice",
            "--json",
        ],
        &env,
    )
    .await;
    assert!(added.status.success(), "{added:?}");
    let entry: Value = serde_json::from_slice(&added.stdout).expect("--json prints the entry");
    assert_eq!(entry["kind"], "visitor_id", "{entry}");
    assert_eq!(entry["action"], "block", "{entry}");
    assert_eq!(entry["createdBy"], "alice", "{entry}");
    let expires = time::OffsetDateTime::parse(
        entry["expiresAt"].as_str().expect("an expiry"),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let in_days = (expires - time::OffsetDateTime::now_utc()).whole_hours() as f64 / 24.0;
    assert!(
        (29.9..=30.0).contains(&in_days),
        "30d from now: {in_days} days"
    );
    let id = entry["id"].as_i64().unwrap();

    // The running instance reloads on the version the command moved, within its refresh period.
    eventually("the block entry reaching the running service", || async {
        let (status, body) = app
            .signup(&app.fingerprint().device(&caught.visitor_id).request_id)
            .await;
        status == 403 && body["code"] == "denylisted"
    })
    .await;

    let listed = run_async(
        dir.path(),
        &[
            "lists",
            "ls",
            "--kind",
            "visitor_id",
            "--value",
            &caught.visitor_id,
            "--json",
        ],
        &env,
    )
    .await;
    assert!(listed.status.success(), "{listed:?}");
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["id"], id, "{listed}");
    let table = run_async(dir.path(), &["lists", "ls"], &env).await;
    let table = text(&table.stdout);
    assert!(
        table.contains(&caught.visitor_id) && table.contains("chargeback ring"),
        "{table}"
    );

    let removed = run_async(
        dir.path(),
        &[
            "lists",
            "rm",
            &id.to_string(),
            "--reason",
            "refunded after all",
        ],
        &env,
    )
    .await;
    assert!(removed.status.success(), "{removed:?}");
    assert_eq!(text(&removed.stdout).trim(), format!("removed entry {id}"));
    // An account may exist from a signup answered before the block arrived, so the device limit
    // may refuse now: what matters is that the list no longer does.
    eventually("the removal reaching the running service", || async {
        let (status, body) = app
            .signup(&app.fingerprint().device(&caught.visitor_id).request_id)
            .await;
        status != 500 && body["code"] != "denylisted"
    })
    .await;
    let again = run_async(
        dir.path(),
        &["lists", "rm", &id.to_string(), "--reason", "twice"],
        &env,
    )
    .await;
    assert!(!again.status.success(), "removing a removed entry fails");
    assert!(
        text(&again.stderr).contains(&format!("no entry {id}")),
        "{again:?}"
    );

    let actions: Value = app
        .get("/api/actions", Some(common::ADMIN_TOKEN))
        .await
        .json()
        .await
        .unwrap();
    let recorded: Vec<(String, String, String)> = actions["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["actor"].as_str().unwrap().to_owned(),
                a["action"].as_str().unwrap().to_owned(),
                a["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        recorded,
        vec![
            (
                "cli".into(),
                "list_remove".into(),
                "refunded after all".into()
            ),
            ("alice".into(), "list_add".into(), "chargeback ring".into()),
        ],
        "newest first, each under the name it was done as"
    );
}

#[test]
fn bad_entries_are_refused_with_the_field_named_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "lists.db");
    let env = [("DATABASE_URL", url.as_str())];
    let cases: [(&[&str], &str); 5] = [
        (
            &["--kind", "phone", "--value", "1", "--action", "block"],
            "kind must be",
        ),
        (
            &[
                "--kind",
                "ip",
                "--value",
                "10.0.0.0/33",
                "--action",
                "block",
            ],
            "not an IP address or a CIDR",
        ),
        (
            &["--kind", "ip", "--value", "10.0.0.1", "--action", "ban"],
            "action must be",
        ),
        (
            &[
                "--kind",
                "email_domain",
                "--value",
                "spam.test",
                "--action",
                "block",
                "--expires",
                "soon",
            ],
            "--expires",
        ),
        (
            &[
                "--kind",
                "visitor_id",
                "--value",
                "v",
                "--action",
                "block",
                "--as",
                "a b",
            ],
            "--as",
        ),
    ];
    for (args, expected) in cases {
        let mut all = vec!["lists", "add", "--reason", "testing"];
        all.extend_from_slice(args);
        let output = run(dir.path(), &all, &env);
        assert!(!output.status.success(), "{args:?} is refused");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let listed = run(dir.path(), &["lists", "ls", "--json"], &env);
    assert!(listed.status.success(), "{listed:?}");
    assert_eq!(text(&listed.stdout).trim(), "[]", "nothing was written");
    let empty = run(dir.path(), &["lists", "ls"], &env);
    assert_eq!(text(&empty.stdout).trim(), "no entries");
}
