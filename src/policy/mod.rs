//! The signup policy: a pure function from a Fingerprint event and the request context to
//! a decision, with the evidence for it.
//!
//! Purity is the point: the same function answers live signups, `explain` for a stored
//! attempt, and backtests of a candidate policy over history, so they can never disagree.
//! The database-side device limit is the only rule enforced elsewhere as well (atomically);
//! here it gives the early answer and the explanation.

mod binding;
mod config;
mod context;
mod decision;
mod device_identity;
mod file;
mod judge;
pub(crate) mod origin;
mod rules;
mod signals;
mod snapshot;
mod velocity;
mod window;

#[cfg(test)]
mod tests;

use judge::Says;

pub use config::{Action, Policy, Rules, VelocityRule, VelocityRules};
pub use context::{client_ip, Context, Counted, ListHit, VelocityCounts};
pub use decision::{Check, Decision, Finding, Outcome};
pub use device_identity::{Identity, IdentityAccounts};
pub use file::{load_file, parse_str, ConfigError, ConfigFile};
pub use snapshot::Snapshot;
pub use velocity::{is_velocity_code, retry_after_secs, subnet};
pub use window::Window;

/// Decides on one signup. Every rule is evaluated and recorded, in the fixed order
/// documented in `docs/policy.md`; the verdict is the strongest action among those that fired.
/// Every check carries its input in words, for an explanation.
pub fn evaluate(policy: &Policy, event: &fingerprint::Event, ctx: &Context) -> Decision {
    Decision::from_checks(rules::run(policy, event, ctx, Says::Every), policy.shadow)
}

/// The same decision as [`evaluate`], for a caller that reads the verdict and the findings
/// only: a rule that did not fire leaves its check's input empty, unformatted. A live signup
/// and a backtest take this; an explanation takes [`evaluate`].
pub fn decide(policy: &Policy, event: &fingerprint::Event, ctx: &Context) -> Decision {
    Decision::from_checks(rules::run(policy, event, ctx, Says::Fired), policy.shadow)
}

/// Every code a rule can record, once each, in rule order. Read from an evaluation, where every
/// rule records one check whatever the event, so a new rule is listed without being named here.
pub fn codes() -> Vec<&'static str> {
    let checks = rules::run(
        &Policy::default(),
        &fingerprint::Event::default(),
        &Context::default(),
        Says::Fired,
    );
    let mut codes: Vec<&'static str> = Vec::with_capacity(checks.len());
    for check in checks {
        if !codes.contains(&check.code) {
            codes.push(check.code);
        }
    }
    codes
}
