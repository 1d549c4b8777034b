//! Terminal view of attempts, verdicts, hosts and inputs.
//!
//! Takes: an [`Analysis`] and a [`Style`] (colour on or off, the width to wrap to).
//! Produces: human-readable text. `attempts`: per attempt, client → gateway → host, time, outcome,
//! decoded codes, and its events on the reference clock. `analyze` (module `verdicts`): per failed
//! attempt, the same header, the verdict and confidence, the key evidence lines with source file
//! and record, the fix, the other causes that fired and the logs still missing; then a summary of
//! failures by cause. Both end with hosts and how their clocks compare, and the inputs that were
//! not read cleanly. Order is stable (attempts by time, hosts by name). Every string from a log
//! passes through [`terminal_safe`] before it is painted or wrapped. The functions without a
//! `Style` argument write plain text at the default width.

mod style;
mod verdicts;

pub use style::{DEFAULT_WIDTH, Style, Tone, wrap};
pub use verdicts::{write_verdicts, write_verdicts_styled};

use super::codes::{self as decode, fields_text};
use super::{clock_text, plural, terminal_safe};
use crate::analysis::Analysis;
use crate::attempt::{Attempt, Outcome};
use crate::source::{InputReport, InputStatus};
use std::io::{Result, Write};

fn outcome_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Succeeded => "SUCCEEDED",
        Outcome::Failed => "FAILED",
        Outcome::Unknown => "UNKNOWN",
    }
}

fn outcome_tone(o: Outcome) -> Tone {
    match o {
        Outcome::Succeeded => Tone::Green,
        Outcome::Failed => Tone::Red,
        Outcome::Unknown => Tone::Yellow,
    }
}

/// `client → gateway → server`, with `?` for machines whose logs were not supplied.
pub fn path_of(a: &Attempt) -> String {
    let client = a.client.as_deref().unwrap_or("?");
    let server = a.server.as_deref().or(a.target.as_deref()).unwrap_or("?");
    match &a.gateway {
        Some(g) => format!("{client} → {g} → {server}"),
        None => format!("{client} → {server}"),
    }
}

/// The codes of an attempt, decoded, one string per code, e.g.
/// `0x904 disconnectReasonAtClientWinsockFDCLOSE (2308)` and
/// `extended 0x7 exDiscReasonServerDeniedConnection (7) [reported by the user]`.
pub fn code_lines(a: &Attempt) -> Vec<String> {
    let c = &a.codes;
    let primary = decode::primary_text(c).map(|p| match c.primary_reported {
        true => format!("{p} [reported by the user]"),
        false => p,
    });
    let extended = decode::extended_text(c).map(|e| match c.extended_source.as_deref() {
        Some("server") => format!("extended {e} [from the session host's LSM event 40]"),
        Some("reported") => format!("extended {e} [reported by the user]"),
        Some(from) => format!("extended {e} [{from}]"),
        None => format!("extended {e}"),
    });
    [primary, extended].into_iter().flatten().collect()
}

/// The codes of an attempt on one line (see [`code_lines`]), when it has any.
pub fn codes_line(a: &Attempt) -> Option<String> {
    let lines = code_lines(a);
    (!lines.is_empty()).then(|| lines.join(", "))
}

/// Write the codes of an attempt under `label`, one code per line.
fn write_codes(a: &Attempt, label: &str, style: &Style, out: &mut dyn Write) -> Result<()> {
    let blank = " ".repeat(label.chars().count());
    for (i, line) in code_lines(a).iter().enumerate() {
        let (lead, tone) = match i {
            0 => (label, Some(Tone::Dim)),
            _ => (blank.as_str(), None),
        };
        style.write_wrapped(out, (lead, tone), line, None)?;
    }
    Ok(())
}

/// The first line of an attempt: id, start, outcome, path.
fn write_attempt_line(a: &Attempt, style: &Style, out: &mut dyn Write) -> Result<()> {
    let word = format!("{:<9}", outcome_word(a.outcome));
    writeln!(
        out,
        "{}  {}  {}  {}",
        style.paint(&a.id, Tone::Bold),
        a.started.format("%Y-%m-%d %H:%M:%SZ"),
        style.paint(&word, outcome_tone(a.outcome)),
        terminal_safe(&path_of(a))
    )
}

/// Write the attempts view (plain).
pub fn write_attempts(analysis: &Analysis, out: &mut dyn Write) -> Result<()> {
    write_attempts_styled(analysis, &Style::plain(), out)
}

/// Write the attempts view in `style`.
pub fn write_attempts_styled(
    analysis: &Analysis,
    style: &Style,
    out: &mut dyn Write,
) -> Result<()> {
    let attempts = &analysis.correlation.attempts;
    if attempts.is_empty() {
        writeln!(out, "No connection attempts found in the inputs.")?;
    }
    for a in attempts {
        write_attempt_line(a, style, out)?;
        if let Some(target) = &a.target {
            style.write_wrapped(
                out,
                ("       target: ", Some(Tone::Dim)),
                &terminal_safe(target),
                None,
            )?;
        }
        if let Some(user) = &a.user {
            style.write_wrapped(
                out,
                ("       user:   ", Some(Tone::Dim)),
                &terminal_safe(user),
                None,
            )?;
        }
        write_codes(a, "       codes:  ", style, out)?;
        for l in &a.events {
            let e = &analysis.timeline.events[l.index];
            let kind = e.catalog_entry().map_or("?", |c| c.kind);
            let head = format!(
                "         {} {:<7} {:>5} {:<32} ",
                l.corrected_time.format("%H:%M:%S%.3f"),
                l.role.as_str(),
                e.event_id,
                kind,
            );
            style.write_wrapped(out, (&head, None), &terminal_safe(&fields_text(e)), None)?;
        }
        writeln!(out)?;
    }
    write_hosts_styled(analysis, style, out)?;
    write_input_problems_styled(analysis, style, out)
}

/// Hosts with roles and how their clocks compare (plain).
pub fn write_hosts(analysis: &Analysis, out: &mut dyn Write) -> Result<()> {
    write_hosts_styled(analysis, &Style::plain(), out)
}

/// Hosts with roles, their totals (files, relevant events, attempts, failures by cause) and how
/// their clocks compare, e.g. `clock 180.7 s ahead of WS-ALICE…`. Hosts whose files held no
/// relevant event are listed too.
pub fn write_hosts_styled(analysis: &Analysis, style: &Style, out: &mut dyn Write) -> Result<()> {
    let hosts = &analysis.correlation.hosts;
    let summaries = crate::host_summary::host_summaries(analysis);
    if summaries.is_empty() {
        return Ok(());
    }
    writeln!(out, "{}", style.paint("Hosts:", Tone::Bold))?;
    let name_width = summaries
        .iter()
        .map(|h| terminal_safe(&h.name).chars().count())
        .max()
        .unwrap_or(0)
        .min(40);
    for summary in &summaries {
        let key = crate::attempt::host_key(&summary.name);
        let info = hosts
            .iter()
            .find(|h| crate::attempt::host_key(&h.name) == key);
        let role = info.map_or("-", |h| h.role.as_str());
        let head = format!(
            "  {:<name_width$}  {:<8} {:>4} file{} {:>6} events {:>4} attempts {:>4} failed  ",
            terminal_safe(&summary.name),
            role,
            summary.files,
            if summary.files == 1 { " " } else { "s" },
            summary.relevant_events,
            summary.attempts,
            summary.failed_attempts,
        );
        let mut tail = super::collected_as_text(&summary.collected_as)
            .map(|text| terminal_safe(&text) + "; ")
            .unwrap_or_default();
        tail += &match info {
            Some(h) => {
                let mut clock = terminal_safe(&clock_text(h, hosts));
                if h.clock_samples > 0 {
                    let s = if h.clock_samples == 1 { "" } else { "s" };
                    clock.push_str(&format!(" ({} linked pair{s})", h.clock_samples));
                }
                clock
            }
            None => "no relevant events in its logs".to_string(),
        };
        if !summary.failures_by_cause.is_empty() {
            let causes: Vec<String> = summary
                .failures_by_cause
                .iter()
                .map(|(cause, n)| format!("{} ×{n}", terminal_safe(cause)))
                .collect();
            tail.push_str(&format!("; failures: {}", causes.join(", ")));
        }
        style.write_wrapped(out, (&head, None), &tail, None)?;
    }
    Ok(())
}

/// Inputs listed by name under "Copies of records read elsewhere"; the rest are counted.
const COPIES_LISTED: usize = 8;

/// The inputs holding copies of records kept from elsewhere (the same log read twice), the first
/// [`COPIES_LISTED`] by name.
fn write_copies(inputs: &[InputReport], style: &Style, out: &mut dyn Write) -> Result<()> {
    let copies: Vec<&InputReport> = inputs.iter().filter(|i| i.repeated > 0).collect();
    if copies.is_empty() {
        return Ok(());
    }
    let title = "Copies of records read elsewhere (each record counted once):";
    writeln!(out, "{}", style.paint(title, Tone::Yellow))?;
    for i in copies.iter().take(COPIES_LISTED) {
        let text = format!(
            "{}  ({} of {} relevant events; kept from {})",
            terminal_safe(&i.path),
            i.repeated,
            i.relevant,
            terminal_safe(&i.repeated_kept_in.join(", "))
        );
        style.write_wrapped(out, ("  copies     ", None), &text, None)?;
    }
    if copies.len() > COPIES_LISTED {
        let more = copies.len() - COPIES_LISTED;
        let text = format!(
            "and {} (inputs[].repeated in the JSON report)",
            plural(more, "more input")
        );
        style.write_wrapped(out, ("             ", None), &text, None)?;
    }
    Ok(())
}

/// Inputs that were skipped, partial or unreadable, with reasons; then a one-line total (plain).
pub fn write_input_problems(analysis: &Analysis, out: &mut dyn Write) -> Result<()> {
    write_input_problems_styled(analysis, &Style::plain(), out)
}

/// Inputs that were skipped, partial or unreadable, with reasons, and those holding copies of
/// records read elsewhere; then a one-line total.
pub fn write_input_problems_styled(
    analysis: &Analysis,
    style: &Style,
    out: &mut dyn Write,
) -> Result<()> {
    let inputs = &analysis.inputs;
    let problems: Vec<_> = inputs
        .iter()
        .filter(|i| i.status != InputStatus::Read)
        .collect();
    if !problems.is_empty() {
        writeln!(
            out,
            "{}",
            style.paint("Inputs not read cleanly:", Tone::Yellow)
        )?;
        for i in problems {
            let why = i
                .reason
                .as_deref()
                .or(i.first_error.as_deref())
                .unwrap_or("");
            let head = format!("  {:<10} ", format!("{:?}", i.status).to_lowercase());
            let text = format!(
                "{}  ({} read, {} failed) {}",
                terminal_safe(&i.path),
                i.records,
                i.failed_records,
                terminal_safe(why)
            );
            style.write_wrapped(out, (&head, None), &text, None)?;
        }
    }
    write_copies(inputs, style, out)?;
    let records: u64 = inputs.iter().map(|i| i.records).sum();
    let relevant: u64 = inputs.iter().map(|i| i.relevant).sum();
    let repeated: u64 = inputs.iter().map(|i| i.repeated).sum();
    let repeats = match repeated {
        0 => String::new(),
        n => format!(" ({n} of them copies of records read twice, counted once)"),
    };
    writeln!(
        out,
        "{}, {} read, {}{repeats}, {}.",
        plural(inputs.len(), "input"),
        plural(records as usize, "record"),
        plural(relevant as usize, "relevant event"),
        plural(analysis.correlation.attempts.len(), "attempt")
    )
}
