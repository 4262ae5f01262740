//! Web origins (`scheme://host[:port]`), compared after the same normalization a browser
//! applies, so `HTTPS://Example.COM:443/signup` and `https://example.com` are one origin.

use url::Url;

/// The origin of any absolute URL, or `None` when it has no tuple origin (`data:`, garbage).
pub(crate) fn normalize(text: &str) -> Option<String> {
    let url = Url::parse(text.trim()).ok()?;
    let origin = url.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// An origin as an operator writes it in `allowed_origins`: a bare origin, no path or query,
/// because a path there would suggest a precision the check does not have.
pub(crate) fn parse_allowed(text: &str) -> Option<String> {
    let url = Url::parse(text.trim()).ok()?;
    let bare = url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if bare {
        normalize(text)
    } else {
        None
    }
}

/// Whether `origin` (already normalized) is one of the allowed ones.
pub(crate) fn is_allowed(origin: &str, allowed: &[String]) -> bool {
    allowed
        .iter()
        .any(|a| parse_allowed(a).as_deref() == Some(origin))
}
