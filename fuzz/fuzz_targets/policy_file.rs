//! The policy file: operator-written TOML, read at startup and by `explain` and `backtest`.
//! A typo must come back as an error that points at the line, never as a panic or as a
//! policy that differs from what was written.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signup_guard::policy::{parse_str, ConfigError, ConfigFile};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    // The loader reads the file as UTF-8 text and refuses anything else before parsing.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("policy.toml");
    match parse_str(text, path) {
        Ok(policy) => {
            policy.validate().expect("a loaded policy is valid");
            let hash = policy.hash();
            assert!(hash.len() == 12 && hash.bytes().all(|b| b.is_ascii_hexdigit()));
            // Written back out, the policy reads as itself: no value was read loosely or dropped.
            let written = toml::to_string(&ConfigFile {
                policy: policy.clone(),
            })
            .expect("a policy writes as TOML");
            let again = parse_str(&written, path).expect("a written policy reads back");
            assert_eq!(again, policy, "written as:\n{written}");
            assert_eq!(again.hash(), hash);
        }
        Err(error) => {
            let message = error.to_string();
            assert!(message.starts_with("policy.toml"), "{message}");
            if let ConfigError::Parse {
                line: Some(line), ..
            } = error
            {
                assert!(
                    line >= 1 && line <= text.matches('\n').count() + 1,
                    "line {line}"
                );
            }
        }
    }
});
