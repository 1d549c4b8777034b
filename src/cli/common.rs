//! Arguments shared by the commands that read inputs, output handling, and progress on stderr.
//!
//! Takes: parsed clap arguments.
//! Produces: a library [`Config`], an output sink (stdout, or a file written atomically through a
//! temporary file and a rename), a progress display on stderr when it is a terminal, and the
//! terminal [`Style`] (`--color auto|always|never`, `NO_COLOR`, the terminal's width).

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use clap::{Args, ValueEnum};
use rdptriage::analysis::Progress;
use rdptriage::attempt::ReportedError;
use rdptriage::config::Config;
use rdptriage::ingest::IngestOptions;
use rdptriage::ingest::TimeZoneSpec;
use rdptriage::ingest::watchdog::Meter;
use rdptriage::report::terminal::Style;
use rdptriage::source::{InputReport, Source};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Inputs and reading options.
#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// Files or folders to read (.evtx, XML, JSONL, and text exports: wevtutil /f:text, Event
    /// Viewer "Copy details as text", Get-WinEvent | Format-List, netsh trace / tracefmt text,
    /// tracerpt and EvtxECmd CSV; folders are searched recursively).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Ignore events logged before this time (UTC; `2024-05-14`, `2024-05-14T09:00:00Z`, …).
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    pub since: Option<DateTime<Utc>>,
    /// Ignore events logged after this time (UTC).
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    pub until: Option<DateTime<Utc>>,
    /// Time zone of text exports whose times carry no offset (Event Viewer, Format-List and
    /// trace text print local time): an IANA name (`Europe/Berlin`) or an offset (`+02:00`).
    /// Without it such times are taken as UTC, and each input's report says so.
    #[arg(long, value_parser = parse_timezone, value_name = "ZONE")]
    pub timezone: Option<TimeZoneSpec>,
    /// Number of worker threads: files parsed in parallel, and the later parallel stages
    /// (sorting, judging, writing) [default: one per core].
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
    /// No progress display on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Give up on a file that takes longer than this to read; it is reported unreadable and the
    /// run goes on (0 = no limit) [default: 300].
    #[arg(long, value_name = "SECS")]
    pub file_timeout: Option<u64>,
    /// Stop reading a file once its reader holds more than this much memory, in MiB; it is
    /// reported unreadable and the run goes on (0 = no limit) [default: 2048].
    #[arg(long, value_name = "MIB")]
    pub max_file_memory: Option<u64>,
    /// Do not recover stale records from the slack of EVTX chunks (cleared or overwritten
    /// records, kept as events and counted apart as `recovered`).
    #[arg(long)]
    pub no_recovery: bool,
}

/// The error code from the user's dialog.
#[derive(Args, Debug, Clone)]
pub struct ReportedArgs {
    /// The code pair shown by the Remote Desktop client, e.g. `0x904/0x7` ("error code 0x904,
    /// extended error code 0x7"). The client log records only the first; this supplies both.
    #[arg(long, value_name = "CODE[/EXT]")]
    pub reported_error: Option<ReportedError>,
}

/// Where output goes.
#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// Write the report to this file instead of stdout (atomically: complete or not at all).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// When to colour terminal output.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColorChoice {
    /// When stdout is a terminal, `NO_COLOR` is not set and TERM is not `dumb`.
    #[default]
    Auto,
    /// Always (also into files and pipes, and despite `NO_COLOR`).
    Always,
    /// Never.
    Never,
}

/// Prose is wrapped to the terminal's width, but no wider than this (long lines read badly).
const MAX_WIDTH: usize = 160;

/// The colour option of commands that print terminal output.
#[derive(Args, Debug, Clone)]
pub struct ColorArgs {
    /// Colour the terminal output.
    #[arg(long, value_enum, default_value_t, value_name = "WHEN")]
    pub color: ColorChoice,
}

impl ColorArgs {
    /// The terminal style for output going to `output`: colour as chosen, wrapped to the
    /// terminal's width when stdout is a terminal (else the default width).
    pub fn style(&self, output: &OutputArgs) -> Style {
        let to_terminal = output.output.is_none() && std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        let color = match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => to_terminal && !no_color && !dumb,
        };
        let width = if to_terminal {
            terminal_size::terminal_size_of(std::io::stdout())
                .map(|(w, _)| usize::from(w.0))
                .filter(|w| *w > 0)
                .map(|w| w.min(MAX_WIDTH))
                .unwrap_or(Style::plain().width)
        } else {
            Style::plain().width
        };
        Style::new(color, width)
    }
}

/// Parse `--since`/`--until`: RFC 3339, `YYYY-MM-DD HH:MM[:SS]` or `YYYY-MM-DD` (taken as UTC).
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, format) {
            return Ok(n.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    Err(format!(
        "{text:?} is not a time: use 2024-05-14, 2024-05-14 09:30 or 2024-05-14T09:30:00Z"
    ))
}

/// Parse `--timezone`.
pub fn parse_timezone(text: &str) -> Result<TimeZoneSpec, String> {
    text.parse()
}

impl InputArgs {
    /// The library configuration for these arguments.
    pub fn config(&self, reported: Option<&ReportedArgs>) -> Result<Config> {
        if let (Some(s), Some(u)) = (self.since, self.until)
            && s > u
        {
            bail!("--since {s} is after --until {u}");
        }
        if let Some(n) = self.threads {
            // The library's later stages run on rayon's global pool; size it once, here at the
            // edge. A second call (tests run several commands in one process) keeps the first.
            let _ = rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .build_global();
        }
        let mut config = Config {
            paths: self.paths.clone(),
            threads: self.threads,
            ..Config::default()
        };
        config.ingest.since = self.since;
        config.ingest.until = self.until;
        self.limits(&mut config.ingest);
        config.ingest.timezone = self.timezone;
        config.attempts.reported_error = reported.and_then(|r| r.reported_error);
        Ok(config)
    }

    /// The watchdog limits (see `rdptriage::ingest::watchdog`), with the binary's memory meter.
    fn limits(&self, ingest: &mut IngestOptions) {
        if let Some(secs) = self.file_timeout {
            ingest.file_timeout = (secs > 0).then(|| Duration::from_secs(secs));
        }
        if let Some(mib) = self.max_file_memory {
            ingest.max_file_memory = (mib > 0).then(|| mib.saturating_mul(1 << 20));
        }
        ingest.memory_meter = Some(Meter(Arc::new(crate::alloc_meter::ThreadMeter)));
        ingest.recover_records = !self.no_recovery;
    }

    /// A progress display for this run (silent unless stderr is a terminal and not `--quiet`).
    pub fn progress(&self) -> StderrProgress {
        StderrProgress::new(!self.quiet && std::io::stderr().is_terminal())
    }
}

/// Run `write` into stdout or into `path` atomically.
pub fn write_output(
    output: &OutputArgs,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    match &output.output {
        None => {
            let stdout = std::io::stdout();
            let mut lock = std::io::BufWriter::new(stdout.lock());
            write(&mut lock).context("writing to stdout")?;
            lock.flush().context("writing to stdout")?;
        }
        Some(path) if is_special(path) => {
            // A device or FIFO (`-o /dev/null`, `-o /dev/stdout`, a named pipe): write to it in
            // place. Renaming a file over it would replace the device node itself.
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .with_context(|| format!("opening {}", path.display()))?;
            write_and_sync(&mut file, write)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        Some(path) => {
            // Through a symbolic link, replace the file it points to, not the link.
            let resolved = std::fs::canonicalize(path).ok();
            let path = resolved.as_deref().unwrap_or(path);
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let (temp_path, mut file) = tempfile_in(dir)
                .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
            let written = write_and_sync(&mut file, write)
                .with_context(|| format!("writing {}", path.display()));
            drop(file);
            if let Err(err) = written {
                let _ = std::fs::remove_file(&temp_path);
                return Err(err);
            }
            std::fs::rename(&temp_path, path).with_context(|| {
                let _ = std::fs::remove_file(&temp_path);
                format!("moving the report into place at {}", path.display())
            })?;
        }
    }
    Ok(())
}

/// True when `path` exists and (through symbolic links) is not a regular file or directory.
fn is_special(path: &std::path::Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Write the report into `file` through a buffer, flush it and sync it to disk.
fn write_and_sync(
    file: &mut std::fs::File,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    {
        let mut buffered = std::io::BufWriter::new(&mut *file);
        write(&mut buffered)?;
        buffered.flush()?;
    }
    file.sync_all().or(Ok(()))
}

/// Create a new temporary file next to the destination (same file system, so rename is atomic).
fn tempfile_in(dir: &std::path::Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    for attempt in 0..100u32 {
        let name = format!(".rdptriage-{}-{attempt}.tmp", std::process::id());
        let path = dir.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free temporary file name"))
}

/// Progress on stderr: files and bytes done, and the rate. Redraws one line.
pub struct StderrProgress {
    enabled: bool,
    files_total: AtomicU64,
    bytes_total: AtomicU64,
    files_done: AtomicU64,
    bytes_done: AtomicU64,
    started: std::time::Instant,
}

impl StderrProgress {
    fn new(enabled: bool) -> Self {
        StderrProgress {
            enabled,
            files_total: AtomicU64::new(0),
            bytes_total: AtomicU64::new(0),
            files_done: AtomicU64::new(0),
            bytes_done: AtomicU64::new(0),
            started: std::time::Instant::now(),
        }
    }
}

impl Progress for StderrProgress {
    fn start(&self, files: usize, bytes: u64) {
        self.files_total.store(files as u64, Ordering::Relaxed);
        self.bytes_total.store(bytes, Ordering::Relaxed);
    }

    fn file_done(&self, source: &Source, _report: &InputReport) {
        let files = self.files_done.fetch_add(1, Ordering::Relaxed) + 1;
        let bytes = self.bytes_done.fetch_add(source.size, Ordering::Relaxed) + source.size;
        if !self.enabled {
            return;
        }
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        eprint!(
            "\r\x1b[2Kreading: {files}/{} files, {:.1}/{:.1} MiB, {:.1} MiB/s",
            self.files_total.load(Ordering::Relaxed),
            mib(bytes),
            mib(self.bytes_total.load(Ordering::Relaxed)),
            mib(bytes) / secs
        );
    }

    fn finish(&self) {
        if self.enabled {
            eprint!("\r\x1b[2K");
        }
        // Reading is over and the reader threads have ended: what they freed goes back to the
        // system before the timeline is sorted and the attempts rebuilt (a big file read in
        // parts leaves freed memory in several threads' arenas).
        crate::alloc_meter::release_freed_memory();
    }
}

/// Exit status for a finished run: 3 when some input could not be read at all.
/// Says on stderr how many readers the watchdog abandoned (they end with the process).
///
/// Takes the analysis and does not free it: the process ends right after, and handing a
/// hundred thousand events back to the allocator one by one would only add time to every run.
pub fn exit_status(analysis: rdptriage::analysis::Analysis) -> std::process::ExitCode {
    let code = exit_code(&analysis);
    std::mem::forget(analysis);
    code
}

fn exit_code(analysis: &rdptriage::analysis::Analysis) -> std::process::ExitCode {
    let abandoned = rdptriage::ingest::watchdog::abandoned_readers(&analysis.inputs);
    if abandoned > 0 {
        eprintln!(
            "rdptriage: {abandoned} file reader(s) did not finish within --file-timeout and were abandoned (reported unreadable)"
        );
    }
    if analysis.has_unreadable_inputs() {
        std::process::ExitCode::from(3)
    } else {
        std::process::ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &std::path::Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect()
    }

    #[test]
    fn a_write_that_fails_half_way_leaves_neither_a_partial_file_nor_a_temporary_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        let output = OutputArgs {
            output: Some(path.clone()),
        };
        let result = write_output(&output, |w| {
            w.write_all(&[b'{'; 100_000])?;
            Err(std::io::Error::other("interrupted"))
        });
        assert!(result.is_err());
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );

        // Over an existing report: the old one stays whole.
        std::fs::write(&path, "old").unwrap();
        let result = write_output(&output, |w| {
            w.write_all(b"new, partial")?;
            Err(std::io::Error::other("interrupted"))
        });
        assert!(result.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(leftovers(dir.path()), vec!["report.json".to_string()]);
    }
}
