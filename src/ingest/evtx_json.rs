//! The JSON shape of an event as rendered by the `evtx` crate (and `evtx_dump -o json/jsonl`).
//!
//! Takes: one record's JSON text, in either attribute layout (`#attributes` objects, or
//! `X_attributes` siblings from `separate_json_attributes(true)`).
//! Produces: its [`RecordHeader`] (parsed first, cheaply, with the payload left unparsed) and, only
//! for relevant records, the EventData/UserData [`Fields`].

use super::{RecordHeader, normalize_guid, parse_system_time};
use crate::event::{FieldValue, Fields};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

/// A record split into its parsed header and its still-unparsed payload.
pub struct SplitRecord<'a> {
    /// The System part.
    pub header: RecordHeader,
    /// `EventData`, unparsed.
    pub event_data: Option<&'a RawValue>,
    /// `UserData`, unparsed.
    pub user_data: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Root<'a> {
    #[serde(rename = "Event", borrow)]
    event: EventJson<'a>,
}

#[derive(Deserialize)]
struct EventJson<'a> {
    #[serde(rename = "System")]
    system: Value,
    #[serde(rename = "EventData", borrow, default)]
    event_data: Option<&'a RawValue>,
    #[serde(rename = "UserData", borrow, default)]
    user_data: Option<&'a RawValue>,
}

/// Parse the header of one rendered record, leaving the payload for later.
pub fn split(json: &str) -> Result<SplitRecord<'_>, String> {
    let root: Root<'_> = serde_json::from_str(json).map_err(|e| format!("bad event JSON: {e}"))?;
    let header = header_from_system(&root.event.system)?;
    Ok(SplitRecord {
        header,
        event_data: root.event.event_data,
        user_data: root.event.user_data,
    })
}

/// Look up `name`'s attribute `attr` in either layout.
fn attribute<'v>(system: &'v Value, name: &str, attr: &str) -> Option<&'v Value> {
    system
        .get(format!("{name}_attributes"))
        .and_then(|a| a.get(attr))
        .or_else(|| {
            system
                .get(name)
                .and_then(|n| n.get("#attributes"))
                .and_then(|a| a.get(attr))
        })
}

/// An element's text in either layout (`"EventID": 4624` or `{"#text": 4624, "#attributes": …}`).
fn element<'v>(system: &'v Value, name: &str) -> Option<&'v Value> {
    let v = system.get(name)?;
    match v.get("#text") {
        Some(text) => Some(text),
        None if v.is_object() => None,
        None => Some(v),
    }
}

fn as_u64(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(crate::event::parse_number))
}

fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn header_from_system(system: &Value) -> Result<RecordHeader, String> {
    let event_id = element(system, "EventID")
        .and_then(as_u64)
        .ok_or("event has no EventID")?;
    let time = attribute(system, "TimeCreated", "SystemTime")
        .and_then(Value::as_str)
        .and_then(parse_system_time);
    Ok(RecordHeader {
        channel: element(system, "Channel")
            .and_then(as_string)
            .unwrap_or_default(),
        provider: attribute(system, "Provider", "Name")
            .and_then(as_string)
            .or_else(|| attribute(system, "Provider", "EventSourceName").and_then(as_string))
            .unwrap_or_default(),
        event_id: u32::try_from(event_id).map_err(|_| "EventID out of range")?,
        level: element(system, "Level")
            .and_then(as_u64)
            .and_then(|l| u8::try_from(l).ok()),
        host: element(system, "Computer")
            .and_then(as_string)
            .unwrap_or_default(),
        time,
        record_id: element(system, "EventRecordID").and_then(as_u64),
        activity_id: attribute(system, "Correlation", "ActivityID")
            .and_then(Value::as_str)
            .and_then(normalize_guid),
    })
}

/// Build the field map from the payload of a relevant record.
pub fn fields(split: &SplitRecord<'_>) -> Result<Fields, String> {
    let mut out = Fields::new();
    if let Some(raw) = split.event_data {
        let v: Value = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
        add_event_data(&v, &mut out);
    }
    if let Some(raw) = split.user_data {
        let v: Value = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
        add_user_data(&v, &mut out);
    }
    Ok(out)
}

fn is_attribute_key(key: &str) -> bool {
    key == "#attributes" || key.ends_with("_attributes")
}

/// `EventData`: named `<Data Name=…>` become keys; unnamed `<Data>` come as a `Data` list and
/// become `param1`, `param2`… (the message's `%1`, `%2`…).
fn add_event_data(v: &Value, out: &mut Fields) {
    let Some(map) = v.as_object() else {
        return;
    };
    for (key, value) in map {
        if is_attribute_key(key) {
            continue;
        }
        if key == "Data" {
            let items = value.get("#text").unwrap_or(value);
            match items {
                Value::Array(list) => {
                    for (i, item) in list.iter().enumerate() {
                        out.insert(format!("param{}", i + 1), FieldValue::from_json(item));
                    }
                }
                other => {
                    out.insert("param1", FieldValue::from_json(other));
                }
            }
        } else {
            out.insert(key.clone(), FieldValue::from_json(value));
        }
    }
}

/// `UserData`: one wrapper element (`EventXML`, `EventInfo`…) whose children are the fields.
fn add_user_data(v: &Value, out: &mut Fields) {
    let Some(map) = v.as_object() else {
        return;
    };
    for (key, inner) in map {
        if is_attribute_key(key) {
            continue;
        }
        match inner.as_object() {
            Some(children) => {
                for (name, value) in children {
                    if !is_attribute_key(name) {
                        out.insert(name.clone(), FieldValue::from_json(value));
                    }
                }
            }
            None => {
                out.insert(key.clone(), FieldValue::from_json(inner));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEPARATE: &str = r#"{"Event":{"Event_attributes":{"xmlns":"x"},"System":{"Provider_attributes":{"Name":"Microsoft-Windows-RemoteDesktopServices-RdpCoreTS","Guid":"{1139c61b-b549-4251-8ed3-27250a1edec8}"},"EventID":226,"Level":3,"TimeCreated_attributes":{"SystemTime":"2019-08-27T17:16:34.8519714Z"},"EventRecordID":851,"Correlation_attributes":{"ActivityID":"{F420DD64-C87E-4E2D-A02E-7D0935770000}"},"Channel":"Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational","Computer":"MSEDGEWIN10"},"EventData":{"StateTransition":"RDP_TCP","PreviousState":23,"ErrorCode":"0x80070040"}}}"#;

    const NESTED: &str = r##"{"Event":{"#attributes":{"xmlns":"x"},"System":{"Provider":{"#attributes":{"Name":"Service Control Manager","EventSourceName":"Service Control Manager"}},"EventID":{"#attributes":{"Qualifiers":49152},"#text":7031},"Level":2,"TimeCreated":{"#attributes":{"SystemTime":"2020-01-01T00:00:00Z"}},"EventRecordID":5,"Correlation":null,"Channel":"System","Computer":"SRV"},"EventData":{"Data":{"#text":["Remote Desktop Services","1"]}}}}"##;

    const USERDATA: &str = r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-TerminalServices-LocalSessionManager"}},"EventID":21,"TimeCreated":{"#attributes":{"SystemTime":"2020-01-01T00:00:00Z"}},"Channel":"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational","Computer":"SRV"},"UserData":{"EventXML":{"#attributes":{"xmlns":"Event_NS"},"User":"CONTOSO\\alice","SessionID":2,"Address":"10.0.0.5"}}}}"##;

    #[test]
    fn separate_attribute_layout() {
        let s = split(SEPARATE).unwrap();
        assert_eq!(s.header.event_id, 226);
        assert_eq!(&*s.header.host, "MSEDGEWIN10");
        assert_eq!(s.header.record_id, Some(851));
        assert_eq!(
            s.header.activity_id.as_deref(),
            Some("{f420dd64-c87e-4e2d-a02e-7d0935770000}")
        );
        let f = fields(&s).unwrap();
        assert_eq!(f["ErrorCode"], FieldValue::Hex(0x80070040));
        assert_eq!(f["PreviousState"], FieldValue::UInt(23));
    }

    #[test]
    fn nested_attribute_layout_with_unnamed_data() {
        let s = split(NESTED).unwrap();
        assert_eq!(s.header.event_id, 7031);
        assert_eq!(&*s.header.provider, "Service Control Manager");
        assert_eq!(s.header.activity_id, None);
        let f = fields(&s).unwrap();
        assert_eq!(
            f["param1"],
            FieldValue::Text("Remote Desktop Services".into())
        );
        assert_eq!(
            f["param2"],
            FieldValue::Text("1".into()),
            "string-typed stays text"
        );
        assert_eq!(f["param2"].as_u64(), Some(1));
    }

    #[test]
    fn user_data_wrapper_is_dropped() {
        let s = split(USERDATA).unwrap();
        let f = fields(&s).unwrap();
        assert_eq!(f["User"], FieldValue::Text("CONTOSO\\alice".into()));
        assert_eq!(f["SessionID"], FieldValue::UInt(2));
        assert!(!f.contains_key("#attributes"));
    }

    #[test]
    fn missing_event_id_is_an_error() {
        assert!(split(r#"{"Event":{"System":{}}}"#).is_err());
        assert!(split("not json").is_err());
    }
}
