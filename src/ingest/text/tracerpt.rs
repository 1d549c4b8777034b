//! Reader for `tracerpt x.etl -o x.csv -of CSV` (KB §4.2(d)), and the CSV record splitting shared
//! with the EvtxECmd reader.
//!
//! Takes: a header row `Event Name, Type, Event ID, Version, Channel, Level, Opcode, Task,
//! Keyword, PID, TID, Processor Number, Instance ID, Parent Instance ID, Activity ID, Related
//! Activity ID, Clock-Time, Kernel(ms), User(ms), User Data` (columns found by name, padding
//! spaces ignored), then one row per event: `Event Name` is the provider, `Clock-Time` a FILETIME
//! (UTC), and `User Data` with every column after it the payload values in template order
//! (strings quoted). Quoted fields may span lines.
//! Produces: one [`TextRecord`] per row (at the row's first line), with the values named by the
//! template table and the channel derived from the provider. The numeric `Channel` column is not
//! a channel name and is not used; tracerpt names no computer.

use super::grammar;
use super::lines::Lines;
use super::{Emitter, Payload, TextRecord, When, level_of, read_error};
use std::io::Read;

/// Longest CSV record assembled from several lines, in bytes; a longer one is failed.
const MAX_RECORD: usize = 4 << 20;

/// Yields whole CSV records (joining lines while a quoted field is open).
pub(crate) struct CsvRecords<'l, R> {
    lines: &'l mut Lines<R>,
    last: u64,
}

impl<'l, R: Read> CsvRecords<'l, R> {
    /// Records of `lines`.
    pub fn new(lines: &'l mut Lines<R>) -> Self {
        CsvRecords { lines, last: 0 }
    }

    /// The next non-blank record and its first line; `Err` on a read error.
    pub fn next_record(&mut self) -> Option<Result<(u64, String), String>> {
        let mut record: Option<(u64, String)> = None;
        loop {
            let (n, line) = match self.lines.next() {
                Some(Ok(item)) => item,
                Some(Err(e)) => return Some(Err(read_error(self.last, &e))),
                None => return record.map(Ok),
            };
            self.last = n;
            match &mut record {
                None if line.trim().is_empty() => continue,
                None => record = Some((n, line)),
                Some((_, text)) => {
                    text.push('\n');
                    text.push_str(&line);
                }
            }
            let (_, text) = record.as_ref()?;
            if !grammar::csv_open_quote(text) || text.len() > MAX_RECORD {
                return record.map(Ok);
            }
        }
    }
}

/// Column positions by header name (spaces and case ignored).
pub(crate) struct Columns(Vec<String>);

impl Columns {
    /// From the header row.
    pub fn new(header: &[String]) -> Self {
        Columns(header.iter().map(|h| key(h)).collect())
    }

    /// The position of `name`.
    pub fn find(&self, name: &str) -> Option<usize> {
        let k = key(name);
        self.0.iter().position(|c| *c == k)
    }

    /// The value of `name` in `row` (empty when absent).
    pub fn get<'r>(&self, row: &'r [String], name: &str) -> &'r str {
        self.find(name)
            .and_then(|i| row.get(i))
            .map_or("", String::as_str)
    }
}

fn key(name: &str) -> String {
    name.trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Read the header and every row.
pub fn read<R: Read>(lines: &mut Lines<R>, out: &mut Emitter<'_>) -> Result<(), String> {
    let mut records = CsvRecords::new(lines);
    let Some(header) = records.next_record() else {
        return Ok(());
    };
    let (n, header) = header?;
    let Some(columns) = grammar::csv_record(&header).map(|h| Columns::new(&h)) else {
        out.fail(n, &header, "not a CSV header");
        return Ok(());
    };
    let Some(user_data) = columns.find("User Data") else {
        out.fail(n, &header, "the header has no `User Data` column");
        return Ok(());
    };
    while let Some(record) = records.next_record() {
        let (n, text) = record?;
        match grammar::csv_record(&text) {
            Some(row) => row_record(n, &text, &row, &columns, user_data, out),
            None => out.fail(n, &text, "not a CSV row (unbalanced quotes)"),
        }
    }
    Ok(())
}

fn row_record(
    n: u64,
    text: &str,
    row: &[String],
    columns: &Columns,
    user_data: usize,
    out: &mut Emitter<'_>,
) {
    let id_text = columns.get(row, "Event ID");
    let event_id = if id_text.is_empty() {
        None
    } else {
        match id_text.parse::<u32>() {
            Ok(id) => Some(id),
            Err(_) => return out.fail(n, text, "the Event ID is not a number"),
        }
    };
    let mut rec = TextRecord::new(n);
    rec.event_id = Some(event_id.unwrap_or(0));
    rec.provider = columns.get(row, "Event Name").to_string();
    rec.level = level_of(columns.get(row, "Level"));
    rec.activity_id = grammar::guid(columns.get(row, "Activity ID"));
    let clock = columns.get(row, "Clock-Time");
    rec.when = match grammar::filetime(clock) {
        Some(t) => When::Utc(t),
        None => When::Missing(clock.to_string()),
    };
    let values: Vec<String> = row.get(user_data..).unwrap_or_default().to_vec();
    let only_blank = values.iter().all(|v| v.is_empty());
    rec.payload = if only_blank {
        Payload::Empty
    } else {
        Payload::Values(values)
    };
    out.record(rec);
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::run;
    use crate::event::FieldValue;
    use crate::source::InputFormat;

    const CSV: &str = "Event Name, Type, Event ID, Version, Channel, Level, Opcode, Task, Keyword, PID, TID, Processor Number, Instance ID, Parent Instance ID, Activity ID, Related Activity ID, Clock-Time, Kernel(ms), User(ms), User Data\r\nEventTrace, Header, 0, 2, 0, 0, 0, 0, 0x0000000000000000, 0x00000000, 0x00000000, 0, , , , , 133281913490000000, 0, 0, 65536, 167772165\r\nMicrosoft-Windows-TerminalServices-ClientActiveXCore, This event is raised during the disconnection process, 1026, 0, 16, 4, 11, 101, 0x4000000000000000, 0x00001A2C, 0x00000F10, 2, , , {76abef77-4bf3-4110-ac89-7cfe101b0000}, , 133282021511234567, 0, 0, \"Disconnect Reason\", 2308, \"Info\"\r\n";

    #[test]
    fn rows_become_events_with_template_names() {
        let (events, report) = run(InputFormat::TracerptCsv, CSV, None);
        assert_eq!(
            (report.records, report.failed_records),
            (2, 0),
            "{report:?}"
        );
        let e = &events[0];
        assert_eq!(e.event_id, 1026);
        assert_eq!(
            e.fields["Name"],
            FieldValue::Text("Disconnect Reason".into())
        );
        assert_eq!(e.fields["Value"], FieldValue::UInt(2308));
        assert_eq!(e.fields["CustomLevel"], FieldValue::Text("Info".into()));
        assert_eq!(e.time.to_rfc3339(), "2023-05-10T14:22:31.123456700+00:00");
        assert_eq!(
            e.activity_id.as_deref(),
            Some("{76abef77-4bf3-4110-ac89-7cfe101b0000}")
        );
        assert_eq!(e.source().to_string(), "t.txt:3");
        assert_eq!(report.time_basis.as_deref(), Some("utc"));
    }

    #[test]
    fn bad_rows_fail() {
        let text = format!("{}x, y, notanumber\r\n\"open\r\n", CSV);
        let (_, report) = run(InputFormat::TracerptCsv, &text, None);
        assert_eq!(report.failed_records, 2, "{report:?}");
        assert!(report.first_error.unwrap().starts_with("line 4: x, y"));
    }
}
