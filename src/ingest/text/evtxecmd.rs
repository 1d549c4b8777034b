//! Reader for EvtxECmd CSV output (KB §4.2(f)).
//!
//! Takes: the header `RecordNumber,EventRecordId,TimeCreated,EventId,Level,Provider,Channel,
//! ProcessId,ThreadId,Computer,UserId,MapDescription,UserName,RemoteHost,PayloadData1…6,
//! ExecutableInfo,HiddenRecord,SourceFile,Keywords,Payload` (columns found by name, so versions
//! that add `ChunkNumber` or reorder columns also work), then one row per event. `TimeCreated` is
//! UTC (`2020-06-24 23:26:58.1234567`); `Payload` is the event's EventData/UserData as JSON in
//! Newtonsoft's XML shape: `{"EventData":{"Data":[{"@Name":"Value","#text":"2308"},…]}}` or
//! `{"UserData":{"EventXML":{"@xmlns":"Event_NS","User":"…",…}}}`.
//! Produces: one [`TextRecord`] per row with the fields shaped as the XML reader shapes them (named
//! data by name, unnamed as `param1..N`, the UserData wrapper dropped, values through
//! [`FieldValue::from_text`]). The `PayloadData*`/`MapDescription` columns are EvtxECmd's own
//! summaries and are not used, except an `ActivityID: {…}` that some maps put there.

use super::grammar;
use super::lines::Lines;
use super::tracerpt::{Columns, CsvRecords};
use super::{Emitter, Payload, TextRecord, When, level_of};
use crate::event::{FieldValue, Fields};
use serde_json::Value;
use std::io::Read;

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
    while let Some(record) = records.next_record() {
        let (n, text) = record?;
        match grammar::csv_record(&text) {
            Some(row) => row_record(n, &text, &row, &columns, out),
            None => out.fail(n, &text, "not a CSV row (unbalanced quotes)"),
        }
    }
    Ok(())
}

fn row_record(n: u64, text: &str, row: &[String], columns: &Columns, out: &mut Emitter<'_>) {
    let Ok(event_id) = columns.get(row, "EventId").parse::<u32>() else {
        return out.fail(n, text, "the EventId is not a number");
    };
    let fields = match payload_fields(columns.get(row, "Payload")) {
        Ok(f) => f,
        Err(why) => return out.fail(n, text, &why),
    };
    let mut rec = TextRecord::new(n);
    rec.event_id = Some(event_id);
    rec.provider = columns.get(row, "Provider").to_string();
    rec.channel = columns.get(row, "Channel").to_string();
    rec.host = columns.get(row, "Computer").to_string();
    rec.level = level_of(columns.get(row, "Level"));
    rec.record_id = columns.get(row, "EventRecordId").parse().ok();
    rec.activity_id = activity_id(row, columns);
    let time = columns.get(row, "TimeCreated");
    rec.when = match grammar::stamp(time) {
        // EvtxECmd writes UTC without saying so.
        Some(mut stamp) => {
            stamp.offset.get_or_insert(0);
            When::Stamp(stamp, time.to_string())
        }
        None => When::Missing(time.to_string()),
    };
    rec.payload = Payload::Fields(fields);
    out.record(rec);
}

/// Some EvtxECmd maps (RDPClient 1024/1026…) put `ActivityID: {…}` in a `PayloadData` column.
fn activity_id(row: &[String], columns: &Columns) -> Option<String> {
    (1..=6).find_map(|i| {
        let text = columns.get(row, &format!("PayloadData{i}"));
        let (key, value) = text.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case("ActivityID")
            .then(|| grammar::guid(value))
            .flatten()
    })
}

/// The fields of EvtxECmd's `Payload` JSON.
fn payload_fields(payload: &str) -> Result<Fields, String> {
    let mut fields = Fields::new();
    if payload.trim().is_empty() {
        return Ok(fields);
    }
    let json: Value =
        serde_json::from_str(payload).map_err(|e| format!("the Payload is not JSON: {e}"))?;
    if let Some(data) = json.get("EventData") {
        event_data(data, &mut fields);
    }
    if let Some(Value::Object(user)) = json.get("UserData") {
        for (key, wrapper) in user.iter().filter(|(k, _)| !k.starts_with('@')) {
            match wrapper {
                Value::Object(children) => {
                    for (name, v) in children.iter().filter(|(k, _)| !k.starts_with('@')) {
                        fields.insert(name.clone(), value_of(v));
                    }
                }
                other => {
                    fields.insert(key.clone(), value_of(other));
                }
            }
        }
    }
    Ok(fields)
}

fn event_data(data: &Value, fields: &mut Fields) {
    let Value::Object(map) = data else {
        return;
    };
    let mut unnamed = 0;
    for (key, value) in map.iter().filter(|(k, _)| !k.starts_with('@')) {
        if key != "Data" {
            fields.insert(key.clone(), value_of(value));
            continue;
        }
        let items = match value {
            Value::Array(items) => items.clone(),
            single => vec![single.clone()],
        };
        for item in &items {
            match item.get("@Name").and_then(Value::as_str) {
                Some(name) => {
                    fields.insert(name.to_string(), value_of(item));
                }
                None => {
                    unnamed += 1;
                    fields.insert(format!("param{unnamed}"), value_of(item));
                }
            }
        }
    }
}

/// A Newtonsoft XML value: a string, `{"#text": …}`, or `{"@Name": …}` alone (empty element).
fn value_of(v: &Value) -> FieldValue {
    match v {
        Value::String(s) => FieldValue::from_text(s),
        Value::Null => FieldValue::Null,
        Value::Object(map) => match map.get("#text") {
            Some(Value::String(s)) => FieldValue::from_text(s),
            Some(other) => FieldValue::from_text(&other.to_string()),
            None if map.keys().all(|k| k.starts_with('@')) => FieldValue::Null,
            None => FieldValue::Text(v.to_string()),
        },
        other => FieldValue::from_text(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::run;
    use super::payload_fields;
    use crate::event::FieldValue;
    use crate::source::InputFormat;

    const HEADER: &str = "RecordNumber,EventRecordId,TimeCreated,EventId,Level,Provider,Channel,ProcessId,ThreadId,Computer,UserId,MapDescription,UserName,RemoteHost,PayloadData1,PayloadData2,PayloadData3,PayloadData4,PayloadData5,PayloadData6,ExecutableInfo,HiddenRecord,SourceFile,Keywords,Payload";

    #[test]
    fn rows_with_event_and_user_data() {
        let text = format!(
            "{HEADER}\r\n1,412,2024-05-14 09:12:05.1234567,1026,Info,Microsoft-Windows-TerminalServices-ClientActiveXCore,Microsoft-Windows-TerminalServices-RDPClient/Operational,4242,1234,WS1.contoso.local,S-1-5-21-1,Disconnect,,,\"Disconnect Reason: 2308\",,,,,,,False,C:\\logs\\x.evtx,Connection Sequence,\"{{\"\"EventData\"\":{{\"\"Data\"\":[{{\"\"@Name\"\":\"\"Name\"\",\"\"#text\"\":\"\"Disconnect Reason\"\"}},{{\"\"@Name\"\":\"\"Value\"\",\"\"#text\"\":\"\"2308\"\"}},{{\"\"@Name\"\":\"\"CustomLevel\"\",\"\"#text\"\":\"\"Info\"\"}}]}}}}\"\r\n"
        );
        let (events, report) = run(InputFormat::EvtxecmdCsv, &text, None);
        assert_eq!(
            (report.records, report.failed_records),
            (1, 0),
            "{report:?}"
        );
        let e = &events[0];
        assert_eq!(e.fields["Value"], FieldValue::UInt(2308));
        assert_eq!(&**e.host(), "WS1.contoso.local");
        assert_eq!(e.record_id(), Some(412));
        assert_eq!(e.activity_id, None);
        assert_eq!(e.level, Some(4));
        assert_eq!(e.time.to_rfc3339(), "2024-05-14T09:12:05.123456700+00:00");
        assert_eq!(report.time_basis.as_deref(), Some("utc"));
    }

    #[test]
    fn payload_shapes() {
        let f = payload_fields(r#"{"UserData":{"EventXML":{"@xmlns":"Event_NS","User":"CONTOSO\\alice","SessionID":"3","Address":"10.0.0.7"}}}"#).unwrap();
        assert_eq!(f["SessionID"], FieldValue::UInt(3));
        assert!(!f.contains_key("@xmlns"));
        let f = payload_fields(r##"{"EventData":{"Data":{"@Name":"ConnType","#text":"TCP"}}}"##)
            .unwrap();
        assert_eq!(f["ConnType"], FieldValue::Text("TCP".into()));
        let f = payload_fields(
            r#"{"EventData":{"Data":["\\Device\\Termdd","10.0.0.7"],"Binary":"00"}}"#,
        )
        .unwrap();
        assert_eq!(f["param2"], FieldValue::Text("10.0.0.7".into()));
        let f = payload_fields(r##"{"EventData":{"Data":[{"@Name":"Empty"}]}}"##).unwrap();
        assert_eq!(f["Empty"], FieldValue::Null);
        assert!(payload_fields("{not json").is_err());
        assert!(payload_fields("").unwrap().is_empty());
    }
}
