//! The merge of a spool's runs into one stream in timeline order.
//!
//! Takes: sorted runs, in memory and on disk.
//! Produces: [`Sorted`] — their entries in key order: as JSONL lines ([`Sorted::for_each_line`]),
//! as events ([`Sorted::for_each_event`]), or written to one new run file (when a spool merges
//! its waiting text, or when there are more run files than a merge reads at once).

use super::run::{RunFile, RunReader, RunWriter};
use super::{Key, MemoryRun, SpoolOptions};
use crate::event::Event;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Run files one merge reads at once (each holds a read buffer); more are merged in passes.
pub(super) const MAX_FAN_IN: usize = 64;

/// One run being merged.
enum Cursor {
    Memory { run: MemoryRun, next: usize },
    File(RunReader),
}

impl Cursor {
    fn key(&self) -> Option<&Key> {
        match self {
            Cursor::Memory { run, next } => run.entries.get(*next).map(|e| &e.key),
            Cursor::File(reader) => reader.key(),
        }
    }

    fn record_id(&self) -> Option<u64> {
        match self {
            Cursor::Memory { run, next } => run.entries[*next].record_id,
            Cursor::File(reader) => reader.record_id(),
        }
    }

    fn line(&self) -> &[u8] {
        match self {
            Cursor::Memory { run, next } => run.line(&run.entries[*next]),
            Cursor::File(reader) => reader.line(),
        }
    }

    fn advance(&mut self) -> std::io::Result<()> {
        match self {
            Cursor::Memory { next, .. } => *next += 1,
            Cursor::File(reader) => {
                reader.advance()?;
            }
        }
        Ok(())
    }
}

/// A spool's events, ready to be read once in timeline order.
pub struct Sorted {
    cursors: Vec<Cursor>,
    failure: Option<String>,
}

/// The merge of `waiting` and `files`, in fewer passes than [`MAX_FAN_IN`] files at once.
pub(super) fn sorted(
    waiting: Vec<MemoryRun>,
    mut files: Vec<RunFile>,
    failure: Option<String>,
    options: &SpoolOptions,
) -> std::io::Result<Sorted> {
    while files.len() > MAX_FAN_IN {
        let first: Vec<RunFile> = files.drain(..MAX_FAN_IN).collect();
        let merged = Sorted::from_files(Vec::new(), first)?
            .write_run(options)
            .map_err(|(error, _)| error)?;
        files.push(merged);
    }
    Sorted::from_files(waiting, files).map(|mut sorted| {
        sorted.failure = failure;
        sorted
    })
}

impl Sorted {
    /// The merge of in-memory runs only.
    pub(super) fn from_memory(waiting: Vec<MemoryRun>) -> Sorted {
        let cursors = waiting
            .into_iter()
            .map(|run| Cursor::Memory { run, next: 0 })
            .collect();
        Sorted {
            cursors,
            failure: None,
        }
    }

    fn from_files(waiting: Vec<MemoryRun>, files: Vec<RunFile>) -> std::io::Result<Sorted> {
        let mut sorted = Sorted::from_memory(waiting);
        for file in files {
            let mut reader = file.reader()?;
            reader.advance()?;
            sorted.cursors.push(Cursor::File(reader));
        }
        Ok(sorted)
    }

    /// Why the spool could not write its temporary files, if it could not (its events were then
    /// kept in memory: the output is complete, only the memory bound was lost).
    pub fn spill_failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// Visit every entry in key order: `visit(key, record id, line)`. The cursors are left
    /// where the visit stopped.
    fn visit(
        &mut self,
        mut visit: impl FnMut(&Key, Option<u64>, &[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let mut heads: BinaryHeap<Reverse<(Key, usize)>> = self
            .cursors
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.key().map(|k| Reverse((k.clone(), i))))
            .collect();
        while let Some(Reverse((key, i))) = heads.pop() {
            let cursor = &mut self.cursors[i];
            visit(&key, cursor.record_id(), cursor.line())?;
            cursor.advance()?;
            if let Some(next) = cursor.key() {
                heads.push(Reverse((next.clone(), i)));
            }
        }
        Ok(())
    }

    /// Every event's JSONL line (with its newline), in timeline order.
    pub fn for_each_line(
        mut self,
        mut line: impl FnMut(&[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        self.visit(|_, _, text| line(text))
    }

    /// Every event, read back from its line, in timeline order.
    pub fn for_each_event(
        mut self,
        mut event: impl FnMut(&Event) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        self.visit(|_, _, text| {
            let decoded: Event = serde_json::from_slice(text).map_err(std::io::Error::other)?;
            event(&decoded)
        })
    }

    /// Write every entry to one new run file. On failure the in-memory runs are given back
    /// (whole: a cursor only moves over a run's entries, it never removes them).
    pub(super) fn write_run(
        mut self,
        options: &SpoolOptions,
    ) -> Result<RunFile, (std::io::Error, Vec<MemoryRun>)> {
        let written = RunWriter::create(&options.folder()).and_then(|mut writer| {
            self.visit(|key, record_id, line| writer.add(key, record_id, line))?;
            writer.finish()
        });
        written.map_err(|error| (error, self.into_memory_runs()))
    }

    fn into_memory_runs(self) -> Vec<MemoryRun> {
        self.cursors
            .into_iter()
            .filter_map(|c| match c {
                Cursor::Memory { run, .. } => Some(run),
                Cursor::File(_) => None,
            })
            .collect()
    }
}
