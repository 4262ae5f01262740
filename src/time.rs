//! Time formatting shared by the API and the CLI.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Milliseconds since the epoch as RFC 3339 (UTC, millisecond precision).
pub fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Reads an expiry: an RFC 3339 time, or a duration from now like `30d`, `12h`, `30m`.
pub fn parse_expiry(value: &str, now_ms: i64) -> Option<i64> {
    let value = value.trim();
    if let Ok(t) = OffsetDateTime::parse(value, &Rfc3339) {
        return i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok();
    }
    // An age counted back from now, mirrored forward.
    let ago = parse_since(value, now_ms).ok()?;
    now_ms.checked_add(now_ms.checked_sub(ago)?)
}

/// Reads a `since` value: an RFC 3339 time, or an age like `7d`, `12h`, `30m`, `45s`. The
/// message names no parameter: the CLI and the API each say which of theirs it was.
pub fn parse_since(value: &str, now_ms: i64) -> Result<i64, String> {
    let value = value.trim();
    if let Ok(t) = OffsetDateTime::parse(value, &Rfc3339) {
        return Ok((t.unix_timestamp_nanos() / 1_000_000) as i64);
    }
    let expected = || format!("expected RFC 3339 or an age like 7d, got {value:?}");
    let split = value.char_indices().last().map(|(i, _)| i).unwrap_or(0);
    let (number, unit) = value.split_at(split);
    let n: i64 = number
        .parse()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(expected)?;
    let unit_ms: i64 = match unit {
        "d" => 86_400_000,
        "h" => 3_600_000,
        "m" => 60_000,
        "s" => 1_000,
        _ => return Err(format!("unknown unit in {value:?} (use d, h, m or s)")),
    };
    n.checked_mul(unit_ms)
        .map(|age| now_ms - age)
        .ok_or_else(expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries_are_times_or_durations_ahead() {
        assert_eq!(parse_expiry("30d", 1_000), Some(1_000 + 30 * 86_400_000));
        assert_eq!(parse_expiry("1970-01-01T00:00:02Z", 0), Some(2_000));
        assert_eq!(parse_expiry("soon", 0), None);
    }

    #[test]
    fn formats_and_parses_times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_708_102_555_327), "2024-02-16T16:55:55.327Z");
        assert_eq!(
            parse_since("2024-02-16T16:55:55.327Z", 0),
            Ok(1_708_102_555_327)
        );
        assert_eq!(
            parse_since("2d", 200_000_000),
            Ok(200_000_000 - 172_800_000)
        );
        assert_eq!(parse_since("30m", 1_800_000), Ok(0));
        assert!(parse_since("soon", 0).is_err());
        assert!(parse_since("3w", 0).is_err());
        assert!(
            parse_since("3é", 0).is_err(),
            "a multi-byte unit must not panic"
        );
        assert!(parse_since("-2d", 0).is_err());
        assert!(parse_since("99999999999999999d", 0).is_err());
    }
}
