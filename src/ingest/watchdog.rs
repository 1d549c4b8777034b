//! The per-file watchdog: every input is read under a deadline and a memory budget, so one hostile
//! or broken file can neither hang nor exhaust the run.
//!
//! Takes: a [`Source`], the [`IngestOptions`] (`file_timeout`, `max_file_memory`, `memory_meter`)
//! and the reader to run.
//! Produces: the reader's [`FileIngest`], or an `unreadable` one whose reason says which limit was
//! hit.
//!
//! # Design
//!
//! Two layers, because the evtx crate has known hangs and huge allocations on hostile input
//! (evtx#264, #288, #290–#293) that neither `catch_unwind` nor a cooperative check can stop:
//!
//! 1. **Cooperative limits, checked between records.** [`Limits`] lives in the
//!    [`Collector`](super::Collector); every reader calls `Collector::check` between records
//!    (EVTX: between records, which the evtx crate hands over a 64 KiB chunk at a time; XML and
//!    JSONL: between events / lines; text forms: on every read of their stream, through
//!    [`CheckedRead`]). It stops the reader with a reason once the deadline has
//!    passed or the reader thread holds more than the memory budget. A slow but working reader
//!    thus stops by itself and frees its memory; its file is reported `unreadable` ("stopped
//!    after N records: …") and its events are dropped (a file read only in part up to an
//!    arbitrary record is not a sound basis for verdicts; the reason says to raise the limit).
//! 2. **A preemptive deadline.** [`ReaderPool::run`] runs the reader on a reader thread (named
//!    `rdptriage-reader`, 16 MiB of stack; threads are reused across the files of a run, one
//!    file at a time, and a thread is never reused once abandoned) and waits for it with a deadline of `file_timeout`
//!    plus a grace of a tenth of it (0.5 to 2 s). A reader stuck *inside* a library call (an infinite loop in the
//!    parser, a `read` or `open` that never returns — a FIFO, a dead network share) never reaches
//!    the next check: the watchdog stops waiting, reports the file `unreadable` ("reader did not
//!    finish within …; abandoned"), and the run goes on. Safe Rust cannot kill a thread, so the
//!    stuck thread is detached: it keeps its memory and, if it spins, a core, until the process
//!    exits; its result, if it ever finishes, is dropped. Each such file is counted in its
//!    report (`abandoned_reader: true`, and [`abandoned_readers`] for a run).
//!
//! # Memory
//!
//! The library holds no global state, so it cannot count allocations itself. The caller may
//! supply a [`MemoryMeter`] that reports the bytes allocated and not yet freed *by the calling
//! thread*; the `rdptriage` binary installs a counting global allocator that keeps that number in
//! a thread-local counter. Because each file is read on its own thread, and the evtx parser runs
//! with one thread inline on it, the reader thread's count is the file's footprint: the parser's
//! buffers plus the events kept. A big `.evtx` file read in parts (see
//! [`EvtxParts`](super::EvtxParts)) has a reader thread per part, each with an equal share of the
//! budget; one part over its share stops the whole file. Without a meter (a library caller that supplies none) only the
//! deadline and the parsers' own bounds apply.
//!
//! What is guaranteed, and what is not:
//! - Memory that accumulates across records is stopped at the next record boundary once it
//!   exceeds `max_file_memory` (overshoot: at most what one record — for EVTX one 64 KiB chunk —
//!   allocates).
//! - Growth *within* one record cannot be interrupted. It is bounded by the parsers: the evtx
//!   crate (0.15) caps a record's rendered output at 16 MiB and its tree at 2^18 nodes, reads
//!   64 KiB chunks and checks record sizes against them; the XML reader caps a value at 1 MiB
//!   and the JSONL reader a line at 16 MiB.
//! - One single allocation that the operating system refuses (evtx#293: a 16 GiB
//!   `Vec::with_capacity` from a corrupt length) aborts the process: stable Rust cannot unwind
//!   from an allocation failure, and a global allocator must not unwind either. One that the
//!   system grants (Linux overcommit) is charged to the reader and stops it at the next record.
//! - A stack overflow aborts the process too; reader threads get a 16 MiB stack, and every
//!   recursive parser here has a depth limit (serde_json 128, rule conditions 64, YAML 64).

use super::{FileIngest, IngestOptions};
use crate::source::{InputReport, InputStatus, Source};
use std::fmt;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Default `file_timeout`: long enough for a multi-gigabyte log on a slow disk.
pub const DEFAULT_FILE_TIMEOUT: Duration = Duration::from_secs(300);

/// Default `max_file_memory`: 2 GiB per file being read.
pub const DEFAULT_MAX_FILE_MEMORY: u64 = 2 << 30;

/// How long past the deadline the watchdog waits at most for a reader to stop by itself (a tenth
/// of the deadline, at least [`MIN_GRACE`]).
pub const GRACE: Duration = Duration::from_secs(2);

/// The shortest grace.
pub const MIN_GRACE: Duration = Duration::from_millis(500);

fn grace(timeout: Duration) -> Duration {
    (timeout / 10).clamp(MIN_GRACE, GRACE)
}

/// Stack size of a reader thread.
const READER_STACK: usize = 16 << 20;

/// Counts the memory held by the calling thread (see the module doc).
pub trait MemoryMeter: Send + Sync {
    /// Bytes allocated by the calling thread and not yet freed by it (may go negative when it
    /// frees memory another thread allocated).
    fn thread_bytes(&self) -> i64;
}

/// A shareable [`MemoryMeter`] for [`IngestOptions`].
#[derive(Clone)]
pub struct Meter(pub Arc<dyn MemoryMeter>);

impl fmt::Debug for Meter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Meter")
    }
}

/// The limits of one file being read, checked by the reader between records.
#[derive(Clone, Debug)]
pub struct Limits {
    deadline: Option<Instant>,
    timeout: Option<Duration>,
    budget: Option<u64>,
    meter: Option<Meter>,
    baseline: i64,
}

impl Limits {
    /// Start the clock and the memory count for the calling thread.
    pub fn start(options: &IngestOptions) -> Self {
        let meter = options.memory_meter.clone();
        let baseline = meter.as_ref().map_or(0, |m| m.0.thread_bytes());
        Limits {
            deadline: options.file_timeout.map(|t| Instant::now() + t),
            timeout: options.file_timeout,
            budget: options.max_file_memory.filter(|_| meter.is_some()),
            meter,
            baseline,
        }
    }

    /// Bytes held by this thread since [`Limits::start`] (0 without a meter).
    pub fn held(&self) -> u64 {
        self.meter.as_ref().map_or(0, |m| {
            u64::try_from(m.0.thread_bytes().saturating_sub(self.baseline)).unwrap_or(0)
        })
    }

    /// `Err` with the reason once a limit is exceeded.
    pub fn check(&self) -> Result<(), String> {
        if let (Some(budget), Some(_)) = (self.budget, &self.meter) {
            let held = self.held();
            if held > budget {
                return Err(format!(
                    "memory budget exceeded: the reader held {} MiB, the limit is {} MiB (--max-file-memory)",
                    held >> 20,
                    budget >> 20
                ));
            }
        }
        if let (Some(deadline), Some(timeout)) = (self.deadline, self.timeout)
            && Instant::now() > deadline
        {
            return Err(format!(
                "timed out: reading took longer than {} (--file-timeout)",
                seconds(timeout)
            ));
        }
        Ok(())
    }
}

/// A stream that checks the file's [`Limits`] on every read and fails with the reason once one is
/// exceeded: line-based readers that only see a stream stop at their next read (within one buffer
/// of the limit). [`CheckedRead::tripped`] tells the caller why, for `Collector::stop`.
pub struct CheckedRead<R> {
    inner: R,
    limits: Limits,
    tripped: Option<String>,
}

impl<R> CheckedRead<R> {
    /// Wrap `inner`.
    pub fn new(inner: R, limits: Limits) -> Self {
        CheckedRead {
            inner,
            limits,
            tripped: None,
        }
    }

    /// The limit that stopped reading, if one did.
    pub fn tripped(&self) -> Option<&str> {
        self.tripped.as_deref()
    }
}

impl<R: std::io::Read> std::io::Read for CheckedRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Err(reason) = self.limits.check() {
            self.tripped = Some(reason.clone());
            return Err(std::io::Error::other(reason));
        }
        self.inner.read(buf)
    }
}

fn seconds(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.3} s", d.as_secs_f64())
    }
}

/// Run `reader` for `source` on a thread of its own under the deadline (see the module doc).
/// Without a `file_timeout` the reader still runs on its own thread (for its stack) and is
/// waited for without limit.
pub fn run_reader<F>(source: &Source, options: &IngestOptions, reader: F) -> FileIngest
where
    F: FnOnce(&Source, &IngestOptions) -> FileIngest + Send + 'static,
{
    ReaderPool::default().run(source, options, reader)
}

/// The reader threads of one run. A file is read on an idle reader thread of the pool, or on a
/// new one; a reader that misses its deadline is abandoned and never used again. Reusing threads
/// spares a thread start and a fresh heap per file (a share holds thousands of small files).
/// Dropping the pool lets its idle threads end.
#[derive(Default)]
pub struct ReaderPool {
    idle: std::sync::Mutex<Vec<ReaderThread>>,
}

/// A job for a reader thread.
type Job = Box<dyn FnOnce() -> FileIngest + Send>;

/// A live reader thread: it runs the jobs it is sent, one at a time, and sends back each result.
struct ReaderThread {
    jobs: mpsc::Sender<Job>,
    results: mpsc::Receiver<FileIngest>,
}

impl ReaderThread {
    fn spawn() -> std::io::Result<ReaderThread> {
        let (jobs, job_queue) = mpsc::channel::<Job>();
        let (result_sender, results) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("rdptriage-reader".into())
            .stack_size(READER_STACK)
            .spawn(move || {
                while let Ok(job) = job_queue.recv() {
                    if result_sender.send(job()).is_err() {
                        break;
                    }
                }
            })?;
        Ok(ReaderThread { jobs, results })
    }
}

impl ReaderPool {
    /// Run `reader` for `source` on a reader thread under the deadline.
    pub fn run<F>(&self, source: &Source, options: &IngestOptions, reader: F) -> FileIngest
    where
        F: FnOnce(&Source, &IngestOptions) -> FileIngest + Send + 'static,
    {
        let thread = match self.take() {
            Some(thread) => thread,
            None => match ReaderThread::spawn() {
                Ok(thread) => thread,
                Err(err) => {
                    return failed(
                        source,
                        format!("cannot start a reader thread: {err}"),
                        false,
                    );
                }
            },
        };
        let (owned_source, owned_options) = (source.clone(), options.clone());
        let job: Job = Box::new(move || reader(&owned_source, &owned_options));
        if thread.jobs.send(job).is_err() {
            return failed(
                source,
                "the reader thread ended without a result".into(),
                false,
            );
        }
        let received = match options.file_timeout {
            Some(timeout) => thread
                .results
                .recv_timeout(timeout.saturating_add(grace(timeout))),
            None => thread
                .results
                .recv()
                .map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        };
        match received {
            Ok(done) => {
                self.give_back(thread);
                done
            }
            // The thread is dropped here: once (if ever) it finishes, it finds no one waiting
            // and ends.
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let timeout = options.file_timeout.unwrap_or_default();
                let waited = timeout.saturating_add(grace(timeout));
                let reason = format!(
                    "timed out: the reader did not finish within {} (--file-timeout) and was abandoned",
                    seconds(waited)
                );
                failed(source, reason, true)
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => failed(
                source,
                "the reader thread ended without a result".into(),
                false,
            ),
        }
    }

    fn take(&self) -> Option<ReaderThread> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    fn give_back(&self, thread: ReaderThread) {
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(thread);
    }
}

fn failed(source: &Source, reason: String, abandoned: bool) -> FileIngest {
    let mut report = InputReport::new(source);
    report.status = InputStatus::Unreadable;
    report.reason = Some(reason);
    report.abandoned_reader = abandoned;
    FileIngest::new(report, Vec::new())
}

/// How many readers of a run were abandoned by the watchdog (each still runs in the background).
pub fn abandoned_readers(inputs: &[InputReport]) -> usize {
    inputs.iter().filter(|i| i.abandoned_reader).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::InputFormat;
    use std::sync::atomic::{AtomicI64, Ordering};

    fn source() -> Source {
        Source {
            path: "mem".into(),
            display: Arc::from("mem"),
            size: 0,
            format: InputFormat::Jsonl,
        }
    }

    struct Fake(AtomicI64);
    impl MemoryMeter for Fake {
        fn thread_bytes(&self) -> i64 {
            self.0.load(Ordering::Relaxed)
        }
    }

    #[test]
    fn a_stuck_reader_is_abandoned_after_the_deadline() {
        let options = IngestOptions {
            file_timeout: Some(Duration::from_millis(50)),
            ..IngestOptions::default()
        };
        let (release, wait) = mpsc::channel::<()>();
        let started = Instant::now();
        let done = run_reader(&source(), &options, move |s, _| {
            let _ = wait.recv();
            FileIngest::new(InputReport::new(s), Vec::new())
        });
        assert!(started.elapsed() < GRACE + Duration::from_secs(5));
        assert_eq!(done.report.status, InputStatus::Unreadable);
        assert!(done.report.abandoned_reader);
        assert!(done.report.reason.as_deref().unwrap().contains("abandoned"));
        assert_eq!(abandoned_readers(&[done.report]), 1);
        drop(release);
    }

    #[test]
    fn memory_over_budget_fails_the_check() {
        let fake = Arc::new(Fake(AtomicI64::new(1000)));
        let options = IngestOptions {
            max_file_memory: Some(4 << 20),
            memory_meter: Some(Meter(fake.clone())),
            ..IngestOptions::default()
        };
        let limits = Limits::start(&options);
        assert!(limits.check().is_ok());
        fake.0.store(1000 + (5 << 20), Ordering::Relaxed);
        let err = limits.check().unwrap_err();
        assert!(err.contains("memory budget exceeded"), "{err}");
        assert!(err.contains("5 MiB") && err.contains("4 MiB"), "{err}");
    }

    #[test]
    fn no_meter_means_no_memory_limit_and_the_deadline_still_holds() {
        let options = IngestOptions {
            max_file_memory: Some(1),
            memory_meter: None,
            file_timeout: Some(Duration::ZERO),
            ..IngestOptions::default()
        };
        let limits = Limits::start(&options);
        std::thread::sleep(Duration::from_millis(2));
        let err = limits.check().unwrap_err();
        assert!(err.starts_with("timed out"), "{err}");
    }

    #[test]
    fn a_reader_thread_that_dies_is_reported() {
        let options = IngestOptions::default();
        let done = run_reader(&source(), &options, |_, _| {
            std::panic::resume_unwind(Box::new("reader died"))
        });
        assert_eq!(done.report.status, InputStatus::Unreadable);
        assert!(!done.report.abandoned_reader);
        assert!(done.report.reason.unwrap().contains("without a result"));
    }

    fn thread_id_reader(
        seen: mpsc::Sender<std::thread::ThreadId>,
    ) -> impl FnOnce(&Source, &IngestOptions) -> FileIngest + Send + 'static {
        move |s, _| {
            seen.send(std::thread::current().id()).unwrap();
            FileIngest::new(InputReport::new(s), Vec::new())
        }
    }

    #[test]
    fn a_pool_reads_files_one_after_another_on_the_same_thread() {
        let pool = ReaderPool::default();
        let options = IngestOptions::default();
        let (seen, ids) = mpsc::channel();
        for _ in 0..3 {
            let done = pool.run(&source(), &options, thread_id_reader(seen.clone()));
            assert_ne!(done.report.status, InputStatus::Unreadable);
        }
        let ids: Vec<_> = ids.try_iter().collect();
        assert_eq!(ids.len(), 3);
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
        assert_ne!(ids[0], std::thread::current().id());
    }

    #[test]
    fn an_abandoned_reader_thread_is_never_used_again() {
        let pool = ReaderPool::default();
        let options = IngestOptions {
            file_timeout: Some(Duration::from_millis(20)),
            ..IngestOptions::default()
        };
        let (release, wait) = mpsc::channel::<()>();
        let (seen, ids) = mpsc::channel();
        let stuck_seen = seen.clone();
        let stuck = pool.run(&source(), &options, move |s, _| {
            stuck_seen.send(std::thread::current().id()).unwrap();
            let _ = wait.recv();
            FileIngest::new(InputReport::new(s), Vec::new())
        });
        assert!(stuck.report.abandoned_reader);
        let next = pool.run(&source(), &options, thread_id_reader(seen));
        assert!(!next.report.abandoned_reader);
        let ids: Vec<_> = ids.try_iter().collect();
        assert_eq!(ids.len(), 2);
        assert_ne!(ids[0], ids[1], "the stuck thread was reused");
        drop(release);
    }
}
