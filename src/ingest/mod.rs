//! Stage 1: read input files into normalized events, in parallel, with full accounting.
//!
//! Takes: the [`Source`]s found by [`crate::source::discover`] and [`IngestOptions`].
//! Produces: one [`FileIngest`] per source — its relevant [`Event`]s and its [`InputReport`]
//! (records read, failed with the first error, relevant kept, status and reason).
//!
//! Files are read in parallel with rayon, biggest first; an `.evtx` file of at least twice
//! [`EvtxParts::min_bytes`] is cut into contiguous parts of its chunks, up to one per thread, each
//! read on its own and joined in order afterwards ([`Collector::absorb`]), so one big file keeps
//! every core busy and gives the same result as one reader. Each reader decides relevance from the
//! record header (channel/provider and event id) through [`Collector::wants`] *before* building the
//! field map. A reader never panics the run: a bad record is counted, a bad file is reported.
//!
//! Every file (or part) is read on its own thread under the [`watchdog`]: a deadline
//! (`file_timeout`) and a memory budget (`max_file_memory`, shared equally by a file's parts),
//! checked by the readers between records through
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
    /// How [`ingest_all`] cuts big `.evtx` files into parts read in parallel.
    pub evtx_parts: EvtxParts,
}

/// How [`ingest_all`] cuts a big `.evtx` file into parts, each read by a reader thread of its
/// own (see `ingest/evtx/parts.rs`), so that one big file keeps every core busy. The parts'
/// results are joined into the file's one report and its events in file order: the same as
/// one reader gives. Each part gets the file's deadline and an equal share of its memory budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvtxParts {
    /// A part holds at least this many bytes of the file (a file under twice this is one part).
    /// Default: [`EvtxParts::DEFAULT_MIN_BYTES`].
    pub min_bytes: u64,
    /// At most this many parts per file; `None`: as many as the run has threads.
    pub max_parts: Option<usize>,
}

impl EvtxParts {
    /// Default `min_bytes`: 16 MiB (256 chunks).
    pub const DEFAULT_MIN_BYTES: u64 = 16 << 20;

    /// Into how many parts to cut `source` when the run has `threads` threads.
    pub fn count(&self, source: &Source, threads: usize) -> usize {
        if source.format != InputFormat::Evtx {
            return 1;
        }
        let by_size = usize::try_from(source.size / self.min_bytes.max(1)).unwrap_or(usize::MAX);
        by_size.min(self.max_parts.unwrap_or(threads)).max(1)
    }
}

impl Default for EvtxParts {
    fn default() -> Self {
        EvtxParts {
            min_bytes: Self::DEFAULT_MIN_BYTES,
            max_parts: None,
        }
    }
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
            evtx_parts: EvtxParts::default(),
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
    /// A part of a file read on its own: what its reader collected, to be joined with the other
    /// parts' before the file's report is made (`report` is then only the part's counts).
    pub(crate) part: Option<Box<PartRead>>,
}

/// What the reader of one part of a file collected, and the error that stopped it, if any.
pub(crate) struct PartRead {
    collector: Collector,
    fatal: Option<String>,
}

impl std::fmt::Debug for PartRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PartRead({:?})", self.fatal)
    }
}

impl FileIngest {
    /// A file's accounting and its events (none spooled).
    pub fn new(report: InputReport, events: Vec<Event>) -> Self {
        FileIngest {
            report,
            events,
            spooled: None,
            part: None,
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
    catching_panics(source, || {
        let mut collector = Collector::new(source, options);
        let fatal = read_with(source, &mut collector, options);
        collector.finish(fatal)
    })
}

/// Read one part of an `.evtx` file like [`read_guarded`]; the result holds the part's collector
/// (see [`join_parts`]).
fn read_guarded_part(source: &Source, options: &IngestOptions, part: evtx::Part) -> FileIngest {
    catching_panics(source, || {
        let mut collector = Collector::for_part(source, options, part.index);
        let fatal = evtx::read(source, &mut collector, options, Some(part)).err();
        let mut done = FileIngest::new(collector.report.clone(), Vec::new());
        done.part = Some(Box::new(PartRead { collector, fatal }));
        done
    })
}

/// The parts of one file, read on their own, joined in order into the file's result. A part
/// that did not come back with its collector (its reader crashed or was abandoned) stands for
/// the whole file.
fn join_parts(parts: Vec<FileIngest>) -> FileIngest {
    let mut joined: Option<(Collector, Option<String>)> = None;
    let mut failed = None;
    for done in parts {
        match (done.part, &mut joined) {
            (None, _) => {
                failed.get_or_insert(FileIngest::new(done.report, done.events));
            }
            (Some(part), None) => joined = Some((part.collector, part.fatal)),
            (Some(part), Some((collector, fatal))) => {
                collector.absorb(part.collector);
                if fatal.is_none() {
                    *fatal = part.fatal;
                }
            }
        }
    }
    match (failed, joined) {
        (Some(failed), _) => failed,
        (None, Some((collector, fatal))) => collector.finish(fatal),
        (None, None) => unreachable!("a file has at least one part"),
    }
}

/// The reader of `source`'s format; `Some` error when it stopped or could not read at all.
fn read_with(
    source: &Source,
    collector: &mut Collector,
    options: &IngestOptions,
) -> Option<String> {
    match source.format {
        InputFormat::Evtx => evtx::read(source, collector, options, None).err(),
        InputFormat::Xml => xml::read(source, collector).err(),
        InputFormat::Jsonl => jsonl::read(source, collector).err(),
        InputFormat::WevtutilText
        | InputFormat::EventviewerText
        | InputFormat::PowershellList
        | InputFormat::TraceText
        | InputFormat::TracerptCsv
        | InputFormat::EvtxecmdCsv => text::read(source, collector, options).err(),
        InputFormat::Etl => Some(
            "a binary ETW trace (.etl) is not decoded: convert it on Windows with \
             `netsh trace convert input=FILE.etl output=FILE.txt` or \
             `tracerpt FILE.etl -o FILE.csv -of CSV`"
                .to_string(),
        ),
        InputFormat::Unknown => Some("not a supported event log format".to_string()),
    }
}

/// Run `read`; a panic becomes an `unreadable` report saying so.
fn catching_panics(source: &Source, read: impl FnOnce() -> FileIngest) -> FileIngest {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(read));
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

/// One reader's task: a file, or one part of a big `.evtx` file.
struct Task {
    file: usize,
    part: evtx::Part,
    bytes: u64,
}

/// The parts of one file as they come back, until the last one.
struct Pending {
    parts: std::sync::Mutex<Vec<Option<FileIngest>>>,
}

impl Pending {
    /// Keep `done` as part `index`; all the parts once it was the last to come back.
    fn add(&self, index: usize, done: FileIngest) -> Option<Vec<FileIngest>> {
        let mut parts = self.parts.lock().unwrap_or_else(|p| p.into_inner());
        parts[index] = Some(done);
        if parts.iter().any(Option::is_none) {
            return None;
        }
        Some(std::mem::take(&mut *parts).into_iter().flatten().collect())
    }
}

/// Every file's tasks, largest first: a big `.evtx` file in parts (see [`EvtxParts`]).
fn tasks(sources: &[Source], options: &IngestOptions) -> (Vec<Task>, Vec<Pending>) {
    let threads = rayon::current_num_threads();
    let mut tasks = Vec::new();
    let mut pending = Vec::new();
    for (file, source) in sources.iter().enumerate() {
        let count = options.evtx_parts.count(source, threads);
        for index in 0..count {
            let bytes = source.size / count as u64;
            let part = evtx::Part { index, count };
            tasks.push(Task { file, part, bytes });
        }
        pending.push(Pending {
            parts: std::sync::Mutex::new((0..count).map(|_| None).collect()),
        });
    }
    tasks.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.file.cmp(&b.file)));
    (tasks, pending)
}

/// Read every source in parallel (largest first, big `.evtx` files in parts), calling `on_done`
/// as each file finishes. The result is in the order of `sources`.
pub fn ingest_all(
    sources: &[Source],
    options: &IngestOptions,
    on_done: &(dyn Fn(&Source, &InputReport) + Sync),
) -> Vec<FileIngest> {
    let (tasks, pending) = tasks(sources, options);
    // One task per reader: files differ in cost by orders of magnitude, so rayon must not hand
    // a thread a contiguous half of the list.
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
    let mut results: Vec<(usize, FileIngest)> = tasks
        .into_par_iter()
        .with_max_len(1)
        .filter_map(|task| {
            let source = &sources[task.file];
            let reading = options.chunk_walkers.as_ref().map(ChunkWalkers::reading);
            let done = read_task(&readers, source, options, task.part);
            drop(reading);
            let parts = pending[task.file].add(task.part.index, done)?;
            let mut done = match parts.len() {
                1 => parts.into_iter().next().expect("one part"),
                _ => join_parts(parts),
            };
            // Committed here, not by the reader: a reader abandoned by the watchdog never adds
            // its events to the run.
            if let (Some(spool), Some(file)) = (&options.spool, done.spooled.take()) {
                spool.commit(file);
            }
            on_done(source, &done.report);
            Some((task.file, done))
        })
        .collect();
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Read a file, or one part of it, on a reader thread under the watchdog.
fn read_task(
    readers: &watchdog::ReaderPool,
    source: &Source,
    options: &IngestOptions,
    part: evtx::Part,
) -> FileIngest {
    if part.count == 1 {
        return readers.run(source, options, read_guarded);
    }
    let mut options = options.clone();
    // The file's memory budget is shared by its parts.
    options.max_file_memory = options.max_file_memory.map(|m| m / part.count as u64);
    readers.run(source, &options, move |source, options| {
        read_guarded_part(source, options, part)
    })
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
