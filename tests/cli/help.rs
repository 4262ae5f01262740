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
