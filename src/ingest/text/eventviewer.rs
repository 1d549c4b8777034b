//! Reader for Event Viewer's "Copy → Copy details as text" (Friendly View; KB §4.2(a)).
//!
//! Takes: one or more pasted events, each starting at a padded `Log Name:      …` line, then
//! `Source:`, `Date:` (the viewer's local time and locale, e.g. `6/24/2020 7:26:58 PM`),
//! `Event ID:`, `Task Category:`, `Level:`, `Keywords:`, `User:`, `Computer:`, then
//! `Description:` and the message lines, and optionally `Event Xml:` with the event's XML.
//! Produces: one [`TextRecord`] per event at its `Log Name:` line. With the XML block, the fields
//! and the System values (UTC `SystemTime`, record id, activity id, channel, computer) come from
//! the XML, exactly as from an XML export; without it, fields come from the message patterns, or
//! from the raw insertion strings of the "The description for Event ID N from source X cannot be
//! found … The following information was included with the event:" variant.

use super::event_xml;
use super::grammar;
use super::lines::Lines;
use super::wevtutil::message_text;
use super::{Emitter, Payload, TextRecord, When, level_of, read_error, when_of};
use std::io::Read;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Stage {
    Labels,
    Description,
    Xml,
    XmlDone,
}

/// One pasted event being collected.
struct Pasted {
    start: u64,
    first: String,
    labels: Vec<(String, String)>,
    message: Vec<String>,
    xml: String,
    stage: Stage,
}

impl Pasted {
    fn new(start: u64, first: String, value: &str) -> Self {
        Pasted {
            start,
            first,
            labels: vec![("Log Name".into(), value.to_string())],
            message: Vec::new(),
            xml: String::new(),
            stage: Stage::Labels,
        }
    }

    fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Take a line; `Err` with a reason when it fits nowhere.
    fn push(&mut self, line: String) -> Result<(), &'static str> {
        match self.stage {
            Stage::Labels => {
                if let Some((key, value)) = grammar::padded_label(&line) {
                    if key.eq_ignore_ascii_case("Description") {
                        self.stage = Stage::Description;
                        if !value.is_empty() {
                            self.message.push(value.to_string());
                        }
                    } else {
                        self.labels.push((key.to_string(), value.to_string()));
                    }
                } else if !line.trim().is_empty() {
                    return Err("not a `Label: value` line of the event header");
                }
            }
            Stage::Description if line.trim() == "Event Xml:" => self.stage = Stage::Xml,
            Stage::Description => self.message.push(line),
            Stage::Xml => {
                self.xml.push_str(&line);
                self.xml.push('\n');
                if line.trim_end().ends_with("</Event>") {
                    self.stage = Stage::XmlDone;
                }
            }
            Stage::XmlDone if line.trim().is_empty() => {}
            Stage::XmlDone => return Err("text after the event's XML"),
        }
        Ok(())
    }
}

/// Read every pasted event.
pub fn read<R: Read>(lines: &mut Lines<R>, out: &mut Emitter<'_>) -> Result<(), String> {
    let mut current: Option<Pasted> = None;
    let mut last = 0;
    for item in lines {
        let (n, line) = item.map_err(|e| read_error(last, &e))?;
        last = n;
        let starts = current.as_ref().is_none_or(|p| p.stage != Stage::Xml)
            && grammar::padded_label(&line).is_some_and(|(k, _)| k == "Log Name");
        if starts {
            let value = grammar::padded_label(&line)
                .map_or("", |(_, v)| v)
                .to_string();
            if let Some(done) = current.replace(Pasted::new(n, line, &value)) {
                emit(done, out);
            }
            continue;
        }
        match &mut current {
            Some(p) => {
                if let Err(why) = p.push(line.clone()) {
                    out.fail(n, &line, why);
                }
            }
            None if line.trim().is_empty() => {}
            None => out.fail(n, &line, "text before the first `Log Name:` line"),
        }
    }
    if let Some(done) = current {
        emit(done, out);
    }
    Ok(())
}

fn emit(p: Pasted, out: &mut Emitter<'_>) {
    let mut rec = TextRecord::new(p.start);
    rec.channel = p.label("Log Name").unwrap_or_default().to_string();
    rec.provider = p.label("Source").unwrap_or_default().to_string();
    rec.host = p.label("Computer").unwrap_or_default().to_string();
    rec.level = p.label("Level").and_then(level_of);
    rec.when = when_of(p.label("Date").unwrap_or_default());
    rec.event_id = p.label("Event ID").and_then(|v| v.trim().parse().ok());
    rec.payload = Payload::Message(message_text(&p.message));
    if !p.xml.is_empty() {
        match event_xml::parse(&p.xml) {
            Ok(xml) => apply_xml(&mut rec, xml),
            Err(why) => out.note(&format!(
                "an Event Xml block could not be read ({why}); the fields of that event were \
                 read from its description"
            )),
        }
    }
    if rec.event_id.is_none() {
        return out.fail(p.start, &p.first, "the event has no Event ID");
    }
    out.record(rec);
}

/// The XML block is the better source: take its System values and its fields.
fn apply_xml(rec: &mut TextRecord, xml: event_xml::EventXml) {
    if let Some(id) = xml.event_id {
        rec.event_id = Some(id);
    }
    if let Some(p) = xml.provider {
        rec.provider = p;
    }
    if let Some(c) = xml.channel {
        rec.channel = c;
    }
    if let Some(h) = xml.computer {
        rec.host = h;
    }
    rec.level = xml.level.or(rec.level);
    rec.record_id = xml.record_id;
    rec.activity_id = xml.activity_id;
    if let Some(t) = xml
        .system_time
        .as_deref()
        .and_then(crate::ingest::parse_system_time)
    {
        rec.when = When::Utc(t);
    }
    rec.payload = Payload::Fields(xml.fields);
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::run;
    use crate::event::FieldValue;
    use crate::source::InputFormat;

    const WITH_XML: &str = r#"Log Name:      Microsoft-Windows-TerminalServices-RDPClient/Operational
Source:        Microsoft-Windows-TerminalServices-ClientActiveXCore
Date:          6/24/2020 7:26:58 PM
Event ID:      1026
Task Category: Connection Sequence
Level:         Information
Keywords:      
User:          client-machine\Arnold
Computer:      client-machine
Description:
RDP ClientActiveX has been disconnected (Reason= 2308)
Event Xml:
<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
  <System>
    <Provider Name="Microsoft-Windows-TerminalServices-ClientActiveXCore" Guid="{28aa95bb-d444-4719-a36f-40462168127e}" />
    <EventID>1026</EventID>
    <Level>4</Level>
    <TimeCreated SystemTime="2020-06-24T23:26:58.1234567Z" />
    <EventRecordID>77</EventRecordID>
    <Correlation ActivityID="{76abef77-4bf3-4110-ac89-7cfe101b0000}" />
    <Channel>Microsoft-Windows-TerminalServices-RDPClient/Operational</Channel>
    <Computer>client-machine</Computer>
  </System>
  <EventData>
    <Data Name="Name">Disconnect Reason</Data>
    <Data Name="Value">2308</Data>
    <Data Name="CustomLevel">Info</Data>
  </EventData>
</Event>
"#;

    #[test]
    fn xml_block_wins() {
        let (events, report) = run(InputFormat::EventviewerText, WITH_XML, None);
        assert_eq!(
            (report.records, report.failed_records),
            (1, 0),
            "{report:?}"
        );
        let e = &events[0];
        assert_eq!(e.time.to_rfc3339(), "2020-06-24T23:26:58.123456700+00:00");
        assert_eq!(e.record_id(), Some(77));
        assert_eq!(
            e.fields["Name"],
            FieldValue::Text("Disconnect Reason".into())
        );
        assert_eq!(e.fields["Value"], FieldValue::UInt(2308));
        assert_eq!(report.time_basis.as_deref(), Some("utc"));
    }

    #[test]
    fn without_xml_the_local_date_and_message_are_used() {
        let text = WITH_XML.split("Event Xml:").next().unwrap();
        let (events, report) = run(InputFormat::EventviewerText, text, Some("America/New_York"));
        let e = &events[0];
        assert_eq!(e.time.to_rfc3339(), "2020-06-24T23:26:58+00:00");
        assert_eq!(e.fields["Value"], FieldValue::UInt(2308));
        assert_eq!(&**e.host(), "client-machine");
        assert_eq!(
            report.time_basis.as_deref(),
            Some("timezone America/New_York")
        );
    }

    #[test]
    fn broken_xml_falls_back_to_the_description() {
        let text = WITH_XML.replace("</EventData>", "</Oops>");
        let (events, report) = run(InputFormat::EventviewerText, &text, None);
        assert_eq!(events[0].fields["Value"], FieldValue::UInt(2308));
        assert!(report.note.as_deref().unwrap().contains("Event Xml block"));
    }
}
