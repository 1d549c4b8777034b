//! Reader for binary `.evtx` files.
//!
//! Takes: one `.evtx` [`Source`].
//! Produces: records into the [`Collector`]. Uses the `evtx` crate with one thread per parser
//! (rayon already runs one parser per file; a threaded parser inside a rayon task deadlocks),
//! compact JSON rendering, and no checksum validation (validation drops whole chunks of dirty but
//! readable logs). Each record's header is parsed first; fields are built only for relevant records.

use super::{Collector, evtx_json};
use crate::event::{Event, Provenance};
use crate::source::Source;
use evtx::{EvtxParser, ParserSettings};
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
    let records = parser.serialized_records(move |record| {
        let record = record?;
        let record_id = record.event_record_id;
        let json = record.into_json()?;
        Ok(render(&json.data, record_id, &path))
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
