//! Reader for binary `.evtx` files.
//!
//! Takes: one `.evtx` [`Source`].
//! Produces: records into the [`Collector`]. Uses the `evtx` crate with one thread per parser
//! (rayon already runs one parser per file; a threaded parser inside a rayon task deadlocks),
//! compact JSON rendering, and no checksum validation (validation drops whole chunks of dirty but
//! readable logs).
//!
//! Records are not rendered when their template is understood: Windows writes a record as an
//! instance of a template plus its substitution values. The template's definition (once per
//! template, see [`super::evtx_template`]) says which value is the EventID, the provider, the
//! channel and each EventData/UserData field; the record's event is then built straight from its
//! values ([`super::evtx_direct`]), and only for the events the catalog knows. Records whose
//! template or values are of a kind the direct route does not handle are rendered to JSON by the
//! crate and parsed, as before; a test holds the two routes equal on the samples and the corpus.
//!
//! Damage: stale records in chunk slack are recovered (`recover_records`, on by default) and
//! counted apart from live ones; a dirty or full file header, header and chunk checksum
//! mismatches, and a file that ends inside a chunk are reported as notes (see [`super::evtx_checks`]);
//! checksums are never used to drop data. The reader checks the watchdog limits between records.

use super::evtx_checks::{BadChunks, ChunkCheck, PaddedFile, header_notes};
use super::evtx_template::{Context, TemplateShape};
use super::{Collector, IngestOptions, evtx_direct, evtx_json, evtx_template};
use crate::event::{Event, Provenance};
use crate::source::Source;
use evtx::{EvtxParser, EvtxRecord, ParserSettings};
use std::sync::Arc;

/// What the per-record closure hands back to the collector.
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

/// The shapes of the templates met so far, by definition offset. A chunk's template offsets
/// are its own, so an entry is reused only when the definition's bytes are the same; records of
/// consecutive chunks mostly are.
#[derive(Clone, Default)]
struct ShapeCache {
    entries: Vec<ShapeEntry>,
    /// The header strings of the file's records.
    strings: evtx_direct::Strings,
    /// Recent relevance decisions by (channel, provider) pointer and event id: the catalog is
    /// asked once per kind of record, not once per record.
    relevance: Vec<(Arc<str>, Arc<str>, u32, bool)>,
}

/// How many relevance decisions [`ShapeCache`] remembers.
const RECENT_DECISIONS: usize = 64;

impl ShapeCache {
    fn is_relevant(&mut self, header: &evtx_direct::DirectHeader) -> bool {
        let found = self.relevance.iter().find(|(c, p, id, _)| {
            *id == header.event_id
                && Arc::ptr_eq(c, &header.channel)
                && Arc::ptr_eq(p, &header.provider)
        });
        if let Some((_, _, _, relevant)) = found {
            return *relevant;
        }
        let relevant =
            crate::event::catalog::is_relevant(&header.channel, &header.provider, header.event_id);
        if self.relevance.len() >= RECENT_DECISIONS {
            self.relevance.remove(0);
        }
        self.relevance.push((
            header.channel.clone(),
            header.provider.clone(),
            header.event_id,
            relevant,
        ));
        relevant
    }
}

#[derive(Clone)]
struct ShapeEntry {
    offset: u32,
    context: Context,
    definition: Vec<u8>,
    shape: Option<Arc<TemplateShape>>,
}

/// Upper bound on remembered templates (a chunk rarely holds more than a few dozen).
const MAX_SHAPES: usize = 256;

impl ShapeCache {
    fn get(&mut self, chunk: &[u8], offset: u32, context: Context) -> Option<Arc<TemplateShape>> {
        let definition = definition_bytes(chunk, offset)?;
        if let Some(e) = self
            .entries
            .iter()
            .find(|e| e.offset == offset && e.context == context && e.definition == definition)
        {
            return e.shape.clone();
        }
        let shape = evtx_template::parse(chunk, offset, context).map(Arc::new);
        if self.entries.len() >= MAX_SHAPES {
            self.entries.clear();
        }
        self.entries.push(ShapeEntry {
            offset,
            context,
            definition: definition.to_vec(),
            shape: shape.clone(),
        });
        shape
    }
}

/// The bytes of the template definition at `offset`: its 24-byte header and its body.
fn definition_bytes(chunk: &[u8], offset: u32) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let size = chunk.get(start + 20..start + 24)?;
    let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]) as usize;
    chunk.get(start..start.checked_add(24)?.checked_add(size)?)
}

/// Build the record's event from its template values when the template's shape is known.
fn direct(record: &EvtxRecord<'_>, path: &Arc<str>, shapes: &mut ShapeCache) -> Option<Rendered> {
    let instances = record.template_instances().ok()?;
    let [instance] = instances.as_slice() else {
        return None;
    };
    let shape = shapes.get(
        record.chunk.data,
        instance.template_def_offset,
        Context::Record,
    )?;
    let values = &instance.values;
    let header = evtx_direct::header(&shape, values, &mut shapes.strings)?;
    let event = if shapes.is_relevant(&header) {
        let chunk = record.chunk.data;
        let mut nested = |bytes: &[u8], kind| {
            let (definition, values) = evtx_direct::nested_instance(chunk, bytes)?;
            let shape = shapes.get(chunk, definition, Context::Payload(kind))?;
            evtx_direct::fields(&shape.fields, &|i| values.get(usize::from(i))?.clone())
        };
        let event = evtx_direct::event(
            &shape,
            values,
            &header,
            record.event_record_id,
            path,
            &mut nested,
        )?;
        Some(Box::new(event))
    } else {
        None
    };
    Some(Rendered::Ok {
        channel: header.channel,
        host: header.host,
        event,
    })
}

/// Read every record of an `.evtx` file. `Err` means the file could not be opened at all.
pub fn read(
    source: &Source,
    collector: &mut Collector,
    options: &IngestOptions,
) -> Result<(), String> {
    let file = std::fs::File::open(&source.path).map_err(|e| format!("cannot open: {e}"))?;
    let (padded, partial) = PaddedFile::new(file).map_err(|e| format!("cannot open: {e}"))?;
    let parser =
        EvtxParser::from_read_seek(padded).map_err(|e| format!("not a readable EVTX file: {e}"))?;
    if let Some(bytes) = partial {
        collector.note(format!(
            "the file ends inside a chunk ({bytes} of 65536 bytes, truncated?): the records of that partial chunk were read as far as they go"
        ));
    }
    read_parser(parser, source.display.clone(), collector, options)
}

/// Read an `.evtx` file held in memory (the fuzz targets use it).
pub(crate) fn read_buffer(
    bytes: Vec<u8>,
    path: Arc<str>,
    collector: &mut Collector,
    options: &IngestOptions,
) -> Result<(), String> {
    let parser =
        EvtxParser::from_buffer(bytes).map_err(|e| format!("not a readable EVTX file: {e}"))?;
    read_parser(parser, path, collector, options)
}

/// What the per-record closure hands back: the record, whether it was carved from slack, and a
/// checksum problem of its chunk (reported with the chunk's first record).
struct Item {
    rendered: Rendered,
    recovered: bool,
    bad_chunk: Option<String>,
}

fn read_parser<T: std::io::Read + std::io::Seek>(
    parser: EvtxParser<T>,
    path: Arc<str>,
    collector: &mut Collector,
    options: &IngestOptions,
) -> Result<(), String> {
    header_notes(parser.header(), collector);
    let settings = ParserSettings::new()
        .num_threads(1)
        .indent(false)
        .separate_json_attributes(true)
        .recover_records(options.recover_records);
    let mut parser = parser.with_configuration(settings);
    let mut shapes = ShapeCache::default();
    let mut chunks = ChunkCheck::default();
    let fast = !options.render_every_record;
    let records = parser.serialized_records(move |record| {
        let record = record?;
        let bad_chunk = chunks.check(record.chunk);
        let recovered = record.recovered;
        let rendered = render_record(record, &path, fast, &mut shapes)?;
        Ok(Item {
            rendered,
            recovered,
            bad_chunk,
        })
    });
    let mut bad_chunks = BadChunks::default();
    for item in records {
        collector.check()?;
        match item {
            Ok(item) => {
                bad_chunks.add(item.bad_chunk);
                collect(item.rendered, item.recovered, collector);
            }
            Err(err) => collector.fail(|| err.to_string()),
        }
    }
    if let Some(note) = bad_chunks.note() {
        collector.note(note);
    }
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
    let json = record.into_json()?;
    Ok(render(&json.data, record_id, path))
}

/// Hand one rendered record to the collector. A carved record that cannot be understood is noise
/// (the evtx crate drops the ones that do not even render), not a failure.
fn collect(rendered: Rendered, recovered: bool, collector: &mut Collector) {
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
                collector.count(&channel, &host);
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
                host: h.host.clone(),
                channel: h.channel.clone(),
                provider: h.provider.clone(),
                event_id: h.event_id,
                level: h.level,
                record_id: Some(h.record_id.unwrap_or(record_id)),
                activity_id: h.activity_id.clone(),
                fields,
                source: Provenance::record(path.clone(), record_id),
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
