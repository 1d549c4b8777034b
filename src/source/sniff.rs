//! Opening a discovered path safely and reading its first bytes.
//!
//! Takes: a path found by discovery.
//! Produces: [`Sniffed`]: the size and first [`SNIFF_BYTES`] of a regular file, or what kind of
//! special file it is. The path is opened without blocking (a FIFO with no writer would block
//! `open` forever) and the opened file is checked with `fstat` before a byte is read, so that
//! FIFOs, sockets and devices are never read and a swap after a path check cannot fool it.

use super::SNIFF_BYTES;
use std::io::Read;
use std::path::Path;

/// What the start of a path holds.
pub(super) enum Sniffed {
    /// A regular file: its size and first bytes.
    File(u64, Vec<u8>),
    /// A FIFO, socket or device, named: never read (reading could block or never end).
    Special(&'static str),
}

/// Open without blocking (a FIFO with no writer would block `open` forever), then look at what
/// was opened (`fstat`, so a swap after a path check cannot fool it) before reading a byte.
pub(super) fn sniff(path: &Path) -> std::io::Result<Sniffed> {
    let file = open_nonblocking(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(Sniffed::Special(special_kind(&meta.file_type())));
    }
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    file.take(SNIFF_BYTES as u64).read_to_end(&mut head)?;
    Ok(Sniffed::File(meta.len(), head))
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const O_NONBLOCK: i32 = 0o4000;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const O_NONBLOCK: i32 = 0x0004;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

fn special_kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    if t.is_dir() {
        return "a directory";
    }
    "a special file"
}
