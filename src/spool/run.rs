//! Run files: sorted events written to an anonymous temporary file, and read back in order.
//!
//! Takes: entries in key order ([`RunWriter::add`]).
//! Produces: a [`RunFile`], read back by a [`RunReader`] one entry at a time (or scanned for
//! record ids and times by [`RunFile::scan`]).
//!
//! The format is private to one process: per entry, little-endian, the key (`secs` i64,
//! `nanos` u32, `position` u64, `seq` u64), the record id (flag u8, value u64), whether `input`
//! is written (u8: not when it equals `path`), then `host`, `path`, `input` and the JSONL line,
//! each as a u32 length and its bytes.

use super::{Key, RecordTime};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

/// Buffer of a run's writer and of each reader (a merge holds one reader per run file).
const BUFFER: usize = 64 << 10;

/// A sorted run on disk.
pub(super) struct RunFile {
    pub(super) file: File,
}

/// Writes one run file.
pub(super) struct RunWriter {
    out: BufWriter<File>,
}

impl RunWriter {
    /// A new anonymous file in `dir`.
    pub(super) fn create(dir: &Path) -> std::io::Result<Self> {
        let file = tempfile::tempfile_in(dir)?;
        Ok(RunWriter {
            out: BufWriter::with_capacity(BUFFER, file),
        })
    }

    /// Append one entry (entries must come in key order).
    pub(super) fn add(
        &mut self,
        key: &Key,
        record_id: Option<u64>,
        line: &[u8],
    ) -> std::io::Result<()> {
        let out = &mut self.out;
        let fixed = fixed_part(key, record_id);
        out.write_all(&fixed)?;
        let input = (fixed[FIXED - 1] != 0).then_some(key.input.as_bytes());
        let texts = [
            Some(key.host.as_bytes()),
            Some(key.path.as_bytes()),
            input,
            Some(line),
        ];
        for bytes in texts.into_iter().flatten() {
            let len = u32::try_from(bytes.len()).map_err(|_| invalid("entry over 4 GiB"))?;
            out.write_all(&len.to_le_bytes())?;
            out.write_all(bytes)?;
        }
        Ok(())
    }

    /// The written run.
    pub(super) fn finish(self) -> std::io::Result<RunFile> {
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        Ok(RunFile { file })
    }
}

impl RunFile {
    /// A reader from the start of the run.
    pub(super) fn reader(mut self) -> std::io::Result<RunReader> {
        self.file.seek(SeekFrom::Start(0))?;
        Ok(RunReader::new(self.file))
    }

    /// Call `found` with the record id and time of every entry, in order (reads the fixed part
    /// of each entry and skips its texts).
    pub(super) fn scan(&mut self, mut found: impl FnMut(RecordTime)) -> std::io::Result<()> {
        self.file.seek(SeekFrom::Start(0))?;
        let mut input = BufReader::with_capacity(BUFFER, &self.file);
        while let Some(fixed) = read_fixed(&mut input)? {
            found((fixed.record_id, fixed.secs, fixed.nanos));
            for _ in 0..3 + usize::from(fixed.own_input) {
                let mut len = [0u8; 4];
                input.read_exact(&mut len)?;
                input.seek_relative(i64::from(u32::from_le_bytes(len)))?;
            }
        }
        Ok(())
    }
}

/// Bytes of an entry before its texts: secs, nanos, position, seq, record flag, record id, and
/// whether the input is written (it is left out when it is the file the source names, as it is
/// for every format but rdptriage's JSONL).
const FIXED: usize = 8 + 4 + 8 + 8 + 1 + 8 + 1;

/// The part of an entry before its texts.
struct Fixed {
    secs: i64,
    nanos: u32,
    position: u64,
    seq: u64,
    record_id: Option<u64>,
    own_input: bool,
}

/// The fixed part of an entry, as written.
fn fixed_part(key: &Key, record_id: Option<u64>) -> [u8; FIXED] {
    let mut bytes = [0u8; FIXED];
    bytes[0..8].copy_from_slice(&key.secs.to_le_bytes());
    bytes[8..12].copy_from_slice(&key.nanos.to_le_bytes());
    bytes[12..20].copy_from_slice(&key.position.to_le_bytes());
    bytes[20..28].copy_from_slice(&key.seq.to_le_bytes());
    bytes[28] = u8::from(record_id.is_some());
    bytes[29..37].copy_from_slice(&record_id.unwrap_or(0).to_le_bytes());
    bytes[37] = u8::from(key.input != key.path);
    bytes
}

/// The fixed part of the next entry; `None` at the end of the run.
fn read_fixed(input: &mut impl Read) -> std::io::Result<Option<Fixed>> {
    let mut bytes = [0u8; FIXED];
    match input.read_exact(&mut bytes) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    Ok(Some(Fixed {
        secs: i64::from_le_bytes(bytes[0..8].try_into().expect("8 bytes")),
        nanos: u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")),
        position: u64_at(12),
        seq: u64_at(20),
        record_id: (bytes[28] != 0).then(|| u64_at(29)),
        own_input: bytes[37] != 0,
    }))
}

/// Reads a run's entries in order; the current one is [`RunReader::key`] and
/// [`RunReader::line`].
pub(super) struct RunReader {
    input: BufReader<File>,
    key: Option<Key>,
    record_id: Option<u64>,
    line: Vec<u8>,
    scratch: Vec<u8>,
}

impl RunReader {
    /// A reader from where `file` stands.
    fn new(file: File) -> Self {
        RunReader {
            input: BufReader::with_capacity(BUFFER, file),
            key: None,
            record_id: None,
            line: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// The current entry's key; `None` before the first [`RunReader::advance`] and at the end.
    pub(super) fn key(&self) -> Option<&Key> {
        self.key.as_ref()
    }

    /// The current entry's record id.
    pub(super) fn record_id(&self) -> Option<u64> {
        self.record_id
    }

    /// The current entry's line.
    pub(super) fn line(&self) -> &[u8] {
        &self.line
    }

    /// Read the next entry; false at the end of the run.
    pub(super) fn advance(&mut self) -> std::io::Result<bool> {
        let Some(fixed) = read_fixed(&mut self.input)? else {
            self.key = None;
            return Ok(false);
        };
        self.record_id = fixed.record_id;
        let previous = self.key.take();
        let host = self.shared_text(previous.as_ref().map(|k| &k.host))?;
        let path = self.shared_text(previous.as_ref().map(|k| &k.path))?;
        let input = if fixed.own_input {
            self.shared_text(previous.as_ref().map(|k| &k.input))?
        } else {
            path.clone()
        };
        Self::read_len_prefixed(&mut self.input, &mut self.line)?;
        self.key = Some(Key {
            secs: fixed.secs,
            nanos: fixed.nanos,
            host,
            path,
            position: fixed.position,
            input,
            seq: fixed.seq,
        });
        Ok(true)
    }

    /// A u32 length and that many bytes, into `into`.
    fn read_len_prefixed(input: &mut BufReader<File>, into: &mut Vec<u8>) -> std::io::Result<()> {
        let mut len = [0u8; 4];
        input.read_exact(&mut len)?;
        into.clear();
        into.resize(u32::from_le_bytes(len) as usize, 0);
        input.read_exact(into).map_err(|error| match error.kind() {
            std::io::ErrorKind::UnexpectedEof => invalid("run file ends inside an entry"),
            _ => error,
        })
    }

    /// A host, path or input: the previous entry's (shared) when the text is the same.
    fn shared_text(&mut self, previous: Option<&Arc<str>>) -> std::io::Result<Arc<str>> {
        Self::read_len_prefixed(&mut self.input, &mut self.scratch)?;
        if let Some(previous) = previous
            && previous.as_bytes() == self.scratch.as_slice()
        {
            return Ok(previous.clone());
        }
        let text = std::str::from_utf8(&self.scratch).map_err(|_| invalid("text not UTF-8"))?;
        Ok(Arc::from(text))
    }
}

fn invalid(message: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message.to_string())
}
