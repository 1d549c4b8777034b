//! `analyze --format csv`: one row per attempt, for spreadsheets and ticket attachments.
//!
//! Takes: an [`Analysis`] (with verdicts when rules were applied).
//! Produces: a header row ([`HEADER`]) and one row per attempt in attempt order: id, start and end
//! (RFC 3339 UTC, reference clock), client, client address, gateway, server, target, user,
//! outcome, the primary and extended codes in decimal and hex with their decoded names, where the
//! extended code came from, the verdict's cause, confidence and title, its first evidence line,
//! and the logs not supplied (`role host: channel`, `; `-separated). Attempts that did not fail
//! have empty verdict cells. Every cell goes through [`csv_cell`] (quoting, and formula
//! neutralising: a cell starting with `=`, `+`, `-` or `@` gets a leading `'`), and log text
//! through [`terminal_safe`] (no control characters or line breaks inside a row).

use super::codes::{self as decode, DecodedCode};
use super::{csv_cell, terminal_safe};
use crate::analysis::Analysis;
use crate::attempt::Attempt;
use crate::verdict::{Evidence, MissingLog, Verdict};
use chrono::SecondsFormat;
use std::io::{Result, Write};

/// The header row.
pub const HEADER: &str = "id,started,ended,client,client_address,gateway,server,target,user,\
outcome,primary,primary_hex,primary_name,extended,extended_hex,extended_name,extended_source,\
cause,confidence,title,first_evidence,missing_logs";

/// Write the header and one row per attempt.
pub fn write(analysis: &Analysis, out: &mut dyn Write) -> Result<()> {
    writeln!(out, "{HEADER}")?;
    for a in &analysis.correlation.attempts {
        let cells = row(analysis, a);
        let cells: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        writeln!(out, "{}", cells.join(","))?;
    }
    Ok(())
}

fn row(analysis: &Analysis, a: &Attempt) -> Vec<String> {
    let time = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    let text = |s: &Option<String>| s.as_deref().map(terminal_safe).unwrap_or_default();
    let c = &a.codes;
    let mut cells = vec![
        a.id.clone(),
        time(a.started),
        a.ended.map(time).unwrap_or_default(),
        text(&a.client),
        text(&a.client_address),
        text(&a.gateway),
        text(&a.server),
        text(&a.target),
        text(&a.user),
        format!("{:?}", a.outcome).to_lowercase(),
    ];
    cells.extend(code_cells(c.primary, decode::primary(c)));
    cells.extend(code_cells(c.extended, decode::extended(c)));
    cells.push(c.extended_source.clone().unwrap_or_default());
    cells.extend(verdict_cells(analysis, analysis.verdict_for(&a.id)));
    cells
}

fn code_cells(value: Option<u64>, decoded: Option<DecodedCode>) -> [String; 3] {
    match value {
        None => Default::default(),
        Some(v) => [
            v.to_string(),
            format!("0x{v:X}"),
            decoded.map(|d| d.label().to_string()).unwrap_or_default(),
        ],
    }
}

fn verdict_cells(analysis: &Analysis, v: Option<&Verdict>) -> [String; 5] {
    let Some(v) = v else {
        return Default::default();
    };
    [
        terminal_safe(&v.cause),
        format!("{:.2}", v.confidence),
        terminal_safe(&v.title),
        v.evidence
            .first()
            .map(|e| evidence_text(analysis, e))
            .unwrap_or_default(),
        missing_text(&v.missing_evidence),
    ]
}

/// `09:12:04.002 server RDSH01 LocalSessionManager/Operational 36: Name=value; … [file record 8]`.
pub fn evidence_text(analysis: &Analysis, e: &Evidence) -> String {
    let fields = super::evidence_event(analysis, e)
        .map(decode::fields_text)
        .unwrap_or_else(|| e.summary.clone());
    terminal_safe(&format!(
        "{} {} {} {} {}: {} [{}]",
        e.time.to_rfc3339_opts(SecondsFormat::Millis, true),
        e.role.as_str(),
        e.origin.host,
        e.origin.channel,
        e.event_id,
        fields,
        e.source()
    ))
}

fn missing_text(missing: &[MissingLog]) -> String {
    let parts: Vec<String> = missing
        .iter()
        .map(|m| match &m.host {
            Some(h) => format!("{} {}: {}", m.role.as_str(), h, m.channel),
            None => format!("{}: {}", m.role.as_str(), m.channel),
        })
        .collect();
    terminal_safe(&parts.join("; "))
}
