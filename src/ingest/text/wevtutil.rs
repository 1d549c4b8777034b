//! Reader for `wevtutil qe <log or file> /f:text` output (KB §4.2(b)).
//!
//! Takes: lines of `Event[N]:` blocks (also `Event[N]` without the colon): two-space-indented
//! `Key: value` lines (`Log Name`, `Source`, `Date`, `Event ID`, `Level`, `Computer`, …), then
//! `Description:` (possibly with a trailing space) and the message, unindented, up to the next
//! `Event[` header. Dates in the old local style (`2019-05-26T10:21:11.251`) or the new UTC one
//! (`2025-11-11T11:44:42.9510000Z`); level names may be localized (`信息`). A localized
//! `Description` label is tolerated: the first unindented line after the labels starts the message.
//! Produces: one [`TextRecord`] per block (at the header's line) with the message as payload, so
//! fields come from the message patterns (or from the insertion strings when the message says its
//! description cannot be found). wevtutil's text shows no record id and no activity id.

use super::grammar;
use super::lines::Lines;
use super::{Emitter, Payload, TextRecord, level_of, read_error, when_of};
use std::io::Read;

/// One `Event[N]` block being collected.
struct Block {
    start: u64,
    header: String,
    labels: Vec<(String, String)>,
    in_description: bool,
    message: Vec<String>,
}

impl Block {
    fn new(start: u64, header: String) -> Self {
        Block {
            start,
            header,
            labels: Vec::new(),
            in_description: false,
            message: Vec::new(),
        }
    }

    fn push(&mut self, line: String) {
        if self.in_description {
            self.message.push(line);
            return;
        }
        if let Some((key, value)) = grammar::indented_label(&line) {
            if key.eq_ignore_ascii_case("Description") {
                self.in_description = true;
                if !value.is_empty() {
                    self.message.push(value.to_string());
                }
            } else {
                self.labels.push((key.to_string(), value.to_string()));
            }
        } else if !line.trim().is_empty() {
            self.in_description = true;
            self.message.push(line);
        }
    }

    fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Read every block.
pub fn read<R: Read>(lines: &mut Lines<R>, out: &mut Emitter<'_>) -> Result<(), String> {
    let mut block: Option<Block> = None;
    let mut last = 0;
    for item in lines {
        let (n, line) = item.map_err(|e| read_error(last, &e))?;
        last = n;
        if grammar::event_header(&line).is_some() {
            if let Some(done) = block.replace(Block::new(n, line)) {
                emit(done, out);
            }
            continue;
        }
        match &mut block {
            Some(b) => b.push(line),
            None if line.trim().is_empty() => {}
            None => out.fail(n, &line, "text before the first Event[N] record"),
        }
    }
    if let Some(done) = block {
        emit(done, out);
    }
    Ok(())
}

/// The message with trailing blank lines removed.
pub(crate) fn message_text(lines: &[String]) -> String {
    let end = lines
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .map_or(0, |i| i + 1);
    lines[..end].join("\n")
}

fn emit(block: Block, out: &mut Emitter<'_>) {
    let Some(id_text) = block.label("Event ID") else {
        return out.fail(block.start, &block.header, "the record has no Event ID");
    };
    let Ok(event_id) = id_text.trim().parse::<u32>() else {
        return out.fail(block.start, &block.header, "the Event ID is not a number");
    };
    let mut rec = TextRecord::new(block.start);
    rec.event_id = Some(event_id);
    rec.channel = block.label("Log Name").unwrap_or_default().to_string();
    rec.provider = block.label("Source").unwrap_or_default().to_string();
    rec.host = block.label("Computer").unwrap_or_default().to_string();
    rec.level = block.label("Level").and_then(level_of);
    rec.when = when_of(block.label("Date").unwrap_or_default());
    rec.payload = Payload::Message(message_text(&block.message));
    out.record(rec);
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::run;
    use crate::event::FieldValue;
    use crate::source::InputFormat;

    const TWO: &str = "Event[0]:\r\n  Log Name: Microsoft-Windows-TerminalServices-RDPClient/Operational\r\n  Source: Microsoft-Windows-TerminalServices-ClientActiveXCore\r\n  Date: 2025-11-11T11:44:42.9510000Z\r\n  Event ID: 1026\r\n  Task: Connection Sequence\r\n  Level: 信息\r\n  Opcode: Info\r\n  Keyword: N/A\r\n  User: S-1-5-21-1111111111-2222222222-3333333333-1001\r\n  User Name: CONTOSO\\alice\r\n  Computer: client01.contoso.com\r\n  Description: \r\nRDP ClientActiveX has been disconnected (Reason= 2308)\r\n\r\nEvent[1]\r\n  Log Name: System\r\n  Source: Schannel\r\n  Date: 2019-05-26T10:21:11.251\r\n  Event ID: 36870\r\n  Level: Error\r\n  Computer: rdsh01\r\n  Description: \r\nA fatal error occurred when attempting to access the TLS server credential private key. The error code returned from the cryptographic module is 0x8009030D. The internal error state is 10001.\r\n";

    #[test]
    fn blocks_become_events() {
        let (events, report) = run(InputFormat::WevtutilText, TWO, None);
        assert_eq!(report.records, 2, "{report:?}");
        assert_eq!(report.failed_records, 0);
        assert_eq!(events.len(), 2);
        let client = &events[0];
        assert_eq!(client.event_id, 1026);
        assert_eq!(client.level, Some(4));
        assert_eq!(&**client.host(), "client01.contoso.com");
        assert_eq!(client.fields["Value"], FieldValue::UInt(2308));
        assert_eq!(client.time.to_rfc3339(), "2025-11-11T11:44:42.951+00:00");
        assert_eq!(client.source().to_string(), "t.txt:1");
        let tls = &events[1];
        assert_eq!(tls.source().to_string(), "t.txt:16");
        assert_eq!(tls.fields["ErrorCode"], FieldValue::Hex(0x8009030D));
        assert_eq!(tls.fields["ErrorStatus"], FieldValue::UInt(10001));
        assert_eq!(report.time_basis.as_deref(), Some("assumed-utc"));
        assert!(report.note.as_deref().unwrap().contains("taken as UTC"));
    }

    #[test]
    fn records_without_event_id_fail_with_their_line() {
        let text = "junk before\nEvent[0]:\n  Log Name: System\n  Description:\nx\n";
        let (events, report) = run(InputFormat::WevtutilText, text, None);
        assert!(events.is_empty());
        assert_eq!(report.failed_records, 2);
        assert_eq!(
            report.first_error.as_deref(),
            Some("line 1: junk before (text before the first Event[N] record)")
        );
    }
}
