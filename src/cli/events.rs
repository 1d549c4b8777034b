//! `rdptriage events` and `rdptriage attempts`.
//!
//! Takes: input paths and options.
//! Produces: the normalized event timeline (terminal, JSONL, CSV) or the rebuilt attempts
//! (terminal, JSON). Terminal output is coloured per `--color` and wrapped to the terminal.

use super::common::{ColorArgs, InputArgs, OutputArgs, ReportedArgs, exit_status, write_output};
use anyhow::Result;
use clap::{Args, ValueEnum};
use rdptriage::analysis::{Analysis, analyze};
use rdptriage::report;
use std::process::ExitCode;

/// Output formats of `events`.
#[derive(ValueEnum, Clone, Copy, Debug, Default)]
pub enum EventsFormat {
    /// One line per event.
    #[default]
    Terminal,
    /// One JSON object per line (readable again as input).
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

/// Output formats of `attempts`.
#[derive(ValueEnum, Clone, Copy, Debug, Default)]
pub enum AttemptsFormat {
    /// Human-readable.
    #[default]
    Terminal,
    /// The versioned JSON report.
    Json,
}

/// Arguments of `events`.
#[derive(Args, Debug)]
pub struct EventsArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t)]
    format: EventsFormat,
    /// Memory for sorting the timeline, in MiB: beyond it, sorted parts are written to temporary
    /// files (in TMPDIR) and merged at the end, so memory stays the same for inputs of any size.
    #[arg(long, value_name = "MIB", default_value_t = SORT_MEMORY_DEFAULT_MIB,
          value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    sort_memory: u64,
    #[command(flatten)]
    color: ColorArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Default of `--sort-memory` ([`rdptriage::spool::DEFAULT_MEMORY`] in MiB).
const SORT_MEMORY_DEFAULT_MIB: u64 = (rdptriage::spool::DEFAULT_MEMORY >> 20) as u64;

/// Arguments of `attempts`.
#[derive(Args, Debug)]
pub struct AttemptsArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    reported: ReportedArgs,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t)]
    format: AttemptsFormat,
    #[command(flatten)]
    color: ColorArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Run `events`: the timeline is merged from the spool as it is written (bounded memory).
pub fn run_events(args: EventsArgs) -> Result<ExitCode> {
    let mut config = args.input.config(None)?;
    config.spool.memory = usize::try_from(args.sort_memory << 20).unwrap_or(usize::MAX);
    let stream = rdptriage::analysis::stream_events(&config, &args.input.progress())?;
    if let Some(failure) = stream.events.spill_failure() {
        eprintln!("warning: {failure}; the timeline was sorted in memory");
    }
    // The accounting, for the input problems and the exit status, is complete once every
    // event was given out (copies of a record read twice are counted then).
    let mut analysis = Analysis::default();
    let style = args.color.style(&args.output);
    write_output(&args.output, |out| {
        analysis.inputs = match args.format {
            EventsFormat::Terminal => {
                let mut none = true;
                let inputs = stream.for_each_event(|e| {
                    none = false;
                    report::events::write_terminal_line(e, &style, out)
                })?;
                if none {
                    writeln!(out, "{}", report::events::NO_EVENTS)?;
                }
                inputs
            }
            EventsFormat::Jsonl => stream.for_each_line(|line| out.write_all(line))?,
            EventsFormat::Csv => {
                writeln!(out, "{}", report::events::CSV_HEADER)?;
                stream.for_each_event(|e| report::events::write_csv_row(e, out))?
            }
        };
        if matches!(args.format, EventsFormat::Terminal) {
            report::terminal::write_input_problems_styled(&analysis, &style, out)?;
        }
        Ok(())
    })?;
    if !matches!(args.format, EventsFormat::Terminal) {
        // Machine formats carry events only: say on stderr which inputs were not read cleanly,
        // so a map step never loses a file silently.
        let mut stderr = std::io::stderr().lock();
        report::terminal::write_input_problems(&analysis, &mut stderr)?;
    }
    Ok(exit_status(analysis))
}

/// Run `attempts`.
pub fn run_attempts(args: AttemptsArgs) -> Result<ExitCode> {
    let config = args.input.config(Some(&args.reported))?;
    let analysis = analyze(&config, &args.input.progress())?;
    crate::alloc_meter::release_freed_memory();
    let style = args.color.style(&args.output);
    write_output(&args.output, |out| match args.format {
        AttemptsFormat::Terminal => report::terminal::write_attempts_styled(&analysis, &style, out),
        AttemptsFormat::Json => report::json::write(&analysis, "attempts", out),
    })?;
    Ok(exit_status(analysis))
}
