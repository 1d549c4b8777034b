//! Events built from template values: the template shapes met in a file, and the direct route.
//!
//! Takes: a record's template definition offset and substitution values, from the crate's
//! parse ([`direct`]) or from the raw walk of a chunk ([`raw_chunk`]).
//! Produces: the record as [`Rendered`] (header for the accounting, event when relevant), or
//! `None` when the record needs the crate's JSON rendering.

use super::Rendered;
use crate::ingest::evtx_template::{Context, TemplateShape};
use crate::ingest::{evtx_direct, evtx_raw, evtx_template};
use evtx::{EvtxChunk, EvtxChunkData, EvtxRecord, ParserSettings};
use std::sync::Arc;

/// The shapes of the templates met so far, by definition offset. A chunk's template offsets
/// are its own, so an entry is reused only when the definition's bytes are the same; records of
/// consecutive chunks mostly are.
#[derive(Clone, Default)]
pub(super) struct ShapeCache {
    entries: Vec<ShapeEntry>,
    /// The shapes already looked up for the chunk being read, by offset: within one chunk an
    /// offset always names the same bytes, so they are compared once per chunk, not per record.
    /// Emptied by [`ShapeCache::start_chunk`].
    in_chunk: Vec<(u32, Context, Option<Arc<TemplateShape>>)>,
    /// The header strings of the file's records.
    strings: evtx_direct::Strings,
    /// The origins of the file's relevant events, shared by the events of each.
    origins: crate::event::Origins,
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
    /// Call before reading the records of another chunk: every lookup until the next call must
    /// be about that chunk.
    pub(super) fn start_chunk(&mut self) {
        self.in_chunk.clear();
    }

    fn get(&mut self, chunk: &[u8], offset: u32, context: Context) -> Option<Arc<TemplateShape>> {
        let known = self
            .in_chunk
            .iter()
            .find(|(o, c, _)| *o == offset && *c == context);
        if let Some((_, _, shape)) = known {
            return shape.clone();
        }
        let shape = self.get_by_bytes(chunk, offset, context);
        self.in_chunk.push((offset, context, shape.clone()));
        shape
    }

    fn get_by_bytes(
        &mut self,
        chunk: &[u8],
        offset: u32,
        context: Context,
    ) -> Option<Arc<TemplateShape>> {
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
pub(super) fn direct(
    record: &EvtxRecord<'_>,
    path: &Arc<str>,
    shapes: &mut ShapeCache,
) -> Option<Rendered> {
    let instances = record.template_instances().ok()?;
    let [instance] = instances.as_slice() else {
        return None;
    };
    let values = instance.values.as_slice();
    let definition = instance.template_def_offset;
    let id = record.event_record_id;
    direct_values(record.chunk.data, definition, values, id, path, shapes)
}

/// Build a record's event from its template's definition offset and its values.
fn direct_values<V: evtx_direct::DirectValue>(
    chunk: &[u8],
    definition: u32,
    values: &[V],
    record_id: u64,
    path: &Arc<str>,
    shapes: &mut ShapeCache,
) -> Option<Rendered> {
    let shape = shapes.get(chunk, definition, Context::Record)?;
    let header = evtx_direct::header(&shape, values, &mut shapes.strings)?;
    let event = if shapes.is_relevant(&header) {
        let origin = shapes
            .origins
            .get([&header.host, &header.channel, &header.provider], path);
        let mut nested = |bytes: &[u8], kind| {
            let (definition, values) = evtx_raw::nested_instance(chunk, bytes)?;
            let shape = shapes.get(chunk, definition, Context::Payload(kind))?;
            evtx_direct::fields(&shape, &|i| values.get(usize::from(i))?.clone())
        };
        let event = evtx_direct::event(&shape, values, &header, origin, record_id, &mut nested)?;
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

/// `Some` when every nested BinXML value of a record is laid out as a template instance: the
/// crate builds nested values for every record, relevant or not, and fails the record when one is
/// damaged (a damaged descriptor shifts the values after it, so a payload then starts somewhere
/// else); the raw walk must not count such a record as read.
fn nested_values_plausible(chunk: &[u8], values: &[evtx_raw::RawValue<'_>]) -> Option<()> {
    values
        .iter()
        .filter(|v| v.kind == 0x21)
        .try_for_each(|v| evtx_raw::nested_definition(chunk, v.bytes).map(|_| ()))
}

/// What a raw walk needs to know about its file and run.
#[derive(Clone)]
pub(super) struct RawWalk {
    /// The file, as events name it.
    pub(super) path: Arc<str>,
    /// The crate's settings (to check a chunk loads as the crate loads it).
    pub(super) settings: Arc<ParserSettings>,
    /// Recover stale records from chunk slack (the walk then says where a chunk's slack holds
    /// records, for the crate to carve).
    pub(super) carve: bool,
}

/// A chunk's live records built from their raw values, and where its slack holds stale records
/// still to be carved (by the crate: see `chunks.rs`).
pub(super) struct RawChunk {
    /// The live records, in order.
    pub(super) records: Vec<Rendered>,
    /// Where the slack starts, when carving is on and it holds anything like a record.
    pub(super) stale_from: Option<usize>,
}

/// Every live record of a chunk built from its raw values, or `None` when any record needs the
/// crate (see [`evtx_raw`]).
pub(super) fn raw_chunk(
    chunk: &EvtxChunkData,
    walk: &RawWalk,
    shapes: &mut ShapeCache,
) -> Option<RawChunk> {
    let data = chunk.data.as_slice();
    shapes.start_chunk();
    // The crate fails a chunk whose string table it cannot load before reading any record of it:
    // leave such a chunk to the crate, so that both routes say the same.
    EvtxChunk::new(data, &chunk.header, walk.settings.clone()).ok()?;
    let path = &walk.path;
    let (records, slack) = evtx_raw::live_walk(data, &chunk.header)?;
    let stale_from = (walk.carve && evtx_raw::slack_holds_records(data, slack)).then_some(slack);
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        let (definition, values) = evtx_raw::record_instance(data, record.binxml)?;
        nested_values_plausible(data, &values)?;
        out.push(direct_values(
            data,
            definition,
            &values,
            record.record_id,
            path,
            shapes,
        )?);
    }
    Some(RawChunk {
        records: out,
        stale_from,
    })
}
