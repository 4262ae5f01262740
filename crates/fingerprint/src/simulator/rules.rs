//! The Rules Engine as the simulator plays it: the `rule_action` a ruleset gives an event.
//!
//! A real ruleset evaluates its rules' expressions against the event. The simulator has no
//! expressions to evaluate; the caller of `/identify` says what the ruleset decides, so a test
//! can ask for a block or an allow and check what the service does with it.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// What the workspace's ruleset decides for an event, chosen when the event is identified and
/// answered as `rule_action` when it is fetched with a `ruleset_id` (Server API v4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleVerdict {
    /// A rule matched and lets the request through.
    Allow,
    /// A rule matched and blocks the request.
    Block,
}

/// The rule ids the simulator reports, so a test can recognise them.
pub const ALLOW_RULE_ID: &str = "r_sim_allow";
/// See [`ALLOW_RULE_ID`].
pub const BLOCK_RULE_ID: &str = "r_sim_block";

/// The `rule_action` for an event fetched with `ruleset_id`. Without a verdict no rule matched,
/// and the ruleset's default applies: an allow that names no rule.
pub(crate) fn rule_action(verdict: Option<RuleVerdict>, ruleset_id: &str) -> Value {
    match verdict {
        None => json!({ "type": "allow", "ruleset_id": ruleset_id }),
        Some(RuleVerdict::Allow) => json!({
            "type": "allow",
            "ruleset_id": ruleset_id,
            "rule_id": ALLOW_RULE_ID,
            "rule_expression": "suspect_score < 20",
            "request_header_modifications": {
                "set": [{ "name": "x-fingerprint-rule", "value": ALLOW_RULE_ID }]
            }
        }),
        Some(RuleVerdict::Block) => json!({
            "type": "block",
            "ruleset_id": ruleset_id,
            "rule_id": BLOCK_RULE_ID,
            "rule_expression": "bot in [\"bad\"] || ip_info.v4.datacenter_result",
            "status_code": 403,
            "headers": [{ "name": "content-type", "value": "application/json" }],
            "body": "{\"title\":\"Forbidden\"}"
        }),
    }
}
