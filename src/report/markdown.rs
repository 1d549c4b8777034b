//! `analyze --format markdown`: a summary to paste into a ticket or an incident report.
//!
//! Takes: an [`Analysis`] with verdicts.
//! Produces: CommonMark with GitHub tables. A title line with the totals; per failed attempt a
//! section with what failed (path, user, decoded codes), why (cause, title, confidence,
//! explanation), the fix (numbered steps, commands in fenced blocks), the evidence (a table:
//! time on the reference clock, machine, log and event, fields with decoded codes, source file
//! and record), the other causes that fired and the logs not supplied with their export
//! commands; then failures by cause, hosts (role, events, clock) and inputs. Log text is
//! attacker-controlled: [`escape`] makes it literal text (Markdown-significant characters and
//! table pipes backslash-escaped, control characters and line breaks removed) and code blocks
//! get a fence longer than any run of backticks inside them.

use super::codes::fields_text;
use super::terminal::path_of;
use super::{causes_by_count, clock_text, evidence_event, short_channel, terminal_safe};
use crate::analysis::Analysis;
use crate::attempt::{Attempt, Outcome};
use crate::verdict::Verdict;
use std::io::{Result, Write};

/// Log text as literal Markdown inline text, safe in a table cell.
pub fn escape(text: &str) -> String {
    let clean = terminal_safe(text);
    let mut out = String::with_capacity(clean.len());
    for c in clean.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '$' | '#' | '!'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A fenced code block holding `lines` (each made single-line and free of control characters).
pub fn code_block(lines: &[String], indent: &str) -> String {
    let lines: Vec<String> = lines.iter().map(|l| terminal_safe(l)).collect();
    let longest = lines
        .iter()
        .flat_map(|l| l.split(|c| c != '`').map(str::len))
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let mut out = format!("{indent}{fence}\n");
    for l in lines {
        out.push_str(&format!("{indent}{l}\n"));
    }
    out.push_str(&format!("{indent}{fence}\n"));
    out
}

/// Write the Markdown report.
pub fn write(analysis: &Analysis, out: &mut dyn Write) -> Result<()> {
    let attempts = &analysis.correlation.attempts;
    let failed: Vec<&Attempt> = attempts
        .iter()
        .filter(|a| a.outcome == Outcome::Failed)
        .collect();
    writeln!(out, "# Remote Desktop connection failures\n")?;
    let records: u64 = analysis.inputs.iter().map(|i| i.records).sum();
    writeln!(
        out,
        "{} failed of {}, from {} ({}). \
         Report by rdptriage {}; times are UTC on the reference clock (host clock offsets applied).\n",
        failed.len(),
        super::plural(attempts.len(), "connection attempt"),
        super::plural(analysis.inputs.len(), "log file"),
        super::plural(records as usize, "record"),
        env!("CARGO_PKG_VERSION")
    )?;
    if attempts.is_empty() {
        writeln!(out, "No connection attempts were found in the logs.\n")?;
    }
    for a in failed {
        write_attempt(analysis, a, out)?;
    }
    write_causes(analysis, out)?;
    write_hosts(analysis, out)?;
    write_inputs(analysis, out)
}

fn write_attempt(analysis: &Analysis, a: &Attempt, out: &mut dyn Write) -> Result<()> {
    writeln!(
        out,
        "## {}: failed at {}\n",
        escape(&a.id),
        a.started.format("%Y-%m-%d %H:%M:%SZ")
    )?;
    writeln!(out, "- **Connection:** {}", escape(&path_of(a)))?;
    if let Some(t) = &a.target {
        writeln!(out, "- **Target typed:** {}", escape(t))?;
    }
    if let Some(u) = &a.user {
        writeln!(out, "- **User:** {}", escape(u))?;
    }
    if let Some(c) = super::terminal::codes_line(a) {
        writeln!(out, "- **Codes:** {}", escape(&c))?;
    }
    writeln!(out)?;
    match analysis.verdict_for(&a.id) {
        Some(v) => write_verdict(analysis, v, out),
        None => writeln!(out, "No verdict (rules were not applied).\n"),
    }
}

fn write_verdict(analysis: &Analysis, v: &Verdict, out: &mut dyn Write) -> Result<()> {
    writeln!(
        out,
        "### Why: {}\n\nCause **{}**, confidence {:.2}.\n\n{}\n",
        escape(&v.title),
        escape(&v.cause),
        v.confidence,
        escape(&v.explain)
    )?;
    if !v.remediation.is_empty() {
        writeln!(out, "### Fix\n")?;
    }
    for (n, step) in v.remediation.iter().enumerate() {
        writeln!(out, "{}. {}", n + 1, escape(&step.text))?;
        if !step.commands.is_empty() {
            writeln!(out)?;
            write!(out, "{}", code_block(&step.commands, "   "))?;
        }
        writeln!(out)?;
    }
    if !v.evidence.is_empty() {
        writeln!(out, "### Evidence\n")?;
        writeln!(out, "| Time | Machine | Log, event | Details | Source |")?;
        writeln!(out, "|---|---|---|---|---|")?;
    }
    for e in &v.evidence {
        let fields = evidence_event(analysis, e).map_or_else(|| e.summary.clone(), fields_text);
        writeln!(
            out,
            "| {} | {} {} | {} {} | {} | {} |",
            e.time.format("%H:%M:%S%.3f"),
            e.role.as_str(),
            escape(&e.origin.host),
            escape(short_channel(&e.origin.channel)),
            e.event_id,
            escape(&fields),
            escape(&e.source().to_string())
        )?;
    }
    if !v.evidence.is_empty() {
        writeln!(out)?;
    }
    if !v.alternatives.is_empty() {
        writeln!(out, "### Other causes that fired\n")?;
    }
    for alt in &v.alternatives {
        writeln!(
            out,
            "- **{}**: {} (confidence {:.2}{})",
            escape(&alt.cause),
            escape(&alt.title),
            alt.confidence,
            if alt.fallback { ", fallback" } else { "" }
        )?;
    }
    if !v.alternatives.is_empty() {
        writeln!(out)?;
    }
    write_missing(v, out)
}

fn write_missing(v: &Verdict, out: &mut dyn Write) -> Result<()> {
    if v.missing_evidence.is_empty() {
        return Ok(());
    }
    writeln!(out, "### Logs not supplied that would decide more\n")?;
    writeln!(out, "| Machine | Log | Would confirm or rule out |")?;
    writeln!(out, "|---|---|---|")?;
    for m in v.missing_evidence.iter() {
        let machine = m.host.as_deref().map_or_else(
            || format!("the {} (not identified)", m.role.as_str()),
            |h| format!("{} {}", m.role.as_str(), h),
        );
        writeln!(
            out,
            "| {} | {} | {} |",
            escape(&machine),
            escape(&m.channel),
            escape(&m.decides.join(", "))
        )?;
    }
    writeln!(out, "\nExport them on those machines (as administrator):\n")?;
    let commands: Vec<String> = v
        .missing_evidence
        .iter()
        .map(|m| m.command.clone())
        .collect();
    writeln!(out, "{}", code_block(&commands, ""))
}

fn write_causes(analysis: &Analysis, out: &mut dyn Write) -> Result<()> {
    let rows = causes_by_count(analysis);
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(out, "## Failures by cause\n")?;
    writeln!(out, "| Cause | Failed attempts |")?;
    writeln!(out, "|---|---:|")?;
    for (cause, n) in rows {
        writeln!(out, "| {} | {n} |", escape(&cause))?;
    }
    writeln!(out)
}

fn write_hosts(analysis: &Analysis, out: &mut dyn Write) -> Result<()> {
    let hosts = &analysis.correlation.hosts;
    let summaries = crate::host_summary::host_summaries(analysis);
    if summaries.is_empty() {
        return Ok(());
    }
    writeln!(out, "## Hosts\n")?;
    writeln!(
        out,
        "| Host | Role | Files | Records | Events | Attempts | Failed | Failures by cause | Clock |"
    )?;
    writeln!(out, "|---|---|---:|---:|---:|---:|---:|---|---|")?;
    for summary in &summaries {
        let key = crate::attempt::host_key(&summary.name);
        let info = hosts
            .iter()
            .find(|h| crate::attempt::host_key(&h.name) == key);
        let causes: Vec<String> = summary
            .failures_by_cause
            .iter()
            .map(|(cause, n)| format!("{cause} ×{n}"))
            .collect();
        let name = super::host_with_folders(&summary.name, &summary.collected_as);
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            escape(&name),
            info.map_or("-", |h| h.role.as_str()),
            summary.files,
            summary.records,
            summary.relevant_events,
            summary.attempts,
            summary.failed_attempts,
            escape(&causes.join(", ")),
            info.map_or_else(
                || "no relevant events in its logs".to_string(),
                |h| escape(&clock_text(h, hosts))
            )
        )?;
    }
    writeln!(out)
}

fn write_inputs(analysis: &Analysis, out: &mut dyn Write) -> Result<()> {
    writeln!(out, "## Inputs\n")?;
    writeln!(
        out,
        "| File | Host | Status | Records | Relevant | Failed | Note |"
    )?;
    writeln!(out, "|---|---|---|---:|---:|---:|---|")?;
    for i in &analysis.inputs {
        let note = i.remark();
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            escape(&i.path),
            escape(i.host.as_deref().unwrap_or("")),
            format!("{:?}", i.status).to_lowercase(),
            i.records,
            i.relevant,
            i.failed_records,
            escape(&note)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_text_is_literal() {
        assert_eq!(
            escape("<script>a|b</script> *x* [l](u)\n`c`"),
            "\\<script\\>a\\|b\\</script\\> \\*x\\* \\[l\\](u) \\`c\\`"
        );
    }

    #[test]
    fn code_fence_outgrows_backticks() {
        let block = code_block(&["a ```` b".to_string()], "");
        assert!(block.starts_with("`````\n"), "{block}");
    }
}
