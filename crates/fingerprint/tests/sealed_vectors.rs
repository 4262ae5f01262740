//! Sealed Client Results interoperability vectors, compiled from Fingerprint's SDK test
//! suites, read in place from the shared fixtures directory (never copied into this repo).
//!
//! The SDKs fold every failure after the header check into "all keys failed". This crate
//! reports the cause more precisely, so each such vector is checked against the precise
//! error listed in [`precise_key_failure`], which must also belong to that family.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use fingerprint::sealed::{self, DecryptionKey, UnsealError};
use serde_json::Value;

mod common;

/// The fixtures, when they include the sealed vectors.
fn fixtures_dir() -> Option<PathBuf> {
    common::fixtures_dir().filter(|dir| dir.join("sealed/sealed-vectors.json").is_file())
}

fn read(dir: &Path, relative: &str) -> Vec<u8> {
    std::fs::read(dir.join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// The error this crate gives for a vector whose SDK outcome is "all keys failed".
fn precise_key_failure(name: &str) -> &'static str {
    match name {
        // Seven bytes: a header and nothing else.
        "v3_bad_nonce" => "TooShort",
        // The valid key authenticates, but the plaintext was never DEFLATE-compressed.
        "v3_not_compressed" | "v4_file_invalid_compression" => "Decompression",
        _ => "DecryptionFailed",
    }
}

fn kind(err: &UnsealError) -> &'static str {
    match err {
        UnsealError::InvalidBase64 => "InvalidBase64",
        UnsealError::InvalidHeader => "InvalidHeader",
        UnsealError::TooShort => "TooShort",
        UnsealError::DecryptionFailed => "DecryptionFailed",
        UnsealError::Decompression => "Decompression",
        UnsealError::PlaintextTooLarge => "PlaintextTooLarge",
        UnsealError::InvalidJson(_) => "InvalidJson",
        UnsealError::Parse(_) => "Parse",
        UnsealError::InvalidKey => "InvalidKey",
    }
}

struct Vectors {
    dir: PathBuf,
    doc: Value,
    keys: HashMap<String, Option<DecryptionKey>>,
}

fn load() -> Option<Vectors> {
    let dir = fixtures_dir()?;
    let doc: Value = serde_json::from_slice(&read(&dir, "sealed/sealed-vectors.json")).unwrap();
    let keys = doc["keys_base64"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, b64)| {
            let key = match DecryptionKey::from_base64(b64.as_str().unwrap()) {
                Ok(key) => Some(key),
                Err(UnsealError::InvalidKey) => None,
                Err(other) => panic!("key {name}: unexpected {other:?}"),
            };
            (name.clone(), key)
        })
        .collect();
    Some(Vectors { dir, doc, keys })
}

impl Vectors {
    fn vectors(&self) -> &[Value] {
        self.doc["vectors"].as_array().unwrap()
    }

    /// The payload, checked against its stand-alone file when the vector names one.
    fn payload(&self, vector: &Value) -> String {
        let inline = vector["sealed_base64"].as_str().unwrap().to_owned();
        if let Some(file) = vector["sealed_base64_file"].as_str() {
            let text = String::from_utf8(read(&self.dir, file)).unwrap();
            assert_eq!(text, inline, "{file} differs from the inline payload");
        }
        inline
    }

    /// The vector's key list, less the keys that are not 32 bytes: this crate refuses those
    /// when the configuration is read, where the SDKs fail on them at unseal time.
    fn keys(&self, vector: &Value) -> Vec<DecryptionKey> {
        vector["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|name| self.keys[name.as_str().unwrap()].clone())
            .collect()
    }
}

#[test]
fn keys_decode_like_the_other_sdks() {
    let Some(v) = load() else { return };
    for (name, hex_key) in v.doc["keys_hex"].as_object().unwrap() {
        let bytes = hex::decode(hex_key.as_str().unwrap()).unwrap();
        match <[u8; 32]>::try_from(bytes.as_slice()) {
            Ok(raw) => assert_eq!(
                v.keys[name].as_ref(),
                Some(&DecryptionKey::from_bytes(raw)),
                "key {name}"
            ),
            Err(_) => assert!(v.keys[name].is_none(), "key {name} should be refused"),
        }
    }
    // The valid key is written non-canonically; it must still decode.
    assert!(v.keys["valid"].is_some());
    let all = v.doc["keys_base64"]["invalid_q54"]
        .as_str()
        .unwrap()
        .to_owned()
        + ","
        + v.doc["keys_base64"]["valid"].as_str().unwrap();
    let list = DecryptionKey::parse_list(&all).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(Some(&list[1]), v.keys["valid"].as_ref());
}

#[test]
fn vectors_layout_matches_the_format() {
    let Some(v) = load() else { return };
    let header = hex::decode(v.doc["format"]["header_hex"].as_str().unwrap()).unwrap();
    assert_eq!(header, sealed::SEALED_HEADER);
    for vector in v.vectors() {
        let name = vector["name"].as_str().unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(v.payload(vector))
            .unwrap();
        assert_eq!(
            raw.len() as u64,
            vector["sealed_len"].as_u64().unwrap(),
            "{name}"
        );
        if let Some(nonce) = vector["nonce_hex"].as_str() {
            assert_eq!(hex::encode(&raw[4..16]), nonce, "{name}");
            assert_eq!(
                hex::encode(&raw[raw.len() - 16..]),
                vector["tag_hex"],
                "{name}"
            );
        }
    }
}

#[test]
fn every_vector_unseals_to_the_expected_outcome() {
    let Some(v) = load() else { return };
    let mut checked = 0;
    for vector in v.vectors() {
        let name = vector["name"].as_str().unwrap();
        let expect = &vector["expect"];
        let payload = v.payload(vector);
        let keys = v.keys(vector);
        let bytes = sealed::unseal_bytes(&payload, &keys);
        match expect["result"].as_str().unwrap() {
            "ok" => {
                let plaintext = bytes.unwrap_or_else(|e| panic!("{name}: {e:?}"));
                check_plaintext(&v, vector, &plaintext);
                if let Some(with) = expect["decrypted_with_key"].as_str() {
                    let only = v.keys[with].clone().unwrap();
                    assert_eq!(sealed::unseal_bytes(&payload, &[only]).unwrap(), plaintext);
                    let others: Vec<_> = keys
                        .iter()
                        .filter(|k| Some(*k) != v.keys[with].as_ref())
                        .cloned()
                        .collect();
                    let err = sealed::unseal_bytes(&payload, &others).unwrap_err();
                    assert_eq!(kind(&err), "DecryptionFailed", "{name}");
                }
            }
            "all_keys_failed" => {
                let err = bytes.expect_err(name);
                assert_eq!(kind(&err), precise_key_failure(name), "{name}: {err}");
                let same = sealed::unseal(&payload, &keys).expect_err(name);
                assert_eq!(kind(&same), kind(&err), "{name}");
            }
            "invalid_header" => {
                let err = bytes.expect_err(name);
                assert_eq!(kind(&err), "InvalidHeader", "{name}: {err}");
                let same = sealed::unseal(&payload, &keys).expect_err(name);
                assert_eq!(kind(&same), "InvalidHeader", "{name}");
            }
            "not_event_response" => {
                // Decrypts and inflates fine; only the event parser may refuse it.
                let plaintext = bytes.unwrap_or_else(|e| panic!("{name}: {e:?}"));
                assert_eq!(plaintext, expect["plaintext"].as_str().unwrap().as_bytes());
                let err = sealed::unseal(&payload, &keys).expect_err(name);
                assert_eq!(kind(&err), "Parse", "{name}: {err}");
            }
            "json_error" => {
                let plaintext = bytes.unwrap_or_else(|e| panic!("{name}: {e:?}"));
                assert!(
                    serde_json::from_slice::<Value>(&plaintext).is_err(),
                    "{name}"
                );
                let err = sealed::unseal(&payload, &keys).expect_err(name);
                assert_eq!(kind(&err), "InvalidJson", "{name}: {err}");
            }
            other => panic!("{name}: unknown expected result {other:?}; teach this test about it"),
        }
        checked += 1;
    }
    eprintln!("{checked} sealed vectors checked");
    assert_eq!(checked, v.vectors().len());
    assert!(
        checked >= 19,
        "expected at least 19 vectors, found {checked}"
    );
}

fn check_plaintext(v: &Vectors, vector: &Value, plaintext: &[u8]) {
    let name = vector["name"].as_str().unwrap();
    let expect = &vector["expect"];
    if let Some(len) = expect["plaintext_len"].as_u64() {
        assert_eq!(plaintext.len() as u64, len, "{name}");
    }
    if let Some(file) = vector["expected_plaintext_file"].as_str() {
        assert!(
            plaintext == read(&v.dir, file).as_slice(),
            "{name}: bytes differ from {file}"
        );
    }
    let json: Value = serde_json::from_slice(plaintext).unwrap();
    if let Some(field) = expect["json_top_level"].as_str() {
        assert!(json.get(field).is_some(), "{name}: no top-level {field}");
    }
    if let Some(file) = expect["expected_json_file"].as_str() {
        // "path (semantic JSON equality)": the path is the first word.
        let file = file.split_whitespace().next().unwrap();
        let expected: Value = serde_json::from_slice(&read(&v.dir, file)).unwrap();
        assert_eq!(json, expected, "{name}: JSON differs from {file}");
    }
}

/// The event parser is written separately; this checks that every vector that unseals also
/// parses into an event carrying its id.
#[test]
fn ok_vectors_parse_into_events() {
    let Some(v) = load() else { return };
    for vector in v.vectors() {
        if vector["expect"]["result"] != "ok" {
            continue;
        }
        let name = vector["name"].as_str().unwrap();
        let payload = v.payload(vector);
        let plaintext = sealed::unseal_bytes(&payload, &v.keys(vector)).unwrap();
        let json: Value = serde_json::from_slice(&plaintext).unwrap();
        let id = json["event_id"]
            .as_str()
            .or_else(|| json["products"]["identification"]["data"]["requestId"].as_str())
            .unwrap_or_else(|| panic!("{name}: no event id in plaintext"));
        let event =
            sealed::unseal(&payload, &v.keys(vector)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(event.event_id, id, "{name}");
    }
}
