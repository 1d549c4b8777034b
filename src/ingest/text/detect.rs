//! Recognising a text export from the first lines of a file.
//!
//! Takes: the decoded start of a file (UTF-8 or UTF-16, BOM removed).
//! Produces: the [`InputFormat`] of the text export it is, or `None`. Only the first few non-blank
//! lines are looked at, and each format needs its own distinctive shape (an exact CSV header, an
//! `Event[N]` header followed by an indented label, `Log Name:` with an `Event ID:` label, three
//! `Get-WinEvent` property lines, or a tracefmt/WPP line first), so unrelated text such as a TSV
//! manifest or notes stays unknown.

use super::grammar;
use crate::source::InputFormat;

/// Property names of `Get-WinEvent` records (`EventLogRecord`), to recognise Format-List output.
const PS_PROPERTIES: &[&str] = &[
    "Message",
    "Id",
    "Version",
    "Qualifiers",
    "Level",
    "Task",
    "Opcode",
    "Keywords",
    "RecordId",
    "ProviderName",
    "ProviderId",
    "LogName",
    "ProcessId",
    "ThreadId",
    "MachineName",
    "UserId",
    "TimeCreated",
    "ActivityId",
    "RelatedActivityId",
    "ContainerLog",
    "MatchedQueryIds",
    "Bookmark",
    "LevelDisplayName",
    "OpcodeDisplayName",
    "TaskDisplayName",
    "KeywordsDisplayNames",
    "Properties",
];

/// Recognise a text export from the start of a file (already decoded). Only the first few
/// non-blank lines are looked at, and each format needs its own distinctive shape.
pub fn detect(text: &str) -> Option<InputFormat> {
    let meaningful: Vec<&str> = text
        .lines()
        .map(|l| l.trim_start_matches('\u{feff}').trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty())
        .take(12)
        .collect();
    let first = *meaningful.first()?;
    let compact: String = first.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.starts_with("RecordNumber,EventRecordId,TimeCreated,EventId,") {
        return Some(InputFormat::EvtxecmdCsv);
    }
    if compact.starts_with("EventName,Type,EventID,") && compact.contains("UserData") {
        return Some(InputFormat::TracerptCsv);
    }
    if grammar::event_header(first).is_some()
        && meaningful
            .get(1)
            .is_some_and(|l| grammar::indented_label(l).is_some())
    {
        return Some(InputFormat::WevtutilText);
    }
    let label = |l: &str| grammar::padded_label(l).map(|(k, _)| k.to_string());
    if label(first).as_deref() == Some("Log Name")
        && meaningful
            .iter()
            .any(|l| label(l).as_deref() == Some("Event ID"))
    {
        return Some(InputFormat::EventviewerText);
    }
    let property =
        |l: &str| grammar::ps_property(l).is_some_and(|(name, _, _)| PS_PROPERTIES.contains(&name));
    if property(first) && meaningful.iter().filter(|l| property(l)).count() >= 3 {
        return Some(InputFormat::PowershellList);
    }
    if grammar::trace_line(first).is_some() || grammar::is_wpp_unknown(first) {
        return Some(InputFormat::TraceText);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_by_content() {
        let cases = [
            (
                "Event[0]:\n  Log Name: System\n  Source: Schannel\n",
                InputFormat::WevtutilText,
            ),
            (
                "Log Name:      System\nSource:        Schannel\nDate:          6/24/2020 7:26:58 PM\nEvent ID:      36870\n",
                InputFormat::EventviewerText,
            ),
            (
                "\n\nTimeCreated  : 4/19/2023 10:11:07 AM\nProviderName : X\nId           : 1026\nMessage      : m\n",
                InputFormat::PowershellList,
            ),
            (
                "[0]0000.0000::05/10/2023-14:22:29.000 [MSNT_SystemTrace]EventsLost: 0 BuffersLost: 0\n",
                InputFormat::TraceText,
            ),
            (
                "Unknown( 76): GUID=ac5ec775-ccdb-3c2c-6150-28b4eacacbc4 (No Format Information found).\n",
                InputFormat::TraceText,
            ),
            (
                "Event Name, Type, Event ID, Version, Channel, Level, Opcode, Task, Keyword, PID, TID, Processor Number, Instance ID, Parent Instance ID, Activity ID, Related Activity ID, Clock-Time, Kernel(ms), User(ms), User Data\n",
                InputFormat::TracerptCsv,
            ),
            (
                "\u{feff}RecordNumber,EventRecordId,TimeCreated,EventId,Level,Provider,Channel\n",
                InputFormat::EvtxecmdCsv,
            ),
        ];
        for (text, format) in cases {
            assert_eq!(detect(text), Some(format), "{text}");
        }
        for text in [
            "hello",
            "",
            "path\tbytes\trecords\n",
            "Log Name: x\n",
            "Id : 1\n",
            "Event[0]:\nnot indented\n",
        ] {
            assert_eq!(detect(text), None, "{text:?}");
        }
    }
}
