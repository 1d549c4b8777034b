//! The merge of a spool's runs into one stream in timeline order.
//!
//! Takes: sorted runs, in memory and on disk.
//! Produces: [`Sorted`] — their entries in key order: as JSONL lines ([`Sorted::for_each_line`]),
//! as events ([`Sorted::for_each_event`]), or written to one new run file (when a spool merges
//! its waiting text, or when there are more run files than a merge reads at once).

use super::run::{RunFile, RunReader, RunWriter};
use super::{Key, MemoryRun, SpoolOptions};
use crate::event::{Event, Repeats, copies_in_group};
use std::sync::Arc;

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
        let cursors = &mut self.cursors;
        // A binary min-heap of the cursors that have an entry left, by their current key (then
        // by index): keys are compared where the cursors hold them, never copied.
        let mut heads: Vec<usize> = (0..cursors.len())
            .filter(|&i| cursors[i].key().is_some())
            .collect();
        for at in (0..heads.len() / 2).rev() {
            sift_down(&mut heads, cursors, at);
        }
        while let Some(&first) = heads.first() {
            let cursor = &cursors[first];
            let key = cursor.key().expect("a cursor in the heap has an entry");
            visit(key, cursor.record_id(), cursor.line())?;
            cursors[first].advance()?;
            if cursors[first].key().is_none() {
                heads.swap_remove(0);
            }
            sift_down(&mut heads, cursors, 0);
        }
        Ok(())
    }

    /// Visit every entry in key order but copies of a record visited already (see
    /// `event/copies.rs`): `visit(line)`. Returns the copies left out, per input.
    fn visit_distinct(
        &mut self,
        mut visit: impl FnMut(&[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<Repeats> {
        let mut group = Group::default();
        let mut repeats = Repeats::default();
        self.visit(|key, record_id, line| {
            group.add(key, record_id, line, &mut visit, &mut repeats)
        })?;
        group.flush(&mut visit, &mut repeats)?;
        Ok(repeats)
    }

    /// Every event's JSONL line (with its newline), in timeline order, each record once.
    /// Returns the copies left out, per input.
    pub fn for_each_line(
        mut self,
        mut line: impl FnMut(&[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<Repeats> {
        self.visit_distinct(|text| line(text))
    }

    /// Every event, read back from its line, in timeline order, each record once. Returns the
    /// copies left out, per input.
    pub fn for_each_event(
        mut self,
        mut event: impl FnMut(&Event) -> std::io::Result<()>,
    ) -> std::io::Result<Repeats> {
        self.visit_distinct(|text| event(&decode(text)?))
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

/// True when cursor `a`'s entry comes before cursor `b`'s (both have one).
fn before(cursors: &[Cursor], a: usize, b: usize) -> bool {
    (cursors[a].key(), a) < (cursors[b].key(), b)
}

/// Restore the heap order of `heads` below `at` (see [`Sorted::visit`]).
fn sift_down(heads: &mut [usize], cursors: &[Cursor], mut at: usize) {
    loop {
        let (left, right) = (2 * at + 1, 2 * at + 2);
        let mut least = at;
        if left < heads.len() && before(cursors, heads[left], heads[least]) {
            least = left;
        }
        if right < heads.len() && before(cursors, heads[right], heads[least]) {
            least = right;
        }
        if least == at {
            return;
        }
        heads.swap(at, least);
        at = least;
    }
}

/// An event read back from its line.
fn decode(line: &[u8]) -> std::io::Result<Event> {
    serde_json::from_slice(line).map_err(std::io::Error::other)
}

/// Lines of one time and host, held until the next time or host comes: a copy of a record is
/// among them (see `event/copies.rs`).
#[derive(Default)]
struct Group {
    /// Time and host of the group.
    key: Option<(i64, u32, Arc<str>)>,
    /// The lines' text, one after the other (the buffer is kept from group to group).
    text: Vec<u8>,
    /// Each line's place in `text`.
    lines: Vec<GroupLine>,
}

impl Group {
    /// Add a line; when it starts another group, give out the one held first.
    fn add(
        &mut self,
        key: &Key,
        record_id: Option<u64>,
        line: &[u8],
        out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
        repeats: &mut Repeats,
    ) -> std::io::Result<()> {
        let tick = (key.secs, key.nanos, &key.host);
        if self.key.as_ref().map(|(s, n, h)| (*s, *n, h)) != Some(tick) {
            self.flush(out, repeats)?;
            self.key = Some((key.secs, key.nanos, key.host.clone()));
        }
        let start = self.text.len();
        self.text.extend_from_slice(line);
        self.lines.push(GroupLine {
            input: key.input.clone(),
            path: key.path.clone(),
            record_id,
            text: start..self.text.len(),
        });
        Ok(())
    }

    /// Give out the lines held but copies of a record given out among them, and empty the group.
    fn flush(
        &mut self,
        out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
        repeats: &mut Repeats,
    ) -> std::io::Result<()> {
        if self.may_hold_copies() {
            let events = self
                .lines
                .iter()
                .map(|line| decode(&self.text[line.text.clone()]))
                .collect::<std::io::Result<Vec<Event>>>()?;
            let refs: Vec<&Event> = events.iter().collect();
            for (i, copy_of) in copies_in_group(&refs).into_iter().enumerate() {
                match copy_of {
                    Some(k) => repeats.add(&self.lines[i].input, &self.lines[k].input),
                    None => out(&self.text[self.lines[i].text.clone()])?,
                }
            }
        } else {
            for line in &self.lines {
                out(&self.text[line.text.clone()])?;
            }
        }
        self.text.clear();
        self.lines.clear();
        Ok(())
    }

    /// False when no two lines can be copies of one record (lines are decoded only when true).
    fn may_hold_copies(&self) -> bool {
        crate::event::may_hold_copies_by(&self.lines, |line| line.record_id, |line| &line.path)
    }
}

/// One line held by a [`Group`].
struct GroupLine {
    /// The input it was read from (copies are counted under it).
    input: Arc<str>,
    /// The file its event's source names.
    path: Arc<str>,
    record_id: Option<u64>,
    /// Its place in the group's text.
    text: std::ops::Range<usize>,
}
