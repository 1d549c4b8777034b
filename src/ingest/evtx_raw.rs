//! Records and substitution values read straight from a chunk's bytes.
//!
//! Takes: the bytes of one EVTX chunk and its parsed header.
//! Produces: the chunk's live records ([`live_records`]: record id and BinXML window, walked the
//! way the `evtx` crate walks them) and, for a record that is one template instance, its
//! template's definition offset and its values ([`record_instance`], as [`RawValue`]s: type byte
//! and bytes, nothing decoded yet).
//!
//! This is the fast path of the EVTX reader: for a record it does not need, the reader spends a
//! few dozen bytes of parsing instead of the crate building the record's whole content. It is
//! strict on purpose: a chunk whose records are not all plainly laid out (a damaged record, a
//! value whose size does not fit its type, content other than one template instance) gives
//! `None`, and the reader hands that chunk to the crate as before. Stale records in the slack
//! are left to the crate to carve ([`slack_holds_records`], [`hide_records`]). The samples and
//! corpus tests hold both paths equal.

use crate::event::FieldValue;
use evtx::EvtxChunkHeader;
use evtx::Utf16LeSlice;
use evtx::binxml::value_variant::{BinXmlValue, FileTime, SysTime};

/// Size of a chunk header; the first record follows it.
const CHUNK_HEADER: usize = 512;
/// Size of a record header (magic, size, record id, FILETIME).
const RECORD_HEADER: usize = 24;
/// A record starts with these bytes.
const RECORD_MAGIC: [u8; 4] = [0x2a, 0x2a, 0x00, 0x00];
/// FILETIMEs at or beyond this (year 9999) are left to the crate to judge.
const LAST_FILETIME: u64 = 2_650_000_000_000_000_000;

/// One substitution value: its BinXML type byte and its bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RawValue<'a> {
    /// The value type (MS-EVEN6 §2.2.8: 0x01 string, 0x08 UInt32, 0x21 BinXML, …).
    pub kind: u8,
    /// The value's bytes, as long as its descriptor says.
    pub bytes: &'a [u8],
}

/// A live record of a chunk.
#[derive(Clone, Copy, Debug)]
pub struct RawRecord<'a> {
    /// The record header's EventRecordID.
    pub record_id: u64,
    /// The record's BinXML.
    pub binxml: &'a [u8],
}

/// The chunk's live records in order, or `None` when the chunk needs the crate's walk: a record
/// it cannot read, or (with `carve`) anything looking like a record in the slack after them.
/// Kept for the tests: the reader calls [`live_walk`] and [`slack_holds_records`] itself.
#[cfg(test)]
pub fn live_records<'a>(
    data: &'a [u8],
    header: &EvtxChunkHeader,
    carve: bool,
) -> Option<Vec<RawRecord<'a>>> {
    let (records, slack) = live_walk(data, header)?;
    if carve && slack_holds_records(data, slack) {
        return None;
    }
    Some(records)
}

/// The chunk's live records in order and the offset where its slack starts (where the crate
/// starts carving stale records), or `None` when a record needs the crate's walk.
pub fn live_walk<'a>(
    data: &'a [u8],
    header: &EvtxChunkHeader,
) -> Option<(Vec<RawRecord<'a>>, usize)> {
    let live_end = (header.free_space_offset as usize).min(data.len());
    let mut records = Vec::with_capacity(128);
    let mut offset = CHUNK_HEADER;
    while offset < live_end {
        let head = data.get(offset..offset + RECORD_HEADER)?;
        let size = u32::from_le_bytes(head[4..8].try_into().ok()?) as usize;
        let filetime = u64::from_le_bytes(head[16..24].try_into().ok()?);
        if head[..4] != RECORD_MAGIC || size < RECORD_HEADER + 4 || filetime >= LAST_FILETIME {
            return None;
        }
        let record_id = u64::from_le_bytes(head[8..16].try_into().ok()?);
        let binxml = data.get(offset + RECORD_HEADER..offset + size - 4)?;
        records.push(RawRecord { record_id, binxml });
        offset += size;
        if record_id == header.last_event_record_id {
            break;
        }
    }
    Some((records, offset.min(data.len())))
}

/// True when the slack from `slack` on holds anything looking like a record (its magic).
pub fn slack_holds_records(data: &[u8], slack: usize) -> bool {
    data.get(slack..)
        .is_some_and(|rest| memchr::memmem::find(rest, &RECORD_MAGIC).is_some())
}

/// `data` with every record magic in `live` (a range of it) overwritten with zeros, so that a
/// walk of the chunk finds no record there: what is left to find is in the slack.
pub fn hide_records(data: &mut [u8], live: std::ops::Range<usize>) {
    let Some(area) = data.get_mut(live) else {
        return;
    };
    let hits: Vec<usize> = memchr::memmem::find_iter(area, &RECORD_MAGIC).collect();
    for at in hits {
        area[at..at + RECORD_MAGIC.len()].fill(0);
    }
}

/// A record that is a fragment header, one template instance and the end-of-stream token: its
/// template's definition offset and values.
pub fn record_instance<'a>(chunk: &'a [u8], binxml: &'a [u8]) -> Option<(u32, Vec<RawValue<'a>>)> {
    if !binxml.starts_with(&[0x0f, 0x01, 0x01, 0x00, 0x0c]) {
        return None;
    }
    // Room for the System values and a few more without growing.
    let mut values = Vec::with_capacity(32);
    let (definition, end) = instance(chunk, binxml, 4, |v| values.push(v))?;
    (*binxml.get(end)? == 0x00).then_some((definition, values))
}

/// A nested BinXML payload (a fragment holding one template instance), as read from `bytes`,
/// which lie inside `chunk`: its template's definition offset and its values, converted.
/// `None` for any other layout or a value type we do not convert.
pub fn nested_instance(chunk: &[u8], bytes: &[u8]) -> Option<(u32, Vec<Option<FieldValue>>)> {
    let mut values = Vec::new();
    let (definition, _) = instance(chunk, bytes, nested_token(bytes)?, |v| {
        values.push(v.field());
    })?;
    Some((definition, values))
}

/// The definition offset of a nested BinXML value that is one template instance (with or without
/// a fragment header) followed by the end of the value or the end-of-stream token; `None` for
/// anything else. Checks every record's nested values, so it keeps nothing.
pub fn nested_definition(chunk: &[u8], bytes: &[u8]) -> Option<u32> {
    let (definition, end) = instance(chunk, bytes, nested_token(bytes)?, |_| {})?;
    matches!(bytes.get(end), None | Some(0x00)).then_some(definition)
}

/// Where the instance token of a nested BinXML value is: with or without a fragment header.
fn nested_token(bytes: &[u8]) -> Option<usize> {
    match bytes {
        [0x0f, _, _, _, 0x0c, ..] => Some(4),
        [0x0c, ..] => Some(0),
        _ => None,
    }
}

/// The template instance whose token is at `token` in `bytes` (which lie inside `chunk`): each
/// of its values to `each`, in order; its definition offset (an inline definition is skipped)
/// and where its values end.
fn instance<'a>(
    chunk: &[u8],
    bytes: &'a [u8],
    token: usize,
    mut each: impl FnMut(RawValue<'a>),
) -> Option<(u32, usize)> {
    let start = (bytes.as_ptr() as usize).checked_sub(chunk.as_ptr() as usize)?;
    if start.checked_add(bytes.len())? > chunk.len() {
        return None;
    }
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
    for d in descriptors.chunks_exact(4) {
        let size = usize::from(u16::from_le_bytes([d[0], d[1]]));
        let value = RawValue {
            kind: d[2],
            bytes: bytes.get(pos..pos + size)?,
        };
        if !value.plausible() {
            return None;
        }
        pos += size;
        each(value);
    }
    Some((definition, pos))
}

impl<'a> RawValue<'a> {
    /// True when the size fits the type, so the crate would read the value as we do.
    fn plausible(&self) -> bool {
        let n = self.bytes.len();
        match self.kind {
            // ANSI text decodes with the crate's default codec (windows-1252: every byte maps).
            0x00 | 0x02 | 0x0e | 0x21 | 0x83 | 0x84 => true,
            0x01 | 0x81 => n.is_multiple_of(2),
            0x03 | 0x04 => n == 1,
            0x05 | 0x06 => n == 2,
            0x07 | 0x08 | 0x0b | 0x0d | 0x14 => n == 4,
            0x09 | 0x0a | 0x0c | 0x11 | 0x15 => n == 8,
            0x0f | 0x12 => n == 16,
            0x10 => n == 4 || n == 8,
            0x13 => n >= 8 && n == 8 + 4 * usize::from(self.bytes[1]),
            0x85 | 0x86 => n.is_multiple_of(2),
            0x87 | 0x88 | 0x8b | 0x8d | 0x94 => n.is_multiple_of(4),
            0x89 | 0x8a | 0x8c | 0x91 | 0x95 => n.is_multiple_of(8),
            0x8f | 0x92 => n.is_multiple_of(16),
            _ => false,
        }
    }

    /// The value as the crate would decode it; `None` for a SID and for types the direct route
    /// leaves to the JSON route.
    pub fn decoded(&self) -> Option<BinXmlValue<'a>> {
        let raw = self.bytes;
        let int = |n: usize| -> Option<u64> {
            let b = raw.get(..n)?;
            let mut buf = [0u8; 8];
            buf[..n].copy_from_slice(b);
            (raw.len() == n).then(|| u64::from_le_bytes(buf))
        };
        Some(match self.kind {
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
            0x14 => BinXmlValue::HexInt32Type(int(4)? as u32),
            0x15 => BinXmlValue::HexInt64Type(int(8)?),
            0x21 => BinXmlValue::BinXmlType(raw),
            _ => return None,
        })
    }

    /// The value as [`super::evtx_direct::convert`] gives it; `None` for types left to the JSON
    /// route.
    pub fn field(&self) -> Option<FieldValue> {
        if self.kind == 0x13 {
            return sid_text(self.bytes).map(FieldValue::Text);
        }
        match self.decoded()? {
            BinXmlValue::BinXmlType(_) => None,
            value => super::evtx_direct::convert(&value),
        }
    }
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
pub(crate) mod tests;
