//! 64 KiB chunks and the file header.
//!
//! Takes: template instances with their record ids and times, one at a time.
//! Produces: finished chunks — 512-byte header (record ids, last-record and free-space offsets,
//! the 64-bucket common-string table and the 32-bucket template pointer table with their hash
//! chains, both CRC32s), then records padded to 8 bytes that never cross the chunk's end — and
//! the 4096-byte file header with its CRC32.

use super::EvtxWriteError;
use super::binxml::{BinXmlWriter, Tables, name_hash};
use super::template::Instance;

/// Size of the file header block.
pub(super) const FILE_HEADER_SIZE: usize = 4096;
/// Size of a chunk.
pub(super) const CHUNK_SIZE: usize = 65536;
/// Size of a chunk header; records start here.
const CHUNK_HEADER_SIZE: usize = 512;
/// Size of a record header (magic, size, id, written time).
const RECORD_HEADER_SIZE: usize = 24;
/// Size of the record trailer (a copy of the size).
const RECORD_TRAILER_SIZE: usize = 4;
/// Where the common-string offset table (64 × u32) starts in a chunk header.
const STRING_TABLE_OFFSET: usize = 128;
/// Where the template pointer table (32 × u32) starts in a chunk header.
const TEMPLATE_TABLE_OFFSET: usize = 384;

fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
    buf[at..at + bytes.len()].copy_from_slice(bytes);
}

/// A chunk being filled.
pub(super) struct Chunk {
    data: Vec<u8>,
    /// Offset of the next record.
    free: usize,
    tables: Tables,
    /// First and last record id, once a record is in.
    ids: Option<(u64, u64)>,
    last_record_offset: usize,
}

impl Chunk {
    pub fn new() -> Self {
        Chunk {
            data: vec![0; CHUNK_SIZE],
            free: CHUNK_HEADER_SIZE,
            tables: Tables::default(),
            ids: None,
            last_record_offset: CHUNK_HEADER_SIZE,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_none()
    }

    /// Appends the record if it fits. `Ok(false)`: it does not fit in what is left of the chunk
    /// (the chunk is unchanged). The BinXML is built for this chunk's offsets and tables.
    pub fn try_append(
        &mut self,
        record_id: u64,
        filetime: u64,
        instance: &Instance,
    ) -> Result<bool, EvtxWriteError> {
        let base = (self.free + RECORD_HEADER_SIZE) as u32;
        let (binxml, defined) = BinXmlWriter::new(base, &self.tables).record(instance)?;
        let unpadded = RECORD_HEADER_SIZE + binxml.len() + RECORD_TRAILER_SIZE;
        let size = unpadded.next_multiple_of(8);
        if self.free + size > CHUNK_SIZE {
            if self.is_empty() {
                return Err(EvtxWriteError::RecordTooLarge { bytes: size });
            }
            return Ok(false);
        }
        let record = &mut self.data[self.free..self.free + size];
        put(record, 0, b"**\0\0");
        put(record, 4, &(size as u32).to_le_bytes());
        put(record, 8, &record_id.to_le_bytes());
        put(record, 16, &filetime.to_le_bytes());
        put(record, RECORD_HEADER_SIZE, &binxml);
        // The padding stays zero.
        put(
            record,
            size - RECORD_TRAILER_SIZE,
            &(size as u32).to_le_bytes(),
        );
        self.tables.merge(defined);
        self.last_record_offset = self.free;
        self.free += size;
        let first = self.ids.map_or(record_id, |(first, _)| first);
        self.ids = Some((first, record_id));
        Ok(true)
    }

    /// The finished chunk: hash chains linked, header filled in, checksums set.
    pub fn finish(mut self) -> Vec<u8> {
        self.link_names();
        self.link_templates();
        let (first, last) = self.ids.unwrap_or((0, 0));
        let header = &mut self.data[..CHUNK_HEADER_SIZE];
        put(header, 0, b"ElfChnk\0");
        // First and last record number, then first and last record id: equal in a fresh log.
        for (at, id) in [(8, first), (16, last), (24, first), (32, last)] {
            put(header, at, &id.to_le_bytes());
        }
        put(header, 40, &128u32.to_le_bytes());
        put(header, 44, &(self.last_record_offset as u32).to_le_bytes());
        put(header, 48, &(self.free as u32).to_le_bytes());
        let records_crc = crc32fast::hash(&self.data[CHUNK_HEADER_SIZE..self.free]);
        put(&mut self.data, 52, &records_crc.to_le_bytes());
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&self.data[..120]);
        hasher.update(&self.data[128..CHUNK_HEADER_SIZE]);
        put(&mut self.data, 124, &hasher.finalize().to_le_bytes());
        self.data
    }

    /// Chains the name entries into the 64 buckets (bucket = hash % 64), newest first, as
    /// Windows does: each entry links to the one that headed its bucket before it.
    fn link_names(&mut self) {
        let mut heads = [0u32; 64];
        for &(offset, hash) in &self.tables.name_entries {
            let bucket = usize::from(hash) % heads.len();
            put(
                &mut self.data,
                offset as usize,
                &heads[bucket].to_le_bytes(),
            );
            heads[bucket] = offset;
        }
        for (i, head) in heads.iter().enumerate() {
            put(
                &mut self.data,
                STRING_TABLE_OFFSET + 4 * i,
                &head.to_le_bytes(),
            );
        }
    }

    /// Chains the template definitions into the 32 buckets, newest first. The bucket is the
    /// MS-EVEN6 name hash of the GUID read as eight UTF-16 units, modulo 32 (which is what real
    /// chunks hold).
    fn link_templates(&mut self) {
        let mut heads = [0u32; 32];
        for template in &self.tables.template_entries {
            let units = template
                .guid
                .chunks_exact(2)
                .map(|pair| u16::from_le_bytes([pair[0], pair[1]]));
            let bucket = usize::from(name_hash(units)) % heads.len();
            let offset = template.offset as usize;
            put(&mut self.data, offset, &heads[bucket].to_le_bytes());
            heads[bucket] = template.offset;
        }
        for (i, head) in heads.iter().enumerate() {
            put(
                &mut self.data,
                TEMPLATE_TABLE_OFFSET + 4 * i,
                &head.to_le_bytes(),
            );
        }
    }
}

/// The file header block for `chunk_count` chunks, the last record id being `next_record_id - 1`.
pub(super) fn file_header(chunk_count: u16, next_record_id: u64) -> Vec<u8> {
    let mut header = vec![0u8; FILE_HEADER_SIZE];
    put(&mut header, 0, b"ElfFile\0");
    put(&mut header, 8, &0u64.to_le_bytes()); // oldest chunk
    let current = u64::from(chunk_count.saturating_sub(1));
    put(&mut header, 16, &current.to_le_bytes());
    put(&mut header, 24, &next_record_id.to_le_bytes());
    put(&mut header, 32, &128u32.to_le_bytes());
    put(&mut header, 36, &1u16.to_le_bytes()); // minor version
    put(&mut header, 38, &3u16.to_le_bytes()); // major version
    put(&mut header, 40, &(FILE_HEADER_SIZE as u16).to_le_bytes());
    put(&mut header, 42, &chunk_count.to_le_bytes());
    put(&mut header, 120, &0u32.to_le_bytes()); // flags: clean, not full
    let crc = crc32fast::hash(&header[..120]);
    put(&mut header, 124, &crc.to_le_bytes());
    header
}
