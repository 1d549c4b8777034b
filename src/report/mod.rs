//! Stage 5: reports. Turns an [`crate::analysis::Analysis`] into bytes for people and programs.
//!
//! Takes: the finished analysis (it knows nothing of parsing or rules).
//! Produces: the JSON report and its JSONL form ([`json`], versioned, documented there; schema in
//! `docs/report.schema.json`), the events timeline ([`events`]: JSONL, CSV, terminal), the
//! terminal view of attempts and verdicts ([`terminal`], optionally coloured and wrapped), the
//! self-contained HTML report ([`html`]), the Markdown ticket summary ([`markdown`]) and the
//! one-row-per-attempt CSV ([`csv`]). Every code shown is decoded ([`codes`]).
//! Shared helpers here: CSV cell quoting with formula neutralising, terminal-safe text, the clock
//! wording of a host, and the event behind an evidence line.

pub mod codes;
pub mod csv;
pub mod events;
pub mod html;
pub mod json;
pub mod markdown;
mod pretty;
pub mod terminal;

use crate::analysis::Analysis;
use crate::attempt::{HostInfo, host_key};
use crate::event::Event;
use crate::verdict::Evidence;
use std::collections::BTreeSet;

/// The position in the timeline of the event an evidence line was taken from (found by its
/// logged time, host and source, the timeline's sort key).
pub fn evidence_index(analysis: &Analysis, e: &Evidence) -> Option<usize> {
    let events = &analysis.timeline.events;
    let key = (
        e.logged_time,
        &*e.origin.host,
        &*e.origin.path,
        e.place.locator().position(),
    );
    let i = events.binary_search_by(|x| x.sort_key().cmp(&key)).ok()?;
    let found = &events[i];
    (found.path() == &e.origin.path && found.locator() == e.place.locator()).then_some(i)
}

/// The event an evidence line was taken from.
pub fn evidence_event<'a>(analysis: &'a Analysis, e: &Evidence) -> Option<&'a Event> {
    evidence_index(analysis, e).map(|i| &analysis.timeline.events[i])
}

/// Failures per cause, most frequent first, then by cause id (empty when rules were not applied).
pub fn causes_by_count(analysis: &Analysis) -> Vec<(String, usize)> {
    let by_cause = json::failures_by_cause(analysis).unwrap_or_default();
    let mut rows: Vec<(String, usize)> = by_cause.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    rows
}

/// The channel without the `Microsoft-Windows-` prefix.
pub fn short_channel(channel: &str) -> &str {
    channel
        .strip_prefix("Microsoft-Windows-")
        .unwrap_or(channel)
}

/// `1 attempt`, `2 attempts`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The name of a host as logged, given its key (reference hosts are stored by key).
pub fn host_name<'a>(hosts: &'a [HostInfo], key: &'a str) -> &'a str {
    hosts
        .iter()
        .find(|h| host_key(&h.name) == key)
        .map_or(key, |h| h.name.as_str())
}

/// How a host's clock compares with its reference clock, in words: `reference clock`,
/// `clock 180.7 s ahead of WS-ALICE.contoso.local`, `… behind …`, `clock in line with …`, or
/// `collected as HOST-A, HOST-B`: the collection folders that name a host otherwise (see
/// [`crate::host_summary::HostSummary::collected_as`]); `None` when there are none.
pub fn collected_as_text(folders: &BTreeSet<String>) -> Option<String> {
    let names: Vec<&str> = folders.iter().map(String::as_str).collect();
    (!names.is_empty()).then(|| format!("collected as {}", names.join(", ")))
}

/// `name`, followed by `(collected as …)` when collection folders name it otherwise: the Host
/// cell of the Markdown and HTML tables (raw text: escape it for the format).
pub fn host_with_folders(name: &str, folders: &BTreeSet<String>) -> String {
    match collected_as_text(folders) {
        Some(folders) => format!("{name} ({folders})"),
        None => name.to_string(),
    }
}

/// `clock offset unknown`. Raw log text (host names): escape it for the output format.
pub fn clock_text(host: &HostInfo, hosts: &[HostInfo]) -> String {
    let (Some(offset), Some(reference)) = (host.clock_offset_seconds, &host.clock_reference) else {
        return "clock offset unknown (no event linked to another host)".to_string();
    };
    if *reference == host_key(&host.name) {
        return "reference clock".to_string();
    }
    let name = host_name(hosts, reference);
    // The offset is what to add to the host's clock: a negative one means the host is ahead.
    if offset < 0.0 {
        format!("clock {:.1} s ahead of {name}", -offset)
    } else if offset > 0.0 {
        format!("clock {offset:.1} s behind {name}")
    } else {
        format!("clock in line with {name}")
    }
}

/// Quote one CSV cell (RFC 4180) and neutralise spreadsheet formulas: a cell starting with
/// `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'` so it is shown as text.
pub fn csv_cell(text: &str) -> String {
    let neutral = match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    };
    if neutral.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", neutral.replace('"', "\"\""))
    } else {
        neutral
    }
}

/// Remove terminal control sequences and other control characters from log text before it is
/// printed (log fields are attacker-controlled). Newlines and tabs become spaces.
pub fn terminal_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            '\n' | '\t' | '\r' => out.push(' '),
            c if c.is_control() => {}
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {} // bidi overrides
            c => out.push(c),
        }
    }
    out
}

fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.peek() {
        Some('[') => {
            chars.next();
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        }
        Some(']') => {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '\u{7}' {
                    break;
                }
                if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                    chars.next();
                    break;
                }
            }
        }
        Some(_) => {
            chars.next();
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_neutralised() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("-2+3,x"), "\"'-2+3,x\"");
    }

    #[test]
    fn escape_sequences_are_stripped() {
        assert_eq!(terminal_safe("a\u{1b}[31mred\u{1b}[0m"), "ared");
        assert_eq!(terminal_safe("x\u{1b}]0;title\u{7}y"), "xy");
        assert_eq!(terminal_safe("line1\nline2\u{0}"), "line1 line2");
        assert_eq!(terminal_safe("ab\u{202e}cd"), "abcd");
    }
}
