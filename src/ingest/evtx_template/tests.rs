//! Tests of the template shapes, and a builder of BinXML template definitions that the
//! direct-route tests share.

use super::*;

/// Writes BinXML template definitions into a chunk buffer (names inline, as Windows does
/// the first time a name is used).
#[derive(Default)]
pub(crate) struct Builder {
    pub(crate) chunk: Vec<u8>,
}

impl Builder {
    fn u16(&mut self, v: u16) {
        self.chunk.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.chunk.extend_from_slice(&v.to_le_bytes());
    }
    fn utf16(&mut self, s: &str) {
        for u in s.encode_utf16() {
            self.u16(u);
        }
    }
    fn name(&mut self, n: &str) {
        let here = self.chunk.len() as u32 + 4;
        self.u32(here);
        self.u32(0);
        self.u16(0);
        self.u16(n.encode_utf16().count() as u16);
        self.utf16(n);
        self.u16(0);
    }
    pub(crate) fn open(&mut self, n: &str, attributes: bool, dependency: Option<u16>) {
        self.chunk.push(if attributes { 0x41 } else { 0x01 });
        self.u16(dependency.unwrap_or(0xffff));
        self.u32(0);
        self.name(n);
        if attributes {
            self.u32(0);
        }
    }
    pub(crate) fn attribute(&mut self, n: &str) {
        self.chunk.push(0x06);
        self.name(n);
    }
    pub(crate) fn text(&mut self, t: &str) {
        self.chunk.extend_from_slice(&[0x05, 0x01]);
        self.u16(t.encode_utf16().count() as u16);
        self.utf16(t);
    }
    pub(crate) fn value(&mut self, index: u16) {
        self.chunk.push(0x0e);
        self.u16(index);
        self.chunk.push(0x01);
    }
    pub(crate) fn close_start(&mut self) {
        self.chunk.push(0x02);
    }
    pub(crate) fn close_empty(&mut self) {
        self.chunk.push(0x03);
    }
    pub(crate) fn end(&mut self) {
        self.chunk.push(0x04);
    }
    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.chunk.extend_from_slice(bytes);
    }
    /// `<n>%index</n>`.
    pub(crate) fn leaf(&mut self, n: &str, index: u16) {
        self.open(n, false, None);
        self.close_start();
        self.value(index);
        self.end();
    }
    /// `<Data Name="n">%index</Data>`.
    pub(crate) fn data(&mut self, n: &str, index: u16) {
        self.open("Data", true, None);
        self.attribute("Name");
        self.text(n);
        self.close_start();
        self.value(index);
        self.end();
    }
    /// A definition whose body `write` produces; returns its offset.
    pub(crate) fn definition(&mut self, write: impl FnOnce(&mut Builder)) -> u32 {
        let start = self.chunk.len();
        self.u32(0);
        self.raw(&[0xaa; 16]);
        self.u32(0);
        self.raw(&[0x0f, 0x01, 0x01, 0x00]);
        write(self);
        self.chunk.push(0x00);
        let size = (self.chunk.len() - start - 24) as u32;
        self.chunk[start + 20..start + 24].copy_from_slice(&size.to_le_bytes());
        start as u32
    }
    /// The usual `System` element: provider (14), event id (3), level (0), time (6),
    /// record id (10), activity id (7), channel (16), literal computer `SRV`.
    pub(crate) fn system(&mut self) {
        self.open("System", false, None);
        self.close_start();
        self.open("Provider", true, None);
        self.attribute("Name");
        self.value(14);
        self.close_empty();
        self.leaf("EventID", 3);
        self.leaf("Level", 0);
        self.open("TimeCreated", true, None);
        self.attribute("SystemTime");
        self.value(6);
        self.close_empty();
        self.leaf("EventRecordID", 10);
        self.open("Correlation", true, None);
        self.attribute("ActivityID");
        self.value(7);
        self.close_empty();
        self.leaf("Channel", 16);
        self.open("Computer", false, None);
        self.close_start();
        self.text("SRV");
        self.end();
        self.end();
    }
}

fn event(write: impl FnOnce(&mut Builder)) -> Option<TemplateShape> {
    let mut b = Builder::default();
    b.raw(&[0; 64]);
    let offset = b.definition(|b| {
        b.open("Event", false, None);
        b.close_start();
        b.system();
        write(b);
        b.end();
    });
    parse(&b.chunk, offset, Context::Record)
}

#[test]
fn a_manifest_template_maps_header_and_named_data() {
    let shape = event(|b| {
        b.open("EventData", false, None);
        b.close_start();
        b.data("User", 17);
        b.data("Code", 18);
        b.end();
    })
    .unwrap();
    assert_eq!(shape.event_id, Some(Slot::Value(3)));
    assert_eq!(shape.provider, Some(Slot::Value(14)));
    assert_eq!(shape.channel, Some(Slot::Value(16)));
    assert_eq!(shape.time, Some(Slot::Value(6)));
    assert_eq!(shape.activity_id, Some(Slot::Value(7)));
    assert_eq!(shape.computer, Some(Slot::Literal("SRV".into())));
    let names: Vec<_> = shape.fields.iter().map(|f| &*f.name).collect();
    assert_eq!(names, ["User", "Code"]);
    assert_eq!(shape.fields[1].content, Slot::Value(18));
    assert!(shape.fields.iter().all(|f| f.empty_is_text));
    assert_eq!(shape.payload, None);
}

#[test]
fn unnamed_data_become_params_and_other_children_keep_their_name() {
    let shape = event(|b| {
        b.open("EventData", false, None);
        b.close_start();
        b.leaf("Data", 17);
        b.leaf("Data", 18);
        b.leaf("Binary", 19);
        b.end();
    })
    .unwrap();
    let names: Vec<_> = shape.fields.iter().map(|f| &*f.name).collect();
    assert_eq!(names, ["param1", "param2", "Binary"]);
    assert!(!shape.fields[2].empty_is_text);
}

#[test]
fn payloads_passed_as_nested_binxml_are_located() {
    let beside_system = event(|b| b.value(17)).unwrap();
    assert_eq!(beside_system.payload, Some((17, PayloadKind::Event)));
    let in_user_data = event(|b| {
        b.open("UserData", false, Some(18));
        b.close_start();
        b.value(18);
        b.end();
    })
    .unwrap();
    assert_eq!(in_user_data.payload, Some((18, PayloadKind::UserData)));
}

#[test]
fn a_user_data_wrapper_template_gives_its_children() {
    let mut b = Builder::default();
    let offset = b.definition(|b| {
        b.open("EventXML", true, None);
        b.attribute("xmlns");
        b.text("Event_NS");
        b.close_start();
        b.leaf("User", 0);
        b.leaf("SessionID", 1);
        b.end();
    });
    let shape = parse(&b.chunk, offset, Context::Payload(PayloadKind::UserData)).unwrap();
    let names: Vec<_> = shape.fields.iter().map(|f| &*f.name).collect();
    assert_eq!(names, ["User", "SessionID"]);
    assert!(shape.event_id.is_none());
    // Read as a record's template, the same bytes are no event.
    assert!(parse(&b.chunk, offset, Context::Record).is_none());
}

#[test]
fn layouts_we_do_not_map_are_refused() {
    // RenderingInfo (an unknown part of Event).
    assert!(event(|b| b.leaf("RenderingInfo", 17)).is_none());
    // Text mixed with a substitution.
    assert!(
        event(|b| {
            b.open("EventData", false, None);
            b.close_start();
            b.open("Data", false, None);
            b.close_start();
            b.text("x");
            b.value(17);
            b.end();
            b.end();
        })
        .is_none()
    );
    // A CDATA section.
    assert!(
        event(|b| {
            b.open("EventData", false, None);
            b.close_start();
            b.open("Data", false, None);
            b.close_start();
            b.raw(&[0x07, 0x01, 0x00, b'x', 0x00]);
            b.end();
            b.end();
        })
        .is_none()
    );
    // The same field twice.
    assert!(
        event(|b| {
            b.open("EventData", false, None);
            b.close_start();
            b.data("User", 17);
            b.data("User", 18);
            b.end();
        })
        .is_none()
    );
}

#[test]
fn truncated_and_hostile_definitions_are_refused_without_panicking() {
    let mut b = Builder::default();
    let offset = b.definition(|b| {
        b.open("Event", false, None);
        b.close_start();
        b.system();
        b.end();
    });
    assert!(parse(&b.chunk, offset, Context::Record).is_some());
    let full = b.chunk.clone();
    for cut in 0..full.len() {
        let _ = parse(&full[..cut], offset, Context::Record);
    }
    // A data size past the chunk, and an offset past the chunk.
    let mut huge = full.clone();
    huge[offset as usize + 20..offset as usize + 24].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(parse(&huge, offset, Context::Record).is_none());
    assert!(parse(&full, u32::MAX, Context::Record).is_none());
    // Elements nested deeper than the limit.
    let mut deep = Builder::default();
    let offset = deep.definition(|b| {
        for _ in 0..40 {
            b.open("Event", false, None);
            b.close_start();
        }
    });
    assert!(parse(&deep.chunk, offset, Context::Record).is_none());
}
