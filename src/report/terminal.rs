//! Terminal view of attempts, verdicts, hosts and inputs.
//!
//! Takes: an [`Analysis`].
//! Produces: human-readable text. `attempts`: per attempt, client → gateway → host, time, outcome,
//! codes, and its events on the reference clock. `analyze`: per failed attempt, the same header,
//! the verdict and confidence, the key evidence lines with source file and record, the fix, the
//! other causes that fired and the logs still missing; then a summary of failures by cause. Both
//! end with hosts and clock offsets, and the inputs that were not read cleanly. Every string from a
//! log passes through [`terminal_safe`].

use super::events::fields_text;
use super::terminal_safe;
use crate::analysis::Analysis;
use crate::attempt::{Attempt, Outcome};
use crate::source::InputStatus;
use crate::verdict::Verdict;
use std::io::{Result, Write};

fn outcome_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Succeeded => "SUCCEEDED",
        Outcome::Failed => "FAILED",
        Outcome::Unknown => "UNKNOWN",
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

/// The codes line of an attempt, e.g. `0x904 (2308), extended 0x7 (reported)`.
pub fn codes_line(a: &Attempt) -> Option<String> {
    let c = &a.codes;
    let primary = c.primary.map(|p| {
        let note = if c.primary_reported { ", reported" } else { "" };
        format!("0x{p:X} ({p}{note})")
    });
    let extended = c.extended.map(|e| {
        let from = c.extended_source.as_deref().unwrap_or("?");
        format!("extended 0x{e:X} ({e}, from {from})")
    });
    match (primary, extended) {
        (None, None) => None,
        (p, e) => Some([p, e].into_iter().flatten().collect::<Vec<_>>().join(", ")),
    }
}

/// Write the attempts view.
pub fn write_attempts(analysis: &Analysis, out: &mut dyn Write) -> Result<()> {
    let attempts = &analysis.correlation.attempts;
    if attempts.is_empty() {
        writeln!(out, "No connection attempts found in the inputs.")?;
    }
    for a in attempts {
        writeln!(
            out,
            "{}  {}  {:<9}  {}",
            a.id,
            a.started.format("%Y-%m-%d %H:%M:%SZ"),
            outcome_word(a.outcome),
            terminal_safe(&path_of(a))
        )?;
        if let Some(target) = &a.target {
            writeln!(out, "       target: {}", terminal_safe(target))?;
        }
        if let Some(user) = &a.user {
            writeln!(out, "       user:   {}", terminal_safe(user))?;
        }
        if let Some(codes) = codes_line(a) {
            writeln!(out, "       codes:  {codes}")?;
        }
        for l in &a.events {
            let e = &analysis.timeline.events[l.index];
            let kind = e.catalog_entry().map_or("?", |c| c.kind);
            writeln!(
                out,
                "         {} {:<7} {:>5} {:<32} {}",
                l.corrected_time.format("%H:%M:%S%.3f"),
                l.role.as_str(),
                e.event_id,
                kind,
                terminal_safe(&fields_text(e))
            )?;
        }
        writeln!(out)?;
    }
    write_hosts(analysis, out)?;
    write_input_problems(analysis, out)
}

/// Hosts with roles and clock offsets.
pub fn write_hosts(analysis: &Analysis, out: &mut dyn Write) -> Result<()> {
    let hosts = &analysis.correlation.hosts;
    if hosts.is_empty() {
        return Ok(());
    }
    writeln!(out, "Hosts:")?;
    for h in hosts {
        let offset = match (h.clock_offset_seconds, &h.clock_reference) {
            (Some(o), Some(r)) if o != 0.0 => {
                format!(
                    "clock {:+.1} s vs {} ({} pairs)",
                    -o,
                    terminal_safe(r),
                    h.clock_samples
                )
            }
            (Some(_), _) => "clock in line with reference".to_string(),
            (None, _) => "clock offset unknown".to_string(),
        };
        writeln!(
            out,
            "  {:<28} {:<8} {:>6} events  {}",
            terminal_safe(&h.name),
            h.role.as_str(),
            h.events,
            offset
        )?;
    }
    Ok(())
}

/// Inputs that were skipped, partial or unreadable, with reasons; then a one-line total.
pub fn write_input_problems(analysis: &Analysis, out: &mut dyn Write) -> Result<()> {
    let inputs = &analysis.inputs;
    let problems: Vec<_> = inputs
        .iter()
        .filter(|i| i.status != InputStatus::Read)
        .collect();
    if !problems.is_empty() {
        writeln!(out, "Inputs not read cleanly:")?;
        for i in problems {
            let why = i
                .reason
                .as_deref()
                .or(i.first_error.as_deref())
                .unwrap_or("");
            writeln!(
                out,
                "  {:<10} {}  ({} read, {} failed) {}",
                format!("{:?}", i.status).to_lowercase(),
                terminal_safe(&i.path),
                i.records,
                i.failed_records,
                terminal_safe(why)
            )?;
        }
    }
    let records: u64 = inputs.iter().map(|i| i.records).sum();
    let relevant: u64 = inputs.iter().map(|i| i.relevant).sum();
    writeln!(
        out,
        "{} inputs, {} records read, {} relevant events, {} attempts.",
        inputs.len(),
        records,
        relevant,
        analysis.correlation.attempts.len()
    )
}

/// Evidence lines shown per verdict (the JSON report has them all).
const MAX_EVIDENCE_LINES: usize = 8;

/// Write the `analyze` view.
pub fn write_verdicts(analysis: &Analysis, out: &mut dyn Write) -> Result<()> {
    let attempts = &analysis.correlation.attempts;
    if attempts.is_empty() {
        writeln!(out, "No connection attempts found in the inputs.")?;
    }
    for a in attempts.iter().filter(|a| a.outcome == Outcome::Failed) {
        write_header(a, out)?;
        if let Some(v) = analysis.verdict_for(&a.id) {
            write_verdict(v, out)?;
        }
        writeln!(out)?;
    }
    write_summary(analysis, out)?;
    write_hosts(analysis, out)?;
    write_input_problems(analysis, out)
}

fn write_header(a: &Attempt, out: &mut dyn Write) -> Result<()> {
    writeln!(
        out,
        "{}  {}  {:<9}  {}",
        a.id,
        a.started.format("%Y-%m-%d %H:%M:%SZ"),
        outcome_word(a.outcome),
        terminal_safe(&path_of(a))
    )?;
    if let Some(user) = &a.user {
        writeln!(out, "    user:     {}", terminal_safe(user))?;
    }
    if let Some(codes) = codes_line(a) {
        writeln!(out, "    codes:    {codes}")?;
    }
    Ok(())
}

fn write_verdict(v: &Verdict, out: &mut dyn Write) -> Result<()> {
    writeln!(
        out,
        "    verdict:  {}  (confidence {:.2})",
        terminal_safe(&v.cause),
        v.confidence
    )?;
    writeln!(out, "              {}", terminal_safe(&v.title))?;
    for (i, line) in wrap(&terminal_safe(&v.explain), 88).into_iter().enumerate() {
        let label = if i == 0 { "why:" } else { "" };
        writeln!(out, "    {label:<9} {line}")?;
    }
    if !v.evidence.is_empty() {
        writeln!(out, "    evidence:")?;
    }
    for e in v.evidence.iter().take(MAX_EVIDENCE_LINES) {
        writeln!(
            out,
            "      {} {:<7} {} {} {}  {}",
            e.time.format("%H:%M:%S%.3f"),
            e.role.as_str(),
            terminal_safe(&e.host),
            terminal_safe(short_channel(&e.channel)),
            e.event_id,
            terminal_safe(&e.summary)
        )?;
        writeln!(out, "          [{}]", terminal_safe(&e.source.to_string()))?;
    }
    if v.evidence.len() > MAX_EVIDENCE_LINES {
        let more = v.evidence.len() - MAX_EVIDENCE_LINES;
        writeln!(out, "      … {more} more (see --format json)")?;
    }
    if !v.remediation.is_empty() {
        writeln!(out, "    fix:")?;
    }
    for (n, step) in v.remediation.iter().enumerate() {
        for (i, line) in wrap(&terminal_safe(&step.text), 84).into_iter().enumerate() {
            let num = if i == 0 {
                format!("{}.", n + 1)
            } else {
                String::new()
            };
            writeln!(out, "      {num:<3} {line}")?;
        }
        for c in &step.commands {
            writeln!(out, "          $ {}", terminal_safe(c))?;
        }
    }
    for alt in &v.alternatives {
        writeln!(
            out,
            "    also fired: {} (confidence {:.2}{})",
            terminal_safe(&alt.cause),
            alt.confidence,
            if alt.fallback { ", fallback" } else { "" }
        )?;
    }
    write_missing(v, out)
}

fn write_missing(v: &Verdict, out: &mut dyn Write) -> Result<()> {
    if v.missing_evidence.is_empty() {
        return Ok(());
    }
    writeln!(out, "    logs not supplied that would decide more:")?;
    for m in &v.missing_evidence {
        let host = m.host.as_deref().map_or_else(
            || format!("the {} (not identified)", m.role.as_str()),
            |h| format!("{} {}", m.role.as_str(), terminal_safe(h)),
        );
        writeln!(
            out,
            "      {host}: {}  (decides {})",
            terminal_safe(&m.channel),
            m.decides.join(", ")
        )?;
        writeln!(out, "          $ {}", terminal_safe(&m.command))?;
    }
    Ok(())
}

fn write_summary(analysis: &Analysis, out: &mut dyn Write) -> Result<()> {
    let attempts = &analysis.correlation.attempts;
    let failed = attempts
        .iter()
        .filter(|a| a.outcome == Outcome::Failed)
        .count();
    writeln!(
        out,
        "Summary: {} attempts, {failed} failed.",
        attempts.len()
    )?;
    let by_cause = super::json::failures_by_cause(analysis).unwrap_or_default();
    let mut rows: Vec<(&String, &usize)> = by_cause.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (cause, n) in rows {
        writeln!(out, "  {n:>5}  {}", terminal_safe(cause))?;
    }
    writeln!(out)
}

/// The channel without the `Microsoft-Windows-` prefix.
fn short_channel(channel: &str) -> &str {
    channel
        .strip_prefix("Microsoft-Windows-")
        .unwrap_or(channel)
}

/// Greedy word wrap.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}
