//! `rdptriage rules list|lint|test` and `rdptriage explain`.
//!
//! Takes: an optional rule folder (default: the pack embedded in the binary), or a cause id.
//! Produces: the rule list; lint diagnostics with file:line:col (exit 1 on any error); a pass/fail
//! line per case with the actual verdicts on failure (exit 1 on any failure); a rule rendered for
//! humans.

use super::analyze::load_pack;
use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use rdptriage::rules::lint::{Severity, lint};
use rdptriage::rules::{RuleSource, cases, describe, discover, embedded_sources};
use rdptriage::verdict::UNDETERMINED;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `rules`.
#[derive(Args, Debug)]
pub struct RulesArgs {
    #[command(subcommand)]
    command: RulesCommand,
}

#[derive(Subcommand, Debug)]
enum RulesCommand {
    /// List the rules (built-in, plus DIR's rules replacing same-id ones).
    List {
        /// A rule folder to add.
        dir: Option<PathBuf>,
    },
    /// Check rules and cases: every problem with file:line:col; exit 1 on any error.
    Lint {
        /// The rule folder [default: the built-in pack].
        dir: Option<PathBuf>,
    },
    /// Run the rule cases: pass/fail per case; exit 1 on any failure.
    Test {
        /// The rule folder whose cases run (its rules replace built-in ones) [default: built-in].
        dir: Option<PathBuf>,
    },
}

/// Arguments of `explain`.
#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// The cause id, e.g. `auth.bad-credentials` (see `rdptriage rules list`).
    cause: String,
    /// Also load the rules under this folder.
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
}

/// Run `rules …`.
pub fn run(args: RulesArgs) -> Result<ExitCode> {
    match args.command {
        RulesCommand::List { dir } => list(dir.as_deref()),
        RulesCommand::Lint { dir } => run_lint(dir.as_deref()),
        RulesCommand::Test { dir } => test(dir.as_deref()),
    }
}

fn sources(dir: Option<&Path>) -> Result<Vec<RuleSource>> {
    Ok(match dir {
        Some(d) => discover(d)?,
        None => embedded_sources(),
    })
}

fn list(dir: Option<&Path>) -> Result<ExitCode> {
    let pack = load_pack(dir)?;
    let mut out = std::io::stdout().lock();
    for r in pack.rules() {
        let kind = if r.fallback { "fallback" } else { "" };
        writeln!(
            out,
            "{:<36} {:.2} {:<8} {}",
            r.id, r.confidence, kind, r.title
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn run_lint(dir: Option<&Path>) -> Result<ExitCode> {
    let sources = sources(dir)?;
    let diagnostics = lint(&sources);
    let mut out = std::io::stdout().lock();
    for d in &diagnostics {
        writeln!(out, "{d}")?;
    }
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diagnostics.len() - errors;
    writeln!(
        out,
        "{} rules checked: {errors} errors, {warnings} warnings.",
        sources.len()
    )?;
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn test(dir: Option<&Path>) -> Result<ExitCode> {
    let sources = sources(dir)?;
    let pack = load_pack(dir)?;
    let mut out = std::io::stdout().lock();
    let (mut passed, mut failed) = (0, 0);
    for s in &sources {
        for (path, text) in &s.cases {
            let base = s.dir.as_ref().map(|d| d.join("cases"));
            let result = cases::parse_case(path, text)
                .and_then(|case| cases::run_case(&pack, &case, base.as_deref()));
            match result {
                Ok(r) if r.passed => {
                    passed += 1;
                    writeln!(out, "PASS {path} ({})", r.expect)?;
                }
                Ok(r) => {
                    failed += 1;
                    let actual = if r.actual.is_empty() {
                        "no failed attempt".to_string()
                    } else {
                        r.actual.join("; ")
                    };
                    writeln!(out, "FAIL {path}: expected {}, got: {actual}", r.expect)?;
                }
                Err(e) => {
                    failed += 1;
                    writeln!(out, "FAIL {path}: {e}")?;
                }
            }
        }
    }
    writeln!(out, "cases: {passed} passed, {failed} failed")?;
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Run `explain`.
pub fn explain(args: ExplainArgs) -> Result<ExitCode> {
    let pack = load_pack(args.rules.as_deref())?;
    let mut out = std::io::stdout().lock();
    if args.cause == UNDETERMINED {
        writeln!(
            out,
            "{UNDETERMINED}: no rule found its evidence in the logs supplied."
        )?;
        writeln!(
            out,
            "The verdict lists the logs that were not supplied and would decide the causes that"
        )?;
        writeln!(
            out,
            "could apply, each with the `wevtutil epl` command that exports it."
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(r) = pack.get(&args.cause) else {
        let ids: Vec<&str> = pack.rules().iter().map(|r| r.id.as_str()).collect();
        bail!("no rule `{}`; known causes: {}", args.cause, ids.join(", "));
    };
    writeln!(out, "{} — {}", r.id, r.title)?;
    writeln!(out, "({}; defined in {})\n", describe::ranking(r), r.path)?;
    writeln!(
        out,
        "What it means:\n  {}\n",
        describe::template(&r.explain)
    )?;
    writeln!(out, "Evidence it looks for:")?;
    for s in &r.selectors {
        writeln!(out, "  - {}: {}", s.name, describe::selector(s))?;
    }
    writeln!(out, "  Fires when: {}\n", r.condition_text)?;
    if !r.requires.is_empty() {
        writeln!(out, "Logs that confirm or rule it out:")?;
        for q in &r.requires {
            writeln!(out, "  - {}: {}", describe::role_words(q.role), q.channel)?;
        }
        writeln!(out)?;
    }
    if !r.remediation.is_empty() {
        writeln!(out, "Fix:")?;
        for (n, step) in r.remediation.iter().enumerate() {
            writeln!(out, "  {}. {}", n + 1, describe::template(&step.text))?;
            for c in &step.commands {
                writeln!(out, "       $ {}", describe::template(c))?;
            }
        }
        writeln!(out)?;
    }
    if !r.references.is_empty() {
        writeln!(out, "References:")?;
        for reference in &r.references {
            writeln!(out, "  - {reference}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
