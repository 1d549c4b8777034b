//! `rdptriage events` and `rdptriage attempts`.
//!
//! Takes: input paths and options.
//! Produces: the normalized event timeline (terminal, JSONL, CSV) or the rebuilt attempts
//! (terminal, JSON). Terminal output is coloured per `--color` and wrapped to the terminal.

use super::common::{ColorArgs, InputArgs, OutputArgs, ReportedArgs, exit_status, write_output};
use anyhow::Result;
use clap::{Args, ValueEnum};
use rdptriage::analysis::analyze;
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
    #[command(flatten)]
    color: ColorArgs,
    #[command(flatten)]
    output: OutputArgs,
}

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

/// Run `events`.
pub fn run_events(args: EventsArgs) -> Result<ExitCode> {
    let config = args.input.config(None)?;
    let analysis = rdptriage::analysis::read_events(&config, &args.input.progress())?;
    let events = &analysis.timeline.events;
    let style = args.color.style(&args.output);
    write_output(&args.output, |out| match args.format {
        EventsFormat::Terminal => {
            report::events::write_terminal_styled(events, &style, out)?;
            report::terminal::write_input_problems_styled(&analysis, &style, out)
        }
        EventsFormat::Jsonl => report::events::write_jsonl(events, out),
        EventsFormat::Csv => report::events::write_csv(events, out),
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
    let style = args.color.style(&args.output);
    write_output(&args.output, |out| match args.format {
        AttemptsFormat::Terminal => report::terminal::write_attempts_styled(&analysis, &style, out),
        AttemptsFormat::Json => report::json::write(&analysis, "attempts", out),
    })?;
    Ok(exit_status(analysis))
}
