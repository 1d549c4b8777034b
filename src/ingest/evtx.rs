//! Reader for binary `.evtx` files.
//!
//! Takes: one `.evtx` [`Source`].
//! Produces: records into the [`Collector`]. Uses the `evtx` crate with one thread per parser
//! (rayon already runs one parser per file; a threaded parser inside a rayon task deadlocks),
//! compact JSON rendering, and no checksum validation (validation drops whole chunks of dirty but
//! readable logs).
//!
//! Relevance is decided before rendering: Windows writes every record as an instance of the same
//! System template, whose substitution values hold the EventID (index 3), the provider name (14) and
//! the channel (16). When a record has that shape and the catalog does not know its event, it is
//! counted and skipped without rendering; otherwise it is rendered to JSON and parsed. `Computer`
//! (and, for classic providers, the provider and channel) are literal text in the template, not
//! values, so the first record of each template in a chunk is rendered once to learn them; later
//! records of that template reuse them.
//!
//! Damage: stale records in chunk slack are recovered (`recover_records`, on by default) and
//! counted apart from live ones; a dirty or full file header, header and chunk checksum
//! mismatches, and a file that ends inside a chunk are reported as notes (see [`super::evtx_checks`]);
//! checksums are never used to drop data. The reader checks the watchdog limits between records.

use super::evtx_checks::{BadChunks, ChunkCheck, PaddedFile, header_notes};
use super::{Collector, IngestOptions, evtx_json};
use crate::event::{Event, Provenance};
use crate::source::Source;
use evtx::binxml::value_variant::BinXmlValue;
use evtx::{EvtxParser, EvtxRecord, ParserSettings};
use std::sync::Arc;

/// What the per-record closure hands back to the collector.
enum Rendered {
    /// Parsed; `event` is set only for relevant records.
    Ok {
        channel: String,
        provider: String,
        host: String,
        event: Option<Box<Event>>,
    },
    /// Rendered but not understandable as an event.
    Bad(u64, String),
}

/// Substitution indexes of the System template Windows uses for every record.
const SYSTEM_EVENT_ID: usize = 3;
const SYSTEM_PROVIDER: usize = 14;
const SYSTEM_CHANNEL: usize = 16;

/// Remembers the last decoded strings: records of one file share channel and provider.
#[derive(Clone, Default)]
struct StringCache {
    entries: Vec<(Vec<u8>, String)>,
}

impl StringCache {
    fn get(&mut self, value: &BinXmlValue<'_>) -> Option<String> {
        let BinXmlValue::StringType(s) = value else {
            return None;
        };
        let bytes = s.as_bytes();
        if let Some((_, text)) = self.entries.iter().find(|(b, _)| b == bytes) {
            return Some(text.clone());
        }
        let text = s.to_string().ok()?;
        if self.entries.len() >= 8 {
            self.entries.remove(0);
        }
        self.entries.push((bytes.to_vec(), text.clone()));
        Some(text)
    }
}

/// What a template spells out as literal text: `Computer` always; provider and channel in the
/// templates of classic providers (manifest providers pass them as values 14 and 16).
#[derive(Clone)]
struct TemplateLiterals {
    host: String,
    channel: String,
    provider: String,
}

/// The literals of each template seen in the current chunk (template offsets are per chunk).
#[derive(Clone, Default)]
struct TemplateCache {
    chunk: u64,
    by_template: Vec<(u32, TemplateLiterals)>,
}

impl TemplateCache {
    fn get(&mut self, chunk: u64, template: u32) -> Option<&TemplateLiterals> {
        if self.chunk != chunk {
            self.chunk = chunk;
            self.by_template.clear();
        }
        self.by_template
            .iter()
            .find(|(t, _)| *t == template)
            .map(|(_, l)| l)
    }

    fn put(&mut self, chunk: u64, template: u32, literals: TemplateLiterals) {
        if self.chunk == chunk && self.by_template.len() < 256 {
            self.by_template.push((template, literals));
        }
    }
}

/// The System template's values of a record with the standard shape.
struct TemplateValues {
    event_id: u32,
    template: u32,
    /// Provider and channel when they are values (manifest providers).
    provider: Option<String>,
    channel: Option<String>,
}

/// Read the event id (and, for manifest providers, provider and channel) from the System
/// template's values, when the record has the standard shape.
fn template_values(record: &EvtxRecord<'_>, strings: &mut StringCache) -> Option<TemplateValues> {
    let instances = record.template_instances().ok()?;
    let first = instances.first()?;
    let values = &first.values;
    let event_id = match values.get(SYSTEM_EVENT_ID)? {
        BinXmlValue::UInt16Type(id) => u32::from(*id),
        _ => return None,
    };
    Some(TemplateValues {
        event_id,
        template: first.template_def_offset,
        provider: values.get(SYSTEM_PROVIDER).and_then(|v| strings.get(v)),
        channel: values.get(SYSTEM_CHANNEL).and_then(|v| strings.get(v)),
    })
}

/// Decide from the template alone that a record is irrelevant; `None` means it must be rendered.
fn skip_without_rendering(
    values: &TemplateValues,
    literals: &TemplateLiterals,
) -> Option<Rendered> {
    let channel = values.channel.as_ref().unwrap_or(&literals.channel);
    let provider = values.provider.as_ref().unwrap_or(&literals.provider);
    if crate::event::catalog::is_relevant(channel, provider, values.event_id) {
        return None;
    }
    Some(Rendered::Ok {
        channel: channel.clone(),
        provider: provider.clone(),
        host: literals.host.clone(),
        event: None,
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
    let mut strings = StringCache::default();
    let mut templates = TemplateCache::default();
    let mut chunks = ChunkCheck::default();
    let fast = !options.render_every_record;
    let records = parser.serialized_records(move |record| {
        let record = record?;
        let bad_chunk = chunks.check(record.chunk);
        let recovered = record.recovered;
        let rendered = render_record(record, &path, fast, &mut strings, &mut templates)?;
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

/// Decide relevance from the template when possible, else render the record.
fn render_record(
    record: EvtxRecord<'_>,
    path: &Arc<str>,
    fast: bool,
    strings: &mut StringCache,
    templates: &mut TemplateCache,
) -> evtx::err::Result<Rendered> {
    let record_id = record.event_record_id;
    let chunk = record.chunk.header.first_event_record_number;
    let values = template_values(&record, strings);
    // A carved record counts only once it renders (the crate drops the ones that do not), so it
    // never takes the fast path.
    if fast
        && !record.recovered
        && let Some(v) = &values
        && let Some(literals) = templates.get(chunk, v.template)
        && let Some(skipped) = skip_without_rendering(v, literals)
    {
        return Ok(skipped);
    }
    let json = record.into_json()?;
    let rendered = render(&json.data, record_id, path);
    if let (
        Some(v),
        Rendered::Ok {
            host,
            channel,
            provider,
            ..
        },
    ) = (&values, &rendered)
    {
        let literals = TemplateLiterals {
            host: host.clone(),
            channel: channel.clone(),
            provider: provider.clone(),
        };
        templates.put(chunk, v.template, literals);
    }
    Ok(rendered)
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
        channel: header.channel,
        provider: header.provider,
        host: header.host,
        event,
    }
}
