//! The events timeline: `rdptriage events`.
//!
//! Takes: the timeline's events one at a time (from [`crate::spool::Sorted`]).
//! Produces: a CSV row per event (fields as `name=value` pairs, then the decoded code fields as
//! `name=NAME` pairs), or a terminal line per event (code fields decoded, optionally coloured and
//! wrapped). The JSONL form (one [`Event`] per line: `time`, `host`, `channel`, `provider`,
//! `event_id`, `level`, `record_id`, `activity_id`, `fields`, `source` — the shape rdptriage reads
//! back as input and the inline event shape of rule cases) is the spool's own text. The CSV's
//! `source_position` is `record N`, `line N`, or `recovered record N` for a record carved from
//! unallocated space (`"recovered": true` in the JSONL `source`).

use super::codes::event_codes;
use super::terminal::Style;
use super::{csv_cell, terminal_safe};
use crate::event::Event;
use std::io::{Result, Write};

/// Header of the CSV form.
pub const CSV_HEADER: &str = "time,host,channel,provider,event_id,kind,record_id,activity_id,fields,source_path,source_position,codes";

/// One event's CSV row (the columns of [`CSV_HEADER`]).
pub fn write_csv_row(e: &Event, out: &mut dyn Write) -> Result<()> {
    let kind = e.catalog_entry().map_or("", |c| c.kind);
    let position = match e.locator() {
        crate::event::Locator::Record(n) => format!("record {n}"),
        crate::event::Locator::Line(n) => format!("line {n}"),
        crate::event::Locator::Recovered(n) => format!("recovered record {n}"),
    };
    let row = [
        e.time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        e.host().to_string(),
        e.channel().to_string(),
        e.provider().to_string(),
        e.event_id.to_string(),
        kind.to_string(),
        e.record_id().map(|r| r.to_string()).unwrap_or_default(),
        e.activity_id.as_deref().unwrap_or_default().to_string(),
        fields_text(e),
        e.path().to_string(),
        position,
        codes_text(e),
    ];
    let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
    writeln!(out, "{}", cells.join(","))
}

/// `name=value; name=value` in field-name order.
pub fn fields_text(e: &Event) -> String {
    e.fields
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| format!("{k}={}", v.to_text()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `Value=disconnectReasonAtClientWinsockFDCLOSE; …`: the decoded code fields of an event.
fn codes_text(e: &Event) -> String {
    event_codes(e)
        .into_iter()
        .map(|(k, d)| format!("{k}={}", d.label()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What the readable timeline says when there is no event.
pub const NO_EVENTS: &str = "No relevant events found in the inputs.";

/// One event of the readable timeline (wrapped, code fields decoded), in `style`.
pub fn write_terminal_line(e: &Event, style: &Style, out: &mut dyn Write) -> Result<()> {
    let kind = e.catalog_entry().map_or("?", |c| c.kind);
    let head = format!(
        "{}  {:<24} {:>5} {:<34} ",
        e.time.format("%Y-%m-%d %H:%M:%S%.3fZ"),
        terminal_safe(e.host()),
        e.event_id,
        kind,
    );
    let fields = terminal_safe(&super::codes::fields_text(e));
    style.write_wrapped(out, (&head, None), &fields, None)
}
