//! The spool against the in-memory sort it replaces: same lines in the same order, whether the
//! text stays in memory, goes to run files, or cannot go to disk.

use super::*;
use crate::event::{FieldValue, Fields, Provenance};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

/// An event of `path` at second `second` (nanosecond `nanos`) on `host`, record `record`.
fn event(path: &str, host: &str, second: i64, nanos: u32, record: u64) -> Event {
    let mut fields = Fields::new();
    fields.insert("Value", FieldValue::UInt(record));
    Event {
        time: Utc.timestamp_opt(1_700_000_000 + second, nanos).unwrap(),
        host: host.into(),
        channel: "Microsoft-Windows-TerminalServices-RDPClient/Operational".into(),
        provider: "Microsoft-Windows-TerminalServices-ClientActiveXCore".into(),
        event_id: 1026,
        level: Some(4),
        record_id: Some(record),
        activity_id: None,
        fields,
        source: Provenance::record(path.into(), record),
    }
}

/// What the in-memory path writes: a stable sort on `Event::sort_key`, one JSON line each.
fn expected_lines(files: &[Vec<Event>]) -> Vec<u8> {
    let mut all: Vec<&Event> = files.iter().flatten().collect();
    all.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let mut text = Vec::new();
    for e in all {
        serde_json::to_writer(&mut text, e).unwrap();
        text.push(b'\n');
    }
    text
}

/// Push each file through its own file spool, commit them all, and merge.
fn spooled_lines(files: &[Vec<Event>], options: SpoolOptions) -> (Vec<u8>, Option<String>) {
    let spool = Spool::new(options);
    for events in files {
        let mut file = spool.file();
        for e in events {
            file.push(e).unwrap();
        }
        spool.commit(file);
    }
    let sorted = spool.finish().unwrap();
    let failure = sorted.spill_failure().map(str::to_string);
    let mut text = Vec::new();
    sorted
        .for_each_line(|line| {
            text.extend_from_slice(line);
            Ok(())
        })
        .unwrap();
    (text, failure)
}

/// A budget so small that every few events go to a run file.
fn tiny(dir: Option<PathBuf>) -> SpoolOptions {
    SpoolOptions { memory: 2048, dir }
}

fn scenario() -> Vec<Vec<Event>> {
    vec![
        // Out of time order within the file, one tie on (time, host, path, record).
        vec![
            event("b.evtx", "HOST-B", 5, 0, 7),
            event("b.evtx", "HOST-B", 1, 500, 8),
            event("b.evtx", "HOST-A", 1, 500, 9),
            {
                let mut same_key = event("b.evtx", "HOST-B", 1, 500, 8);
                same_key.event_id = 1102;
                same_key
            },
        ],
        vec![
            event("a.evtx", "HOST-B", 1, 500, 1),
            event("a.evtx", "HOST-B", 3, 0, 2),
        ],
        Vec::new(),
    ]
}

#[test]
fn lines_come_out_in_timeline_order_from_memory() {
    let files = scenario();
    let (text, failure) = spooled_lines(&files, SpoolOptions::default());
    assert_eq!(
        String::from_utf8(text).unwrap(),
        String::from_utf8(expected_lines(&files)).unwrap()
    );
    assert_eq!(failure, None);
}

#[test]
fn lines_come_out_in_timeline_order_through_run_files() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<Vec<Event>> = (0..5)
        .map(|f| {
            (0..40)
                .map(|i| event(&format!("f{f}.evtx"), "H", (i * 7 + f) % 13, 0, i as u64))
                .collect()
        })
        .collect();
    let (text, failure) = spooled_lines(&files, tiny(Some(dir.path().into())));
    assert_eq!(text, expected_lines(&files));
    assert_eq!(failure, None);
}

#[test]
fn more_run_files_than_one_merge_reads_are_merged_in_passes() {
    // 2 KiB budget, ~250 bytes a line: a run file every couple of events, far over MAX_FAN_IN.
    let files: Vec<Vec<Event>> = vec![
        (0..600u64)
            .map(|i| event("big.evtx", "H", (i as i64 * 37) % 101, 0, i))
            .collect(),
    ];
    let spool = Spool::new(tiny(None));
    let mut file = spool.file();
    for e in &files[0] {
        file.push(e).unwrap();
    }
    assert!(
        file.spilled.len() > super::merge::MAX_FAN_IN,
        "{} runs",
        file.spilled.len()
    );
    spool.commit(file);
    let mut text = Vec::new();
    spool
        .finish()
        .unwrap()
        .for_each_line(|line| {
            text.extend_from_slice(line);
            Ok(())
        })
        .unwrap();
    assert_eq!(text, expected_lines(&files));
}

#[test]
fn without_a_usable_temporary_folder_everything_stays_in_memory() {
    let files = scenario();
    let missing = PathBuf::from("/nonexistent/rdptriage-spool-test");
    let (text, failure) = spooled_lines(&files, tiny(Some(missing)));
    assert_eq!(text, expected_lines(&files));
    let failure = failure.expect("the failed spill is reported");
    assert!(
        failure.contains("/nonexistent/rdptriage-spool-test"),
        "{failure}"
    );
}

#[test]
fn records_already_pushed_are_found_in_memory_and_on_disk() {
    let spool = Spool::new(tiny(None));
    let mut file = spool.file();
    let events: Vec<Event> = (0..31)
        .map(|i| event("x.evtx", "H", i, 0, i as u64))
        .collect();
    for e in &events {
        file.push(e).unwrap();
    }
    assert!(!file.spilled.is_empty() && !file.held.entries.is_empty());
    let first = record_time(&events[0]);
    let last = record_time(&events[30]);
    let absent = (Some(99), 0, 0);
    let same_id_other_time = (Some(3), events[4].time.timestamp(), 0);
    let wanted: HashSet<RecordTime> = [first, last, absent, same_id_other_time].into();
    let found = file.present(&wanted).unwrap();
    assert_eq!(found, [first, last].into());
}

#[test]
fn events_read_back_from_lines_equal_the_events_pushed() {
    let files = scenario();
    let spool = Spool::new(SpoolOptions::default());
    let mut file = spool.file();
    for e in &files[1] {
        file.push(e).unwrap();
    }
    spool.commit(file);
    let mut back = Vec::new();
    spool
        .finish()
        .unwrap()
        .for_each_event(|e| {
            back.push(e.clone());
            Ok(())
        })
        .unwrap();
    assert_eq!(back, files[1]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn any_events_merge_like_a_stable_sort(
        files in proptest::collection::vec(
            proptest::collection::vec((0i64..20, 0u32..3, 0u64..15, 0usize..2), 0..40),
            1..5,
        ),
        budget in 0usize..3,
    ) {
        let files: Vec<Vec<Event>> = files
            .iter()
            .enumerate()
            .map(|(f, events)| {
                events
                    .iter()
                    .map(|&(second, nanos, record, host)| {
                        event(&format!("f{f}.evtx"), ["H1", "H2"][host], second, nanos, record)
                    })
                    .collect()
            })
            .collect();
        let options = match budget {
            0 => SpoolOptions::default(),
            1 => tiny(None),
            _ => SpoolOptions { memory: 40_000, dir: None },
        };
        let (text, failure) = spooled_lines(&files, options);
        prop_assert_eq!(text, expected_lines(&files));
        prop_assert_eq!(failure, None);
    }
}
