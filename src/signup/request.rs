//! Reading a signup body: which event it names, and who is signing up.

use super::Refusal;
use serde_json::Value;

/// How the signup names its identification event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventRef {
    /// A `requestId` (alias `eventId`) to fetch from the Server API.
    Id(String),
    /// A base64 sealed result to unseal locally.
    Sealed(String),
}

/// A well-formed signup.
#[derive(Clone, PartialEq, Eq)]
pub struct SignupRequest {
    /// The event.
    pub event: EventRef,
    /// The username, trimmed.
    pub username: String,
    /// The password as typed (never logged: see the `Debug` impl).
    pub password: String,
}

impl std::fmt::Debug for SignupRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignupRequest")
            .field("event", &self.event)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The fields a signup reads, in one pass over the body. Serde refuses a duplicate field here,
/// where a parsed JSON object would keep the last: parsers in front of this service may keep
/// the first, and the same body would then name two events or two users. Other fields are
/// ignored. The values are checked one by one in [`parse`], which names the field.
///
/// Its schema is the request body of `POST /api/create-account` in the OpenAPI document.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[schema(
    as = CreateAccountRequest,
    description = "A signup: the identification event (`requestId` or `sealedResult`), the \
        username and the password. A field named twice is refused; other fields are ignored."
)]
pub struct SignupFields {
    /// Every other field, read in full and dropped. Without it serde would skip them unread,
    /// letting invalid UTF-8 or a lone surrogate through, and would also read an array as this
    /// struct, by position: a body no strict JSON parser in front agrees with (found by fuzzing).
    #[serde(flatten)]
    #[schema(ignore)]
    _others: Others,
    /// The identification event's id, from the JS agent. Send it or `sealedResult`.
    #[serde(rename = "requestId")]
    #[schema(value_type = Option<String>, max_length = 128, example = "1708102555327.NLOjmg")]
    request_id: Option<Value>,
    /// Another name for `requestId` (Fingerprint's v4 name); never both.
    #[serde(rename = "eventId")]
    #[schema(value_type = Option<String>, max_length = 128)]
    event_id: Option<Value>,
    /// The agent's sealed result (base64), instead of `requestId`.
    #[serde(rename = "sealedResult")]
    #[schema(value_type = Option<String>, max_length = 16384, content_encoding = "base64")]
    sealed_result: Option<Value>,
    /// Unique: compared by its Unicode key and confusable skeleton (see the README).
    #[schema(value_type = String, required = true, max_length = 254, example = "ann@example.org")]
    username: Option<Value>,
    /// As typed. `PASSWORD_MIN_LENGTH` to `PASSWORD_MAX_LENGTH` characters (8 to 128 by
    /// default), and not easy to guess. Never stored or logged.
    #[schema(value_type = String, required = true, format = Password, write_only)]
    password: Option<Value>,
}

/// The fields a signup does not read: each read in full (so bad UTF-8 or a lone surrogate is
/// refused there too) and dropped, and none twice. A duplicate anywhere makes the body mean
/// different things to different parsers, read or not.
struct Others;

impl<'de> serde::Deserialize<'de> for Others {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> serde::de::Visitor<'de> for Keys {
            type Value = Others;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Others, A::Error> {
                let mut seen = std::collections::HashSet::new();
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    if !seen.insert(key.clone()) {
                        return Err(serde::de::Error::custom(format!("duplicate field `{key}`")));
                    }
                }
                Ok(Others)
            }
        }
        deserializer.deserialize_map(Keys)
    }
}

/// The longest `sealedResult` accepted (base64 characters).
pub const MAX_SEALED_BYTES: usize = 16 * 1024;

/// Parses and checks the body. Each refusal names the field, so the front end can show it.
pub fn parse(body: &[u8]) -> Result<SignupRequest, Refusal> {
    let fields: SignupFields = match serde_json::from_slice(body) {
        Ok(fields) => fields,
        Err(error) => return Err(invalid(body_problem(body, &error))),
    };
    let event = event_ref(fields.request_id, fields.event_id, fields.sealed_result)?;
    let username = text("username", fields.username)?;
    let password = text("password", fields.password)?;
    let Some(username) = checked_username(username)? else {
        return Err(invalid("username is required".into()));
    };
    let Some(password) = password else {
        return Err(invalid("password is required".into()));
    };
    Ok(SignupRequest {
        event,
        username,
        password,
    })
}

/// A username, trimmed and checked ([`crate::username::check`]); blank counts as absent.
pub(super) fn checked_username(username: Option<String>) -> Result<Option<String>, Refusal> {
    let username = username.as_deref().map(str::trim).unwrap_or_default();
    if username.is_empty() {
        return Ok(None);
    }
    crate::username::check(username).map_err(|unusable| invalid(unusable.to_string()))?;
    Ok(Some(username.to_owned()))
}

/// A JSON value that must be a string when present; `null` counts as absent.
pub(super) fn text(name: &str, value: Option<Value>) -> Result<Option<String>, Refusal> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(format!("{name} must be a string"))),
    }
}

/// The event a body names: a `requestId` (or its alias `eventId`, never both: two names for
/// one field read differently by different parsers) or a `sealedResult`.
pub(super) fn event_ref(
    request_id: Option<Value>,
    event_id: Option<Value>,
    sealed_result: Option<Value>,
) -> Result<EventRef, Refusal> {
    let request_id = text("requestId", request_id)?;
    let event_id = text("eventId", event_id)?;
    let sealed = text("sealedResult", sealed_result)?;
    let request_id = match (request_id, event_id) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "send requestId or its alias eventId, not both".into(),
            ))
        }
        (a, b) => a.or(b),
    };
    Ok(match (request_id, sealed.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "send either requestId or sealedResult, not both".into(),
            ))
        }
        (Some(id), None) if id.trim().is_empty() => {
            return Err(invalid("requestId must not be empty".into()))
        }
        (Some(id), None) if !fingerprint::is_valid_event_id(id.trim()) => {
            return Err(invalid(
                "requestId is ill-formed: expected an id such as 1708102555327.NLOjmg".into(),
            ))
        }
        (Some(id), None) => EventRef::Id(id.trim().to_owned()),
        (None, Some(s)) if s.trim().is_empty() || s.len() > MAX_SEALED_BYTES => {
            return Err(invalid(format!(
                "sealedResult must be 1 to {MAX_SEALED_BYTES} bytes of base64"
            )))
        }
        (None, Some(s)) => EventRef::Sealed(s.trim().to_owned()),
        (None, None) => return Err(invalid("requestId is required (or sealedResult)".into())),
    })
}

/// Why a body that does not deserialize was refused, in the client's terms. Only this failing
/// path parses the body a second time.
pub(super) fn body_problem(body: &[u8], error: &serde_json::Error) -> String {
    match serde_json::from_slice::<Value>(body) {
        Err(error) => format!("body is not valid JSON: {error}"),
        Ok(Value::Object(_)) => format!("body is ambiguous: {error}"),
        Ok(_) => "body must be a JSON object".into(),
    }
}

pub(super) fn invalid(message: String) -> Refusal {
    Refusal::Invalid(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(body: &str) -> String {
        match parse(body.as_bytes()) {
            Err(Refusal::Invalid(why)) => why,
            other => panic!("{body}: expected invalid_request, got {other:?}"),
        }
    }

    #[test]
    fn bad_bodies_are_refused_with_the_field_named() {
        let cases = vec![
            ("{", "not valid JSON"),
            ("[]", "JSON object"),
            ("\"x\"", "JSON object"),
            (
                r#"{"username":"a","password":"p"}"#,
                "requestId is required",
            ),
            (
                r#"{"requestId":"","username":"a","password":"p"}"#,
                "requestId must not be empty",
            ),
            (
                r#"{"requestId":5,"username":"a","password":"p"}"#,
                "requestId must be a string",
            ),
            (
                r#"{"requestId":"r","password":"p"}"#,
                "username is required",
            ),
            (
                r#"{"requestId":"r","username":"   ","password":"p"}"#,
                "username is required",
            ),
            (
                r#"{"requestId":"r","username":"a\u0000b","password":"p"}"#,
                "control characters",
            ),
            (
                r#"{"requestId":"r","username":"a"}"#,
                "password is required",
            ),
            (
                r#"{"requestId":"r","username":"ad\u202Emin","password":"p"}"#,
                "bidirectional control characters (found U+202E)",
            ),
            (
                r#"{"requestId":"r","username":"a","password":true}"#,
                "password must be a string",
            ),
            (
                r#"{"requestId":"r","sealedResult":"s","username":"a","password":"p"}"#,
                "not both",
            ),
            (
                r#"{"requestId":"1.a","requestId":"2.b","username":"a","password":"p"}"#,
                "duplicate field `requestId`",
            ),
            (
                r#"{"requestId":"1.a","username":"a","username":"b","password":"p"}"#,
                "duplicate field `username`",
            ),
            (
                r#"{"requestId":"1.a","username":"a","password":"p","note":1,"note":2}"#,
                "duplicate field `note`",
            ),
            (
                r#"{"requestId":"1.a","eventId":"2.b","username":"a","password":"p"}"#,
                "not both",
            ),
        ];
        for (body, expected) in cases {
            let why = error_of(body);
            assert!(
                why.contains(expected),
                "{body}: {why:?} should mention {expected:?}"
            );
        }
        let long = format!(
            r#"{{"requestId":"r","username":"{}","password":"p"}}"#,
            "u".repeat(255)
        );
        assert!(error_of(&long).contains("at most 254"));
    }

    #[test]
    fn good_bodies_are_read_with_aliases_and_trimming() {
        let request =
            parse(br#"{"eventId":" 1.a ","username":"  Ann@X.io ","password":" p w "}"#).unwrap();
        assert_eq!(request.event, EventRef::Id("1.a".into()));
        assert_eq!(request.username, "Ann@X.io");
        assert_eq!(
            request.password, " p w ",
            "passwords are kept exactly as typed"
        );
        let sealed =
            parse(br#"{"sealedResult":"AAAA","username":"a","password":"p","extra":1}"#).unwrap();
        assert_eq!(sealed.event, EventRef::Sealed("AAAA".into()));
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let request =
            parse(br#"{"requestId":"r","username":"a","password":"hunter2-secret"}"#).unwrap();
        assert!(!format!("{request:?}").contains("hunter2"));
    }
}
