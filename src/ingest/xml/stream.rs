//! Text decoding for XML exports: any encoding Windows writes, streamed as UTF-8.
//!
//! Takes: the raw bytes of a file (UTF-8 with or without BOM, UTF-16 LE/BE with or without BOM).
//! Produces: a [`TextStream`] that serves valid UTF-8 to quick-xml and counts lines as they are consumed.

use std::io::{self, BufRead, Read};

/// Bytes read from the file per chunk.
const CHUNK: usize = 64 * 1024;

/// The text encodings an export can come in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Encoding {
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
    pub(super) fn skip_byte(&mut self) -> io::Result<()> {
        if !self.fill_buf()?.is_empty() {
            self.consume(1);
        }
        Ok(())
    }

    /// Append one chunk of input to `raw`; sets `eof` when the input is exhausted.
    pub(super) fn read_raw(&mut self) -> io::Result<()> {
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
    pub(super) fn refill(&mut self) -> io::Result<()> {
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
pub(super) fn detect_encoding(raw: &mut Vec<u8>) -> Encoding {
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

pub(super) const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// Move the valid UTF-8 in `raw` to `out` (invalid sequences become U+FFFD); a character cut at the
/// end of the chunk stays in `raw` unless this is the end of the input.
pub(super) fn decode_utf8(raw: &mut Vec<u8>, out: &mut Vec<u8>, eof: bool) {
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
pub(super) fn decode_utf16(raw: &mut Vec<u8>, out: &mut Vec<u8>, little_endian: bool, eof: bool) {
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
