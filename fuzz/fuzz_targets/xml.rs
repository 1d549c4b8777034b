//! The XML event-export reader on arbitrary bytes (any encoding, any damage).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let done = rdptriage::ingest::fuzz::xml(data);
    assert!(done.report.relevant as usize == done.events.len());
});
