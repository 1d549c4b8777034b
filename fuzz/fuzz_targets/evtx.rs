//! The EVTX reader (evtx crate, template fast path, record recovery, checksum notes).
//!
//! An input that starts with `ElfFile\0` is a whole file. Anything else is the start of one chunk
//! behind a valid file header, zero-filled to 64 KiB, so that mutations land in chunk headers,
//! string and template tables and BinXML rather than in a header check that rejects everything.
//! Seed the corpus with `fuzz/seed.sh`, which cuts chunks out of the shared corpus.
#![no_main]
use libfuzzer_sys::fuzz_target;

const CHUNK: usize = 65536;

fn file_header(chunks: u16) -> Vec<u8> {
    let mut h = vec![0u8; 4096];
    h[..8].copy_from_slice(b"ElfFile\0");
    h[16..24].copy_from_slice(&u64::from(chunks.saturating_sub(1)).to_le_bytes());
    h[24..32].copy_from_slice(&1u64.to_le_bytes());
    h[32..36].copy_from_slice(&128u32.to_le_bytes());
    h[36..38].copy_from_slice(&1u16.to_le_bytes());
    h[38..40].copy_from_slice(&3u16.to_le_bytes());
    h[40..42].copy_from_slice(&4096u16.to_le_bytes());
    h[42..44].copy_from_slice(&chunks.to_le_bytes());
    let crc = crc32(&h[..120]);
    h[124..128].copy_from_slice(&crc.to_le_bytes());
    h
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

fuzz_target!(|data: &[u8]| {
    let bytes = if data.starts_with(b"ElfFile\0") {
        data.to_vec()
    } else {
        let chunks = data.len().div_ceil(CHUNK).clamp(1, 4);
        let mut file = file_header(chunks as u16);
        let body = &data[..data.len().min(chunks * CHUNK)];
        file.extend_from_slice(body);
        file.resize(4096 + chunks * CHUNK, 0);
        file
    };
    let done = rdptriage::ingest::fuzz::evtx(&bytes);
    assert!(done.report.relevant as usize == done.events.len());
});
