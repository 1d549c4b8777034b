//! Host summaries: the role each machine plays and its clock offset.
//!
//! Takes: the timeline and the offsets estimated while linking.
//! Produces: one [`HostInfo`] per host, sorted by name. A host's roles come from the events it
//! logs (the catalog's role per event; Security 4768/4771 mark a domain controller).

use super::link::Offsets;
use super::{HostInfo, Timeline};
use crate::event::catalog::HostRole;
use std::collections::BTreeSet;

/// Summaries of every host in the timeline.
pub fn host_infos(timeline: &Timeline, offsets: &Offsets) -> Vec<HostInfo> {
    use rayon::prelude::*;
    // Every event's catalog entry is looked at: hosts are summarised in parallel, in host order.
    timeline
        .by_host
        .par_iter()
        .filter_map(|(key, indices)| {
            let &first = indices.first()?;
            let mut roles = BTreeSet::new();
            for &i in indices {
                if let Some(entry) = timeline.events[i as usize].catalog_entry()
                    && entry.role != HostRole::Unknown
                {
                    roles.insert(entry.role);
                }
            }
            Some(HostInfo {
                name: timeline.events[first as usize].host().to_string(),
                role: main_role(&roles),
                roles: roles.into_iter().collect(),
                clock_offset_seconds: offsets.values.get(key).copied(),
                clock_reference: offsets.reference.get(key).cloned(),
                clock_samples: offsets.samples.get(key).copied().unwrap_or(0),
                events: indices.len(),
            })
        })
        .collect()
}

/// A server or gateway that also runs a client is reported as the server or gateway.
fn main_role(roles: &BTreeSet<HostRole>) -> HostRole {
    [
        HostRole::Gateway,
        HostRole::Server,
        HostRole::Dc,
        HostRole::Client,
    ]
    .into_iter()
    .find(|r| roles.contains(r))
    .unwrap_or(HostRole::Unknown)
}
