//! Record specs to template instances laid out the way Windows lays them out.
//!
//! Takes: a [`RecordSpec`] and the `EventRecordID` assigned to it.
//! Produces: an [`Instance`] — an outer `<Event>` template definition with its typed values,
//! whose last value is the payload as a nested BinXML template instance (`<EventData>` or the
//! `UserData` wrapper element), exactly as real logs nest them:
//!
//! * Manifest providers: `Provider/@Name`, `Provider/@Guid` and `Channel` are substitutions 14, 15
//!   and 16, `Correlation/@RelatedActivityID` is 13, the payload is 17 (18 values).
//! * Classic providers (those with `EventSourceName`): provider attributes and `Channel` are
//!   literal text, `RelatedActivityID` is 18, the payload is 19 (20 values; 13–17 are NULL).
//!
//! In both, `Computer` is literal text and values 0–12 are Level, Opcode, Task, EventID,
//! Qualifiers, Keywords, TimeCreated, ActivityID, ProcessID, ThreadID, EventRecordID, Version and
//! UserID, all optional substitutions. Templates are plain data ([`TemplateDef`]) so equal shapes
//! share one definition per chunk.

use super::EvtxWriteError;
use super::spec::{Payload, RecordSpec, Value};
use super::value::{Encoded, encode, format_guid, parse_guid, value_type};

/// The namespace of `<Event>`.
const EVENT_NAMESPACE: &str = "http://schemas.microsoft.com/win/2004/08/events/event";

/// A template definition: the element between its fragment header and EOF.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct TemplateDef {
    pub root: Element,
}

/// An element of a template definition.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Element {
    pub name: String,
    /// The value index whose NULL removes this element (MS-EVEN6 DependencyId); `None` = 0xFFFF.
    pub dependency: Option<u16>,
    pub attributes: Vec<(String, Content)>,
    /// `None` closes the start tag as empty (`/>`); `Some` writes `>`, the children and `</x>`.
    pub children: Option<Vec<Node>>,
}

/// Element content.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Node {
    Element(Element),
    Content(Content),
}

/// Character data: literal text or a substitution.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Content {
    Text(String),
    Substitution {
        index: u16,
        value_type: u8,
        /// Optional substitutions (0x0e) drop their element or attribute when the value is NULL.
        optional: bool,
    },
}

/// A template definition with the values of one instance.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Instance {
    pub template: TemplateDef,
    pub values: Vec<InstanceValue>,
}

/// One value of a template instance.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum InstanceValue {
    Plain(Encoded),
    /// A nested BinXML fragment (type 0x21) holding a template instance, with or without a
    /// fragment header before it (Windows writes it for classic events only).
    BinXml {
        fragment_header: bool,
        instance: Box<Instance>,
    },
}

impl Element {
    fn new(name: &str) -> Self {
        Element {
            name: name.to_string(),
            dependency: None,
            attributes: Vec::new(),
            children: None,
        }
    }

    fn depends_on(mut self, index: u16) -> Self {
        self.dependency = Some(index);
        self
    }

    fn attribute(mut self, name: &str, content: Content) -> Self {
        self.attributes.push((name.to_string(), content));
        self
    }

    fn child(mut self, node: Node) -> Self {
        self.children.get_or_insert_with(Vec::new).push(node);
        self
    }
}

fn opt(index: u16, value_type: u8) -> Content {
    Content::Substitution {
        index,
        value_type,
        optional: true,
    }
}

fn text(s: &str) -> Content {
    Content::Text(s.to_string())
}

/// An element whose content is one optional substitution it depends on.
fn sub_element(name: &str, index: u16, value_type: u8) -> Node {
    Node::Element(
        Element::new(name)
            .depends_on(index)
            .child(Node::Content(opt(index, value_type))),
    )
}

/// Value indexes that differ between the two layouts.
struct Layout {
    classic: bool,
    related_activity: u16,
    payload: u16,
}

impl Layout {
    fn for_record(record: &RecordSpec) -> Self {
        if record.event_source_name.is_some() {
            Layout {
                classic: true,
                related_activity: 18,
                payload: 19,
            }
        } else {
            Layout {
                classic: false,
                related_activity: 13,
                payload: 17,
            }
        }
    }
}

/// The `<Provider>` element: substitutions for manifest providers, text for classic ones.
fn provider_element(record: &RecordSpec, layout: &Layout) -> Result<Element, EvtxWriteError> {
    use value_type as t;
    let provider = Element::new("Provider");
    if !layout.classic {
        return Ok(provider
            .attribute("Name", opt(14, t::STRING))
            .attribute("Guid", opt(15, t::GUID)));
    }
    let mut provider = provider.attribute("Name", text(&record.provider_name));
    if let Some(guid) = &record.provider_guid {
        let canonical = format_guid(&parse_guid(guid, "Provider/@Guid")?);
        provider = provider.attribute("Guid", Content::Text(canonical));
    }
    if let Some(source) = &record.event_source_name {
        provider = provider.attribute("EventSourceName", text(source));
    }
    Ok(provider)
}

/// The `<System>` element.
fn system_element(record: &RecordSpec, layout: &Layout) -> Result<Element, EvtxWriteError> {
    use value_type as t;
    let event_id = Element::new("EventID")
        .depends_on(3)
        .attribute("Qualifiers", opt(4, t::UINT16))
        .child(Node::Content(opt(3, t::UINT16)));
    let channel = if layout.classic {
        Node::Element(Element::new("Channel").child(Node::Content(text(&record.channel))))
    } else {
        sub_element("Channel", 16, t::STRING)
    };
    let system = Element::new("System")
        .child(Node::Element(provider_element(record, layout)?))
        .child(Node::Element(event_id))
        .child(sub_element("Version", 11, t::UINT8))
        .child(sub_element("Level", 0, t::UINT8))
        .child(sub_element("Task", 2, t::UINT16))
        .child(sub_element("Opcode", 1, t::UINT8))
        .child(sub_element("Keywords", 5, t::HEX_INT64))
        .child(Node::Element(
            Element::new("TimeCreated").attribute("SystemTime", opt(6, t::FILETIME)),
        ))
        .child(sub_element("EventRecordID", 10, t::UINT64))
        .child(Node::Element(
            Element::new("Correlation")
                .attribute("ActivityID", opt(7, t::GUID))
                .attribute("RelatedActivityID", opt(layout.related_activity, t::GUID)),
        ))
        .child(Node::Element(
            Element::new("Execution")
                .attribute("ProcessID", opt(8, t::UINT32))
                .attribute("ThreadID", opt(9, t::UINT32)),
        ))
        .child(channel)
        .child(Node::Element(
            Element::new("Computer").child(Node::Content(text(&record.computer))),
        ))
        .child(Node::Element(
            Element::new("Security").attribute("UserID", opt(12, t::SID)),
        ));
    Ok(system)
}

/// The outer `<Event>` template definition.
fn event_template(record: &RecordSpec, layout: &Layout) -> Result<TemplateDef, EvtxWriteError> {
    let payload_sub = Node::Content(opt(layout.payload, value_type::BINXML));
    let payload = match record.payload {
        Payload::UserData { .. } => Node::Element(
            Element::new("UserData")
                .depends_on(layout.payload)
                .child(payload_sub),
        ),
        _ => payload_sub,
    };
    let root = Element::new("Event")
        .attribute("xmlns", text(EVENT_NAMESPACE))
        .child(Node::Element(system_element(record, layout)?))
        .child(payload);
    Ok(TemplateDef { root })
}

/// The values of the outer template, in index order.
fn event_values(
    record: &RecordSpec,
    record_id: u64,
    layout: &Layout,
) -> Result<Vec<InstanceValue>, EvtxWriteError> {
    use value_type as t;
    let mut values = vec![
        Encoded::uint8(record.level),
        Encoded::uint8(record.opcode),
        Encoded::uint16(record.task),
        Encoded::uint16(record.event_id),
        match record.qualifiers {
            Some(q) => Encoded::uint16(q),
            None => Encoded::null(t::UINT16),
        },
        Encoded::hex_int64(record.keywords),
        Encoded::filetime(&record.time, "TimeCreated/@SystemTime")?,
        Encoded::optional_guid(record.activity_id.as_deref(), "Correlation/@ActivityID")?,
        Encoded::uint32(record.process_id),
        Encoded::uint32(record.thread_id),
        Encoded::uint64(record_id),
        Encoded::uint8(record.version),
        Encoded::optional_sid(record.user_sid.as_deref(), "Security/@UserID")?,
    ];
    let related = Encoded::optional_guid(
        record.related_activity_id.as_deref(),
        "Correlation/@RelatedActivityID",
    )?;
    if layout.classic {
        values.extend((13..18).map(|_| Encoded::null(t::STRING)));
        values.push(related);
    } else {
        values.push(related);
        values.push(Encoded::string(&record.provider_name));
        values.push(Encoded::optional_guid(
            record.provider_guid.as_deref(),
            "Provider/@Guid",
        )?);
        values.push(Encoded::string(&record.channel));
    }
    let mut values: Vec<InstanceValue> = values.into_iter().map(InstanceValue::Plain).collect();
    values.push(InstanceValue::BinXml {
        fragment_header: layout.classic,
        instance: Box::new(payload_instance(&record.payload)?),
    });
    Ok(values)
}

/// How a payload's fields become elements.
#[derive(Clone, Copy)]
enum FieldStyle {
    /// `<Data Name="field">` (named `EventData`).
    NamedData,
    /// `<Data>` (unnamed `EventData`).
    UnnamedData,
    /// `<field>` (children of a `UserData` wrapper).
    OwnElement,
}

/// One element per field, with substitution `i` for field `i`, and the field values.
fn field_children<'v>(
    fields: impl Iterator<Item = (Option<&'v str>, &'v Value)>,
    style: FieldStyle,
    path: &str,
) -> Result<(Vec<Node>, Vec<InstanceValue>), EvtxWriteError> {
    let mut nodes = Vec::new();
    let mut values = Vec::new();
    for (i, (name, value)) in fields.enumerate() {
        let index = u16::try_from(i).map_err(|_| EvtxWriteError::TooManyValues { count: i + 1 })?;
        let name = name.unwrap_or_default();
        let field = match style {
            FieldStyle::UnnamedData => format!("{path}/Data[{i}]"),
            _ => format!("{path}/{name}"),
        };
        let encoded = encode(value, &field)?;
        let element = match style {
            FieldStyle::NamedData => Element::new("Data").attribute("Name", text(name)),
            FieldStyle::UnnamedData => Element::new("Data"),
            FieldStyle::OwnElement => Element::new(name),
        };
        // Windows refers to NULL payload values only through optional substitutions (libevtx
        // rejects a NULL behind a normal one); libevtx then leaves the element out.
        let sub = Content::Substitution {
            index,
            value_type: encoded.declared_type,
            optional: encoded.value_type == value_type::NULL,
        };
        nodes.push(Node::Element(element.child(Node::Content(sub))));
        values.push(InstanceValue::Plain(encoded));
    }
    Ok((nodes, values))
}

/// The nested payload instance. [`Payload::None`] is an empty `<EventData></EventData>`: real
/// logs never leave the payload value NULL (and libevtx rejects a record that does), they write
/// an empty `EventData` for events without fields.
fn payload_instance(payload: &Payload) -> Result<Instance, EvtxWriteError> {
    let (mut root, (children, values)) = match payload {
        Payload::None => (Element::new("EventData"), (Vec::new(), Vec::new())),
        Payload::EventData(fields) => {
            let fields = fields.iter().map(|(n, v)| (Some(n.as_str()), v));
            let children = field_children(fields, FieldStyle::NamedData, "EventData")?;
            (Element::new("EventData"), children)
        }
        Payload::UnnamedData(items) => {
            let fields = items.iter().map(|v| (None, v));
            let children = field_children(fields, FieldStyle::UnnamedData, "EventData")?;
            (Element::new("EventData"), children)
        }
        Payload::UserData {
            element,
            xmlns,
            fields,
        } => {
            let path = format!("UserData/{element}");
            let fields = fields.iter().map(|(n, v)| (Some(n.as_str()), v));
            let children = field_children(fields, FieldStyle::OwnElement, &path)?;
            let mut root = Element::new(element);
            if !xmlns.is_empty() {
                root = root.attribute("xmlns", text(xmlns));
            }
            (root, children)
        }
    };
    // Opened with `>` even without children: `<EventData></EventData>`, as Windows writes it.
    root.children = Some(children);
    Ok(Instance {
        template: TemplateDef { root },
        values,
    })
}

/// The template instance for `record`, with `record_id` as its `EventRecordID`.
pub(super) fn record_instance(
    record: &RecordSpec,
    record_id: u64,
) -> Result<Instance, EvtxWriteError> {
    let layout = Layout::for_record(record);
    Ok(Instance {
        template: event_template(record, &layout)?,
        values: event_values(record, record_id, &layout)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn spec() -> RecordSpec {
        let time = Utc.with_ymd_and_hms(2024, 1, 17, 21, 20, 1).unwrap();
        RecordSpec::new("P", 1, time, "C", "HOST")
    }

    #[test]
    fn manifest_layout_has_eighteen_values() {
        let instance = record_instance(&spec(), 7).unwrap();
        assert_eq!(instance.values.len(), 18);
        assert_eq!(
            instance.values[10],
            InstanceValue::Plain(Encoded::uint64(7))
        );
        assert_eq!(
            instance.values[14],
            InstanceValue::Plain(Encoded::string("P"))
        );
    }

    #[test]
    fn classic_layout_has_twenty_values_and_literal_provider() {
        let mut record = spec();
        record.event_source_name = Some("Service Control Manager".into());
        record.payload = Payload::UnnamedData(vec![Value::String("x".into())]);
        let instance = record_instance(&record, 1).unwrap();
        assert_eq!(instance.values.len(), 20);
        assert!(matches!(
            instance.values[19],
            InstanceValue::BinXml {
                fragment_header: true,
                ..
            }
        ));
        let system = format!("{:?}", instance.template);
        assert!(system.contains("Text(\"Service Control Manager\")"));
    }

    #[test]
    fn equal_shapes_share_a_template() {
        let mut a = spec();
        let mut b = spec();
        a.payload = Payload::EventData(vec![("X".into(), Value::UInt32(1))]);
        b.payload = Payload::EventData(vec![("X".into(), Value::UInt32(2))]);
        b.event_id = 99;
        let (a, b) = (
            record_instance(&a, 1).unwrap(),
            record_instance(&b, 2).unwrap(),
        );
        assert_eq!(a.template, b.template);
        let inner = |i: &Instance| match &i.values[17] {
            InstanceValue::BinXml { instance, .. } => instance.template.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(inner(&a), inner(&b));
    }
}
