//! The `analyze` terminal view: one block per failed attempt, then a summary, hosts and inputs.
//!
//! Takes: an [`Analysis`] with verdicts and a [`Style`].
//! Produces: per failed attempt its header (id, start, path, user, decoded codes), the verdict
//! (cause, confidence, title, explanation), up to [`MAX_EVIDENCE_LINES`] evidence lines (time on
//! the reference clock, role, host, channel, event id, fields with decoded codes, and the source
//! file and record), the fix with its commands, the other causes that fired and the logs not
//! supplied with their export commands; then failures by cause, hosts and input problems.

use super::style::{Style, Tone};
use super::{write_attempt_line, write_codes, write_hosts_styled, write_input_problems_styled};
use crate::analysis::Analysis;
use crate::attempt::{Attempt, Outcome};
use crate::report::codes::fields_text;
use crate::report::{causes_by_count, evidence_event, short_channel, terminal_safe};
use crate::verdict::{Evidence, Verdict};
use std::io::{Result, Write};

/// Evidence lines shown per verdict (the JSON report has them all).
pub const MAX_EVIDENCE_LINES: usize = 8;

/// Write the `analyze` view (plain).
pub fn write_verdicts(analysis: &Analysis, out: &mut dyn Write) -> Result<()> {
    write_verdicts_styled(analysis, &Style::plain(), out)
}

/// Write the `analyze` view in `style`.
pub fn write_verdicts_styled(
    analysis: &Analysis,
    style: &Style,
    out: &mut dyn Write,
) -> Result<()> {
    let attempts = &analysis.correlation.attempts;
    if attempts.is_empty() {
        writeln!(out, "No connection attempts found in the inputs.")?;
    }
    for a in attempts.iter().filter(|a| a.outcome == Outcome::Failed) {
        write_header(a, style, out)?;
        if let Some(v) = analysis.verdict_for(&a.id) {
            write_verdict(analysis, v, style, out)?;
        }
        writeln!(out)?;
    }
    write_summary(analysis, style, out)?;
    write_hosts_styled(analysis, style, out)?;
    write_input_problems_styled(analysis, style, out)
}

fn label(text: &str) -> (&str, Option<Tone>) {
    (text, Some(Tone::Dim))
}

fn write_header(a: &Attempt, style: &Style, out: &mut dyn Write) -> Result<()> {
    write_attempt_line(a, style, out)?;
    if let Some(user) = &a.user {
        style.write_wrapped(out, label("    user:     "), &terminal_safe(user), None)?;
    }
    write_codes(a, "    codes:    ", style, out)
}

fn write_verdict(
    analysis: &Analysis,
    v: &Verdict,
    style: &Style,
    out: &mut dyn Write,
) -> Result<()> {
    writeln!(
        out,
        "{}{}  (confidence {:.2})",
        style.paint("    verdict:  ", Tone::Dim),
        style.paint(&terminal_safe(&v.cause), Tone::Magenta),
        v.confidence
    )?;
    let pad = "              ";
    style.write_wrapped(out, (pad, None), &terminal_safe(&v.title), Some(Tone::Bold))?;
    style.write_wrapped(
        out,
        label("    why:      "),
        &terminal_safe(&v.explain),
        None,
    )?;
    if !v.evidence.is_empty() {
        writeln!(out, "{}", style.paint("    evidence:", Tone::Dim))?;
    }
    for e in v.evidence.iter().take(MAX_EVIDENCE_LINES) {
        write_evidence(analysis, e, style, out)?;
    }
    let unlisted = v.evidence.len().saturating_sub(MAX_EVIDENCE_LINES) + v.evidence_omitted;
    if unlisted > 0 {
        writeln!(
            out,
            "      … {unlisted} more matching events (the closest are listed; see --format json or html)"
        )?;
    }
    write_fix(v, style, out)?;
    for alt in &v.alternatives {
        let text = format!(
            "{} (confidence {:.2}{})",
            terminal_safe(&alt.cause),
            alt.confidence,
            if alt.fallback { ", fallback" } else { "" }
        );
        style.write_wrapped(out, label("    also fired: "), &text, None)?;
    }
    write_missing(v, style, out)
}

fn write_evidence(
    analysis: &Analysis,
    e: &Evidence,
    style: &Style,
    out: &mut dyn Write,
) -> Result<()> {
    let time = format!("      {} ", e.time.format("%H:%M:%S%.3f"));
    let head = format!(
        "{:<7} {}  event {} {}",
        e.role.as_str(),
        terminal_safe(&e.origin.host),
        e.event_id,
        terminal_safe(short_channel(&e.origin.channel)),
    );
    style.write_wrapped(out, (&time, None), &head, Some(Tone::Bold))?;
    let fields = evidence_event(analysis, e).map_or_else(|| e.summary.clone(), fields_text);
    style.write_wrapped(out, ("          ", None), &terminal_safe(&fields), None)?;
    let source = format!("[{}]", terminal_safe(&e.source().to_string()));
    style.write_wrapped(out, ("          ", None), &source, Some(Tone::Dim))
}

fn write_fix(v: &Verdict, style: &Style, out: &mut dyn Write) -> Result<()> {
    if !v.remediation.is_empty() {
        writeln!(out, "{}", style.paint("    fix:", Tone::Dim))?;
    }
    for (n, step) in v.remediation.iter().enumerate() {
        let num = format!("      {:<3} ", format!("{}.", n + 1));
        style.write_wrapped(out, (&num, None), &terminal_safe(&step.text), None)?;
        for c in &step.commands {
            write_command(c, style, out)?;
        }
    }
    Ok(())
}

/// A command on one line (never wrapped, so it can be copied), after `$`.
fn write_command(command: &str, style: &Style, out: &mut dyn Write) -> Result<()> {
    writeln!(
        out,
        "          $ {}",
        style.paint(&terminal_safe(command), Tone::Cyan)
    )
}

fn write_missing(v: &Verdict, style: &Style, out: &mut dyn Write) -> Result<()> {
    if v.missing_evidence.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "{}",
        style.paint("    logs not supplied that would decide more:", Tone::Dim)
    )?;
    for m in v.missing_evidence.iter() {
        let host = m.host.as_deref().map_or_else(
            || format!("the {} (not identified)", m.role.as_str()),
            |h| format!("{} {}", m.role.as_str(), terminal_safe(h)),
        );
        let text = format!(
            "{host}: {}  (decides {})",
            terminal_safe(&m.channel),
            terminal_safe(&m.decides.join(", "))
        );
        style.write_wrapped(out, ("      ", None), &text, None)?;
        write_command(&m.command, style, out)?;
    }
    Ok(())
}

fn write_summary(analysis: &Analysis, style: &Style, out: &mut dyn Write) -> Result<()> {
    let attempts = &analysis.correlation.attempts;
    let failed = attempts
        .iter()
        .filter(|a| a.outcome == Outcome::Failed)
        .count();
    writeln!(
        out,
        "{}",
        style.paint(
            &format!(
                "Summary: {}, {failed} failed.",
                crate::report::plural(attempts.len(), "attempt")
            ),
            Tone::Bold
        )
    )?;
    for (cause, n) in causes_by_count(analysis) {
        writeln!(out, "  {n:>5}  {}", terminal_safe(&cause))?;
    }
    writeln!(out)
}
