//! Entry points for the fuzz targets in `fuzz/` and for property tests: each reader run on bytes
//! in memory, exactly as [`super::ingest`] runs it on a file (same [`Collector`], same limits),
//! but on the calling thread. Not part of the API.

use super::{Collector, FileIngest, IngestOptions, evtx, jsonl, text, xml};
use crate::source::{InputFormat, Source};
use std::sync::Arc;

fn source(format: InputFormat, len: usize) -> Source {
    Source {
        path: "fuzz-input".into(),
        display: Arc::from("fuzz-input"),
        size: len as u64,
        format,
    }
}

fn finish(collector: Collector, result: Result<(), String>) -> FileIngest {
    collector.finish(result.err())
}

/// Run the XML reader on `bytes`.
pub fn xml(bytes: &[u8]) -> FileIngest {
    let s = source(InputFormat::Xml, bytes.len());
    let mut c = Collector::new(&s, &IngestOptions::default());
    let result = xml::read_from(bytes, s.display.clone(), &mut c);
    finish(c, result)
}

/// Run the JSONL reader on `bytes`.
pub fn jsonl(bytes: &[u8]) -> FileIngest {
    let s = source(InputFormat::Jsonl, bytes.len());
    let mut c = Collector::new(&s, &IngestOptions::default());
    let result = jsonl::read_from(bytes, &s, &mut c);
    finish(c, result)
}

/// Run the EVTX reader on `bytes` (both relevance paths, with record recovery).
pub fn evtx(bytes: &[u8]) -> FileIngest {
    evtx_with(bytes, &IngestOptions::default())
}

/// Run the EVTX reader on `bytes` with `options`.
pub fn evtx_with(bytes: &[u8], options: &IngestOptions) -> FileIngest {
    let s = source(InputFormat::Evtx, bytes.len());
    let mut c = Collector::new(&s, options);
    let result = evtx::read_buffer(bytes.to_vec(), s.display.clone(), &mut c, options);
    finish(c, result)
}

/// Run the text-form reader that content detection picks for `bytes` (wevtutil text, Event
/// Viewer text, PowerShell Format-List, netsh trace text, tracerpt CSV, EvtxECmd CSV); `None`
/// when the bytes are not detected as a text form.
pub fn text(bytes: &[u8]) -> Option<FileIngest> {
    let head = &bytes[..bytes.len().min(8192)];
    let format = crate::source::detect_format(head);
    if matches!(
        format,
        InputFormat::Evtx
            | InputFormat::Xml
            | InputFormat::Jsonl
            | InputFormat::Etl
            | InputFormat::Unknown
    ) {
        return None;
    }
    let s = source(format, bytes.len());
    let options = IngestOptions::default();
    let mut c = Collector::new(&s, &options);
    let result = text::read_from(&s, bytes, &mut c, &options);
    Some(finish(c, result))
}

/// Detect the format of `bytes` from their content and run that reader in memory (formats with no
/// in-memory entry point here give `None`). Fuzz targets that must cover every reader,
/// including new ones, write the bytes to a file and call [`super::ingest`] instead.
pub fn detected(bytes: &[u8]) -> Option<FileIngest> {
    let head = &bytes[..bytes.len().min(8192)];
    match crate::source::detect_format(head) {
        InputFormat::Evtx => Some(evtx(bytes)),
        InputFormat::Xml => Some(xml(bytes)),
        InputFormat::Jsonl => Some(jsonl(bytes)),
        _ => text(bytes),
    }
}
