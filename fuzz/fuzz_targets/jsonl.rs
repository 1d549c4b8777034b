//! The JSON-lines reader (evtx_dump JSONL and rdptriage's own JSONL) on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let done = rdptriage::ingest::fuzz::jsonl(data);
    assert!(done.report.relevant as usize == done.events.len());
});
