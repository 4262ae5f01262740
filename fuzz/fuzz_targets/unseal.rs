//! Sealed Client Results: a browser-supplied, base64 payload that is decrypted and inflated
//! before anything is known about who sent it.
//!
//! The first byte picks how the rest is used, so the fuzzer reaches past the GCM tag (which it
//! could never forge) into the inflater and the event parser:
//! - `p`: the payload exactly as a signup body carries it;
//! - `c`: the DEFLATE stream, encrypted here under a configured key;
//! - anything else: the event JSON, sealed here with `sealed::seal`.
#![no_main]

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use fingerprint::sealed::{
    seal, unseal, unseal_bytes, DecryptionKey, UnsealError, MAX_PLAINTEXT_LEN, SEALED_HEADER,
};
use fingerprint::Event;
use flate2::{Decompress, FlushDecompress, Status};
use libfuzzer_sys::fuzz_target;
use signup_guard_fuzz::{assert_event_bounded, assert_replays_the_same};

/// The configured key that seals the `c` and default inputs; seeds of mode `p` are sealed with
/// it too. A test key of this project's own, not one of Fingerprint's.
const KEY: [u8; 32] = *b"signup-guard fuzz key, not real!";
/// A rotated-out key listed first, so every success also walks past a failing key.
const OLD_KEY: [u8; 32] = [0x5a; 32];

fuzz_target!(|data: &[u8]| {
    let keys = [
        DecryptionKey::from_bytes(OLD_KEY),
        DecryptionKey::from_bytes(KEY),
    ];
    match data.split_first() {
        Some((b'p', payload)) => payload_as_sent(&String::from_utf8_lossy(payload), &keys),
        Some((b'c', compressed)) => stream_under_our_key(compressed, &keys),
        Some((_, plaintext)) => round_trip(plaintext, &keys),
        None => {}
    }
});

fn payload_as_sent(payload: &str, keys: &[DecryptionKey]) {
    let bytes = unseal_bytes(payload, keys);
    let event = unseal(payload, keys);
    match (&bytes, &event) {
        (Ok(plaintext), _) => {
            assert!(plaintext.len() <= MAX_PLAINTEXT_LEN);
            agrees_with_parsing(plaintext, &event);
        }
        (Err(a), Err(b)) => assert_eq!(
            std::mem::discriminant(a),
            std::mem::discriminant(b),
            "unseal and unseal_bytes disagree on why"
        ),
        (Err(e), Ok(_)) => panic!("unseal accepted what unseal_bytes refused: {e:?}"),
    }
    // No key, no plaintext: nothing may open without authenticating.
    assert!(unseal_bytes(payload, &[]).is_err());
}

fn stream_under_our_key(compressed: &[u8], keys: &[DecryptionKey]) {
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&KEY));
    let nonce = [0x24; 12];
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), compressed)
        .expect("in-memory encryption");
    let payload = STANDARD.encode([&SEALED_HEADER[..], &nonce, &sealed].concat());
    let unsealed = unseal(&payload, keys);
    // A reference inflate in one call with room for one byte past the cap: whatever the
    // unsealer's stepwise loop decides must match it.
    let mut reference = Decompress::new(false);
    // Reused across runs: a fresh quarter-megabyte buffer each time would cost more than the
    // code under test.
    let mut out = REFERENCE_OUT.take();
    out.clear();
    out.reserve_exact(MAX_PLAINTEXT_LEN + 1);
    let status = reference.decompress_vec(compressed, &mut out, FlushDecompress::Finish);
    let whole = matches!(status, Ok(Status::StreamEnd))
        && usize::try_from(reference.total_in()).ok() == Some(compressed.len());
    let too_large = out.len() > MAX_PLAINTEXT_LEN;
    match &unsealed {
        Err(UnsealError::PlaintextTooLarge) => {
            assert!(too_large, "refused as too large at {} bytes", out.len())
        }
        Err(UnsealError::Decompression) => assert!(
            !whole || too_large,
            "refused a complete stream of {} bytes",
            out.len()
        ),
        // Inflated: the plaintext is the reference's, and it means what the same JSON means.
        Ok(_) | Err(UnsealError::InvalidJson(_) | UnsealError::Parse(_)) => {
            assert!(
                whole && !too_large,
                "accepted a stream the reference refuses: {status:?}"
            );
            agrees_with_parsing(&out, &unsealed);
        }
        Err(other) => panic!("a payload sealed with a configured key failed with {other:?}"),
    }
    REFERENCE_OUT.set(out);
}

thread_local! {
    static REFERENCE_OUT: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

fn round_trip(plaintext: &[u8], keys: &[DecryptionKey]) {
    let payload = seal(plaintext, &DecryptionKey::from_bytes(KEY));
    let opened = unseal_bytes(&payload, keys).expect("what seal produced opens");
    assert_eq!(opened, plaintext);
    agrees_with_parsing(plaintext, &unseal(&payload, keys));
}

/// A sealed event means exactly what the same JSON fetched from the Server API would.
fn agrees_with_parsing(plaintext: &[u8], unsealed: &Result<Event, UnsealError>) {
    let parsed = Event::from_json(plaintext);
    match (unsealed, &parsed) {
        (Ok(event), Ok(same)) => {
            assert_eq!(event, same);
            assert_event_bounded(event);
            assert_replays_the_same(event);
        }
        (Err(UnsealError::InvalidJson(_) | UnsealError::Parse(_)), Err(_)) => {}
        _ => panic!("unseal gave {unsealed:?}, parsing the plaintext gave {parsed:?}"),
    }
}
