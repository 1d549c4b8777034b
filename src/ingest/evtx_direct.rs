//! Events built straight from a record's substitution values, without rendering.
//!
//! Takes: a record's template values and its template's [`TemplateShape`].
//! Produces: the record's header (channel, provider, event id, host) for the relevance test and,
//! for relevant records, the [`Event`] — the same one the JSON route builds (a corpus test holds
//! the two routes equal). A value type whose JSON form we do not reproduce (nested BinXML,
//! arrays, floats, handles) makes the record go the JSON route instead.

use super::evtx_raw::RawValue;
use super::evtx_template::{PayloadKind, Slot, TemplateShape};
use super::{normalize_guid, parse_system_time};
use crate::event::{ActivityId, Event, FieldValue, Fields};
use evtx::binxml::value_variant::BinXmlValue;
use std::sync::Arc;

/// A substitution value as the direct route reads it: parsed by the `evtx` crate
/// ([`BinXmlValue`]) or taken raw from the chunk ([`RawValue`]).
pub trait DirectValue {
    /// The value as a field; `None` for types left to the JSON route.
    fn field(&self) -> Option<FieldValue>;
    /// The crate's reading of the value, when it has one we use (not for SIDs).
    fn binxml(&self) -> Option<BinXmlValue<'_>>;
    /// True for a NullType value.
    fn is_null(&self) -> bool;
}

impl DirectValue for BinXmlValue<'_> {
    fn field(&self) -> Option<FieldValue> {
        convert(self)
    }
    fn binxml(&self) -> Option<BinXmlValue<'_>> {
        Some(self.clone())
    }
    fn is_null(&self) -> bool {
        matches!(self, BinXmlValue::NullType)
    }
}

impl DirectValue for RawValue<'_> {
    fn field(&self) -> Option<FieldValue> {
        RawValue::field(self)
    }
    fn binxml(&self) -> Option<BinXmlValue<'_>> {
        self.decoded()
    }
    fn is_null(&self) -> bool {
        self.kind == 0x00
    }
}

/// The header parts needed to decide relevance (shared strings: records of a file repeat them).
pub struct DirectHeader {
    pub channel: Arc<str>,
    pub provider: Arc<str>,
    pub event_id: u32,
    pub host: Arc<str>,
}

/// Shares the header strings of a file's records: a few distinct channels, providers and host
/// names, seen tens of thousands of times. Identical text gives the same `Arc`, so callers may
/// compare by pointer.
#[derive(Clone, Default)]
pub struct Strings {
    /// (whether the key is UTF-16, the UTF-16 bytes of a value or the UTF-8 bytes of a literal)
    /// → the text.
    recent: Vec<(bool, Vec<u8>, Arc<str>)>,
}

/// How many distinct strings [`Strings`] keeps.
const RECENT_STRINGS: usize = 16;

impl Strings {
    fn get(
        &mut self,
        utf16: bool,
        key: &[u8],
        text: impl FnOnce() -> Option<String>,
    ) -> Option<Arc<str>> {
        let found = self
            .recent
            .iter()
            .position(|(u, k, _)| *u == utf16 && k == key);
        if let Some(i) = found {
            return Some(self.recent[i].2.clone());
        }
        let text: Arc<str> = Arc::from(text()?);
        if self.recent.len() >= RECENT_STRINGS {
            self.recent.remove(0);
        }
        self.recent.push((utf16, key.to_vec(), text.clone()));
        Some(text)
    }

    /// The empty string, shared.
    fn empty(&mut self) -> Arc<str> {
        self.get(false, b"", || Some(String::new()))
            .unwrap_or_else(|| Arc::from(""))
    }
}

/// Read the header of a record from its values; `None` when it needs the JSON route.
pub fn header<V: DirectValue>(
    shape: &TemplateShape,
    values: &[V],
    strings: &mut Strings,
) -> Option<DirectHeader> {
    // A header element left out of this record (its dependency value is null): the crate's way.
    if shape
        .vanishing
        .iter()
        .any(|&d| values.get(usize::from(d)).is_some_and(DirectValue::is_null))
    {
        return None;
    }
    let event_id = number(shape.event_id.as_ref()?, values)?;
    let provider = match text_slot(shape.provider.as_ref(), values, strings)? {
        Some(name) => name,
        None => match text_slot(shape.event_source.as_ref(), values, strings)? {
            Some(name) => name,
            None => strings.empty(),
        },
    };
    let channel = match text_slot(shape.channel.as_ref(), values, strings)? {
        Some(c) => c,
        None => strings.empty(),
    };
    let host = match text_slot(shape.computer.as_ref(), values, strings)? {
        Some(h) => h,
        None => strings.empty(),
    };
    Some(DirectHeader {
        channel,
        provider,
        event_id: u32::try_from(event_id).ok()?,
        host,
    })
}

/// Build the event of a relevant record, with `origin` (the header's names and the file, shared);
/// `None` when it needs the JSON route.
pub fn event<V: DirectValue>(
    shape: &TemplateShape,
    values: &[V],
    header: &DirectHeader,
    origin: Arc<crate::event::Origin>,
    record_id: u64,
    nested: &mut dyn FnMut(&[u8], PayloadKind) -> Option<Fields>,
) -> Option<Event> {
    let time = match shape.time.as_ref()? {
        Slot::Value(i) => match values.get(usize::from(*i))?.binxml()? {
            v @ (BinXmlValue::FileTimeType(_) | BinXmlValue::SysTimeType(_)) => {
                parse_system_time(&v.to_string())?
            }
            _ => return None,
        },
        Slot::Literal(t) => parse_system_time(t)?,
        _ => return None,
    };
    let level = match &shape.level {
        None | Some(Slot::Absent) => None,
        Some(slot) => match value_of(slot, values)? {
            FieldValue::UInt(l) => u8::try_from(l).ok(),
            FieldValue::Null => None,
            _ => return None,
        },
    };
    let stored_id = match &shape.record_id {
        None | Some(Slot::Absent) => None,
        Some(slot) => value_of(slot, values)?.as_u64(),
    };
    let activity_id = match &shape.activity_id {
        None | Some(Slot::Absent) => None,
        Some(slot) => match value_of(slot, values)? {
            FieldValue::Text(t) => normalize_guid(&t),
            FieldValue::Null => None,
            _ => return None,
        },
    };
    let fields = all_fields(shape, values, nested);
    Some(Event {
        time,
        origin,
        event_id: header.event_id,
        level,
        activity_id: activity_id.map(ActivityId::from),
        fields: fields?,
        place: crate::event::Place::new(
            crate::event::Locator::Record(record_id),
            Some(stored_id.unwrap_or(record_id)),
        ),
    })
}

/// The payload fields: those of the template itself, then those of a nested payload template.
fn all_fields<V: DirectValue>(
    shape: &TemplateShape,
    values: &[V],
    nested: &mut dyn FnMut(&[u8], PayloadKind) -> Option<Fields>,
) -> Option<Fields> {
    let mut out = fields(shape, &|i| value_of(&Slot::Value(i), values))?;
    if let Some((index, kind)) = shape.payload {
        match values.get(usize::from(index))?.binxml()? {
            BinXmlValue::NullType => {}
            BinXmlValue::BinXmlType(bytes) => {
                for (name, value) in nested(bytes, kind)? {
                    if out.contains_key(&name) {
                        return None;
                    }
                    out.insert(name, value);
                }
            }
            _ => return None,
        }
    }
    Some(out)
}

/// The fields of `shape`, reading substitution value `n` through `get`. They are filled in the
/// shape's name order ([`TemplateShape::fields_by_name`]) when it has one, so each is appended;
/// the map is the same in any order (of two fields with one name the later one wins).
pub fn fields(shape: &TemplateShape, get: &dyn Fn(u16) -> Option<FieldValue>) -> Option<Fields> {
    let slots = &shape.fields;
    let mut out = Fields::with_capacity(slots.len());
    let in_name_order = shape.fields_by_name.len() == slots.len();
    let order = (0..slots.len()).map(|i| {
        if in_name_order {
            usize::from(shape.fields_by_name[i])
        } else {
            i
        }
    });
    for slot in order.map(|i| &slots[i]) {
        if let Some(d) = slot.depends_on
            && get(d)?.is_null()
        {
            continue;
        }
        let value = match &slot.content {
            Slot::Absent | Slot::Empty => FieldValue::Null,
            Slot::Literal(_) => return None,
            Slot::Value(i) => get(*i)?,
        };
        let value = match value {
            FieldValue::Null if slot.empty_is_text => FieldValue::Text(String::new()),
            other => other,
        };
        out.insert(slot.name.clone(), value);
    }
    Some(out)
}

/// A slot's value as the JSON route would see it.
fn value_of<V: DirectValue>(slot: &Slot, values: &[V]) -> Option<FieldValue> {
    match slot {
        Slot::Absent | Slot::Empty => Some(FieldValue::Null),
        Slot::Literal(_) => None,
        Slot::Value(i) => values.get(usize::from(*i))?.field(),
    }
}

/// One substitution value as [`FieldValue::from_json`] reads its JSON rendering.
pub fn convert(value: &BinXmlValue<'_>) -> Option<FieldValue> {
    use BinXmlValue as V;
    Some(match value {
        V::NullType => FieldValue::Null,
        V::StringType(s) => text_value(s.to_string().ok()?),
        V::AnsiStringType(s) => text_value((*s).to_string()),
        V::Int8Type(v) => signed(i64::from(*v)),
        V::Int16Type(v) => signed(i64::from(*v)),
        V::Int32Type(v) => signed(i64::from(*v)),
        V::Int64Type(v) => signed(*v),
        V::UInt8Type(v) => FieldValue::UInt(u64::from(*v)),
        V::UInt16Type(v) => FieldValue::UInt(u64::from(*v)),
        V::UInt32Type(v) => FieldValue::UInt(u64::from(*v)),
        V::UInt64Type(v) => FieldValue::UInt(*v),
        V::SizeTType(v) => FieldValue::UInt(*v as u64),
        V::BoolType(b) => FieldValue::Bool(*b),
        V::HexInt32Type(v) => FieldValue::Hex(u64::from(*v)),
        V::HexInt64Type(v) => FieldValue::Hex(*v),
        V::BinaryType(_)
        | V::GuidType(_)
        | V::SidType(_)
        | V::FileTimeType(_)
        | V::SysTimeType(_) => text_value(value.to_string()),
        _ => return None,
    })
}

fn signed(v: i64) -> FieldValue {
    match u64::try_from(v) {
        Ok(u) => FieldValue::UInt(u),
        Err(_) => FieldValue::Int(v),
    }
}

/// Text as its JSON rendering reads: an element with empty text renders as `null`, `0x…` is
/// hex, the rest stays text.
fn text_value(text: String) -> FieldValue {
    if text.is_empty() {
        return FieldValue::Null;
    }
    match crate::event::parse_hex(&text) {
        Some(h) => FieldValue::Hex(h),
        None => FieldValue::Text(text),
    }
}

fn number<V: DirectValue>(slot: &Slot, values: &[V]) -> Option<u64> {
    match slot {
        Slot::Literal(t) => crate::event::parse_number(t),
        _ => value_of(slot, values)?.as_u64(),
    }
}

/// A header text: `Some(None)` when the element is absent or null, `None` when it needs the
/// JSON route.
fn text_slot<V: DirectValue>(
    slot: Option<&Slot>,
    values: &[V],
    strings: &mut Strings,
) -> Option<Option<Arc<str>>> {
    let Some(slot) = slot else {
        return Some(None);
    };
    match slot {
        Slot::Absent | Slot::Empty => Some(None),
        Slot::Literal(t) => Some(strings.get(false, t.as_bytes(), || Some(t.clone()))),
        Slot::Value(i) => match values.get(usize::from(*i))?.binxml()? {
            BinXmlValue::NullType => Some(None),
            BinXmlValue::StringType(s) => Some(Some(
                strings.get(true, s.as_bytes(), || s.to_string().ok())?,
            )),
            BinXmlValue::AnsiStringType(s) => Some(Some(Arc::from(s))),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::evtx_template::FieldSlot;
    use super::*;
    #[test]
    fn empty_data_elements_read_as_empty_text_and_dependent_ones_vanish() {
        let slots = [
            FieldSlot {
                name: "Named".into(),
                content: Slot::Value(0),
                depends_on: None,
                empty_is_text: true,
            },
            FieldSlot {
                name: "Other".into(),
                content: Slot::Value(0),
                depends_on: None,
                empty_is_text: false,
            },
            FieldSlot {
                name: "Gone".into(),
                content: Slot::Value(1),
                depends_on: Some(0),
                empty_is_text: false,
            },
        ];
        let values = [Some(FieldValue::Null), Some(FieldValue::UInt(1))];
        let mut shape = TemplateShape {
            fields: slots.to_vec(),
            ..TemplateShape::default()
        };
        let got = fields(&shape, &|i| values.get(usize::from(i))?.clone()).unwrap();
        shape.fields_by_name = super::super::evtx_template::by_name(&shape.fields);
        assert_eq!(shape.fields_by_name, [2, 0, 1]);
        assert_eq!(
            fields(&shape, &|i| values.get(usize::from(i))?.clone()),
            Some(got.clone())
        );
        assert_eq!(got["Named"], FieldValue::Text(String::new()));
        assert_eq!(got["Other"], FieldValue::Null);
        assert!(!got.contains_key("Gone"));
        // A value we cannot convert sends the record down the JSON route.
        let unknown = [None, Some(FieldValue::UInt(1))];
        assert!(fields(&shape, &|i| unknown.get(usize::from(i))?.clone()).is_none());
    }
}
