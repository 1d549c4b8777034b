//! The text-form readers (wevtutil, Event Viewer, Format-List, trace text, tracerpt and EvtxECmd
//! CSV), each reached through content detection, on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(done) = rdptriage::ingest::fuzz::text(data) {
        assert!(done.report.relevant as usize == done.events.len());
    }
});
