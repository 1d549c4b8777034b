//! An EVTX writer that lays files out the way Windows does.
//!
//! Takes: [`RecordSpec`]s (one event each: the `System` fields and an `EventData` or `UserData`
//! payload of typed [`Value`]s), pushed in time order.
//! Produces: a `.evtx` file as bytes ([`EvtxWriter::finish`]) or on disk
//! ([`EvtxWriter::write_to`]), readable by the `evtx` crate (checksums validated), libevtx and
//! python-evtx. Used by the sample-log generator and by tests.
//!
//! What it writes, as real logs have it:
//! * a 4096-byte file header (version 3.1, flags 0, CRC32) and 64 KiB chunks, as many as needed;
//! * per chunk: a 512-byte header with record ids, offsets, the common-string table (64 hash
//!   buckets, chained) and template pointer table (32 buckets, chained), and both CRC32s;
//! * records padded to 8 bytes, never crossing a chunk;
//! * every record a fragment header and a template instance: the `<Event>` template with typed
//!   substitutions for the `System` fields (the `template` module documents the two layouts) and the
//!   payload as a nested template instance in a BinXML value. A template definition is written
//!   inline the first time a chunk uses it and referenced by offset afterwards; names are
//!   written once per chunk (MS-EVEN6 hash) and referenced afterwards.
//!
//! ```no_run
//! use chrono::{TimeZone, Utc};
//! use rdptriage::evtx_writer::{EvtxWriter, Payload, RecordSpec, Value};
//!
//! let time = Utc.with_ymd_and_hms(2024, 1, 17, 21, 20, 1).unwrap();
//! let mut record = RecordSpec::new(
//!     "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
//!     1149,
//!     time,
//!     "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational",
//!     "RDS01.corp.example",
//! );
//! record.payload = Payload::UserData {
//!     element: "EventXML".into(),
//!     xmlns: "Event_NS".into(),
//!     fields: vec![("Param1".into(), Value::String("alice".into()))],
//! };
//! let mut writer = EvtxWriter::new();
//! let id = writer.push(&record)?;
//! assert_eq!(id, 1);
//! writer.write_to(std::path::Path::new("rcm.evtx"))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod binxml;
mod chunk;
mod spec;
mod template;
mod value;

#[cfg(test)]
mod tests;

pub use spec::{Payload, RecordSpec, Value};

use chrono::{DateTime, Utc};
use chunk::Chunk;
use std::path::Path;

/// Why a record could not be written. The writer is unchanged when `push` fails.
#[derive(Debug, thiserror::Error)]
pub enum EvtxWriteError {
    /// A GUID field does not hold `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}`.
    #[error("{field}: not a GUID: {text:?}")]
    InvalidGuid {
        /// The field, e.g. `Correlation/@ActivityID` or `EventData/SessionGuid`.
        field: String,
        /// The text given.
        text: String,
    },
    /// A SID field does not hold `S-R-A-S1-…` (at most 15 sub-authorities).
    #[error("{field}: not a SID: {text:?}")]
    InvalidSid {
        /// The field.
        field: String,
        /// The text given.
        text: String,
    },
    /// A time is before 1601 (FILETIME) or outside 1601–30827 (SYSTEMTIME).
    #[error("{field}: time out of range: {time}")]
    TimeOutOfRange {
        /// The field.
        field: String,
        /// The time given.
        time: DateTime<Utc>,
    },
    /// An element or field name is empty, too long, or has characters XML names cannot have.
    #[error("not a usable element or attribute name: {name:?}")]
    InvalidName {
        /// The name given.
        name: String,
    },
    /// A value, a literal text or the whole payload (`field` is then `payload`) needs more than
    /// 65535 bytes: BinXML sizes are 16 bits.
    #[error("{field}: {bytes} bytes, more than a BinXML value can hold (65535)")]
    ValueTooLarge {
        /// The field.
        field: String,
        /// Its encoded size.
        bytes: usize,
    },
    /// A payload has more than 65536 fields.
    #[error("{count} values, more than a template instance can index")]
    TooManyValues {
        /// How many.
        count: usize,
    },
    /// The record does not fit in an empty chunk (65024 bytes of records).
    #[error("record needs {bytes} bytes, more than a 64 KiB chunk holds")]
    RecordTooLarge {
        /// Its padded size.
        bytes: usize,
    },
    /// The file already has 65535 chunks, the most its header can count.
    #[error("the file already has the most chunks its header can count (65535)")]
    TooManyChunks,
}

/// Builds an EVTX file in memory, one record at a time.
pub struct EvtxWriter {
    /// Finished chunks, 64 KiB each.
    chunks: Vec<Vec<u8>>,
    current: Chunk,
    next_record_id: u64,
}

impl Default for EvtxWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl EvtxWriter {
    /// A writer whose first record gets `EventRecordID` 1.
    pub fn new() -> Self {
        Self::with_first_record_id(1)
    }

    /// A writer whose first record gets `EventRecordID` `first` (as in a log that has already
    /// been cleared or has wrapped).
    pub fn with_first_record_id(first: u64) -> Self {
        EvtxWriter {
            chunks: Vec::new(),
            current: Chunk::new(),
            next_record_id: first,
        }
    }

    /// Appends `record` and returns the `EventRecordID` it was given. Records should be pushed
    /// in time order, as Windows logs them. A record that does not fit in the current chunk
    /// starts a new one.
    pub fn push(&mut self, record: &RecordSpec) -> Result<u64, EvtxWriteError> {
        let record_id = self.next_record_id;
        let instance = template::record_instance(record, record_id)?;
        let filetime = value::filetime_ticks(&record.time, "TimeCreated/@SystemTime")?;
        if !self.current.try_append(record_id, filetime, &instance)? {
            if self.chunks.len() + 1 >= usize::from(u16::MAX) {
                return Err(EvtxWriteError::TooManyChunks);
            }
            let mut fresh = Chunk::new();
            if !fresh.try_append(record_id, filetime, &instance)? {
                // An empty chunk reports a record it cannot take as too large; this is a guard.
                return Err(EvtxWriteError::RecordTooLarge {
                    bytes: chunk::CHUNK_SIZE,
                });
            }
            let full = std::mem::replace(&mut self.current, fresh);
            self.chunks.push(full.finish());
        }
        // Ids stop at u64::MAX rather than wrap (a log never gets there).
        self.next_record_id = self.next_record_id.saturating_add(1);
        Ok(record_id)
    }

    /// The `EventRecordID` the next record will get.
    pub fn next_record_id(&self) -> u64 {
        self.next_record_id
    }

    /// The file's bytes: header, then the chunks. A writer without records gives a file with
    /// a header and no chunks.
    pub fn finish(mut self) -> Vec<u8> {
        if !self.current.is_empty() {
            self.chunks.push(self.current.finish());
        }
        // `push` keeps the count within u16.
        let count = u16::try_from(self.chunks.len()).unwrap_or(u16::MAX);
        let mut file = chunk::file_header(count, self.next_record_id);
        file.reserve(self.chunks.len() * chunk::CHUNK_SIZE);
        for chunk in &self.chunks {
            file.extend_from_slice(chunk);
        }
        file
    }

    /// Writes the file to `path`.
    pub fn write_to(self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.finish())
    }
}
