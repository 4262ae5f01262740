//! Webhook signatures: proof that a webhook body came from Fingerprint.
//!
//! Fingerprint sends the header `fpjs-event-signature` (the docs spell it
//! `FPJS-Event-Signature`; header names are case-insensitive) holding a comma-separated list
//! of `<version>=<signature>` entries, for example:
//!
//! ```text
//! v1=1b2c16b75bd2a870c114153ccda5bcfca63314bc722fa160d690de133ccbb9db,v1=...
//! ```
//!
//! A `v1` signature is the lowercase hex of HMAC-SHA256 over the raw request body, keyed with
//! the webhook secret's UTF-8 bytes. Several entries appear while a secret is being rotated;
//! the body is authentic if any `v1` entry matches. Versions this crate does not know are
//! skipped, so a future `v2` next to a `v1` keeps verifying.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The name of the header that carries the signatures, in the lowercase form HTTP/2 uses.
pub const SIGNATURE_HEADER: &str = "fpjs-event-signature";

/// The longest header [`verify_signature`] looks at. A `v1` entry is 67 bytes; anything far
/// beyond a handful of entries is not from Fingerprint, and refusing it bounds the work an
/// unauthenticated sender can cause.
pub const MAX_HEADER_LEN: usize = 4096;

type HmacSha256 = Hmac<Sha256>;

/// Whether `header` holds a `v1` signature of `body` under `secret`.
///
/// Returns `false`, never an error, for anything that does not verify: a missing or malformed
/// header, an oversize header, unknown versions only, or an empty secret (an empty key would
/// let anyone sign). Signatures are compared in constant time.
pub fn verify_signature(header: &str, body: &[u8], secret: &[u8]) -> bool {
    if secret.is_empty() || header.len() > MAX_HEADER_LEN {
        return false;
    }
    let expected = hmac_sha256(body, secret);
    let mut verified = false;
    for entry in header.split(',') {
        let Some((version, signature)) = entry.split_once('=') else {
            continue;
        };
        if version.trim() != "v1" {
            continue;
        }
        let mut candidate = [0u8; 32];
        if hex::decode_to_slice(signature.trim(), &mut candidate).is_err() {
            continue;
        }
        // No early exit: the time taken does not depend on which entry matched.
        verified |= bool::from(candidate.ct_eq(&expected));
    }
    verified
}

/// Signs `body` the way Fingerprint does, returning a header value `v1=<lowercase hex>`.
/// For tests and the simulator.
pub fn sign(body: &[u8], secret: &[u8]) -> String {
    format!("v1={}", hex::encode(hmac_sha256(body, secret)))
}

fn hmac_sha256(body: &[u8], secret: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"event_id":"1730000000000.abcDEF","visitor_id":"testVisitor0001"}"#;
    const SECRET: &[u8] = b"whsec-test-only";

    #[test]
    fn sign_then_verify() {
        let header = sign(BODY, SECRET);
        assert!(header.starts_with("v1="));
        assert_eq!(header.len(), 3 + 64);
        assert!(verify_signature(&header, BODY, SECRET));
        // Uppercase hex and surrounding whitespace still verify.
        let upper = format!("  v1 = {} ", header[3..].to_uppercase());
        assert!(verify_signature(&upper, BODY, SECRET));
    }

    #[test]
    fn tampered_body_or_wrong_secret_fails() {
        let header = sign(BODY, SECRET);
        let mut tampered = BODY.to_vec();
        tampered[5] ^= 1;
        assert!(!verify_signature(&header, &tampered, SECRET));
        assert!(!verify_signature(&header, BODY, b"another-secret"));
        assert!(!verify_signature(&header, BODY, b""));
        assert!(!verify_signature(&sign(BODY, b""), BODY, b""));
    }

    #[test]
    fn any_v1_entry_may_match() {
        let good = sign(BODY, SECRET);
        let stale = sign(BODY, b"rotated-out");
        assert!(verify_signature(&format!("{stale},{good}"), BODY, SECRET));
        assert!(verify_signature(&format!("{good}, {stale}"), BODY, SECRET));
        assert!(verify_signature(
            &format!("v2=abc, {good}, junk"),
            BODY,
            SECRET
        ));
        assert!(!verify_signature(&format!("{stale},v1=zz"), BODY, SECRET));
        // The right hash under another version name does not count.
        let v2 = good.replacen("v1=", "v2=", 1);
        assert!(!verify_signature(&v2, BODY, SECRET));
    }

    #[test]
    fn garbage_headers_fail() {
        let good = sign(BODY, SECRET);
        let hash = &good[3..];
        for header in [
            "",
            ",",
            "=",
            "v1=",
            "v1",
            "invalid",
            hash,
            "v1=0123",
            "v1=\u{e9}\u{e9}",
            &format!("v1={hash}00"),
            &format!("v1={}", &hash[..62]),
            &format!("v1=={hash}"),
            &format!("v1={hash}=x"),
        ] {
            assert!(!verify_signature(header, BODY, SECRET), "{header:?}");
        }
    }

    #[test]
    fn oversize_header_is_refused() {
        let good = sign(BODY, SECRET);
        let padded = format!("{}{good}", "v2=x,".repeat(MAX_HEADER_LEN / 5));
        assert!(padded.len() > MAX_HEADER_LEN);
        assert!(!verify_signature(&padded, BODY, SECRET));
        let fits = format!("{}{good}", "v2=x,".repeat(10));
        assert!(verify_signature(&fits, BODY, SECRET));
    }
}
