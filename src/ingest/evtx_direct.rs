//! Events built straight from a record's substitution values, without rendering.
//!
//! Takes: a record's template values and its template's [`TemplateShape`].
//! Produces: the record's header (channel, provider, event id, host) for the relevance test and,
//! for relevant records, the [`Event`] — the same one the JSON route builds (a corpus test holds
//! the two routes equal). A value type whose JSON form we do not reproduce (nested BinXML,
//! arrays, floats, handles) makes the record go the JSON route instead.

use super::evtx_template::{FieldSlot, PayloadKind, Slot, TemplateShape};
use super::{normalize_guid, parse_system_time};
use crate::event::{Event, FieldValue, Fields, Provenance};
use evtx::Utf16LeSlice;
use evtx::binxml::value_variant::BinXmlValue;
use evtx::binxml::value_variant::{FileTime, SysTime};
use std::sync::Arc;

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
    /// (UTF-16 bytes of a value, or UTF-8 bytes of a literal) → the text.
    recent: Vec<(Vec<u8>, Arc<str>)>,
}

/// How many distinct strings [`Strings`] keeps.
const RECENT_STRINGS: usize = 16;

impl Strings {
    fn get(&mut self, key: &[u8], text: impl FnOnce() -> Option<String>) -> Option<Arc<str>> {
        if let Some(i) = self.recent.iter().position(|(k, _)| k == key) {
            return Some(self.recent[i].1.clone());
        }
        let text: Arc<str> = Arc::from(text()?);
        if self.recent.len() >= RECENT_STRINGS {
            self.recent.remove(0);
        }
        self.recent.push((key.to_vec(), text.clone()));
        Some(text)
    }

    /// The empty string, shared.
    fn empty(&mut self) -> Arc<str> {
        self.get(b"", || Some(String::new()))
            .unwrap_or_else(|| Arc::from(""))
    }
}

/// Read the header of a record from its values; `None` when it needs the JSON route.
pub fn header(
    shape: &TemplateShape,
    values: &[BinXmlValue<'_>],
    strings: &mut Strings,
) -> Option<DirectHeader> {
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

/// Build the event of a relevant record; `None` when it needs the JSON route.
pub fn event(
    shape: &TemplateShape,
    values: &[BinXmlValue<'_>],
    header: &DirectHeader,
    record_id: u64,
    path: &Arc<str>,
    nested: &mut dyn FnMut(&[u8], PayloadKind) -> Option<Fields>,
) -> Option<Event> {
    let time = match shape.time.as_ref()? {
        Slot::Value(i) => match values.get(usize::from(*i))? {
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
        host: header.host.to_string(),
        channel: header.channel.to_string(),
        provider: header.provider.to_string(),
        event_id: header.event_id,
        level,
        record_id: Some(stored_id.unwrap_or(record_id)),
        activity_id,
        fields: fields?,
        source: Provenance::record(path.clone(), record_id),
    })
}

/// The payload fields: those of the template itself, then those of a nested payload template.
fn all_fields(
    shape: &TemplateShape,
    values: &[BinXmlValue<'_>],
    nested: &mut dyn FnMut(&[u8], PayloadKind) -> Option<Fields>,
) -> Option<Fields> {
    let mut out = fields(&shape.fields, &|i| value_of(&Slot::Value(i), values))?;
    if let Some((index, kind)) = shape.payload {
        match values.get(usize::from(index))? {
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

/// Fields from `slots`, reading substitution value `n` through `get`.
pub fn fields(slots: &[FieldSlot], get: &dyn Fn(u16) -> Option<FieldValue>) -> Option<Fields> {
    let mut out = Fields::with_capacity(slots.len());
    for slot in slots {
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
fn value_of(slot: &Slot, values: &[BinXmlValue<'_>]) -> Option<FieldValue> {
    match slot {
        Slot::Absent | Slot::Empty => Some(FieldValue::Null),
        Slot::Literal(_) => None,
        Slot::Value(i) => convert(values.get(usize::from(*i))?),
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

fn number(slot: &Slot, values: &[BinXmlValue<'_>]) -> Option<u64> {
    match slot {
        Slot::Literal(t) => crate::event::parse_number(t),
        _ => value_of(slot, values)?.as_u64(),
    }
}

/// A header text: `Some(None)` when the element is absent or null, `None` when it needs the
/// JSON route.
fn text_slot(
    slot: Option<&Slot>,
    values: &[BinXmlValue<'_>],
    strings: &mut Strings,
) -> Option<Option<Arc<str>>> {
    let Some(slot) = slot else {
        return Some(None);
    };
    match slot {
        Slot::Absent | Slot::Empty => Some(None),
        Slot::Literal(t) => Some(strings.get(t.as_bytes(), || Some(t.clone()))),
        Slot::Value(i) => match values.get(usize::from(*i))? {
            BinXmlValue::NullType => Some(None),
            BinXmlValue::StringType(s) => {
                // Keyed apart from literals by a leading 0xff (never the first byte of UTF-8).
                let mut key = Vec::with_capacity(s.as_bytes().len() + 1);
                key.push(0xff);
                key.extend_from_slice(s.as_bytes());
                Some(Some(strings.get(&key, || s.to_string().ok())?))
            }
            BinXmlValue::AnsiStringType(s) => Some(Some(Arc::from(*s))),
            _ => None,
        },
    }
}

/// A nested BinXML payload (a fragment holding one template instance), as read from `bytes`,
/// which lie inside `chunk`: its template's definition offset and its values, converted.
/// `None` for any other layout or a value type we do not convert.
pub fn nested_instance(chunk: &[u8], bytes: &[u8]) -> Option<(u32, Vec<Option<FieldValue>>)> {
    let start = (bytes.as_ptr() as usize).checked_sub(chunk.as_ptr() as usize)?;
    if start.checked_add(bytes.len())? > chunk.len() {
        return None;
    }
    // The instance token, with or without a fragment header before it.
    let token = match bytes {
        [0x0f, _, _, _, 0x0c, ..] => 4,
        [0x0c, ..] => 0,
        _ => return None,
    };
    let definition = u32::from_le_bytes(bytes.get(token + 6..token + 10)?.try_into().ok()?);
    let mut pos = token + 10;
    if usize::try_from(definition).ok()? == start + pos {
        let size = u32::from_le_bytes(bytes.get(pos + 20..pos + 24)?.try_into().ok()?);
        pos += 24 + usize::try_from(size).ok()?;
    }
    let count = u32::from_le_bytes(bytes.get(pos..pos + 4)?.try_into().ok()?) as usize;
    pos += 4;
    let descriptors = bytes.get(pos..pos.checked_add(count.checked_mul(4)?)?)?;
    pos += descriptors.len();
    let mut values = Vec::with_capacity(count);
    for d in descriptors.chunks_exact(4) {
        let size = usize::from(u16::from_le_bytes([d[0], d[1]]));
        let raw = bytes.get(pos..pos + size)?;
        pos += size;
        values.push(raw_value(d[2], raw));
    }
    Some((definition, values))
}

/// A value from its type byte and bytes, as [`convert`] gives it; `None` for types we leave to
/// the JSON route.
fn raw_value(value_type: u8, raw: &[u8]) -> Option<FieldValue> {
    let int = |n: usize| -> Option<u64> {
        let b = raw.get(..n)?;
        let mut buf = [0u8; 8];
        buf[..n].copy_from_slice(b);
        (raw.len() == n).then(|| u64::from_le_bytes(buf))
    };
    let value = match value_type {
        0x00 => BinXmlValue::NullType,
        0x01 => {
            if !raw.len().is_multiple_of(2) {
                return None;
            }
            let units = raw
                .chunks_exact(2)
                .position(|c| c == [0, 0])
                .unwrap_or(raw.len() / 2);
            BinXmlValue::StringType(Utf16LeSlice::new(&raw[..2 * units], units))
        }
        0x03 => BinXmlValue::Int8Type(int(1)? as u8 as i8),
        0x04 => BinXmlValue::UInt8Type(int(1)? as u8),
        0x05 => BinXmlValue::Int16Type(int(2)? as u16 as i16),
        0x06 => BinXmlValue::UInt16Type(int(2)? as u16),
        0x07 => BinXmlValue::Int32Type(int(4)? as u32 as i32),
        0x08 => BinXmlValue::UInt32Type(int(4)? as u32),
        0x09 => BinXmlValue::Int64Type(int(8)? as i64),
        0x0a => BinXmlValue::UInt64Type(int(8)?),
        0x0d => match int(4)? as u32 as i32 {
            0 => BinXmlValue::BoolType(false),
            1 => BinXmlValue::BoolType(true),
            other => BinXmlValue::Int32Type(other),
        },
        0x0e => BinXmlValue::BinaryType(raw),
        0x0f => BinXmlValue::GuidType(raw.try_into().ok()?),
        0x10 if raw.len() == 4 => BinXmlValue::HexInt32Type(int(4)? as u32),
        0x10 if raw.len() == 8 => BinXmlValue::HexInt64Type(int(8)?),
        0x11 => BinXmlValue::FileTimeType(FileTime(int(8)?)),
        0x12 => BinXmlValue::SysTimeType(SysTime::from_bytes(raw.try_into().ok()?)),
        0x13 => return sid_text(raw).map(FieldValue::Text),
        0x14 => BinXmlValue::HexInt32Type(int(4)? as u32),
        0x15 => BinXmlValue::HexInt64Type(int(8)?),
        _ => return None,
    };
    convert(&value)
}

/// A SID as `S-R-A-S1-S2…`, as the `evtx` crate writes it.
fn sid_text(raw: &[u8]) -> Option<String> {
    let [revision, count, a0, a1, a2, a3, a4, a5, subs @ ..] = raw else {
        return None;
    };
    if subs.len() != 4 * usize::from(*count) {
        return None;
    }
    let authority = u64::from_be_bytes([0, 0, *a0, *a1, *a2, *a3, *a4, *a5]);
    let mut text = format!("S-{revision}-{authority}");
    for sub in subs.chunks_exact(4) {
        text.push_str(&format!(
            "-{}",
            u32::from_le_bytes([sub[0], sub[1], sub[2], sub[3]])
        ));
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::evtx_template::tests::Builder;

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn raw_values_convert_as_their_json_rendering_reads() {
        let mut text = utf16("CONTOSO\\alice");
        text.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(
            raw_value(0x01, &text),
            Some(FieldValue::Text("CONTOSO\\alice".into()))
        );
        assert_eq!(raw_value(0x01, &[0, 0]), Some(FieldValue::Null));
        assert_eq!(
            raw_value(0x01, &utf16("0x80070040")),
            Some(FieldValue::Hex(0x8007_0040))
        );
        assert_eq!(raw_value(0x01, &[0x41]), None, "odd UTF-16 length");
        assert_eq!(
            raw_value(0x08, &2308u32.to_le_bytes()),
            Some(FieldValue::UInt(2308))
        );
        assert_eq!(
            raw_value(0x07, &(-5i32).to_le_bytes()),
            Some(FieldValue::Int(-5))
        );
        assert_eq!(
            raw_value(0x14, &0x904u32.to_le_bytes()),
            Some(FieldValue::Hex(0x904))
        );
        assert_eq!(
            raw_value(0x0d, &1u32.to_le_bytes()),
            Some(FieldValue::Bool(true))
        );
        assert_eq!(
            raw_value(0x0d, &2u32.to_le_bytes()),
            Some(FieldValue::UInt(2))
        );
        assert_eq!(
            raw_value(0x0e, &[0xde, 0xad]),
            Some(FieldValue::Text("DEAD".into()))
        );
        assert_eq!(raw_value(0x08, &[1, 2]), None, "wrong size");
        assert_eq!(raw_value(0x0b, &[0; 4]), None, "floats take the JSON route");
        // S-1-5-21-1-2-3-500
        let mut sid = vec![1, 5, 0, 0, 0, 0, 0, 5];
        for sub in [21u32, 1, 2, 3, 500] {
            sid.extend_from_slice(&sub.to_le_bytes());
        }
        assert_eq!(
            raw_value(0x13, &sid),
            Some(FieldValue::Text("S-1-5-21-1-2-3-500".into()))
        );
        assert_eq!(raw_value(0x13, &sid[..10]), None);
        // A FILETIME renders with seven fractional digits, as Windows shows it.
        let ft: u64 = 132_113_913_948_519_710;
        assert_eq!(
            raw_value(0x11, &ft.to_le_bytes()),
            Some(FieldValue::Text("2019-08-27T14:56:34.8519710Z".into()))
        );
    }

    #[test]
    fn nested_instances_are_read_with_or_without_a_fragment_header() {
        let mut b = Builder::default();
        let definition = b.definition(|b| {
            b.open("EventXML", false, None);
            b.close_start();
            b.leaf("User", 0);
            b.end();
        });
        for with_header in [true, false] {
            let start = b.chunk.len();
            if with_header {
                b.raw(&[0x0f, 0x01, 0x01, 0x00]);
            }
            b.raw(&[0x0c, 0x01, 0, 0, 0, 0]);
            b.raw(&definition.to_le_bytes());
            let user = utf16("alice");
            b.raw(&2u32.to_le_bytes());
            b.raw(&(user.len() as u16).to_le_bytes());
            b.raw(&[0x01, 0x00]);
            b.raw(&4u16.to_le_bytes());
            b.raw(&[0x08, 0x00]);
            b.raw(&user);
            b.raw(&7u32.to_le_bytes());
            let chunk = b.chunk.clone();
            let (offset, values) = nested_instance(&chunk, &chunk[start..]).unwrap();
            assert_eq!(offset, definition);
            assert_eq!(
                values,
                [
                    Some(FieldValue::Text("alice".into())),
                    Some(FieldValue::UInt(7))
                ]
            );
            // Bytes that are not inside the chunk are refused.
            let copy = chunk[start..].to_vec();
            assert!(nested_instance(&chunk, &copy).is_none());
        }
    }

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
        let got = fields(&slots, &|i| values.get(usize::from(i))?.clone()).unwrap();
        assert_eq!(got["Named"], FieldValue::Text(String::new()));
        assert_eq!(got["Other"], FieldValue::Null);
        assert!(!got.contains_key("Gone"));
        // A value we cannot convert sends the record down the JSON route.
        let unknown = [None, Some(FieldValue::UInt(1))];
        assert!(fields(&slots, &|i| unknown.get(usize::from(i))?.clone()).is_none());
    }
}
