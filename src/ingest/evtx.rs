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
//! is literal text in the template, not a value, so the first record of each template in a chunk
//! is rendered once to learn it; later records of that template reuse it.

use super::{Collector, evtx_json};
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
        event_id: u32,
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

/// The host of each template seen in the current chunk (`Computer` is literal in templates).
#[derive(Clone, Default)]
struct HostCache {
    chunk: u64,
    by_template: Vec<(u32, String)>,
}

impl HostCache {
    fn get(&mut self, chunk: u64, template: u32) -> Option<String> {
        if self.chunk != chunk {
            self.chunk = chunk;
            self.by_template.clear();
        }
        self.by_template
            .iter()
            .find(|(t, _)| *t == template)
            .map(|(_, h)| h.clone())
    }

    fn put(&mut self, chunk: u64, template: u32, host: &str) {
        if self.chunk == chunk && self.by_template.len() < 256 {
            self.by_template.push((template, host.to_string()));
        }
    }
}

/// The System template's values of a record with the standard shape.
struct TemplateHeader {
    channel: String,
    provider: String,
    event_id: u32,
    template: u32,
}

/// Read channel, provider and event id from the System template's values, when the record has
/// the standard shape.
fn template_header(record: &EvtxRecord<'_>, cache: &mut StringCache) -> Option<TemplateHeader> {
    let instances = record.template_instances().ok()?;
    let first = instances.first()?;
    let values = &first.values;
    let event_id = match values.get(SYSTEM_EVENT_ID)? {
        BinXmlValue::UInt16Type(id) => u32::from(*id),
        _ => return None,
    };
    let provider = cache.get(values.get(SYSTEM_PROVIDER)?)?;
    let channel = cache.get(values.get(SYSTEM_CHANNEL)?)?;
    Some(TemplateHeader {
        channel,
        provider,
        event_id,
        template: first.template_def_offset,
    })
}

/// Read every record of an `.evtx` file. `Err` means the file could not be opened at all.
pub fn read(source: &Source, collector: &mut Collector) -> Result<(), String> {
    let settings = ParserSettings::new()
        .num_threads(1)
        .indent(false)
        .separate_json_attributes(true);
    let mut parser = EvtxParser::from_path(&source.path)
        .map_err(|e| format!("not a readable EVTX file: {e}"))?
        .with_configuration(settings);
    let path = source.display.clone();
    let mut strings = StringCache::default();
    let mut hosts = HostCache::default();
    let records = parser.serialized_records(move |record| {
        let record = record?;
        let record_id = record.event_record_id;
        let chunk = record.chunk.header.first_event_record_number;
        let header = template_header(&record, &mut strings);
        if let Some(h) = &header
            && !crate::event::catalog::is_relevant(&h.channel, &h.provider, h.event_id)
            && let Some(host) = hosts.get(chunk, h.template)
        {
            return Ok(Rendered::Ok {
                channel: h.channel.clone(),
                provider: h.provider.clone(),
                event_id: h.event_id,
                host,
                event: None,
            });
        }
        let json = record.into_json()?;
        let rendered = render(&json.data, record_id, &path);
        if let (Some(h), Rendered::Ok { host, .. }) = (&header, &rendered) {
            hosts.put(chunk, h.template, host);
        }
        Ok(rendered)
    });
    for item in records {
        match item {
            Ok(Rendered::Ok {
                channel,
                provider,
                event_id,
                host,
                event,
            }) => {
                if collector.wants(&channel, &provider, event_id, &host)
                    && let Some(event) = event
                {
                    collector.push(*event);
                }
            }
            Ok(Rendered::Bad(record_id, message)) => {
                collector.fail(|| format!("record {record_id}: {message}"));
            }
            Err(err) => collector.fail(|| err.to_string()),
        }
    }
    Ok(())
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
        event_id: header.event_id,
        host: header.host,
        event,
    }
}
