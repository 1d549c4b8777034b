//! Byte-level checks of the layout, independent of the `evtx` crate.
//!
//! Takes: files written from the fixtures.
//! Produces: assertions on what libevtx and python-evtx rely on and the `evtx` crate skips:
//! the file header, chunk headers, record framing, the string and template tables (hashes,
//! buckets, chains), and — by walking every record's BinXML — exact element, attribute-list,
//! template-definition and value sizes, inline names' hashes and template ids.

use super::super::binxml::name_hash;
use super::{fixtures, write};
use crate::evtx_writer::{EvtxWriter, Payload, Value};
use std::collections::HashSet;

const CHUNK: usize = 65536;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Walks the BinXML of one chunk's records, checking every size it meets.
struct Walker<'c> {
    chunk: &'c [u8],
    /// Offsets of the names and template definitions met inline, to compare with the tables.
    names: HashSet<u32>,
    templates: HashSet<u32>,
}

impl Walker<'_> {
    fn fail<T>(&self, at: usize, what: &str) -> Result<T, String> {
        Err(format!("chunk offset {at}: {what}"))
    }

    /// A name reference at `at`; an inline entry right after it is checked and skipped.
    fn name(&mut self, at: usize) -> Result<usize, String> {
        let offset = u32_at(self.chunk, at) as usize;
        if offset != at + 4 {
            return match offset < at && self.names.contains(&(offset as u32)) {
                true => Ok(at + 4),
                false => self.fail(at, "name reference to no earlier entry"),
            };
        }
        let length = usize::from(u16_at(self.chunk, offset + 6));
        let units = (0..length).map(|i| u16_at(self.chunk, offset + 8 + 2 * i));
        if name_hash(units) != u16_at(self.chunk, offset + 4) {
            return self.fail(offset, "name hash");
        }
        if u16_at(self.chunk, offset + 8 + 2 * length) != 0 {
            return self.fail(offset, "name without NUL");
        }
        self.names.insert(offset as u32);
        Ok(offset + 8 + 2 * length + 2)
    }

    /// Value text or a substitution (attribute values and element content).
    fn character_data(&mut self, at: usize) -> Result<usize, String> {
        match self.chunk[at] {
            0x05 => Ok(at + 4 + 2 * usize::from(u16_at(self.chunk, at + 2))),
            0x0d | 0x0e => Ok(at + 4),
            token => self.fail(at, &format!("unexpected token {token:#04x}")),
        }
    }

    /// An element of a template definition; checks its data size and attribute-list size.
    fn element(&mut self, at: usize) -> Result<usize, String> {
        let token = self.chunk[at];
        let size = u32_at(self.chunk, at + 3) as usize;
        let body = at + 7;
        let mut p = self.name(body)?;
        if token & 0x40 != 0 {
            let list_size = u32_at(self.chunk, p) as usize;
            let list = p + 4;
            p = list;
            loop {
                let attribute = self.chunk[p];
                if attribute & 0x1f != 0x06 {
                    return self.fail(p, "attribute token expected");
                }
                let value = self.name(p + 1)?;
                p = self.character_data(value)?;
                if attribute & 0x40 == 0 {
                    break;
                }
            }
            if p - list != list_size {
                return self.fail(at, "attribute-list size");
            }
        }
        p = match self.chunk[p] {
            0x03 => p + 1,
            0x02 => self.content(p + 1)?,
            _ => return self.fail(p, "close token expected"),
        };
        match p - body == size {
            true => Ok(p),
            false => self.fail(at, &format!("element size {size}, actual {}", p - body)),
        }
    }

    /// Element content up to and including the end-element token.
    fn content(&mut self, mut p: usize) -> Result<usize, String> {
        loop {
            p = match self.chunk[p] {
                0x04 => return Ok(p + 1),
                0x01 | 0x41 => self.element(p)?,
                _ => self.character_data(p)?,
            };
        }
    }

    /// A template instance: the definition inline or by reference, then the values.
    fn instance(&mut self, at: usize) -> Result<usize, String> {
        if self.chunk[at] != 0x0c || self.chunk[at + 1] != 0x01 {
            return self.fail(at, "template instance expected");
        }
        let definition = u32_at(self.chunk, at + 6) as usize;
        let mut p = at + 10;
        if definition == p {
            let data_size = u32_at(self.chunk, p + 20) as usize;
            let body = p + 24;
            if self.chunk[body..body + 4] != [0x0f, 1, 1, 0] {
                return self.fail(body, "fragment header expected");
            }
            let end = self.element(body + 4)?;
            if self.chunk[end] != 0x00 || end + 1 - body != data_size {
                return self.fail(p, "template definition data size");
            }
            self.templates.insert(definition as u32);
            p = body + data_size;
        } else if !self.templates.contains(&(definition as u32)) {
            return self.fail(at, "reference to no earlier template definition");
        }
        if self.chunk[at + 2..at + 6] != self.chunk[definition + 4..definition + 8] {
            return self.fail(at, "template id is not the GUID's first four bytes");
        }
        self.values(p)
    }

    /// Template instance data; nested BinXML values are walked and must fill their size.
    fn values(&mut self, at: usize) -> Result<usize, String> {
        let count = u32_at(self.chunk, at) as usize;
        let mut p = at + 4 + 4 * count;
        for i in 0..count {
            let size = usize::from(u16_at(self.chunk, at + 4 + 4 * i));
            if self.chunk[at + 4 + 4 * i + 2] == 0x21 {
                let start = if self.chunk[p] == 0x0f { p + 4 } else { p };
                let end = self.instance(start)?;
                if self.chunk[end] != 0x00 || end + 1 - p != size {
                    return self.fail(p, "BinXML value size");
                }
            }
            p += size;
        }
        Ok(p)
    }
}

/// Checks the file header and every chunk of `file`; returns the chunk count.
fn check_file(file: &[u8], records: usize) -> usize {
    assert_eq!(&file[..8], b"ElfFile\0");
    let chunks = (file.len() - 4096) / CHUNK;
    assert_eq!((file.len() - 4096) % CHUNK, 0);
    assert_eq!(u64_at(file, 8), 0, "oldest chunk");
    assert_eq!(u64_at(file, 16), chunks as u64 - 1, "current chunk");
    assert_eq!(u64_at(file, 24), records as u64 + 1, "next record id");
    assert_eq!(
        (u32_at(file, 32), u16_at(file, 36), u16_at(file, 38)),
        (128, 1, 3)
    );
    assert_eq!(
        (u16_at(file, 40), usize::from(u16_at(file, 42))),
        (4096, chunks)
    );
    assert_eq!(u32_at(file, 120), 0, "flags");
    assert_eq!(u32_at(file, 124), crc32fast::hash(&file[..120]));
    let mut next_id = 1;
    for (i, chunk) in file[4096..].chunks(CHUNK).enumerate() {
        next_id = check_chunk(chunk, next_id).unwrap_or_else(|e| panic!("chunk {i}: {e}"));
    }
    assert_eq!(next_id, records as u64 + 1);
    chunks
}

/// Checks one chunk whose first record should be `first_id`; returns the id after its last.
fn check_chunk(chunk: &[u8], first_id: u64) -> Result<u64, String> {
    assert_eq!(&chunk[..8], b"ElfChnk\0");
    assert_eq!(u32_at(chunk, 40), 128);
    let free = u32_at(chunk, 48) as usize;
    let mut walker = Walker {
        chunk,
        names: HashSet::new(),
        templates: HashSet::new(),
    };
    let (mut at, mut id, mut last) = (512, first_id, 0);
    while at < free {
        let size = u32_at(chunk, at + 4) as usize;
        assert_eq!(&chunk[at..at + 4], b"**\0\0");
        assert_eq!((size % 8, u32_at(chunk, at + size - 4) as usize), (0, size));
        assert_eq!(u64_at(chunk, at + 8), id);
        assert_eq!(&chunk[at + 24..at + 28], [0x0f, 1, 1, 0]);
        let end = walker.instance(at + 28)?;
        assert!(
            chunk[end..at + size - 4].iter().all(|&b| b == 0),
            "EOF and zero padding"
        );
        (last, at, id) = (at, at + size, id + 1);
    }
    assert!(
        free <= CHUNK && at == free,
        "records end at the free-space offset"
    );
    assert_eq!(u32_at(chunk, 44) as usize, last, "last record offset");
    let ids = [8, 16, 24, 32].map(|o| u64_at(chunk, o));
    assert_eq!(ids, [first_id, id - 1, first_id, id - 1]);
    assert_eq!(u32_at(chunk, 52), crc32fast::hash(&chunk[512..free]));
    let header_crc = crc32fast::hash(&[&chunk[..120], &chunk[128..512]].concat());
    assert_eq!(u32_at(chunk, 124), header_crc);
    assert_eq!(
        string_table(chunk),
        walker.names,
        "every name, chained in its bucket"
    );
    assert_eq!(
        template_table(chunk),
        walker.templates,
        "every template, chained"
    );
    Ok(id)
}

/// The name entries reachable from the 64 buckets; each must hash into its bucket.
fn string_table(chunk: &[u8]) -> HashSet<u32> {
    let mut reachable = HashSet::new();
    for bucket in 0..64 {
        let mut entry = u32_at(chunk, 128 + 4 * bucket);
        while entry != 0 {
            assert_eq!(usize::from(u16_at(chunk, entry as usize + 4)) % 64, bucket);
            assert!(reachable.insert(entry), "chain loops");
            entry = u32_at(chunk, entry as usize);
        }
    }
    reachable
}

/// The template definitions reachable from the 32 buckets, checked the way python-evtx finds
/// them (the instance token 10 bytes before, the offset 4 bytes before) and bucketed as in
/// real chunks (name hash of the GUID, modulo 32).
fn template_table(chunk: &[u8]) -> HashSet<u32> {
    let mut reachable = HashSet::new();
    for bucket in 0..32 {
        let mut entry = u32_at(chunk, 384 + 4 * bucket);
        while entry != 0 {
            let at = entry as usize;
            assert_eq!((chunk[at - 10], u32_at(chunk, at - 4)), (0x0c, entry));
            let guid_units = (0..8).map(|i| u16_at(chunk, at + 4 + 2 * i));
            assert_eq!(usize::from(name_hash(guid_units)) % 32, bucket);
            assert!(reachable.insert(entry), "chain loops");
            entry = u32_at(chunk, at);
        }
    }
    reachable
}

#[test]
fn every_fixture_file_has_the_windows_layout() {
    for (name, records) in fixtures::fixture_files() {
        let chunks = check_file(&write(&records), records.len());
        assert!(chunks >= 1, "{name}");
    }
}

#[test]
fn many_records_span_many_chunks_with_names_redefined() {
    let records = fixtures::many_records(3000);
    let file = write(&records);
    let chunks = check_file(&file, records.len());
    assert!(chunks > 10, "{chunks} chunks");
    // Every chunk defines its own names: "Event" is in each chunk's table.
    for chunk in file[4096..].chunks(CHUNK) {
        let has_event = string_table(chunk).iter().any(|&entry| {
            let at = entry as usize;
            u16_at(chunk, at + 6) == 5 && chunk[at + 8..at + 18] == *b"E\0v\0e\0n\0t\0"
        });
        assert!(has_event);
    }
}

#[test]
fn a_template_is_defined_once_per_chunk_and_referenced_after() {
    let records = fixtures::lsm_records();
    let file = write(&records);
    let chunk = &file[4096..];
    let first = 512;
    let second = first + u32_at(chunk, first + 4) as usize;
    // Record 1 defines the <Event> template right after its instance header.
    assert_eq!(u32_at(chunk, first + 34) as usize, first + 38);
    // Record 2 points back at it, and its payload template too.
    assert_eq!(u32_at(chunk, second + 34) as usize, first + 38);
    assert!(u32_at(chunk, second + 4) < u32_at(chunk, first + 4) / 2);
    assert_eq!(template_table(chunk).len(), 2);
}

/// The size of record `id` in `file`, found by walking every chunk's records.
fn record_size(file: &[u8], id: u64) -> Option<usize> {
    file[4096..].chunks(CHUNK).find_map(|chunk| {
        let (free, mut at) = (u32_at(chunk, 48) as usize, 512);
        while at < free {
            let size = u32_at(chunk, at + 4) as usize;
            if u64_at(chunk, at + 8) == id {
                return Some(size);
            }
            at += size;
        }
        None
    })
}

#[test]
fn a_large_payload_moves_to_a_new_chunk_instead_of_crossing() {
    let mut big = fixtures::rcm_records().remove(0);
    big.payload = Payload::EventData(vec![
        ("Blob".into(), Value::Binary(vec![0xa5; 50_000])),
        ("Note".into(), Value::String("é".repeat(5_000))),
    ]);
    let small = fixtures::rcm_records().remove(1);
    let mut writer = EvtxWriter::new();
    let smalls = |writer: &mut EvtxWriter| (0..30).for_each(|_| _ = writer.push(&small).unwrap());
    smalls(&mut writer);
    let big_id = writer.push(&big).unwrap();
    smalls(&mut writer);
    let file = writer.finish();
    assert!(check_file(&file, 61) >= 2, "a second chunk");
    assert!(record_size(&file, big_id).unwrap() > 60_000);
}
