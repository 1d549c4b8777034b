//! Orchestration: from a [`Config`] to an [`Analysis`].
//!
//! Takes: the configuration.
//! Produces: [`Analysis`] — the input accounting, the sorted timeline of relevant events, the
//! rebuilt attempts with host summaries, and (after [`Analysis::apply_rules`]) one verdict per
//! failed attempt. Parsing runs on a rayon pool private to the run (no global
//! state); everything after the parallel read is deterministic and sorted.

use crate::attempt::{self, Correlation, Timeline};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ingest;
use crate::source::{self, InputReport, Source};

/// The result of reading and correlating a run's inputs.
#[derive(Debug, Default)]
pub struct Analysis {
    /// One entry per input path, sorted by path: read, partial, skipped or unreadable.
    pub inputs: Vec<InputReport>,
    /// Every relevant event, sorted.
    pub timeline: Timeline,
    /// Attempts and hosts.
    pub correlation: Correlation,
    /// One verdict per failed attempt, in attempt order; `None` until rules were applied.
    pub verdicts: Option<Vec<crate::verdict::Verdict>>,
}

/// Progress of the read phase, for a progress bar.
pub trait Progress: Sync {
    /// Called once with the work to do.
    fn start(&self, _files: usize, _bytes: u64) {}
    /// Called as each file finishes (from worker threads).
    fn file_done(&self, _source: &Source, _report: &InputReport) {}
    /// Called when reading is over.
    fn finish(&self) {}
}

/// A progress sink that ignores everything.
pub struct NoProgress;
impl Progress for NoProgress {}

/// Read every input and rebuild the attempts.
pub fn analyze(config: &Config, progress: &dyn Progress) -> Result<Analysis> {
    let mut analysis = read_events(config, progress)?;
    analysis.correlation = attempt::correlate(&analysis.timeline, &config.attempts);
    Ok(analysis)
}

/// Read every input into the sorted timeline, without rebuilding attempts (`correlation` stays
/// empty): what the `events` command (the map step of bulk runs) needs.
pub fn read_events(config: &Config, progress: &dyn Progress) -> Result<Analysis> {
    if config.paths.is_empty() {
        return Err(Error::InvalidArgument("no input paths given".into()));
    }
    let discovery = source::discover(&config.paths);
    let files = read_all(config, &discovery.sources, progress)?;
    let mut inputs = discovery.problems;
    let mut runs = Vec::with_capacity(files.len());
    for file in files {
        runs.push((std::sync::Arc::from(file.report.path.as_str()), file.events));
        inputs.push(file.report);
    }
    inputs.sort_by(|a, b| a.path.cmp(&b.path));
    let timeline = Timeline::from_inputs(runs);
    account_repeats(&mut inputs, &timeline.repeats);
    Ok(Analysis {
        inputs,
        timeline,
        correlation: Correlation::default(),
        verdicts: None,
    })
}

/// Tell each input how many of its events were left out as copies of records kept from
/// elsewhere, and from where (also in its note, which every report shows).
fn account_repeats(inputs: &mut [InputReport], repeats: &crate::event::Repeats) {
    for input in inputs {
        let Some(repeated) = repeats.of(&input.path) else {
            continue;
        };
        input.repeated = repeated.count;
        input.repeated_kept_in = repeated.kept_in.iter().map(|p| p.to_string()).collect();
        let Some(note) = input.repeated_note() else {
            continue;
        };
        input.note = Some(match input.note.take() {
            Some(before) => format!("{before}; {note}"),
            None => note,
        });
    }
}

/// The inputs of a run and their events in timeline order, read back one at a time (see
/// [`stream_events`]).
pub struct EventStream {
    /// One entry per input path, sorted by path, as in [`Analysis::inputs`] (but for the
    /// copies left out, known once the events were read: see [`EventStream::for_each_line`]).
    pub inputs: Vec<InputReport>,
    /// Every relevant event, in the order of [`Analysis::timeline`].
    pub events: crate::spool::Sorted,
}

impl EventStream {
    /// Every event's JSONL line (with its newline), in timeline order, each record once (see
    /// `event/copies.rs`). Returns [`EventStream::inputs`] with the copies left out accounted.
    pub fn for_each_line(
        self,
        line: impl FnMut(&[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<Vec<InputReport>> {
        self.give_out(|events| events.for_each_line(line))
    }

    /// Every event, read back from its line, in timeline order, each record once. Returns
    /// [`EventStream::inputs`] with the copies left out accounted.
    pub fn for_each_event(
        self,
        event: impl FnMut(&crate::event::Event) -> std::io::Result<()>,
    ) -> std::io::Result<Vec<InputReport>> {
        self.give_out(|events| events.for_each_event(event))
    }

    /// Give the events out with `visit`, then account the copies it left out.
    fn give_out(
        self,
        visit: impl FnOnce(crate::spool::Sorted) -> std::io::Result<crate::event::Repeats>,
    ) -> std::io::Result<Vec<InputReport>> {
        let mut inputs = self.inputs;
        let repeats = visit(self.events)?;
        account_repeats(&mut inputs, &repeats);
        Ok(inputs)
    }
}

/// Read every input into the timeline without holding it: events are kept as sorted text within
/// `config.spool.memory` (more goes to temporary files) and merged as they are read back. The
/// same events in the same order as [`read_events`], for inputs of any size.
pub fn stream_events(config: &Config, progress: &dyn Progress) -> Result<EventStream> {
    if config.paths.is_empty() {
        return Err(Error::InvalidArgument("no input paths given".into()));
    }
    let spool = std::sync::Arc::new(crate::spool::Spool::new(config.spool.clone()));
    let mut config = config.clone();
    config.ingest.spool = Some(spool.clone());
    let discovery = source::discover(&config.paths);
    let files = read_all(&config, &discovery.sources, progress)?;
    let mut inputs = discovery.problems;
    inputs.extend(files.into_iter().map(|file| file.report));
    inputs.sort_by(|a, b| a.path.cmp(&b.path));
    let events = spool.finish().map_err(|source| Error::Io {
        path: config.spool.folder(),
        source,
    })?;
    Ok(EventStream { inputs, events })
}

/// Read the sources on a private thread pool.
fn read_all(
    config: &Config,
    sources: &[Source],
    progress: &dyn Progress,
) -> Result<Vec<ingest::FileIngest>> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = config.threads {
        builder = builder.num_threads(n.max(1));
    }
    let pool = builder
        .build()
        .map_err(|e| Error::InvalidArgument(format!("cannot start worker threads: {e}")))?;
    progress.start(sources.len(), sources.iter().map(|s| s.size).sum());
    let done = |s: &Source, r: &InputReport| progress.file_done(s, r);
    let files = pool.install(|| ingest::ingest_all(sources, &config.ingest, &done));
    progress.finish();
    Ok(files)
}

impl Analysis {
    /// True when at least one input could not be read at all (exit status 3).
    pub fn has_unreadable_inputs(&self) -> bool {
        self.inputs
            .iter()
            .any(|i| i.status == source::InputStatus::Unreadable)
    }
}

impl Analysis {
    /// Evaluate `pack` against every failed attempt and keep the verdicts.
    pub fn apply_rules(&mut self, pack: &crate::rules::RulePack) {
        self.verdicts = Some(crate::verdict::judge(self, pack));
    }

    /// The verdict for attempt `id`, when rules were applied and it failed.
    pub fn verdict_for(&self, id: &str) -> Option<&crate::verdict::Verdict> {
        self.verdicts.as_ref()?.iter().find(|v| v.attempt == id)
    }

    /// True when a log of `channel` (case-insensitive) from `host` was supplied, whether or not it
    /// held relevant events. Hosts are matched on the file's main `Computer` name.
    pub fn log_supplied(&self, host: &str, channel: &str) -> bool {
        let host = crate::attempt::host_key(host);
        self.inputs.iter().any(|i| {
            i.host.as_deref().map(crate::attempt::host_key) == Some(host.clone())
                && i.channels.iter().any(|c| c.eq_ignore_ascii_case(channel))
        })
    }
}
