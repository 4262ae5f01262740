//! Small readers over `serde_json::Value` shared by the v3 and v4 parsers.
//!
//! Two kinds of reader live here, because the parsers follow one rule about types:
//!
//! - Lenient readers (`bool_at`, `str_at`, ...) return `None` for a missing field *and* for a
//!   field of an unexpected type. Smart Signals are advisory and Fingerprint reshapes them over
//!   time; one odd signal must not cost the caller the whole event.
//! - Strict readers (`strict_str_at`, `strict_i64_at`) are used only for the identity fields an
//!   event is keyed and joined on: event id, visitor id, linked id and timestamp. A wrong type
//!   there means the document is not the event we think it is, and reading it as "absent" would
//!   quietly turn, say, a linked event into an unlinked one. So they fail the parse instead.
//!
//! In both kinds `null` counts as absent, as the API uses it for "no value".

use super::{ParseError, Velocity, VelocityIntervals};
use serde_json::Value;

/// Follows `path` through nested objects.
pub(super) fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

pub(super) fn bool_at(value: &Value, path: &[&str]) -> Option<bool> {
    at(value, path)?.as_bool()
}

pub(super) fn str_at(value: &Value, path: &[&str]) -> Option<String> {
    at(value, path)?.as_str().map(str::to_owned)
}

pub(super) fn f64_at(value: &Value, path: &[&str]) -> Option<f64> {
    at(value, path)?.as_f64()
}

pub(super) fn i64_at(value: &Value, path: &[&str]) -> Option<i64> {
    as_integer(at(value, path)?)
}

fn as_integer(value: &Value) -> Option<i64> {
    whole_number(value.as_i64(), value.as_f64())
}

/// A value as an integer, given what it reads as an integer and as a float. Accepts `5.0` as
/// well as `5`: some serializers write whole numbers as floats.
pub(super) fn whole_number(int: Option<i64>, float: Option<f64>) -> Option<i64> {
    int.or_else(|| {
        let f = float?;
        (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
    })
}

/// An identity string: absent is fine, any other type is an error.
pub(super) fn strict_str_at(value: &Value, path: &[&str]) -> Result<Option<String>, ParseError> {
    match at(value, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(wrong_type(path, "a string", other)),
    }
}

/// An identity integer (the timestamp): absent is fine, any other type is an error.
pub(super) fn strict_i64_at(value: &Value, path: &[&str]) -> Result<Option<i64>, ParseError> {
    match at(value, path) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => as_integer(v)
            .map(Some)
            .ok_or_else(|| wrong_type(path, "an integer", v)),
    }
}

fn wrong_type(path: &[&str], expected: &str, found: &Value) -> ParseError {
    let found = match found {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    wrong_type_named(&path.join("."), expected, found)
}

/// The error for an identity field of another type than documented.
pub(super) fn wrong_type_named(path: &str, expected: &str, found: &str) -> ParseError {
    ParseError::Json(serde::de::Error::custom(format!(
        "field `{path}` must be {expected}, found {found}"
    )))
}

/// How one API generation spells the velocity counters.
pub(super) struct VelocitySpelling {
    /// Counter names in the order of [`Velocity`]'s fields.
    pub(super) counters: [&'static str; 7],
    /// Object between a counter and its interval keys (v3 has `intervals`, v4 nothing).
    pub(super) nesting: &'static [&'static str],
    /// Keys for 5 minutes, 1 hour and 24 hours.
    pub(super) intervals: [&'static str; 3],
}

/// Reads velocity counters. A counter with no readable interval is `None`, since the API sends
/// `{}` for counters it omitted; the whole signal is `None` when no counter is readable.
pub(super) fn velocity(value: Option<&Value>, spelling: &VelocitySpelling) -> Option<Velocity> {
    let value = value?;
    let counter = |name: &str| {
        let base = at(value, &[name])?;
        let base = at(base, spelling.nesting)?;
        let [m5, h1, h24] = spelling.intervals.map(|key| i64_at(base, &[key]));
        (m5.is_some() || h1.is_some() || h24.is_some()).then_some(VelocityIntervals { m5, h1, h24 })
    };
    let [a, b, c, d, e, f, g] = spelling.counters.map(counter);
    let velocity = Velocity {
        distinct_ip: a,
        distinct_linked_id: b,
        distinct_country: c,
        events: d,
        ip_events: e,
        distinct_ip_by_linked_id: f,
        distinct_visitor_id_by_linked_id: g,
    };
    (velocity != Velocity::default()).then_some(velocity)
}

/// A factory-reset time as milliseconds. v3 documents Unix seconds, and upstream describes
/// v4's `factory_reset_timestamp` as seconds in some places and milliseconds in others; no real
/// reset can be before 1973 in milliseconds (10^11) nor after the year 5000 in seconds, so the
/// magnitude tells them apart. `unsigned_abs`, since `i64::MIN` has no positive counterpart.
pub(super) fn epoch_to_ms(value: i64) -> i64 {
    if value.unsigned_abs() < 100_000_000_000 {
        value.saturating_mul(1000)
    } else {
        value
    }
}

#[cfg(test)]
mod epoch_tests {
    use super::epoch_to_ms;

    #[test]
    fn factory_reset_times_in_seconds_or_milliseconds_read_as_milliseconds() {
        assert_eq!(epoch_to_ms(0), 0, "no reset stays 0");
        assert_eq!(epoch_to_ms(1_707_144_876), 1_707_144_876_000, "seconds");
        assert_eq!(
            epoch_to_ms(1_707_144_876_123),
            1_707_144_876_123,
            "milliseconds"
        );
        // Found by fuzzing: the ends of the range are kept, not overflowed.
        assert_eq!(epoch_to_ms(i64::MIN), i64::MIN);
        assert_eq!(epoch_to_ms(i64::MAX), i64::MAX);
        assert_eq!(epoch_to_ms(-99_999_999_999), -99_999_999_999_000);
    }
}
