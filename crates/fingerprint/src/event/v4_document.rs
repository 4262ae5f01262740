//! The fields of a v4 event that the parse reads, read straight into typed slots.
//!
//! Read from the document's text, nothing else is built: each value the parse does not read
//! is checked as strictly as `serde_json::Value` would check it (numbers in range, escapes
//! valid) and dropped, so the text is accepted exactly where the whole-document parse accepts
//! it. Read from a `serde_json::Value`, the same types give the same slots, so both parses
//! build their event from a [`Document`] through one function (`v4::event`). A repeated key
//! keeps its last value, as `Value` does; a nested object of another shape (a string where an
//! object was documented) reads as absent, as a lookup into it would.

use serde::de::{Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// One field's value as the parse reads it: scalars kept, arrays and objects only checked.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Scalar {
    Null,
    Bool(bool),
    /// A negative integer, as `serde_json` reads one.
    Int(i64),
    /// A non-negative integer.
    UInt(u64),
    Float(f64),
    Str(String),
    Array,
    Object,
}

impl Scalar {
    /// What `Value::as_bool` gives.
    pub(super) fn as_bool(&self) -> Option<bool> {
        match *self {
            Scalar::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// What `Value::as_f64` gives.
    pub(super) fn as_f64(&self) -> Option<f64> {
        match *self {
            Scalar::Int(n) => Some(n as f64),
            Scalar::UInt(n) => Some(n as f64),
            Scalar::Float(f) => Some(f),
            _ => None,
        }
    }

    /// What `Value::as_i64` gives.
    pub(super) fn as_i64(&self) -> Option<i64> {
        match *self {
            Scalar::Int(n) => Some(n),
            Scalar::UInt(n) => i64::try_from(n).ok(),
            _ => None,
        }
    }

    pub(super) fn into_string(self) -> Option<String> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The type's name in an error message, as `json::wrong_type` names a `Value`'s.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Scalar::Null => "null",
            Scalar::Bool(_) => "a boolean",
            Scalar::Int(_) | Scalar::UInt(_) | Scalar::Float(_) => "a number",
            Scalar::Str(_) => "a string",
            Scalar::Array => "an array",
            Scalar::Object => "an object",
        }
    }
}

/// How a slot of a [`Document`] object is read from the value of its key.
trait Slot: Sized {
    /// `None` where a lookup into the value would find nothing.
    fn read<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Self>, A::Error>;
}

impl Slot for Scalar {
    fn read<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Self>, A::Error> {
        map.next_value().map(Some)
    }
}

/// The velocity counters are read whole: a small object, walked by `json::velocity`.
impl Slot for Value {
    fn read<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Self>, A::Error> {
        map.next_value().map(Some)
    }
}

/// An object whose keys each fill a slot, or are checked and dropped.
trait Object: Default {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
}

/// Declares an object of slots, each named after its key, and how it is read.
macro_rules! object {
    ($(#[$doc:meta])* $name:ident { $($key:literal => $field:ident: $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Default)]
        pub(super) struct $name {
            $(pub(super) $field: Option<$ty>,)*
        }

        impl Object for $name {
            fn field<'de, A: MapAccess<'de>>(
                &mut self,
                key: &str,
                map: &mut A,
            ) -> Result<(), A::Error> {
                match key {
                    $($key => self.$field = <$ty as Slot>::read(map)?,)*
                    _ => {
                        map.next_value::<Checked>()?;
                    }
                }
                Ok(())
            }
        }

        impl Slot for $name {
            fn read<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Self>, A::Error> {
                map.next_value::<Nested<$name>>().map(|nested| nested.0)
            }
        }
    };
}

object!(BotInfo { "name" => name: Scalar });
object!(Confidence { "score" => score: Scalar });
object!(Identification {
    "confidence" => confidence: Confidence,
    "visitor_found" => visitor_found: Scalar,
    "visitor_id" => visitor_id: Scalar,
});
object!(IpBlocklist {
    "attack_source" => attack_source: Scalar,
    "email_spam" => email_spam: Scalar,
    "tor_node" => tor_node: Scalar,
});
object!(
    /// One address family's details (see `ip_info.rs`).
    IpFamily {
        "asn" => asn: Scalar,
        "asn_name" => asn_name: Scalar,
        "asn_network" => asn_network: Scalar,
        "asn_type" => asn_type: Scalar,
        "datacenter_name" => datacenter_name: Scalar,
        "datacenter_result" => datacenter_result: Scalar,
    }
);
object!(IpInfo { "v4" => v4: IpFamily, "v6" => v6: IpFamily });
object!(ProxyDetails { "proxy_type" => proxy_type: Scalar });
object!(RuleAction {
    "rule_expression" => rule_expression: Scalar,
    "rule_id" => rule_id: Scalar,
    "ruleset_id" => ruleset_id: Scalar,
    "status_code" => status_code: Scalar,
    "type" => action: Scalar,
});
object!(HighRecall { "visitor_id" => visitor_id: Scalar });
object!(TamperingDetails {
    "anomaly_score" => anomaly_score: Scalar,
    "anti_detect_browser" => anti_detect_browser: Scalar,
});
object!(VpnMethods {
    "auxiliary_mobile" => auxiliary_mobile: Scalar,
    "ml_prediction" => ml_prediction: Scalar,
    "os_mismatch" => os_mismatch: Scalar,
    "public_vpn" => public_vpn: Scalar,
    "relay" => relay: Scalar,
    "timezone_mismatch" => timezone_mismatch: Scalar,
});
object!(
    /// Everything the parse reads of a v4 event, and the keys that tell a v3 document
    /// (`products`, `requestId`: see `v3_layout` in `event.rs`).
    Document {
        "bot" => bot: Scalar,
        "bot_info" => bot_info: BotInfo,
        "bot_type" => bot_type: Scalar,
        "cloned_app" => cloned_app: Scalar,
        "developer_tools" => developer_tools: Scalar,
        "emulator" => emulator: Scalar,
        "event_id" => event_id: Scalar,
        "factory_reset_timestamp" => factory_reset_timestamp: Scalar,
        "frida" => frida: Scalar,
        "high_activity_device" => high_activity_device: Scalar,
        "identification" => identification: Identification,
        "incognito" => incognito: Scalar,
        "incremental_identification_status" => incremental_identification_status: Scalar,
        "ip_address" => ip_address: Scalar,
        "ip_blocklist" => ip_blocklist: IpBlocklist,
        "ip_info" => ip_info: IpInfo,
        "jailbroken" => jailbroken: Scalar,
        "linked_id" => linked_id: Scalar,
        "location_spoofing" => location_spoofing: Scalar,
        "mitm_attack" => mitm_attack: Scalar,
        "privacy_settings" => privacy_settings: Scalar,
        "products" => products: Scalar,
        "proxy" => proxy: Scalar,
        "proxy_confidence" => proxy_confidence: Scalar,
        "proxy_details" => proxy_details: ProxyDetails,
        "proxy_ml_score" => proxy_ml_score: Scalar,
        "rare_device" => rare_device: Scalar,
        "rare_device_percentile_bucket" => rare_device_percentile_bucket: Scalar,
        "replayed" => replayed: Scalar,
        "requestId" => request_id: Scalar,
        "root_apps" => root_apps: Scalar,
        "rule_action" => rule_action: RuleAction,
        "simulator" => simulator: Scalar,
        "source" => source: Scalar,
        "supplementary_id_high_recall" => high_recall: HighRecall,
        "suspect_score" => suspect_score: Scalar,
        "tampering" => tampering: Scalar,
        "tampering_details" => tampering_details: TamperingDetails,
        "timestamp" => timestamp: Scalar,
        "url" => url: Scalar,
        "user_agent" => user_agent: Scalar,
        "velocity" => velocity: Value,
        "virtual_machine" => virtual_machine: Scalar,
        "vpn" => vpn: Scalar,
        "vpn_confidence" => vpn_confidence: Scalar,
        "vpn_methods" => vpn_methods: VpnMethods,
        "vpn_origin_country" => vpn_origin_country: Scalar,
        "vpn_origin_timezone" => vpn_origin_timezone: Scalar,
    }
);

/// The document's fields, read from its text without building the rest of it; `None` when the
/// text is not a JSON object or not JSON (the whole-document parse then names the problem), so
/// this accepts exactly the documents the whole parse accepts. Tests and the `event_v4` fuzz
/// target check that the two agree.
pub(super) fn from_text(text: &str) -> Option<Document> {
    if text.len() > super::MAX_EVENT_BYTES {
        return None;
    }
    let mut reader = serde_json::Deserializer::from_str(text);
    let document = Nested::<Document>::deserialize(&mut reader).ok()?;
    reader.end().ok()?;
    document.0
}

/// The document's fields, read from the parsed document; `None` when it is not an object.
pub(super) fn from_value(value: Value) -> Option<Document> {
    Nested::<Document>::deserialize(value).ok()?.0
}

/// An object's slots, or `None` for a value of any other shape, checked and dropped.
struct Nested<T>(Option<T>);

impl<'de, T: Object> Deserialize<'de> for Nested<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NestedVisitor(PhantomData))
    }
}

struct NestedVisitor<T>(PhantomData<T>);

impl<'de, T: Object> Visitor<'de> for NestedVisitor<T> {
    type Value = Nested<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Nested<T>, A::Error> {
        let mut object = T::default();
        while let Some(key) = map.next_key_seed(Key)? {
            object.field(&key, &mut map)?;
        }
        Ok(Nested(Some(object)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Nested<T>, A::Error> {
        Checked.visit_seq(seq).map(|_| Nested(None))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Nested<T>, E> {
        Ok(Nested(None))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Nested<T>, E> {
        Ok(Nested(None))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Nested<T>, E> {
        Ok(Nested(None))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Nested<T>, E> {
        Ok(Nested(None))
    }
    fn visit_str<E>(self, _: &str) -> Result<Nested<T>, E> {
        Ok(Nested(None))
    }
    fn visit_unit<E>(self) -> Result<Nested<T>, E> {
        Ok(Nested(None))
    }
    fn visit_none<E>(self) -> Result<Nested<T>, E> {
        Ok(Nested(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Nested<T>, D::Error> {
        Nested::deserialize(deserializer)
    }
}

/// An object key, borrowed from the text where it has no escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(Key)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(key))
    }
    fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(key.to_owned()))
    }
    fn visit_string<E>(self, key: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(key))
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Scalar, E> {
        Ok(Scalar::Int(n))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Scalar, E> {
        Ok(Scalar::UInt(n))
    }
    fn visit_f64<E>(self, f: f64) -> Result<Scalar, E> {
        Ok(Scalar::Float(f))
    }
    fn visit_str<E>(self, s: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Scalar, E> {
        Ok(Scalar::Str(s))
    }
    fn visit_unit<E>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Scalar, D::Error> {
        Scalar::deserialize(deserializer)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar, A::Error> {
        Checked.visit_seq(seq).map(|_| Scalar::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar, A::Error> {
        Checked.visit_map(map).map(|_| Scalar::Object)
    }
}

/// Any JSON value, read through the same paths as `Value` (so it fails where `Value` fails)
/// and dropped as it is read.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Checked)
    }
}

impl<'de> Visitor<'de> for Checked {
    type Value = Checked;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_none<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Checked, D::Error> {
        Checked::deserialize(deserializer)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_entry::<Checked, Checked>()?.is_some() {}
        Ok(Checked)
    }
}
