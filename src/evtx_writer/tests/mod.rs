//! Tests: the `evtx` crate reads what the writer writes, with checksums validated.
//!
//! Takes: fixture records ([`fixtures`]) and random records ([`roundtrip`]).
//! Produces: assertions on the JSON the `evtx` crate renders (this module), on the raw chunk
//! layout ([`structure`]), and round-trip properties ([`roundtrip`]). The helpers here turn a
//! [`RecordSpec`] into the JSON values the crate is expected to render.

mod fixtures;
mod roundtrip;
mod structure;

use super::value::{format_guid, parse_guid};
use super::{EvtxWriteError, EvtxWriter, Payload, RecordSpec, Value};
use chrono::{DateTime, Utc};
use evtx::{EvtxParser, ParserSettings};
use serde_json::{Value as Json, json};

/// The file for `records`, asserting the ids handed out are 1, 2, ….
pub(super) fn write(records: &[RecordSpec]) -> Vec<u8> {
    let mut writer = EvtxWriter::new();
    for (i, record) in records.iter().enumerate() {
        assert_eq!(writer.push(record).unwrap(), i as u64 + 1);
    }
    writer.finish()
}

/// Every record as JSON (attributes separated), after checking that every chunk loads and
/// passes both checksums. Panics on any chunk or record error.
pub(super) fn parse(bytes: &[u8]) -> Vec<Json> {
    let settings = ParserSettings::new()
        .validate_checksums(true)
        .num_threads(1)
        .separate_json_attributes(true);
    let mut parser = EvtxParser::from_buffer(bytes.to_vec())
        .unwrap()
        .with_configuration(settings);
    assert!(parser.header().validate_checksum(), "file header CRC");
    for chunk in parser.chunks() {
        let chunk = chunk.expect("every chunk to load");
        assert!(chunk.validate_checksum(), "chunk checksums");
    }
    parser
        .records_json_value()
        .map(|r| r.expect("every record to parse").data)
        .collect()
}

/// FILETIME text as the crate renders it: seven fractional digits (100 ns).
fn filetime_text(time: &DateTime<Utc>) -> String {
    let ticks = time.timestamp_subsec_nanos() / 100;
    format!("{}.{ticks:07}Z", time.format("%Y-%m-%dT%H:%M:%S"))
}

/// The JSON the crate renders for `value`.
pub(super) fn expected_json(value: &Value) -> Json {
    match value {
        Value::String(s) => json!(s),
        Value::UInt8(v) => json!(v),
        Value::UInt16(v) => json!(v),
        Value::UInt32(v) => json!(v),
        Value::UInt64(v) => json!(v),
        Value::Int32(v) => json!(v),
        Value::Int64(v) => json!(v),
        Value::HexInt32(v) => json!(format!("{v:#x}")),
        Value::HexInt64(v) => json!(format!("{v:#x}")),
        Value::FileTime(t) => json!(filetime_text(t)),
        Value::SystemTime(t) => {
            let millis = (t.timestamp_subsec_millis()).min(999);
            json!(format!(
                "{}.{millis:03}0000Z",
                t.format("%Y-%m-%dT%H:%M:%S")
            ))
        }
        Value::Guid(text) => json!(canonical_guid(text)),
        Value::Sid(text) => json!(text),
        Value::Bool(b) => json!(b),
        Value::Binary(bytes) => json!(bytes.iter().map(|b| format!("{b:02X}")).collect::<String>()),
        // Behind an optional substitution; the crate keeps a `<Data>` element with empty text
        // (elsewhere it leaves the element out, see `check_payload`).
        Value::Null => json!(""),
    }
}

fn canonical_guid(text: &str) -> String {
    format_guid(&parse_guid(text, "test").unwrap())
}

/// `parent[key]`, or JSON null.
fn at<'j>(parent: &'j Json, key: &str) -> &'j Json {
    parent.get(key).unwrap_or(&Json::Null)
}

/// Compares `System` with `record` and the assigned `id`; the first difference, if any.
pub(super) fn check_system(event: &Json, record: &RecordSpec, id: u64) -> Result<(), String> {
    let system = &event["Event"]["System"];
    let provider = at(system, "Provider_attributes");
    let correlation = at(system, "Correlation_attributes");
    fn optional(text: &Option<String>, f: fn(&str) -> String) -> Json {
        text.as_deref().map_or(Json::Null, |t| json!(f(t)))
    }
    let checks = [
        (
            "Provider/@Name",
            at(provider, "Name"),
            json!(record.provider_name),
        ),
        (
            "Provider/@Guid",
            at(provider, "Guid"),
            optional(&record.provider_guid, canonical_guid),
        ),
        (
            "Provider/@EventSourceName",
            at(provider, "EventSourceName"),
            optional(&record.event_source_name, str::to_string),
        ),
        ("EventID", at(system, "EventID"), json!(record.event_id)),
        (
            "EventID/@Qualifiers",
            at(at(system, "EventID_attributes"), "Qualifiers"),
            json!(record.qualifiers),
        ),
        ("Version", at(system, "Version"), json!(record.version)),
        ("Level", at(system, "Level"), json!(record.level)),
        ("Task", at(system, "Task"), json!(record.task)),
        ("Opcode", at(system, "Opcode"), json!(record.opcode)),
        (
            "Keywords",
            at(system, "Keywords"),
            json!(format!("{:#x}", record.keywords)),
        ),
        (
            "TimeCreated",
            at(at(system, "TimeCreated_attributes"), "SystemTime"),
            json!(filetime_text(&record.time)),
        ),
        ("EventRecordID", at(system, "EventRecordID"), json!(id)),
        (
            "ActivityID",
            at(correlation, "ActivityID"),
            optional(&record.activity_id, canonical_guid),
        ),
        (
            "RelatedActivityID",
            at(correlation, "RelatedActivityID"),
            optional(&record.related_activity_id, canonical_guid),
        ),
        (
            "ProcessID",
            at(at(system, "Execution_attributes"), "ProcessID"),
            json!(record.process_id),
        ),
        (
            "ThreadID",
            at(at(system, "Execution_attributes"), "ThreadID"),
            json!(record.thread_id),
        ),
        ("Channel", at(system, "Channel"), json!(record.channel)),
        ("Computer", at(system, "Computer"), json!(record.computer)),
        (
            "UserID",
            at(at(system, "Security_attributes"), "UserID"),
            optional(&record.user_sid, str::to_string),
        ),
    ];
    for (field, got, want) in checks {
        if *got != want {
            return Err(format!("record {id}: {field}: got {got}, want {want}"));
        }
    }
    Ok(())
}

/// The values of an unnamed `<Data>` list, however many there are.
fn unnamed_values(event_data: &Json) -> Vec<Json> {
    match at(event_data, "Data") {
        Json::Null => Vec::new(),
        Json::Object(data) => match data.get("#text") {
            Some(Json::Array(items)) => items.clone(),
            Some(single) => vec![single.clone()],
            None => Vec::new(),
        },
        single => vec![single.clone()],
    }
}

/// Compares `EventData` / `UserData` with `record.payload`; the first difference, if any.
pub(super) fn check_payload(event: &Json, record: &RecordSpec, id: u64) -> Result<(), String> {
    let event = &event["Event"];
    let differ = |what: &str, got: &Json, want: &Json| -> Result<(), String> {
        match got == want {
            true => Ok(()),
            false => Err(format!("record {id}: {what}: got {got}, want {want}")),
        }
    };
    match &record.payload {
        Payload::None => differ("EventData", at(event, "EventData"), &Json::Null),
        Payload::EventData(fields) if fields.is_empty() => {
            differ("EventData", at(event, "EventData"), &Json::Null)
        }
        Payload::EventData(fields) => fields.iter().try_for_each(|(name, value)| {
            let got = at(&event["EventData"], name);
            differ(&format!("EventData/{name}"), got, &expected_json(value))
        }),
        Payload::UnnamedData(values) => {
            let want: Vec<Json> = values.iter().map(expected_json).collect();
            differ(
                "EventData/Data",
                &json!(unnamed_values(at(event, "EventData"))),
                &json!(want),
            )
        }
        Payload::UserData {
            element,
            xmlns,
            fields,
        } => {
            let user_data = at(event, "UserData");
            let xmlns_got = at(at(user_data, &format!("{element}_attributes")), "xmlns");
            let xmlns_want = if xmlns.is_empty() {
                Json::Null
            } else {
                json!(xmlns)
            };
            differ("UserData xmlns", xmlns_got, &xmlns_want)?;
            fields.iter().try_for_each(|(name, value)| {
                let got = at(at(user_data, element), name);
                // The crate renders a child element without text as null, and leaves a NULL
                // value's element out (MS-EVEN6 optional substitution).
                let want = match expected_json(value) {
                    Json::String(text) if text.is_empty() => Json::Null,
                    want => want,
                };
                differ(&format!("UserData/{element}/{name}"), got, &want)
            })
        }
    }
}

/// Writes `records`, reads them back, and compares every record.
pub(super) fn round_trip(records: &[RecordSpec]) -> Result<(), String> {
    let events = parse(&write(records));
    if events.len() != records.len() {
        return Err(format!(
            "{} records read, {} written",
            events.len(),
            records.len()
        ));
    }
    for (i, (event, record)) in events.iter().zip(records).enumerate() {
        check_system(event, record, i as u64 + 1)?;
        check_payload(event, record, i as u64 + 1)?;
    }
    Ok(())
}

#[test]
fn every_fixture_file_round_trips() {
    for (name, records) in fixtures::fixture_files() {
        if let Err(message) = round_trip(&records) {
            panic!("{name}: {message}");
        }
    }
}

#[test]
fn json_renders_like_real_logs() {
    let events = parse(&write(&fixtures::typed_records()));
    let system = &events[0]["Event"]["System"];
    assert_eq!(system["EventID"], json!(1026));
    assert_eq!(
        system["TimeCreated_attributes"]["SystemTime"],
        json!("2024-01-17T21:20:01.1234567Z")
    );
    assert_eq!(system["Keywords"], json!("0x1000000000000000"));
    assert_eq!(
        system["Correlation"],
        Json::Null,
        "no ActivityID: no attributes"
    );
    let data = &events[0]["Event"]["EventData"];
    assert_eq!(data["AHexInt32"], json!("0x904"));
    assert_eq!(data["AUInt16"], json!(65535));
    assert_eq!(data["ABoolTrue"], json!(true));
    assert_eq!(
        data["AGuid"],
        json!("{12345678-9abc-def0-1234-56789abcdef0}")
    );
}

#[test]
fn user_data_nests_under_its_wrapper_element() {
    let events = parse(&write(&fixtures::lsm_records()));
    let user_data = &events[0]["Event"]["UserData"];
    assert_eq!(user_data["EventXML_attributes"]["xmlns"], json!("Event_NS"));
    assert_eq!(user_data["EventXML"]["User"], json!("CORP\\alice"));
    assert_eq!(user_data["EventXML"]["SessionID"], json!(3));
    let events = parse(&write(&fixtures::gateway_records()));
    let event_info = &events[2]["Event"]["UserData"];
    assert_eq!(event_info["EventInfo_attributes"]["xmlns"], json!("aag"));
    assert_eq!(event_info["EventInfo"]["ErrorCode"], json!(1226));
    let correlation = &events[2]["Event"]["System"]["Correlation_attributes"];
    assert_eq!(
        correlation["RelatedActivityID"],
        json!("{11111111-2222-3333-4444-555555555555}")
    );
}

#[test]
fn classic_events_have_source_name_qualifiers_and_an_unnamed_list() {
    let events = parse(&write(&fixtures::scm_records()));
    let system = &events[0]["Event"]["System"];
    assert_eq!(
        system["Provider_attributes"]["EventSourceName"],
        json!("Service Control Manager")
    );
    assert_eq!(system["EventID_attributes"]["Qualifiers"], json!(16384));
    assert_eq!(system["EventID"], json!(7036));
    assert_eq!(
        events[0]["Event"]["EventData"]["Data"]["#text"],
        json!(["Remote Desktop Services", "running", "54006500"])
    );
}

#[test]
fn first_record_id_is_configurable() {
    let mut writer = EvtxWriter::with_first_record_id(1000);
    for record in fixtures::rcm_records() {
        writer.push(&record).unwrap();
    }
    assert_eq!(writer.next_record_id(), 1002);
    let events = parse(&writer.finish());
    let ids: Vec<&Json> = events
        .iter()
        .map(|e| &e["Event"]["System"]["EventRecordID"])
        .collect();
    assert_eq!(ids, [&json!(1000), &json!(1001)]);
}

#[test]
fn bad_records_are_refused_and_leave_the_writer_unchanged() {
    let mut writer = EvtxWriter::new();
    let good = fixtures::rcm_records().remove(0);
    let mut bad_guid = good.clone();
    bad_guid.activity_id = Some("{not-a-guid}".into());
    let err = writer.push(&bad_guid).unwrap_err();
    assert!(err.to_string().contains("Correlation/@ActivityID"), "{err}");
    let mut bad_sid = good.clone();
    bad_sid.payload = Payload::EventData(vec![("Sid".into(), Value::Sid("S-1-x".into()))]);
    assert!(matches!(
        writer.push(&bad_sid),
        Err(EvtxWriteError::InvalidSid { .. })
    ));
    let mut too_large = good.clone();
    let half = Value::Binary(vec![7; 40_000]);
    too_large.payload = Payload::EventData(vec![("A".into(), half.clone()), ("B".into(), half)]);
    let err = writer.push(&too_large).unwrap_err();
    assert!(
        matches!(&err, EvtxWriteError::ValueTooLarge { field, .. } if field == "payload"),
        "{err}"
    );
    too_large.payload = Payload::EventData(vec![("A".into(), Value::Binary(vec![7; 64_500]))]);
    assert!(matches!(
        writer.push(&too_large),
        Err(EvtxWriteError::RecordTooLarge { .. })
    ));
    let mut bad_name = good.clone();
    bad_name.payload = Payload::UserData {
        element: "EventXML".into(),
        xmlns: "Event_NS".into(),
        fields: vec![("two words".into(), Value::Null)],
    };
    assert!(matches!(
        writer.push(&bad_name),
        Err(EvtxWriteError::InvalidName { .. })
    ));
    assert_eq!(writer.push(&good).unwrap(), 1);
    assert_eq!(parse(&writer.finish()).len(), 1);
}

#[test]
fn a_writer_without_records_gives_a_bare_header() {
    let file = EvtxWriter::new().finish();
    assert_eq!(file.len(), 4096);
    assert!(parse(&file).is_empty());
}
