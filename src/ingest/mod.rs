//! Stage 1: read input files into normalized events, in parallel, with full accounting.
//!
//! Takes: the [`Source`]s found by [`crate::source::discover`] and [`IngestOptions`].
//! Produces: one [`FileIngest`] per source — its relevant [`Event`]s and its [`InputReport`]
//! (records read, failed with the first error, relevant kept, status and reason).
//!
//! Files are read in parallel with rayon, biggest first. Each reader decides relevance from the
//! record header (channel/provider and event id) through [`Collector::wants`] *before* building the
//! field map. A reader never panics the run: a bad record is counted, a bad file is reported.
//!
//! Every file is read on its own thread under the [`watchdog`]: a deadline (`file_timeout`) and a
//! memory budget (`max_file_memory`), checked by the readers between records through
//! [`Collector::check`], and a preemptive deadline that abandons a reader stuck inside a parser.

mod collector;
mod evtx;
mod evtx_checks;
mod evtx_direct;
mod evtx_json;
mod evtx_raw;
mod evtx_template;
#[doc(hidden)]
pub mod fuzz;
mod jsonl;
mod text;
pub mod watchdog;
mod xml;

pub use collector::Collector;
pub use evtx::ChunkWalkers;
pub use text::TimeZoneSpec;

use crate::event::Event;
use crate::source::{InputFormat, InputReport, InputStatus, Source};
use crate::spool::{FileSpool, Spool};
use chrono::{DateTime, Utc};
use rayon::prelude::*;
use std::time::Duration;
use watchdog::Meter;

/// Options for reading inputs.
#[derive(Clone, Debug)]
pub struct IngestOptions {
    /// Drop events logged before this time (host clock, UTC).
    pub since: Option<DateTime<Utc>>,
    /// Drop events logged after this time (host clock, UTC).
    pub until: Option<DateTime<Utc>>,
    /// The time zone of text exports whose times carry no offset (Event Viewer and PowerShell
    /// print local time); `None` reads them as UTC and the input's report says so.
    pub timezone: Option<TimeZoneSpec>,
    /// Render every EVTX record to decide relevance, instead of deciding from the template values
    /// first. Slower; exists so tests can check that both paths give the same events.
    pub render_every_record: bool,
    /// Also read the stale records the evtx crate carves from chunk slack (counted in
    /// [`InputReport::recovered`], kept as events when relevant). Default: on.
    pub recover_records: bool,
    /// Deadline for reading one file; `None` waits forever. Default:
    /// [`watchdog::DEFAULT_FILE_TIMEOUT`].
    pub file_timeout: Option<Duration>,
    /// Memory budget for reading one file, in bytes; enforced only with a `memory_meter`.
    /// Default: [`watchdog::DEFAULT_MAX_FILE_MEMORY`].
    pub max_file_memory: Option<u64>,
    /// Counts the bytes a reader thread holds (the binary supplies one; see [`watchdog`]).
    pub memory_meter: Option<Meter>,
    /// Threads that walk the chunks of `.evtx` files in parallel, so one big file uses every
    /// core. [`ingest_all`] starts them for its run when this is `None`; a reader called on its
    /// own without them walks its chunks on its own thread.
    pub chunk_walkers: Option<ChunkWalkers>,
    /// Keep relevant events as sorted text in this spool instead of in [`FileIngest::events`]
    /// (bounded memory for `rdptriage events`); [`ingest_all`] commits each file's part as the
    /// file finishes. Default: `None`.
    pub spool: Option<std::sync::Arc<Spool>>,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            since: None,
            until: None,
            render_every_record: false,
            timezone: None,
            recover_records: true,
            file_timeout: Some(watchdog::DEFAULT_FILE_TIMEOUT),
            max_file_memory: Some(watchdog::DEFAULT_MAX_FILE_MEMORY),
            memory_meter: None,
            chunk_walkers: None,
            spool: None,
        }
    }
}

/// Everything read from one file.
#[derive(Debug)]
pub struct FileIngest {
    /// The accounting for the file.
    pub report: InputReport,
    /// The relevant events, in file order (empty when they went to a spool).
    pub events: Vec<Event>,
    /// The relevant events as spooled text, when [`IngestOptions::spool`] was set.
    pub spooled: Option<FileSpool>,
}

impl FileIngest {
    /// A file's accounting and its events (none spooled).
    pub fn new(report: InputReport, events: Vec<Event>) -> Self {
        FileIngest {
            report,
            events,
            spooled: None,
        }
    }
}

/// The header of a record, enough to decide relevance and to build an [`Event`].
#[derive(Clone, Debug, Default)]
pub struct RecordHeader {
    /// Channel.
    pub channel: String,
    /// Provider name.
    pub provider: String,
    /// Event id.
    pub event_id: u32,
    /// Level.
    pub level: Option<u8>,
    /// `Computer`.
    pub host: String,
    /// `TimeCreated/@SystemTime`.
    pub time: Option<DateTime<Utc>>,
    /// EventRecordID.
    pub record_id: Option<u64>,
    /// ActivityID (normalized to lower case with braces).
    pub activity_id: Option<String>,
}

/// Read one file under the [`watchdog`]. Never panics or hangs the caller: a reader panic is
/// caught and reported, a file over its deadline or memory budget is reported `unreadable`.
pub fn ingest(source: &Source, options: &IngestOptions) -> FileIngest {
    watchdog::run_reader(source, options, read_guarded)
}

/// Read one file on the calling thread, with the cooperative limits but no preemptive deadline.
/// Never panics the caller: a reader panic is caught and reported.
pub fn read_guarded(source: &Source, options: &IngestOptions) -> FileIngest {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut collector = Collector::new(source, options);
        let fatal = match source.format {
            InputFormat::Evtx => evtx::read(source, &mut collector, options).err(),
            InputFormat::Xml => xml::read(source, &mut collector).err(),
            InputFormat::Jsonl => jsonl::read(source, &mut collector).err(),
            InputFormat::WevtutilText
            | InputFormat::EventviewerText
            | InputFormat::PowershellList
            | InputFormat::TraceText
            | InputFormat::TracerptCsv
            | InputFormat::EvtxecmdCsv => text::read(source, &mut collector, options).err(),
            InputFormat::Etl => Some(
                "a binary ETW trace (.etl) is not decoded: convert it on Windows with \
                 `netsh trace convert input=FILE.etl output=FILE.txt` or \
                 `tracerpt FILE.etl -o FILE.csv -of CSV`"
                    .to_string(),
            ),
            InputFormat::Unknown => Some("not a supported event log format".to_string()),
        };
        collector.finish(fatal)
    }));
    result.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        let mut report = InputReport::new(source);
        report.status = InputStatus::Unreadable;
        report.reason = Some(format!("reader crashed: {message}"));
        FileIngest::new(report, Vec::new())
    })
}

/// Read every source in parallel (largest first), calling `on_done` as each file finishes.
/// The result is in the order of `sources`.
pub fn ingest_all(
    sources: &[Source],
    options: &IngestOptions,
    on_done: &(dyn Fn(&Source, &InputReport) + Sync),
) -> Vec<FileIngest> {
    let mut order: Vec<usize> = (0..sources.len()).collect();
    order.sort_by(|&a, &b| sources[b].size.cmp(&sources[a].size).then(a.cmp(&b)));
    // One file per task: files differ in cost by orders of magnitude, so rayon must not hand a
    // thread a contiguous half of the list.
    let readers = watchdog::ReaderPool::default();
    let mut options = options.clone();
    if options.chunk_walkers.is_none() {
        // With one thread (`--threads 1`) the reader walks its chunks itself: one busy thread,
        // as asked, rather than a reader and a walker side by side.
        options.chunk_walkers = match rayon::current_num_threads() {
            1 => None,
            n => ChunkWalkers::new(n),
        };
    }
    let options = &options;
    let mut results: Vec<(usize, FileIngest)> = order
        .into_par_iter()
        .with_max_len(1)
        .map(|i| {
            let reading = options.chunk_walkers.as_ref().map(ChunkWalkers::reading);
            let mut done = readers.run(&sources[i], options, read_guarded);
            drop(reading);
            // Committed here, not by the reader: a reader abandoned by the watchdog never adds
            // its events to the run.
            if let (Some(spool), Some(file)) = (&options.spool, done.spooled.take()) {
                spool.commit(file);
            }
            on_done(&sources[i], &done.report);
            (i, done)
        })
        .collect();
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Recognise a text export (wevtutil, Event Viewer, PowerShell, trace text, tracerpt or EvtxECmd
/// CSV) from the decoded start of a file.
pub fn detect_text(text: &str) -> Option<InputFormat> {
    text::detect(text)
}

/// Decode the start of a file as text for sniffing: handles UTF-8 (with or without BOM) and
/// UTF-16 LE/BE with BOM (Windows PowerShell writes UTF-16 by default).
pub fn text_prefix(head: &[u8]) -> String {
    decode_text(head)
}

/// Decode a whole text file: UTF-16 LE/BE by BOM (or by NUL pattern), else UTF-8 (lossy).
pub fn decode_text(bytes: &[u8]) -> String {
    let utf16 = |bytes: &[u8], le: bool| {
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, true);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, false);
    }
    if bytes.len() >= 4 && bytes[1] == 0 && bytes[3] == 0 && bytes[0] != 0 {
        return utf16(bytes, true);
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}

/// Normalize a GUID to lower case with braces (`{…}`), as the evtx crate renders it.
pub fn normalize_guid(raw: &str) -> Option<String> {
    let t = raw.trim().trim_start_matches('{').trim_end_matches('}');
    if t.is_empty() {
        return None;
    }
    Some(format!("{{{}}}", t.to_ascii_lowercase()))
}

/// Parse a Windows `SystemTime` attribute (`2024-01-17T21:20:01.1234567Z`, with or without `Z`).
pub fn parse_system_time(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(t.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_time_parses_with_seven_digits() {
        let t = parse_system_time("2019-08-27T17:16:34.8519714Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2019-08-27T17:16:34.851971400+00:00");
        assert!(parse_system_time("2019-08-27T17:16:34.851").is_some());
        assert!(parse_system_time("yesterday").is_none());
    }

    #[test]
    fn guids_are_normalized() {
        assert_eq!(
            normalize_guid("F420DD64-C87E-4E2D-A02E-7D0935770000").as_deref(),
            Some("{f420dd64-c87e-4e2d-a02e-7d0935770000}")
        );
        assert_eq!(normalize_guid(""), None);
    }

    #[test]
    fn utf16_text_is_decoded() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "Event[0]:".encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode_text(&bytes), "Event[0]:");
    }
}
