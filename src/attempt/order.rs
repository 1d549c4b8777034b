//! Putting a run's events into timeline order.
//!
//! Takes: every relevant event of a run as one vector per input file (a *run*), in the order the
//! file's reader found them, with the input's name.
//! Produces: [`Ordered`] — the events sorted by [`Event::sort_key`] (events with equal keys keep
//! their input order, runs taken in the order of their inputs' names, as a stable sort of all
//! runs one after the other would), and for each position the number of its host's spelling, so
//! the timeline can be indexed by host without hashing every event's host name.
//!
//! How: a file's records are nearly always in time order already, so one run in order is the
//! timeline as it is. Several runs, or one out of order (a clock set back, a log whose records
//! were not written in time order), are merged through small keys (time, host rank, file rank,
//! record or line, run, position; the last two keep equal events in input order, as a stable sort
//! would): host names and file paths are ranked once per distinct text (the events of one file
//! share their strings, so nearly every look-up hits the previous one), the keys are sorted in
//! parallel, and the events are put in key order in place: the runs are appended to the largest
//! one (each run's buffer freed as it is appended), then each cycle of the order is followed with
//! swaps. Sorting whole events moved each one many times (and a stable sort holds half of them
//! again as scratch); moving each into a new vector held every event twice at the peak of a
//! many-file run. Copies of one record read from several places are then dropped (see
//! [`super::repeats`]).

use crate::event::Event;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;

/// Events in timeline order, with their hosts' spellings numbered.
pub(super) struct Ordered {
    /// The events, sorted.
    pub events: Vec<Event>,
    /// For each event, the number of its host name's spelling in `spellings`.
    pub spelling_of: Vec<u32>,
    /// Each distinct host name as logged, in text order.
    pub spellings: Vec<Arc<str>>,
    /// The events dropped as copies of a record kept (see [`super::repeats`]).
    pub repeats: crate::event::Repeats,
}

/// Sort the events of `inputs` (each input's name and events) into one timeline.
pub(super) fn order(mut inputs: Vec<(Arc<str>, Vec<Event>)>) -> Ordered {
    inputs.retain(|(_, run)| !run.is_empty());
    // Runs in the order of their inputs' names: events of equal keys (copies of one record in
    // two rdptriage JSONL files name the same source) keep that order.
    inputs.sort_by(|a, b| a.0.cmp(&b.0));
    let (names, mut runs): (Vec<Arc<str>>, Vec<Vec<Event>>) = inputs.into_iter().unzip();
    let one_sorted_run = match &runs[..] {
        [] => true,
        [run] => run.is_sorted_by(|a, b| a.sort_key() <= b.sort_key()),
        _ => false,
    };
    let mut hosts = Ranks::default();
    let (mut events, host_of, keep, repeats) = if one_sorted_run {
        // One sorted run is the timeline as it is: only its hosts need numbers.
        let run = runs.pop().unwrap_or_default();
        let name = names.first().cloned().unwrap_or_else(|| Arc::from(""));
        let mut host_of: Vec<u32> = run.iter().map(|e| hosts.id(e.host())).collect();
        let rank = hosts.ranks();
        host_of.iter_mut().for_each(|h| *h = rank[*h as usize]);
        let (keep, repeats) = super::repeats::find(
            run.len(),
            |i| &run[i],
            |i| (run[i].time, host_of[i]),
            |_| &name,
        );
        (run, host_of, keep, repeats)
    } else {
        merge(&names, runs, &mut hosts)
    };
    let spelling_of: Vec<u32> = host_of
        .iter()
        .zip(&keep)
        .filter(|(_, kept)| **kept)
        .map(|(host, _)| *host)
        .collect();
    drop(host_of);
    if !repeats.is_empty() {
        let mut flags = keep.iter();
        events.retain(|_| *flags.next().unwrap_or(&true));
    }
    // A reader's vector grew by doubling: give back the room it holds for nothing.
    events.shrink_to_fit();
    Ordered {
        events,
        spelling_of,
        spellings: hosts.distinct_texts(),
        repeats,
    }
}

/// Several runs merged through small keys (see the module doc): the events in timeline order,
/// each one's host rank, which to keep, and the copies left out.
fn merge(
    names: &[Arc<str>],
    runs: Vec<Vec<Event>>,
    hosts: &mut Ranks,
) -> (Vec<Event>, Vec<u32>, Vec<bool>, crate::event::Repeats) {
    use rayon::prelude::*;
    let mut paths = Ranks::default();
    // Keys carry the string numbers at first and their ranks once every string was seen.
    let mut keys: Vec<SortKey> = Vec::with_capacity(runs.iter().map(Vec::len).sum());
    for (r, run) in runs.iter().enumerate() {
        keys.extend(run.iter().enumerate().map(|(i, e)| SortKey {
            time: e.time,
            host: hosts.id(e.host()),
            path: paths.id(e.path()),
            position: e.position(),
            run: r as u32,
            index: i as u32,
        }));
    }
    let host_rank = hosts.ranks();
    let path_rank = paths.ranks();
    for key in &mut keys {
        key.host = host_rank[key.host as usize];
        key.path = path_rank[key.path as usize];
    }
    keys.par_sort_unstable();
    // Keys are in timeline order now: copies of one record are found through them, before any
    // event moves.
    let (keep, repeats) = super::repeats::find(
        keys.len(),
        |i| &runs[keys[i].run as usize][keys[i].index as usize],
        |i| (keys[i].time, keys[i].host),
        |i| &names[keys[i].run as usize],
    );
    let host_of: Vec<u32> = keys.iter().map(|k| k.host).collect();
    let (mut events, offsets) = concatenate(runs);
    let source: Vec<usize> = keys
        .iter()
        .map(|k| offsets[k.run as usize] + k.index as usize)
        .collect();
    drop(keys);
    permute(&mut events, &source);
    (events, host_of, keep, repeats)
}

/// Every run's events in one vector, and where each run starts in it. The runs are appended to the
/// largest one, each run's buffer freed once appended: at most the events and the largest run
/// are held at once, never every event twice.
fn concatenate(runs: Vec<Vec<Event>>) -> (Vec<Event>, Vec<usize>) {
    let total: usize = runs.iter().map(Vec::len).sum();
    let largest = (0..runs.len()).max_by_key(|&r| runs[r].len()).unwrap_or(0);
    let mut runs: Vec<Option<Vec<Event>>> = runs.into_iter().map(Some).collect();
    let mut events = runs
        .get_mut(largest)
        .and_then(Option::take)
        .unwrap_or_default();
    events.reserve_exact(total - events.len());
    let mut offsets = vec![0; runs.len()];
    for (r, run) in runs.iter_mut().enumerate() {
        if let Some(mut run) = run.take() {
            offsets[r] = events.len();
            events.append(&mut run);
        }
    }
    (events, offsets)
}

/// Put `events` in the order `source` gives (position `p` receives the event at `source[p]`, a
/// permutation), in place: each cycle of the permutation is followed with swaps, so no second
/// vector of events is needed and each event moves a few times at most.
fn permute<T>(events: &mut [T], source: &[usize]) {
    debug_assert_eq!(events.len(), source.len());
    let mut placed = vec![false; events.len()];
    for start in 0..events.len() {
        let mut at = start;
        while !placed[at] {
            placed[at] = true;
            let from = source[at];
            if from == start {
                break;
            }
            events.swap(at, from);
            at = from;
        }
    }
}

/// What [`Event::sort_key`] compares, with ranks in place of texts, and the event's run and
/// place in it last (so equal events keep their input order and every key is distinct).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct SortKey {
    time: DateTime<Utc>,
    host: u32,
    path: u32,
    position: u64,
    run: u32,
    index: u32,
}

/// Numbers the distinct strings of a run (by `Arc` identity first, then text) and ranks them in
/// text order; equal texts behind different `Arc`s share a rank.
#[derive(Default)]
struct Ranks {
    last: Option<(*const u8, u32)>,
    by_pointer: HashMap<*const u8, u32>,
    texts: Vec<Arc<str>>,
}

impl Ranks {
    /// The number of `text`'s `Arc` (numbers are dense, in order of first sight).
    fn id(&mut self, text: &Arc<str>) -> u32 {
        let pointer = text.as_ptr();
        if let Some((last, id)) = self.last
            && last == pointer
        {
            return id;
        }
        let next = self.texts.len() as u32;
        let id = *self.by_pointer.entry(pointer).or_insert(next);
        if id == next {
            self.texts.push(text.clone());
        }
        self.last = Some((pointer, id));
        id
    }

    /// For each id, its text's rank among the distinct texts in text order.
    fn ranks(&self) -> Vec<u32> {
        let mut by_text: Vec<u32> = (0..self.texts.len() as u32).collect();
        by_text.sort_by(|&a, &b| self.texts[a as usize].cmp(&self.texts[b as usize]));
        let mut ranks = vec![0; self.texts.len()];
        let mut rank = 0;
        for (n, pair) in by_text.iter().enumerate() {
            if n > 0 && self.texts[by_text[n - 1] as usize] != self.texts[*pair as usize] {
                rank += 1;
            }
            ranks[*pair as usize] = rank;
        }
        ranks
    }

    /// The distinct texts in text order: entry `r` is the text of rank `r`.
    fn distinct_texts(&self) -> Vec<Arc<str>> {
        let mut texts = self.texts.clone();
        texts.sort();
        texts.dedup();
        texts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::tests_support::ev;

    /// Events with hosts spelled by different `Arc`s of equal text, times out of order, and
    /// equal keys (same time, host, file and record: their input order must be kept); `file`
    /// numbers the file each event comes from.
    fn events() -> Vec<(usize, Event)> {
        [
            (0, "b", 5),
            (0, "a", 5),
            (1, "B", 1),
            (0, "a", 5),
            (1, "b", 3),
            (2, "a", 0),
            (1, "b", 5),
            (2, "b", 5),
            (2, "a", 5),
        ]
        .into_iter()
        .enumerate()
        .map(|(n, (file, host, secs))| {
            let mut e = ev(host, "Security", 4624 + n as u32, secs, None, &[]);
            let path = if file == 1 { "y.evtx" } else { "x.evtx" };
            e.set_source(crate::event::Provenance::record(
                Arc::from(path),
                secs as u64,
            ));
            (file, e)
        })
        .collect()
    }

    /// Runs named in the order given (so that order is the inputs' order).
    fn check(runs: Vec<Vec<Event>>) {
        let mut expected: Vec<Event> = runs.concat();
        expected.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let named = runs
            .into_iter()
            .enumerate()
            .map(|(n, run)| (Arc::from(format!("input {n}")), run))
            .collect();
        let ordered = order(named);
        assert_eq!(ordered.events, expected);
        let spellings: Vec<&str> = ordered.spellings.iter().map(|s| &**s).collect();
        assert_eq!(spellings, ["B", "a", "b"]);
        for (e, &s) in ordered.events.iter().zip(&ordered.spelling_of) {
            assert_eq!(&*ordered.spellings[s as usize], &**e.host());
        }
    }

    #[test]
    fn one_run_is_a_stable_sort_on_the_sort_key() {
        check(vec![events().into_iter().map(|(_, e)| e).collect()]);
    }

    #[test]
    fn several_runs_merge_as_a_stable_sort_of_all_of_them() {
        let mut runs = vec![Vec::new(); 4];
        for (file, e) in events() {
            runs[file].push(e);
        }
        // An empty run, and a run given sorted already.
        runs[1].sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        check(runs);
    }

    #[test]
    fn no_events_at_all_make_an_empty_timeline() {
        // Regression: the in-place merge looked for the largest of no runs and panicked.
        for inputs in [vec![], vec![(Arc::from("empty"), Vec::new())]] {
            let ordered = order(inputs);
            assert!(ordered.events.is_empty() && ordered.spelling_of.is_empty());
        }
        assert!(concatenate(Vec::new()).0.is_empty());
    }

    #[test]
    fn several_runs_with_the_largest_in_the_middle_merge_the_same() {
        // The largest run is the one the others are appended to.
        let all: Vec<(usize, Event)> = events();
        let mut runs = vec![Vec::new(); 3];
        for (n, (_, e)) in all.into_iter().enumerate() {
            let run = match n % 4 {
                0 => 0,
                3 => 2,
                _ => 1,
            };
            runs[run].push(e);
        }
        assert!(runs[1].len() > runs[0].len() && runs[1].len() > runs[2].len());
        check(runs);
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn permuting_in_place_gives_what_gathering_gives(
            source in proptest::collection::vec(0usize..1000, 0..200)
                .prop_map(|v: Vec<usize>| {
                    // Any permutation: the positions sorted by random keys.
                    let mut p: Vec<usize> = (0..v.len()).collect();
                    p.sort_by_key(|&i| (v[i], i));
                    p
                })
        ) {
            let items: Vec<String> = (0..source.len()).map(|i| format!("item {i}")).collect();
            let gathered: Vec<String> = source.iter().map(|&i| items[i].clone()).collect();
            let mut permuted = items;
            permute(&mut permuted, &source);
            prop_assert_eq!(permuted, gathered);
        }
    }
}
