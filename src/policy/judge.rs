//! How a rule states its result. Shared by every rule module, and importing none of them, so
//! the rules form no import circle.

use super::config::Action;
use super::decision::{Check, Outcome};

/// A rule's outcome and the input it saw, in words.
pub(crate) type Judged = (Outcome, String);

/// Which rules put their input into words. `explain` and the console show every rule's; a live
/// signup keeps only the findings' (the rules that fired), so it does not format forty
/// sentences per bot to drop all but a few of them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Says {
    Every,
    Fired,
}

impl Says {
    /// The outcome with its input in words, formatted only where it is to be kept.
    pub(crate) fn judged(self, outcome: Outcome, input: impl FnOnce() -> String) -> Judged {
        let kept = self == Says::Every || outcome == Outcome::Fired;
        (outcome, if kept { input() } else { String::new() })
    }

    /// `Fired` or `Passed`, so each rule states only its condition.
    pub(crate) fn judge(self, fired: bool, input: impl FnOnce() -> String) -> Judged {
        let outcome = if fired {
            Outcome::Fired
        } else {
            Outcome::Passed
        };
        self.judged(outcome, input)
    }

    /// The words for an input that did not fire its rule (it passed, or could not be judged).
    pub(crate) fn not_fired(self, input: impl FnOnce() -> String) -> String {
        self.judged(Outcome::Passed, input).1
    }
}

/// The checks in the order they were run; every rule records exactly one.
pub(crate) struct Checks {
    pub(crate) says: Says,
    pub(crate) list: Vec<Check>,
}

impl Checks {
    pub(crate) fn new(says: Says) -> Checks {
        Checks {
            says,
            // Room for every rule (44 today), so the list is allocated once.
            list: Vec::with_capacity(48),
        }
    }

    pub(crate) fn push(
        &mut self,
        code: &'static str,
        rule: &'static str,
        action: Action,
        j: Judged,
    ) {
        let (outcome, input) = j;
        self.list.push(Check {
            code,
            rule,
            action,
            outcome,
            input,
        });
    }
}
