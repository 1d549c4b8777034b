//! Per-run index of the events each host-scope selector can match.
//!
//! Takes: a rule selector, the timeline, and a host.
//! Produces: [`SelectorCache`] — for each host-scope selector and host, the host's events that pass
//! the selector's id, channel, provider and field tests, in host-clock order. Those tests do not
//! depend on the attempt, so a run does them once per host instead of once per attempt (a
//! brute-forced host logs tens of thousands of matching events, and hundreds of attempts look at
//! them); each attempt then only binary-searches its time window.

use super::EventSelector;
use super::engine::{fields_fit, names_fit};
use crate::attempt::{Timeline, host_key};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The filtered events per (selector, host) of one run; shared by the attempts evaluated in it.
#[derive(Default)]
pub struct SelectorCache {
    entries: std::sync::Mutex<SelectorEntries>,
    /// (host key, lower-case channel) of every supplied log, built on first use.
    supplied_logs: std::sync::OnceLock<HashSet<(String, String)>>,
}

/// (selector address, host key) → the host's events passing the selector's tests (timeline
/// positions, 32-bit as in the timeline's own indexes: a busy host's lists are long). A
/// selector of one event id that every such event passes shares the timeline's own list.
type SelectorEntries = HashMap<(usize, String), Arc<[u32]>>;

impl SelectorCache {
    /// The filtered events of `host` for `sel` (computed on first use).
    pub(super) fn events(
        &self,
        sel: &EventSelector,
        timeline: &Timeline,
        host: &str,
    ) -> Arc<[u32]> {
        let key = (std::ptr::from_ref(sel) as usize, host_key(host));
        if let Some(found) = self.lock().get(&key) {
            return found.clone();
        }
        let list = shared_host_events(sel, timeline, host)
            .unwrap_or_else(|| filter_host_events(sel, timeline, host).into());
        self.lock().entry(key).or_insert(list).clone()
    }

    /// [`crate::analysis::Analysis::log_supplied`] from a set built once per run (the analysis's
    /// inputs must not change while the cache is in use).
    pub fn log_supplied(
        &self,
        analysis: &crate::analysis::Analysis,
        host: &str,
        channel: &str,
    ) -> bool {
        let set = self.supplied_logs.get_or_init(|| {
            let mut set = HashSet::new();
            for input in &analysis.inputs {
                if let Some(h) = &input.host {
                    for c in &input.channels {
                        set.insert((host_key(h), c.to_ascii_lowercase()));
                    }
                }
            }
            set
        });
        set.contains(&(host_key(host), channel.to_ascii_lowercase()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SelectorEntries> {
        // A panic while holding the lock cannot leave the map half-written: recover it.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The timeline's list of `host`'s events of `sel`'s one event id, when every one of them passes
/// `sel`'s other tests (then it is what [`filter_host_events`] would build, without the copy).
fn shared_host_events(sel: &EventSelector, timeline: &Timeline, host: &str) -> Option<Arc<[u32]>> {
    let [id] = sel.event_ids[..] else {
        return None;
    };
    let list = timeline.shared_host_events_with_id(host, id)?;
    let events = &timeline.events;
    list.iter()
        .all(|&i| {
            let e = &events[i as usize];
            names_fit(sel, e) && fields_fit(sel, e)
        })
        .then_some(list)
}

/// `host`'s events that pass `sel`'s id, channel, provider and field tests, in host-clock order.
pub(super) fn filter_host_events(sel: &EventSelector, timeline: &Timeline, host: &str) -> Vec<u32> {
    let events = &timeline.events;
    let mut out: Vec<u32> = if sel.event_ids.is_empty() {
        timeline.host_events(host).to_vec()
    } else {
        sel.event_ids
            .iter()
            .flat_map(|&id| timeline.host_events_with_id(host, id).iter().copied())
            .collect()
    };
    out.retain(|&i| {
        let e = &events[i as usize];
        names_fit(sel, e) && fields_fit(sel, e)
    });
    // Positions are in timeline order already: several ids' lists only need merging.
    if sel.event_ids.len() > 1 {
        out.sort_unstable();
    }
    out
}
