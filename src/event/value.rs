//! Typed field values.
//!
//! Takes: values from EVTX JSON, XML text, JSONL or text exports.
//! Produces: [`FieldValue`], which keeps numbers as numbers and `HexInt32`/`HexInt64` values as hex,
//! so a rule can compare `0x8009030D` and `2148074253` and get equality.
//!
//! Wire form (JSON): numbers as JSON numbers, hex as a `"0x…"` string, text as a string, null as null,
//! lists as arrays. Reading back, a string of the exact form `0x` + 1–16 hex digits is hex.

use serde::{Deserialize, Serialize};

/// One field value with its type kept.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    /// Absent or empty element.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer that does not fit [`FieldValue::UInt`].
    Int(i64),
    /// An unsigned integer (the common case for ids, codes and counts).
    UInt(u64),
    /// A floating-point number.
    Float(f64),
    /// A `HexInt32`/`HexInt64` value (or any `0x…` text), kept as hex.
    Hex(u64),
    /// Text (including GUIDs, SIDs, times and addresses).
    Text(String),
    /// Repeated values under one name.
    List(Vec<FieldValue>),
}

impl FieldValue {
    /// True for [`FieldValue::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, FieldValue::Null)
    }

    /// Build a value from text as it appears in XML or text exports: numbers become numbers,
    /// `0x…` becomes hex, empty becomes null, anything else stays text.
    pub fn from_text(text: &str) -> FieldValue {
        let t = text.trim();
        if t.is_empty() {
            return FieldValue::Null;
        }
        if let Some(hex) = parse_hex(t) {
            return FieldValue::Hex(hex);
        }
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        // Leading-zero strings like "0001" stay text: they are identifiers, not numbers.
        let leading_zero = t.len() > 1 && t.starts_with('0');
        if t.len() <= 20
            && digits(t)
            && !leading_zero
            && let Ok(n) = t.parse::<u64>()
        {
            return FieldValue::UInt(n);
        }
        if let Some(rest) = t.strip_prefix('-')
            && rest.len() <= 19
            && digits(rest)
            && let Ok(n) = t.parse::<i64>()
        {
            return FieldValue::Int(n);
        }
        FieldValue::Text(text.to_string())
    }

    /// Build a value from a JSON value (EVTX JSON rendering or our own JSONL).
    pub fn from_json(value: &serde_json::Value) -> FieldValue {
        use serde_json::Value;
        match value {
            Value::Null => FieldValue::Null,
            Value::Bool(b) => FieldValue::Bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    FieldValue::UInt(u)
                } else if let Some(i) = n.as_i64() {
                    FieldValue::Int(i)
                } else {
                    FieldValue::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => match parse_hex(s) {
                Some(h) => FieldValue::Hex(h),
                None => FieldValue::Text(s.clone()),
            },
            Value::Array(items) => FieldValue::List(items.iter().map(Self::from_json).collect()),
            Value::Object(map) => match map.get("#text") {
                Some(text) => Self::from_json(text),
                None => FieldValue::Text(value.to_string()),
            },
        }
    }

    /// The value as an unsigned number: integers, hex, and numeric text in any notation
    /// (`2308`, `0x904`, or a negative 32-bit HRESULT such as `-2146893018`, read as its bit pattern).
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            FieldValue::UInt(n) | FieldValue::Hex(n) => Some(*n),
            FieldValue::Int(i) => negative_as_u32(*i),
            FieldValue::Text(t) => parse_number(t),
            FieldValue::Float(f) if f.fract() == 0.0 && *f >= 0.0 => Some(*f as u64),
            _ => None,
        }
    }

    /// [`FieldValue::to_text`], borrowed when the value is text already (no copy).
    pub fn as_text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            FieldValue::Text(t) => std::borrow::Cow::Borrowed(t),
            other => std::borrow::Cow::Owned(other.to_text()),
        }
    }

    /// The value as display text (hex as `0x…` lower case, numbers in decimal).
    pub fn to_text(&self) -> String {
        match self {
            FieldValue::Null => String::new(),
            FieldValue::Bool(b) => b.to_string(),
            FieldValue::Int(i) => i.to_string(),
            FieldValue::UInt(u) => u.to_string(),
            FieldValue::Float(f) => f.to_string(),
            FieldValue::Hex(h) => format!("0x{h:x}"),
            FieldValue::Text(t) => t.clone(),
            FieldValue::List(items) => items
                .iter()
                .map(FieldValue::to_text)
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// `0x` followed by 1–16 hex digits.
pub(crate) fn parse_hex(text: &str) -> Option<u64> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))?;
    if digits.is_empty() || digits.len() > 16 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

/// A number in any notation people paste: decimal, `0x` hex, or a negative 32-bit value.
pub fn parse_number(text: &str) -> Option<u64> {
    let t = text.trim();
    if let Some(h) = parse_hex(t) {
        return Some(h);
    }
    if let Ok(n) = t.parse::<u64>() {
        return Some(n);
    }
    t.parse::<i64>().ok().and_then(negative_as_u32)
}

/// A negative value that fits in 32 bits, read as the unsigned bit pattern (HRESULTs are often
/// printed signed: `-2146893018` is `0x80090326`).
fn negative_as_u32(i: i64) -> Option<u64> {
    if i < 0 && i >= i64::from(i32::MIN) {
        Some(u64::from(i as i32 as u32))
    } else if i >= 0 {
        Some(i as u64)
    } else {
        None
    }
}

impl Serialize for FieldValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FieldValue::Null => s.serialize_none(),
            FieldValue::Bool(b) => s.serialize_bool(*b),
            FieldValue::Int(i) => s.serialize_i64(*i),
            FieldValue::UInt(u) => s.serialize_u64(*u),
            FieldValue::Float(f) => s.serialize_f64(*f),
            FieldValue::Hex(h) => {
                s.serialize_str(super::wire::hex_text(*h, &mut [0; super::wire::HEX_LEN]))
            }
            FieldValue::Text(t) => s.serialize_str(t),
            FieldValue::List(items) => items.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for FieldValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        Ok(FieldValue::from_json(&value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_becomes_typed() {
        assert_eq!(FieldValue::from_text("2308"), FieldValue::UInt(2308));
        assert_eq!(
            FieldValue::from_text("0x8009030D"),
            FieldValue::Hex(0x8009030D)
        );
        assert_eq!(FieldValue::from_text("-5"), FieldValue::Int(-5));
        assert_eq!(FieldValue::from_text(""), FieldValue::Null);
        assert_eq!(
            FieldValue::from_text("0001"),
            FieldValue::Text("0001".into())
        );
        assert_eq!(
            FieldValue::from_text("10.0.0.5:52202"),
            FieldValue::Text("10.0.0.5:52202".into())
        );
    }

    #[test]
    fn numbers_compare_across_notations() {
        assert_eq!(parse_number("0x904"), Some(2308));
        assert_eq!(parse_number("2308"), Some(2308));
        assert_eq!(parse_number("-2146893018"), Some(0x80090326));
        assert_eq!(FieldValue::Int(-2146893018).as_u64(), Some(0x80090326));
        assert_eq!(parse_number("0x"), None);
        assert_eq!(parse_number("abc"), None);
    }

    #[test]
    fn json_object_with_text_is_unwrapped() {
        let v: serde_json::Value =
            serde_json::json!({"#attributes": {"Qualifiers": 16384}, "#text": 7031});
        assert_eq!(FieldValue::from_json(&v), FieldValue::UInt(7031));
    }
}
