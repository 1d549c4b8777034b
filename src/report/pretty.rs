//! Pretty JSON written in parts, so that the parts of a big document can be rendered in parallel.
//!
//! Takes: the members of a JSON object, one at a time, and the elements of a long array member.
//! Produces: exactly the bytes `serde_json::to_writer_pretty` writes for the whole object (two
//! spaces per level), without holding the document: each member or element is rendered on its
//! own and indented to its depth. Pretty JSON has line breaks only between tokens (a string's
//! line breaks are escaped), so indenting every line after a break is all the nesting needs.

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
        self.out.write_all(&pretty_indented(value, b"  ")?)
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
                        pretty_indented(&render(item), b"    ").map(Some)
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
                        write_pretty_indented(&mut *self.out, &render(item), b"    ")?;
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

/// `value` as pretty JSON with `indent` after every line break, in memory.
fn pretty_indented<T: Serialize + ?Sized>(value: &T, indent: &[u8]) -> io::Result<Vec<u8>> {
    write_pretty_indented(Vec::new(), value, indent)
}

/// `value` as pretty JSON with `indent` after every line break, written to `out` once (not
/// rendered and then copied with the indents: a brute-forced host's attempt renders to
/// megabytes). Returns `out`.
fn write_pretty_indented<W: Write, T: Serialize + ?Sized>(
    out: W,
    value: &T,
    indent: &[u8],
) -> io::Result<W> {
    let mut out = Indenting { out, indent };
    serde_json::to_writer_pretty(&mut out, value)?;
    Ok(out.out)
}

/// A writer that passes its input on to `out` and adds `indent` after every line break (found a
/// word at a time, copied a line at a time).
struct Indenting<'i, W: Write> {
    out: W,
    indent: &'i [u8],
}

impl<W: Write> Write for Indenting<'_, W> {
    fn write(&mut self, text: &[u8]) -> io::Result<usize> {
        let mut start = 0;
        for at in memchr::memchr_iter(b'\n', text) {
            self.out.write_all(&text[start..=at])?;
            self.out.write_all(self.indent)?;
            start = at + 1;
        }
        self.out.write_all(&text[start..])?;
        Ok(text.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
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
    fn indenting_keeps_every_byte_and_adds_the_indent_after_each_break() {
        for (text, want) in [
            ("", ""),
            ("a", "a"),
            ("\n", "\n>>"),
            ("a\nb", "a\n>>b"),
            ("a\n\nb\n", "a\n>>\n>>b\n>>"),
        ] {
            // Whole, and a byte at a time (a writer gets its input in pieces).
            let mut whole = Indenting {
                out: Vec::new(),
                indent: b">>",
            };
            whole.write_all(text.as_bytes()).unwrap();
            assert_eq!(whole.out, want.as_bytes(), "{text:?}");
            let mut pieces = Indenting {
                out: Vec::new(),
                indent: b">>",
            };
            for byte in text.as_bytes() {
                pieces.write_all(std::slice::from_ref(byte)).unwrap();
            }
            assert_eq!(pieces.out, want.as_bytes(), "{text:?}");
        }
    }
}
