//! The signup body: the first thing an anonymous client controls.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use signup_guard::signup::request::{parse, EventRef, SignupRequest, MAX_SEALED_BYTES};
use signup_guard::signup::Refusal;

/// The documented limit on usernames (characters, after trimming).
const MAX_USERNAME_CHARS: usize = 254;

fuzz_target!(|data: &[u8]| {
    let request = match parse(data) {
        Ok(request) => request,
        Err(Refusal::Invalid(why)) => {
            assert!(!why.is_empty(), "a refusal says why");
            return;
        }
        Err(other) => panic!("parsing can only refuse as invalid, got {other:?}"),
    };
    // Accepted means: one JSON object, whose fields say what the request holds.
    let body: Value = serde_json::from_slice(data).expect("an accepted body is JSON");
    let field = |name: &str| body.get(name).and_then(Value::as_str);

    let username = request.username.as_str();
    assert!(!username.is_empty());
    assert_eq!(username, username.trim(), "usernames are trimmed");
    assert!(username.chars().count() <= MAX_USERNAME_CHARS);
    assert!(!username.chars().any(char::is_control));
    assert_eq!(field("username").map(str::trim), Some(username));
    assert_eq!(
        field("password"),
        Some(request.password.as_str()),
        "passwords are kept as typed"
    );

    match &request.event {
        EventRef::Id(id) => {
            assert!(fingerprint::is_valid_event_id(id), "{id:?}");
            assert!(field("sealedResult").is_none());
            // Both spellings, when sent, must name this one event.
            for alias in ["requestId", "eventId"] {
                if let Some(named) = field(alias) {
                    assert_eq!(named.trim(), id, "{alias} names another event");
                }
            }
        }
        EventRef::Sealed(sealed) => {
            assert!(!sealed.is_empty() && sealed.len() <= MAX_SEALED_BYTES);
            assert_eq!(sealed, sealed.trim());
            assert!(field("requestId").is_none() && field("eventId").is_none());
        }
    }

    // The password never reaches a log line through `Debug`: the output is the same whatever
    // the password is.
    let other = SignupRequest {
        password: format!("{}x", request.password),
        ..request.clone()
    };
    assert_eq!(format!("{request:?}"), format!("{other:?}"));
});
