//! Putting a run's events into timeline order.
//!
//! Takes: every relevant event of a run, in the order the files were read.
//! Produces: [`Ordered`] — the events sorted by [`Event::sort_key`] (events with equal keys keep
//! their input order, as a stable sort would), and for each position the number of its host's
//! spelling, so the timeline can be indexed by host without hashing every event's host name.
//!
//! How: the sort works on small keys (time, host rank, file rank, record or line, input position)
//! instead of the events: host names and file paths are ranked once per distinct text (events of
//! one file share their strings, so nearly every look-up hits the previous one), the keys are
//! sorted in parallel, and the events are then moved once, in place, along the permutation's
//! cycles. Comparing whole events moved each one many times and needed a second buffer as large
//! as all events.

use crate::event::{Event, Locator};
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
}

/// Sort `events` into timeline order.
pub(super) fn order(mut events: Vec<Event>) -> Ordered {
    use rayon::slice::ParallelSliceMut;
    let mut hosts = Ranks::default();
    let mut paths = Ranks::default();
    // Keys carry the string numbers at first and their ranks once every string was seen.
    let mut keys: Vec<SortKey> = events
        .iter()
        .enumerate()
        .map(|(i, e)| SortKey {
            time: e.time,
            host: hosts.id(&e.host),
            path: paths.id(&e.source.path),
            position: position(e.source.locator),
            input: i,
        })
        .collect();
    let host_rank = hosts.ranks();
    let path_rank = paths.ranks();
    for key in &mut keys {
        key.host = host_rank[key.host as usize];
        key.path = path_rank[key.path as usize];
    }
    keys.par_sort_unstable();
    let spelling_of = keys.iter().map(|k| k.host).collect();
    let mut sources: Vec<usize> = keys.into_iter().map(|k| k.input).collect();
    apply_permutation(&mut events, &mut sources);
    Ordered {
        events,
        spelling_of,
        spellings: hosts.distinct_texts(),
    }
}

/// What [`Event::sort_key`] compares, with ranks in place of texts, and the input position last
/// (so equal events keep their order and every key is distinct).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct SortKey {
    time: DateTime<Utc>,
    host: u32,
    path: u32,
    position: u64,
    input: usize,
}

fn position(locator: Locator) -> u64 {
    match locator {
        Locator::Record(n) | Locator::Line(n) => n,
    }
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

/// Rearrange `items` so that position `i` holds what was at `sources[i]`; `sources` must be a
/// permutation and is used up as the record of positions done. Each item moves once per cycle
/// step, with no second buffer.
fn apply_permutation<T>(items: &mut [T], sources: &mut [usize]) {
    debug_assert_eq!(items.len(), sources.len());
    for start in 0..items.len() {
        let mut at = start;
        loop {
            let from = sources[at];
            sources[at] = at;
            if from == start || from == at {
                break;
            }
            items.swap(at, from);
            at = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::tests_support::ev;

    #[test]
    fn permutation_moves_each_item_to_its_place() {
        let mut items = vec!['a', 'b', 'c', 'd', 'e', 'f'];
        // Two cycles (0 → 2 → 4, 1 → 5) and a fixed point (3).
        let mut sources = vec![2, 5, 4, 3, 0, 1];
        apply_permutation(&mut items, &mut sources);
        assert_eq!(items, vec!['c', 'f', 'e', 'd', 'a', 'b']);
    }

    #[test]
    fn order_is_a_stable_sort_on_the_sort_key() {
        // Hosts and files spelled by different `Arc`s with equal text, times out of order, and
        // two events with equal keys (their input order must be kept).
        let mut events = Vec::new();
        for (n, (host, secs)) in [
            ("b", 5),
            ("a", 5),
            ("B", 1),
            ("a", 5),
            ("b", 3),
            ("a", 0),
            ("b", 5),
        ]
        .into_iter()
        .enumerate()
        {
            let mut e = ev(host, "Security", 4624 + n as u32, secs, None, &[]);
            e.source = crate::event::Provenance::record(Arc::from("x.evtx"), secs as u64);
            events.push(e);
        }
        let mut expected = events.clone();
        expected.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let ordered = order(events);
        assert_eq!(ordered.events, expected);
        let spellings: Vec<&str> = ordered.spellings.iter().map(|s| &**s).collect();
        assert_eq!(spellings, ["B", "a", "b"]);
        for (e, &s) in ordered.events.iter().zip(&ordered.spelling_of) {
            assert_eq!(&*ordered.spellings[s as usize], &*e.host);
        }
    }
}
