//! EVTX damage: stale records in chunk slack are recovered and counted apart, dirty headers and
//! checksum mismatches become notes, and nothing readable is dropped.

use super::client_evtx;
use rdptriage::ingest::IngestOptions;
use rdptriage::ingest::fuzz::{evtx, evtx_with};
use rdptriage::source::InputStatus;

const HEADER: usize = 4096;
const RECORD_MAGIC: &[u8] = b"**\0\0";

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Offsets of the records of a chunk, walking their sizes from the chunk header.
fn record_offsets(chunk: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 512;
    while at + 24 <= chunk.len() && &chunk[at..at + 4] == RECORD_MAGIC {
        out.push(at);
        let size = u32::from_le_bytes(chunk[at + 4..at + 8].try_into().unwrap()) as usize;
        if size < 24 {
            break;
        }
        at += size;
    }
    out
}

/// Fix both checksums of the chunk at `start`.
fn fix_chunk_checksums(file: &mut [u8], start: usize) {
    let chunk = &mut file[start..start + 65536];
    let free = u32::from_le_bytes(chunk[48..52].try_into().unwrap()) as usize;
    let events = crc32fast::hash(&chunk[512..free]);
    put_u32(chunk, 52, events);
    let mut h = crc32fast::Hasher::new();
    h.update(&chunk[..120]);
    h.update(&chunk[128..512]);
    let crc = h.finalize();
    put_u32(chunk, 124, crc);
}

/// Make the first chunk end after `keep` records, as after the log was cleared or its chunk
/// reused: the records after them stay in the chunk's free space, stale. Checksums stay valid.
pub(super) fn leave_stale_records(file: &mut [u8], keep: usize) -> usize {
    let chunk = &mut file[HEADER..HEADER + 65536];
    let offsets = record_offsets(chunk);
    assert!(
        offsets.len() > keep,
        "{} records in the chunk",
        offsets.len()
    );
    let (first_number, first_id) = (u64_at(chunk, 8), u64_at(chunk, 24));
    put_u64(chunk, 16, first_number + keep as u64 - 1);
    put_u64(chunk, 32, first_id + keep as u64 - 1);
    put_u32(chunk, 44, offsets[keep - 1] as u32);
    put_u32(chunk, 48, offsets[keep] as u32);
    fix_chunk_checksums(file, HEADER);
    offsets.len()
}

fn fix_file_header_checksum(file: &mut [u8]) {
    let crc = crc32fast::hash(&file[..120]);
    put_u32(file, 124, crc);
}

#[test]
fn stale_records_in_chunk_slack_are_recovered_and_counted_apart() {
    let mut file = client_evtx(40);
    let in_chunk = leave_stale_records(&mut file, 25);
    assert_eq!(in_chunk, 40);
    let done = evtx(&file);
    let r = &done.report;
    assert_eq!(r.records, 25, "live records only: {r:?}");
    assert_eq!(r.recovered, 15, "{r:?}");
    assert_eq!(r.recovered_relevant, 15, "{r:?}");
    assert_eq!(r.relevant, 40, "recovered events are kept: {r:?}");
    assert_eq!(done.events.len(), 40);
    assert_eq!(r.status, InputStatus::Read);
    assert!(
        r.note.is_none(),
        "valid checksums, clean header: {:?}",
        r.note
    );
    let ids: Vec<u64> = done.events.iter().filter_map(|e| e.record_id()).collect();
    assert!(ids.contains(&40) && ids.contains(&26), "{ids:?}");

    let off = IngestOptions {
        recover_records: false,
        ..IngestOptions::default()
    };
    let done = evtx_with(&file, &off);
    assert_eq!((done.report.records, done.report.recovered), (25, 0));
    assert_eq!(done.events.len(), 25);
}

#[test]
fn the_binary_reports_recovered_records_and_can_skip_them() {
    let mut file = client_evtx(40);
    leave_stale_records(&mut file, 25);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("client.evtx"), &file).unwrap();
    let run = |extra: &[&str]| {
        let out = crate::util::rdptriage()
            .args(["attempts", "--format", "json", "--quiet"])
            .args(extra)
            .arg(dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        crate::util::json_of(&out)["inputs"][0].clone()
    };
    let with = run(&[]);
    super::assert_input_matches_schema(&with);
    assert_eq!(
        (with["records"].as_u64(), with["recovered"].as_u64()),
        (Some(25), Some(15))
    );
    assert_eq!(with["recovered_relevant"].as_u64(), Some(15));
    let without = run(&["--no-recovery"]);
    assert_eq!(without["records"].as_u64(), Some(25));
    assert!(without.get("recovered").is_none(), "{without}");
}

#[test]
fn recovered_events_respect_the_time_window() {
    let mut file = client_evtx(40);
    leave_stale_records(&mut file, 25);
    let options = IngestOptions {
        // Records are one second apart from 09:00:00; keep the first 30.
        until: Some("2024-05-14T09:00:29Z".parse().unwrap()),
        ..IngestOptions::default()
    };
    let done = evtx_with(&file, &options);
    assert_eq!(done.report.recovered, 15);
    assert_eq!(done.report.recovered_relevant, 5);
    assert_eq!(done.events.len(), 30);
}

#[test]
fn a_dirty_header_is_a_note_and_everything_is_read() {
    let mut file = client_evtx(30);
    file[120] |= 0x1;
    fix_file_header_checksum(&mut file);
    let done = evtx(&file);
    assert_eq!(done.report.records, 30);
    assert_eq!(done.report.status, InputStatus::Read);
    assert!(
        done.report.note.as_deref().unwrap_or("").contains("dirty"),
        "{:?}",
        done.report.note
    );
}

#[test]
fn checksum_mismatches_are_notes_not_dropped_chunks() {
    let mut file = client_evtx(30);
    // A wrong records checksum in the chunk (a header field, so the header's own checksum fails
    // too), a wrong file header checksum.
    file[HEADER + 52] ^= 0xFF;
    file[124] ^= 0xFF;
    let done = evtx(&file);
    let r = &done.report;
    assert_eq!(r.records, 30, "the chunk is read anyway: {r:?}");
    let note = r.note.as_deref().unwrap_or("");
    assert!(note.contains("file header: checksum mismatch"), "{note}");
    assert!(
        note.contains("checksum mismatch in 1 chunk (records 1–30: header and records)"),
        "{note}"
    );
}

#[test]
fn a_chunk_with_a_broken_record_keeps_the_others_and_names_the_failure() {
    let mut file = client_evtx(30);
    let offsets = record_offsets(&file[HEADER..HEADER + 65536]);
    // Wreck the BinXML of record 10 (past its 24-byte header).
    let at = HEADER + offsets[9] + 24;
    for b in &mut file[at..at + 16] {
        *b = 0xEE;
    }
    let done = evtx(&file);
    let r = &done.report;
    assert!(r.records >= 29, "{r:?}");
    assert!(r.failed_records >= 1, "{r:?}");
    assert!(r.first_error.is_some());
    assert_eq!(r.status, InputStatus::Partial);
}
