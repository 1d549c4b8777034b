//! Regression tests for hostile inputs: the shapes behind the evtx crate's known hang and
//! huge-allocation bugs (evtx#263, #264, #288, #291–#293), rebuilt on our writer's output, and
//! every input the fuzzers (`fuzz/`) found, inline with what went wrong. Each must finish quickly
//! and be accounted for.

use super::client_evtx;
use rdptriage::ingest::fuzz;
use std::time::{Duration, Instant};

const HEADER: usize = 4096;

/// Offset of record `n` (0-based) of the first chunk.
fn record_at(file: &[u8], n: usize) -> usize {
    let mut at = HEADER + 512;
    for _ in 0..n {
        let size = u32::from_le_bytes(file[at + 4..at + 8].try_into().unwrap()) as usize;
        at += size;
    }
    at
}

/// Read `bytes` as EVTX within a time bound; the report must add up.
fn survives(bytes: &[u8]) -> rdptriage::ingest::FileIngest {
    let started = Instant::now();
    let done = fuzz::evtx(bytes);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(done.events.len() as u64, done.report.relevant);
    done
}

#[test]
fn a_record_with_data_size_zero_does_not_loop() {
    // evtx#264: a record whose size is 0 made the walk stand still.
    let mut file = client_evtx(20);
    let at = record_at(&file, 5);
    file[at + 4..at + 8].copy_from_slice(&0u32.to_le_bytes());
    let done = survives(&file);
    assert!(done.report.records >= 5, "{:?}", done.report);
    assert!(done.report.failed_records >= 1, "{:?}", done.report);
}

#[test]
fn a_record_size_past_the_chunk_is_bounded() {
    // evtx#288: a corrupted record size.
    for size in [u32::MAX, 65536, 25] {
        let mut file = client_evtx(20);
        let at = record_at(&file, 3);
        file[at + 4..at + 8].copy_from_slice(&size.to_le_bytes());
        let done = survives(&file);
        assert!(done.report.records >= 3, "size {size}: {:?}", done.report);
    }
}

#[test]
fn chunk_header_offsets_out_of_range_are_survived() {
    // Free space and last-record offsets past the chunk; string and template tables pointing
    // into the chunk header or at themselves (evtx#263's self-links).
    let mut file = client_evtx(20);
    let chunk = HEADER;
    file[chunk + 44..chunk + 48].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    file[chunk + 48..chunk + 52].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    for bucket in 0..64 {
        let at = chunk + 128 + 4 * bucket;
        file[at..at + 4].copy_from_slice(&(128 + 4 * bucket as u32).to_le_bytes());
    }
    for bucket in 0..32 {
        let at = chunk + 384 + 4 * bucket;
        file[at..at + 4].copy_from_slice(&(384u32).to_le_bytes());
    }
    survives(&file);
}

#[test]
fn huge_lengths_inside_binxml_do_not_allocate_them() {
    // evtx#291–#293: corrupt lengths in BinXML asked for gigabytes. Overwrite every 16-bit word
    // of one record's BinXML in turn with 0xFFFF and read each variant.
    let file = client_evtx(4);
    let at = record_at(&file, 1) + 24;
    let end = record_at(&file, 2) - 4;
    for word in (at..end).step_by(2).take(300) {
        let mut bad = file.clone();
        bad[word..word + 2].copy_from_slice(&[0xFF, 0xFF]);
        survives(&bad);
    }
}
