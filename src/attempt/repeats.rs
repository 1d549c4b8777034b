//! Copies of one record in the timeline (see `event/copies.rs` for what makes a copy).
//!
//! Takes: the timeline's events in order, with the number of each event's host spelling.
//! Produces: which events to keep (the first copy of each record in timeline order, i.e. from
//! the file whose path sorts first, live records before recovered ones) and the [`Repeats`]
//! left out, per input.

use crate::event::{Event, Repeats, copies_in_group};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Which of `count` events to keep (`false`: a copy of an earlier one), and the copies per
/// input. `event(i)` is the `i`-th event in timeline order, `tick_of(i)` its time and the number
/// of its host spelling (so the copies of one record are neighbours among the events of one
/// tick; given apart so that events are looked at only when they share one) and `input_of(i)`
/// the input it was read from (which for rdptriage's JSONL is not the file its source names).
pub(super) fn find<'a>(
    count: usize,
    event: impl Fn(usize) -> &'a Event,
    tick_of: impl Fn(usize) -> (DateTime<Utc>, u32),
    input_of: impl Fn(usize) -> &'a Arc<str>,
) -> (Vec<bool>, Repeats) {
    let mut keep = vec![true; count];
    let mut repeats = Repeats::default();
    let mut group: Vec<&Event> = Vec::new();
    let mut start = 0;
    while start < count {
        let tick = tick_of(start);
        let mut end = start + 1;
        while end < count && tick_of(end) == tick {
            end += 1;
        }
        if end - start > 1 {
            group.clear();
            group.extend((start..end).map(&event));
            for (i, copy_of) in copies_in_group(&group).into_iter().enumerate() {
                if let Some(k) = copy_of {
                    keep[start + i] = false;
                    repeats.add(input_of(start + i), input_of(start + k));
                }
            }
        }
        start = end;
    }
    (keep, repeats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::tests_support::ev;
    use crate::event::Provenance;

    /// `ev` on host `srv` with the file and record (or a line, for `record: None`) given.
    fn at(file: &str, record: Option<u64>, id: u32, secs: i64, fields: &[(&str, &str)]) -> Event {
        let mut e = ev("srv", "Security", id, secs, None, fields);
        e.place.set_record_id(record);
        e.set_source(match record {
            Some(r) => Provenance::record(file.into(), r),
            None => Provenance::line(file.into(), secs as u64 + 1),
        });
        e
    }

    /// The inputs holding the copies kept of `input`'s repeats.
    fn kept_in<'a>(repeats: &'a Repeats, input: &str) -> Vec<&'a str> {
        repeats
            .of(input)
            .unwrap()
            .kept_in
            .iter()
            .map(|p| &**p)
            .collect()
    }

    /// `find` with one host spelling and each event read from the file its source names.
    fn kept(events: &[Event]) -> (Vec<bool>, Repeats) {
        find(
            events.len(),
            |i| &events[i],
            |i| (events[i].time, 0),
            |i| events[i].path(),
        )
    }

    #[test]
    fn a_record_read_from_two_files_is_kept_once_and_the_second_file_is_told() {
        let events = [
            at("a.evtx", Some(7), 4625, 5, &[("User", "x")]),
            at("a.evtx", Some(8), 4625, 5, &[("User", "y")]),
            at("b.xml", Some(7), 4625, 5, &[("User", "x")]),
            at("b.xml", Some(8), 4625, 5, &[("User", "y")]),
            at("b.xml", Some(9), 4625, 5, &[("User", "z")]),
            at("c.xml", Some(7), 4625, 5, &[("User", "x")]),
        ];
        let (keep, repeats) = kept(&events);
        assert_eq!(keep, [true, true, false, false, true, false]);
        assert_eq!(repeats.0.len(), 2);
        let b = repeats.of("b.xml").unwrap();
        assert_eq!(b.count, 2);
        assert_eq!(kept_in(&repeats, "b.xml"), ["a.evtx"]);
        assert_eq!(repeats.of("c.xml").unwrap().count, 1);
    }

    #[test]
    fn only_events_of_one_time_and_one_host_spelling_are_compared() {
        let events = [
            at("a.evtx", Some(7), 4625, 5, &[]),
            at("b.evtx", Some(7), 4625, 5, &[]),
        ];
        let tick = |i: usize| (events[i].time, i as u32);
        let (keep, repeats) = find(2, |i| &events[i], tick, |i| events[i].path());
        assert_eq!(keep, [true, true]);
        assert!(repeats.is_empty());
        let later = [
            at("a.evtx", Some(7), 4625, 5, &[]),
            at("b.evtx", Some(7), 4625, 6, &[]),
        ];
        assert_eq!(kept(&later).0, [true, true]);
    }

    #[test]
    fn equal_lines_of_one_text_file_stay_two_events_and_another_file_repeats_one() {
        let events = [
            at("a.txt", None, 1026, 5, &[("Reason", "2308")]),
            at("a.txt", None, 1026, 5, &[("Reason", "2308")]),
            at("b.txt", None, 1026, 5, &[("Reason", "2308")]),
            at("b.txt", None, 1026, 5, &[("Reason", "264")]),
        ];
        let (keep, repeats) = kept(&events);
        assert_eq!(keep, [true, true, false, true]);
        assert_eq!(repeats.of("b.txt").unwrap().count, 1);
    }

    #[test]
    fn a_file_holding_one_record_twice_keeps_it_once() {
        let events = [
            at("a.evtx", Some(7), 4625, 5, &[]),
            at("a.evtx", Some(7), 4625, 5, &[]),
        ];
        let (keep, repeats) = kept(&events);
        assert_eq!(keep, [true, false]);
        assert_eq!(kept_in(&repeats, "a.evtx"), ["a.evtx"]);
    }
}
