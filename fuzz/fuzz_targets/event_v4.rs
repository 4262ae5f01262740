//! Server API v4 event JSON: what the client reads from Fingerprint (or whatever answers in its
//! place) and the shape of v4 sealed results.
#![no_main]

use fingerprint::Event;
use libfuzzer_sys::fuzz_target;
use signup_guard_fuzz::{assert_event_bounded, assert_replays_the_same};

fuzz_target!(|data: &[u8]| {
    let Ok(event) = Event::from_v4_json(data) else {
        return;
    };
    assert_event_bounded(&event);
    assert_replays_the_same(&event);
    let raw = event.raw.to_value();
    assert_eq!(
        raw.get("event_id").and_then(|id| id.as_str()),
        Some(event.event_id.as_str()),
        "the id is the document's `event_id`"
    );
    // Shape detection (used for sealed results) must read a v4 document as v4.
    let looks_v3 = raw.get("products").is_some()
        || raw.get("requestId").is_some() && raw.get("event_id").is_none();
    // from_v4_json builds only the fields it reads; from_json parses the whole document. They
    // must agree on every document.
    if !looks_v3 {
        assert_eq!(Event::from_json(data).ok().as_ref(), Some(&event));
    }
});
