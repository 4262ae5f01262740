//! Webhook signature vectors from Fingerprint's SDK test suites, read in place from the shared
//! fixtures directory (never copied into this repo).

mod common;

use fingerprint::webhook;
use serde_json::Value;

fn load() -> Option<Value> {
    let dir = common::fixtures_dir()?;
    let path = dir.join("webhook/webhook-signature-vectors.json");
    match std::fs::read(&path) {
        Ok(bytes) => Some(serde_json::from_slice(&bytes).unwrap()),
        Err(_) => {
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                b"skipping: ../shared/fingerprint not found\n",
            );
            None
        }
    }
}

#[test]
fn every_case_verifies_as_expected() {
    let Some(doc) = load() else { return };
    let mut checked = 0;
    for group in ["cases", "derived_cases_not_in_sdks"] {
        for case in doc[group].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let header = case["header"].as_str().unwrap();
            let body = case["body_utf8"].as_str().unwrap().as_bytes();
            let secret = case["secret"].as_str().unwrap().as_bytes();
            let expected = case["expected_valid"].as_bool().unwrap();
            assert_eq!(
                webhook::verify_signature(header, body, secret),
                expected,
                "{group}/{name}"
            );
            checked += 1;
        }
    }
    eprintln!("{checked} webhook cases checked");
    assert!(checked >= 10, "expected at least 10 cases, found {checked}");
}

#[test]
fn sign_matches_the_reference_hmacs() {
    let Some(doc) = load() else { return };
    let reference = doc["hmac_reference"].as_object().unwrap();
    for (label, (secret, body)) in [
        ("HMAC-SHA256(secret,\"data\")", ("secret", "data")),
        ("HMAC-SHA256(\"\",\"data\")", ("", "data")),
        ("HMAC-SHA256(secret,\"\")", ("secret", "")),
    ] {
        let hex = reference[label].as_str().unwrap();
        assert_eq!(
            webhook::sign(body.as_bytes(), secret.as_bytes()),
            format!("v1={hex}"),
            "{label}"
        );
    }
}
