//! Sealed Client Results: the identification event, encrypted by Fingerprint for this
//! workspace, delivered through the browser and opened here without a Server API call.
//!
//! # Wire format
//!
//! The payload is standard base64 of:
//!
//! ```text
//! offset  len  field
//! 0       4    header, always 9E 85 DC ED
//! 4       12   AES-GCM nonce
//! 16      n    AES-256-GCM ciphertext (no associated data)
//! 16+n    16   GCM authentication tag
//! ```
//!
//! The plaintext under the cipher is raw DEFLATE (RFC 1951: no zlib or gzip header) of the
//! event JSON: a Server API v3 body (with a `products` envelope) or a v4 event (with
//! `event_id`), depending on the agent that produced it.
//!
//! Keys rotate: the dashboard can hold several at once, so [`unseal`] tries each key in the
//! order given and the first one whose GCM tag verifies wins.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::event::ParseError;
use crate::Event;

/// The four bytes every sealed payload starts with.
pub const SEALED_HEADER: [u8; 4] = [0x9E, 0x85, 0xDC, 0xED];

/// The most plaintext [`unseal`] will inflate, in bytes: the same bound as any event document
/// ([`crate::event::MAX_EVENT_BYTES`]). A real event is a few KiB; the cap stops a small payload
/// that inflates without bound (a deflate bomb) from exhausting memory.
pub const MAX_PLAINTEXT_LEN: usize = crate::event::MAX_EVENT_BYTES;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const KEY_LEN: usize = 32;
/// Header, nonce and tag: a payload shorter than this cannot hold even an empty ciphertext.
const MIN_SEALED_LEN: usize = SEALED_HEADER.len() + NONCE_LEN + TAG_LEN;

/// Standard alphabet, but lenient on decode. The dashboard hands out keys whose last symbol
/// carries non-zero trailing bits (other SDKs' decoders ignore them), and people paste keys
/// with or without `=` padding, so both must decode to the same 32 bytes.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a sealed payload or a decryption key was rejected.
///
/// The messages never contain key material or plaintext.
#[derive(Debug, thiserror::Error)]
pub enum UnsealError {
    /// The payload (or a key) is not standard base64.
    #[error("sealed payload is not valid base64")]
    InvalidBase64,
    /// The payload does not start with the sealed-result header `9E 85 DC ED`.
    #[error("sealed payload has an invalid header")]
    InvalidHeader,
    /// The header is right but the payload is too short to hold a nonce and a tag.
    #[error("sealed payload is too short to hold a nonce and an authentication tag")]
    TooShort,
    /// No key in the list authenticated the payload: wrong keys, an empty key list, or a
    /// tampered payload.
    #[error("sealed payload could not be decrypted with any of the configured keys")]
    DecryptionFailed,
    /// The payload decrypted, but the plaintext is not a complete raw DEFLATE stream.
    #[error("decrypted sealed payload is not a valid raw DEFLATE stream")]
    Decompression,
    /// The plaintext inflates past [`MAX_PLAINTEXT_LEN`].
    #[error("decrypted sealed payload inflates past the {MAX_PLAINTEXT_LEN}-byte limit")]
    PlaintextTooLarge,
    /// The plaintext is not JSON.
    #[error("unsealed payload is not valid JSON: {0}")]
    InvalidJson(#[source] serde_json::Error),
    /// The plaintext is JSON but not an identification event (neither v3 nor v4).
    #[error("unsealed payload is not an identification event: {0}")]
    Parse(#[source] ParseError),
    /// A decryption key is not base64 of exactly 32 bytes, or a key list holds no key.
    #[error("invalid decryption key: expected base64 of exactly 32 bytes")]
    InvalidKey,
}

/// An AES-256 key for Sealed Client Results, as shown in the Fingerprint dashboard.
///
/// Its `Debug` output never shows the key bytes, and equality is checked in constant time.
#[derive(Clone)]
pub struct DecryptionKey([u8; KEY_LEN]);

impl DecryptionKey {
    /// Wraps 32 raw key bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// Decodes a key from standard base64, accepting missing padding and non-canonical
    /// trailing bits (as the dashboard's keys may have). Surrounding whitespace is ignored.
    pub fn from_base64(encoded: &str) -> Result<Self, UnsealError> {
        let bytes = LENIENT_BASE64
            .decode(encoded.trim())
            .map_err(|_| UnsealError::InvalidKey)?;
        let bytes: [u8; KEY_LEN] = bytes.try_into().map_err(|_| UnsealError::InvalidKey)?;
        Ok(Self(bytes))
    }

    /// Parses a comma-separated list of base64 keys, in rotation order (the first is tried
    /// first). Whitespace around entries and empty entries are ignored; a list that holds no
    /// key at all is an error, since it could never unseal anything.
    pub fn parse_list(list: &str) -> Result<Vec<Self>, UnsealError> {
        let keys = list
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(Self::from_base64)
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(UnsealError::InvalidKey);
        }
        Ok(keys)
    }

    /// A fresh random key, for the simulator and tests that seal their own payloads.
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_LEN];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The key in canonical standard base64, the form [`DecryptionKey::from_base64`] and the
    /// dashboard use. This exposes the secret: only for configuring a peer such as the simulator.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.0))
    }
}

impl fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DecryptionKey(<redacted>)")
    }
}

impl PartialEq for DecryptionKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for DecryptionKey {}

/// Decrypts a sealed result with the first key that authenticates it, and parses the event.
///
/// Both generations are accepted: a v3 body (`products` envelope) or a v4 event
/// (`event_id`), told apart as by [`Event::from_json`]; a v4 event is read as sparsely as by
/// [`Event::from_v4_json`].
pub fn unseal(payload_base64: &str, keys: &[DecryptionKey]) -> Result<Event, UnsealError> {
    let plaintext = unseal_bytes(payload_base64, keys)?;
    if let Some(v4) = Event::from_v4_document(&plaintext) {
        return v4.map_err(UnsealError::Parse);
    }
    let value: serde_json::Value =
        serde_json::from_slice(&plaintext).map_err(UnsealError::InvalidJson)?;
    Event::from_value_and_raw(value, crate::RawJson::from_bytes(&plaintext))
        .map_err(UnsealError::Parse)
}

/// Decrypts and inflates a sealed result, returning the plaintext JSON bytes unparsed.
///
/// Keys are tried in order. Once a key's GCM tag verifies, that key is known to be the one
/// the payload was sealed with, so a DEFLATE failure after it is final
/// ([`UnsealError::Decompression`]) rather than a reason to try the next key.
pub fn unseal_bytes(payload_base64: &str, keys: &[DecryptionKey]) -> Result<Vec<u8>, UnsealError> {
    let sealed = LENIENT_BASE64
        .decode(payload_base64.trim())
        .map_err(|_| UnsealError::InvalidBase64)?;
    // The header is checked before the length so that empty or foreign data reads as "not a
    // sealed result" rather than "a damaged one".
    if sealed.get(..SEALED_HEADER.len()) != Some(&SEALED_HEADER[..]) {
        return Err(UnsealError::InvalidHeader);
    }
    if sealed.len() < MIN_SEALED_LEN {
        return Err(UnsealError::TooShort);
    }
    let (nonce, ciphertext_and_tag) = sealed[SEALED_HEADER.len()..].split_at(NONCE_LEN);
    let nonce = Nonce::from_slice(nonce);
    for key in keys {
        if let Ok(compressed) = key.cipher().decrypt(nonce, ciphertext_and_tag) {
            return inflate_raw(&compressed);
        }
    }
    Err(UnsealError::DecryptionFailed)
}

/// Seals plaintext JSON the way Fingerprint does, with a fresh random nonce: the inverse of
/// [`unseal_bytes`]. For the simulator and tests; production payloads come from Fingerprint.
pub fn seal(plaintext_json: &[u8], key: &DecryptionKey) -> String {
    let compressed = deflate_raw(plaintext_json);
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let ciphertext_and_tag = key
        .cipher()
        .encrypt(Nonce::from_slice(&nonce), compressed.as_slice())
        // aes-gcm only refuses plaintexts beyond 2^36 bytes, which a slice in memory is not.
        .expect("AES-GCM encryption of an in-memory buffer cannot fail");
    let mut sealed = Vec::with_capacity(SEALED_HEADER.len() + NONCE_LEN + ciphertext_and_tag.len());
    sealed.extend_from_slice(&SEALED_HEADER);
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(&ciphertext_and_tag);
    STANDARD.encode(sealed)
}

/// Inflates a raw DEFLATE stream, demanding that it be complete and fill the input exactly.
///
/// Being strict matters: data that was never compressed can get partway through an inflater
/// before it trips, and a lenient reader would hand back garbage instead of an error. The
/// output is grown in steps up to one byte past the cap, so a stream that ends exactly at the
/// cap is accepted and one that goes beyond it is caught without inflating the rest.
fn inflate_raw(input: &[u8]) -> Result<Vec<u8>, UnsealError> {
    let mut inflater = Decompress::new(false);
    let mut out = Vec::with_capacity(input.len().saturating_mul(4).clamp(1024, MAX_PLAINTEXT_LEN));
    loop {
        if out.len() == out.capacity() {
            if out.len() > MAX_PLAINTEXT_LEN {
                return Err(UnsealError::PlaintextTooLarge);
            }
            let grow = out.len().max(1024).min(MAX_PLAINTEXT_LEN + 1 - out.len());
            out.reserve_exact(grow);
        }
        let consumed = total_as_usize(inflater.total_in());
        let produced = out.len();
        let status = inflater
            .decompress_vec(&input[consumed..], &mut out, FlushDecompress::None)
            .map_err(|_| UnsealError::Decompression)?;
        if out.len() > MAX_PLAINTEXT_LEN {
            return Err(UnsealError::PlaintextTooLarge);
        }
        match status {
            Status::StreamEnd => break,
            Status::Ok | Status::BufError => {
                let stalled = total_as_usize(inflater.total_in()) == consumed
                    && out.len() == produced
                    && out.len() < out.capacity();
                if stalled {
                    // Room to write and nothing consumed: the input ended mid-stream.
                    return Err(UnsealError::Decompression);
                }
            }
        }
    }
    if total_as_usize(inflater.total_in()) != input.len() {
        // Bytes after the final block: not what Fingerprint produces.
        return Err(UnsealError::Decompression);
    }
    Ok(out)
}

fn deflate_raw(input: &[u8]) -> Vec<u8> {
    let mut deflater = Compress::new(Compression::default(), false);
    // Stored blocks bound the worst case at a few bytes per 64 KiB on top of the input.
    let mut out = Vec::with_capacity(input.len() + input.len() / 1000 + 64);
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(64));
        }
        let consumed = total_as_usize(deflater.total_in());
        let status = deflater
            .compress_vec(&input[consumed..], &mut out, FlushCompress::Finish)
            .expect("raw DEFLATE compression into a growable buffer cannot fail");
        if status == Status::StreamEnd {
            return out;
        }
    }
}

fn total_as_usize(total: u64) -> usize {
    // Totals never exceed the length of an in-memory slice.
    usize::try_from(total).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &[u8] = br#"{"event_id":"1730000000000.abcDEF","timestamp":1730000000000,"identification":{"visitor_id":"testVisitor0001"}}"#;

    fn seal_raw(compressed: &[u8], key: &DecryptionKey) -> String {
        let nonce = [7u8; NONCE_LEN];
        let ct = key
            .cipher()
            .encrypt(Nonce::from_slice(&nonce), compressed)
            .unwrap();
        let mut sealed = SEALED_HEADER.to_vec();
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ct);
        STANDARD.encode(sealed)
    }

    #[test]
    fn round_trip_with_generated_key() {
        let key = DecryptionKey::generate();
        let payload = seal(EVENT, &key);
        assert_eq!(
            unseal_bytes(&payload, std::slice::from_ref(&key)).unwrap(),
            EVENT
        );
        // A fresh nonce each time: two seals of the same plaintext differ.
        assert_ne!(payload, seal(EVENT, &key));
    }

    #[test]
    fn round_trip_empty_and_large_plaintext() {
        let key = DecryptionKey::generate();
        assert_eq!(
            unseal_bytes(&seal(b"", &key), std::slice::from_ref(&key)).unwrap(),
            b""
        );
        let big: Vec<u8> = (0..60_000u32).flat_map(|i| i.to_le_bytes()).collect();
        assert_eq!(
            unseal_bytes(&seal(&big, &key), std::slice::from_ref(&key)).unwrap(),
            big
        );
    }

    #[test]
    fn rotation_tries_keys_in_order() {
        let old = DecryptionKey::generate();
        let new = DecryptionKey::generate();
        let payload = seal(EVENT, &new);
        assert_eq!(
            unseal_bytes(&payload, &[old.clone(), new.clone()]).unwrap(),
            EVENT
        );
        assert_eq!(unseal_bytes(&payload, &[new, old]).unwrap(), EVENT);
    }

    #[test]
    fn wrong_key_only_fails_decryption() {
        let payload = seal(EVENT, &DecryptionKey::generate());
        let err = unseal_bytes(&payload, &[DecryptionKey::generate()]).unwrap_err();
        assert!(matches!(err, UnsealError::DecryptionFailed), "{err:?}");
        let err = unseal_bytes(&payload, &[]).unwrap_err();
        assert!(matches!(err, UnsealError::DecryptionFailed), "{err:?}");
    }

    #[test]
    fn tampered_ciphertext_fails_decryption() {
        let key = DecryptionKey::generate();
        let mut raw = STANDARD.decode(seal(EVENT, &key)).unwrap();
        raw[MIN_SEALED_LEN - TAG_LEN] ^= 1;
        let err = unseal_bytes(&STANDARD.encode(raw), &[key]).unwrap_err();
        assert!(matches!(err, UnsealError::DecryptionFailed), "{err:?}");
    }

    #[test]
    fn bad_header() {
        let key = DecryptionKey::generate();
        let mut raw = STANDARD.decode(seal(EVENT, &key)).unwrap();
        raw[3] = 0xEE;
        let err = unseal_bytes(&STANDARD.encode(&raw), std::slice::from_ref(&key)).unwrap_err();
        assert!(matches!(err, UnsealError::InvalidHeader), "{err:?}");
        for short in ["", "ng==", "noXc"] {
            let err = unseal_bytes(short, std::slice::from_ref(&key)).unwrap_err();
            assert!(
                matches!(err, UnsealError::InvalidHeader),
                "{short:?}: {err:?}"
            );
        }
    }

    #[test]
    fn truncated_payloads() {
        let key = DecryptionKey::generate();
        let raw = STANDARD.decode(seal(EVENT, &key)).unwrap();
        for len in SEALED_HEADER.len()..MIN_SEALED_LEN {
            let err = unseal_bytes(&STANDARD.encode(&raw[..len]), std::slice::from_ref(&key))
                .unwrap_err();
            assert!(matches!(err, UnsealError::TooShort), "len {len}: {err:?}");
        }
        // Long enough to parse, but the tag no longer matches.
        for len in MIN_SEALED_LEN..raw.len() {
            let err = unseal_bytes(&STANDARD.encode(&raw[..len]), std::slice::from_ref(&key))
                .unwrap_err();
            assert!(
                matches!(err, UnsealError::DecryptionFailed),
                "len {len}: {err:?}"
            );
        }
    }

    #[test]
    fn not_base64() {
        let key = DecryptionKey::generate();
        for input in ["not base64!", "noXc7*==", "====", "\u{fffd}"] {
            let err = unseal_bytes(input, std::slice::from_ref(&key)).unwrap_err();
            assert!(
                matches!(err, UnsealError::InvalidBase64),
                "{input:?}: {err:?}"
            );
        }
    }

    #[test]
    fn deflate_bomb_is_capped() {
        let key = DecryptionKey::generate();
        let at_limit = vec![b' '; MAX_PLAINTEXT_LEN];
        assert_eq!(
            unseal_bytes(&seal(&at_limit, &key), std::slice::from_ref(&key))
                .unwrap()
                .len(),
            MAX_PLAINTEXT_LEN
        );
        // 64 times the limit in spaces compresses to about a thousandth of that.
        let bomb = deflate_raw(&vec![b' '; 64 * MAX_PLAINTEXT_LEN]);
        let err = unseal_bytes(&seal_raw(&bomb, &key), std::slice::from_ref(&key)).unwrap_err();
        assert!(matches!(err, UnsealError::PlaintextTooLarge), "{err:?}");
        assert!(
            err.to_string().contains(&MAX_PLAINTEXT_LEN.to_string()),
            "{err}"
        );
        let one_over = deflate_raw(&vec![b' '; MAX_PLAINTEXT_LEN + 1]);
        let err = unseal_bytes(&seal_raw(&one_over, &key), &[key]).unwrap_err();
        assert!(matches!(err, UnsealError::PlaintextTooLarge), "{err:?}");
    }

    #[test]
    fn uncompressed_truncated_and_trailing_deflate_fail() {
        let key = DecryptionKey::generate();
        let err = unseal_bytes(&seal_raw(EVENT, &key), std::slice::from_ref(&key)).unwrap_err();
        assert!(matches!(err, UnsealError::Decompression), "{err:?}");

        let compressed = deflate_raw(EVENT);
        let truncated = &compressed[..compressed.len() - 2];
        let err = unseal_bytes(&seal_raw(truncated, &key), std::slice::from_ref(&key)).unwrap_err();
        assert!(matches!(err, UnsealError::Decompression), "{err:?}");

        let mut trailing = compressed.clone();
        trailing.extend_from_slice(b"junk");
        let err = unseal_bytes(&seal_raw(&trailing, &key), std::slice::from_ref(&key)).unwrap_err();
        assert!(matches!(err, UnsealError::Decompression), "{err:?}");

        // A zlib-wrapped stream (header 78 9C) is not raw DEFLATE.
        let mut zlib = vec![0x78, 0x9C];
        zlib.extend_from_slice(&compressed);
        let err = unseal_bytes(&seal_raw(&zlib, &key), &[key]).unwrap_err();
        assert!(matches!(err, UnsealError::Decompression), "{err:?}");
    }

    #[test]
    fn a_sealed_event_reads_as_the_whole_document_parse_reads_it_in_either_generation() {
        let key = DecryptionKey::generate();
        let documents: [&[u8]; 4] = [
            EVENT,
            br#"{"event_id":"e1","identification":{"visitor_id":"v1"},"ip_info":{"v4":{"asn":"7"}}}"#,
            br#"{"requestId":"r1","visitorId":"v1","bot":{"result":"bad"}}"#,
            br#"{"products":{"identification":{"data":{"requestId":"r1","visitorId":"v1"}}}}"#,
        ];
        for document in documents {
            let unsealed = unseal(&seal(document, &key), std::slice::from_ref(&key)).unwrap();
            assert_eq!(unsealed, Event::from_json(document).unwrap());
        }
    }

    #[test]
    fn unseal_reports_json_errors() {
        let key = DecryptionKey::generate();
        let err = unseal(&seal(b"{\"event_id\":", &key), std::slice::from_ref(&key)).unwrap_err();
        assert!(matches!(err, UnsealError::InvalidJson(_)), "{err:?}");
        let err = unseal(&seal(b"[1,2,3]", &key), &[key]).unwrap_err();
        assert!(matches!(err, UnsealError::Parse(_)), "{err:?}");
    }

    #[test]
    fn never_panics_on_arbitrary_bytes() {
        let key = DecryptionKey::generate();
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for len in 0..300 {
            let mut raw: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            if len >= 4 && len % 2 == 0 {
                raw[..4].copy_from_slice(&SEALED_HEADER);
            }
            assert!(unseal(&STANDARD.encode(&raw), std::slice::from_ref(&key)).is_err());
            let text = String::from_utf8_lossy(&raw);
            assert!(unseal(&text, std::slice::from_ref(&key)).is_err());
        }
    }

    #[test]
    fn key_parsing() {
        let key = DecryptionKey::generate();
        let b64 = key.to_base64();
        assert_eq!(DecryptionKey::from_base64(&b64).unwrap(), key);
        assert_eq!(
            DecryptionKey::from_base64(b64.trim_end_matches('=')).unwrap(),
            key
        );
        assert_eq!(
            DecryptionKey::from_base64(&format!("  {b64}\n")).unwrap(),
            key
        );
        for bad in ["", "aW52YWxpZA==", "not base64!", &b64[..20]] {
            let err = DecryptionKey::from_base64(bad).unwrap_err();
            assert!(matches!(err, UnsealError::InvalidKey), "{bad:?}: {err:?}");
        }

        let other = DecryptionKey::generate();
        let list = format!(" {b64} ,{},", other.to_base64());
        assert_eq!(DecryptionKey::parse_list(&list).unwrap(), vec![key, other]);
        assert!(matches!(
            DecryptionKey::parse_list(" , "),
            Err(UnsealError::InvalidKey)
        ));
        assert!(matches!(
            DecryptionKey::parse_list(&format!("{b64},short")),
            Err(UnsealError::InvalidKey)
        ));
    }

    #[test]
    fn non_canonical_base64_key_is_accepted() {
        // The last symbol "3" leaves non-zero trailing bits; canonical would end in "0=".
        let lenient = DecryptionKey::from_base64("p2PA7MGy5tx56cnyJaFZMr96BCFwZeHjZV2EqMvTq53=");
        let canonical = DecryptionKey::from_base64("p2PA7MGy5tx56cnyJaFZMr96BCFwZeHjZV2EqMvTq50=");
        assert_eq!(lenient.unwrap(), canonical.unwrap());
    }

    #[test]
    fn debug_hides_key_bytes() {
        let key = DecryptionKey::from_bytes([0xAB; KEY_LEN]);
        let shown = format!("{key:?} {:?}", vec![key.clone()]);
        assert!(!shown.contains("171"), "{shown}");
        assert!(!shown.to_lowercase().contains("ab"), "{shown}");
        assert!(!shown.contains(&key.to_base64()), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
        let err = DecryptionKey::from_base64("aW52YWxpZA==").unwrap_err();
        assert!(!err.to_string().contains("aW52"));
    }
}
