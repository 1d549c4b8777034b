//! Reader for XML event exports.
//!
//! Takes: one XML [`Source`] in any layout Windows produces (KB §4.2): Event Viewer "Save as XML"
//! (XML declaration, `<Events>` root), `wevtutil qe /f:xml` (concatenated `<Event>` elements with
//! single-quoted attributes and no root), `/f:RenderedXml` (a `<RenderingInfo>` inside each event,
//! skipped) and PowerShell's `Get-WinEvent … ToXml()` output, with or without namespace prefixes
//! (`<e:Event>`), in UTF-8 (with or without BOM) or UTF-16 LE/BE (what Windows PowerShell writes).
//! Produces: records into the [`Collector`], shaped exactly like the EVTX path: Provider `Name`
//! (else `EventSourceName`), `EventID` text (the `Qualifiers` attribute ignored), Level,
//! `TimeCreated/@SystemTime`, EventRecordID, `Correlation/@ActivityID` (normalized), Channel and
//! Computer; named `<Data>` by name, unnamed `<Data>` as `param1..N`, `<Binary>` as text, and
//! UserData's wrapper element (`EventXML`, `EventInfo`…) dropped, its children kept by name.
//! XML carries no types, so values go through [`FieldValue::from_text`]. Each event's provenance
//! is the 1-based line of its `<Event` start tag.
//!
//! Streaming: the file is decoded chunk by chunk into UTF-8 ([`TextStream`], which also counts
//! lines) and read with quick-xml's pull [`Reader`]. Memory is bounded by the largest single
//! element or text run, never by the file size. A field value is capped at [`MAX_VALUE`] bytes.
//!
//! Damage: a malformed event (bad markup, mismatched tags, no `EventID`, a relevant event without
//! a usable `TimeCreated`, a file ending inside it) counts as one failed record `line N: …` and
//! reading resumes at the next `<Event`. Damage *between* events (text, stray event parts, markup
//! that is not XML) counts once per damaged stretch, so a file that stops being XML halfway still
//! yields every complete event before the damage and reports the rest. Nothing here panics.

use super::{Collector, normalize_guid, parse_system_time};
use crate::event::{Event, FieldValue, Fields, Provenance, catalog, parse_number};
use crate::source::Source;
use quick_xml::events::{BytesRef, BytesStart, Event as XmlEvent};
use quick_xml::{Reader, XmlVersion};
use std::io::{self, BufRead, Read};
use std::sync::Arc;

/// Bytes read from the file per chunk.
const CHUNK: usize = 64 * 1024;

/// Largest field or header value kept, in bytes (longer values are cut at a character boundary).
pub const MAX_VALUE: usize = 1 << 20;

/// Read every event of an XML export. `Err` means the file could not be opened, or reading it
/// failed part-way (an I/O error, not bad content).
pub fn read(source: &Source, collector: &mut Collector) -> Result<(), String> {
    let file = std::fs::File::open(&source.path).map_err(|e| format!("cannot open: {e}"))?;
    read_from(file, source.display.clone(), collector)
}

/// Read every event from `input`; `path` is what provenance names.
pub(crate) fn read_from<R: Read>(
    input: R,
    path: Arc<str>,
    collector: &mut Collector,
) -> Result<(), String> {
    let mut parser = Parser::new(path);
    let mut reader = xml_reader(TextStream::new(input));
    let mut buf = Vec::new();
    // Where the last parse error left the stream: a second error at the same place means the
    // parser made no progress, so one byte is skipped by hand.
    let mut last_error_at = None;
    loop {
        buf.clear();
        let line = reader.get_ref().line();
        match reader.read_event_into(&mut buf) {
            Ok(XmlEvent::Eof) => break,
            Ok(event) => parser.handle(event, line, collector),
            Err(quick_xml::Error::Io(err)) => {
                parser.damage(line, "read error", collector);
                return Err(format!("read error near line {line}: {err}"));
            }
            Err(err) => {
                parser.damage(line, &format!("not well-formed XML: {err}"), collector);
                // quick-xml stops for good after most errors: restart it where the stream is.
                let mut stream = reader.into_inner();
                if last_error_at == Some(stream.consumed()) {
                    stream.skip_byte().map_err(|e| format!("read error: {e}"))?;
                }
                last_error_at = Some(stream.consumed());
                reader = xml_reader(stream);
            }
        }
    }
    parser.end_of_file(reader.get_ref().line(), collector);
    Ok(())
}

/// A quick-xml reader configured to be lenient: tag nesting is checked here (to resync on the next
/// `<Event`), lone `&` is text.
fn xml_reader<R: BufRead>(stream: R) -> Reader<R> {
    let mut reader = Reader::from_reader(stream);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    config.expand_empty_elements = false;
    config.trim_text(false);
    reader
}

/// What an open element is, by its place in the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
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
    fn child(self, local: &str) -> Role {
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
struct Stack {
    frames: Vec<(String, Role)>,
    len: usize,
}

impl Stack {
    fn push(&mut self, name: &str, role: Role) {
        if let Some(frame) = self.frames.get_mut(self.len) {
            frame.0.clear();
            frame.0.push_str(name);
            frame.1 = role;
        } else {
            self.frames.push((name.to_owned(), role));
        }
        self.len += 1;
    }

    fn pop(&mut self) -> Option<Role> {
        self.len = self.len.checked_sub(1)?;
        Some(self.frames[self.len].1)
    }

    fn top(&self) -> Option<(&str, Role)> {
        let (name, role) = self.frames.get(self.len.checked_sub(1)?)?;
        Some((name.as_str(), *role))
    }

    fn role_at(&self, depth: usize) -> Option<Role> {
        (depth < self.len).then(|| self.frames[depth].1)
    }

    fn clear(&mut self) {
        self.len = 0;
    }
}

/// A header value collected from element text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HeaderText {
    EventId,
    Level,
    RecordId,
    Channel,
    Computer,
}

/// Where captured text goes.
#[derive(Debug)]
enum Target {
    Header(HeaderText),
    /// A field; `binary` keeps the value as text (`<Binary>` hex dumps are not numbers).
    Field {
        name: String,
        binary: bool,
    },
}

/// Text being collected for the element at `depth` (the stack length when it was opened).
#[derive(Debug)]
struct Capture {
    target: Target,
    depth: usize,
    text: String,
}

/// The event being read.
#[derive(Default)]
struct Pending {
    /// Line of the `<Event` start tag.
    line: u64,
    provider: Option<String>,
    source_name: Option<String>,
    event_id: Option<String>,
    level: Option<String>,
    time: Option<String>,
    record_id: Option<String>,
    activity_id: Option<String>,
    channel: Option<String>,
    computer: Option<String>,
    /// The first `System` element has ended (later ones are ignored).
    system_done: bool,
    /// Build fields (false once the header says the event is irrelevant).
    collect: bool,
    fields: Fields,
    unnamed: usize,
    capture: Option<Capture>,
}

/// The header of a finished event.
struct Header {
    channel: String,
    provider: String,
    event_id: u32,
}

impl Pending {
    fn new(line: u64) -> Self {
        Pending {
            line,
            collect: true,
            ..Pending::default()
        }
    }

    fn channel(&self) -> String {
        self.channel.as_deref().unwrap_or("").trim().to_string()
    }

    fn provider(&self) -> String {
        self.provider
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .or_else(|| self.source_name.as_deref().map(str::trim))
            .unwrap_or("")
            .to_string()
    }

    fn event_id(&self) -> Result<u32, String> {
        let text = self.event_id.as_deref().map(str::trim).unwrap_or("");
        if text.is_empty() {
            return Err("event has no EventID".into());
        }
        parse_number(text)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("EventID is not a number: {:?}", clip(text)))
    }

    fn header(&self) -> Result<Header, String> {
        Ok(Header {
            event_id: self.event_id()?,
            channel: self.channel(),
            provider: self.provider(),
        })
    }

    /// `System` ended: decide whether fields are worth building.
    fn system_ended(&mut self) {
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
    fn store(&mut self, capture: Capture) {
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
fn insert_field(fields: &mut Fields, name: String, value: FieldValue) {
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

/// Turns quick-xml events into records.
struct Parser {
    path: Arc<str>,
    stack: Stack,
    current: Option<Pending>,
    /// Inside a damaged stretch that was already counted: stay quiet until the next `<Event`.
    skipping: bool,
}

impl Parser {
    fn new(path: Arc<str>) -> Self {
        Parser {
            path,
            stack: Stack::default(),
            current: None,
            skipping: false,
        }
    }

    fn handle(&mut self, event: XmlEvent<'_>, line: u64, c: &mut Collector) {
        match event {
            XmlEvent::Start(e) | XmlEvent::Empty(e) if e.contains('<') => {
                self.broken_tag(&e, line, c)
            }
            XmlEvent::End(e) if e.contains('<') => self.broken_tag(&e, line, c),
            XmlEvent::Start(e) => self.start(&e, false, line, c),
            XmlEvent::Empty(e) => self.start(&e, true, line, c),
            XmlEvent::End(e) => self.end(e.name().into_inner(), line, c),
            XmlEvent::Text(t) => {
                if self.capturing() {
                    self.append(&t.xml10_content());
                } else if self.current.is_none() && !is_blank(&t) {
                    let blank = t.len() - t.trim_start_matches([' ', '\t', '\r', '\n']).len();
                    let line = line + t[..blank].matches('\n').count() as u64;
                    self.damage(line, "text outside an <Event>", c);
                }
            }
            XmlEvent::CData(t) => {
                if self.capturing() {
                    self.append(&t.xml10_content());
                } else if self.current.is_none() {
                    self.damage(line, "CDATA outside an <Event>", c);
                }
            }
            XmlEvent::GeneralRef(r) => {
                if self.capturing() {
                    let mut resolved = String::new();
                    resolve_reference(&r, &mut resolved);
                    self.append(&resolved);
                } else if self.current.is_none() {
                    self.damage(line, "text outside an <Event>", c);
                }
            }
            XmlEvent::Comment(_)
            | XmlEvent::Decl(_)
            | XmlEvent::PI(_)
            | XmlEvent::DocType(_)
            | XmlEvent::Eof => {}
        }
    }

    /// A tag with a `<` inside (`<Comp<Event xmlns='…'>`): an earlier tag was cut short. The cut
    /// part is damage; the part after the last `<` is read as the tag it is.
    fn broken_tag(&mut self, content: &str, line: u64, c: &mut Collector) {
        self.damage(line, "a tag is cut short", c);
        let Some((head, tail)) = content.rsplit_once('<') else {
            return;
        };
        let line = line + head.matches('\n').count() as u64;
        if let Some(name) = tail.strip_prefix('/') {
            let name = name.trim_end_matches([' ', '\t', '\r', '\n']);
            self.end(name, line, c);
            return;
        }
        if tail.starts_with(['!', '?']) {
            return;
        }
        let (tail, empty) = match tail.strip_suffix('/') {
            Some(t) => (t, true),
            None => (tail, false),
        };
        let name_len = tail
            .find([' ', '\t', '\r', '\n', '/'])
            .unwrap_or(tail.len());
        if name_len == 0 {
            return;
        }
        let start = BytesStart::from_content(tail, name_len);
        self.start(&start, empty, line, c);
    }

    fn capturing(&self) -> bool {
        self.current.as_ref().is_some_and(|p| p.capture.is_some())
    }

    fn append(&mut self, text: &str) {
        if let Some(capture) = self.current.as_mut().and_then(|p| p.capture.as_mut()) {
            push_capped(&mut capture.text, text);
        }
    }

    /// A start tag (or an empty-element tag, which opens and closes at once).
    fn start(&mut self, e: &BytesStart<'_>, empty: bool, line: u64, c: &mut Collector) {
        let qname = e.name().into_inner();
        let local = e.local_name().into_inner();
        if self.current.is_some()
            && local == "Event"
            && self.stack.role_at(1) != Some(Role::UserData)
        {
            // An `<Event>` cannot nest: the open one was cut short.
            self.fail_current(line, "event not closed before the next <Event>", c);
        }
        if self.current.is_none() {
            match local {
                "Event" => {
                    self.current = Some(Pending::new(line));
                    self.skipping = false;
                    self.stack.clear();
                    self.stack.push(qname, Role::Event);
                    if empty {
                        self.close_top(line, c);
                    }
                }
                "System" | "EventData" | "UserData" | "RenderingInfo" => {
                    self.damage(line, &format!("<{local}> outside an <Event>"), c);
                }
                _ => {}
            }
            return;
        }
        let parent = self.stack.top().map_or(Role::Ignored, |(_, role)| role);
        let role = parent.child(local);
        let depth = self.stack.len + 1;
        if let Err(message) = self.open(e, local, role, depth) {
            self.fail_current(line, &message, c);
            return;
        }
        self.stack.push(qname, role);
        if empty {
            self.close_top(line, c);
        }
    }

    /// Read what an opening element contributes: attributes, or the start of a text capture.
    fn open(
        &mut self,
        e: &BytesStart<'_>,
        local: &str,
        role: Role,
        depth: usize,
    ) -> Result<(), String> {
        let Some(p) = self.current.as_mut() else {
            return Ok(());
        };
        match role {
            Role::SystemChild if !p.system_done => {
                let header = match local {
                    "Provider" => {
                        for (key, value) in attributes(e, local)? {
                            match key.as_str() {
                                "Name" => p.provider = Some(value),
                                "EventSourceName" => p.source_name = Some(value),
                                _ => {}
                            }
                        }
                        None
                    }
                    "TimeCreated" => {
                        p.time = attribute(e, local, "SystemTime")?.or(p.time.take());
                        None
                    }
                    "Correlation" => {
                        p.activity_id = attribute(e, local, "ActivityID")?.or(p.activity_id.take());
                        None
                    }
                    "EventID" => Some(HeaderText::EventId),
                    "Level" => Some(HeaderText::Level),
                    "EventRecordID" => Some(HeaderText::RecordId),
                    "Channel" => Some(HeaderText::Channel),
                    "Computer" => Some(HeaderText::Computer),
                    _ => None,
                };
                if let Some(which) = header {
                    p.capture = Some(Capture {
                        target: Target::Header(which),
                        depth,
                        text: String::new(),
                    });
                }
            }
            Role::DataItem if p.collect => {
                let name = if local == "Data" {
                    match attribute(e, local, "Name")? {
                        Some(name) => name,
                        None => {
                            p.unnamed += 1;
                            format!("param{}", p.unnamed)
                        }
                    }
                } else {
                    local.to_string()
                };
                p.capture = Some(Capture {
                    target: Target::Field {
                        name,
                        binary: local == "Binary",
                    },
                    depth,
                    text: String::new(),
                });
            }
            Role::Wrapper | Role::UserField if p.collect => {
                // The wrapper's own text counts only if it turns out to have no children.
                p.capture = Some(Capture {
                    target: Target::Field {
                        name: local.to_string(),
                        binary: false,
                    },
                    depth,
                    text: String::new(),
                });
            }
            _ => {}
        }
        Ok(())
    }

    /// An end tag.
    fn end(&mut self, qname: &str, line: u64, c: &mut Collector) {
        if self.current.is_none() {
            if local_part(qname) == "Event" {
                self.damage(line, "</Event> without its start", c);
            }
            return;
        }
        match self.stack.top() {
            Some((open, _)) if open == qname => self.close_top(line, c),
            Some((open, _)) => {
                let message = format!("</{}> where </{}> was expected", clip(qname), clip(open));
                self.fail_current(line, &message, c);
            }
            None => self.fail_current(line, "unbalanced tags", c),
        }
    }

    /// Close the innermost open element of the current event.
    fn close_top(&mut self, line: u64, c: &mut Collector) {
        let depth = self.stack.len;
        let Some(role) = self.stack.pop() else {
            return;
        };
        let Some(p) = self.current.as_mut() else {
            return;
        };
        if p.capture.as_ref().is_some_and(|cap| cap.depth == depth)
            && let Some(capture) = p.capture.take()
            // A wrapper with children was a container; with text only, it is the field.
            && (role != Role::Wrapper || !is_blank(&capture.text))
        {
            p.store(capture);
        }
        match role {
            Role::System => p.system_ended(),
            Role::Event => self.finish_event(line, c),
            _ => {}
        }
    }

    /// The current event's `</Event>`: count it, and keep it if relevant.
    fn finish_event(&mut self, line: u64, c: &mut Collector) {
        let Some(p) = self.current.take() else {
            return;
        };
        self.stack.clear();
        let header = match p.header() {
            Ok(h) => h,
            Err(message) => {
                self.fail(&p, line, &message, c);
                return;
            }
        };
        let time = p.time.as_deref().and_then(parse_system_time);
        let relevant = catalog::is_relevant(&header.channel, &header.provider, header.event_id);
        if relevant && time.is_none() {
            self.fail(&p, line, "event has no valid TimeCreated/@SystemTime", c);
            return;
        }
        let host = p.computer.as_deref().unwrap_or("").trim();
        if !c.wants(&header.channel, &header.provider, header.event_id, host) {
            return;
        }
        let Some(time) = time else {
            return;
        };
        let host = host.to_string();
        c.push(Event {
            time,
            host,
            channel: header.channel,
            provider: header.provider,
            event_id: header.event_id,
            level: p.level.as_deref().and_then(|l| l.trim().parse::<u8>().ok()),
            record_id: p.record_id.as_deref().and_then(parse_number),
            activity_id: p.activity_id.as_deref().and_then(normalize_guid),
            fields: p.fields,
            source: Provenance::line(self.path.clone(), p.line),
        });
    }

    /// Count the current event as failed and skip to the next `<Event`.
    fn fail_current(&mut self, line: u64, what: &str, c: &mut Collector) {
        if let Some(p) = self.current.take() {
            self.fail(&p, line, what, c);
        }
        self.stack.clear();
        self.skipping = true;
    }

    fn fail(&self, p: &Pending, line: u64, what: &str, c: &mut Collector) {
        let start = p.line;
        c.fail(|| {
            if line == start {
                format!("line {start}: {what}")
            } else {
                format!("line {start}: {what} (at line {line})")
            }
        });
    }

    /// Something is wrong at `line`: fail the open event, or count the damaged stretch once.
    fn damage(&mut self, line: u64, what: &str, c: &mut Collector) {
        if self.current.is_some() {
            self.fail_current(line, what, c);
        } else if !self.skipping {
            c.fail(|| format!("line {line}: {what}"));
            self.skipping = true;
        }
    }

    /// The file ended: an open event was truncated.
    fn end_of_file(&mut self, line: u64, c: &mut Collector) {
        if self.current.is_some() {
            self.fail_current(line, "the file ends inside this event (truncated)", c);
        }
    }
}

/// All attributes of `e` by local name, unescaped (`xmlns` declarations skipped).
fn attributes(e: &BytesStart<'_>, element: &str) -> Result<Vec<(String, String)>, String> {
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
fn attribute(e: &BytesStart<'_>, element: &str, name: &str) -> Result<Option<String>, String> {
    Ok(attributes(e, element)?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v))
}

/// Resolve `&name;` / `&#…;`; unknown or invalid references are kept literally.
fn resolve_reference(r: &BytesRef<'_>, out: &mut String) {
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

fn push_capped(text: &mut String, more: &str) {
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

fn is_blank(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

fn local_part(qname: &str) -> &str {
    qname.rsplit_once(':').map_or(qname, |(_, local)| local)
}

/// A short, printable excerpt of untrusted text for error messages.
fn clip(text: &str) -> String {
    let mut out: String = text.chars().take(40).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// The text encodings an export can come in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Utf16 { little_endian: bool },
}

/// Streams a file as UTF-8 for quick-xml, whatever its encoding, and counts lines as quick-xml
/// consumes the text.
///
/// The encoding is taken from the BOM (UTF-8, UTF-16 LE/BE), else from a NUL byte pattern in the
/// first four bytes (BOM-less UTF-16), else UTF-8. Invalid sequences become U+FFFD, so the output
/// is always valid UTF-8.
pub(crate) struct TextStream<R> {
    inner: R,
    encoding: Option<Encoding>,
    /// Undecoded input (at most a partial character between chunks).
    raw: Vec<u8>,
    /// Decoded UTF-8, served from `pos`.
    out: Vec<u8>,
    pos: usize,
    eof: bool,
    newlines: u64,
    consumed: u64,
}

impl<R: Read> TextStream<R> {
    pub(crate) fn new(inner: R) -> Self {
        TextStream {
            inner,
            encoding: None,
            raw: Vec::new(),
            out: Vec::new(),
            pos: 0,
            eof: false,
            newlines: 0,
            consumed: 0,
        }
    }

    /// The 1-based line of the next byte to be consumed.
    pub(crate) fn line(&self) -> u64 {
        self.newlines + 1
    }

    /// Decoded bytes consumed so far.
    pub(crate) fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Skip one decoded byte (used to get past input the XML parser cannot move over).
    fn skip_byte(&mut self) -> io::Result<()> {
        if !self.fill_buf()?.is_empty() {
            self.consume(1);
        }
        Ok(())
    }

    /// Append one chunk of input to `raw`; sets `eof` when the input is exhausted.
    fn read_raw(&mut self) -> io::Result<()> {
        let start = self.raw.len();
        self.raw.resize(start + CHUNK, 0);
        let result = loop {
            match self.inner.read(&mut self.raw[start..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let n = *result.as_ref().unwrap_or(&0);
        self.raw.truncate(start + n);
        if n == 0 && result.is_ok() {
            self.eof = true;
        }
        result.map(|_| ())
    }

    /// Decode the next stretch of input into `out`.
    fn refill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.pos = 0;
        let encoding = match self.encoding {
            Some(encoding) => {
                if !self.eof {
                    self.read_raw()?;
                }
                encoding
            }
            None => {
                while self.raw.len() < 4 && !self.eof {
                    self.read_raw()?;
                }
                let encoding = detect_encoding(&mut self.raw);
                self.encoding = Some(encoding);
                encoding
            }
        };
        match encoding {
            Encoding::Utf8 => decode_utf8(&mut self.raw, &mut self.out, self.eof),
            Encoding::Utf16 { little_endian } => {
                decode_utf16(&mut self.raw, &mut self.out, little_endian, self.eof)
            }
        }
        Ok(())
    }
}

impl<R: Read> BufRead for TextStream<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos >= self.out.len() {
            if self.eof && self.raw.is_empty() && self.encoding.is_some() {
                return Ok(&[]);
            }
            self.refill()?;
        }
        Ok(&self.out[self.pos..])
    }

    fn consume(&mut self, amount: usize) {
        let end = self.pos.saturating_add(amount).min(self.out.len());
        let taken = &self.out[self.pos..end];
        self.newlines += taken.iter().filter(|&&b| b == b'\n').count() as u64;
        self.consumed += taken.len() as u64;
        self.pos = end;
    }
}

impl<R: Read> Read for TextStream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// Pick the encoding from the first bytes, removing a BOM.
fn detect_encoding(raw: &mut Vec<u8>) -> Encoding {
    let (encoding, bom) = match raw.as_slice() {
        [0xEF, 0xBB, 0xBF, ..] => (Encoding::Utf8, 3),
        [0xFF, 0xFE, ..] => (
            Encoding::Utf16 {
                little_endian: true,
            },
            2,
        ),
        [0xFE, 0xFF, ..] => (
            Encoding::Utf16 {
                little_endian: false,
            },
            2,
        ),
        [a, 0, b, 0, ..] if *a != 0 && *b != 0 => (
            Encoding::Utf16 {
                little_endian: true,
            },
            0,
        ),
        [0, a, 0, b, ..] if *a != 0 && *b != 0 => (
            Encoding::Utf16 {
                little_endian: false,
            },
            0,
        ),
        _ => (Encoding::Utf8, 0),
    };
    raw.drain(..bom);
    encoding
}

const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// Move the valid UTF-8 in `raw` to `out` (invalid sequences become U+FFFD); a character cut at the
/// end of the chunk stays in `raw` unless this is the end of the input.
fn decode_utf8(raw: &mut Vec<u8>, out: &mut Vec<u8>, eof: bool) {
    if std::str::from_utf8(raw).is_ok() {
        std::mem::swap(raw, out);
        raw.clear();
        return;
    }
    let mut i = 0;
    while i < raw.len() {
        match std::str::from_utf8(&raw[i..]) {
            Ok(_) => {
                out.extend_from_slice(&raw[i..]);
                i = raw.len();
            }
            Err(err) => {
                let good = err.valid_up_to();
                out.extend_from_slice(&raw[i..i + good]);
                i += good;
                match err.error_len() {
                    Some(bad) => {
                        out.extend_from_slice(REPLACEMENT);
                        i += bad;
                    }
                    None if eof => {
                        out.extend_from_slice(REPLACEMENT);
                        i = raw.len();
                    }
                    None => break,
                }
            }
        }
    }
    raw.drain(..i);
}

/// Move the UTF-16 code units in `raw` to `out` as UTF-8 (unpaired surrogates become U+FFFD); a
/// unit or surrogate pair cut at the end of the chunk stays in `raw` unless this is the end.
fn decode_utf16(raw: &mut Vec<u8>, out: &mut Vec<u8>, little_endian: bool, eof: bool) {
    let unit = |b: &[u8]| {
        if little_endian {
            u16::from_le_bytes([b[0], b[1]])
        } else {
            u16::from_be_bytes([b[0], b[1]])
        }
    };
    let push = |out: &mut Vec<u8>, ch: char| {
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    };
    let mut i = 0;
    while i + 2 <= raw.len() {
        let u = unit(&raw[i..]);
        match u {
            0..=0x7F => {
                out.push(u as u8);
                i += 2;
            }
            0xD800..=0xDBFF => {
                if i + 4 <= raw.len() {
                    let low = unit(&raw[i + 2..]);
                    if (0xDC00..=0xDFFF).contains(&low) {
                        let code =
                            0x10000 + ((u32::from(u) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                        push(out, char::from_u32(code).unwrap_or('\u{FFFD}'));
                        i += 4;
                    } else {
                        out.extend_from_slice(REPLACEMENT);
                        i += 2;
                    }
                } else if eof {
                    out.extend_from_slice(REPLACEMENT);
                    i += 2;
                } else {
                    break;
                }
            }
            0xDC00..=0xDFFF => {
                out.extend_from_slice(REPLACEMENT);
                i += 2;
            }
            _ => {
                push(out, char::from_u32(u32::from(u)).unwrap_or('\u{FFFD}'));
                i += 2;
            }
        }
    }
    if eof && i < raw.len() {
        out.extend_from_slice(REPLACEMENT);
        i = raw.len();
    }
    raw.drain(..i);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{FileIngest, IngestOptions};
    use crate::source::{InputFormat, InputStatus};
    use proptest::prelude::*;

    const NS: &str = "http://schemas.microsoft.com/win/2004/08/events/event";

    /// Read `bytes` as an XML export named `mem.xml`.
    fn run(bytes: &[u8]) -> FileIngest {
        run_from(bytes)
    }

    fn run_from<R: Read>(input: R) -> FileIngest {
        let source = Source {
            path: "mem.xml".into(),
            display: Arc::from("mem.xml"),
            size: 0,
            format: InputFormat::Xml,
        };
        let mut collector = Collector::new(&source, &IngestOptions::default());
        let fatal = read_from(input, source.display.clone(), &mut collector).err();
        collector.finish(fatal)
    }

    fn utf16(text: &str, little_endian: bool, bom: bool) -> Vec<u8> {
        let mut bytes = Vec::new();
        let units = bom
            .then_some(0xFEFFu16)
            .into_iter()
            .chain(text.encode_utf16());
        for unit in units {
            if little_endian {
                bytes.extend_from_slice(&unit.to_le_bytes());
            } else {
                bytes.extend_from_slice(&unit.to_be_bytes());
            }
        }
        bytes
    }

    /// A client 1026 as `wevtutil qe /f:xml` prints it (one line, single quotes).
    fn client_1026(record: u64, value: &str) -> String {
        format!(
            "<Event xmlns='{NS}'><System><Provider Name='Microsoft-Windows-TerminalServices-ClientActiveXCore' Guid='{{28aa95bb-d444-4719-a36f-40462168127e}}'/><EventID>1026</EventID><Version>0</Version><Level>4</Level><Task>101</Task><Opcode>11</Opcode><Keywords>0x4000000000000000</Keywords><TimeCreated SystemTime='2024-05-14T09:12:05.2345678Z'/><EventRecordID>{record}</EventRecordID><Correlation ActivityID='{{6A1F3C2E-9B4D-4E7A-8C15-2F0B9D4E0000}}'/><Execution ProcessID='7412' ThreadID='8120'/><Channel>Microsoft-Windows-TerminalServices-RDPClient/Operational</Channel><Computer>WS-ALICE.contoso.local</Computer><Security UserID='S-1-5-21-1004336348-1177238915-682003330-1106'/></System><EventData><Data Name='Name'>Disconnect Reason</Data><Data Name='Value'>{value}</Data><Data Name='CustomLevel'>Info</Data></EventData></Event>"
        )
    }

    /// An irrelevant System event (Service Control Manager 7040) with unnamed data.
    fn scm_7040(record: u64) -> String {
        format!(
            "<Event xmlns='{NS}'><System><Provider Name='Service Control Manager' Guid='{{555908d1-a6d7-4695-8e1e-26931d2012f4}}' EventSourceName='Service Control Manager'/><EventID Qualifiers='16384'>7040</EventID><Level>4</Level><TimeCreated SystemTime='2024-05-14T09:00:00.000000000Z'/><EventRecordID>{record}</EventRecordID><Correlation/><Channel>System</Channel><Computer>RDSH01.contoso.local</Computer></System><EventData><Data Name='param1'>Background Intelligent Transfer Service</Data></EventData></Event>"
        )
    }

    #[test]
    fn event_viewer_layout_with_declaration_root_and_rendering_info() {
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<Events>\r\n{}\r\n<Event xmlns='{NS}'><System><Provider Name='Service Control Manager' Guid='{{555908d1-a6d7-4695-8e1e-26931d2012f4}}' EventSourceName='Service Control Manager'/><EventID Qualifiers='16384'>7036</EventID><Version>0</Version><Level>4</Level><Task>0</Task><TimeCreated SystemTime='2024-05-14T09:20:00.1000000Z'/><EventRecordID>88120</EventRecordID><Correlation/><Channel>System</Channel><Computer>RDSH01.contoso.local</Computer><Security/></System><EventData><Data Name='param1'>Remote Desktop Services</Data><Data Name='param2'>running</Data><Binary>540065007200</Binary></EventData><RenderingInfo Culture='en-US'><Message>The Remote Desktop Services service entered the running state.</Message><Level>Information</Level><Task></Task><Opcode></Opcode><Channel>System</Channel><Provider>Microsoft-Windows-Service Control Manager</Provider><Keywords><Keyword>Classic</Keyword></Keywords></RenderingInfo></Event>\r\n</Events>\r\n",
            client_1026(311, "2308")
        );
        let done = run(xml.as_bytes());
        assert_eq!(done.report.records, 2);
        assert_eq!(
            done.report.failed_records, 0,
            "{:?}",
            done.report.first_error
        );
        assert_eq!(done.report.status, InputStatus::Read);
        assert_eq!(done.events.len(), 2);
        let e = &done.events[0];
        assert_eq!(e.event_id, 1026);
        assert_eq!(
            e.provider,
            "Microsoft-Windows-TerminalServices-ClientActiveXCore"
        );
        assert_eq!(e.channel, catalog::RDPCLIENT_OPERATIONAL);
        assert_eq!(e.host, "WS-ALICE.contoso.local");
        assert_eq!(e.level, Some(4));
        assert_eq!(e.record_id, Some(311));
        assert_eq!(e.time.to_rfc3339(), "2024-05-14T09:12:05.234567800+00:00");
        assert_eq!(
            e.activity_id.as_deref(),
            Some("{6a1f3c2e-9b4d-4e7a-8c15-2f0b9d4e0000}")
        );
        assert_eq!(e.fields["Value"], FieldValue::UInt(2308));
        assert_eq!(
            e.fields["Name"],
            FieldValue::Text("Disconnect Reason".into())
        );
        assert_eq!(e.source, Provenance::line(Arc::from("mem.xml"), 3));
        let s = &done.events[1];
        assert_eq!(s.event_id, 7036, "Qualifiers ignored");
        assert_eq!(s.provider, "Service Control Manager");
        assert_eq!(s.activity_id, None);
        assert_eq!(s.fields["param2"], FieldValue::Text("running".into()));
        assert_eq!(s.fields["Binary"], FieldValue::Text("540065007200".into()));
        assert!(
            !s.fields.contains_key("Message"),
            "RenderingInfo is not a field"
        );
        assert_eq!(s.fields.len(), 3);
        assert_eq!(s.source.position(), 4);
        // One record per host: the tie goes to the first name in order.
        assert_eq!(done.report.host.as_deref(), Some("RDSH01.contoso.local"));
    }

    #[test]
    fn wevtutil_layout_without_root_counts_irrelevant_records() {
        let xml = format!(
            "{}\r\n{}\r\n{}\r\n",
            scm_7040(1),
            client_1026(2, "0x904"),
            scm_7040(3)
        );
        let done = run(xml.as_bytes());
        assert_eq!(done.report.records, 3);
        assert_eq!(done.report.relevant, 1);
        assert_eq!(done.report.failed_records, 0);
        assert_eq!(done.events[0].fields["Value"], FieldValue::Hex(0x904));
        assert_eq!(done.events[0].fields["Value"].as_u64(), Some(2308));
        assert_eq!(done.events[0].source.position(), 2);
        assert_eq!(done.report.host.as_deref(), Some("RDSH01.contoso.local"));
    }

    #[test]
    fn rendered_xml_prefixes_double_quotes_entities_and_cdata() {
        let xml = format!(
            r#"<e:Event xmlns:e="{NS}">
  <e:System>
    <e:Provider Name="Microsoft-Windows-TerminalServices-Gateway" Guid="{{4d5ae6a1-c7c8-4e6d-b840-4d8080b42e1b}}" />
    <e:EventID>303</e:EventID>
    <e:Level>4</e:Level>
    <e:TimeCreated SystemTime="2024-05-14T09:11:26.5000000Z" />
    <e:EventRecordID>5120</e:EventRecordID>
    <e:Correlation ActivityID="{{D1E2F3A4-0000-4000-8000-00000000ABCD}}" />
    <e:Channel>Microsoft-Windows-TerminalServices-Gateway/Operational</e:Channel>
    <e:Computer>RDGW01.contoso.local</e:Computer>
  </e:System>
  <e:UserData>
    <EventInfo xmlns="aag">
      <Username>CONTOSO\alice</Username>
      <IpAddress>10.10.5.23</IpAddress>
      <AuthType>NTLM</AuthType>
      <Resource>rdsh01.contoso.local</Resource>
      <BytesReceived>1804</BytesReceived>
      <BytesTransfered>3379</BytesTransfered>
      <SessionDuration>2</SessionDuration>
      <ConnectionProtocol>HTTP</ConnectionProtocol>
      <ErrorCode>1226</ErrorCode>
      <Note>a &amp; b &lt;c&gt; &#x41;&#66;&#xD;&#xA;<![CDATA[<raw & text>]]> &bogus;</Note>
      <Empty/>
    </EventInfo>
  </e:UserData>
  <e:RenderingInfo Culture="en-US">
    <e:Message>The user "CONTOSO\alice" disconnected.&#xD;&#xA;Second line &amp; more.</e:Message>
    <e:Level>Information</e:Level>
  </e:RenderingInfo>
</e:Event>
"#
        );
        let done = run(xml.as_bytes());
        assert_eq!(
            done.report.failed_records, 0,
            "{:?}",
            done.report.first_error
        );
        assert_eq!(done.events.len(), 1);
        let e = &done.events[0];
        assert_eq!(e.event_id, 303);
        assert_eq!(e.host, "RDGW01.contoso.local");
        assert_eq!(
            e.activity_id.as_deref(),
            Some("{d1e2f3a4-0000-4000-8000-00000000abcd}")
        );
        assert_eq!(
            e.fields["Username"],
            FieldValue::Text("CONTOSO\\alice".into())
        );
        assert_eq!(e.fields["ErrorCode"], FieldValue::UInt(1226));
        assert_eq!(e.fields["BytesTransfered"], FieldValue::UInt(3379));
        assert_eq!(
            e.fields["Note"],
            FieldValue::Text("a & b <c> AB\r\n<raw & text> &bogus;".into())
        );
        assert_eq!(e.fields["Empty"], FieldValue::Null);
        assert!(!e.fields.contains_key("EventInfo"), "wrapper dropped");
        assert!(!e.fields.contains_key("Message"));
        assert_eq!(e.source.position(), 1);
    }

    #[test]
    fn data_shapes_null_unnamed_binary_and_user_data_wrapper() {
        let xml = format!(
            "<Event xmlns='{NS}'><System><Provider EventSourceName='TermDD'/><EventID Qualifiers='49152'>56</EventID><Level>2</Level><TimeCreated SystemTime='2024-05-14T09:12:04Z'/><Channel>System</Channel><Computer>RDSH01</Computer></System><EventData><Data>\\Device\\Termdd</Data><Data>10.20.0.5</Data><Data/><Data Name='Missing'/><Data Name='Also'></Data><Binary>00000400010000000000000038000AC0</Binary></EventData></Event>\n\
             <Event xmlns='{NS}'><System><Provider Name='Microsoft-Windows-TerminalServices-LocalSessionManager' Guid='{{5d896912-022d-40aa-a3a8-4fa5515c76d7}}'/><EventID>40</EventID><Level>4</Level><TimeCreated SystemTime='2024-05-14T09:15:04.9Z'/><EventRecordID>7781</EventRecordID><Correlation ActivityID='{{F4200000-0000-0000-0000-000000000000}}'/><Channel>Microsoft-Windows-TerminalServices-LocalSessionManager/Operational</Channel><Computer>RDSH01.contoso.local</Computer></System><UserData><EventXML xmlns='Event_NS'><Session>3</Session><Reason>7</Reason></EventXML></UserData></Event>\n"
        );
        let done = run(xml.as_bytes());
        assert_eq!(
            done.report.failed_records, 0,
            "{:?}",
            done.report.first_error
        );
        assert_eq!(done.events.len(), 2);
        let t = &done.events[0];
        assert_eq!(t.provider, "TermDD", "EventSourceName fallback");
        assert_eq!(t.event_id, 56);
        assert_eq!(t.record_id, None);
        assert_eq!(
            t.fields["param1"],
            FieldValue::Text("\\Device\\Termdd".into())
        );
        assert_eq!(t.fields["param2"], FieldValue::Text("10.20.0.5".into()));
        assert_eq!(t.fields["param3"], FieldValue::Null);
        assert_eq!(t.fields["Missing"], FieldValue::Null);
        assert_eq!(t.fields["Also"], FieldValue::Null);
        assert_eq!(
            t.fields["Binary"],
            FieldValue::Text("00000400010000000000000038000AC0".into())
        );
        let l = &done.events[1];
        assert_eq!(l.fields["Reason"], FieldValue::UInt(7));
        assert_eq!(l.fields["Session"], FieldValue::UInt(3));
        assert_eq!(l.fields.len(), 2);
        assert_eq!(l.source.position(), 2);
    }

    #[test]
    fn utf16_exports_are_read() {
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n<Events>\r\n{}\r\n{}\r\n</Events>\r\n",
            client_1026(1, "2308"),
            client_1026(2, "264").replace("Disconnect Reason", "Raison de déconnexion 😀")
        );
        for (le, bom) in [(true, true), (false, true), (true, false), (false, false)] {
            let done = run(&utf16(&xml, le, bom));
            assert_eq!(done.report.failed_records, 0, "le={le} bom={bom}");
            assert_eq!(done.events.len(), 2, "le={le} bom={bom}");
            assert_eq!(done.events[0].fields["Value"], FieldValue::UInt(2308));
            assert_eq!(
                done.events[1].fields["Name"],
                FieldValue::Text("Raison de déconnexion 😀".into())
            );
            assert_eq!(done.events[1].source.position(), 4);
        }
        // UTF-8 with a BOM.
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice(xml.replace("UTF-16", "UTF-8").as_bytes());
        let done = run(&bytes);
        assert_eq!(done.events.len(), 2);
        assert_eq!(done.report.failed_records, 0);
    }

    /// A reader that hands out one byte at a time, to cut every character and unit in two.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), buf.is_empty()) {
                (Some((first, rest)), false) => {
                    buf[0] = *first;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn decoding_survives_characters_split_across_reads() {
        let text = "a\u{e9}\u{1F600}\u{4e2d}\nz";
        for bytes in [
            text.as_bytes().to_vec(),
            utf16(text, true, true),
            utf16(text, false, true),
        ] {
            let mut stream = TextStream::new(Trickle(&bytes));
            let mut out = String::new();
            stream.read_to_string(&mut out).unwrap();
            assert_eq!(out, text);
            assert_eq!(stream.line(), 2);
        }
        // Broken input becomes U+FFFD, never an error.
        let mut stream = TextStream::new(Trickle(b"ok\xff\xc3"));
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        assert_eq!(out, "ok\u{FFFD}\u{FFFD}");
        let mut odd = utf16("ab", true, true);
        odd.extend_from_slice(&[0x3D, 0xD8, 0x41]); // lone high surrogate, then half a unit
        let mut stream = TextStream::new(Trickle(&odd));
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        assert_eq!(out, "ab\u{FFFD}\u{FFFD}");
        let xml = format!("{}\n{}", client_1026(1, "2308"), client_1026(2, "3"));
        let done = run_from(Trickle(&utf16(&xml, true, true)));
        assert_eq!(done.events.len(), 2);
        assert_eq!(done.events[1].source.position(), 2);
    }

    #[test]
    fn truncated_file_keeps_complete_events() {
        let full = format!(
            "<Events>\n{}\n{}\n{}\n</Events>\n",
            client_1026(1, "2308"),
            client_1026(2, "2308"),
            client_1026(3, "2308")
        );
        let cut = &full[..full.rfind("<Data Name='Value'>").unwrap() + 22];
        let done = run(cut.as_bytes());
        assert_eq!(done.report.records, 2);
        assert_eq!(done.report.failed_records, 1);
        assert_eq!(done.report.status, InputStatus::Partial);
        assert_eq!(
            done.report.first_error.as_deref(),
            Some("line 4: the file ends inside this event (truncated)")
        );
        // Cut inside a tag: the parser reports the broken markup, still on the event's line.
        let cut = &full[..full.rfind("<Computer>").unwrap() + 4];
        let done = run(cut.as_bytes());
        assert_eq!(done.report.records, 2);
        assert_eq!(done.report.failed_records, 1);
        assert!(done.report.first_error.unwrap().starts_with("line 4: "));
    }

    #[test]
    fn garbage_between_events_is_one_failure_and_reading_resumes() {
        let xml = format!(
            "{}\n#### copied from a mail ####\n<!broken markup>\n</Event>\n{}\n<<Event & }}{{\n{}\n",
            client_1026(1, "2308"),
            client_1026(2, "2308"),
            client_1026(3, "2308")
        );
        let done = run(xml.as_bytes());
        assert_eq!(done.report.records, 3, "{:?}", done.report.first_error);
        assert_eq!(done.report.failed_records, 2, "one per damaged stretch");
        assert_eq!(
            done.report.first_error.as_deref(),
            Some("line 2: text outside an <Event>")
        );
        let lines: Vec<u64> = done.events.iter().map(|e| e.source.position()).collect();
        assert_eq!(lines, [1, 5, 7]);
    }

    #[test]
    fn malformed_events_fail_alone() {
        let missing_id = client_1026(2, "2308").replace("<EventID>1026</EventID>", "");
        let bad_id = client_1026(3, "2308").replace("<EventID>1026<", "<EventID>ten<");
        let no_time =
            client_1026(4, "2308").replace("SystemTime='2024-05-14T09:12:05.2345678Z'", "");
        let mismatched = client_1026(5, "2308").replace("</Channel>", "</Chanel>");
        let unclosed = client_1026(6, "2308").replace("</Event>", "");
        let bad_attr = client_1026(7, "2308").replace("<Data Name='Value'>", "<Data Name=Value>");
        let xml = [
            client_1026(1, "2308"),
            missing_id,
            bad_id,
            no_time,
            mismatched,
            unclosed,
            client_1026(8, "2308"),
            bad_attr,
            scm_7040(9).replace("SystemTime='2024-05-14T09:00:00.000000000Z'", ""),
            "<Event/>".to_string(),
            client_1026(10, "2308"),
        ]
        .join("\n");
        let done = run(xml.as_bytes());
        let ids: Vec<u64> = done.events.iter().filter_map(|e| e.record_id).collect();
        assert_eq!(ids, [1, 8, 10]);
        // The irrelevant 7040 without a time is still a record (the EVTX path does the same).
        assert_eq!(done.report.records, 4);
        assert_eq!(done.report.failed_records, 7);
        assert_eq!(
            done.report.first_error.as_deref(),
            Some("line 2: event has no EventID")
        );
        assert_eq!(done.report.status, InputStatus::Partial);
        let one = |text: &str| run(text.as_bytes()).report.first_error.unwrap_or_default();
        assert_eq!(
            one(xml.lines().nth(2).unwrap()),
            "line 1: EventID is not a number: \"ten\""
        );
        assert_eq!(
            one(xml.lines().nth(3).unwrap()),
            "line 1: event has no valid TimeCreated/@SystemTime"
        );
        assert!(
            one(xml.lines().nth(4).unwrap()).contains("</Chanel> where </Channel> was expected")
        );
        assert!(one(xml.lines().nth(7).unwrap()).contains("bad attribute in <Data>"));
        let unclosed_then_next =
            format!("{}\n{}", xml.lines().nth(5).unwrap(), client_1026(8, "1"));
        assert_eq!(
            one(&unclosed_then_next),
            "line 1: event not closed before the next <Event> (at line 2)"
        );
    }

    #[test]
    fn not_xml_at_all_is_reported_not_read() {
        for input in [
            &b"this is a plain text file\nwith lines\n"[..],
            b"\x00\x01\x02\xff\xfe\x00garbage",
            b"",
            b"<",
            b"<!",
            b"<?xml",
            b"&&&&",
            b"<![CDATA[",
        ] {
            let done = run(input);
            assert_eq!(done.report.records, 0);
            assert!(done.report.failed_records <= 1);
            assert!(done.events.is_empty());
        }
        let done = run(b"hello");
        assert_eq!(done.report.status, InputStatus::Unreadable);
        assert_eq!(
            done.report.reason.as_deref(),
            Some("line 1: text outside an <Event>")
        );
    }

    #[test]
    fn irrelevant_events_build_no_fields_and_repeated_names_become_lists() {
        let xml = format!(
            "<Event xmlns='{NS}'><EventData><Data Name='X'>1</Data></EventData><System><EventID>1026</EventID><TimeCreated SystemTime='2024-05-14T09:12:05Z'/><Channel>Microsoft-Windows-TerminalServices-RDPClient/Operational</Channel><Computer>c</Computer></System><EventData><Data Name='X'>2</Data></EventData></Event>"
        );
        let done = run(xml.as_bytes());
        assert_eq!(
            done.events[0].fields["X"],
            FieldValue::List(vec![FieldValue::UInt(1), FieldValue::UInt(2)])
        );
        let mut p = Pending::new(1);
        p.channel = Some("System".into());
        p.provider = Some("Service Control Manager".into());
        p.event_id = Some("7040".into());
        p.fields.insert("param1".into(), FieldValue::UInt(1));
        p.system_ended();
        assert!(!p.collect);
        assert!(p.fields.is_empty());
    }

    #[test]
    fn time_window_applies() {
        let xml = format!("{}\n{}", client_1026(1, "1"), scm_7040(2));
        let source = Source {
            path: "w.xml".into(),
            display: Arc::from("w.xml"),
            size: 0,
            format: InputFormat::Xml,
        };
        let options = IngestOptions {
            since: Some("2024-05-14T10:00:00Z".parse().unwrap()),
            ..IngestOptions::default()
        };
        let mut c = Collector::new(&source, &options);
        read_from(xml.as_bytes(), source.display.clone(), &mut c).unwrap();
        let done = c.finish(None);
        assert_eq!(done.report.records, 2);
        assert_eq!(done.report.out_of_window, 1);
        assert!(done.events.is_empty());
    }

    /// A small valid export in the wevtutil layout (what the property tests mutate).
    fn sample_export() -> String {
        format!(
            "<?xml version='1.0'?>\n<Events>\n{}\n{}\n{}\n</Events>\n",
            client_1026(1, "2308"),
            scm_7040(2),
            client_1026(3, "0x904")
        )
    }

    fn counted(bytes: &[u8]) -> u64 {
        let done = run(bytes);
        done.report.records + done.report.failed_records
    }

    #[derive(Clone, Debug)]
    enum Mutation {
        Delete(usize, usize),
        Insert(usize, Vec<u8>),
        Replace(usize, u8),
        Truncate(usize),
        Duplicate(usize, usize),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        let tokens = prop_oneof![
            proptest::collection::vec(any::<u8>(), 1..8),
            prop::sample::select(vec![
                b"<".to_vec(),
                b">".to_vec(),
                b"</Event>".to_vec(),
                b"<Event>".to_vec(),
                b"<System>".to_vec(),
                b"'".to_vec(),
                b"\"".to_vec(),
                b"&".to_vec(),
                b"<!--".to_vec(),
                b"<![CDATA[".to_vec(),
                b"<?".to_vec(),
                b"<!DOCTYPE x [".to_vec(),
                b"\xff\xfe".to_vec(),
                b"\0".to_vec(),
            ]),
        ];
        prop_oneof![
            (any::<usize>(), 1..64usize).prop_map(|(a, n)| Mutation::Delete(a, n)),
            (any::<usize>(), tokens).prop_map(|(a, t)| Mutation::Insert(a, t)),
            (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Mutation::Replace(a, b)),
            any::<usize>().prop_map(Mutation::Truncate),
            (any::<usize>(), 1..200usize).prop_map(|(a, n)| Mutation::Duplicate(a, n)),
        ]
    }

    fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
        let len = bytes.len();
        let at = |a: usize| if len == 0 { 0 } else { a % (len + 1) };
        match m {
            Mutation::Delete(a, n) => {
                let start = at(*a).min(len);
                let end = (start + n).min(len);
                bytes.drain(start..end);
            }
            Mutation::Insert(a, t) => {
                let pos = at(*a);
                bytes.splice(pos..pos, t.iter().copied());
            }
            Mutation::Replace(a, b) if len > 0 => bytes[a % len] = *b,
            Mutation::Replace(..) => {}
            Mutation::Truncate(a) => bytes.truncate(at(*a)),
            Mutation::Duplicate(a, n) => {
                let start = at(*a).min(len);
                let end = (start + n).min(len);
                let copy = bytes[start..end].to_vec();
                bytes.splice(end..end, copy);
            }
        }
    }

    fn xmlish() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop::sample::select(vec![
            "<Event>",
            "</Event>",
            "<System>",
            "</System>",
            "<EventID>",
            "</EventID>",
            "1026",
            "<EventData>",
            "</EventData>",
            "<UserData>",
            "<W>",
            "</W>",
            "<Data Name='Value'>",
            "</Data>",
            "<Data/>",
            "<",
            ">",
            "/",
            "'",
            "\"",
            "&",
            "&amp;",
            "&#xD;",
            ";",
            "=",
            " ",
            "\n",
            "<!--",
            "-->",
            "<![CDATA[",
            "]]>",
            "<?xml ?>",
            "<!DOCTYPE",
            "x",
            "<Events>",
            "<TimeCreated SystemTime='2024-05-14T09:12:05Z'/>",
            "<Channel>Microsoft-Windows-TerminalServices-RDPClient/Operational</Channel>",
        ]);
        proptest::collection::vec(piece, 0..60).prop_map(|p| p.concat().into_bytes())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
            let done = run(&bytes);
            prop_assert!(done.events.len() as u64 <= done.report.records);
        }

        #[test]
        fn mutated_exports_never_panic(mutations in proptest::collection::vec(mutation(), 1..6)) {
            let mut bytes = sample_export().into_bytes();
            for m in &mutations {
                apply(&mut bytes, m);
            }
            let done = run(&bytes);
            prop_assert!(done.report.records + done.report.failed_records <= 64);
            let le = utf16(&String::from_utf8_lossy(&bytes), true, true);
            run(&le);
        }

        #[test]
        fn appending_valid_events_never_lowers_the_count(
            mutations in proptest::collection::vec(mutation(), 0..6),
            random in proptest::collection::vec(any::<u8>(), 0..256),
            xml in xmlish(),
            pick in 0..3usize,
            extra in 1..3usize,
        ) {
            let base = match pick {
                0 => {
                    let mut bytes = sample_export().into_bytes();
                    for m in &mutations {
                        apply(&mut bytes, m);
                    }
                    bytes
                }
                1 => random,
                _ => xml,
            };
            let before = counted(&base);
            let mut longer = base.clone();
            for i in 0..extra {
                longer.extend_from_slice(client_1026(100 + i as u64, "2308").as_bytes());
                let after = counted(&longer);
                prop_assert!(after >= before, "{before} -> {after} for {:?}", String::from_utf8_lossy(&longer));
            }
        }
    }
}
