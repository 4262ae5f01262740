//! Server API v3 JSON: the `products` envelope of `GET /events/{request_id}` and the flat v3
//! webhook body, both also possible inside a sealed result.
#![no_main]

use fingerprint::event::ParseError;
use fingerprint::Event;
use libfuzzer_sys::fuzz_target;
use signup_guard_fuzz::{assert_event_bounded, assert_replays_the_same};

/// The id the client asked for, used only when no product in the body names one.
const ASKED_FOR: &str = "1708102555327.asked";

fuzz_target!(|data: &[u8]| {
    let envelope = Event::from_v3_json(data);
    let with_id = Event::from_v3_json_with_request_id(data, ASKED_FOR);
    match (&envelope, &with_id) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "an id in the body wins over the one asked for"),
        (Err(ParseError::Shape(_)), Ok(b)) => assert_eq!(b.event_id, ASKED_FOR),
        (Err(_), Err(_)) => {}
        _ => panic!("envelope {envelope:?}, with the asked-for id {with_id:?}"),
    }
    // `with_id` is `envelope` whenever both parse, so judging it covers both.
    for event in [with_id.as_ref(), Event::from_v3_webhook_json(data).as_ref()]
        .into_iter()
        .flatten()
    {
        assert_event_bounded(event);
        assert_replays_the_same(event);
    }
    // Shape detection reads an envelope as an envelope.
    if let Ok(event) = &envelope {
        assert_eq!(Event::from_json(data).ok().as_ref(), Some(event));
    }
});
