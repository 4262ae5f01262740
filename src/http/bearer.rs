//! Bearer tokens, read from `Authorization` and compared in constant time.

use axum::http::{header, HeaderMap};
use fingerprint::SecretKey;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// The bearer token the request carries, or "" when it carries none.
pub fn given(headers: &HeaderMap) -> &str {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .unwrap_or_default()
}

/// Whether `given` is one of `tokens`. Hashing first makes each comparison constant-time in the
/// length too, and every token is compared, so the time does not tell which one matched.
pub fn is_one_of(given: &str, tokens: &[SecretKey]) -> bool {
    let given = Sha256::digest(given.as_bytes());
    let mut matched = Choice::from(0);
    for token in tokens {
        matched |= given.ct_eq(&Sha256::digest(token.expose().as_bytes()));
    }
    bool::from(matched) && !tokens.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_listed_token_matches() {
        let tokens = [
            SecretKey::new("a".repeat(16)),
            SecretKey::new("b".repeat(16)),
        ];
        assert!(is_one_of(&"b".repeat(16), &tokens));
        assert!(is_one_of(&"a".repeat(16), &tokens));
        assert!(!is_one_of(&"c".repeat(16), &tokens));
        assert!(!is_one_of("", &tokens));
        assert!(!is_one_of("", &[]));
    }

    #[test]
    fn the_scheme_is_case_insensitive_and_others_are_ignored() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "bEaReR  tok ".parse().unwrap());
        assert_eq!(given(&headers), "tok");
        headers.insert(header::AUTHORIZATION, "Basic tok".parse().unwrap());
        assert_eq!(given(&headers), "");
    }
}
