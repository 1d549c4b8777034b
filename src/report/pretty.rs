//! Pretty JSON written in parts, so that the parts of a big document can be rendered in parallel.
//!
//! Takes: the members of a JSON object, one at a time, and the elements of a long array member.
//! Produces: exactly the bytes `serde_json::to_writer_pretty` writes for the whole object (two
//! spaces per level), without holding the document: each member or element is rendered on its
//! own with serde_json's pretty layout started at its depth in the document ([`NestedPretty`]).

use rayon::prelude::*;
use serde::Serialize;
use std::io::{self, Write};

/// Array elements rendered together: enough to keep both cores busy, few enough that a batch's
/// text stays small next to the report (an attempt renders to a few KiB to a few tens of KiB).
const BATCH: usize = 16;

/// A pretty JSON object being written member by member.
pub struct PrettyObject<'w> {
    out: &'w mut dyn Write,
    members: usize,
}

impl<'w> PrettyObject<'w> {
    /// Start the object (`{`).
    pub fn start(out: &'w mut dyn Write) -> io::Result<Self> {
        out.write_all(b"{")?;
        Ok(PrettyObject { out, members: 0 })
    }

    /// One member, `"key": value`.
    pub fn member<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> io::Result<()> {
        self.key(key)?;
        self.out.write_all(&pretty_indented(value, 1)?)
    }

    /// A member whose value is an array of `items` each turned by `render` into what is written:
    /// rendered in parallel batches and written in order, so the rendered values of the whole
    /// array are never held at once. An item that `big` says is big is not rendered with its
    /// batch but written straight out, after the items before it, so that its text (megabytes
    /// for a brute-forced host's attempt) is never held either.
    pub fn array_member_with<'i, S: Sync, T: Serialize>(
        &mut self,
        key: &str,
        items: &'i [S],
        render: impl Fn(&'i S) -> T + Sync,
        big: impl Fn(&'i S) -> bool + Sync,
    ) -> io::Result<()> {
        self.key(key)?;
        if items.is_empty() {
            return self.out.write_all(b"[]");
        }
        self.out.write_all(b"[")?;
        let mut first = true;
        for batch in items.chunks(BATCH) {
            let rendered: Vec<Option<Vec<u8>>> = batch
                .par_iter()
                .map(|item| {
                    if big(item) {
                        Ok(None)
                    } else {
                        pretty_indented(&render(item), 2).map(Some)
                    }
                })
                .collect::<io::Result<_>>()?;
            for (item, text) in batch.iter().zip(rendered) {
                self.out
                    .write_all(if first { b"\n    " } else { b",\n    " })?;
                first = false;
                match text {
                    Some(text) => self.out.write_all(&text)?,
                    None => {
                        write_pretty_indented(&mut *self.out, &render(item), 2)?;
                    }
                }
            }
        }
        self.out.write_all(b"\n  ]")
    }

    /// End the object (`}`).
    pub fn finish(self) -> io::Result<()> {
        if self.members == 0 {
            return self.out.write_all(b"}");
        }
        self.out.write_all(b"\n}")
    }

    fn key(&mut self, key: &str) -> io::Result<()> {
        let separator: &[u8] = if self.members == 0 { b"\n  " } else { b",\n  " };
        self.members += 1;
        self.out.write_all(separator)?;
        serde_json::to_writer(&mut *self.out, key)?;
        self.out.write_all(b": ")
    }
}

/// `value` as pretty JSON nested `levels` deep, in memory.
fn pretty_indented<T: Serialize + ?Sized>(value: &T, levels: usize) -> io::Result<Vec<u8>> {
    write_pretty_indented(Vec::new(), value, levels)
}

/// `value` as pretty JSON nested `levels` deep (its lines after the first indented by that
/// many levels more), written to `out` once (not rendered and then copied: a brute-forced
/// host's attempt renders to megabytes). Returns `out`.
fn write_pretty_indented<W: Write, T: Serialize + ?Sized>(
    mut out: W,
    value: &T,
    levels: usize,
) -> io::Result<W> {
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut out, NestedPretty::new(levels));
    value.serialize(&mut serializer)?;
    Ok(out)
}

/// Spaces for indents, written a slice at a time.
const SPACES: &[u8] = &[b' '; 64];

/// serde_json's `PrettyFormatter` (two spaces a level) for a value that sits `base` levels deep
/// in the document: the same state and the same bytes, with every line break followed by the
/// indent of its depth in the whole document.
struct NestedPretty {
    base: usize,
    depth: usize,
    has_value: bool,
}

impl NestedPretty {
    fn new(base: usize) -> Self {
        NestedPretty {
            base,
            depth: 0,
            has_value: false,
        }
    }

    /// `separator` (a line break, with a comma before it or not), then the current indent.
    fn break_line<W: ?Sized + Write>(&self, out: &mut W, separator: &[u8]) -> io::Result<()> {
        out.write_all(separator)?;
        let mut width = 2 * (self.base + self.depth);
        while width > 0 {
            let now = width.min(SPACES.len());
            out.write_all(&SPACES[..now])?;
            width -= now;
        }
        Ok(())
    }

    fn open<W: ?Sized + Write>(&mut self, out: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        out.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, out: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.break_line(out, b"\n")?;
        }
        out.write_all(bracket)
    }
}

impl serde_json::ser::Formatter for NestedPretty {
    fn begin_array<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.open(out, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.close(out, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, out: &mut W, first: bool) -> io::Result<()> {
        self.break_line(out, if first { b"\n" } else { b",\n" })
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _out: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.open(out, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.close(out, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, out: &mut W, first: bool) -> io::Result<()> {
        self.break_line(out, if first { b"\n" } else { b",\n" })
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        out.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _out: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn written(
        members: &[(&str, serde_json::Value)],
        array: Option<&[serde_json::Value]>,
    ) -> String {
        let mut out = Vec::new();
        let mut object = PrettyObject::start(&mut out).unwrap();
        for (key, value) in members {
            object.member(key, value).unwrap();
        }
        if let Some(items) = array {
            // Items whose `i` is odd are written straight out, the others with their batch.
            let big = |v: &serde_json::Value| v["i"].as_u64().is_some_and(|i| i % 2 == 1);
            object
                .array_member_with("items", items, |v| v, big)
                .unwrap();
        }
        object.finish().unwrap();
        String::from_utf8(out).unwrap()
    }

    fn reference(
        members: &[(&str, serde_json::Value)],
        array: Option<&[serde_json::Value]>,
    ) -> String {
        // What `to_writer_pretty` writes for a struct with these members in this order.
        struct Ordered<'a>(
            &'a [(&'a str, serde_json::Value)],
            Option<&'a [serde_json::Value]>,
        );
        impl Serialize for Ordered<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut map = s.serialize_map(None)?;
                for (k, v) in self.0 {
                    map.serialize_entry(k, v)?;
                }
                if let Some(items) = self.1 {
                    map.serialize_entry("items", items)?;
                }
                map.end()
            }
        }
        serde_json::to_string_pretty(&Ordered(members, array)).unwrap()
    }

    #[test]
    fn parts_give_the_bytes_of_one_pretty_document() {
        let nested = json!({"a": [1, {"b": "line\nbreak", "c": []}], "d": {}, "e": null});
        let members = [
            ("x", json!(1)),
            ("nested", nested.clone()),
            ("s", json!("t")),
        ];
        // More elements than a batch, so batches join with the right separators.
        let items: Vec<serde_json::Value> =
            (0..150).map(|i| json!({"i": i, "v": nested})).collect();
        for array in [None, Some(&items[..]), Some(&items[..1]), Some(&[][..])] {
            assert_eq!(written(&members, array), reference(&members, array));
        }
        assert_eq!(written(&[], None), reference(&[], None), "an empty object");
        assert_eq!(
            written(&[], Some(&items[..3])),
            reference(&[], Some(&items[..3]))
        );
    }

    #[test]
    fn a_nested_value_is_serde_jsons_pretty_text_indented_to_its_depth() {
        // Deeper than the spaces written at once (64: 32 levels), empty and non-empty
        // containers, a line break inside a string (escaped, so no indent follows it).
        let mut deep = json!(["bottom", {}]);
        for level in 0..40 {
            deep = json!({"level": level, "inner": deep, "empty": [], "text": "a\nb"});
        }
        for value in [
            json!(1),
            json!("x"),
            json!([]),
            json!({}),
            json!([[]]),
            deep,
        ] {
            let plain = serde_json::to_string_pretty(&value).unwrap();
            for levels in [0, 1, 2, 5] {
                let indent = "  ".repeat(levels);
                let want = plain.replace('\n', &format!("\n{indent}"));
                let got = pretty_indented(&value, levels).unwrap();
                assert_eq!(String::from_utf8(got).unwrap(), want, "{levels} levels");
            }
        }
    }
}
