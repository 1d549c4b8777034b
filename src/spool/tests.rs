//! The spool against the in-memory sort it replaces: same lines in the same order, whether the
//! text stays in memory, goes to run files, or cannot go to disk.

use super::*;
use crate::event::{FieldValue, Fields, Provenance, Repeats};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

/// An event of `path` at second `second` (nanosecond `nanos`) on `host`, record `record`.
fn event(path: &str, host: &str, second: i64, nanos: u32, record: u64) -> Event {
    let mut fields = Fields::new();
    fields.insert("Value", FieldValue::UInt(record));
    Event {
        time: Utc.timestamp_opt(1_700_000_000 + second, nanos).unwrap(),
        origin: crate::event::Origin::new(
            host,
            "Microsoft-Windows-TerminalServices-RDPClient/Operational",
            "Microsoft-Windows-TerminalServices-ClientActiveXCore",
            path,
        ),
        event_id: 1026,
        level: Some(4),
        activity_id: None,
        fields,
        place: crate::event::Place::new(crate::event::Locator::Record(record), Some(record)),
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
    let (text, failure, _) = spooled(files, options);
    (text, failure)
}

/// [`spooled_lines`] and the copies the merge left out (each file named by its first event's
/// source).
fn spooled(files: &[Vec<Event>], options: SpoolOptions) -> (Vec<u8>, Option<String>, Repeats) {
    let named: Vec<(&str, &[Event])> = files
        .iter()
        .map(|events| (events.first().map_or("", |e| &**e.path()), &events[..]))
        .collect();
    spooled_inputs(&named, options)
}

/// [`spooled`] of inputs with the names given.
fn spooled_inputs(
    inputs: &[(&str, &[Event])],
    options: SpoolOptions,
) -> (Vec<u8>, Option<String>, Repeats) {
    let spool = Spool::new(options);
    for (name, events) in inputs {
        let mut file = spool.file(name);
        for e in *events {
            file.push(e).unwrap();
        }
        spool.commit(file);
    }
    let sorted = spool.finish().unwrap();
    let failure = sorted.spill_failure().map(str::to_string);
    let mut text = Vec::new();
    let repeats = sorted
        .for_each_line(|line| {
            text.extend_from_slice(line);
            Ok(())
        })
        .unwrap();
    (text, failure, repeats)
}

/// Every line of a spool's merge, in order.
fn finished_lines(spool: &Spool) -> Vec<u8> {
    let mut text = Vec::new();
    spool
        .finish()
        .unwrap()
        .for_each_line(|line| {
            text.extend_from_slice(line);
            Ok(())
        })
        .unwrap();
    text
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
    let mut file = spool.file("big.evtx");
    for e in &files[0] {
        file.push(e).unwrap();
    }
    assert!(
        file.spilled.len() > super::merge::MAX_FAN_IN,
        "{} runs",
        file.spilled.len()
    );
    spool.commit(file);
    assert_eq!(finished_lines(&spool), expected_lines(&files));
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
    let mut file = spool.file("big.evtx");
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
    let mut file = spool.file("big.evtx");
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
        // Equal second, nanosecond, record and host in two files: copies of one record, left
        // out by both ways alike.
        let timeline = crate::attempt::Timeline::from_runs(files.clone());
        let (text, failure, repeats) = spooled(&files, options);
        prop_assert_eq!(text, timeline_lines(&timeline));
        prop_assert_eq!(repeats, timeline.repeats);
        prop_assert_eq!(failure, None);
    }
}

/// The lines of the in-memory timeline.
fn timeline_lines(timeline: &crate::attempt::Timeline) -> Vec<u8> {
    let mut text = Vec::new();
    for e in &timeline.events {
        serde_json::to_writer(&mut text, e).unwrap();
        text.push(b'\n');
    }
    text
}

/// Records `ids` of `path` on host `H`, record `i` at second `i % seconds`.
fn records(path: &str, ids: std::ops::Range<u64>, seconds: u64) -> Vec<Event> {
    ids.map(|i| event(path, "H", (i % seconds) as i64, 0, i))
        .collect()
}

#[test]
fn copies_of_a_record_are_left_out_as_the_in_memory_timeline_leaves_them_out() {
    // b.evtx repeats records 20..60 of a.evtx (an overlapping second collection); c.txt and
    // d.txt are text traces without record ids, d.txt repeating two of c.txt's lines.
    let a = records("a.evtx", 0..60, 17);
    let b = records("b.evtx", 20..80, 17);
    let text_event = |path: &str, line: u64, value: u64| {
        let mut e = event(path, "H", 3, 0, value);
        e.place.set_record_id(None);
        e.set_source(Provenance::line(path.into(), line));
        e
    };
    let c = vec![
        text_event("c.txt", 1, 1),
        text_event("c.txt", 2, 2),
        text_event("c.txt", 3, 2),
    ];
    let d = vec![
        text_event("d.txt", 1, 1),
        text_event("d.txt", 2, 2),
        text_event("d.txt", 3, 3),
    ];
    let files = vec![b, d, a, c];
    let timeline = crate::attempt::Timeline::from_runs(files.clone());
    let expected = timeline_lines(&timeline);
    assert_eq!(timeline.repeats.of("b.evtx").map(|r| r.count), Some(40));
    // d.txt's 1 and 2 repeat c.txt's; c.txt's own two lines of value 2 stay two events.
    assert_eq!(timeline.repeats.of("d.txt").map(|r| r.count), Some(2));
    assert!(timeline.repeats.of("c.txt").is_none());
    let dir = tempfile::tempdir().unwrap();
    for options in [SpoolOptions::default(), tiny(Some(dir.path().into()))] {
        let (text, failure, repeats) = spooled(&files, options);
        assert_eq!(failure, None);
        assert_eq!(
            String::from_utf8(text).unwrap(),
            String::from_utf8(expected.clone()).unwrap()
        );
        assert_eq!(repeats, timeline.repeats);
    }
}

#[test]
fn copies_between_inputs_that_name_other_files_are_counted_under_the_inputs() {
    // Two map outputs (rdptriage JSONL) whose events name the .evtx they came from, overlapping
    // in records 10..30; through run files, where the input is written beside the source.
    let first = records("a.evtx", 0..30, 7);
    let second = records("a.evtx", 10..40, 7);
    let dir = tempfile::tempdir().unwrap();
    let inputs = [("m1.jsonl", &first[..]), ("m2.jsonl", &second[..])];
    let (text, failure, repeats) = spooled_inputs(&inputs, tiny(Some(dir.path().into())));
    assert_eq!(failure, None);
    let timeline = crate::attempt::Timeline::from_inputs(vec![
        (Arc::from("m1.jsonl"), first),
        (Arc::from("m2.jsonl"), second),
    ]);
    assert_eq!(text, timeline_lines(&timeline));
    assert_eq!(repeats, timeline.repeats);
    let m2 = repeats.of("m2.jsonl").unwrap();
    assert_eq!(m2.count, 20);
    assert_eq!(
        m2.kept_in.iter().map(|p| &**p).collect::<Vec<_>>(),
        ["m1.jsonl"]
    );
    assert!(repeats.of("a.evtx").is_none());
}

#[test]
fn a_file_spooled_in_parts_merges_like_one_reader_and_keeps_what_its_parts_held() {
    // Part 1's events tie part 0's keys but for the order of reading: joined, part 0's come
    // first, as one reader that read both parts in turn would give them.
    let events: Vec<Event> = (0..12)
        .map(|i| {
            let mut e = event("x.evtx", "H", i % 3, 0, 7);
            e.event_id = 1000 + i as u32;
            e
        })
        .collect();
    let expected = expected_lines(std::slice::from_ref(&events));
    let options = SpoolOptions {
        memory: 1 << 20,
        dir: None,
    };
    let spool = Spool::new(options.clone());
    let mut first = spool.file_part("x.evtx", 0);
    let mut second = spool.file_part("x.evtx", 1);
    for e in &events[..6] {
        first.push(e).unwrap();
    }
    for e in &events[6..] {
        second.push(e).unwrap();
    }
    first.absorb(second);
    assert_eq!(
        first.share,
        2 * (options.memory / 4),
        "the parts' shares add up"
    );
    assert!(first.spilled.is_empty());
    spool.commit(first);
    assert!(
        finished_lines(&spool) == expected,
        "joined parts differ from one reader"
    );
}

#[test]
fn a_run_file_cut_inside_an_entry_is_an_error_not_a_short_line() {
    let spool = Spool::new(tiny(None));
    let mut file = spool.file("x.evtx");
    for i in 0..31 {
        file.push(&event("x.evtx", "H", i, 0, i as u64)).unwrap();
    }
    let run = file.spilled.remove(0);
    let len = run.file.metadata().unwrap().len();
    run.file.set_len(len - 3).unwrap();
    let mut reader = run.reader().unwrap();
    let error = loop {
        match reader.advance() {
            Ok(true) => {}
            Ok(false) => panic!("the cut run read to its end"),
            Err(error) => break error,
        }
    };
    assert_eq!(error.to_string(), "run file ends inside an entry");
}
