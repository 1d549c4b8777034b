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
use element::*;
use stream::TextStream;

mod element;
mod stream;
#[cfg(test)]
mod tests;
use crate::event::{Event, FieldValue, Fields, catalog, parse_number};
use crate::source::Source;
use quick_xml::events::{BytesRef, BytesStart, Event as XmlEvent};
use quick_xml::{Reader, XmlVersion};
use std::io::{BufRead, Read};
use std::sync::Arc;

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
    for step in 0u64.. {
        if step % 256 == 0 {
            collector.check()?;
        }
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
            origin: crate::event::Origin::new(
                host,
                header.channel,
                header.provider,
                self.path.clone(),
            ),
            event_id: header.event_id,
            level: p.level.as_deref().and_then(|l| l.trim().parse::<u8>().ok()),
            activity_id: p
                .activity_id
                .as_deref()
                .and_then(normalize_guid)
                .map(Into::into),
            fields: p.fields,
            place: crate::event::Place::new(
                crate::event::Locator::Line(p.line),
                p.record_id.as_deref().and_then(parse_number),
            ),
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
