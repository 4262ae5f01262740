use rand::distributions::{Alphanumeric, DistString};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, the unit every Fingerprint timestamp uses.
pub(crate) fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// An event id shaped like Fingerprint's: `<ms timestamp>.<6 alphanumerics>`, so a client's
/// id validation sees what it will see in production.
pub(crate) fn event_id(timestamp_ms: i64) -> String {
    format!(
        "{timestamp_ms}.{}",
        Alphanumeric.sample_string(&mut rand::thread_rng(), 6)
    )
}

/// A visitor id shaped like Fingerprint's: 20 alphanumerics.
pub(crate) fn visitor_id() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), 20)
}
