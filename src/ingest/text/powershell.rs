//! Reader for PowerShell `Get-WinEvent … | Format-List` output (KB §4.2(c)).
//!
//! Takes: records of `Name : value` lines, names padded so the values align after ` : `,
//! continuation lines indented to the value column, a blank line between records. Either the
//! default view (`TimeCreated`, `ProviderName`, `Id`, `Message`; `TimeCreated` in the session's
//! culture, e.g. `4/19/2023 10:11:07 AM`) or `Format-List *` (every `EventLogRecord` property:
//! `LogName`, `MachineName`, `RecordId`, `ActivityId`, `Level`, `Properties`, …). Blank lines
//! inside a message are kept when the message continues after them.
//! Produces: one [`TextRecord`] per record at its first property's line. Fields come from
//! `Properties` when it lists the values (`{Disconnect Reason, 2308, Info}`, as printed when the
//! values were selected), else from the message patterns (long values wrapped at the console
//! width are rejoined by the message table). The default view names no computer.

use super::grammar;
use super::lines::Lines;
use super::wevtutil::message_text;
use super::{Emitter, Payload, TextRecord, level_of, read_error, when_of};
use std::io::Read;

/// One property: its name, column and value lines.
struct Property {
    name: String,
    column: usize,
    lines: Vec<String>,
}

/// One record being collected.
#[derive(Default)]
struct Listing {
    start: u64,
    first: String,
    properties: Vec<Property>,
    blanks: usize,
}

impl Listing {
    /// A property's value, lines joined, each line kept whole (messages), or `None` when blank.
    fn raw(&self, name: &str) -> Option<String> {
        let p = self
            .properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))?;
        let text = message_text(&p.lines);
        (!text.trim().is_empty()).then_some(text)
    }

    /// A property's value, trimmed.
    fn get(&self, name: &str) -> Option<String> {
        self.raw(name).map(|v| v.trim().to_string())
    }

    fn has(&self, name: &str) -> bool {
        self.properties
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// A continuation line of the last property (blank lines in between kept).
    fn continue_with(&mut self, line: &str) -> bool {
        let blanks = std::mem::take(&mut self.blanks);
        let Some(last) = self.properties.last_mut() else {
            return false;
        };
        for _ in 0..blanks {
            last.lines.push(String::new());
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        let cut = if indent >= last.column {
            last.column
        } else {
            line.len() - line.trim_start().len()
        };
        last.lines.push(line[cut..].to_string());
        true
    }
}

/// Read every record.
pub fn read<R: Read>(lines: &mut Lines<R>, out: &mut Emitter<'_>) -> Result<(), String> {
    let mut current = Listing::default();
    let mut last = 0;
    for item in lines {
        let (n, line) = item.map_err(|e| read_error(last, &e))?;
        last = n;
        if line.trim().is_empty() {
            current.blanks += 1;
            continue;
        }
        if let Some((name, value, column)) = grammar::ps_property(&line) {
            let new_record =
                !current.properties.is_empty() && (current.blanks > 0 || current.has(name));
            if new_record {
                emit(std::mem::take(&mut current), out);
            }
            if current.properties.is_empty() {
                current.start = n;
                current.first = line.clone();
            }
            current.blanks = 0;
            current.properties.push(Property {
                name: name.to_string(),
                column,
                lines: vec![value.to_string()],
            });
            continue;
        }
        let indented = line.starts_with(' ') || line.starts_with('\t');
        if !(indented && current.continue_with(&line)) {
            out.fail(n, &line, "not a Format-List `Name : value` line");
        }
    }
    if !current.properties.is_empty() {
        emit(current, out);
    }
    Ok(())
}

/// `{Disconnect Reason, 2308, Info}` → the values; `None` for type names or a truncated list.
fn property_values(text: &str) -> Option<Vec<String>> {
    let inner = text.trim().strip_prefix('{')?.strip_suffix('}')?;
    if inner.contains("EventProperty") || inner.ends_with("...") || inner.ends_with('…') {
        return None;
    }
    Some(inner.split(", ").map(|v| v.trim().to_string()).collect())
}

fn emit(l: Listing, out: &mut Emitter<'_>) {
    let Some(id) = l.get("Id").and_then(|v| v.trim().parse::<u32>().ok()) else {
        return out.fail(l.start, &l.first, "the record has no numeric Id");
    };
    let mut rec = TextRecord::new(l.start);
    rec.event_id = Some(id);
    rec.provider = l.get("ProviderName").unwrap_or_default();
    rec.channel = l.get("LogName").unwrap_or_default();
    rec.host = l.get("MachineName").unwrap_or_default();
    rec.record_id = l.get("RecordId").and_then(|v| v.trim().parse().ok());
    rec.activity_id = l.get("ActivityId").and_then(|v| grammar::guid(&v));
    rec.level = l
        .get("Level")
        .or_else(|| l.get("LevelDisplayName"))
        .and_then(|v| level_of(&v));
    rec.when = when_of(&l.get("TimeCreated").unwrap_or_default());
    rec.payload = match l.get("Properties").and_then(|p| property_values(&p)) {
        Some(values) => Payload::Values(values),
        None => Payload::Message(l.raw("Message").unwrap_or_default()),
    };
    out.record(rec);
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::run;
    use super::property_values;
    use crate::event::FieldValue;
    use crate::source::InputFormat;

    const DEFAULT_VIEW: &str = "\r\n\r\nTimeCreated  : 4/19/2023 10:11:07 AM\r\nProviderName : Microsoft-Windows-TerminalServices-ClientActiveXCore\r\nId           : 1026\r\nMessage      : RDP ClientActiveX has been disconnected (Reason= 2308)\r\n\r\nTimeCreated  : 4/19/2023 10:10:41 AM\r\nProviderName : Microsoft-Windows-TerminalServices-ClientActiveXCore\r\nId           : 1024\r\nMessage      : RDP ClientActiveX is trying to connect to the server (rdsh01.contoso.c\r\n               om)\r\n\r\n";

    #[test]
    fn default_view() {
        let (events, report) = run(InputFormat::PowershellList, DEFAULT_VIEW, None);
        assert_eq!(
            (report.records, report.failed_records),
            (2, 0),
            "{report:?}"
        );
        assert_eq!(events[0].fields["Value"], FieldValue::UInt(2308));
        assert_eq!(
            &**events[0].channel(),
            "Microsoft-Windows-TerminalServices-RDPClient/Operational"
        );
        assert_eq!(events[0].source().to_string(), "t.txt:3");
        assert_eq!(
            events[1].fields["Value"],
            FieldValue::Text("rdsh01.contoso.com".into())
        );
        assert_eq!(events[1].time.to_rfc3339(), "2023-04-19T10:10:41+00:00");
        assert!(
            report
                .note
                .as_deref()
                .unwrap()
                .contains("names no computer")
        );
    }

    #[test]
    fn messages_with_blank_lines_stay_whole() {
        let text = "TimeCreated  : 5/14/2024 9:12:05 AM\nProviderName : Microsoft-Windows-TerminalServices-LocalSessionManager\nId           : 21\nMessage      : Remote Desktop Services: Session logon succeeded:\n               \n               User: CONTOSO\\alice\n\n               Session ID: 3\n               Source Network Address: 10.0.0.7\n";
        let (events, report) = run(InputFormat::PowershellList, text, None);
        assert_eq!(report.failed_records, 0, "{report:?}");
        assert_eq!(events[0].fields["SessionID"], FieldValue::UInt(3));
        assert_eq!(
            events[0].fields["Address"],
            FieldValue::Text("10.0.0.7".into())
        );
    }

    #[test]
    fn selected_property_values_are_named_by_template() {
        let text = "Id           : 1026\nProviderName : Microsoft-Windows-TerminalServices-ClientActiveXCore\nTimeCreated  : 2024-05-14 09:12:03\nMachineName  : WS1\nRecordId     : 42\nActivityId   : 76abef77-4bf3-4110-ac89-7cfe101b0000\nProperties   : {Disconnect Reason, 2308, Info}\nMessage      : (not used)\n";
        let (events, report) = run(InputFormat::PowershellList, text, None);
        assert_eq!(report.failed_records, 0, "{report:?}");
        let e = &events[0];
        assert_eq!(
            e.fields["Name"],
            FieldValue::Text("Disconnect Reason".into())
        );
        assert_eq!(e.fields["Value"], FieldValue::UInt(2308));
        assert_eq!((&**e.host(), e.record_id()), ("WS1", Some(42)));
        assert_eq!(
            e.activity_id.as_deref(),
            Some("{76abef77-4bf3-4110-ac89-7cfe101b0000}")
        );
    }

    #[test]
    fn lines_that_fit_nowhere_fail() {
        let text = "Id           : 1026\nnot a property\n\nId           : x\n";
        let (_, report) = run(InputFormat::PowershellList, text, None);
        assert_eq!(report.failed_records, 2, "{report:?}");
        assert_eq!(
            report.first_error.as_deref(),
            Some("line 2: not a property (not a Format-List `Name : value` line)")
        );
    }

    #[test]
    fn properties_lists() {
        assert_eq!(
            property_values("{Disconnect Reason, 2308, Info}").unwrap(),
            vec!["Disconnect Reason", "2308", "Info"]
        );
        assert!(property_values("{System.Diagnostics.Eventing.Reader.EventProperty, System.Diagnostics.Eventing.Reader.EventProperty}").is_none());
        assert!(property_values("{a, b, c, d...}").is_none());
    }
}
