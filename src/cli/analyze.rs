//! `rdptriage analyze`: read the logs, rebuild the attempts, apply the rule pack, report verdicts.
//!
//! Takes: input paths and options, `--rules DIR` (added to the embedded pack; same-id rules
//! replace embedded ones), `--reported-error`.
//! Produces: the verdict report on stdout or in a file: terminal text (coloured per `--color`),
//! the versioned JSON report or its JSONL form, one CSV row per attempt, a Markdown summary for
//! tickets, or a self-contained HTML page.

use super::common::{ColorArgs, InputArgs, OutputArgs, ReportedArgs, exit_status, write_output};
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use rdptriage::analysis::analyze;
use rdptriage::report;
use rdptriage::rules::RulePack;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Output formats of `analyze`.
#[derive(ValueEnum, Clone, Copy, Debug, Default)]
pub enum AnalyzeFormat {
    /// Human-readable verdicts.
    #[default]
    Terminal,
    /// The versioned JSON report with verdicts.
    Json,
    /// One attempt per line, each the JSON report's attempt object plus `schema_version`.
    Jsonl,
    /// One row per attempt: codes, cause, confidence, first evidence line, missing logs.
    Csv,
    /// A summary to paste into a ticket.
    Markdown,
    /// One self-contained page (no external resources, no script): timelines and verdicts.
    Html,
}

/// Arguments of `analyze`.
#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    reported: ReportedArgs,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t)]
    format: AnalyzeFormat,
    /// Also load the rules under this folder; a rule with the id of a built-in rule replaces it.
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    #[command(flatten)]
    color: ColorArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// The embedded pack, plus the rules under `dir` when given.
pub fn load_pack(dir: Option<&Path>) -> Result<RulePack> {
    let pack = RulePack::embedded().context("the built-in rule pack is invalid")?;
    match dir {
        None => Ok(pack),
        Some(d) => {
            let extra = RulePack::load_dir(d)?;
            Ok(pack.with(extra.rules().to_vec()))
        }
    }
}

/// Run `analyze`.
pub fn run(args: AnalyzeArgs) -> Result<ExitCode> {
    let config = args.input.config(Some(&args.reported))?;
    // A folder of the user's rules is loaded first, so that a mistake in it is reported before
    // any reading starts; with `--threads 1` everything runs on the one thread. Otherwise the
    // built-in pack (tested, cannot fail in practice) is compiled beside the reading.
    let (pack, mut analysis) = if args.rules.is_some() || config.threads == Some(1) {
        let pack = load_pack(args.rules.as_deref())?;
        (pack, analyze(&config, &args.input.progress())?)
    } else {
        std::thread::scope(|scope| {
            let pack = scope.spawn(|| load_pack(None));
            let analysis = analyze(&config, &args.input.progress());
            let pack = pack
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            Ok::<_, anyhow::Error>((pack?, analysis?))
        })?
    };
    crate::alloc_meter::release_freed_memory();
    analysis.apply_rules(&pack);
    let style = args.color.style(&args.output);
    write_output(&args.output, |out| match args.format {
        AnalyzeFormat::Terminal => report::terminal::write_verdicts_styled(&analysis, &style, out),
        AnalyzeFormat::Json => report::json::write(&analysis, "analyze", out),
        AnalyzeFormat::Jsonl => report::json::write_jsonl(&analysis, out),
        AnalyzeFormat::Csv => report::csv::write(&analysis, out),
        AnalyzeFormat::Markdown => report::markdown::write(&analysis, out),
        AnalyzeFormat::Html => report::html::write(&analysis, out),
    })?;
    Ok(exit_status(analysis))
}
