//! The shape of an EVTX template definition: where each part of an event comes from.
//!
//! Takes: a chunk's bytes and the offset of one of its template definitions (a BinXML fragment,
//! MS-EVEN6 §2.2.3). Produces: a [`TemplateShape`] — for the `System` header elements and for
//! each `EventData`/`UserData` field, whether it is literal text in the template or substitution
//! value number *n* of the records that use the template.
//!
//! With the shape, a record's event is built straight from its substitution values (see
//! [`super::evtx_direct`]) instead of rendering the record to JSON and parsing that back. Only
//! the plain shapes Windows writes are accepted: elements, attributes, literal text and
//! substitutions. Anything else (character or entity references, CDATA, processing
//! instructions, nested templates, text mixed with substitutions, an element layout we do not
//! know) gives `None`, and the records of that template are rendered by the `evtx` crate as
//! before — the shape is an optimisation, never a second opinion.

/// Where one piece of text comes from.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Slot {
    /// The element or attribute is not in the template.
    #[default]
    Absent,
    /// Present with no content.
    Empty,
    /// Literal text written in the template.
    Literal(String),
    /// Substitution value number `n` of the record.
    Value(u16),
}

/// One `EventData`/`UserData` field.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldSlot {
    /// The field's name as the JSON rendering keys it (`param1`… for unnamed `Data`).
    pub name: crate::event::FieldName,
    /// Its content.
    pub content: Slot,
    /// The element is left out when this substitution value is null (MS-EVEN6 dependency id).
    pub depends_on: Option<u16>,
    /// A `<Data>` element: empty, it renders as `""` (other elements render as `null`).
    pub empty_is_text: bool,
}

/// The parts of a template the event model reads.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TemplateShape {
    /// `System/Provider/@Name`.
    pub provider: Option<Slot>,
    /// `System/Provider/@EventSourceName`.
    pub event_source: Option<Slot>,
    /// `System/EventID`.
    pub event_id: Option<Slot>,
    /// `System/Level`.
    pub level: Option<Slot>,
    /// `System/TimeCreated/@SystemTime`.
    pub time: Option<Slot>,
    /// `System/EventRecordID`.
    pub record_id: Option<Slot>,
    /// `System/Correlation/@ActivityID`.
    pub activity_id: Option<Slot>,
    /// `System/Channel`.
    pub channel: Option<Slot>,
    /// `System/Computer`.
    pub computer: Option<Slot>,
    /// The payload fields in document order.
    pub fields: Vec<FieldSlot>,
    /// The positions in `fields`, stably sorted by name: the order in which a record's field map
    /// is filled, so that each field is appended after one comparison instead of being searched
    /// for its place (of two fields with one name the later one still wins).
    pub fields_by_name: Vec<u16>,
    /// The substitution value holding the payload as nested BinXML, when the template has one,
    /// and where it sits.
    pub payload: Option<(u16, PayloadKind)>,
    /// The dependency ids of the `System` elements read above: with one of these values null,
    /// the crate leaves that element out (MS-EVEN6 §2.2.12), and the record is left to it.
    pub vanishing: Vec<u16>,
}

/// Limits that keep a hostile template cheap to reject.
const MAX_DEPTH: usize = 16;
const MAX_TOKENS: usize = 4096;

/// A parsed element of the template.
#[derive(Debug, Default)]
struct Element {
    name: String,
    dependency: Option<u16>,
    attributes: Vec<(String, Slot)>,
    children: Vec<Element>,
    /// Content when the element holds no child elements.
    content: Slot,
    /// Text or substitutions beside child elements.
    loose: Vec<Slot>,
}

/// What a template definition is read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// A record's own template: an `Event` element.
    Record,
    /// A template passed as a nested BinXML value in the place given.
    Payload(PayloadKind),
}

/// Where a nested payload template sits in its record's template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadKind {
    /// Beside `System`, inside `Event`: it is the `EventData` or `UserData` element.
    Event,
    /// Inside `UserData`: it is the wrapper element whose children are the fields.
    UserData,
}

/// Parse the template definition at `offset` in `chunk` (the definition header: next offset,
/// GUID, data size, then the BinXML fragment), read in `context`. For a payload template only
/// [`TemplateShape::fields`] is set.
pub fn parse(chunk: &[u8], offset: u32, context: Context) -> Option<TemplateShape> {
    let start = usize::try_from(offset).ok()?;
    let size = u32_at(chunk, start.checked_add(20)?)? as usize;
    let body_start = start.checked_add(24)?;
    let body = chunk.get(body_start..body_start.checked_add(size)?)?;
    let mut reader = Reader {
        chunk,
        base: body_start,
        bytes: body,
        pos: 0,
        tokens: 0,
    };
    reader.fragment_header()?;
    let root = reader.element(0)?;
    // The end-of-stream token (or the end of the definition) after the root element: the crate
    // reads on to it, and fails the template on anything else.
    if !matches!(reader.peek(), None | Some(0x00)) {
        return None;
    }
    let mut shape = match context {
        Context::Record if root.name == "Event" => shape_of(&root)?,
        Context::Record => return None,
        Context::Payload(kind) => {
            let mut shape = TemplateShape::default();
            match kind {
                // The whole EventData or UserData element.
                PayloadKind::Event if root.name == "EventData" || root.name == "UserData" => {
                    payload_element(&root, &mut shape.fields)?;
                }
                // UserData's wrapper element.
                PayloadKind::UserData => wrapper_fields(&root, &mut shape.fields)?,
                _ => return None,
            }
            shape
        }
    };
    shape.fields_by_name = by_name(&shape.fields);
    Some(shape)
}

/// The positions of `fields`, stably sorted by name (none past 2^16 fields, which no chunk has
/// room for: the fields are then filled in document order).
pub fn by_name(fields: &[FieldSlot]) -> Vec<u16> {
    let Ok(mut order) = (0..fields.len())
        .map(u16::try_from)
        .collect::<Result<Vec<u16>, _>>()
    else {
        return Vec::new();
    };
    order.sort_by(|&a, &b| {
        fields[usize::from(a)]
            .name
            .cmp(&fields[usize::from(b)].name)
    });
    order
}

struct Reader<'a> {
    chunk: &'a [u8],
    /// Chunk offset of `bytes[0]` (names are referenced by chunk offset).
    base: usize,
    bytes: &'a [u8],
    pos: usize,
    tokens: usize,
}

impl Reader<'_> {
    fn u8(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn u16(&mut self) -> Option<u16> {
        let b = self.bytes.get(self.pos..self.pos + 2)?;
        self.pos += 2;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Option<u32> {
        let v = u32_at(self.bytes, self.pos)?;
        self.pos += 4;
        Some(v)
    }

    fn token(&mut self) -> Option<u8> {
        self.tokens += 1;
        if self.tokens > MAX_TOKENS {
            return None;
        }
        self.u8()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn fragment_header(&mut self) -> Option<()> {
        (self.token()? == 0x0f).then_some(())?;
        self.pos += 3;
        Some(())
    }

    /// A name reference: a chunk offset; when it points right here, the name is written inline
    /// and is skipped over.
    fn name(&mut self) -> Option<String> {
        let offset = self.u32()? as usize;
        let name = name_at(self.chunk, offset)?;
        if offset == self.base + self.pos {
            let chars =
                u16::from_le_bytes(self.chunk.get(offset + 6..offset + 8)?.try_into().ok()?);
            self.pos += 8 + 2 * usize::from(chars) + 2;
        }
        // A name XML could not have (empty, control characters, quotes, spaces…) is damage: the
        // crate's rendering is the reference for it.
        let name_char = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':');
        if name.is_empty() || !name.chars().all(name_char) {
            return None;
        }
        Some(name)
    }

    /// One element, from its OpenStartElement token to its end.
    fn element(&mut self, depth: usize) -> Option<Element> {
        if depth > MAX_DEPTH {
            return None;
        }
        let token = self.token()?;
        if token & 0xbf != 0x01 {
            return None;
        }
        let dependency = Some(self.u16()?).filter(|d| *d != 0xffff);
        let _data_size = self.u32()?;
        let name = self.name()?;
        let mut element = Element {
            name,
            dependency,
            content: Slot::Empty,
            ..Element::default()
        };
        if token & 0x40 != 0 {
            let _attribute_list_size = self.u32()?;
            while self.peek()? & 0xbf == 0x06 {
                self.token()?;
                let attr_name = self.name()?;
                let value = self.content()?;
                if !matches!(self.peek()? & 0xbf, 0x06 | 0x02 | 0x03) {
                    return None;
                }
                element.attributes.push((attr_name, value));
            }
        }
        match self.token()? {
            0x03 => return Some(element),
            0x02 => {}
            _ => return None,
        }
        self.element_body(&mut element, depth)?;
        Some(element)
    }

    /// Child elements or text up to the EndElement token. Text beside child elements is kept
    /// in `loose` (the root's payload substitution); only the root may have it.
    fn element_body(&mut self, element: &mut Element, depth: usize) -> Option<()> {
        loop {
            match self.peek()? {
                0x04 => {
                    self.token()?;
                    if !element.loose.is_empty() && !element.children.is_empty() {
                        return (depth == 0).then_some(());
                    }
                    // Text alone is the element's content.
                    match element.loose.len() {
                        0 => {}
                        1 => element.content = element.loose.pop()?,
                        _ => return None,
                    }
                    return Some(());
                }
                t if t & 0xbf == 0x01 => {
                    let child = self.element(depth + 1)?;
                    element.children.push(child);
                }
                _ => {
                    let part = self.content()?;
                    element.loose.push(part);
                }
            }
        }
    }

    /// One piece of text: a literal string or a substitution (anything else is not accepted).
    fn content(&mut self) -> Option<Slot> {
        match self.token()? {
            0x05 | 0x45 => {
                if self.u8()? != 0x01 {
                    return None;
                }
                let chars = usize::from(self.u16()?);
                let raw = self.bytes.get(self.pos..self.pos + 2 * chars)?;
                self.pos += 2 * chars;
                // Text ends at a NUL, as the crate renders it.
                let units: Vec<u16> = raw
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .take_while(|&u| u != 0)
                    .collect();
                let text = String::from_utf16(&units).ok()?;
                Some(Slot::Literal(text))
            }
            0x0d | 0x0e => {
                let index = self.u16()?;
                // The crate refuses a template whose substitution declares an unknown type.
                known_value_type(self.u8()?).then_some(Slot::Value(index))
            }
            _ => None,
        }
    }
}

/// A BinXML value type the crate knows (MS-EVEN6 §2.2.8: the scalar types, EvtHandle, BinXml,
/// EvtXml, and the arrays of the scalar types).
fn known_value_type(kind: u8) -> bool {
    matches!(kind, 0x00..=0x15 | 0x20 | 0x21 | 0x23 | 0x81..=0x95)
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The name structure at `offset`: next offset (4), hash (2), character count (2), UTF-16.
fn name_at(chunk: &[u8], offset: usize) -> Option<String> {
    let chars = u16::from_le_bytes(chunk.get(offset + 6..offset + 8)?.try_into().ok()?);
    let start = offset + 8;
    let raw = chunk.get(start..start + 2 * usize::from(chars))?;
    let units: Vec<u16> = raw
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).ok()
}

fn attribute<'e>(element: &'e Element, name: &str) -> Option<&'e Slot> {
    element
        .attributes
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, s)| s)
}

/// Turn the parsed `Event` element into the shape, or `None` for a layout we do not map.
fn shape_of(root: &Element) -> Option<TemplateShape> {
    let mut shape = TemplateShape::default();
    let mut saw_system = false;
    for part in &root.children {
        match (part.name.as_str(), &part.content) {
            ("System", _) if !saw_system => {
                saw_system = true;
                system(part, &mut shape)?;
            }
            // `<UserData>%n</UserData>`: the wrapper comes as a nested template.
            ("UserData", Slot::Value(index))
                if part.children.is_empty() && shape.payload.is_none() =>
            {
                shape.payload = Some((*index, PayloadKind::UserData));
            }
            ("EventData" | "UserData", _) => payload_element(part, &mut shape.fields)?,
            _ => return None,
        }
    }
    match root.loose.as_slice() {
        [] => {}
        [Slot::Value(index)] if shape.payload.is_none() => {
            shape.payload = Some((*index, PayloadKind::Event));
        }
        _ => return None,
    }
    // An `Event` that vanishes with a value is not a shape we map.
    if root
        .dependency
        .is_some_and(|d| shape.payload.is_none_or(|(p, _)| p != d))
    {
        return None;
    }
    (saw_system && root.content == Slot::Empty).then_some(shape)
}

fn payload_element(element: &Element, fields: &mut Vec<FieldSlot>) -> Option<()> {
    if !element.loose.is_empty() {
        return None;
    }
    match element.name.as_str() {
        "EventData" => event_data(element, fields),
        _ => user_data(element, fields),
    }
}

fn system(system: &Element, shape: &mut TemplateShape) -> Option<()> {
    if !system.loose.is_empty() {
        return None;
    }
    for e in &system.children {
        if !e.children.is_empty() || !e.loose.is_empty() {
            return None;
        }
        let content = Some(e.content.clone());
        let mapped = match e.name.as_str() {
            "Provider" => {
                shape.provider = attribute(e, "Name").cloned();
                shape.event_source = attribute(e, "EventSourceName").cloned();
                true
            }
            "EventID" => {
                shape.event_id = content;
                true
            }
            "Level" => {
                shape.level = content;
                true
            }
            "TimeCreated" => {
                shape.time = attribute(e, "SystemTime").cloned();
                true
            }
            "EventRecordID" => {
                shape.record_id = content;
                true
            }
            "Correlation" => {
                // A Correlation that may vanish is not a shape we map.
                if e.dependency.is_some() {
                    return None;
                }
                shape.activity_id = attribute(e, "ActivityID").cloned();
                true
            }
            "Channel" => {
                shape.channel = content;
                true
            }
            "Computer" => {
                shape.computer = content;
                true
            }
            _ => false,
        };
        // An element read here that may vanish (dependency): the event is built only while it
        // is there.
        if let (true, Some(dependency)) = (mapped, e.dependency) {
            shape.vanishing.push(dependency);
        }
    }
    Some(())
}

/// `EventData`: `<Data Name="X">` becomes field X, unnamed `<Data>` become `param1`…, any other
/// child element (`Binary`) is a field of its own name.
fn event_data(event_data: &Element, fields: &mut Vec<FieldSlot>) -> Option<()> {
    if !event_data.attributes.is_empty() || event_data.content != Slot::Empty {
        return None;
    }
    let unnamed = event_data
        .children
        .iter()
        .filter(|c| c.name == "Data" && attribute(c, "Name").is_none())
        .count();
    let mut param = 0;
    for child in &event_data.children {
        if !child.children.is_empty() || !child.loose.is_empty() {
            return None;
        }
        let name = match (child.name.as_str(), attribute(child, "Name")) {
            ("Data", Some(Slot::Literal(name))) => name.clone(),
            ("Data", None) => {
                // One unnamed Data renders as a plain value, several as a list: both are
                // param1…; an unnamed Data that may vanish would renumber the rest.
                if child.dependency.is_some() && unnamed > 1 {
                    return None;
                }
                param += 1;
                format!("param{param}")
            }
            ("Data", Some(_)) => return None,
            (other, _) => other.to_string(),
        };
        if fields.iter().any(|f| *f.name == *name) {
            return None;
        }
        fields.push(FieldSlot {
            name: name.into(),
            content: child.content.clone(),
            depends_on: child.dependency,
            empty_is_text: child.name == "Data",
        });
    }
    Some(())
}

/// `UserData`: one wrapper element whose children are the fields.
fn user_data(user_data: &Element, fields: &mut Vec<FieldSlot>) -> Option<()> {
    let [wrapper] = user_data.children.as_slice() else {
        return None;
    };
    if wrapper.dependency.is_some() {
        return None;
    }
    wrapper_fields(wrapper, fields)
}

/// The children of UserData's wrapper element (`EventXML`, `EventInfo`…) as fields.
fn wrapper_fields(wrapper: &Element, fields: &mut Vec<FieldSlot>) -> Option<()> {
    if wrapper.content != Slot::Empty || !wrapper.loose.is_empty() {
        return None;
    }
    for child in &wrapper.children {
        if !child.children.is_empty() || !child.attributes.is_empty() || !child.loose.is_empty() {
            return None;
        }
        if fields.iter().any(|f| *f.name == *child.name) {
            return None;
        }
        fields.push(FieldSlot {
            name: child.name.as_str().into(),
            content: child.content.clone(),
            depends_on: child.dependency,
            empty_is_text: false,
        });
    }
    Some(())
}

#[cfg(test)]
pub(crate) mod tests;
