//! Between reading and writing the timeline: every relevant event in timeline order, in bounded
//! memory.
//!
//! Takes: the relevant events of each file as its reader finds them ([`FileSpool::push`]), and
//! each finished file's spool ([`Spool::commit`]).
//! Produces: [`Sorted`] — every committed event once, as its JSONL line, in timeline order
//! ([`Event::sort_key`], then the order the file's reader found them): the same lines, in the
//! same order, as sorting every event in memory and serialising each with `serde_json`.
//!
//! An event is kept as its JSONL text with its sort key, not as an [`Event`] (the text takes a
//! fraction of the memory). A file's spool sorts its text and writes it to an anonymous temporary
//! file (a *run*) once it holds more than a quarter of the memory budget (a file read in parts
//! has a spool per part, joined with [`FileSpool::absorb`], and the joined one keeps what they
//! held); the text of finished files waits in memory until the waiting text passes half the
//! budget, and is then merged into one run on disk. The end is one merge of every run. So
//! `rdptriage events` holds about its budget whatever the size of the input, and an input under
//! the budget never touches the disk.
//! When a run cannot be written (no space, no temporary folder), the text stays in memory and
//! [`Sorted::spill_failure`] says why: the output is the same, only the memory bound is lost.

mod merge;
mod run;
#[cfg(test)]
mod tests;

pub use merge::Sorted;

use crate::event::Event;
use run::{RunFile, RunWriter};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Default memory budget of a spool: 64 MiB of event text and keys.
pub const DEFAULT_MEMORY: usize = 64 << 20;

/// The order of reading of a part's events starts at its part number shifted by this many bits:
/// a part pushes fewer than 2^40 events.
const PART_SEQ_BITS: u32 = 40;

/// Settings of a [`Spool`].
#[derive(Clone, Debug)]
pub struct SpoolOptions {
    /// Bytes of event text (and sort keys) held in memory before sorted runs are written to
    /// temporary files. Default: [`DEFAULT_MEMORY`].
    pub memory: usize,
    /// Folder for the temporary files; `None`: the system's (`TMPDIR` on Unix). The files are
    /// anonymous where the system allows it (nothing is left behind, even after a crash).
    pub dir: Option<PathBuf>,
}

impl Default for SpoolOptions {
    fn default() -> Self {
        SpoolOptions {
            memory: DEFAULT_MEMORY,
            dir: None,
        }
    }
}

impl SpoolOptions {
    /// The folder run files go to.
    pub fn folder(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(std::env::temp_dir)
    }
}

/// Where an event sorts: [`Event::sort_key`] (time, host, file, record or line), then the input
/// it was read from (which for rdptriage's JSONL is not the file its source names) and the order
/// the input's reader pushed it (`seq`), so equal keys keep the order of inputs and of reading.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key {
    secs: i64,
    nanos: u32,
    host: Arc<str>,
    path: Arc<str>,
    position: u64,
    input: Arc<str>,
    seq: u64,
}

impl Key {
    fn of(event: &Event, input: &Arc<str>, seq: u64) -> Key {
        Key {
            secs: event.time.timestamp(),
            nanos: event.time.timestamp_subsec_nanos(),
            host: event.host().clone(),
            path: event.path().clone(),
            position: event.position(),
            input: input.clone(),
            seq,
        }
    }
}

/// What identifies a live record for the recovered-record duplicate check: record id and time.
pub(crate) type RecordTime = (Option<u64>, i64, u32);

/// The record id and time of `event`, as [`FileSpool::present`] compares them.
pub(crate) fn record_time(event: &Event) -> RecordTime {
    (
        event.record_id(),
        event.time.timestamp(),
        event.time.timestamp_subsec_nanos(),
    )
}

/// One event held in memory: its key, record id, and where its line is in the run's text.
struct Entry {
    key: Key,
    record_id: Option<u64>,
    start: usize,
    len: usize,
}

impl Entry {
    fn record_time(&self) -> RecordTime {
        (self.record_id, self.key.secs, self.key.nanos)
    }
}

/// Entries and the text of their lines.
#[derive(Default)]
struct MemoryRun {
    entries: Vec<Entry>,
    text: Vec<u8>,
}

impl MemoryRun {
    /// The memory the run holds, as the budget counts it.
    fn bytes(&self) -> usize {
        self.text.len() + self.entries.len() * std::mem::size_of::<Entry>()
    }

    fn line(&self, entry: &Entry) -> &[u8] {
        &self.text[entry.start..entry.start + entry.len]
    }

    /// Keys are unique (`seq`), so an unstable sort gives the one order.
    fn sort(&mut self) {
        self.entries.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    }

    /// Write the run, sorted, to a new run file, and empty it (its buffers keep their size
    /// for the next part of the file).
    fn write(&mut self, options: &SpoolOptions) -> std::io::Result<RunFile> {
        self.sort();
        let mut writer = RunWriter::create(&options.folder())?;
        for entry in &self.entries {
            writer.add(&entry.key, entry.record_id, self.line(entry))?;
        }
        let run = writer.finish()?;
        self.entries.clear();
        self.text.clear();
        Ok(run)
    }

    /// Give back the spare room of buffers grown for more than they hold.
    fn shrink(&mut self) {
        if self.text.capacity() > 2 * self.text.len() {
            self.text.shrink_to_fit();
            self.entries.shrink_to_fit();
        }
    }
}

/// The spool of one file being read (see the module doc).
pub struct FileSpool {
    options: SpoolOptions,
    /// The input, as its report names it.
    input: Arc<str>,
    held: MemoryRun,
    /// Bytes held before a sorted run is written: a quarter of the budget per reader (a file
    /// read in parts has its parts' shares).
    share: usize,
    spilled: Vec<RunFile>,
    next_seq: u64,
    failure: Option<String>,
}

impl std::fmt::Debug for FileSpool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FileSpool({} events held, {} runs on disk)",
            self.held.entries.len(),
            self.spilled.len()
        )
    }
}

impl FileSpool {
    fn new(options: SpoolOptions, input: Arc<str>) -> Self {
        FileSpool {
            share: options.memory / 4,
            options,
            input,
            held: MemoryRun::default(),
            spilled: Vec::new(),
            next_seq: 0,
            failure: None,
        }
    }

    /// Keep `event` (as its JSONL line). Writes a sorted run to disk when the file's share of
    /// the budget is full.
    pub fn push(&mut self, event: &Event) -> serde_json::Result<()> {
        let start = self.held.text.len();
        if let Err(error) = serde_json::to_writer(&mut self.held.text, event) {
            self.held.text.truncate(start);
            return Err(error);
        }
        self.held.text.push(b'\n');
        self.held.entries.push(Entry {
            key: Key::of(event, &self.input, self.next_seq),
            record_id: event.record_id(),
            start,
            len: self.held.text.len() - start,
        });
        self.next_seq += 1;
        if self.held.bytes() > self.share && self.failure.is_none() {
            self.spill();
        }
        Ok(())
    }

    /// Write what is held to a run file; on failure keep it in memory and remember why.
    fn spill(&mut self) {
        match self.held.write(&self.options) {
            Ok(run) => self.spilled.push(run),
            Err(error) => self.failure = Some(spill_failure(&self.options, &error)),
        }
    }

    /// Join the spool of the next part of the same input (see [`Spool::file_part`]). What the
    /// parts held stays held: their shares of the budget add up.
    pub fn absorb(&mut self, later: FileSpool) {
        self.share += later.share;
        self.spilled.extend(later.spilled);
        let base = self.held.text.len();
        self.held.text.extend_from_slice(&later.held.text);
        let entries = later.held.entries.into_iter().map(|mut entry| {
            entry.start += base;
            entry
        });
        self.held.entries.extend(entries);
        self.next_seq = self.next_seq.max(later.next_seq);
        if self.failure.is_none() {
            self.failure = later.failure;
        }
    }

    /// Which of `wanted` (record id and time) an event pushed so far has, held or on disk.
    pub fn present(
        &mut self,
        wanted: &HashSet<RecordTime>,
    ) -> std::io::Result<HashSet<RecordTime>> {
        let mut found: HashSet<RecordTime> = self
            .held
            .entries
            .iter()
            .map(Entry::record_time)
            .filter(|pair| wanted.contains(pair))
            .collect();
        for run in &mut self.spilled {
            run.scan(|pair| {
                if wanted.contains(&pair) {
                    found.insert(pair);
                }
            })?;
        }
        Ok(found)
    }
}

/// Why a run could not be written, for the user.
fn spill_failure(options: &SpoolOptions, error: &std::io::Error) -> String {
    format!(
        "cannot write temporary files in {}: {error}",
        options.folder().display()
    )
}

/// The spool of a run: finished files' events, waiting in memory or in run files.
pub struct Spool {
    options: SpoolOptions,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    waiting: Vec<MemoryRun>,
    waiting_bytes: usize,
    files: Vec<RunFile>,
    failure: Option<String>,
}

impl std::fmt::Debug for Spool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Spool({:?})", self.options)
    }
}

impl Spool {
    /// An empty spool.
    pub fn new(options: SpoolOptions) -> Self {
        Spool {
            options,
            state: Mutex::new(State::default()),
        }
    }

    /// A spool for the reader of the input `input` (named as its report names it).
    pub fn file(&self, input: &str) -> FileSpool {
        self.file_part(input, 0)
    }

    /// A spool for the reader of part `part` (from 0) of the input `input`, joined to the
    /// spools of the parts before it with [`FileSpool::absorb`]: its events' order of reading
    /// comes after theirs.
    pub fn file_part(&self, input: &str, part: usize) -> FileSpool {
        let mut spool = FileSpool::new(self.options.clone(), Arc::from(input));
        spool.next_seq = (part as u64) << PART_SEQ_BITS;
        spool
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Add a finished file's events. When the waiting text passes half the budget, it is merged
    /// into one run file.
    pub fn commit(&self, file: FileSpool) {
        let FileSpool {
            mut held,
            spilled,
            failure,
            ..
        } = file;
        held.sort();
        held.shrink();
        let mut state = self.state();
        state.files.extend(spilled);
        if state.failure.is_none() {
            state.failure = failure;
        }
        if !held.entries.is_empty() {
            state.waiting_bytes += held.bytes();
            state.waiting.push(held);
        }
        if state.waiting_bytes > self.options.memory / 2 && state.failure.is_none() {
            let waiting = std::mem::take(&mut state.waiting);
            match Sorted::from_memory(waiting).write_run(&self.options) {
                Ok(run) => {
                    state.files.push(run);
                    state.waiting_bytes = 0;
                }
                Err((error, waiting)) => {
                    state.waiting = waiting;
                    state.failure = Some(spill_failure(&self.options, &error));
                }
            }
        }
    }

    /// Everything committed, ready to be merged in order. The spool is left empty.
    pub fn finish(&self) -> std::io::Result<Sorted> {
        let state = std::mem::take(&mut *self.state());
        merge::sorted(state.waiting, state.files, state.failure, &self.options)
    }
}
