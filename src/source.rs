//! Input discovery and format detection.
//!
//! Takes: the paths the user named (files and directories, in any order and mix).
//! Produces: one [`Source`] per file found (directories walked recursively, symlink loops
//! reported, duplicates removed, sorted by path), each with its [`InputFormat`] detected from the
//! *content* (never the extension), and an [`InputReport`] skeleton that the readers fill in.
//! Every path ends up accounted for: read, partial, skipped with a reason, or unreadable with a reason.

use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How many bytes are sniffed to detect a format.
const SNIFF_BYTES: usize = 8192;

/// A file to read.
#[derive(Clone, Debug)]
pub struct Source {
    /// The file.
    pub path: PathBuf,
    /// The path as shown in reports and provenance.
    pub display: Arc<str>,
    /// Size in bytes (for scheduling big files first and for progress).
    pub size: u64,
    /// The detected format.
    pub format: InputFormat,
}

/// The formats rdptriage reads (or recognises in order to explain why it does not).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputFormat {
    /// Binary Windows event log (`ElfFile\0`).
    Evtx,
    /// Event XML: Event Viewer "Save as XML", `wevtutil qe /f:xml` or `/f:RenderedXml`.
    Xml,
    /// JSON lines: `evtx_dump -o jsonl` or `rdptriage events --format jsonl`.
    Jsonl,
    /// Anything else (the report gives the reason).
    Unknown,
}

impl InputFormat {
    /// Name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            InputFormat::Evtx => "evtx",
            InputFormat::Xml => "xml",
            InputFormat::Jsonl => "jsonl",
            InputFormat::Unknown => "unknown",
        }
    }
}

/// What happened to one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputStatus {
    /// Every record was read.
    Read,
    /// Some records were read, some failed (see `failed_records` and `first_error`).
    Partial,
    /// Not an event log rdptriage reads; `reason` says what it looked like.
    Skipped,
    /// Could not be read at all; `reason` says why.
    Unreadable,
}

/// The accounting for one input file: the `inputs[]` entries of every JSON report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputReport {
    /// The file as shown to the user.
    pub path: String,
    /// Detected format (`evtx`, `xml`, `jsonl`, …, or `unknown`).
    pub format: InputFormat,
    /// The host that logged the events (most frequent `Computer`), when any record was read.
    pub host: Option<String>,
    /// Records (or text events) read successfully.
    pub records: u64,
    /// Records that could not be parsed.
    pub failed_records: u64,
    /// The first record error, naming the record or line.
    pub first_error: Option<String>,
    /// Records kept because the catalog knows them (and within `--since`/`--until`).
    pub relevant: u64,
    /// Records read and understood but outside the time window.
    #[serde(default)]
    pub out_of_window: u64,
    /// Read, partial, skipped or unreadable.
    pub status: InputStatus,
    /// Why the file was skipped or unreadable (or a note on a partial read).
    pub reason: Option<String>,
    /// The channels the file's records belong to, sorted (tells which logs were supplied, so
    /// the absence of an event can be told apart from the absence of the log).
    #[serde(default)]
    pub channels: Vec<String>,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// EVTX: stale records carved from unallocated chunk space (cleared or overwritten records)
    /// and read. Not included in `records`; see `recovered_relevant`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub recovered: u64,
    /// Of the `recovered` records, those kept as events (also counted in `relevant`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub recovered_relevant: u64,
    /// Observations about the file that did not stop it being read: a dirty EVTX header (the
    /// log was not closed cleanly), header or chunk checksum mismatches, lines cut at the length
    /// limit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// True when the watchdog gave up waiting for this file's reader (see
    /// [`crate::ingest::watchdog`]): the reader was stuck and still runs in the background.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub abandoned_reader: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl InputReport {
    /// A fresh report for a source, before reading.
    pub fn new(source: &Source) -> Self {
        InputReport {
            path: source.display.to_string(),
            format: source.format,
            host: None,
            records: 0,
            failed_records: 0,
            first_error: None,
            relevant: 0,
            out_of_window: 0,
            status: InputStatus::Read,
            reason: None,
            channels: Vec::new(),
            bytes: source.size,
            recovered: 0,
            recovered_relevant: 0,
            notes: Vec::new(),
            abandoned_reader: false,
        }
    }

    /// A report for a path that could not even be opened or listed.
    pub fn unreadable(path: &Path, reason: String) -> Self {
        InputReport {
            path: path.display().to_string(),
            format: InputFormat::Unknown,
            host: None,
            records: 0,
            failed_records: 0,
            first_error: None,
            relevant: 0,
            out_of_window: 0,
            status: InputStatus::Unreadable,
            reason: Some(reason),
            channels: Vec::new(),
            bytes: 0,
            recovered: 0,
            recovered_relevant: 0,
            notes: Vec::new(),
            abandoned_reader: false,
        }
    }

    /// Count one failed record, keeping the first error message.
    pub fn record_failure(&mut self, message: impl FnOnce() -> String) {
        self.failed_records += 1;
        if self.first_error.is_none() {
            self.first_error = Some(message());
        }
    }

    /// Set `status` from the counts once reading is done (keeps skipped/unreadable).
    pub fn finish(&mut self) {
        if matches!(self.status, InputStatus::Skipped | InputStatus::Unreadable) {
            return;
        }
        self.status = match (self.records, self.failed_records) {
            (_, 0) => InputStatus::Read,
            (0, _) => InputStatus::Unreadable,
            _ => InputStatus::Partial,
        };
        if self.status == InputStatus::Unreadable && self.reason.is_none() {
            self.reason = self.first_error.clone();
        }
    }
}

/// The result of walking the user's paths.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Files to read, sorted by path.
    pub sources: Vec<Source>,
    /// Paths that could not be opened or walked, and files skipped before reading.
    pub problems: Vec<InputReport>,
}

/// Walk `paths` (files or directories, recursively) and detect each file's format.
pub fn discover(paths: &[PathBuf]) -> Discovery {
    let mut out = Discovery::default();
    let mut seen = std::collections::HashSet::new();
    for root in paths {
        for entry in walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name()
        {
            match entry {
                Ok(entry) if entry.file_type().is_dir() => {}
                Ok(entry) => {
                    let key = std::fs::canonicalize(entry.path())
                        .unwrap_or_else(|_| entry.path().to_path_buf());
                    if seen.insert(key) {
                        push_file(entry.path(), &mut out);
                    }
                }
                Err(err) => {
                    let path = err.path().unwrap_or(root).to_path_buf();
                    let reason = walk_error_reason(&err);
                    let mut report = InputReport::unreadable(&path, reason);
                    if err.loop_ancestor().is_some() {
                        // Nothing is lost: the files under the loop are read once, from the ancestor.
                        report.status = InputStatus::Skipped;
                    }
                    out.problems.push(report);
                }
            }
        }
    }
    out.sources.sort_by(|a, b| a.path.cmp(&b.path));
    out.problems.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn walk_error_reason(err: &walkdir::Error) -> String {
    if let Some(ancestor) = err.loop_ancestor() {
        return format!(
            "directory loop: symbolic link back to {}",
            ancestor.display()
        );
    }
    match err.io_error() {
        Some(io) if io.kind() == std::io::ErrorKind::NotFound => "no such file or directory".into(),
        Some(io) => io.to_string(),
        None => err.to_string(),
    }
}

fn push_file(path: &Path, out: &mut Discovery) {
    match sniff(path) {
        Ok(Sniffed::Special(kind)) => {
            let mut report = InputReport::unreadable(path, format!("not a regular file: {kind}"));
            report.status = InputStatus::Skipped;
            out.problems.push(report);
        }
        Ok(Sniffed::File(size, head)) => {
            let format = detect_format(&head);
            let display: Arc<str> = Arc::from(path.display().to_string());
            let source = Source {
                path: path.to_path_buf(),
                display,
                size,
                format,
            };
            if format == InputFormat::Unknown {
                let mut report = InputReport::new(&source);
                report.status = InputStatus::Skipped;
                report.reason = Some(describe_unknown(&head, size));
                out.problems.push(report);
            } else {
                out.sources.push(source);
            }
        }
        Err(err) => out
            .problems
            .push(InputReport::unreadable(path, err.to_string())),
    }
}

/// What the start of a path holds.
enum Sniffed {
    /// A regular file: its size and first bytes.
    File(u64, Vec<u8>),
    /// A FIFO, socket or device, named: never read (reading could block or never end).
    Special(&'static str),
}

/// Open without blocking (a FIFO with no writer would block `open` forever), then look at what
/// was opened (`fstat`, so a swap after a path check cannot fool it) before reading a byte.
fn sniff(path: &Path) -> std::io::Result<Sniffed> {
    let file = open_nonblocking(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(Sniffed::Special(special_kind(&meta.file_type())));
    }
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    file.take(SNIFF_BYTES as u64).read_to_end(&mut head)?;
    Ok(Sniffed::File(meta.len(), head))
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const O_NONBLOCK: i32 = 0o4000;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const O_NONBLOCK: i32 = 0x0004;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

fn special_kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    if t.is_dir() {
        return "a directory";
    }
    "a special file"
}

/// Detect the format from the first bytes of a file.
pub fn detect_format(head: &[u8]) -> InputFormat {
    if head.starts_with(b"ElfFile\0") {
        return InputFormat::Evtx;
    }
    let text = crate::ingest::text_prefix(head);
    let trimmed = text.trim_start();
    if trimmed.starts_with('<') && (text.contains("<Event") || text.contains(":Event")) {
        return InputFormat::Xml;
    }
    if trimmed.starts_with('{')
        && (text.contains("\"Event\"")
            || (text.contains("\"event_id\"") && text.contains("\"channel\"")))
    {
        return InputFormat::Jsonl;
    }
    InputFormat::Unknown
}

/// Say what an unsupported file looks like, so "skipped" is never unexplained.
fn describe_unknown(head: &[u8], size: u64) -> String {
    if size == 0 {
        return "empty file".into();
    }
    let what = if head.starts_with(b"PK\x03\x04") {
        "a zip archive: extract it and pass the folder"
    } else if head.starts_with(b"\x1f\x8b") {
        "a gzip archive: decompress it first"
    } else if head.starts_with(b"MSCF") {
        "a cabinet (.cab) archive: expand it first (expand -F:* file.cab folder)"
    } else if head.starts_with(b"ElfChnk\0") {
        "a lone EVTX chunk without a file header"
    } else if is_etl(head) {
        "an ETW trace (.etl): convert it on Windows first (netsh trace convert input=FILE.etl output=FILE.txt, or tracerpt FILE.etl -of CSV)"
    } else if head.iter().take(512).filter(|b| **b == 0).count() > 32 {
        "binary data that is not an event log"
    } else {
        "text that is not a supported event export"
    };
    format!("not a supported event log format: {what}")
}

/// ETL files start with a WMI buffer header; the logger's file header names `WMI` system trace
/// structures. Checking the first buffer's well-known marker bytes is enough to give advice.
fn is_etl(head: &[u8]) -> bool {
    head.len() > 0x40
        && head
            .windows(4)
            .take(0x80)
            .any(|w| w == [0x02, 0x00, 0x01, 0xC0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats_from_content() {
        assert_eq!(detect_format(b"ElfFile\0rest"), InputFormat::Evtx);
        assert_eq!(
            detect_format(b"<?xml version=\"1.0\"?>\n<Events><Event xmlns='x'>"),
            InputFormat::Xml
        );
        assert_eq!(
            detect_format(b"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>"),
            InputFormat::Xml
        );
        assert_eq!(
            detect_format(br#"{"Event":{"System":{}}}"#),
            InputFormat::Jsonl
        );
        assert_eq!(
            detect_format(
                br#"{"time":"2024-01-01T00:00:00Z","host":"h","channel":"c","event_id":1}"#
            ),
            InputFormat::Jsonl
        );
        assert_eq!(detect_format(b"hello"), InputFormat::Unknown);
        assert_eq!(detect_format(b"PK\x03\x04"), InputFormat::Unknown);
    }

    #[test]
    fn utf16_xml_is_detected() {
        let text = "\u{feff}<Events><Event xmlns='x'></Event></Events>";
        let mut bytes = Vec::new();
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        assert_eq!(detect_format(&bytes), InputFormat::Xml);
    }

    #[test]
    fn unknown_files_get_a_reason() {
        assert!(describe_unknown(b"PK\x03\x04....", 10).contains("zip"));
        assert_eq!(describe_unknown(b"", 0), "empty file");
    }

    #[test]
    fn finish_derives_status() {
        let source = Source {
            path: "x".into(),
            display: Arc::from("x"),
            size: 1,
            format: InputFormat::Evtx,
        };
        let mut r = InputReport::new(&source);
        r.records = 3;
        r.record_failure(|| "record 4: bad".into());
        r.finish();
        assert_eq!(r.status, InputStatus::Partial);
        let mut r = InputReport::new(&source);
        r.record_failure(|| "header: bad".into());
        r.finish();
        assert_eq!(r.status, InputStatus::Unreadable);
        assert_eq!(r.reason.as_deref(), Some("header: bad"));
    }
}
