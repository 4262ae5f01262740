//! The `fpjs-event-signature` header: the only thing standing between an unauthenticated
//! sender and the webhook store.
//!
//! Input: `secret \n header \n body`. In the header, `{sig}` and `{SIG}` are replaced with the
//! body's real `v1` signature in lower and upper case, so the fuzzer explores headers that
//! should verify as well as ones that should not (it could never guess an HMAC).
#![no_main]

use fingerprint::webhook::{sign, verify_signature, MAX_HEADER_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == b'\n');
    let secret = parts.next().unwrap_or_default();
    let template = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let body = parts.next().unwrap_or_default();

    let hex = sign(body, secret)["v1=".len()..].to_owned();
    let header = template
        .replace("{sig}", &hex)
        .replace("{SIG}", &hex.to_uppercase());
    let verified = verify_signature(&header, body, secret);
    assert_eq!(
        verified,
        well_formed_match(&header, &hex, secret),
        "header {header:?} with a {}-byte secret",
        secret.len()
    );

    // What `sign` writes always verifies, alone or next to other entries; nothing verifies
    // under an empty secret, which would let anyone sign.
    let signed = sign(body, secret);
    assert_eq!(verify_signature(&signed, body, secret), !secret.is_empty());
    if header.len() + signed.len() < MAX_HEADER_LEN {
        let rotated = format!("{header},{signed}");
        assert_eq!(verify_signature(&rotated, body, secret), !secret.is_empty());
    }
});

/// The header format from the outside: a comma-separated list in which some entry is
/// `v1=<the 64 hex digits of the signature>`, any case, with spaces around either part.
/// "Verified" must imply exactly this, never a looser reading.
fn well_formed_match(header: &str, hex: &str, secret: &[u8]) -> bool {
    !secret.is_empty()
        && header.len() <= MAX_HEADER_LEN
        && header.split(',').any(|entry| {
            entry.split_once('=').is_some_and(|(version, signature)| {
                version.trim() == "v1" && signature.trim().eq_ignore_ascii_case(hex)
            })
        })
}
