//! How a rule states its result. Shared by every rule module, and importing none of them, so
//! the rules form no import circle.

use super::config::Action;
use super::decision::{Check, Outcome};

/// A rule's outcome and the input it saw, in words.
pub(crate) type Judged = (Outcome, String);

/// `Fired` or `Passed`, so each rule states only its condition.
pub(crate) fn judge(fired: bool, input: String) -> Judged {
    let outcome = if fired {
        Outcome::Fired
    } else {
        Outcome::Passed
    };
    (outcome, input)
}

/// The checks in the order they were run; every rule records exactly one.
#[derive(Default)]
pub(crate) struct Checks(pub(crate) Vec<Check>);

impl Checks {
    pub(crate) fn push(
        &mut self,
        code: &'static str,
        rule: &'static str,
        action: Action,
        j: Judged,
    ) {
        let (outcome, input) = j;
        self.0.push(Check {
            code,
            rule,
            action,
            outcome,
            input,
        });
    }
}
