//! Damage checks around the EVTX reader: what the file and chunk headers say about the file's
//! state, and a file view that lets a truncated file's last chunk be read.
//!
//! Takes: the evtx crate's file header and chunks as the reader meets them; the open file.
//! Produces: notes for the input report (never a reason to drop data: checksums are reported,
//! not enforced, because `validate_checksums(true)` drops whole chunks of readable records) and
//! [`PaddedFile`], which presents a file that ends inside a chunk as if that chunk were
//! zero-filled to its full 64 KiB, so the records before the cut are read, and a file that ends
//! in empty (all-zero) chunks as if it ended before them.

use super::Collector;
use evtx::{EvtxChunkHeader, EvtxFileHeader, HeaderFlags};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

/// Size of an EVTX chunk.
pub(super) const CHUNK: u64 = 65536;
/// Size of the file header block.
pub(super) const HEADER_BLOCK: u64 = 4096;
/// Size of a chunk header (covered by the header checksum, minus bytes 120..128).
pub(super) const CHUNK_HEADER: usize = 512;
/// Chunk flag: the chunk stores no checksums.
const CHUNK_NO_CRC32: u32 = 0x4;
/// How many damaged chunks a note names.
const NAMED_CHUNKS: usize = 3;

/// Notes about the file header: dirty, full, checksum mismatch.
pub fn header_notes(header: &EvtxFileHeader, collector: &mut Collector) {
    if header.flags.contains(HeaderFlags::DIRTY) {
        collector.note(
            "file header: dirty (the log was not closed cleanly — copied from a running system or after a crash, so the newest records may be missing or incomplete)"
                .into(),
        );
    }
    if header.flags.contains(HeaderFlags::FULL) {
        collector.note(
            "file header: full (the log reached its maximum size; older records may have been overwritten)"
                .into(),
        );
    }
    if !header.validate_checksum() {
        collector.note(format!(
            "file header: checksum mismatch (stored {:#010x}, computed {:#010x}): read anyway, chunk by chunk",
            header.checksum, header.computed_checksum
        ));
    }
}

/// Checks each chunk's checksums once, as its first record goes by.
#[derive(Clone, Default)]
pub struct ChunkCheck {
    last: Option<(u64, u32, u32)>,
}

impl ChunkCheck {
    /// A description of `chunk`'s checksum problem, the first time a record of it is seen.
    pub fn check(&mut self, data: &[u8], h: &EvtxChunkHeader) -> Option<String> {
        let key = (
            h.first_event_record_number,
            h.header_chunk_checksum,
            h.events_checksum,
        );
        if self.last == Some(key) {
            return None;
        }
        self.last = Some(key);
        if h.flags.bits() & CHUNK_NO_CRC32 != 0 || data.len() < CHUNK_HEADER {
            return None;
        }
        let mut header = crc32fast::Hasher::new();
        header.update(&data[..120]);
        header.update(&data[128..CHUNK_HEADER]);
        let header_ok = header.finalize() == h.header_chunk_checksum;
        let records_ok = data
            .get(CHUNK_HEADER..h.free_space_offset as usize)
            .is_some_and(|d| crc32fast::hash(d) == h.events_checksum);
        let what = match (header_ok, records_ok) {
            (true, true) => return None,
            (false, true) => "header",
            (true, false) => "records",
            (false, false) => "header and records",
        };
        Some(format!(
            "records {}–{}: {what}",
            h.first_event_record_id, h.last_event_record_id
        ))
    }
}

/// Chunks whose checksums do not match, summarised as one note.
#[derive(Default)]
pub struct BadChunks {
    count: usize,
    named: Vec<String>,
}

impl BadChunks {
    /// Count one chunk's problem, if any.
    pub fn add(&mut self, problem: Option<String>) {
        if let Some(p) = problem {
            self.count += 1;
            if self.named.len() < NAMED_CHUNKS {
                self.named.push(p);
            }
        }
    }

    /// Add the problems counted by the reader of a later part of the file.
    pub fn absorb(&mut self, later: BadChunks) {
        self.count += later.count;
        let room = NAMED_CHUNKS.saturating_sub(self.named.len());
        self.named.extend(later.named.into_iter().take(room));
    }

    /// The note, when any chunk failed its checksums.
    pub fn note(&self) -> Option<String> {
        if self.count == 0 {
            return None;
        }
        let more = if self.count > self.named.len() {
            format!(", {} more", self.count - self.named.len())
        } else {
            String::new()
        };
        Some(format!(
            "checksum mismatch in {} chunk{} ({}{more}): records read anyway (a dirty log's last chunk often has a stale checksum)",
            self.count,
            if self.count == 1 { "" } else { "s" },
            self.named.join(", ")
        ))
    }
}

/// A file seen with its last, partial chunk zero-filled to a whole chunk, and without the empty
/// chunks it ends with. Windows creates a log at its full size, so most files end in chunks that
/// were never written: the crate reads each and checks it byte by byte before skipping it. They
/// are checked here once, a block at a time, and left out.
pub struct PaddedFile {
    file: File,
    real: u64,
    len: u64,
    pos: u64,
}

impl PaddedFile {
    /// Wrap `file`; the second value is the size of the partial chunk, when the file has one.
    pub fn new(mut file: File) -> std::io::Result<(PaddedFile, Option<u64>)> {
        let real = file.seek(SeekFrom::End(0))?;
        let tail = real.saturating_sub(HEADER_BLOCK) % CHUNK;
        // A tail shorter than a chunk header holds no records.
        let partial = (real > HEADER_BLOCK && tail > 0).then_some(tail);
        let len = match partial {
            Some(t) if t >= CHUNK_HEADER as u64 => real + (CHUNK - t),
            None => without_empty_tail(&mut file, real)?,
            _ => real,
        };
        file.seek(SeekFrom::Start(0))?;
        // Bytes past `len` (an empty tail) are never read.
        let real = real.min(len);
        let padded = PaddedFile {
            file,
            real,
            len,
            pos: 0,
        };
        Ok((padded, partial))
    }
}

/// The length of a file of whole chunks without the all-zero chunks it ends with (the crate
/// skips an all-zero chunk: leaving them out changes nothing it reads).
fn without_empty_tail(file: &mut File, real: u64) -> std::io::Result<u64> {
    let mut end = real;
    let mut chunk = vec![0u8; CHUNK as usize];
    while end >= HEADER_BLOCK + CHUNK {
        file.seek(SeekFrom::Start(end - CHUNK))?;
        if file.read_exact(&mut chunk).is_err() || !all_zero(&chunk) {
            break;
        }
        end -= CHUNK;
    }
    Ok(end)
}

/// True when every byte is zero (a block at a time, without stopping early inside a block, which
/// lets the compiler use vector instructions).
pub(super) fn all_zero(bytes: &[u8]) -> bool {
    bytes
        .chunks(4096)
        .all(|block| block.iter().fold(0u8, |any, b| any | b) == 0)
}

impl Read for PaddedFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let n = if self.pos < self.real {
            let want = buf
                .len()
                .min(usize::try_from(self.real - self.pos).unwrap_or(usize::MAX));
            self.file.read(&mut buf[..want])?
        } else {
            let want = buf
                .len()
                .min(usize::try_from(self.len - self.pos).unwrap_or(usize::MAX));
            buf[..want].fill(0);
            want
        };
        if n == 0 && self.pos < self.real {
            // The file shrank while it was read: the rest reads as zeros.
            self.real = self.pos;
            return self.read(buf);
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for PaddedFile {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| std::io::Error::other("seek before the start of the file"))?;
        if target < self.real {
            self.file.seek(SeekFrom::Start(target))?;
        }
        self.pos = target;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_partial_last_chunk_reads_as_zero_filled() {
        let mut f = tempfile::tempfile().unwrap();
        let bytes: Vec<u8> = (0..(4096 + 65536 + 1000))
            .map(|i| (i % 251) as u8 + 1)
            .collect();
        f.write_all(&bytes).unwrap();
        let (mut p, partial) = PaddedFile::new(f).unwrap();
        assert_eq!(partial, Some(1000));
        assert_eq!(p.seek(SeekFrom::End(0)).unwrap(), 4096 + 2 * 65536);
        p.seek(SeekFrom::Start(0)).unwrap();
        let mut all = Vec::new();
        p.read_to_end(&mut all).unwrap();
        assert_eq!(all.len(), 4096 + 2 * 65536);
        assert_eq!(&all[..bytes.len()], &bytes[..]);
        assert!(all[bytes.len()..].iter().all(|b| *b == 0));
        p.seek(SeekFrom::Start(4096 + 65536 + 999)).unwrap();
        let mut two = [9u8; 2];
        p.read_exact(&mut two).unwrap();
        assert_eq!(two, [bytes[4096 + 65536 + 999], 0]);
    }

    #[test]
    fn a_whole_file_is_unchanged_and_a_tiny_tail_is_not_padded() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&vec![1u8; 4096 + 65536 + 100]).unwrap();
        let (mut p, partial) = PaddedFile::new(f).unwrap();
        assert_eq!(partial, Some(100));
        assert_eq!(p.seek(SeekFrom::End(0)).unwrap(), 4096 + 65536 + 100);
    }

    #[test]
    fn empty_chunks_at_the_end_are_left_out_and_the_rest_reads_unchanged() {
        let mut f = tempfile::tempfile().unwrap();
        let mut bytes = vec![1u8; 4096];
        bytes.extend(vec![0u8; 65536]); // an empty chunk before a written one: kept
        let mut written = vec![0u8; 65536];
        written[65535] = 7; // written, though only in its last byte
        bytes.extend(&written);
        bytes.extend(vec![0u8; 3 * 65536]);
        f.write_all(&bytes).unwrap();
        let (mut p, partial) = PaddedFile::new(f).unwrap();
        assert_eq!(partial, None);
        assert_eq!(p.seek(SeekFrom::End(0)).unwrap(), 4096 + 2 * 65536);
        p.seek(SeekFrom::Start(0)).unwrap();
        let mut all = Vec::new();
        p.read_to_end(&mut all).unwrap();
        assert_eq!(all, bytes[..4096 + 2 * 65536]);
    }

    #[test]
    fn a_file_of_empty_chunks_keeps_its_header_block() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&[vec![1u8; 4096], vec![0u8; 2 * 65536]].concat())
            .unwrap();
        let (mut p, _) = PaddedFile::new(f).unwrap();
        assert_eq!(p.seek(SeekFrom::End(0)).unwrap(), 4096);
        assert!(all_zero(&[0; 10_000]) && !all_zero(&[0, 0, 0, 1]));
    }

    #[test]
    fn bad_chunks_are_summarised() {
        let mut b = BadChunks::default();
        assert!(b.note().is_none());
        for i in 0..5 {
            b.add(Some(format!("records {i}–{i}: header")));
        }
        b.add(None);
        let note = b.note().unwrap();
        assert!(note.starts_with("checksum mismatch in 5 chunks"), "{note}");
        assert!(note.contains("2 more"), "{note}");
    }
}
