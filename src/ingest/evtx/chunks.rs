//! A file's chunks, read in order: walked raw in parallel batches, or by the crate.
//!
//! Takes: the chunks of one `.evtx` file as the crate's parser yields them (record order).
//! Produces: every record into the [`Collector`], in file order, with the chunk checksum notes.
//!
//! The reader thread reads chunks ahead in batches of [`BATCH_CHUNKS`]. A batch's raw walks
//! ([`super::shapes::raw_chunk`]: no crate record build, events straight from template values)
//! run on the run's [`ChunkWalkers`], in groups of neighbouring chunks, while the reader thread
//! commits the batch before: so one big file uses every core. While every core has a file of
//! its own, readers walk their batches themselves. The walkers are a thread pool of their own
//! that nothing ever waits in (the file-level pool's threads wait for reader threads, and reader
//! threads for walkers: sharing a pool could deadlock). The chunks the raw walk leaves to the
//! crate (damaged records, layouts it does not know), and the carving of stale records from the
//! slack of the chunks it took ([`ChunkReader::carve`]), are read on the reader thread itself,
//! where the watchdog's deadline and memory meter see them. Only the raw walk — the project's
//! own bounded code — runs off the reader thread.

use super::shapes::{RawChunk, RawWalk, ShapeCache, raw_chunk};
use super::{Rendered, Tally, collect, render_record};
use crate::ingest::Collector;
use crate::ingest::evtx_checks::{BadChunks, CHUNK_HEADER, ChunkCheck};
use evtx::EvtxChunkData;
use evtx::err::EvtxError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

/// The threads that walk chunks for a run's readers (see the module doc), and how many files
/// are being read: while every core has a file of its own, handing batches to walkers only
/// adds work (copies, hand-offs, template shapes learnt again per group), so readers walk their
/// chunks themselves until files run out and cores fall idle.
#[derive(Clone)]
pub struct ChunkWalkers {
    pool: Arc<rayon::ThreadPool>,
    reading: Arc<AtomicUsize>,
}

impl ChunkWalkers {
    /// `threads` walker threads; `None` when they cannot be started (readers then walk their
    /// chunks themselves).
    pub fn new(threads: usize) -> Option<Self> {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(|i| format!("rdptriage-walker-{i}"))
            .build()
            .ok()
            .map(|pool| ChunkWalkers {
                pool: Arc::new(pool),
                reading: Arc::default(),
            })
    }

    /// Count a file as being read until the guard is dropped.
    pub fn reading(&self) -> Reading {
        self.reading.fetch_add(1, Ordering::Relaxed);
        Reading(self.reading.clone())
    }

    /// True when fewer files are being read than there are walkers (cores to spare).
    fn cores_to_spare(&self) -> bool {
        self.reading.load(Ordering::Relaxed) < self.pool.current_num_threads()
    }
}

/// A file being read (see [`ChunkWalkers::reading`]).
pub struct Reading(Arc<AtomicUsize>);

impl Drop for Reading {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for ChunkWalkers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ChunkWalkers({} threads)",
            self.pool.current_num_threads()
        )
    }
}

/// Chunks read ahead and walked together (1 MiB).
pub(super) const BATCH_CHUNKS: usize = 16;

/// The raw walk of each chunk of a batch (`None`: left to the crate).
type Walked = Vec<Option<RawChunk>>;

/// What a batch walked on the pool sends back: its chunks, their walks, the group caches.
type Returned = (Vec<EvtxChunkData>, Walked, Vec<ShapeCache>);

/// A started batch.
pub(super) enum InFlight {
    /// Walked already (on the calling thread).
    Ready(Vec<EvtxChunkData>, Walked),
    /// Walking on the pool; everything comes back here.
    Pending(mpsc::Receiver<std::thread::Result<Returned>>),
}

/// Reads a file's chunks, by the raw walk when it can, else by the crate's.
pub(super) struct ChunkReader {
    /// The file, the crate's settings, whether to carve slack.
    pub(super) walk: RawWalk,
    /// Build events from template values (off: render every record).
    pub(super) fast: bool,
    /// Where batches are walked; `None`: on the reader thread.
    pub(super) walkers: Option<ChunkWalkers>,
    /// Template shapes for the crate's route and for batches walked on the calling thread.
    pub(super) shapes: ShapeCache,
    /// Template shapes for each group of a batch walked on the pool (lent to it meanwhile).
    pub(super) group_shapes: Vec<ShapeCache>,
    pub(super) checks: ChunkCheck,
    pub(super) bad_chunks: BadChunks,
}

impl ChunkReader {
    /// Start the raw walks of `chunks`: on the walkers when there are several and cores to
    /// spare, else at once.
    pub(super) fn start(&mut self, chunks: Vec<EvtxChunkData>) -> InFlight {
        if !self.fast {
            return InFlight::Ready(chunks, Vec::new());
        }
        let walkers = match &self.walkers {
            Some(walkers) if chunks.len() >= 2 && walkers.cores_to_spare() => walkers.pool.clone(),
            _ => {
                let walked = walk_in_order(&chunks, &self.walk, &mut self.shapes);
                return InFlight::Ready(chunks, walked);
            }
        };
        let (sender, receiver) = mpsc::sync_channel(1);
        let mut caches = std::mem::take(&mut self.group_shapes);
        let walk = self.walk.clone();
        walkers.spawn(move || {
            let returned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let walked = walk_groups(&chunks, &mut caches, &walk);
                (chunks, walked, caches)
            }));
            // The reader may have been abandoned by the watchdog: nobody to tell then.
            let _ = sender.send(returned);
        });
        InFlight::Pending(receiver)
    }

    /// Commit a started batch: its records into the collector, in order.
    pub(super) fn finish(
        &mut self,
        batch: InFlight,
        collector: &mut Collector,
    ) -> Result<(), String> {
        let (chunks, walked) = match batch {
            InFlight::Ready(chunks, walked) => (chunks, walked),
            InFlight::Pending(receiver) => match receiver.recv() {
                Ok(Ok((chunks, walked, caches))) => {
                    self.group_shapes = caches;
                    (chunks, walked)
                }
                Ok(Err(panic)) => std::panic::resume_unwind(panic),
                Err(_) => return Err("the chunk walker ended without a result".into()),
            },
        };
        let mut walked = walked.into_iter();
        for mut chunk in chunks {
            let raw = walked.next().flatten();
            let mut tally = Tally::default();
            let read = self.read_chunk(&mut chunk, raw, &mut tally, collector);
            tally.flush(collector);
            read?;
        }
        Ok(())
    }

    /// One chunk's records into the collector: the raw walk's (and the stale records the crate
    /// carves from its slack), or the crate's.
    fn read_chunk(
        &mut self,
        chunk: &mut EvtxChunkData,
        raw: Option<RawChunk>,
        tally: &mut Tally,
        collector: &mut Collector,
    ) -> Result<(), String> {
        let raw = raw.and_then(|raw| {
            let carved = match raw.stale_from {
                Some(from) => self.carve(chunk, from)?,
                None => Carved::default(),
            };
            Some((raw.records, carved))
        });
        if let Some((records, carved)) = raw {
            if !records.is_empty() || carved.found {
                let bad = self.checks.check(&chunk.data, &chunk.header);
                self.bad_chunks.add(bad);
            }
            for rendered in records {
                collector.check()?;
                collect(rendered, false, tally, collector);
            }
            for rendered in carved.records {
                collector.check()?;
                collect(rendered, true, tally, collector);
            }
            return Ok(());
        }
        let number = chunk.number.unwrap_or_default();
        let mut parsed = match chunk.parse(self.walk.settings.clone()) {
            Ok(parsed) => parsed,
            Err(err) => {
                let err = EvtxError::FailedToParseChunk {
                    chunk_id: number,
                    source: Box::new(err),
                };
                collector.fail(|| err.to_string());
                return Ok(());
            }
        };
        self.shapes.start_chunk();
        for record in parsed.iter() {
            collector.check()?;
            let record = match record {
                Ok(record) => record,
                Err(err) => {
                    collector.fail(|| err.to_string());
                    continue;
                }
            };
            let bad = self.checks.check(record.chunk.data, record.chunk.header);
            self.bad_chunks.add(bad);
            let recovered = record.recovered;
            match render_record(record, &self.walk.path, self.fast, &mut self.shapes) {
                Ok(rendered) => collect(rendered, recovered, tally, collector),
                // Carved hits that fail to render are noise, like ones that fail to build.
                Err(_) if recovered => {}
                Err(err) => collector.fail(|| err.to_string()),
            }
        }
        Ok(())
    }
}

/// The stale records carved from a chunk's slack.
#[derive(Default)]
struct Carved {
    /// The carved records that rendered, in order.
    records: Vec<Rendered>,
    /// True when the crate carved any, rendered or not (it read the chunk, then).
    found: bool,
}

impl ChunkReader {
    /// The stale records in the slack of `chunk` (from `from` on) as the crate's route carves
    /// them after the live records, or `None` when the chunk must take the crate's route whole.
    ///
    /// The crate can only carve while it walks the whole chunk, building every live record on
    /// the way (most of that route's cost). So it walks a copy in which every record magic
    /// before the slack is zeroed: it finds no live record there, starts carving at the chunk's
    /// first record, and finds its first stale record where it would have after the live ones
    /// (a live area ends with a record's size copy, whose top bytes are zero, so no magic spans
    /// its end). The copy's other bytes, the templates and names the stale records point at
    /// among them, are the chunk's own. Anything else from the copy (a live record, an error)
    /// is unexpected: the chunk then goes the crate's way as before.
    fn carve(&mut self, chunk: &EvtxChunkData, from: usize) -> Option<Carved> {
        let mut data = chunk.data.clone();
        crate::ingest::evtx_raw::hide_records(&mut data, CHUNK_HEADER..from);
        let mut copy = EvtxChunkData::new(data, false).ok()?;
        copy.number = chunk.number;
        let mut parsed = copy.parse(self.walk.settings.clone()).ok()?;
        self.shapes.start_chunk();
        let mut carved = Carved::default();
        for record in parsed.iter() {
            let record = record.ok().filter(|record| record.recovered)?;
            carved.found = true;
            // Carved hits that fail to render are noise, as on the crate's route.
            if let Ok(rendered) =
                render_record(record, &self.walk.path, self.fast, &mut self.shapes)
            {
                carved.records.push(rendered);
            }
        }
        Some(carved)
    }
}

/// The raw walks of `chunks` in parallel groups of neighbouring chunks (which mostly share
/// templates), each group with a template cache of its own.
fn walk_groups(chunks: &[EvtxChunkData], caches: &mut Vec<ShapeCache>, walk: &RawWalk) -> Walked {
    use rayon::prelude::*;
    let groups = chunks.len().min(2 * rayon::current_num_threads()).max(1);
    let per_group = chunks.len().div_ceil(groups);
    caches.resize_with(groups, ShapeCache::default);
    let walked: Vec<Walked> = chunks
        .par_chunks(per_group)
        .zip(caches.par_iter_mut())
        .map(|(group, shapes)| walk_in_order(group, walk, shapes))
        .collect();
    walked.into_iter().flatten().collect()
}

/// The raw walks of `chunks`, one after another, sharing `shapes`.
fn walk_in_order(chunks: &[EvtxChunkData], walk: &RawWalk, shapes: &mut ShapeCache) -> Walked {
    chunks.iter().map(|c| raw_chunk(c, walk, shapes)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chunk of 10 records whose header says it ends after `live`: the rest stay in its slack,
    /// stale (as after the log was cleared or the chunk reused).
    fn chunk_with_stale_records(live: usize) -> EvtxChunkData {
        let mut data = crate::ingest::evtx_raw::tests::written_chunk(10);
        let mut starts = vec![CHUNK_HEADER];
        while starts.len() <= 10 {
            let at = *starts.last().unwrap();
            let size = u32::from_le_bytes(data[at + 4..at + 8].try_into().unwrap());
            starts.push(at + size as usize);
        }
        let put = |data: &mut Vec<u8>, at: usize, bytes: &[u8]| {
            data[at..at + bytes.len()].copy_from_slice(bytes)
        };
        // Last record number and id, last record's offset, free space.
        put(&mut data, 16, &(live as u64).to_le_bytes());
        put(&mut data, 32, &(live as u64).to_le_bytes());
        put(&mut data, 44, &(starts[live - 1] as u32).to_le_bytes());
        put(&mut data, 48, &(starts[live] as u32).to_le_bytes());
        EvtxChunkData::new(data, false).unwrap()
    }

    fn reader() -> ChunkReader {
        let settings = evtx::ParserSettings::new()
            .num_threads(1)
            .separate_json_attributes(true)
            .recover_records(true);
        ChunkReader {
            walk: RawWalk {
                path: Arc::from("test.evtx"),
                settings: Arc::new(settings),
                carve: true,
            },
            fast: true,
            walkers: None,
            shapes: ShapeCache::default(),
            group_shapes: Vec::new(),
            checks: ChunkCheck::default(),
            bad_chunks: BadChunks::default(),
        }
    }

    fn record_id(rendered: &Rendered) -> Option<u64> {
        match rendered {
            Rendered::Ok { event, .. } => event.as_ref()?.record_id(),
            Rendered::Bad(..) => None,
        }
    }

    #[test]
    fn stale_records_are_carved_without_the_crate_building_the_live_ones() {
        let mut chunk = chunk_with_stale_records(6);
        let mut reader = reader();
        let raw = raw_chunk(&chunk, &reader.walk, &mut reader.shapes).expect("a raw walk");
        let live: Vec<_> = raw.records.iter().map(record_id).collect();
        assert_eq!(live, (1..=6).map(Some).collect::<Vec<_>>());
        let from = raw.stale_from.expect("stale records in the slack");
        let carved = reader.carve(&chunk, from).expect("carved from the copy");
        assert!(carved.found);
        let ids: Vec<_> = carved.records.iter().map(record_id).collect();
        // What the crate's route over the whole chunk carves, after its live records.
        let mut parsed = chunk.parse(reader.walk.settings.clone()).unwrap();
        let crate_route: Vec<(u64, bool)> = parsed
            .iter()
            .map(|r| r.map(|r| (r.event_record_id, r.recovered)).unwrap())
            .collect();
        let expected: Vec<(u64, bool)> = (1..=10).map(|id| (id, id > 6)).collect();
        assert_eq!(crate_route, expected);
        assert_eq!(ids, (7..=10).map(Some).collect::<Vec<_>>());
    }

    #[test]
    fn a_clean_chunk_has_nothing_to_carve() {
        let chunk = chunk_with_stale_records(10);
        let mut reader = reader();
        let raw = raw_chunk(&chunk, &reader.walk, &mut reader.shapes).expect("a raw walk");
        assert_eq!((raw.records.len(), raw.stale_from), (10, None));
    }

    #[test]
    fn batches_go_to_walkers_only_while_fewer_files_are_read_than_there_are_walkers() {
        let walkers = ChunkWalkers::new(2).unwrap();
        assert!(walkers.cores_to_spare());
        let first = walkers.reading();
        assert!(walkers.cores_to_spare(), "one file on two cores");
        let second = walkers.clone().reading();
        assert!(!walkers.cores_to_spare(), "a file per core");
        drop(first);
        assert!(walkers.cores_to_spare(), "a core fell idle");
        drop(second);
    }
}
