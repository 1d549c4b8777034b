//! The shared corpus of real public logs. Runs when `RDPTRIAGE_CORPUS` names the folder (CI sets
//! it to `../shared/corpus`); otherwise each test says so on stderr and checks nothing else.

use rdptriage::ingest::{IngestOptions, ingest_all};
use rdptriage::source::{InputStatus, discover};
use std::collections::HashMap;
use std::path::PathBuf;

fn corpus() -> Option<PathBuf> {
    match std::env::var_os("RDPTRIAGE_CORPUS") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            eprintln!("RDPTRIAGE_CORPUS is not set: corpus test not run");
            None
        }
    }
}

/// `path → (records, parse_errors)` from MANIFEST.tsv.
fn manifest(dir: &std::path::Path) -> HashMap<String, (u64, u64)> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("MANIFEST.tsv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (path, records, errors) = (col("path"), col("records"), col("parse_errors"));
    lines
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .map(|f| {
            (
                f[path].to_string(),
                (f[records].parse().unwrap(), f[errors].parse().unwrap()),
            )
        })
        .collect()
}

#[test]
fn every_manifest_file_is_read_at_least_as_far_as_evtx_dump() {
    let Some(dir) = corpus() else { return };
    let expected = manifest(&dir);
    let found = discover(std::slice::from_ref(&dir));
    let files = ingest_all(&found.sources, &IngestOptions::default(), &|_, _| {});
    let mut seen = 0;
    for file in &files {
        let r = &file.report;
        let rel = std::path::Path::new(&r.path)
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let Some(&(records, _)) = expected.get(&rel) else {
            panic!("{rel} is read but not in the manifest");
        };
        seen += 1;
        assert!(
            r.records + r.failed_records >= records,
            "{rel}: read {} + failed {} < manifest {records}",
            r.records,
            r.failed_records
        );
        assert_ne!(r.status, InputStatus::Unreadable, "{rel}: {:?}", r.reason);
        if r.failed_records > 0 {
            assert!(r.first_error.is_some(), "{rel}: failures without a reason");
        }
    }
    assert_eq!(seen, expected.len(), "every manifest file is read");
    // The only other file is the manifest itself, skipped with a reason.
    for p in &found.problems {
        assert_eq!(p.status, InputStatus::Skipped, "{p:?}");
        assert!(p.reason.is_some());
    }
}

#[test]
fn stolen_szechuan_client_log_has_one_successful_attempt() {
    let Some(dir) = corpus() else { return };
    let file = dir.join(
        "AndrewRathbun+DFIRArtifactMuseum/Windows/EventLogs/Win2012R2/StolenSzechuan/StolenSzechuanEventLogs/Microsoft-Windows-TerminalServices-RDPClient%4Operational.evtx",
    );
    let config = rdptriage::config::Config {
        paths: vec![file],
        ..Default::default()
    };
    let analysis = rdptriage::analysis::analyze(&config, &rdptriage::analysis::NoProgress).unwrap();
    let attempts = &analysis.correlation.attempts;
    assert_eq!(attempts.len(), 1);
    let a = &attempts[0];
    assert_eq!(a.target.as_deref(), Some("DESKTOP-SDN1RPT"));
    assert_eq!(
        a.codes.primary,
        Some(2),
        "disconnect reason 2: remote disconnection by user"
    );
    assert_eq!(a.outcome, rdptriage::attempt::Outcome::Succeeded);
}

#[test]
fn deciding_relevance_from_templates_gives_the_same_events_as_rendering_everything() {
    let Some(dir) = corpus() else { return };
    let found = discover(std::slice::from_ref(&dir));
    let fast = ingest_all(&found.sources, &IngestOptions::default(), &|_, _| {});
    let slow = crate::util::ingest_rendering_every_record(&found.sources);
    crate::util::assert_same_reads(&fast, &slow);
}

/// The corpus's files cut into parts of 256 KiB (4 chunks), each read on its own and joined, give
/// the same events and accounting as one reader per file: real logs that have wrapped around,
/// are dirty, damaged or end inside a chunk.
#[test]
fn corpus_files_read_in_parts_equal_one_reader_per_file() {
    use rdptriage::ingest::EvtxParts;
    let Some(dir) = corpus() else { return };
    let found = discover(std::slice::from_ref(&dir));
    let options = |evtx_parts| IngestOptions {
        evtx_parts,
        ..IngestOptions::default()
    };
    let small = EvtxParts {
        min_bytes: 256 << 10,
        max_parts: Some(64),
    };
    let cut = found
        .sources
        .iter()
        .filter(|s| small.count(s, 2) > 1)
        .count();
    assert!(cut >= 20, "corpus files cut into parts: {cut}");
    let parts = ingest_all(&found.sources, &options(small), &|_, _| {});
    let whole = EvtxParts {
        min_bytes: u64::MAX,
        max_parts: Some(1),
    };
    let one_reader = ingest_all(&found.sources, &options(whole), &|_, _| {});
    crate::util::assert_same_reads(&parts, &one_reader);
}

#[test]
fn events_streamed_through_run_files_are_the_timeline_read_in_memory() {
    use rdptriage::analysis::{NoProgress, read_events, stream_events};
    let Some(dir) = corpus() else { return };
    let mut config = rdptriage::config::Config {
        paths: vec![dir],
        ..Default::default()
    };
    let held = read_events(&config, &NoProgress).unwrap();
    // 2 MiB against the corpus's ~25 MiB of lines: the big files spill parts of themselves,
    // the small ones are merged to disk together, and recovered records are checked for copies
    // of live ones that are on disk.
    config.spool.memory = 2 << 20;
    let streamed = stream_events(&config, &NoProgress).unwrap();
    assert!(streamed.events.spill_failure().is_none());
    let mut expected = Vec::new();
    for e in &held.timeline.events {
        serde_json::to_writer(&mut expected, e).unwrap();
        expected.push(b'\n');
    }
    let mut lines = Vec::new();
    let inputs = streamed
        .for_each_line(|line| {
            lines.extend_from_slice(line);
            Ok(())
        })
        .unwrap();
    assert_eq!(inputs, held.inputs);
    // Copies of one record, kept once both ways: `security_bad_string_cache.evtx` is
    // `security.evtx` with a damaged string cache; StolenSzechuan's empty NAP and firewall logs
    // reuse space of its System log, whose records are recovered from their slack and yield to
    // the live ones.
    let input = |end: &str| inputs.iter().find(|i| i.path.ends_with(end)).unwrap();
    let copy = input("samples/security_bad_string_cache.evtx");
    assert_eq!((copy.repeated, copy.relevant), (628, 628));
    assert!(copy.repeated_kept_in[0].ends_with("samples/security.evtx"));
    assert_eq!(input("samples/security.evtx").repeated, 0);
    let slack =
        input("StolenSzechuanEventLogs/Microsoft-Windows-NetworkAccessProtection%4WHC.evtx");
    assert_eq!(slack.repeated, slack.recovered_relevant);
    assert!(slack.repeated > 0);
    assert!(slack.repeated_kept_in[0].ends_with("StolenSzechuanEventLogs/System.evtx"));
    assert_eq!(input("StolenSzechuanEventLogs/System.evtx").repeated, 0);
    assert!(held.timeline.events.len() > 50_000);
    assert!(
        lines == expected,
        "streamed timeline differs from the in-memory one"
    );
}
