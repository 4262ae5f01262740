//! `--help`: the commands, the settings each one reads, and no secret values.

use super::*;

#[test]
fn help_lists_the_commands_and_documents_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "help-must-not-show-this-key-71c2";
    let output = run(
        dir.path(),
        &["--help"],
        &[("FINGERPRINT_API_KEY", secret), ("ADMIN_TOKEN", secret)],
    );
    assert!(output.status.success(), "{output:?}");
    let help = text(&output.stdout);
    for command in ["serve", "migrate", "simulator", "explain", "backtest"] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(command)),
            "{command} in:\n{help}"
        );
    }
    for variable in [
        "FINGERPRINT_API_KEY",
        "FINGERPRINT_API_URL",
        "FINGERPRINT_REGION",
        "DATABASE_URL",
        "ADMIN_TOKEN",
        "SIGNUP_GUARD_CONFIG",
        "LOG_FORMAT",
        "PORT",
    ] {
        assert!(
            help.contains(&format!("env: {variable}")),
            "{variable} in:\n{help}"
        );
    }
    assert!(
        !help.contains(secret),
        "secret values are never echoed:\n{help}"
    );

    let output = run(dir.path(), &["backtest", "--help"], &[]);
    assert!(output.status.success(), "{output:?}");
    let help = text(&output.stdout);
    assert!(
        help.contains("--since") && help.contains("--json") && help.contains("--config"),
        "{help}"
    );
}

/// Every subcommand, and the top level (`""`), whose `--help` lists settings.
const COMMANDS: [&str; 6] = ["", "serve", "migrate", "explain", "backtest", "simulator"];

/// `signup-guard [command] --help`, run with an empty environment.
fn help_of(command: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let args: Vec<&str> = [command, "--help"]
        .into_iter()
        .filter(|a| !a.is_empty())
        .collect();
    let output = run(dir.path(), &args, &[]);
    assert!(output.status.success(), "{args:?}: {output:?}");
    text(&output.stdout)
}

/// The variables a `--help` lists (`[env: NAME]`), each with the `[default: ...]` that follows
/// it, if any (on the same line in the short layout, on the next in the long one).
fn variables(help: &str) -> BTreeMap<String, Option<String>> {
    // Help may be wrapped to the terminal's width, even inside `[env: NAME]`.
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut found = BTreeMap::new();
    for (at, _) in help.match_indices("[env: ") {
        let rest = &help[at + "[env: ".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        let after = rest[rest.find(']').unwrap() + 1..].trim_start();
        let default = after
            .strip_prefix("[default: ")
            .map(|d| d[..d.find(']').unwrap()].to_owned());
        found.insert(name, default);
    }
    found
}

/// The rows of README's `### Configuration` table: each variable with its default cell.
fn readme_table() -> BTreeMap<String, String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let mut rows = BTreeMap::new();
    for line in readme
        .lines()
        .skip_while(|l| l.trim() != "### Configuration")
        .skip(1)
        .take_while(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with("| `"))
    {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        let names: Vec<&str> = cells[0].split('`').skip(1).step_by(2).collect();
        for name in names {
            rows.insert(name.to_owned(), cells[1].to_owned());
        }
    }
    rows
}

#[test]
fn each_subcommand_s_help_lists_only_the_settings_it_reads() {
    let fingerprint = [
        "FINGERPRINT_API_KEY",
        "FINGERPRINT_REGION",
        "FINGERPRINT_API_VERSION",
        "FINGERPRINT_API_URL",
        "FINGERPRINT_ENCRYPTION_KEYS",
        "FINGERPRINT_TIMEOUT_MS",
        "FINGERPRINT_ATTEMPT_TIMEOUT_MS",
        "FINGERPRINT_CONNECT_TIMEOUT_MS",
        "FINGERPRINT_MAX_RETRIES",
    ];
    let database = [
        "DATABASE_URL",
        "DATABASE_MAX_CONNECTIONS",
        "DATABASE_ACQUIRE_TIMEOUT_MS",
        "DATABASE_STATEMENT_TIMEOUT_MS",
    ];
    let serve_only = [
        "FINGERPRINT_WEBHOOK_SECRET",
        "HOST",
        "PORT",
        "CORS_ALLOWED_ORIGINS",
        "MAX_BODY_BYTES",
        "REQUEST_TIMEOUT_MS",
        "SIGNUP_RATE_LIMIT_PER_MINUTE",
        "PASSWORD_MIN_LENGTH",
        "PASSWORD_MAX_LENGTH",
        "PASSWORD_MIN_SCORE",
        "HASH_CONCURRENCY",
        "ADMIN_TOKEN",
    ];
    let demo_and_logs = ["SIGNUP_GUARD_DEMO", "LOG_FORMAT"];
    let policy = ["SIGNUP_GUARD_CONFIG"];
    let serve: Vec<&str> = [
        &fingerprint[..],
        &database,
        &serve_only,
        &demo_and_logs,
        &policy,
    ]
    .concat();
    let expected: Vec<(&str, Vec<&str>)> = vec![
        ("", serve.clone()),
        ("serve", serve),
        ("migrate", [&database[..], &demo_and_logs].concat()),
        (
            "explain",
            [&fingerprint[..], &database, &demo_and_logs, &policy].concat(),
        ),
        (
            "backtest",
            [&database[..], &demo_and_logs, &policy].concat(),
        ),
        (
            "simulator",
            vec![
                "SIMULATOR_HOST",
                "SIMULATOR_PORT",
                "SIMULATOR_SECRET_KEY",
                "SIMULATOR_LATENCY_MS",
                "SIMULATOR_ENCRYPTION_KEY",
            ],
        ),
    ];
    for (command, names) in expected {
        let help = help_of(command);
        let listed: BTreeSet<String> = variables(&help).into_keys().collect();
        let names: BTreeSet<String> = names.into_iter().map(str::to_owned).collect();
        assert_eq!(listed, names, "`{command} --help`:\n{help}");
    }
    let serve = help_of("serve");
    assert!(
        serve.contains("--host <HOST>") && serve.contains("--port <PORT>"),
        "{serve}"
    );
}

#[test]
fn every_variable_a_help_lists_is_in_the_readme_table_with_its_default_and_the_reverse() {
    let table = readme_table();
    let mut listed = BTreeMap::new();
    for command in COMMANDS {
        listed.extend(variables(&help_of(command)));
    }
    let in_help: BTreeSet<&String> = listed.keys().collect();
    let in_readme: BTreeSet<&String> = table.keys().collect();
    assert_eq!(
        in_help, in_readme,
        "the README's configuration table and the variables of every --help"
    );
    for (name, default) in &listed {
        if let Some(default) = default {
            assert!(
                table[name].starts_with(&format!("`{default}`")),
                "README gives {name} the default {:?}; the code has {default:?}",
                table[name]
            );
        }
    }
}
