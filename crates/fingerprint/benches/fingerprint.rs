//! Hot paths of a signup check: parsing a v4 event, unsealing a sealed result, and
//! verifying a webhook signature.
//!
//! The event is our own made-up v4 document (`event_v4.json`), shaped like a full Server API
//! v4 response with every Smart Signal present, so the figures reflect a worst-case body.

use divan::{black_box, Bencher};
use fingerprint::sealed::{self, DecryptionKey};
use fingerprint::{webhook, Event};

const EVENT_V4: &[u8] = include_bytes!("event_v4.json");

fn main() {
    // A parser error would time the error path: refuse to report such figures.
    let event = Event::from_v4_json(EVENT_V4).expect("event_v4.json parses");
    assert!(event.visitor_id.is_some() && event.suspect_score.is_some());
    divan::main();
}

#[divan::bench]
fn parse_v4_event(bencher: Bencher) {
    bencher
        .counter(divan::counter::BytesCount::new(EVENT_V4.len()))
        .bench(|| Event::from_v4_json(black_box(EVENT_V4)));
}

#[divan::bench]
fn unseal_bytes(bencher: Bencher) {
    let key = DecryptionKey::generate();
    let payload = sealed::seal(EVENT_V4, &key);
    let keys = [key];
    bencher.bench(|| sealed::unseal_bytes(black_box(&payload), black_box(&keys)).unwrap());
}

/// The first key is stale, as during a rotation: one failed GCM tag check before the match.
#[divan::bench]
fn unseal_bytes_second_key(bencher: Bencher) {
    let key = DecryptionKey::generate();
    let payload = sealed::seal(EVENT_V4, &key);
    let keys = [DecryptionKey::generate(), key];
    bencher.bench(|| sealed::unseal_bytes(black_box(&payload), black_box(&keys)).unwrap());
}

/// Decrypt, inflate and parse: what a caller of `unseal` pays.
#[divan::bench]
fn unseal_to_event(bencher: Bencher) {
    let key = DecryptionKey::generate();
    let payload = sealed::seal(EVENT_V4, &key);
    let keys = [key];
    bencher.bench(|| sealed::unseal(black_box(&payload), black_box(&keys)));
}

#[divan::bench]
fn webhook_verify(bencher: Bencher) {
    let secret = b"bench-webhook-secret";
    let header = webhook::sign(EVENT_V4, secret);
    bencher.bench(|| webhook::verify_signature(black_box(&header), black_box(EVENT_V4), secret));
}
