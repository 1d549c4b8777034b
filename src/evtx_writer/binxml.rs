//! Template instances to BinXML bytes at a known chunk offset.
//!
//! Takes: an [`Instance`], the chunk offset its bytes will land at, and the chunk's [`Tables`]
//! of names and template definitions written so far.
//! Produces: the record's BinXML (fragment header, template instance, EOF) and the names and
//! templates it defined, to be merged into the chunk's tables if the record is kept.
//!
//! Like Windows, a name or template definition is written inline the first time a chunk uses it
//! and referenced by its chunk offset afterwards. Element sizes, attribute-list sizes, template
//! data sizes and value sizes are exact (libevtx and python-evtx rely on them). The hash-chain
//! links of names and templates are left zero here; the chunk fills them in when it closes.

use super::EvtxWriteError;
use super::template::{Content, Element, Instance, InstanceValue, Node, TemplateDef};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// BinXML tokens (MS-EVEN6 2.2.12).
mod token {
    pub const EOF: u8 = 0x00;
    pub const OPEN_START_ELEMENT: u8 = 0x01;
    pub const CLOSE_START_ELEMENT: u8 = 0x02;
    pub const CLOSE_EMPTY_ELEMENT: u8 = 0x03;
    pub const END_ELEMENT: u8 = 0x04;
    pub const VALUE: u8 = 0x05;
    pub const ATTRIBUTE: u8 = 0x06;
    pub const TEMPLATE_INSTANCE: u8 = 0x0c;
    pub const NORMAL_SUBSTITUTION: u8 = 0x0d;
    pub const OPTIONAL_SUBSTITUTION: u8 = 0x0e;
    pub const FRAGMENT_HEADER: [u8; 4] = [0x0f, 0x01, 0x01, 0x00];
    /// The "more follows" bit: an element with attributes, an attribute that is not the last.
    pub const MORE: u8 = 0x40;
}

/// String value type of literal text.
const STRING_TYPE: u8 = 0x01;

/// The name hash of MS-EVEN6: `h = h * 65599 + unit` over UTF-16 units, low 16 bits.
pub(super) fn name_hash(units: impl IntoIterator<Item = u16>) -> u16 {
    let hash = units.into_iter().fold(0u32, |h, unit| {
        h.wrapping_mul(65599).wrapping_add(u32::from(unit))
    });
    hash as u16
}

/// A template definition written in a chunk: where, and its GUID.
#[derive(Clone, Copy, Debug)]
pub(super) struct DefinedTemplate {
    pub offset: u32,
    pub guid: [u8; 16],
}

/// The names and template definitions a chunk holds, by chunk offset.
#[derive(Default)]
pub(super) struct Tables {
    names: HashMap<String, u32>,
    templates: HashMap<TemplateDef, DefinedTemplate>,
    /// Name entries in writing order: offset and hash.
    pub name_entries: Vec<(u32, u16)>,
    /// Template definitions in writing order.
    pub template_entries: Vec<DefinedTemplate>,
}

impl Tables {
    /// Adds the entries of `other`, written after the ones already here.
    pub fn merge(&mut self, other: Tables) {
        self.names.extend(other.names);
        self.templates.extend(other.templates);
        self.name_entries.extend(other.name_entries);
        self.template_entries.extend(other.template_entries);
    }
}

/// Writes one record's BinXML; see the module documentation.
pub(super) struct BinXmlWriter<'t> {
    bytes: Vec<u8>,
    /// Chunk offset of `bytes[0]`.
    base: u32,
    committed: &'t Tables,
    pending: Tables,
}

impl<'t> BinXmlWriter<'t> {
    pub fn new(base: u32, committed: &'t Tables) -> Self {
        BinXmlWriter {
            bytes: Vec::new(),
            base,
            committed,
            pending: Tables::default(),
        }
    }

    /// The record's BinXML (fragment header, `instance`, EOF) and the entries it defined.
    pub fn record(mut self, instance: &Instance) -> Result<(Vec<u8>, Tables), EvtxWriteError> {
        self.raw(&token::FRAGMENT_HEADER);
        self.instance(instance)?;
        self.u8(token::EOF);
        Ok((self.bytes, self.pending))
    }

    /// The chunk offset of the next byte. Saturates for records far larger than a chunk, which
    /// the chunk rejects anyway.
    fn pos(&self) -> u32 {
        let len = u32::try_from(self.bytes.len()).unwrap_or(u32::MAX);
        self.base.saturating_add(len)
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    fn u8(&mut self, v: u8) {
        self.bytes.push(v);
    }

    fn u16(&mut self, v: u16) {
        self.raw(&v.to_le_bytes());
    }

    fn u32(&mut self, v: u32) {
        self.raw(&v.to_le_bytes());
    }

    /// Writes a u32 placeholder and returns where it is, for [`Self::patch_size`].
    fn size_placeholder(&mut self) -> usize {
        let at = self.bytes.len();
        self.u32(0);
        at
    }

    /// Sets the u32 at `at` to the number of bytes written after it.
    fn patch_size(&mut self, at: usize) {
        let size = u32::try_from(self.bytes.len() - at - 4).unwrap_or(u32::MAX);
        self.bytes[at..at + 4].copy_from_slice(&size.to_le_bytes());
    }

    /// A name reference: the offset of the chunk's entry for `name`, written inline right after
    /// the reference the first time (next-link, hash, length, UTF-16, NUL).
    fn name(&mut self, name: &str) -> Result<(), EvtxWriteError> {
        let known = self
            .committed
            .names
            .get(name)
            .or(self.pending.names.get(name));
        if let Some(&offset) = known {
            self.u32(offset);
            return Ok(());
        }
        let units: Vec<u16> = name.encode_utf16().collect();
        let forbidden = |c: char| c.is_whitespace() || "<>&\"'/=".contains(c);
        let length = u16::try_from(units.len()).ok().filter(|&n| n > 0);
        let Some(length) = length.filter(|_| !name.contains(forbidden)) else {
            return Err(EvtxWriteError::InvalidName {
                name: name.to_string(),
            });
        };
        let offset = self.pos().saturating_add(4);
        let hash = name_hash(units.iter().copied());
        self.u32(offset);
        self.u32(0); // next entry in the hash bucket, linked when the chunk closes
        self.u16(hash);
        self.u16(length);
        units.iter().for_each(|&unit| self.u16(unit));
        self.u16(0);
        self.pending.names.insert(name.to_string(), offset);
        self.pending.name_entries.push((offset, hash));
        Ok(())
    }

    /// Value text or a substitution.
    fn content(&mut self, content: &Content) -> Result<(), EvtxWriteError> {
        match content {
            Content::Text(text) => {
                let units: Vec<u16> = text.encode_utf16().collect();
                let length =
                    u16::try_from(units.len()).map_err(|_| EvtxWriteError::ValueTooLarge {
                        field: format!("text {:?}", text.chars().take(40).collect::<String>()),
                        bytes: units.len() * 2,
                    })?;
                self.u8(token::VALUE);
                self.u8(STRING_TYPE);
                self.u16(length);
                units.iter().for_each(|&unit| self.u16(unit));
            }
            Content::Substitution {
                index,
                value_type,
                optional,
            } => {
                self.u8(if *optional {
                    token::OPTIONAL_SUBSTITUTION
                } else {
                    token::NORMAL_SUBSTITUTION
                });
                self.u16(*index);
                self.u8(*value_type);
            }
        }
        Ok(())
    }

    /// An element of a template definition (so with a dependency id), with exact data size and
    /// attribute-list size.
    fn element(&mut self, element: &Element) -> Result<(), EvtxWriteError> {
        let has_attributes = !element.attributes.is_empty();
        let more = if has_attributes { token::MORE } else { 0 };
        self.u8(token::OPEN_START_ELEMENT | more);
        self.u16(element.dependency.unwrap_or(0xffff));
        let size_at = self.size_placeholder();
        self.name(&element.name)?;
        if has_attributes {
            let list_at = self.size_placeholder();
            let last = element.attributes.len() - 1;
            for (i, (name, value)) in element.attributes.iter().enumerate() {
                self.u8(token::ATTRIBUTE | if i < last { token::MORE } else { 0 });
                self.name(name)?;
                self.content(value)?;
            }
            self.patch_size(list_at);
        }
        match &element.children {
            None => self.u8(token::CLOSE_EMPTY_ELEMENT),
            Some(children) => {
                self.u8(token::CLOSE_START_ELEMENT);
                for child in children {
                    match child {
                        Node::Element(element) => self.element(element)?,
                        Node::Content(content) => self.content(content)?,
                    }
                }
                self.u8(token::END_ELEMENT);
            }
        }
        self.patch_size(size_at);
        Ok(())
    }

    /// A template instance: the definition inline (first use in the chunk) or by offset, then
    /// the values.
    fn instance(&mut self, instance: &Instance) -> Result<(), EvtxWriteError> {
        let template = &instance.template;
        let known = self.committed.templates.get(template);
        let known = known.or(self.pending.templates.get(template)).copied();
        self.u8(token::TEMPLATE_INSTANCE);
        self.u8(0x01);
        match known {
            Some(defined) => {
                self.raw(&defined.guid[..4]);
                self.u32(defined.offset);
            }
            None => {
                let guid = template_guid(template);
                let offset = self.pos().saturating_add(8);
                self.raw(&guid[..4]);
                self.u32(offset);
                self.definition(template, guid)?;
                let defined = DefinedTemplate { offset, guid };
                self.pending.templates.insert(template.clone(), defined);
                self.pending.template_entries.push(defined);
            }
        }
        self.values(&instance.values)
    }

    /// A template definition: next-link, GUID, data size, then fragment header, element, EOF.
    fn definition(&mut self, template: &TemplateDef, guid: [u8; 16]) -> Result<(), EvtxWriteError> {
        self.u32(0); // next definition in the hash bucket, linked when the chunk closes
        self.raw(&guid);
        let size_at = self.size_placeholder();
        self.raw(&token::FRAGMENT_HEADER);
        self.element(&template.root)?;
        self.u8(token::EOF);
        self.patch_size(size_at);
        Ok(())
    }

    /// Template instance data: count, descriptors (size, type, 0), then the values.
    fn values(&mut self, values: &[InstanceValue]) -> Result<(), EvtxWriteError> {
        let count = u32::try_from(values.len()).map_err(|_| EvtxWriteError::TooManyValues {
            count: values.len(),
        })?;
        self.u32(count);
        let descriptors_at = self.bytes.len();
        for value in values {
            let value_type = match value {
                InstanceValue::Plain(encoded) => encoded.value_type,
                InstanceValue::BinXml { .. } => super::value::value_type::BINXML,
            };
            self.raw(&[0, 0, value_type, 0]);
        }
        for (i, value) in values.iter().enumerate() {
            let start = self.bytes.len();
            match value {
                InstanceValue::Plain(encoded) => self.raw(&encoded.bytes),
                InstanceValue::BinXml {
                    fragment_header,
                    instance,
                } => {
                    if *fragment_header {
                        self.raw(&token::FRAGMENT_HEADER);
                    }
                    self.instance(instance)?;
                    self.u8(token::EOF);
                }
            }
            let size = self.bytes.len() - start;
            let size = u16::try_from(size).map_err(|_| EvtxWriteError::ValueTooLarge {
                field: match value {
                    InstanceValue::Plain(_) => format!("template value {i}"),
                    InstanceValue::BinXml { .. } => "payload".to_string(),
                },
                bytes: size,
            })?;
            let at = descriptors_at + 4 * i;
            self.bytes[at..at + 2].copy_from_slice(&size.to_le_bytes());
        }
        Ok(())
    }
}

/// 64-bit FNV-1a, for deterministic template GUIDs.
struct Fnv1a(u64);

impl Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// A GUID derived from the template's shape, so equal templates get equal GUIDs in every chunk
/// and file (Windows takes them from the provider manifest).
fn template_guid(template: &TemplateDef) -> [u8; 16] {
    let mut low = Fnv1a(0xcbf2_9ce4_8422_2325);
    let mut high = Fnv1a(0x6c62_272e_07bb_0142);
    template.hash(&mut low);
    high.write(b"rdptriage template");
    template.hash(&mut high);
    let mut guid = [0u8; 16];
    guid[..8].copy_from_slice(&low.finish().to_le_bytes());
    guid[8..].copy_from_slice(&high.finish().to_le_bytes());
    guid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_hashes_match_real_chunks() {
        // Hashes Windows wrote for these names in a LocalSessionManager log.
        for (name, hash) in [
            ("Event", 0x0cba),
            ("xmlns", 0x0fbc),
            ("System", 0x546f),
            ("Qualifiers", 0xda29),
            ("RelatedActivityID", 0xc535),
            ("EventXML", 0x065d),
        ] {
            assert_eq!(name_hash(name.encode_utf16()), hash, "{name}");
        }
    }

    #[test]
    fn invalid_names_are_rejected() {
        let tables = Tables::default();
        for bad in ["", "a b", "a<b", "x=y"] {
            let mut writer = BinXmlWriter::new(512, &tables);
            assert!(writer.name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn second_use_of_a_name_is_a_reference() {
        let tables = Tables::default();
        let mut writer = BinXmlWriter::new(1000, &tables);
        writer.name("Data").unwrap();
        writer.name("Data").unwrap();
        // Reference, then the inline entry at 1004, then a reference to 1004.
        assert_eq!(writer.bytes[..4], 1004u32.to_le_bytes());
        let entry_len = 4 + 2 + 2 + 2 * 4 + 2;
        assert_eq!(writer.bytes[4 + entry_len..], 1004u32.to_le_bytes());
        assert_eq!(
            writer.pending.name_entries,
            [(1004, name_hash("Data".encode_utf16()))]
        );
    }
}
