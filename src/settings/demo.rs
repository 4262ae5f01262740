//! The demo area: one switch for a self-contained demonstration.

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args};

/// Demo mode (`serve`, `explain`, and `migrate` and `backtest`, which pick its database).
#[derive(Clone, Args)]
#[command(next_help_heading = "Demo")]
pub struct DemoArgs {
    /// Demo mode: the built-in Fingerprint simulator, no key, no network, and a database of its
    /// own. Not for production. The variable takes 1/0, true/false, yes/no or on/off.
    #[arg(
        long,
        env = "SIGNUP_GUARD_DEMO",
        action = ArgAction::SetTrue,
        value_parser = BoolishValueParser::new()
    )]
    pub demo: bool,
}
