//! Command-line interface: clap definitions and the glue from arguments to the library.
//!
//! Takes: the process arguments.
//! Produces: a [`Config`](rdptriage::config::Config), a run of the library, and report output on
//! stdout or in a file (written atomically). Only this module prints.

mod analyze;
mod common;
mod decode;
mod events;
mod rules;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Root-cause verdicts for failed Remote Desktop connections, from exported Windows logs.
///
/// Point rdptriage at the logs collected from the client, the RD Gateway and the session host
/// (.evtx files, XML, JSONL and text exports, client traces, folders of them, in any mix). It
/// rebuilds every connection attempt across the machines and explains why each failed.
///
/// Exit status: 0 done; 2 usage or fatal error; 3 done, but some inputs could not be read at all.
#[derive(Parser, Debug)]
#[command(name = "rdptriage", version, about, long_about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the timeline of relevant events (normalized) from the inputs.
    Events(events::EventsArgs),
    /// Rebuild connection attempts across client, gateway and session host.
    Attempts(events::AttemptsArgs),
    /// Explain why each failed connection attempt failed (root-cause verdicts from the rule pack).
    Analyze(analyze::AnalyzeArgs),
    /// List, check and test the rule pack.
    Rules(rules::RulesArgs),
    /// Show what a cause means, the evidence its rule looks for, and the fix.
    Explain(rules::ExplainArgs),
    /// Decode an error code (and extended code): every table it may belong to, what it rules in
    /// and out, and which logs to collect next.
    Decode(decode::DecodeArgs),
    /// Print a script that exports the logs rdptriage reads from one machine (client, gateway,
    /// server or dc), for a time window given when it runs.
    CollectScript(decode::CollectArgs),
}

/// Parse arguments and run the chosen command.
pub fn run() -> Result<ExitCode> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() { 2 } else { 0 };
            let _ = err.print();
            return Ok(ExitCode::from(code));
        }
    };
    match cli.command {
        Command::Events(args) => events::run_events(args),
        Command::Attempts(args) => events::run_attempts(args),
        Command::Analyze(args) => analyze::run(args),
        Command::Rules(args) => rules::run(args),
        Command::Explain(args) => rules::explain(args),
        Command::Decode(args) => decode::run_decode(args),
        Command::CollectScript(args) => decode::run_collect(args),
    }
}
