//! Invariants the fuzz targets share. They restate the documented promises of the code under
//! test from the outside, so a target fails on a wrong answer as well as on a panic.

use fingerprint::event::{
    RuleActionType, MAX_EVENT_ID_LEN, MAX_IP_LEN, MAX_LINKED_ID_LEN, MAX_RULE_EXPRESSION_LEN,
    MAX_SHORT_TEXT_LEN, MAX_URL_LEN, MAX_USER_AGENT_LEN, MAX_VISITOR_ID_LEN,
};
use fingerprint::{BotResult, Event, IdentificationStatus};
use signup_guard::policy::{Context, Policy, Snapshot};

/// Every event that parses is safe to store and log: each string within its bound, ids in
/// printable ASCII, free text without control characters (`event/limits.rs`). Callers rely on
/// this instead of checking again, so a parse path that skipped the check would be a hole.
pub fn assert_event_bounded(event: &Event) {
    assert!(!event.event_id.is_empty(), "an event always has an id");
    identifier("event_id", Some(&event.event_id), MAX_EVENT_ID_LEN);
    identifier(
        "visitor_id",
        event.visitor_id.as_deref(),
        MAX_VISITOR_ID_LEN,
    );
    identifier(
        "high_recall_visitor_id",
        event.high_recall_visitor_id.as_deref(),
        MAX_VISITOR_ID_LEN,
    );
    identifier("ip", event.ip.as_deref(), MAX_IP_LEN);
    identifier(
        "ip_info.asn",
        event.ip_info.as_ref().and_then(|i| i.asn.as_deref()),
        MAX_SHORT_TEXT_LEN,
    );
    text("linked_id", event.linked_id.as_deref(), MAX_LINKED_ID_LEN);
    text("url", event.url.as_deref(), MAX_URL_LEN);
    text(
        "user_agent",
        event.user_agent.as_deref(),
        MAX_USER_AGENT_LEN,
    );
    text("bot_type", event.bot_type.as_deref(), MAX_SHORT_TEXT_LEN);
    text("source", event.source.as_deref(), MAX_SHORT_TEXT_LEN);
    if let Some(BotResult::Other(other)) = &event.bot {
        text("bot", Some(other), MAX_SHORT_TEXT_LEN);
        // A known spelling read as "unknown" would slip past the bot rules.
        assert_eq!(BotResult::parse(other), BotResult::Other(other.clone()));
    }
    if let Some(IdentificationStatus::Other(other)) = &event.incremental_identification_status {
        text("status", Some(other), MAX_SHORT_TEXT_LEN);
        assert_eq!(
            IdentificationStatus::parse(other),
            IdentificationStatus::Other(other.clone())
        );
    }
    if let Some(vpn) = &event.vpn {
        text(
            "vpn.confidence",
            vpn.confidence.as_deref(),
            MAX_SHORT_TEXT_LEN,
        );
        text("vpn.tz", vpn.origin_timezone.as_deref(), MAX_SHORT_TEXT_LEN);
        text(
            "vpn.country",
            vpn.origin_country.as_deref(),
            MAX_SHORT_TEXT_LEN,
        );
    }
    if let Some(proxy) = &event.proxy {
        text(
            "proxy.confidence",
            proxy.confidence.as_deref(),
            MAX_SHORT_TEXT_LEN,
        );
        text(
            "proxy.type",
            proxy.proxy_type.as_deref(),
            MAX_SHORT_TEXT_LEN,
        );
    }
    if let Some(info) = &event.ip_info {
        for (field, value) in [
            ("ip_info.asn", &info.asn),
            ("ip_info.asn_name", &info.asn_name),
            ("ip_info.asn_network", &info.asn_network),
            ("ip_info.asn_type", &info.asn_type),
            ("ip_info.datacenter_name", &info.datacenter_name),
        ] {
            text(field, value.as_deref(), MAX_SHORT_TEXT_LEN);
        }
    }
    text(
        "rare_device_percentile_bucket",
        event.rare_device_percentile_bucket.as_deref(),
        MAX_SHORT_TEXT_LEN,
    );
    if let Some(rule) = &event.rule_action {
        if let RuleActionType::Other(other) = &rule.action {
            text("rule_action.type", Some(other), MAX_SHORT_TEXT_LEN);
            // A known spelling read as "unknown" would slip past the Rules Engine rule.
            assert_eq!(RuleActionType::parse(other), rule.action);
        }
        text(
            "rule_action.ruleset_id",
            rule.ruleset_id.as_deref(),
            MAX_SHORT_TEXT_LEN,
        );
        text(
            "rule_action.rule_id",
            rule.rule_id.as_deref(),
            MAX_SHORT_TEXT_LEN,
        );
        text(
            "rule_action.rule_expression",
            rule.rule_expression.as_deref(),
            MAX_RULE_EXPRESSION_LEN,
        );
    }
    for (name, score) in [
        ("confidence", event.confidence),
        ("proxy_ml_score", event.proxy_ml_score),
    ] {
        if let Some(score) = score {
            assert!(score.is_finite(), "{name} {score} is not a number");
        }
    }
}

/// What the signup stores of a decision (the snapshot) reads back as the same inputs and the
/// same decision: `explain` and `backtest` replay it and must never disagree with the live
/// answer. The policy restricts origins and binds the IP so the event's URL and IP are read.
pub fn assert_replays_the_same(event: &Event) {
    let policy = Policy {
        allowed_origins: vec!["https://shop.example".into()],
        ip_binding: true,
        ..Policy::default()
    };
    let snapshot = Snapshot {
        event: event.clone(),
        context: Context {
            client_ip: Some([203, 0, 113, 7].into()),
            origin: Some("https://shop.example".into()),
            now_ms: event.timestamp_ms.unwrap_or(0).saturating_add(1_000),
            device_accounts: 0,
            ..Context::default()
        },
    };
    let live = snapshot.evaluate(&policy);
    let stored = Snapshot::from_json(&snapshot.to_json()).expect("a stored snapshot reads back");
    // The raw document is not part of the stored form.
    let mut expected = snapshot.event.clone();
    expected.raw = fingerprint::RawJson::default();
    assert_eq!(stored.event, expected, "the stored event differs");
    assert_eq!(stored.context, snapshot.context);
    assert_eq!(
        stored.evaluate(&policy),
        live,
        "a replay decides differently"
    );
}

fn identifier(field: &str, value: Option<&str>, max: usize) {
    let Some(value) = value else { return };
    assert!(value.len() <= max, "{field}: {} bytes > {max}", value.len());
    assert!(
        value.bytes().all(|b| b.is_ascii_graphic()),
        "{field}: {value:?} is not printable ASCII"
    );
}

fn text(field: &str, value: Option<&str>, max: usize) {
    let Some(value) = value else { return };
    assert!(value.len() <= max, "{field}: {} bytes > {max}", value.len());
    assert!(
        !value.chars().any(char::is_control),
        "{field}: {value:?} holds a control character"
    );
}
