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
    let mut out = Vec::new();
    for (key, indices) in &timeline.by_host {
        let Some(&first) = indices.first() else {
            continue;
        };
        let mut roles = BTreeSet::new();
        for &i in indices {
            if let Some(entry) = timeline.events[i].catalog_entry()
                && entry.role != HostRole::Unknown
            {
                roles.insert(entry.role);
            }
        }
        let role = main_role(&roles);
        out.push(HostInfo {
            name: timeline.events[first].host.to_string(),
            role,
            roles: roles.into_iter().collect(),
            clock_offset_seconds: offsets.values.get(key).copied(),
            clock_reference: offsets.reference.get(key).cloned(),
            clock_samples: offsets.samples.get(key).copied().unwrap_or(0),
            events: indices.len(),
        });
    }
    out
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
