//! Copies of one record: the same log collected twice, or exported in two forms.
//!
//! Takes: two events.
//! Produces: whether the later one is a copy of the earlier ([`Event::is_copy_of`]), which
//! events of one time and host to keep ([`copies_in_group`]), and the accounting of copies left
//! out per input ([`Repeats`]). The timeline (`attempt/order.rs`) and
//! the spool's merge (`spool/merge.rs`) both keep the first copy of a record and drop the others.
//!
//! A forensic share often holds one machine's log twice: a KAPE collection beside a `wevtutil`
//! export, two collections whose periods overlap, an `.evtx` and its XML export. Read as they are,
//! each connection would be rebuilt twice, and the second copy of every event would make
//! attempts no machine ever made. An event is a copy of another when both were logged by the same
//! host (as spelled) at the same time and:
//!
//! * both have a record id: with the same channel, record id and event id — Windows numbers a
//!   channel's records one by one, so these name one record wherever they were read, and the
//!   check holds across forms that keep the record id and the full time (`.evtx`, XML, JSONL from
//!   `rdptriage events`);
//! * neither has one (text traces and exports): with the same channel, provider, event id,
//!   activity id, level and fields, read from *another* file (two equal lines of one file are
//!   two events), one to one: a kept event stands for one equal line of each other file.
//!
//! Copies in forms that keep less (a text export with times to the second) are not recognised.

use super::Event;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

impl Event {
    /// True when `self` is a copy of the record `earlier` (see the module doc).
    pub fn is_copy_of(&self, earlier: &Event) -> bool {
        let same_kind = earlier.time == self.time
            && earlier.host() == self.host()
            && earlier.channel() == self.channel()
            && earlier.event_id == self.event_id;
        match (earlier.record_id(), self.record_id()) {
            (Some(a), Some(b)) => same_kind && a == b,
            (None, None) => {
                same_kind
                    && earlier.path() != self.path()
                    && earlier.provider() == self.provider()
                    && earlier.activity_id == self.activity_id
                    && earlier.level == self.level
                    && earlier.fields == self.fields
            }
            _ => false,
        }
    }
}

/// For events of one time and one host, in timeline order: for each, `None` when it is kept, or
/// the index of the kept event it copies. The first copy of a record is kept, live records
/// before those recovered from unallocated space (a cleared log's space reused by another log
/// file holds stale copies of records that its own file still has live).
pub fn copies_in_group(group: &[&Event]) -> Vec<Option<usize>> {
    let mut copy_of = vec![None; group.len()];
    if !may_hold_copies(group) {
        return copy_of;
    }
    // Candidates share channel, event id and record id; `is_copy_of` decides. Without a record
    // id, equal lines are matched one to one: a kept event stands for one line of each other
    // file (a file with two equal lines where the kept file has one holds one new event).
    let mut kept: HashMap<(&str, u32, Option<u64>), Vec<usize>> = HashMap::new();
    let mut matched: Vec<Vec<&str>> = vec![Vec::new(); group.len()];
    for recovered in [false, true] {
        for (i, event) in group.iter().enumerate() {
            if matches!(event.locator(), super::Locator::Recovered(_)) != recovered {
                continue;
            }
            let path = &**event.path();
            let candidates = kept
                .entry((&**event.channel(), event.event_id, event.record_id()))
                .or_default();
            let free = |k: usize| event.record_id().is_some() || !matched[k].contains(&path);
            match candidates
                .iter()
                .find(|&&k| free(k) && event.is_copy_of(group[k]))
            {
                Some(&k) => {
                    copy_of[i] = Some(k);
                    matched[k].push(path);
                }
                None => candidates.push(i),
            }
        }
    }
    copy_of
}

/// False when no two events of `group` can be copies of one record (see [`may_hold_copies`]).
fn may_hold_copies(group: &[&Event]) -> bool {
    may_hold_copies_by(group, |e| e.record_id(), |e| e.path())
}

/// False when no two of `items` (events of one time and host, told by their record id and the
/// file their source names) can be copies of one record: no record id twice, and no two without
/// one from different files. Most groups (records logged in the same tick) are told apart here,
/// without hashing or, in the spool, decoding.
pub(crate) fn may_hold_copies_by<T>(
    items: &[T],
    record_id: impl Fn(&T) -> Option<u64>,
    path: impl Fn(&T) -> &str,
) -> bool {
    if items.len() > 16 {
        // Without record ids, a copy needs two files (a busy second of one text export has
        // none); with them, one record id twice (sorted).
        let mut paths = items.iter().filter(|i| record_id(i).is_none()).map(&path);
        if let Some(first) = paths.next()
            && paths.any(|p| p != first)
        {
            return true;
        }
        let mut ids: Vec<u64> = items.iter().filter_map(&record_id).collect();
        ids.sort_unstable();
        return ids.windows(2).any(|w| w[0] == w[1]);
    }
    items.iter().enumerate().any(|(i, item)| {
        items[..i].iter().any(|other| match record_id(item) {
            Some(id) => record_id(other) == Some(id),
            None => record_id(other).is_none() && path(other) != path(item),
        })
    })
}

/// The events of one input left out as copies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Repeated {
    /// How many of the file's events copy a record kept from another place.
    pub count: u64,
    /// The files holding the copies kept (the file itself when it holds a record twice).
    pub kept_in: BTreeSet<Arc<str>>,
}

/// Per input (as [`crate::source::InputReport::path`] names it), its events left out as copies
/// (inputs without any are absent). Inputs, not the files events name: an event of rdptriage's
/// JSONL keeps the source it was first read from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Repeats(pub BTreeMap<Arc<str>, Repeated>);

impl Repeats {
    /// Count an event of the input `copy_in` left out in favour of one of the input `kept_in`.
    pub fn add(&mut self, copy_in: &Arc<str>, kept_in: &Arc<str>) {
        let entry = self.0.entry(copy_in.clone()).or_default();
        entry.count += 1;
        entry.kept_in.insert(kept_in.clone());
    }

    /// True when no event was left out.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The copies left out of the input `path`.
    pub fn of(&self, path: &str) -> Option<&Repeated> {
        self.0.get(path)
    }
}

#[cfg(test)]
mod tests {
    use crate::event::{Event, FieldValue, Fields, Locator, Origin};

    /// An event of host `srv` in Security, at second `secs`, from `file`, with `record` (a line
    /// number instead when `None`).
    fn at(file: &str, record: Option<u64>, id: u32, secs: i64, fields: &[(&str, &str)]) -> Event {
        let base: chrono::DateTime<chrono::Utc> = "2024-05-14T09:00:00Z".parse().unwrap();
        Event {
            time: base + chrono::Duration::seconds(secs),
            origin: Origin::new(
                "srv",
                "Security",
                "Microsoft-Windows-Security-Auditing",
                file,
            ),
            event_id: id,
            level: None,
            activity_id: None,
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), FieldValue::from_text(v)))
                .collect::<Fields>(),
            place: crate::event::Place::new(
                match record {
                    Some(r) => Locator::Record(r),
                    None => Locator::Line(1),
                },
                record,
            ),
        }
    }

    #[test]
    fn a_record_id_names_one_record_of_a_host_channel_event_id_and_time() {
        let first = at("a.evtx", Some(7), 4625, 5, &[("User", "x")]);
        assert!(at("b.xml", Some(7), 4625, 5, &[("User", "x")]).is_copy_of(&first));
        // Fields rendered differently by another form do not matter; the record id does.
        assert!(at("b.xml", Some(7), 4625, 5, &[("User", "X")]).is_copy_of(&first));
        assert!(at("a.evtx", Some(7), 4625, 5, &[]).is_copy_of(&first));
        assert!(!at("b.xml", Some(8), 4625, 5, &[]).is_copy_of(&first));
        assert!(!at("b.xml", Some(7), 4624, 5, &[]).is_copy_of(&first));
        // Another time: a cleared log numbering its records again.
        assert!(!at("b.xml", Some(7), 4625, 6, &[]).is_copy_of(&first));
        let copy = at("b.xml", Some(7), 4625, 5, &[]);
        let other_host = Event {
            origin: Origin::new("srv2", "Security", copy.provider().clone(), "b.xml"),
            ..copy.clone()
        };
        assert!(!other_host.is_copy_of(&first));
        let other_channel = Event {
            origin: Origin::new("srv", "System", copy.provider().clone(), "b.xml"),
            ..copy
        };
        assert!(!other_channel.is_copy_of(&first));
    }

    #[test]
    fn a_live_record_is_kept_before_its_copy_recovered_from_another_files_slack() {
        let mut stale = at("a-other-log.evtx", Some(7), 7036, 5, &[]);
        stale.place.set_locator(Locator::Recovered(7));
        let live = at("b-system.evtx", Some(7), 7036, 5, &[]);
        let mut stale_too = stale.clone();
        stale_too.set_source(crate::event::Provenance {
            path: "c.evtx".into(),
            locator: Locator::Recovered(7),
        });
        let group = [&stale, &live, &stale_too];
        assert_eq!(super::copies_in_group(&group), [Some(1), None, Some(1)]);
        // Without a live copy, the first recovered one is kept.
        assert_eq!(
            super::copies_in_group(&[&stale, &stale_too]),
            [None, Some(0)]
        );
    }

    #[test]
    fn large_groups_find_their_copies_as_small_ones_do() {
        // Over 16 events of one tick, the quick check sorts record ids instead of comparing pairs.
        let mut events: Vec<Event> = (0..20)
            .map(|r| at("a.evtx", Some(r), 4625, 5, &[]))
            .collect();
        let refs: Vec<&Event> = events.iter().collect();
        assert!(super::copies_in_group(&refs).iter().all(Option::is_none));
        events.push(at("b.xml", Some(13), 4625, 5, &[]));
        events.push(at("c.txt", None, 4625, 5, &[]));
        events.push(at("d.txt", None, 4625, 5, &[]));
        let refs: Vec<&Event> = events.iter().collect();
        let copies = super::copies_in_group(&refs);
        assert_eq!(copies[20], Some(13));
        assert_eq!(copies[22], Some(21));
        assert_eq!(copies.iter().flatten().count(), 2);
    }

    #[test]
    fn equal_lines_without_record_ids_are_matched_one_to_one() {
        let line = |file: &str| at(file, None, 4625, 5, &[("IpAddress", "203.0.113.9")]);
        let group_of = |files: &[&str]| -> Vec<Option<usize>> {
            let events: Vec<Event> = files.iter().map(|f| line(f)).collect();
            let refs: Vec<&Event> = events.iter().collect();
            super::copies_in_group(&refs)
        };
        // One line in a.txt, two in b.txt (an export split inside a busy second): one of b's
        // lines is a copy, the other a new event.
        assert_eq!(
            group_of(&["a.txt", "b.txt", "b.txt"]),
            [None, Some(0), None]
        );
        // Three in a.txt, two in b.txt: both of b's are copies, of different lines.
        assert_eq!(
            group_of(&["a.txt", "a.txt", "a.txt", "b.txt", "b.txt"]),
            [None, None, None, Some(0), Some(1)]
        );
        // Two files copying a.txt's two lines.
        assert_eq!(
            group_of(&["a.txt", "a.txt", "b.txt", "b.txt", "c.txt", "c.txt"]),
            [None, None, Some(0), Some(1), Some(0), Some(1)]
        );
    }

    #[test]
    fn the_quick_check_lets_through_only_groups_that_can_hold_copies() {
        let check =
            |items: &[(Option<u64>, &str)]| super::may_hold_copies_by(items, |i| i.0, |i| i.1);
        for n in [3, 40] {
            let one_file: Vec<(Option<u64>, &str)> = (0..n).map(|_| (None, "a.txt")).collect();
            assert!(!check(&one_file), "{n} lines of one text file");
            let mut two_files = one_file.clone();
            two_files.push((None, "b.txt"));
            assert!(check(&two_files), "{n} lines and one of another file");
            let ids: Vec<(Option<u64>, &str)> = (0..n).map(|r| (Some(r), "a.evtx")).collect();
            assert!(!check(&ids), "{n} distinct record ids");
            let mut again = ids.clone();
            again.push((Some(1), "b.xml"));
            assert!(check(&again), "{n} record ids, one twice");
            let mut mixed = one_file.clone();
            mixed.extend(ids.iter().copied());
            assert!(!check(&mixed), "{n} text lines beside {n} records");
        }
    }

    #[test]
    fn events_without_record_ids_are_copies_only_with_equal_content_from_another_file() {
        let first = at("a.txt", None, 1026, 5, &[("Reason", "2308")]);
        assert!(at("b.txt", None, 1026, 5, &[("Reason", "2308")]).is_copy_of(&first));
        assert!(!at("a.txt", None, 1026, 5, &[("Reason", "2308")]).is_copy_of(&first));
        assert!(!at("b.txt", None, 1026, 5, &[("Reason", "264")]).is_copy_of(&first));
        let other_activity = Event {
            activity_id: Some("{a}".into()),
            ..at("b.txt", None, 1026, 5, &[("Reason", "2308")])
        };
        assert!(!other_activity.is_copy_of(&first));
        // One with a record id and one without are never the same record.
        assert!(!at("b.evtx", Some(1), 1026, 5, &[("Reason", "2308")]).is_copy_of(&first));
        assert!(!first.is_copy_of(&at("b.evtx", Some(1), 1026, 5, &[("Reason", "2308")])));
    }
}
