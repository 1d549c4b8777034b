//! Reader for JSON lines.
//!
//! Takes: a JSONL [`Source`]: either `evtx_dump -o jsonl` output (one `{"Event": …}` per line, in
//! either attribute layout) or rdptriage's own `events --format jsonl` output (the map step of a
//! bulk run, read back by the reduce step).
//! Produces: records into the [`Collector`], each with `line` provenance (our own lines keep the
//! provenance they were written with, so verdicts still point at the original file and record).

use super::{Collector, evtx_json};
use crate::event::Event;
use crate::source::Source;
use std::io::BufRead;

/// Longest line read, in bytes; a longer line is one failed record and reading goes on.
pub const MAX_LINE: usize = 16 << 20;

/// Read every line. `Err` means the file could not be opened (or the watchdog stopped reading).
pub fn read(source: &Source, collector: &mut Collector) -> Result<(), String> {
    let file = std::fs::File::open(&source.path).map_err(|e| e.to_string())?;
    read_from(std::io::BufReader::new(file), source, collector)
}

/// Read every line of `reader`.
pub(crate) fn read_from<R: BufRead>(
    mut reader: R,
    source: &Source,
    collector: &mut Collector,
) -> Result<(), String> {
    let mut line = Vec::new();
    // The origins of the file's events: read back as text, shared by the events that name them.
    let mut origins = crate::event::Origins::default();
    for number in 1u64.. {
        collector.check()?;
        line.clear();
        let complete = match next_line(&mut reader, &mut line) {
            Ok(None) => break,
            Ok(Some(complete)) => complete,
            Err(e) => {
                collector.fail(|| format!("line {number}: {e}"));
                break;
            }
        };
        if !complete {
            collector.fail(|| format!("line {number}: longer than {} MiB", MAX_LINE >> 20));
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_start_matches('\u{feff}').trim();
        if text.is_empty() {
            continue;
        }
        if let Err(message) = read_line(text, number, source, collector, &mut origins) {
            collector.fail(|| format!("line {number}: {message}"));
        }
    }
    Ok(())
}

/// Read one line into `line` (at most [`MAX_LINE`] bytes kept; the rest of a longer line is
/// skipped). `None` at the end of the input; `Some(false)` when the line was too long.
fn next_line<R: BufRead>(reader: &mut R, line: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    let mut seen = false;
    let mut complete = true;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(seen.then_some(complete));
        }
        seen = true;
        let (take, done) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        let room = MAX_LINE.saturating_sub(line.len());
        if take > room {
            complete = false;
        }
        line.extend_from_slice(&buf[..take.min(room)]);
        reader.consume(take);
        if done {
            return Ok(Some(complete));
        }
    }
}

fn read_line(
    text: &str,
    number: u64,
    source: &Source,
    c: &mut Collector,
    origins: &mut crate::event::Origins,
) -> Result<(), String> {
    if text.starts_with(r#"{"Event""#)
        || text.contains(r#""Event":{"#) && !text.contains(r#""event_id""#)
    {
        let split = evtx_json::split(text)?;
        let h = &split.header;
        if !c.wants(&h.channel, &h.provider, h.event_id, &h.host) {
            return Ok(());
        }
        let time = h.time.ok_or("event has no TimeCreated")?;
        let fields = evtx_json::fields(&split)?;
        let h = split.header;
        c.push(Event {
            time,
            origin: origins.get_text([&h.host, &h.channel, &h.provider], &source.display),
            event_id: h.event_id,
            level: h.level,
            activity_id: h.activity_id.map(Into::into),
            fields,
            place: crate::event::Place::new(crate::event::Locator::Line(number), h.record_id),
        });
        return Ok(());
    }
    let event =
        crate::event::event_from_line(text, origins).map_err(|e| format!("not an event: {e}"))?;
    if c.wants(
        event.channel(),
        event.provider(),
        event.event_id,
        event.host(),
    ) {
        c.push(event);
    }
    Ok(())
}
