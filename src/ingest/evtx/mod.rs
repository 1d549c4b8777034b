//! Reader for binary `.evtx` files.
//!
//! Takes: one `.evtx` [`Source`].
//! Produces: records into the [`Collector`]. The `evtx` crate finds the file's chunks (in record
//! order, also for a log that has wrapped around); their records are read in three ways, fastest
//! first:
//!
//! 1. **Raw walk** ([`super::evtx_raw`], [`chunks`]): the chunk's records are walked by the
//!    project's own code, each a template instance whose values are sliced, not decoded. The
//!    template's definition (parsed once per template, see [`super::evtx_template`]) says which
//!    value is the EventID, the provider, the channel and each EventData/UserData field; the
//!    record's header is read for the accounting and its event built ([`super::evtx_direct`])
//!    only for the events the catalog knows. Batches of chunks are walked in parallel on the
//!    run's [`ChunkWalkers`], so one big file uses every core.
//! 2. **Crate values**: a chunk the raw walk does not take whole (a damaged record, a layout it
//!    does not know) is read by the crate, on the reader thread, and each record's event is
//!    still built from its template values when it can be. Stale records in the slack of a
//!    chunk the raw walk took are carved by the crate from a copy of the chunk with its live
//!    records hidden ([`chunks`]), so that it does not build them again.
//! 3. **JSON**: records whose template or values the direct route does not handle (CDATA, mixed
//!    text, arrays, floats, carved records) are rendered to JSON by the crate and parsed.
//!
//! Tests hold the routes equal on the samples and the corpus: same events, same accounting.
//! The crate runs with one thread per parser (a threaded parser inside a rayon task
//! deadlocks) and no checksum validation (validation drops whole chunks of dirty but readable
//! logs).
//!
//! Damage: stale records in chunk slack are recovered (`recover_records`, on by default) and
//! counted apart from live ones; a dirty or full file header, header and chunk checksum
//! mismatches, and a file that ends inside a chunk are reported as notes (see [`super::evtx_checks`]);
//! checksums are never used to drop data. The reader checks the watchdog limits between records.

mod chunks;
mod parts;
mod shapes;

use super::evtx_checks::{ChunkCheck, PaddedFile, header_notes};
use super::{Collector, IngestOptions, evtx_json};
use crate::event::{ActivityId, Event};
use crate::source::Source;
pub use chunks::ChunkWalkers;
use chunks::{BATCH_CHUNKS, ChunkReader};
use evtx::err::EvtxError;
use evtx::{EvtxChunkData, EvtxParser, EvtxRecord, ParserSettings};
pub use parts::Part;
use shapes::{RawWalk, ShapeCache, direct};
use std::sync::Arc;

/// A record as read, for the collector.
enum Rendered {
    /// Parsed; `event` is set only for relevant records.
    Ok {
        channel: Arc<str>,
        host: Arc<str>,
        event: Option<Box<Event>>,
    },
    /// Rendered but not understandable as an event.
    Bad(u64, String),
}

/// Read every record of an `.evtx` file, or of one [`Part`] of it. `Err` means the file could not
/// be opened at all.
pub fn read(
    source: &Source,
    collector: &mut Collector,
    options: &IngestOptions,
    part: Option<Part>,
) -> Result<(), String> {
    let file = std::fs::File::open(&source.path).map_err(|e| format!("cannot open: {e}"))?;
    let (mut padded, partial) = PaddedFile::new(file).map_err(|e| format!("cannot open: {e}"))?;
    let Some(part) = part else {
        let parser = EvtxParser::from_read_seek(padded).map_err(not_readable)?;
        note_partial(partial, collector);
        return read_parser(parser, source.display.clone(), collector, options);
    };
    let header_block = {
        let parser = EvtxParser::from_read_seek(&mut padded).map_err(not_readable)?;
        note_partial(partial, collector);
        header_notes(parser.header(), collector);
        parser.header().header_block_size
    };
    let order = parts::record_order(&mut padded, header_block);
    let chunks = parts::PartChunks::new(&mut padded, parts::share(&order, part));
    read_chunks(chunks, source.display.clone(), collector, options)
}

fn not_readable(error: EvtxError) -> String {
    format!("not a readable EVTX file: {error}")
}

fn note_partial(partial: Option<u64>, collector: &mut Collector) {
    if let Some(bytes) = partial {
        collector.note(format!(
            "the file ends inside a chunk ({bytes} of 65536 bytes, truncated?): the records of that partial chunk were read as far as they go"
        ));
    }
}

/// Read an `.evtx` file held in memory (the fuzz targets use it).
pub(crate) fn read_buffer(
    bytes: Vec<u8>,
    path: Arc<str>,
    collector: &mut Collector,
    options: &IngestOptions,
) -> Result<(), String> {
    let parser = EvtxParser::from_buffer(bytes).map_err(not_readable)?;
    read_parser(parser, path, collector, options)
}

fn read_parser<T: std::io::Read + std::io::Seek>(
    mut parser: EvtxParser<T>,
    path: Arc<str>,
    collector: &mut Collector,
    options: &IngestOptions,
) -> Result<(), String> {
    header_notes(parser.header(), collector);
    read_chunks(parser.chunks(), path, collector, options)
}

/// Read `chunks` (a file's, or a part's, in record order) into the collector.
fn read_chunks(
    chunks: impl Iterator<Item = Result<EvtxChunkData, EvtxError>>,
    path: Arc<str>,
    collector: &mut Collector,
    options: &IngestOptions,
) -> Result<(), String> {
    let settings = ParserSettings::new()
        .num_threads(1)
        .indent(false)
        .separate_json_attributes(true)
        .recover_records(options.recover_records);
    let mut reader = ChunkReader {
        walk: RawWalk {
            path,
            settings: Arc::new(settings),
            carve: options.recover_records,
        },
        fast: !options.render_every_record,
        walkers: options.chunk_walkers.clone(),
        shapes: ShapeCache::default(),
        group_shapes: Vec::new(),
        checks: ChunkCheck::default(),
        bad_chunks: Default::default(),
    };
    // One batch is walked on the pool while the one before it is committed here.
    let mut in_flight = None;
    let mut batch = Vec::with_capacity(BATCH_CHUNKS);
    for chunk in chunks {
        collector.check()?;
        match chunk {
            Ok(chunk) => {
                batch.push(chunk);
                if batch.len() == BATCH_CHUNKS {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_CHUNKS));
                    let started = reader.start(full);
                    if let Some(before) = in_flight.replace(started) {
                        reader.finish(before, collector)?;
                    }
                }
            }
            Err(err) => {
                // The chunks before it first, so failures keep file order.
                if let Some(before) = in_flight.take() {
                    reader.finish(before, collector)?;
                }
                let started = reader.start(std::mem::take(&mut batch));
                reader.finish(started, collector)?;
                collector.fail(|| err.to_string());
            }
        }
    }
    if let Some(before) = in_flight.take() {
        reader.finish(before, collector)?;
    }
    let started = reader.start(batch);
    reader.finish(started, collector)?;
    collector.bad_chunks.absorb(reader.bad_chunks);
    Ok(())
}

/// Build the event from the template values when possible, else render the record.
fn render_record(
    record: EvtxRecord<'_>,
    path: &Arc<str>,
    fast: bool,
    shapes: &mut ShapeCache,
) -> evtx::err::Result<Rendered> {
    // A carved record counts only once it renders (the crate drops the ones that do not), so it
    // never takes the direct route.
    if fast
        && !record.recovered
        && let Some(direct) = direct(&record, path, shapes)
    {
        return Ok(direct);
    }
    let record_id = record.event_record_id;
    let recovered = record.recovered;
    let json = record.into_json()?;
    let rendered = render(&json.data, record_id, path);
    // The crate writes control characters of damaged text raw into its JSON strings, which no
    // JSON parser accepts: escape them and try once more, rather than lose a live record. (A
    // carved record that does not parse stays noise: its bytes were partly overwritten.)
    if let Rendered::Bad(..) = rendered
        && !recovered
        && let Some(escaped) = escape_control_characters(&json.data)
    {
        return Ok(render(&escaped, record_id, path));
    }
    Ok(rendered)
}

/// `json` with raw control characters written as `\u00XX` escapes; `None` when it has none.
fn escape_control_characters(json: &str) -> Option<String> {
    if !json.bytes().any(|b| b < 0x20) {
        return None;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if (c as u32) < 0x20 {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Counts of records read, by channel and host, handed to the collector in runs: a file's
/// consecutive records mostly share both (the same shared strings, compared by pointer).
#[derive(Default)]
struct Tally {
    run: Option<(Arc<str>, Arc<str>, u64)>,
}

impl Tally {
    fn add(&mut self, channel: Arc<str>, host: Arc<str>, collector: &mut Collector) {
        if let Some((c, h, n)) = &mut self.run
            && Arc::ptr_eq(c, &channel)
            && Arc::ptr_eq(h, &host)
        {
            *n += 1;
            return;
        }
        self.flush(collector);
        self.run = Some((channel, host, 1));
    }

    fn flush(&mut self, collector: &mut Collector) {
        if let Some((channel, host, n)) = self.run.take() {
            collector.count_many(&channel, &host, n);
        }
    }
}

/// Hand one rendered record to the collector. A carved record that cannot be understood is noise
/// (the evtx crate drops the ones that do not even render), not a failure.
fn collect(rendered: Rendered, recovered: bool, tally: &mut Tally, collector: &mut Collector) {
    match rendered {
        Rendered::Ok {
            channel,
            host,
            event,
            ..
        } => {
            // `event` is built only for relevant records: no second catalog look-up here.
            if recovered {
                collector.count_recovered();
            } else {
                tally.add(channel, host, collector);
            }
            match event {
                Some(event) if recovered => collector.push_recovered(*event),
                Some(event) => collector.push(*event),
                None => {}
            }
        }
        Rendered::Bad(_, _) if recovered => {}
        Rendered::Bad(record_id, message) => {
            collector.fail(|| format!("record {record_id}: {message}"));
        }
    }
}

/// Runs inside the parser: split the header off, build fields only if the catalog knows the event.
fn render(json: &str, record_id: u64, path: &Arc<str>) -> Rendered {
    let split = match evtx_json::split(json) {
        Ok(s) => s,
        Err(message) => return Rendered::Bad(record_id, message),
    };
    let h = &split.header;
    let relevant = crate::event::catalog::is_relevant(&h.channel, &h.provider, h.event_id);
    let event = if relevant {
        let Some(time) = h.time else {
            return Rendered::Bad(record_id, "event has no TimeCreated".into());
        };
        match evtx_json::fields(&split) {
            Ok(fields) => Some(Box::new(Event {
                time,
                origin: crate::event::Origin::new(
                    h.host.as_str(),
                    h.channel.as_str(),
                    h.provider.as_str(),
                    path.clone(),
                ),
                event_id: h.event_id,
                level: h.level,
                activity_id: h.activity_id.as_deref().map(ActivityId::from),
                fields,
                place: crate::event::Place::new(
                    crate::event::Locator::Record(record_id),
                    Some(h.record_id.unwrap_or(record_id)),
                ),
            })),
            Err(message) => return Rendered::Bad(record_id, message),
        }
    } else {
        None
    };
    let header = split.header;
    Rendered::Ok {
        channel: header.channel.into(),
        host: header.host.into(),
        event,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_control_characters_in_the_crates_json_are_escaped_so_the_record_parses() {
        let bad = "{\"a\":\"x\u{1}y\u{0}\"}";
        assert!(serde_json::from_str::<serde_json::Value>(bad).is_err());
        let fixed = escape_control_characters(bad).unwrap();
        let value: serde_json::Value = serde_json::from_str(&fixed).unwrap();
        assert_eq!(value["a"], "x\u{1}y\u{0}");
        assert_eq!(
            escape_control_characters("{\"a\":1}"),
            None,
            "nothing to escape"
        );
    }
}
