//! `--help`: the commands, the settings each one reads, and no secret values.

use super::*;

#[test]
fn help_lists_the_commands_and_each_command_documents_its_environment() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "help-must-not-show-this-key-71c2";
    let env = [("FINGERPRINT_API_KEY", secret), ("ADMIN_TOKEN", secret)];
    let output = run(dir.path(), &["--help"], &env);
    assert!(output.status.success(), "{output:?}");
    let help = text(&output.stdout);
    for command in [
        "serve",
        "migrate",
        "simulator",
        "explain",
        "backtest",
        "lists",
    ] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(command)),
            "{command} in:\n{help}"
        );
    }
    assert!(help.contains("signup-guard serve --help"), "{help}");
    assert!(
        help.lines().count() < 30,
        "the top level shows the commands, not serve's every option:\n{help}"
    );

    let output = run(dir.path(), &["serve", "--help"], &env);
    assert!(output.status.success(), "{output:?}");
    let help = text(&output.stdout);
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
const COMMANDS: [&str; 8] = [
    "serve",
    "migrate",
    "explain",
    "backtest",
    "simulator",
    "lists add",
    "lists ls",
    "lists rm",
];

/// `signup-guard [command] --help`, run with an empty environment.
fn help_of(command: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let args: Vec<&str> = command
        .split_whitespace()
        .chain(std::iter::once("--help"))
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

/// A `--help` by section (`Database:`, `HTTP:`, ...): the variables each lists.
fn sections(help: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut sections: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current = String::new();
    for line in help.lines() {
        // Headings are the unindented lines ending in ':' ("Decision API:"); "Usage: ..." is not.
        if !line.starts_with(' ') && line.ends_with(':') {
            current = line.trim_end_matches(':').to_owned();
        }
        let mut rest = line;
        while let Some(at) = rest.find("[env: ") {
            let name: String = rest[at + 6..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            sections.entry(current.clone()).or_default().insert(name);
            rest = &rest[at + 6..];
        }
    }
    sections
}

/// Each command lists the settings areas it reads, each area whole, and no other: an area is
/// one set of flags shared by every command that takes it, so a setting added to an area shows
/// wherever the area does, with no list here to keep up.
#[test]
fn each_subcommand_s_help_lists_only_the_settings_areas_it_reads() {
    let areas =
        |names: &[&str]| -> BTreeSet<String> { names.iter().map(|n| n.to_string()).collect() };
    let expected = [
        (
            "serve",
            areas(&[
                "Admin",
                "Database",
                "Decision API",
                "Decision webhooks",
                "Demo",
                "Fingerprint",
                "HTTP",
                "Logging",
                "Metrics",
                "Passwords",
                "Policy",
                "Webhooks",
            ]),
        ),
        ("migrate", areas(&["Database", "Demo", "Logging"])),
        (
            "explain",
            areas(&["Database", "Demo", "Fingerprint", "Logging", "Policy"]),
        ),
        (
            "backtest",
            areas(&["Database", "Demo", "Logging", "Policy"]),
        ),
        ("simulator", areas(&["Options"])),
        (
            "lists add",
            areas(&["Analyst", "Database", "Demo", "Logging"]),
        ),
        ("lists ls", areas(&["Database", "Demo", "Logging"])),
        (
            "lists rm",
            areas(&["Analyst", "Database", "Demo", "Logging"]),
        ),
    ];
    let mut seen: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    for (command, areas) in expected {
        let help = help_of(command);
        let sections = sections(&help);
        let listed: BTreeSet<String> = sections.keys().cloned().collect();
        assert_eq!(listed, areas, "`{command} --help` by section:\n{help}");
        for (area, variables) in sections {
            if let Some((first, before)) = seen.get(&area) {
                assert_eq!(
                    &variables, before,
                    "the {area} area differs between `{first}` and `{command}`"
                );
            } else {
                seen.insert(area, (command.to_owned(), variables));
            }
        }
    }
    // What the issue saw: `migrate --help` listing password and CORS flags.
    let migrate = help_of("migrate");
    for unrelated in [
        "PASSWORD_MIN_LENGTH",
        "CORS_ALLOWED_ORIGINS",
        "FINGERPRINT_API_KEY",
        "PORT",
    ] {
        assert!(
            !migrate.contains(&format!("env: {unrelated}]")),
            "{unrelated}:\n{migrate}"
        );
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
