//! Input discovery and format detection.
//!
//! Takes: the paths the user named (files and directories, in any order and mix).
//! Produces: one [`Source`] per file found (directories walked recursively, symlink loops
//! reported, a file reached by several paths or links read once, sorted by path), each with its
//! [`InputFormat`] detected from the *content* (never the extension), and an [`InputReport`]
//! skeleton that the readers fill in.
//! Every path ends up accounted for: read, partial, skipped with a reason, or unreadable with a reason.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod discover;
mod sniff;
pub use discover::{Discovery, discover};

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
    /// `wevtutil qe … /f:text`: `Event[N]:` blocks of indented `Key: value` lines.
    WevtutilText,
    /// Event Viewer "Copy details as text": padded `Label:   value` lines, a description and
    /// optionally the `Event Xml:` block.
    EventviewerText,
    /// PowerShell `Get-WinEvent | Format-List` (default four properties, or `Format-List *`).
    PowershellList,
    /// `netsh trace convert` / tracefmt text: `[CPU]PID.TID::time [Provider]message` lines.
    TraceText,
    /// `tracerpt x.etl -of CSV`.
    TracerptCsv,
    /// EvtxECmd CSV (the `Payload` column holds the event data as JSON).
    EvtxecmdCsv,
    /// A binary ETW trace (`.etl`): recognised to say how to convert it, never read.
    Etl,
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
            InputFormat::WevtutilText => "wevtutil-text",
            InputFormat::EventviewerText => "eventviewer-text",
            InputFormat::PowershellList => "powershell-list",
            InputFormat::TraceText => "trace-text",
            InputFormat::TracerptCsv => "tracerpt-csv",
            InputFormat::EvtxecmdCsv => "evtxecmd-csv",
            InputFormat::Etl => "etl",
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
    /// Detected format (`evtx`, `xml`, `jsonl`, `wevtutil-text`, `eventviewer-text`,
    /// `powershell-list`, `trace-text`, `tracerpt-csv`, `evtxecmd-csv`, `etl`, or `unknown`).
    pub format: InputFormat,
    /// The host that logged the events (most frequent `Computer`), when any record was read.
    pub host: Option<String>,
    /// Records (or text events) read successfully.
    pub records: u64,
    /// Records that could not be parsed.
    pub failed_records: u64,
    /// Records that were recognised but carry nothing readable: WPP trace lines printed as
    /// `Unknown( N): GUID=… (No Format Information found).` (decoding them needs Microsoft's
    /// private TMF files). Counted here, never in `records` or `failed_records`, so no line of a
    /// trace goes unaccounted.
    #[serde(default)]
    pub opaque_records: u64,
    /// The first record error, naming the record or line (text forms: `line N: <the line>`).
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
    /// the absence of an event can be told apart from the absence of the log). Text forms that
    /// name only the provider get the channel the catalog gives that provider.
    #[serde(default)]
    pub channels: Vec<String>,
    /// How the event times of a text export were read (absent for EVTX, XML and JSONL, whose
    /// times are UTC by construction): `utc` (every time was UTC or carried its offset),
    /// `timezone <zone>` (local times converted with `--timezone`), or `assumed-utc` (local
    /// times without `--timezone`, taken as UTC, so cross-host times may be off by the zone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_basis: Option<String>,
    /// Notes on how a file was read, joined with `; `. Text exports: local times taken as UTC,
    /// the day/month order chosen for ambiguous dates and why, opaque trace lines, a format that
    /// names no computer. EVTX: a dirty or full header, header or chunk checksum mismatches, a
    /// file that ends inside a chunk (damage that did not stop the read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// The machine name of the collection folder the file sits in (KAPE-style
    /// `HOST/C/Windows/System32/winevt/Logs/…`), shown only when it differs from `host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder_host: Option<String>,
    /// EVTX: stale records carved from unallocated chunk space (cleared or overwritten records)
    /// and read. Not included in `records`; see `recovered_relevant`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub recovered: u64,
    /// Of the `recovered` records, those kept as events (also counted in `relevant`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub recovered_relevant: u64,
    /// True when the watchdog gave up waiting for this file's reader (see
    /// [`crate::ingest::watchdog`]): the reader was stuck and still runs in the background.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub abandoned_reader: bool,
    /// Of the `relevant` events, those left out of the timeline as copies of a record kept
    /// from another input (or from earlier in this one): the same log collected or exported
    /// twice. Each record counts once in attempts, hosts and the summary.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub repeated: u64,
    /// The inputs holding the copies kept of the `repeated` events, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repeated_kept_in: Vec<String>,
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
            opaque_records: 0,
            first_error: None,
            relevant: 0,
            out_of_window: 0,
            status: InputStatus::Read,
            reason: None,
            channels: Vec::new(),
            time_basis: None,
            note: None,
            bytes: source.size,
            recovered: 0,
            recovered_relevant: 0,
            abandoned_reader: false,
            folder_host: None,
            repeated: 0,
            repeated_kept_in: Vec::new(),
        }
    }

    /// A report for events that did not come from a file read here (rule cases, tests): a `read`
    /// input of `host` holding `channels`.
    pub fn synthetic(path: String, format: InputFormat, host: &str, channels: Vec<String>) -> Self {
        InputReport {
            path,
            format,
            host: Some(host.to_string()),
            channels,
            ..InputReport::unreadable(Path::new(""), String::new())
        }
        .with_status(InputStatus::Read)
    }

    fn with_status(mut self, status: InputStatus) -> Self {
        self.status = status;
        if status == InputStatus::Read {
            self.reason = None;
        }
        self
    }

    /// A report for a path that could not even be opened or listed.
    pub fn unreadable(path: &Path, reason: String) -> Self {
        InputReport {
            path: path.display().to_string(),
            format: InputFormat::Unknown,
            host: None,
            records: 0,
            failed_records: 0,
            opaque_records: 0,
            first_error: None,
            relevant: 0,
            out_of_window: 0,
            status: InputStatus::Unreadable,
            reason: Some(reason),
            channels: Vec::new(),
            time_basis: None,
            note: None,
            bytes: 0,
            recovered: 0,
            recovered_relevant: 0,
            abandoned_reader: false,
            folder_host: None,
            repeated: 0,
            repeated_kept_in: Vec::new(),
        }
    }

    /// What the `repeated` events are, for people: `None` when there are none.
    pub fn repeated_note(&self) -> Option<String> {
        (self.repeated > 0).then(|| {
            let places = if self.repeated_kept_in == [self.path.as_str()] {
                "earlier in this file".to_string()
            } else {
                self.repeated_kept_in.join(", ")
            };
            format!(
                "{} of its relevant events repeat records also read from {places} (counted once)",
                self.repeated
            )
        })
    }

    /// What an inputs table says of the file: why it was skipped or its first error, and its
    /// events left out as copies.
    pub fn remark(&self) -> String {
        let why = self.reason.as_deref().or(self.first_error.as_deref());
        let parts: Vec<String> = why
            .map(str::to_string)
            .into_iter()
            .chain(self.repeated_note())
            .collect();
        parts.join("; ")
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

/// The host name a collection folder gives a file: the folder above `C/Windows/System32/winevt/Logs`
/// (or above `Windows/System32/winevt/Logs` when the drive folder is missing).
pub fn collection_folder_host(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
    let tail = ["windows", "system32", "winevt", "logs"];
    let lower: Vec<String> = parts.iter().map(|p| p.to_ascii_lowercase()).collect();
    let at = lower
        .windows(tail.len())
        .position(|w| w.iter().map(String::as_str).eq(tail))?;
    let drive_first = at >= 1 && lower[at - 1].len() == 1
        || lower
            .get(at.wrapping_sub(1))
            .is_some_and(|d| d.len() == 2 && d.ends_with(':'));
    let host_at = if drive_first {
        at.checked_sub(2)?
    } else {
        at.checked_sub(1)?
    };
    Some(parts[host_at].to_string())
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
    if is_etl(head) {
        return InputFormat::Etl;
    }
    crate::ingest::detect_text(&text).unwrap_or(InputFormat::Unknown)
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
        "a binary ETW trace (.etl), which rdptriage does not decode: convert it on Windows first, \
         with `netsh trace convert input=FILE.etl output=FILE.txt` or \
         `tracerpt FILE.etl -o FILE.csv -of CSV`, and pass the result"
    } else if head.iter().take(512).filter(|b| **b == 0).count() > 32 {
        "binary data that is not an event log"
    } else {
        "text that is not a supported event export"
    };
    format!("not a supported event log format: {what}")
}

/// An `.etl` file starts with its first WMI buffer: a 0x48-byte `WMI_BUFFER_HEADER` whose first
/// field is the buffer size, then the logger's header event: a `SYSTEM_TRACE_HEADER` (marker with
/// the trace-header flags 0xC0 and header type 1 or 2, system32/system64, hook id 0 =
/// `EVENT_TRACE_GROUP_HEADER`/`EVENT_TRACE_TYPE_INFO`) followed at 0x68 by the
/// `TRACE_LOGFILE_HEADER`, whose first field repeats the buffer size.
fn is_etl(head: &[u8]) -> bool {
    let u16_at = |at: usize| {
        head.get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |at: usize| {
        head.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (Some(size), Some(offset), Some(hook), Some(logfile_size)) =
        (u32_at(0), u32_at(0x30), u16_at(0x4E), u32_at(0x68))
    else {
        return false;
    };
    let header_type = head[0x4A];
    let flags = head[0x4B];
    (0x400..=0x400_0000).contains(&size)
        && size % 0x400 == 0
        && offset <= size
        && matches!(header_type, 1 | 2)
        && flags & 0xC0 == 0xC0
        && hook == 0
        && logfile_size == size
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

    /// The first 0x70 bytes of an `.etl` file: WMI buffer header, system trace header, logfile header.
    fn etl_head(buffer_size: u32) -> Vec<u8> {
        let mut head = vec![0u8; 0x200];
        head[0..4].copy_from_slice(&buffer_size.to_le_bytes());
        head[0x30..0x34].copy_from_slice(&0x1D8u32.to_le_bytes()); // payload offset
        head[0x48..0x4C].copy_from_slice(&[0x02, 0x00, 0x02, 0xC0]); // version 2, system64, flags
        head[0x4C..0x4E].copy_from_slice(&0x190u16.to_le_bytes()); // size
        head[0x4E..0x50].copy_from_slice(&0u16.to_le_bytes()); // hook: trace group header, info
        head[0x68..0x6C].copy_from_slice(&buffer_size.to_le_bytes()); // TRACE_LOGFILE_HEADER
        head
    }

    #[test]
    fn etl_is_recognised_from_its_first_buffer() {
        assert_eq!(detect_format(&etl_head(0x10000)), InputFormat::Etl);
        assert_eq!(InputFormat::Etl.as_str(), "etl");
        let why = describe_unknown(&etl_head(0x10000), 0x10000);
        assert!(
            why.contains("netsh trace convert input=FILE.etl output=FILE.txt"),
            "{why}"
        );
        assert!(
            why.contains("tracerpt FILE.etl -o FILE.csv -of CSV"),
            "{why}"
        );
        // The logfile header must repeat the buffer size; the marker must be a system header.
        let mut wrong = etl_head(0x10000);
        wrong[0x68] = 1;
        assert_ne!(detect_format(&wrong), InputFormat::Etl);
        let mut wrong = etl_head(0x10000);
        wrong[0x4A] = 0x13;
        assert_ne!(detect_format(&wrong), InputFormat::Etl);
        assert_ne!(detect_format(&etl_head(1000)), InputFormat::Etl);
        // The old check's marker bytes anywhere in a file are not enough.
        let mut loose = vec![0u8; 0x100];
        loose[0x10..0x14].copy_from_slice(&[0x02, 0x00, 0x01, 0xC0]);
        assert_ne!(detect_format(&loose), InputFormat::Etl);
    }

    #[test]
    fn text_exports_are_detected() {
        assert_eq!(
            detect_format(b"Event[0]:\r\n  Log Name: System\r\n"),
            InputFormat::WevtutilText
        );
        assert_eq!(InputFormat::PowershellList.as_str(), "powershell-list");
    }

    #[test]
    fn collection_folders_name_their_host() {
        assert_eq!(
            collection_folder_host("share/HOST01/C/Windows/System32/winevt/Logs/System.evtx")
                .as_deref(),
            Some("HOST01")
        );
        assert_eq!(
            collection_folder_host(r"D:\kape\WS-7\C\Windows\System32\winevt\Logs\Security.evtx")
                .as_deref(),
            Some("WS-7")
        );
        assert_eq!(
            collection_folder_host("x/SRV/Windows/System32/winevt/Logs/a.evtx").as_deref(),
            Some("SRV")
        );
        assert_eq!(collection_folder_host("logs/System.evtx"), None);
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
