//! Defaults, validation, hashing and the policy file.

use std::path::{Path, PathBuf};

use super::*;
use crate::policy::{load_file, parse_str, ConfigError, ConfigFile};

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("signup-guard.example.toml")
}

#[test]
fn defaults_are_the_documented_ones() {
    let p = Policy::default();
    let scalars = vec![
        (
            p.max_event_age_seconds as f64,
            120.0,
            "max_event_age_seconds",
        ),
        (p.clock_skew_seconds as f64, 30.0, "clock_skew_seconds"),
        (p.min_confidence, 0.5, "min_confidence"),
        (p.accounts_per_device as f64, 1.0, "accounts_per_device"),
        (p.device_window_days as f64, 0.0, "device_window_days"),
        (p.trusted_proxy_hops as f64, 0.0, "trusted_proxy_hops"),
        (
            p.suspect_score_threshold as f64,
            20.0,
            "suspect_score_threshold",
        ),
        (
            p.velocity_max_events_1h as f64,
            30.0,
            "velocity_max_events_1h",
        ),
        (
            p.factory_reset_window_days as f64,
            7.0,
            "factory_reset_window_days",
        ),
        (p.proxy_ml_score_threshold, 0.8, "proxy_ml_score_threshold"),
    ];
    for (got, want, key) in scalars {
        assert_eq!(got, want, "{key}");
    }
    assert!(p.allowed_origins.is_empty() && !p.ip_binding && !p.shadow);
    let r = p.rules;
    use Action::{Allow, Block, Review};
    let rules = vec![
        (r.bot_bad, Block),
        (r.bot_good, Block),
        (r.replayed, Block),
        (r.tampering, Block),
        (r.tor, Block),
        (r.vpn, Review),
        (r.proxy, Review),
        (r.virtual_machine, Allow),
        (r.incognito, Allow),
        (r.developer_tools, Allow),
        (r.low_confidence, Review),
        (r.high_suspect_score, Review),
        (r.ip_blocklist, Block),
        // Issue 13's rules, with the defaults docs/policy.md justifies.
        (r.fingerprint_rule, Block),
        (r.anti_detect_browser, Block),
        (r.datacenter_ip, Review),
        (r.proxy_ml_score, Review),
        (r.rare_device, Allow),
    ];
    for (i, (got, want)) in rules.into_iter().enumerate() {
        assert_eq!(got, want, "rule #{i} of the brief's table");
    }
    assert_eq!(Policy::default().validate(), Ok(()));
}

#[test]
fn example_file_equals_the_defaults() {
    assert_eq!(load_file(&example_path()).unwrap(), Policy::default());
    let empty = parse_str("", Path::new("empty.toml")).unwrap();
    assert_eq!(empty, Policy::default(), "an empty file is every default");
}

#[test]
fn bad_files_are_rejected_naming_key_and_file() {
    // (TOML, text the error must contain, why)
    let cases = vec![
        (
            "[policy]\nmax_age = 5\n",
            vec!["p.toml:2", "policy.max_age", "unknown field"],
            "unknown key",
        ),
        (
            "[policy.rules]\nvpm = \"block\"\n",
            vec!["policy.rules.vpm", "unknown field"],
            "misspelt rule",
        ),
        ("[polcy]\n", vec!["polcy"], "misspelt table"),
        (
            "[policy.rules]\nvpn = \"maybe\"\n",
            vec!["p.toml:2", "policy.rules.vpn", "maybe"],
            "unknown action",
        ),
        (
            "[policy]\nmin_confidence = 2\n",
            vec!["p.toml", "policy.min_confidence"],
            "out of range",
        ),
        (
            "[policy]\nmin_confidence = -0.1\n",
            vec!["policy.min_confidence"],
            "negative",
        ),
        (
            "[policy]\nmin_confidence = \"high\"\n",
            vec!["policy.min_confidence"],
            "wrong type",
        ),
        (
            "[policy]\naccounts_per_device = 0\n",
            vec!["policy.accounts_per_device"],
            "zero accounts",
        ),
        (
            "[policy]\nsuspect_score_threshold = 0\n",
            vec!["policy.suspect_score_threshold"],
            "always fires",
        ),
        (
            "[policy]\nproxy_ml_score_threshold = 0\n",
            vec!["policy.proxy_ml_score_threshold", "above 0 and at most 1"],
            "always fires",
        ),
        (
            "[policy]\nproxy_ml_score_threshold = 1.5\n",
            vec!["policy.proxy_ml_score_threshold"],
            "never fires: scores stop at 1",
        ),
        (
            "[policy]\nproxy_ml_score_threshold = nan\n",
            vec!["policy.proxy_ml_score_threshold"],
            "compares false with every score",
        ),
        (
            "[policy]\nvelocity_max_events_1h = 0\n",
            vec!["policy.velocity_max_events_1h"],
            "always fires",
        ),
        (
            "[policy]\nfactory_reset_window_days = 0\n",
            vec!["policy.factory_reset_window_days"],
            "never fires",
        ),
        (
            "[policy]\nmax_event_age_seconds = -1\n",
            vec!["policy.max_event_age_seconds"],
            "negative age",
        ),
        (
            "[policy]\nallowed_origins = [\"https://a.com/signup\"]\n",
            vec!["policy.allowed_origins", "a.com/signup"],
            "path in origin",
        ),
        (
            "[policy]\nallowed_origins = [\"example.com\"]\n",
            vec!["policy.allowed_origins"],
            "no scheme",
        ),
    ];
    for (toml, needles, why) in cases {
        let err = parse_str(toml, Path::new("p.toml"))
            .unwrap_err()
            .to_string();
        for needle in needles {
            assert!(err.contains(needle), "{why}: {needle:?} not in {err:?}");
        }
    }
    let missing = load_file(Path::new("/nonexistent/policy.toml")).unwrap_err();
    assert!(matches!(missing, ConfigError::Read { .. }));
    assert!(missing.to_string().contains("/nonexistent/policy.toml"));
}

#[test]
fn good_files_parse() {
    let toml = "[policy]\nshadow = true\nallowed_origins = [\"https://Example.com\", \"http://localhost:3000/\"]\n[policy.rules]\nvpn = \"block\"\n";
    let p = parse_str(toml, Path::new("p.toml")).unwrap();
    assert!(p.shadow);
    assert_eq!(p.rules.vpn, Action::Block);
    assert_eq!(p.rules.tor, Action::Block, "unset rules keep defaults");
}

#[test]
fn hash_is_stable_and_tracks_every_change() {
    let base = Policy::default().hash();
    assert_eq!(base, Policy::default().hash());
    assert_eq!(base.len(), 12);
    assert!(base.chars().all(|c| c.is_ascii_hexdigit()));
    type Change = (fn(&mut Policy), &'static str);
    let changes: Vec<Change> = vec![
        (|p| p.max_event_age_seconds = 121, "max_event_age_seconds"),
        (|p| p.min_confidence = 0.6, "min_confidence"),
        (|p| p.accounts_per_device = 2, "accounts_per_device"),
        (|p| p.device_window_days = 30, "device_window_days"),
        (
            |p| p.allowed_origins.push("https://example.com".into()),
            "allowed_origins",
        ),
        (|p| p.ip_binding = true, "ip_binding"),
        (|p| p.trusted_proxy_hops = 1, "trusted_proxy_hops"),
        (|p| p.shadow = true, "shadow"),
        (|p| p.rules.vpn = Action::Block, "rules.vpn"),
        (|p| p.rules.incognito = Action::Review, "rules.incognito"),
    ];
    for (change, key) in changes {
        let mut p = Policy::default();
        change(&mut p);
        assert_ne!(p.hash(), base, "{key}");
    }
    let a = Policy {
        allowed_origins: vec!["https://a.com".into(), "https://b.com".into()],
        ..Policy::default()
    };
    let b = Policy {
        allowed_origins: vec!["https://B.com/".into(), "https://a.com".into()],
        ..Policy::default()
    };
    assert_eq!(
        a.hash(),
        b.hash(),
        "origin order and spelling do not matter"
    );
}

#[test]
fn docs_and_example_name_every_key_rule_and_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let docs = std::fs::read_to_string(root.join("docs/policy.md")).unwrap();
    let example = std::fs::read_to_string(example_path()).unwrap();
    let policy = serde_json::to_value(Policy::default()).unwrap();
    let rules = serde_json::to_value(Rules::default()).unwrap();
    let keys = policy
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "rules" && *k != "velocity");
    for key in keys {
        assert!(
            docs.contains(&format!("`{key}`")),
            "docs/policy.md lacks {key}"
        );
        assert!(
            example.contains(&format!("\n{key} = ")),
            "example lacks {key}"
        );
    }
    for key in rules.as_object().unwrap().keys() {
        let quoted = format!("`rules.{key}`");
        assert!(docs.contains(&quoted), "docs/policy.md lacks {quoted}");
        assert!(
            example.contains(&format!("\n{key} = ")),
            "example lacks {key}"
        );
    }
    let velocity = serde_json::to_value(VelocityRules::default()).unwrap();
    for (rule, keys) in velocity.as_object().unwrap() {
        let quoted = format!("`velocity.{rule}`");
        assert!(docs.contains(&quoted), "docs/policy.md lacks {quoted}");
        let table = format!("\n[policy.velocity.{rule}]\n");
        let at = example
            .find(&table)
            .unwrap_or_else(|| panic!("example lacks {table}"));
        let body = example[at + table.len()..].split("\n[").next().unwrap();
        for key in keys.as_object().unwrap().keys() {
            assert!(
                body.contains(&format!("{key} = ")),
                "example lacks velocity.{rule}.{key}"
            );
            assert!(
                docs.contains(&format!("`{key}`")),
                "docs/policy.md lacks {key}"
            );
        }
    }
    let d = run(&Policy::default(), &clean_event(), &ctx());
    for c in &d.checks {
        assert!(
            docs.contains(&format!("`{}`", c.code)),
            "docs lack code {}",
            c.code
        );
    }
}

#[test]
fn a_disposable_domains_file_adds_domains_and_changes_the_hash() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("burners.txt"),
        "# ours\nBurner.Example\n\nthrowaway.test # x\n",
    )
    .unwrap();
    let toml = dir.path().join("policy.toml");
    std::fs::write(
        &toml,
        "[policy]\ndisposable_domains_file = \"burners.txt\"\n",
    )
    .unwrap();
    let policy = crate::policy::load_file(&toml).unwrap();
    assert_eq!(
        policy.disposable_domains,
        ["burner.example", "throwaway.test"]
    );
    assert!(crate::email::is_disposable(
        "burner.example",
        &policy.disposable_domains
    ));
    let mut fewer = policy.clone();
    fewer.disposable_domains.pop();
    assert_ne!(
        policy.hash(),
        fewer.hash(),
        "the file's contents version the policy"
    );
    std::fs::write(dir.path().join("burners.txt"), "not a domain\n").unwrap();
    let error = crate::policy::load_file(&toml).unwrap_err().to_string();
    assert!(error.contains("line 1"), "{error}");
}

#[test]
fn the_demo_policy_is_the_defaults_but_for_allow_entries_lifting_the_device_limit() {
    let demo = Policy::demo();
    assert!(demo.allow_overrides_device_limit);
    assert!(!Policy::default().allow_overrides_device_limit);
    let mut as_default = demo.clone();
    as_default.allow_overrides_device_limit = false;
    assert_eq!(as_default, Policy::default(), "nothing else differs");
    assert_ne!(
        demo.hash(),
        Policy::default().hash(),
        "attempts say which ran"
    );
}

#[test]
fn a_value_with_a_long_run_of_quotes_writes_back_as_itself() {
    // The policy fuzzer found that an origin with 256 or more quotes in a row overflowed the
    // TOML writer's quote counter (toml 0.8): with overflow checks on, the console, which
    // shows the policy as TOML, panicked.
    let origin = format!("https://a{}b{}c", "'".repeat(300), "\"".repeat(300));
    let text = format!("[policy]\nallowed_origins = [{}]\n", toml_string(&origin));
    let policy = parse_str(&text, Path::new("p.toml")).unwrap();
    assert_eq!(policy.allowed_origins, vec![origin]);
    for written in [
        toml::to_string(&ConfigFile {
            policy: policy.clone(),
        })
        .unwrap(),
        toml::to_string_pretty(&ConfigFile {
            policy: policy.clone(),
        })
        .unwrap(),
    ] {
        let again = parse_str(&written, Path::new("p.toml")).unwrap();
        assert_eq!(again, policy, "{written}");
    }
}

/// A TOML basic string holding `s`, every quote and backslash escaped; written by hand so the
/// input does not pass through the writer under test.
fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
