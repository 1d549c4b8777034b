//! The pieces of one event being parsed: the element stack, the pending record, and attribute
//! and text helpers.
//!
//! Takes: quick-xml start tags, text and references, from the parser in `mod.rs`.
//! Produces: [`Pending`] records (header + fields) and the helpers that read attributes and text.

#![allow(clippy::wildcard_imports)]

use super::*;

/// What an open element is, by its place in the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Role {
    /// The `<Event>` element itself.
    Event,
    /// `System`.
    System,
    /// A child of `System` (`Provider`, `EventID`, …).
    SystemChild,
    /// `EventData`.
    EventData,
    /// A child of `EventData` (`Data`, `Binary`, …).
    DataItem,
    /// `UserData`.
    UserData,
    /// The single wrapper under `UserData` (`EventXML`, `EventInfo`, …).
    Wrapper,
    /// A child of the wrapper: one field.
    UserField,
    /// Anything else (`RenderingInfo`, unknown elements, nested content).
    Ignored,
}

impl Role {
    /// The role of a child element named `local` under an element of this role.
    pub(super) fn child(self, local: &str) -> Role {
        match self {
            Role::Event => match local {
                "System" => Role::System,
                "EventData" => Role::EventData,
                "UserData" => Role::UserData,
                _ => Role::Ignored,
            },
            Role::System => Role::SystemChild,
            Role::EventData => Role::DataItem,
            Role::UserData => Role::Wrapper,
            Role::Wrapper => Role::UserField,
            Role::SystemChild | Role::DataItem | Role::UserField | Role::Ignored => Role::Ignored,
        }
    }
}

/// The open elements of the current event, reusing their name buffers from event to event.
#[derive(Default)]
pub(super) struct Stack {
    pub(super) frames: Vec<(String, Role)>,
    pub(super) len: usize,
}

impl Stack {
    pub(super) fn push(&mut self, name: &str, role: Role) {
        if let Some(frame) = self.frames.get_mut(self.len) {
            frame.0.clear();
            frame.0.push_str(name);
            frame.1 = role;
        } else {
            self.frames.push((name.to_owned(), role));
        }
        self.len += 1;
    }

    pub(super) fn pop(&mut self) -> Option<Role> {
        self.len = self.len.checked_sub(1)?;
        Some(self.frames[self.len].1)
    }

    pub(super) fn top(&self) -> Option<(&str, Role)> {
        let (name, role) = self.frames.get(self.len.checked_sub(1)?)?;
        Some((name.as_str(), *role))
    }

    pub(super) fn role_at(&self, depth: usize) -> Option<Role> {
        (depth < self.len).then(|| self.frames[depth].1)
    }

    pub(super) fn clear(&mut self) {
        self.len = 0;
    }
}

/// A header value collected from element text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum HeaderText {
    EventId,
    Level,
    RecordId,
    Channel,
    Computer,
}

/// Where captured text goes.
#[derive(Debug)]
pub(super) enum Target {
    Header(HeaderText),
    /// A field; `binary` keeps the value as text (`<Binary>` hex dumps are not numbers).
    Field {
        name: String,
        binary: bool,
    },
}

/// Text being collected for the element at `depth` (the stack length when it was opened).
#[derive(Debug)]
pub(super) struct Capture {
    pub(super) target: Target,
    pub(super) depth: usize,
    pub(super) text: String,
}

/// The event being read.
#[derive(Default)]
pub(super) struct Pending {
    /// Line of the `<Event` start tag.
    pub(super) line: u64,
    pub(super) provider: Option<String>,
    pub(super) source_name: Option<String>,
    pub(super) event_id: Option<String>,
    pub(super) level: Option<String>,
    pub(super) time: Option<String>,
    pub(super) record_id: Option<String>,
    pub(super) activity_id: Option<String>,
    pub(super) channel: Option<String>,
    pub(super) computer: Option<String>,
    /// The first `System` element has ended (later ones are ignored).
    pub(super) system_done: bool,
    /// Build fields (false once the header says the event is irrelevant).
    pub(super) collect: bool,
    pub(super) fields: Fields,
    pub(super) unnamed: usize,
    pub(super) capture: Option<Capture>,
}

/// The header of a finished event.
pub(super) struct Header {
    pub(super) channel: String,
    pub(super) provider: String,
    pub(super) event_id: u32,
}

impl Pending {
    pub(super) fn new(line: u64) -> Self {
        Pending {
            line,
            collect: true,
            ..Pending::default()
        }
    }

    pub(super) fn channel(&self) -> String {
        self.channel.as_deref().unwrap_or("").trim().to_string()
    }

    pub(super) fn provider(&self) -> String {
        self.provider
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .or_else(|| self.source_name.as_deref().map(str::trim))
            .unwrap_or("")
            .to_string()
    }

    pub(super) fn event_id(&self) -> Result<u32, String> {
        let text = self.event_id.as_deref().map(str::trim).unwrap_or("");
        if text.is_empty() {
            return Err("event has no EventID".into());
        }
        parse_number(text)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("EventID is not a number: {:?}", clip(text)))
    }

    pub(super) fn header(&self) -> Result<Header, String> {
        Ok(Header {
            event_id: self.event_id()?,
            channel: self.channel(),
            provider: self.provider(),
        })
    }

    /// `System` ended: decide whether fields are worth building.
    pub(super) fn system_ended(&mut self) {
        if self.system_done {
            return;
        }
        self.system_done = true;
        if let Ok(h) = self.header() {
            self.collect = catalog::is_relevant(&h.channel, &h.provider, h.event_id);
            if !self.collect {
                self.fields.clear();
                if matches!(
                    self.capture,
                    Some(Capture {
                        target: Target::Field { .. },
                        ..
                    })
                ) {
                    self.capture = None;
                }
            }
        }
    }

    /// Store a finished capture.
    pub(super) fn store(&mut self, capture: Capture) {
        match capture.target {
            Target::Header(which) => {
                if self.system_done {
                    return;
                }
                let slot = match which {
                    HeaderText::EventId => &mut self.event_id,
                    HeaderText::Level => &mut self.level,
                    HeaderText::RecordId => &mut self.record_id,
                    HeaderText::Channel => &mut self.channel,
                    HeaderText::Computer => &mut self.computer,
                };
                *slot = Some(capture.text);
            }
            Target::Field { name, binary } => {
                if !self.collect {
                    return;
                }
                let value = if binary {
                    match capture.text.trim() {
                        "" => FieldValue::Null,
                        t => FieldValue::Text(t.to_string()),
                    }
                } else {
                    FieldValue::from_text(&capture.text)
                };
                insert_field(&mut self.fields, name, value);
            }
        }
    }
}

/// Insert a field; a repeated name becomes a list of its values.
pub(super) fn insert_field(fields: &mut Fields, name: String, value: FieldValue) {
    match fields.get_mut(&name) {
        None => {
            fields.insert(name, value);
        }
        Some(FieldValue::List(items)) => items.push(value),
        Some(existing) => {
            let first = std::mem::replace(existing, FieldValue::Null);
            *existing = FieldValue::List(vec![first, value]);
        }
    }
}

/// All attributes of `e` by local name, unescaped (`xmlns` declarations skipped).
pub(super) fn attributes(
    e: &BytesStart<'_>,
    element: &str,
) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for attr in e.attributes().with_checks(false) {
        let attr = attr.map_err(|err| format!("bad attribute in <{element}>: {err}"))?;
        let key = attr.key.into_inner();
        if key == "xmlns" || key.starts_with("xmlns:") {
            continue;
        }
        let value = match attr.normalized_value(XmlVersion::Implicit1_0) {
            Ok(v) => v.into_owned(),
            Err(_) => attr.value.into_owned(),
        };
        let mut value = value;
        if value.len() > MAX_VALUE {
            let mut end = MAX_VALUE;
            while !value.is_char_boundary(end) {
                end -= 1;
            }
            value.truncate(end);
        }
        out.push((attr.key.local_name().into_inner().to_string(), value));
    }
    Ok(out)
}

/// One attribute of `e` by local name.
pub(super) fn attribute(
    e: &BytesStart<'_>,
    element: &str,
    name: &str,
) -> Result<Option<String>, String> {
    Ok(attributes(e, element)?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v))
}

/// Resolve `&name;` / `&#…;`; unknown or invalid references are kept literally.
pub(super) fn resolve_reference(r: &BytesRef<'_>, out: &mut String) {
    let resolved = if r.is_char_ref() {
        r.resolve_char_ref().ok().flatten()
    } else {
        match &**r {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "apos" => Some('\''),
            "quot" => Some('"'),
            _ => None,
        }
    };
    match resolved {
        Some(ch) => out.push(ch),
        None => {
            out.push('&');
            out.push_str(r);
            out.push(';');
        }
    }
}

pub(super) fn push_capped(text: &mut String, more: &str) {
    let room = MAX_VALUE.saturating_sub(text.len());
    if more.len() <= room {
        text.push_str(more);
    } else {
        let mut end = room;
        while !more.is_char_boundary(end) {
            end -= 1;
        }
        text.push_str(&more[..end]);
    }
}

pub(super) fn is_blank(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

pub(super) fn local_part(qname: &str) -> &str {
    qname.rsplit_once(':').map_or(qname, |(_, local)| local)
}

/// A short, printable excerpt of untrusted text for error messages.
pub(super) fn clip(text: &str) -> String {
    let mut out: String = text.chars().take(40).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}
