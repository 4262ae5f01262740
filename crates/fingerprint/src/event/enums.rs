use super::{BotResult, IdentificationStatus, RuleActionType};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

impl BotResult {
    /// Reads a bot result in either spelling (`not_detected` in v4, `notDetected` in v3).
    pub fn parse(value: &str) -> Self {
        match value {
            "not_detected" | "notDetected" => Self::NotDetected,
            "good" => Self::Good,
            "bad" => Self::Bad,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The v4 spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::NotDetected => "not_detected",
            Self::Good => "good",
            Self::Bad => "bad",
            Self::Other(other) => other,
        }
    }
}

impl IdentificationStatus {
    /// Reads a status; unknown values are kept.
    pub fn parse(value: &str) -> Self {
        match value {
            "completed" => Self::Completed,
            "partially_completed" => Self::PartiallyCompleted,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The API's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Completed => "completed",
            Self::PartiallyCompleted => "partially_completed",
            Self::Other(other) => other,
        }
    }
}

impl RuleActionType {
    /// Reads a rule action type; unknown values are kept.
    pub fn parse(value: &str) -> Self {
        match value {
            "allow" => Self::Allow,
            "block" => Self::Block,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The API's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Allow => "allow",
            Self::Block => "block",
            Self::Other(other) => other,
        }
    }
}

macro_rules! string_serde {
    ($ty:ty) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Ok(Self::parse(&String::deserialize(d)?))
            }
        }
    };
}

string_serde!(BotResult);
string_serde!(IdentificationStatus);
string_serde!(RuleActionType);
