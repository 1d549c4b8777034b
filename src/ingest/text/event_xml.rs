//! The `Event Xml:` block of an Event Viewer "Copy details as text".
//!
//! Takes: the text of one `<Event xmlns=…>…</Event>` element (double- or single-quoted attributes,
//! with or without namespace prefixes).
//! Produces: [`EventXml`]: the System values (provider, event id, level, `SystemTime`, record id,
//! activity id, channel, computer) and the payload fields shaped as the XML and EVTX readers shape
//! them: named `<Data Name=…>` by name, unnamed `<Data>` as `param1..N`, UserData's wrapper
//! element (`EventXML`, `EventInfo`…) dropped and its children kept by name, values through
//! [`FieldValue::from_text`]. Mirrors the approach of the XML reader for one event in memory.

use crate::event::{FieldValue, Fields};
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event as XmlEvent};
use quick_xml::reader::Reader;

/// What one event's XML says.
#[derive(Debug, Default, PartialEq)]
pub struct EventXml {
    /// `Provider/@Name` (else `@EventSourceName`).
    pub provider: Option<String>,
    /// `EventID` text.
    pub event_id: Option<u32>,
    /// `Level`.
    pub level: Option<u8>,
    /// `TimeCreated/@SystemTime`, as written.
    pub system_time: Option<String>,
    /// `EventRecordID`.
    pub record_id: Option<u64>,
    /// `Correlation/@ActivityID`.
    pub activity_id: Option<String>,
    /// `Channel`.
    pub channel: Option<String>,
    /// `Computer`.
    pub computer: Option<String>,
    /// EventData / UserData fields.
    pub fields: Fields,
}

fn local(qname: &str) -> &str {
    qname.rsplit(':').next().unwrap_or(qname)
}

fn attribute(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        (local(a.key.as_ref()) == name)
            .then(|| a.normalized_value(XmlVersion::Implicit1_0).ok())
            .flatten()
            .map(|v| v.into_owned())
    })
}

/// Where the element being read sits.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Part {
    Other,
    System,
    EventData,
    UserData,
}

/// Parse one event's XML. `Err` when the XML is not well formed or is not an event.
pub fn parse(xml: &str) -> Result<EventXml, String> {
    let mut reader = Reader::from_str(xml);
    let mut out = EventXml::default();
    let mut path: Vec<String> = Vec::new();
    let mut part = Part::Other;
    let mut text = String::new();
    let mut data_name: Option<String> = None;
    let mut unnamed = 0usize;
    let mut saw_event = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("bad XML at byte {}: {e}", reader.buffer_position()))?;
        match event {
            XmlEvent::Empty(e) if path.is_empty() => {
                if local(e.name().as_ref()) != "Event" {
                    return Err("the XML is not an <Event>".into());
                }
                return Ok(out);
            }
            XmlEvent::Start(e) if path.is_empty() => {
                if local(e.name().as_ref()) != "Event" {
                    return Err("the XML is not an <Event>".into());
                }
                saw_event = true;
                path.push("Event".into());
            }
            XmlEvent::Start(e) => {
                let name = local(e.name().as_ref()).to_string();
                start(&e, &name, &path, &mut part, &mut out, &mut data_name);
                text.clear();
                path.push(name);
            }
            XmlEvent::Empty(e) => {
                let name = local(e.name().as_ref()).to_string();
                start(&e, &name, &path, &mut part, &mut out, &mut data_name);
                text.clear();
                end(
                    &name,
                    &path,
                    part,
                    &text,
                    &mut out,
                    &mut data_name,
                    &mut unnamed,
                );
            }
            XmlEvent::Text(t) => text.push_str(&t.xml_content(XmlVersion::Implicit1_0)),
            XmlEvent::CData(t) => text.push_str(&t.into_inner()),
            XmlEvent::GeneralRef(r) => text.push_str(&resolve(&r)),
            XmlEvent::End(_) => {
                let Some(name) = path.pop() else {
                    return Err("unbalanced XML".into());
                };
                end(
                    &name,
                    &path,
                    part,
                    &text,
                    &mut out,
                    &mut data_name,
                    &mut unnamed,
                );
                text.clear();
                if path.len() <= 1 {
                    part = Part::Other;
                }
                if path.is_empty() {
                    break;
                }
            }
            XmlEvent::Eof => break,
            _ => {}
        }
    }
    if !saw_event || !path.is_empty() {
        return Err("the XML ends before </Event>".into());
    }
    Ok(out)
}

fn resolve(r: &quick_xml::events::BytesRef<'_>) -> String {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return c.to_string();
    }
    match r.xml_content(XmlVersion::Implicit1_0).as_ref() {
        "lt" => "<".into(),
        "gt" => ">".into(),
        "amp" => "&".into(),
        "apos" => "'".into(),
        "quot" => "\"".into(),
        other => format!("&{other};"),
    }
}

fn start(
    e: &BytesStart<'_>,
    name: &str,
    path: &[String],
    part: &mut Part,
    out: &mut EventXml,
    data_name: &mut Option<String>,
) {
    if path.len() == 1 {
        *part = match name {
            "System" => Part::System,
            "EventData" => Part::EventData,
            "UserData" => Part::UserData,
            _ => Part::Other,
        };
        return;
    }
    match (*part, name) {
        (Part::System, "Provider") => {
            out.provider = attribute(e, "Name").or_else(|| attribute(e, "EventSourceName"));
        }
        (Part::System, "TimeCreated") => out.system_time = attribute(e, "SystemTime"),
        (Part::System, "Correlation") => {
            out.activity_id = attribute(e, "ActivityID").and_then(|a| super::grammar::guid(&a));
        }
        (Part::EventData, "Data") => *data_name = attribute(e, "Name"),
        _ => {}
    }
}

fn end(
    name: &str,
    path: &[String],
    part: Part,
    text: &str,
    out: &mut EventXml,
    data_name: &mut Option<String>,
    unnamed: &mut usize,
) {
    let value = text.trim();
    match part {
        Part::System if path.len() == 2 => match name {
            "EventID" => out.event_id = value.parse().ok(),
            "Level" => out.level = value.parse().ok(),
            "EventRecordID" => out.record_id = value.parse().ok(),
            "Channel" if !value.is_empty() => out.channel = Some(value.to_string()),
            "Computer" if !value.is_empty() => out.computer = Some(value.to_string()),
            _ => {}
        },
        Part::EventData if path.len() == 2 => {
            let key = match (name, data_name.take()) {
                ("Data", Some(n)) => n,
                ("Data", None) => {
                    *unnamed += 1;
                    format!("param{unnamed}")
                }
                (other, _) => other.to_string(),
            };
            out.fields.insert(key, FieldValue::from_text(text));
        }
        // UserData/<wrapper>/<field>: the wrapper is dropped.
        Part::UserData if path.len() == 3 => {
            out.fields
                .insert(name.to_string(), FieldValue::from_text(text));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = r#"<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
  <System>
    <Provider Name="Microsoft-Windows-TerminalServices-ClientActiveXCore" Guid="{28aa95bb-d444-4719-a36f-40462168127e}" />
    <EventID>1026</EventID>
    <Level>4</Level>
    <TimeCreated SystemTime="2020-06-24T23:26:58.1234567Z" />
    <EventRecordID>412</EventRecordID>
    <Correlation ActivityID="{76ABEF77-4BF3-4110-AC89-7CFE101B0000}" />
    <Channel>Microsoft-Windows-TerminalServices-RDPClient/Operational</Channel>
    <Computer>client-machine</Computer>
    <Security UserID="S-1-5-21-1" />
  </System>
  <EventData>
    <Data Name="Name">Disconnect Reason</Data>
    <Data Name="Value">2308</Data>
    <Data Name="CustomLevel">Info</Data>
    <Data Name="Empty" />
  </EventData>
</Event>"#;

    #[test]
    fn system_and_named_data() {
        let x = parse(CLIENT).unwrap();
        assert_eq!(x.event_id, Some(1026));
        assert_eq!(x.level, Some(4));
        assert_eq!(x.record_id, Some(412));
        assert_eq!(x.computer.as_deref(), Some("client-machine"));
        assert_eq!(
            x.system_time.as_deref(),
            Some("2020-06-24T23:26:58.1234567Z")
        );
        assert_eq!(
            x.activity_id.as_deref(),
            Some("{76abef77-4bf3-4110-ac89-7cfe101b0000}")
        );
        assert_eq!(x.fields["Value"], FieldValue::UInt(2308));
        assert_eq!(x.fields["Empty"], FieldValue::Null);
        assert_eq!(x.fields.len(), 4);
    }

    #[test]
    fn user_data_wrapper_is_dropped_and_entities_resolved() {
        let xml = "<e:Event xmlns:e='x'><e:System><e:Provider Name='Microsoft-Windows-TerminalServices-LocalSessionManager'/><e:EventID>21</e:EventID></e:System><e:UserData><EventXML xmlns='Event_NS'><User>CONTOSO\\alice &amp; co&#x21;</User><SessionID>3</SessionID><Address>10.0.0.7</Address></EventXML></e:UserData></e:Event>";
        let x = parse(xml).unwrap();
        assert_eq!(
            x.fields["User"],
            FieldValue::Text("CONTOSO\\alice & co!".into())
        );
        assert_eq!(x.fields["SessionID"], FieldValue::UInt(3));
        assert!(!x.fields.contains_key("EventXML"));
    }

    #[test]
    fn unnamed_data_becomes_params() {
        let xml = "<Event><System><Provider Name='TermDD'/><EventID Qualifiers='49162'>56</EventID></System><EventData><Data>\\Device\\Termdd</Data><Data>10.0.0.7</Data><Binary>00</Binary></EventData></Event>";
        let x = parse(xml).unwrap();
        assert_eq!(x.event_id, Some(56));
        assert_eq!(x.fields["param2"], FieldValue::Text("10.0.0.7".into()));
        assert_eq!(x.fields["Binary"], FieldValue::Text("00".into()));
    }

    #[test]
    fn broken_xml_is_an_error() {
        assert!(parse("<Event><System>").is_err());
        assert!(parse("<NotEvent/>").is_err());
        assert!(parse("<Event><a></b></Event>").is_err());
        assert!(parse("").is_err());
    }
}
