//! Size and character bounds on event fields, for every way an event is parsed: v4 and v3 API
//! bodies, v3 webhooks and sealed results.

use fingerprint::event::{
    ParseError, MAX_EVENT_BYTES, MAX_LINKED_ID_LEN, MAX_RULE_EXPRESSION_LEN, MAX_SHORT_TEXT_LEN,
    MAX_URL_LEN, MAX_VISITOR_ID_LEN,
};
use fingerprint::sealed::{seal, unseal, DecryptionKey, UnsealError};
use fingerprint::Event;
use serde_json::json;

fn v4(visitor_id: &str, url: &str, linked_id: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "event_id": "1708102555327.NLOjmg",
        "identification": {"visitor_id": visitor_id},
        "url": url,
        "linked_id": linked_id,
    }))
    .unwrap()
}

fn v3(visitor_id: &str, url: &str, linked_id: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"products": {"identification": {"data": {
        "requestId": "1708102555327.NLOjmg",
        "visitorId": visitor_id,
        "url": url,
        "linkedId": linked_id,
    }}}}))
    .unwrap()
}

fn refused_field(result: Result<Event, ParseError>) -> &'static str {
    match result {
        Err(ParseError::Limit { field, .. }) => field,
        other => panic!("expected a limit error, got {other:?}"),
    }
}

#[test]
fn values_at_their_bounds_parse() {
    let visitor = "a".repeat(MAX_VISITOR_ID_LEN);
    let url = format!("https://example.com/{}", "p".repeat(MAX_URL_LEN - 20));
    let linked = "é".repeat(MAX_LINKED_ID_LEN / 2);
    let event = Event::from_v4_json(&v4(&visitor, &url, &linked)).unwrap();
    assert_eq!(event.visitor_id.as_deref(), Some(visitor.as_str()));
    assert_eq!(event.url.as_deref(), Some(url.as_str()));
    let event = Event::from_v3_json(&v3(&visitor, &url, &linked)).unwrap();
    assert_eq!(event.linked_id.as_deref(), Some(linked.as_str()));
}

#[test]
fn oversized_fields_are_refused_in_both_generations() {
    let ok_url = "https://example.com/";
    let cases = [
        (
            "visitor_id",
            "V".repeat(1024 * 1024),
            ok_url.to_owned(),
            "l".to_owned(),
        ),
        (
            "visitor_id",
            "V".repeat(MAX_VISITOR_ID_LEN + 1),
            ok_url.to_owned(),
            "l".to_owned(),
        ),
        (
            "url",
            "V1".to_owned(),
            format!("{ok_url}{}", "p".repeat(MAX_URL_LEN)),
            "l".to_owned(),
        ),
        (
            "linked_id",
            "V1".to_owned(),
            ok_url.to_owned(),
            "l".repeat(MAX_LINKED_ID_LEN + 1),
        ),
    ];
    for (field, visitor, url, linked) in cases {
        for body in [v4(&visitor, &url, &linked), v3(&visitor, &url, &linked)] {
            // A parsed value is checked field by field ...
            let value = serde_json::from_slice(&body).unwrap();
            assert_eq!(refused_field(Event::from_value(value)), field);
            // ... and bytes are first checked as a whole.
            let expected = if body.len() > MAX_EVENT_BYTES {
                "(document)"
            } else {
                field
            };
            assert_eq!(refused_field(Event::from_json(&body)), expected);
        }
        let small = v4(&visitor, &url, &linked);
        if small.len() <= MAX_EVENT_BYTES {
            assert_eq!(refused_field(Event::from_v4_json(&small)), field);
            assert_eq!(
                refused_field(Event::from_v3_json(&v3(&visitor, &url, &linked))),
                field
            );
        }
    }
}

#[test]
fn identifiers_must_be_printable_ascii_and_text_has_no_control_characters() {
    for visitor in ["V 1", "V\u{0}1", "V\n1", "Vé1", "V\u{200b}1"] {
        let body = v4(visitor, "https://example.com/", "l");
        assert_eq!(
            refused_field(Event::from_v4_json(&body)),
            "visitor_id",
            "{visitor:?}"
        );
    }
    for url in [
        "https://example.com/\u{0}",
        "https://example.com/\n2026 ERROR forged",
    ] {
        let body = v3("V1", url, "l");
        assert_eq!(refused_field(Event::from_v3_json(&body)), "url", "{url:?}");
    }
    let body = v4("V1", "https://example.com/", "a\u{1b}[31mred");
    assert_eq!(refused_field(Event::from_v4_json(&body)), "linked_id");
    let long_event_id = serde_json::to_vec(&json!({"event_id": "e".repeat(129)})).unwrap();
    assert_eq!(
        refused_field(Event::from_v4_json(&long_event_id)),
        "event_id"
    );
    let ip = serde_json::to_vec(&json!({"event_id": "e1", "ip_address": "1".repeat(65)})).unwrap();
    assert_eq!(refused_field(Event::from_v4_json(&ip)), "ip");
}

/// The newer records (IP details, rarity, the Rules Engine's action) are bounded like the rest:
/// at the bound they parse, one byte past it or with a control character they are refused.
#[test]
fn ip_details_rarity_and_rule_actions_are_bounded() {
    let v4 = |extra: serde_json::Value| {
        let mut body = json!({"event_id": "e1", "ip_address": "61.127.217.15"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        Event::from_v4_json(&serde_json::to_vec(&body).unwrap())
    };
    let short = "s".repeat(MAX_SHORT_TEXT_LEN);
    let long = "s".repeat(MAX_SHORT_TEXT_LEN + 1);
    let expression = "x".repeat(MAX_RULE_EXPRESSION_LEN);
    let event = v4(json!({
        "ip_info": {"v4": {"asn_name": short, "datacenter_name": short}},
        "rare_device_percentile_bucket": short,
        "rule_action": {"type": "block", "ruleset_id": short, "rule_expression": expression},
    }))
    .unwrap();
    assert_eq!(event.rule_action.unwrap().rule_expression, Some(expression));
    let cases = [
        (
            "ip_info.asn_name",
            json!({"ip_info": {"v4": {"asn_name": long}}}),
        ),
        (
            "ip_info.datacenter_name",
            json!({"ip_info": {"v4": {"datacenter_name": "a\nb"}}}),
        ),
        (
            "rare_device_percentile_bucket",
            json!({"rare_device_percentile_bucket": long}),
        ),
        ("rule_action.type", json!({"rule_action": {"type": long}})),
        (
            "rule_action.ruleset_id",
            json!({"rule_action": {"type": "allow", "ruleset_id": long}}),
        ),
        (
            "rule_action.rule_id",
            json!({"rule_action": {"type": "allow", "rule_id": "r\u{1b}[0m"}}),
        ),
        (
            "rule_action.rule_expression",
            json!({"rule_action": {"type": "block", "rule_expression": "x".repeat(MAX_RULE_EXPRESSION_LEN + 1)}}),
        ),
    ];
    for (field, extra) in cases {
        assert_eq!(refused_field(v4(extra)), field);
    }
    let v3 = serde_json::to_vec(&json!({"products": {
        "identification": {"data": {"requestId": "r1", "ip": "61.127.217.15"}},
        "ipInfo": {"data": {"v4": {"asn": {"asn": "1", "name": long}}}},
    }}))
    .unwrap();
    assert_eq!(refused_field(Event::from_v3_json(&v3)), "ip_info.asn_name");
}

/// The ASN keys the ASN velocity rule, so it is held to the identifier rule: a look-alike such
/// as "ɼ22" (found by the event_v3 fuzz target) would count apart from the real one.
#[test]
fn an_asn_must_be_printable_ascii_in_both_generations() {
    for asn in ["\u{27c}22", "79 22", "7922\n"] {
        let v3 = serde_json::to_vec(&json!({"products": {
            "identification": {"data": {"requestId": "r1", "ip": "61.127.217.15"}},
            "ipInfo": {"data": {"v4": {"asn": {"asn": asn, "name": "COMCAST-7922"}}}},
        }}))
        .unwrap();
        assert_eq!(
            refused_field(Event::from_v3_json(&v3)),
            "ip_info.asn",
            "{asn:?}"
        );
        let v4 = serde_json::to_vec(&json!({
            "event_id": "e1",
            "ip_address": "61.127.217.15",
            "ip_info": {"v4": {"asn": asn}},
        }))
        .unwrap();
        assert_eq!(
            refused_field(Event::from_v4_json(&v4)),
            "ip_info.asn",
            "{asn:?}"
        );
    }
    let v4 = serde_json::to_vec(&json!({"event_id": "e1", "ip_info": {"v4": {"asn": "7922"}}}));
    let event = Event::from_v4_json(&v4.unwrap()).unwrap();
    assert_eq!(event.ip_info.unwrap().asn.as_deref(), Some("7922"));
}

#[test]
fn a_v3_webhook_is_bounded_too() {
    let body = serde_json::to_vec(&json!({
        "requestId": "1708102555327.NLOjmg",
        "visitorId": "V".repeat(MAX_VISITOR_ID_LEN + 1),
    }))
    .unwrap();
    assert_eq!(
        refused_field(Event::from_v3_webhook_json(&body)),
        "visitor_id"
    );
}

#[test]
fn a_document_past_the_size_limit_is_refused_before_parsing() {
    let mut body = v4("V1", "https://example.com/", "l");
    body.resize(MAX_EVENT_BYTES + 1, b' ');
    assert_eq!(refused_field(Event::from_v4_json(&body)), "(document)");
    assert_eq!(refused_field(Event::from_json(&body)), "(document)");
    body.truncate(MAX_EVENT_BYTES);
    assert!(Event::from_v4_json(&body).is_ok());
}

#[test]
fn sealed_results_go_through_the_same_bounds() {
    let key = DecryptionKey::generate();
    let keys = std::slice::from_ref(&key);
    let sealed = seal(&v4(&"V".repeat(1024), "https://example.com/", "l"), &key);
    match unseal(&sealed, keys) {
        Err(UnsealError::Parse(ParseError::Limit { field, .. })) => assert_eq!(field, "visitor_id"),
        other => panic!("{other:?}"),
    }
    // A 1 MiB visitor id inflates past the plaintext limit and never reaches the parser.
    let sealed = seal(
        &v4(&"V".repeat(1024 * 1024), "https://example.com/", "l"),
        &key,
    );
    assert!(matches!(
        unseal(&sealed, keys),
        Err(UnsealError::PlaintextTooLarge)
    ));
    let sealed = seal(&v4("V1", "https://example.com/", "l"), &key);
    assert_eq!(
        unseal(&sealed, keys).unwrap().visitor_id.as_deref(),
        Some("V1")
    );
}
