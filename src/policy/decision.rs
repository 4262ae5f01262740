//! The result of evaluating a policy: a verdict plus the evidence behind it.

use serde::Serialize;

use super::config::Action;

/// What happened to one rule during evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The rule's trigger was present; its action applies.
    Fired,
    /// The input was present and did not trigger the rule.
    Passed,
    /// The event does not carry this signal, so the rule cannot judge it.
    Unavailable,
    /// The event is a partial identification without Smart Signals.
    Skipped,
    /// The policy switches this rule off (for example `max_event_age_seconds = 0`).
    Disabled,
}

/// One rule as evaluated, fired or not, so `explain` can show why nothing happened too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable machine code recorded with the attempt (for example `vpn_detected`).
    pub code: &'static str,
    /// The config key that controls the rule (for example `vpn`).
    pub rule: &'static str,
    /// The action the rule has when it fires.
    pub action: Action,
    /// Whether it fired, and if not, why not.
    pub outcome: Outcome,
    /// The input the rule looked at, in words a human can check. Empty for a rule that did
    /// not fire when the decision came from [`crate::policy::decide`].
    pub input: String,
}

/// A rule that fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable machine code (for example `stale_event`).
    pub code: &'static str,
    /// The config key that controls the rule (for example `max_event_age_seconds`).
    pub rule: &'static str,
    /// The action configured for the rule.
    pub action: Action,
    /// The human-readable input, for example `event is 305 s old, limit 120 s`.
    pub detail: String,
}

/// The outcome of [`super::evaluate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The action to take: `Allow` in shadow mode except for `no_identification`.
    pub verdict: Action,
    /// What the rules said, regardless of shadow mode, so shadow runs can be measured.
    pub would_be: Action,
    /// Whether the policy was in shadow mode.
    pub shadow: bool,
    /// Every rule that fired, in the fixed rule order (including `allow` ones, as evidence).
    pub findings: Vec<Finding>,
    /// Every rule evaluated, in the fixed rule order.
    pub checks: Vec<Check>,
}

/// The one code shadow mode cannot waive: without a visitor id there is nothing to count
/// accounts against or store, so letting it through would bypass the device limit.
pub(crate) const NO_IDENTIFICATION: &str = "no_identification";

impl Decision {
    /// Builds the decision from the checks, which must already be in rule order.
    pub(crate) fn from_checks(checks: Vec<Check>, shadow: bool) -> Decision {
        let findings: Vec<Finding> = checks
            .iter()
            .filter(|c| c.outcome == Outcome::Fired)
            .map(|c| Finding {
                code: c.code,
                rule: c.rule,
                action: c.action,
                detail: c.input.clone(),
            })
            .collect();
        let would_be = findings
            .iter()
            .map(|f| f.action)
            .max()
            .unwrap_or(Action::Allow);
        let unidentified = findings.iter().any(|f| f.code == NO_IDENTIFICATION);
        let verdict = if shadow && !unidentified {
            Action::Allow
        } else {
            would_be
        };
        Decision {
            verdict,
            would_be,
            shadow,
            findings,
            checks,
        }
    }

    /// The finding that names the refusal: the first, in rule order, with the winning action.
    /// When only `allow` rules fired this is the first of them; `None` when nothing fired.
    pub fn primary(&self) -> Option<&Finding> {
        self.findings.iter().find(|f| f.action == self.would_be)
    }

    /// The codes of all findings, in rule order, for storage and metrics.
    pub fn codes(&self) -> Vec<&'static str> {
        self.findings.iter().map(|f| f.code).collect()
    }
}
