//! Admin authentication: a bearer token compared in constant time.

use super::{ApiError, AppState};
use axum::http::{header, HeaderMap};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Lets the request through when it carries the admin token. Without a configured token the admin
/// endpoints do not exist (404), except in demo mode, where they are open.
pub fn require_admin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = &state.admin_token else {
        return if state.demo.is_some() {
            Ok(())
        } else {
            Err(ApiError::NotFound)
        };
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token)
        .unwrap_or_default();
    // Hashing first makes the comparison constant-time in the length too.
    let matches: bool = Sha256::digest(given.trim().as_bytes())
        .ct_eq(&Sha256::digest(expected.expose().as_bytes()))
        .into();
    if matches {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}
