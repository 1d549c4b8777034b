//! Streaming, decoded, numbered lines of a text export.
//!
//! Takes: any byte stream: UTF-8 (with or without BOM) or UTF-16 LE/BE (by BOM, or by the NUL
//! pattern of a BOM-less UTF-16 LE file, which is what Windows PowerShell 5 `>` writes).
//! Produces: `(line number, text)` pairs, 1-based, without the line terminator (`\n`, `\r\n`).
//! Memory is bounded by [`MAX_LINE`] whatever the file size: a longer line is cut there (the rest
//! of it is skipped), so a binary file mistaken for text cannot exhaust memory.

use std::io::{BufRead, BufReader, Chain, Cursor, Read};

/// Longest line kept, in bytes of the source encoding.
pub const MAX_LINE: usize = 1 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
}

/// An iterator over the decoded lines of a stream.
pub struct Lines<R> {
    inner: BufReader<Chain<Cursor<Vec<u8>>, R>>,
    encoding: Encoding,
    number: u64,
    raw: Vec<u8>,
    carry: Option<u8>,
    /// An error met while reading the first bytes, reported by the first `next`.
    failed: Option<std::io::Error>,
    done: bool,
}

impl<R: Read> Lines<R> {
    /// Lines of `inner`; the encoding is detected from its first four bytes (read here).
    pub fn new(mut inner: R) -> Self {
        let mut head = Vec::with_capacity(4);
        let mut failed = None;
        while head.len() < 4 {
            let mut byte = [0u8; 4];
            match inner.read(&mut byte[..4 - head.len()]) {
                Ok(0) => break,
                Ok(n) => head.extend_from_slice(&byte[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        let (encoding, skip) = match head.as_slice() {
            [0xFF, 0xFE, ..] => (Encoding::Utf16Le, 2),
            [0xFE, 0xFF, ..] => (Encoding::Utf16Be, 2),
            [0xEF, 0xBB, 0xBF, ..] => (Encoding::Utf8, 3),
            [a, 0, b, 0] if *a != 0 && *b != 0 => (Encoding::Utf16Le, 0),
            _ => (Encoding::Utf8, 0),
        };
        head.drain(..skip);
        Lines {
            inner: BufReader::with_capacity(64 * 1024, Cursor::new(head).chain(inner)),
            encoding,
            number: 0,
            raw: Vec::new(),
            carry: None,
            failed,
            done: false,
        }
    }

    /// Read raw bytes up to and including the next line feed (in the source encoding), keeping
    /// at most [`MAX_LINE`] bytes. Returns false at the end of the stream.
    fn read_raw(&mut self, encoding: Encoding) -> std::io::Result<bool> {
        self.raw.clear();
        let unit = if encoding == Encoding::Utf8 { 1 } else { 2 };
        let mut any = false;
        loop {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                return Ok(any);
            }
            any = true;
            if unit == 2 && (self.carry.is_some() || buf.len() < 2) {
                // A code unit split across reads: assemble it byte by byte.
                let byte = buf[0];
                self.inner.consume(1);
                match self.carry.take() {
                    None => self.carry = Some(byte),
                    Some(first) => {
                        let pair = [first, byte];
                        if self.raw.len() < MAX_LINE {
                            self.raw.extend_from_slice(&pair);
                        }
                        if is_newline_unit(&pair, encoding) {
                            return Ok(true);
                        }
                    }
                }
                continue;
            }
            let usable = buf.len() - buf.len() % unit;
            let found = match encoding {
                Encoding::Utf8 => buf.iter().position(|&b| b == b'\n'),
                _ => buf[..usable]
                    .chunks_exact(2)
                    .position(|u| is_newline_unit(u, encoding))
                    .map(|i| i * 2),
            };
            let take = found.map_or(usable, |i| i + unit);
            let room = MAX_LINE.saturating_sub(self.raw.len());
            self.raw.extend_from_slice(&buf[..take.min(room)]);
            self.inner.consume(take);
            if found.is_some() {
                return Ok(true);
            }
        }
    }
}

fn is_newline_unit(unit: &[u8], encoding: Encoding) -> bool {
    match encoding {
        Encoding::Utf8 => unit == b"\n",
        Encoding::Utf16Le => unit == [b'\n', 0],
        Encoding::Utf16Be => unit == [0, b'\n'],
    }
}

fn decode(raw: &[u8], encoding: Encoding) -> String {
    let mut text = match encoding {
        Encoding::Utf8 => String::from_utf8_lossy(raw).into_owned(),
        Encoding::Utf16Le | Encoding::Utf16Be => {
            let units: Vec<u16> = raw
                .chunks_exact(2)
                .map(|c| match encoding {
                    Encoding::Utf16Le => u16::from_le_bytes([c[0], c[1]]),
                    _ => u16::from_be_bytes([c[0], c[1]]),
                })
                .collect();
            String::from_utf16_lossy(&units)
        }
    };
    while text.ends_with('\n') || text.ends_with('\r') {
        text.pop();
    }
    text
}

impl<R: Read> Iterator for Lines<R> {
    type Item = std::io::Result<(u64, String)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if let Some(err) = self.failed.take() {
            self.done = true;
            return Some(Err(err));
        }
        match self.read_raw(self.encoding) {
            Ok(true) => {
                self.number += 1;
                Some(Ok((self.number, decode(&self.raw, self.encoding))))
            }
            Ok(false) => {
                self.done = true;
                None
            }
            Err(err) => {
                self.done = true;
                Some(Err(err))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(bytes: &[u8]) -> Vec<(u64, String)> {
        Lines::new(bytes).map(Result::unwrap).collect()
    }

    fn utf16(text: &str, le: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(if le { &[0xFF, 0xFE] } else { &[0xFE, 0xFF] });
        }
        for unit in text.encode_utf16() {
            out.extend_from_slice(&if le {
                unit.to_le_bytes()
            } else {
                unit.to_be_bytes()
            });
        }
        out
    }

    #[test]
    fn utf8_lines_with_crlf_bom_and_no_final_newline() {
        let got = all(b"\xEF\xBB\xBFone\r\ntwo\n\nthree");
        assert_eq!(
            got,
            vec![
                (1, "one".into()),
                (2, "two".into()),
                (3, String::new()),
                (4, "three".into())
            ]
        );
        assert!(all(b"").is_empty());
    }

    #[test]
    fn utf16_both_orders_with_and_without_bom() {
        let text = "Event[0]:\r\n  Log Name: Système\r\n";
        for (le, bom) in [(true, true), (false, true), (true, false)] {
            let got = all(&utf16(text, le, bom));
            assert_eq!(
                got,
                vec![(1, "Event[0]:".into()), (2, "  Log Name: Système".into())],
                "le={le} bom={bom}"
            );
        }
    }

    #[test]
    fn utf16_survives_tiny_reads() {
        struct OneByte<'a>(&'a [u8]);
        impl Read for OneByte<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0.is_empty() || buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0[0];
                self.0 = &self.0[1..];
                Ok(1)
            }
        }
        let bytes = utf16("ab\ncd\n", true, true);
        let got: Vec<_> = Lines::new(OneByte(&bytes)).map(Result::unwrap).collect();
        assert_eq!(got, vec![(1, "ab".into()), (2, "cd".into())]);
    }

    #[test]
    fn overlong_lines_are_cut() {
        let mut bytes = vec![b'x'; MAX_LINE + 10];
        bytes.extend_from_slice(b"\nnext\n");
        let got = all(&bytes);
        assert_eq!(got[0].1.len(), MAX_LINE);
        assert_eq!(got[1], (2, "next".into()));
    }
}
