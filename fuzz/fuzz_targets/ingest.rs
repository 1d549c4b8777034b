//! Every reader through the real entry point: the bytes are written to a file, discovered (format
//! detected from the content), and read by `rdptriage::ingest::ingest` on a watchdog thread.
//! New readers (the text-trace forms) are covered as soon as detection dispatches to them.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rdptriage::ingest::{IngestOptions, ingest};
use rdptriage::source::discover;
use std::path::PathBuf;
use std::sync::OnceLock;

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("rdptriage-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let path = scratch().join("input");
    std::fs::write(&path, data).expect("write input");
    let found = discover(std::slice::from_ref(&path));
    assert_eq!(found.sources.len() + found.problems.len(), 1);
    for source in &found.sources {
        let done = ingest(source, &IngestOptions::default());
        assert!(done.report.relevant as usize == done.events.len());
        assert!(!done.report.abandoned_reader, "a reader hung: {:?}", done.report.reason);
    }
});
