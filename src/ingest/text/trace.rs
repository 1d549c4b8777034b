//! Reader for `netsh trace convert` / tracefmt / `pktmon etl2txt` text (KB §4.2(e)).
//!
//! Takes: one event per line, `[CPU]PID.TID::timestamp [Provider]message` (an optional space
//! after `[CPU]`; timestamps `09/09/2020-14:41:47.732`, `08/28/17-13:24:28.960`,
//! `2022/03/23-20:27:14.275850900`, `2025-03-27 16:10:34.934020500`, in the converting machine's
//! local time), header lines such as `[MSNT_SystemTrace]EventsLost: 0 BuffersLost: 0`, and WPP
//! events that tracefmt could not decode: `Unknown( 76): GUID=… (No Format Information found).`
//! A line that does not start with `[` right after an event continues that event's message (a
//! message with a line break).
//! Produces: one [`TextRecord`] per event line, with no event id: the [`Emitter`] finds it by
//! matching the message against the provider's message patterns, and derives the channel from the
//! provider (ClientActiveXCore → RDPClient/Operational), so the events rebuild attempts as their
//! `.evtx` twins do. WPP lines count as opaque records; trace lines name no computer.

use super::grammar;
use super::lines::Lines;
use super::{Emitter, Payload, TextRecord, When, read_error};
use std::io::Read;

/// Read every line.
pub fn read<R: Read>(lines: &mut Lines<R>, out: &mut Emitter<'_>) -> Result<(), String> {
    let mut pending: Option<(TextRecord, String)> = None;
    let mut last = 0;
    for item in lines {
        let (n, line) = item.map_err(|e| read_error(last, &e))?;
        last = n;
        if line.trim().is_empty() {
            continue;
        }
        if let Some(t) = grammar::trace_line(&line) {
            if let Some((rec, message)) = pending.take() {
                emit(rec, message, out);
            }
            if grammar::is_wpp_unknown(t.message) {
                out.opaque();
                continue;
            }
            let mut rec = TextRecord::new(n);
            rec.provider = t.provider.to_string();
            rec.when = When::Stamp(t.stamp, time_text(&line));
            pending = Some((rec, t.message.to_string()));
            continue;
        }
        if grammar::is_wpp_unknown(&line) {
            if let Some((rec, message)) = pending.take() {
                emit(rec, message, out);
            }
            out.opaque();
            continue;
        }
        match &mut pending {
            Some((_, message)) if !line.starts_with('[') => {
                message.push('\n');
                message.push_str(&line);
            }
            _ => out.fail(
                n,
                &line,
                "not a trace line `[CPU]PID.TID::time [Provider]message`",
            ),
        }
    }
    if let Some((rec, message)) = pending {
        emit(rec, message, out);
    }
    Ok(())
}

/// The timestamp part of a trace line, for error messages.
fn time_text(line: &str) -> String {
    line.split_once("::")
        .and_then(|(_, rest)| rest.split_once(" ["))
        .map_or_else(String::new, |(t, _)| t.to_string())
}

fn emit(mut rec: TextRecord, message: String, out: &mut Emitter<'_>) {
    rec.payload = Payload::Message(message);
    out.record(rec);
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::run;
    use crate::event::FieldValue;
    use crate::source::InputFormat;

    const TRACE: &str = "[0]0000.0000::05/10/2023-14:22:29.000 [MSNT_SystemTrace]EventsLost: 0 BuffersLost: 0\n[2]1A2C.0F10::05/10/2023-14:22:30.1234567 [Microsoft-Windows-TerminalServices-ClientActiveXCore]RDP ClientActiveX is trying to connect to the server (srv.contoso.local)\nUnknown( 76): GUID=ac5ec775-ccdb-3c2c-6150-28b4eacacbc4 (No Format Information found).\n[1] 1A2C.0F10::05/10/2023-14:22:31.1234567 [Microsoft-Windows-TerminalServices-ClientActiveXCore]RDP ClientActiveX has been disconnected (Reason= 2308)\n";

    #[test]
    fn events_are_identified_from_their_message() {
        let (events, report) = run(InputFormat::TraceText, TRACE, Some("+02:00"));
        assert_eq!(report.records, 3, "{report:?}");
        assert_eq!(report.opaque_records, 1);
        assert_eq!(report.failed_records, 0);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].event_id, 1024);
        assert_eq!(
            &**events[0].channel(),
            "Microsoft-Windows-TerminalServices-RDPClient/Operational"
        );
        assert_eq!(events[1].event_id, 1026);
        assert_eq!(events[1].fields["Value"], FieldValue::UInt(2308));
        assert_eq!(
            events[1].time.to_rfc3339(),
            "2023-05-10T12:22:31.123456700+00:00"
        );
        assert_eq!(events[1].source().to_string(), "t.txt:4");
        let note = report.note.unwrap();
        assert!(note.contains("1 WPP trace lines"), "{note}");
        assert!(note.contains("month/day"), "{note}");
    }

    #[test]
    fn junk_lines_fail_and_continuations_join() {
        let text = "garbage\n[2]1A2C.0F10::05/10/2023-14:22:30.123 [Microsoft-Windows-RemoteDesktopServices-RdpCoreTS]The server accepted a new TCP connection from client\n10.0.0.7:50000.\n[x] broken\n";
        let (events, report) = run(InputFormat::TraceText, text, None);
        assert_eq!(report.failed_records, 2);
        assert!(report.first_error.unwrap().starts_with("line 1: garbage"));
        assert_eq!(events[0].event_id, 131);
    }
}
