//! The rule order documented in `docs/policy.md` is the order the code evaluates, read from
//! the doc itself so neither can be reordered without the other.

use super::*;

const POLICY_DOC: &str = include_str!("../../../docs/policy.md");

/// The `(code, rule)` pairs of the table under `## Rule order`, in table order. A rule is the
/// config key without the `rules.` prefix and without the `(built in)` note, as `checks` names it.
fn documented_order() -> Vec<(String, String)> {
    let section = POLICY_DOC
        .split("\n## Rule order")
        .nth(1)
        .expect("docs/policy.md has a `## Rule order` section");
    let section = section.split("\n## ").next().unwrap();
    let rows: Vec<Vec<&str>> = section
        .lines()
        .filter(|l| l.trim_start().starts_with('|'))
        .map(|l| {
            l.trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect()
        })
        .collect();
    let (header, rows) = rows
        .split_first()
        .expect("the rule order table has a header");
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("the rule order table has no {name:?} column: {header:?}"))
    };
    let (code, rule) = (column("code"), column("rule (config key)"));
    let unquote = |cell: &str| {
        let cell = cell.split(" (").next().unwrap().trim().trim_matches('`');
        cell.strip_prefix("rules.").unwrap_or(cell).to_owned()
    };
    rows.iter()
        .filter(|row| {
            !row.iter()
                .all(|c| c.chars().all(|ch| ch == '-' || ch == ' '))
        })
        .map(|row| (unquote(row[code]), unquote(row[rule])))
        .collect()
}

#[test]
fn the_documented_rule_order_is_the_evaluated_order() {
    let documented = documented_order();
    let evaluated: Vec<(String, String)> = run(&Policy::default(), &clean_event(), &ctx())
        .checks
        .iter()
        .map(|c| (c.code.to_owned(), c.rule.to_owned()))
        .collect();
    assert!(!evaluated.is_empty());
    // Compared as whole lists: a rule missing on either side, an extra one, or two swapped
    // rules all fail, and the message shows both orders side by side.
    assert_eq!(
        documented, evaluated,
        "docs/policy.md `## Rule order` (left) differs from policy::evaluate's checks (right)"
    );
}
