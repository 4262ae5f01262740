//! A velocity rule's window: its length, and the fixed windows attempts are counted in.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest window: a year and a day, past which a counter is history, not velocity.
const MAX_WINDOW_SECONDS: u64 = 366 * 86_400;

/// A window's length, written `45s`, `10m`, `1h` or `7d` (whole seconds, 1 s to 366 d).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window {
    seconds: u64,
}

impl Window {
    pub(crate) const fn from_seconds(seconds: u64) -> Window {
        Window { seconds }
    }

    /// Reads `45s`, `10m`, `1h` or `7d`.
    pub fn parse(text: &str) -> Result<Window, String> {
        let expected = || format!("expected a window like \"10m\", \"1h\" or \"1d\", got {text:?}");
        let trimmed = text.trim();
        let last = trimmed.char_indices().last().map_or(0, |(i, _)| i);
        let (number, unit) = trimmed.split_at(last);
        let unit_seconds: u64 = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(expected()),
        };
        let n: u64 = number.parse().map_err(|_| expected())?;
        match n.checked_mul(unit_seconds) {
            Some(seconds) if (1..=MAX_WINDOW_SECONDS).contains(&seconds) => Ok(Window { seconds }),
            _ => Err(format!("a window is 1s to 366d, got {text:?}")),
        }
    }

    /// Its length in seconds.
    pub fn seconds(self) -> u64 {
        self.seconds
    }

    /// Its length in milliseconds.
    pub fn ms(self) -> i64 {
        self.seconds as i64 * 1000
    }

    /// When the fixed window holding `now_ms` began: windows are aligned on the Unix epoch, so
    /// every instance puts an attempt in the same one.
    pub fn start_of(self, now_ms: i64) -> i64 {
        now_ms - now_ms.rem_euclid(self.ms())
    }
}

impl fmt::Display for Window {
    /// The largest unit that divides it: `3600` seconds is `1h`, `90` is `90s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.seconds;
        let (n, unit) = if s.is_multiple_of(86_400) {
            (s / 86_400, "d")
        } else if s.is_multiple_of(3600) {
            (s / 3600, "h")
        } else if s.is_multiple_of(60) {
            (s / 60, "m")
        } else {
            (s, "s")
        };
        write!(f, "{n}{unit}")
    }
}

impl Serialize for Window {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Window::parse(&text).map_err(serde::de::Error::custom)
    }
}
