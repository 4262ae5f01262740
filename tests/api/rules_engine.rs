//! Fingerprint's Rules Engine end to end: with a ruleset configured (`FINGERPRINT_RULESET_ID`)
//! every event fetch names it, the simulator answers the `rule_action` chosen at
//! identification, a `block` refuses the signup with `fingerprint_rule`, and an `allow` changes
//! nothing but is recorded with the attempt.

use crate::common::*;
use crate::policy::{assert_accepted, attempt_for};
use fingerprint::event::RuleActionType;
use fingerprint::simulator::{IdentifyRequest, Persona, RuleVerdict, ALLOW_RULE_ID, BLOCK_RULE_ID};
use serde_json::{json, Value};
use signup_guard::policy::{Action, Outcome, Policy};

both_backends!(a_ruleset_block_refuses_and_an_allow_is_recorded_and_changes_nothing);

const RULESET: &str = "rs_b1k1blhqpOX3kU";

async fn app_with(
    ruleset_id: Option<&str>,
    policy: Policy,
    database_url: Option<String>,
) -> TestApp {
    spawn_app_with(Options {
        ruleset_id: ruleset_id.map(str::to_owned),
        policy,
        database_url,
        ..Options::default()
    })
    .await
}

fn identify(app: &TestApp, persona: Persona, verdict: Option<RuleVerdict>) -> (String, String) {
    let identified = app.identify_with(IdentifyRequest {
        persona,
        rule_action: verdict,
        ..IdentifyRequest::default()
    });
    (identified.request_id, identified.event_id)
}

/// The ruleset ids the service's fetches of `event_id` carried: at least one fetch, and each
/// naming the same ruleset (a retry must ask for it too).
fn rulesets_asked(app: &TestApp, event_id: &str) -> Vec<Option<String>> {
    let asked: Vec<Option<String>> = app
        .simulator
        .event_fetches()
        .into_iter()
        .filter(|f| f.event_id == event_id)
        .map(|f| f.ruleset_id)
        .collect();
    assert!(!asked.is_empty(), "{event_id} was fetched");
    asked
}

async fn a_ruleset_block_refuses_and_an_allow_is_recorded_and_changes_nothing(db: &TestDb) {
    let app = app_with(Some(RULESET), Policy::default(), Some(db.url.clone())).await;

    let (request_id, event_id) = identify(&app, Persona::NewDevice, Some(RuleVerdict::Block));
    let (status, body) = app.signup(&request_id).await;
    assert_error(status, &body, 403, "fingerprint_rule");
    assert_eq!(app.accounts().await, 0);
    for asked in rulesets_asked(&app, &event_id) {
        assert_eq!(
            asked.as_deref(),
            Some(RULESET),
            "the fetch carried the ruleset"
        );
    }
    let attempt = attempt_for(&app, &event_id).await;
    assert_eq!(
        (attempt.verdict.as_str(), attempt.code.as_str()),
        ("block", "fingerprint_rule")
    );
    assert_eq!(attempt.codes, vec!["fingerprint_rule"]);
    let snapshot = attempt.signals.expect("a snapshot");
    let action = snapshot
        .event
        .rule_action
        .clone()
        .expect("the action is recorded");
    assert_eq!(action.action, RuleActionType::Block);
    assert_eq!(action.ruleset_id.as_deref(), Some(RULESET));
    assert_eq!(action.rule_id.as_deref(), Some(BLOCK_RULE_ID));
    assert_eq!(action.status_code, Some(403));
    // What explain and backtest replay: the rule fired on the recorded action.
    let replayed = snapshot.evaluate(&Policy::default());
    let check = replayed
        .checks
        .iter()
        .find(|c| c.rule == "fingerprint_rule")
        .unwrap();
    assert_eq!(
        (check.outcome, check.action),
        (Outcome::Fired, Action::Block)
    );
    assert!(
        check.input.contains(BLOCK_RULE_ID) && check.input.contains(RULESET),
        "{}",
        check.input
    );

    let (request_id, event_id) = identify(&app, Persona::NewDevice, Some(RuleVerdict::Allow));
    let (status, body) = app.signup(&request_id).await;
    assert_accepted(status, &body, "created", &[]);
    for asked in rulesets_asked(&app, &event_id) {
        assert_eq!(asked.as_deref(), Some(RULESET));
    }
    let attempt = attempt_for(&app, &event_id).await;
    assert_eq!(attempt.verdict, "allow");
    assert!(attempt.codes.is_empty(), "{attempt:?}");
    let snapshot = attempt.signals.expect("a snapshot");
    let action = snapshot
        .event
        .rule_action
        .clone()
        .expect("an allow is recorded too");
    assert_eq!(action.action, RuleActionType::Allow);
    assert_eq!(action.rule_id.as_deref(), Some(ALLOW_RULE_ID));
    let replayed = snapshot.evaluate(&Policy::default());
    let check = replayed
        .checks
        .iter()
        .find(|c| c.rule == "fingerprint_rule")
        .unwrap();
    assert_eq!(check.outcome, Outcome::Passed, "{}", check.input);
    assert!(
        check
            .input
            .starts_with("rule_action: allow by rule r_sim_allow"),
        "{}",
        check.input
    );

    // The audit trail is filtered by the new code like any other.
    let page: Value = app
        .get("/api/attempts?code=fingerprint_rule", Some(ADMIN_TOKEN))
        .await
        .json()
        .await
        .unwrap();
    let attempts = page["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{page}");
    assert_eq!(attempts[0]["code"], "fingerprint_rule");
}

/// The ruleset decides only when it is asked: without FINGERPRINT_RULESET_ID the fetch names
/// none, the event carries no action, and the same event is created.
#[tokio::test]
async fn without_a_ruleset_the_fetch_names_none_and_nothing_is_blocked_by_it() {
    let app = app_with(None, Policy::default(), None).await;
    let (request_id, event_id) = identify(&app, Persona::NewDevice, Some(RuleVerdict::Block));
    let (status, body) = app.signup(&request_id).await;
    assert_accepted(status, &body, "created", &[]);
    for asked in rulesets_asked(&app, &event_id) {
        assert_eq!(asked, None);
    }
    let attempt = attempt_for(&app, &event_id).await;
    let snapshot = attempt.signals.unwrap();
    assert_eq!(snapshot.event.rule_action, None);
    let check = snapshot
        .evaluate(&Policy::default())
        .checks
        .into_iter()
        .find(|c| c.rule == "fingerprint_rule")
        .unwrap();
    assert_eq!(check.outcome, Outcome::Unavailable);
}

/// No rule matched: the ruleset's default allow names no rule, and is recorded as such.
#[tokio::test]
async fn the_ruleset_default_allows_and_names_no_rule() {
    let app = app_with(Some(RULESET), Policy::default(), None).await;
    let (request_id, event_id) = identify(&app, Persona::NewDevice, None);
    let (status, body) = app.signup(&request_id).await;
    assert_accepted(status, &body, "created", &[]);
    let action = attempt_for(&app, &event_id)
        .await
        .signals
        .unwrap()
        .event
        .rule_action
        .unwrap();
    assert_eq!(
        (action.action, action.rule_id),
        (RuleActionType::Allow, None)
    );
}

/// `rules.fingerprint_rule` sets what a block does, like every rule's action; the decision API
/// answers it as a decision.
#[tokio::test]
async fn the_rule_s_action_is_the_policy_s_to_set() {
    let mut policy = Policy::default();
    policy.rules.fingerprint_rule = Action::Review;
    let app = app_with(Some(RULESET), policy, None).await;
    let (request_id, _) = identify(&app, Persona::NewDevice, Some(RuleVerdict::Block));
    let (status, body) = app.signup(&request_id).await;
    assert_accepted(status, &body, "review", &["fingerprint_rule"]);

    let app = app_with(Some(RULESET), Policy::default(), None).await;
    let (request_id, _) = identify(&app, Persona::NewDevice, Some(RuleVerdict::Block));
    let response = app
        .http
        .post(format!("{}/api/v1/signup-decisions", app.address))
        .bearer_auth(API_TOKEN)
        .json(&json!({ "requestId": request_id }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let decided: Value = response.json().await.unwrap();
    assert_eq!(decided["decision"], "block", "{decided}");
    assert_eq!(decided["codes"], json!(["fingerprint_rule"]), "{decided}");
}

/// A ruleset's block on a partial identification is skipped like every Smart Signal
/// (docs/policy.md): Fingerprint says those signals must be ignored, and rules over them too.
#[tokio::test]
async fn a_partial_identification_skips_the_ruleset_s_action_but_records_it() {
    let app = app_with(Some(RULESET), Policy::default(), None).await;
    let (request_id, event_id) =
        identify(&app, Persona::PartiallyCompleted, Some(RuleVerdict::Block));
    let (status, body) = app.signup(&request_id).await;
    assert_accepted(status, &body, "created", &[]);
    let snapshot = attempt_for(&app, &event_id).await.signals.unwrap();
    assert_eq!(
        snapshot
            .event
            .rule_action
            .as_ref()
            .map(|a| a.action.clone()),
        Some(RuleActionType::Block)
    );
    let check = snapshot
        .evaluate(&Policy::default())
        .checks
        .into_iter()
        .find(|c| c.rule == "fingerprint_rule")
        .unwrap();
    assert_eq!(check.outcome, Outcome::Skipped);
}
